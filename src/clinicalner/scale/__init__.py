"""Tagging at cluster scale on Ray Data (extra ``ray``), and the same tagger for Spark.

Why: a hospital that tags its archive already runs a cluster; we plug into its scheduler
rather than ship one. :class:`SpanTagger` loads a tagger once per worker (a Ray actor, a Spark
executor's Python worker) and turns batches of notes (a pandas DataFrame with ``id``, ``text``
and optionally ``language``) into span rows: ``id, start, end, label, text, score``. It tags
through the same stream as local ``predict`` (:func:`clinicalner.predict.stream.tag_stream`),
so the spans are the same, document for document.

- Ray: :func:`tag_dataset` (``dataset.map_batches`` with an actor pool) or
  :func:`predict_ray` (files in, a Parquet / JSONL / TSV file out; ``predict --engine ray``).
- Spark: ``df.mapInPandas(SpanTagger(model).map_iter, schema=SPARK_SCHEMA)``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from clinicalner.document import Document

COLUMNS = ("id", "start", "end", "label", "text", "score")
SPARK_SCHEMA = "id string, start long, end long, label string, text string, score double"


class SpanTagger:
    """A tagger loaded once; called on a DataFrame of notes, it returns their span rows.

    ``options`` are :func:`clinicalner.predict.loading.load_tagger`'s (device, batch_tokens,
    threshold, ...). The tagger is loaded on first use, in the worker, not where the object
    was built (Spark pickles it to its executors).
    """

    def __init__(self, model: str | Path, **options: Any) -> None:
        self.model = str(model)
        self.options = options
        self._tagger: Any = None

    def __call__(self, notes: Any) -> Any:
        import pandas as pd

        if self._tagger is None:
            from clinicalner.predict.loading import load_tagger

            self._tagger = load_tagger(self.model, **self.options)
        from clinicalner.predict.stream import tag_stream

        threshold = float(self.options.get("threshold", 0.0) or 0.0)
        rows: dict[str, list[Any]] = {c: [] for c in COLUMNS}
        for doc in tag_stream(self._tagger, documents_from_frame(notes), threshold=threshold):
            for s in doc.spans:
                for column, value in zip(
                    COLUMNS, (doc.id, s.start, s.end, s.label, s.text, s.score), strict=True
                ):
                    rows[column].append(value)
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        return frame.astype(
            {"id": str, "start": "int64", "end": "int64", "label": str, "text": str, "score": "float64"}
        )

    def map_iter(self, frames: Iterable[Any]) -> Iterator[Any]:
        """For Spark's ``mapInPandas``: an iterator of note frames to an iterator of span frames."""
        for frame in frames:
            yield self(frame)


def documents_from_frame(notes: Any) -> Iterator[Document]:
    """Documents from a DataFrame (or a dict of columns) with ``id``, ``text``, ``language``?"""
    ids, texts = list(notes["id"]), list(notes["text"])
    languages = list(notes["language"]) if "language" in notes else [None] * len(ids)
    for doc_id, text, lang in zip(ids, texts, languages, strict=True):
        if text is None:
            text = ""
        yield Document(str(doc_id), str(text), [], lang if isinstance(lang, str) and lang else None)


def tag_dataset(
    dataset: Any,
    model: str | Path,
    *,
    actors: int = 2,
    batch_size: int = 256,
    num_cpus: float = 1,
    num_gpus: float = 0,
    **options: Any,
) -> Any:
    """Span rows (id, start, end, label, text, score) of a Ray Dataset of notes (id, text, language?).

    One :class:`SpanTagger` per actor (``actors`` of them, each with ``num_cpus`` / ``num_gpus``),
    fed ``batch_size`` notes at a time; ``options`` go to the tagger (device, batch_tokens, ...).
    """
    import ray.data

    return dataset.map_batches(
        SpanTagger,
        fn_constructor_kwargs={"model": str(model), **options},
        batch_size=batch_size,
        batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=num_cpus,
        num_gpus=num_gpus,
    )


def read_notes(input: str | Path, input_format: str | None = None, lenient: bool = False) -> tuple[Any, int]:
    """A Ray Dataset of notes and their number: Parquet read by Ray itself (in parallel, the
    count from the files' metadata); any other input (JSONL, a folder of .txt notes, a corpus)
    read by clinicalner's readers on the driver, so ids and texts are exactly local predict's."""
    import ray.data

    path = Path(input)
    if input_format in (None, "parquet") and (path.suffix.lower() == ".parquet" or _all_parquet(path)):
        import pyarrow.parquet as pq

        files = [path] if path.is_file() else sorted(path.glob("*.parquet"))
        count = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        columns = pq.ParquetFile(files[0]).schema_arrow.names if files else []
        ds = ray.data.read_parquet([str(f) for f in files])
        ds = ds.select_columns([c for c in ("id", "text", "language") if c in columns])
        # Read before the taggers start: actors holding every CPU would leave the read tasks
        # none, and the run would wait forever (seen on a 2-CPU cluster with 2 actors).
        return ds.materialize(), count
    from clinicalner.io import detect_format, iter_documents

    docs = iter_documents(path, input_format or detect_format(path), lenient=lenient)
    rows = [{"id": d.id, "text": d.text, "language": d.language or ""} for d in docs]
    return ray.data.from_items(rows), len(rows)


def _all_parquet(path: Path) -> bool:
    return path.is_dir() and any(path.glob("*.parquet")) and not any(path.glob("*.txt"))


def predict_ray(
    model: str | Path,
    input: str | Path,
    output: str | Path,
    *,
    address: str | None = None,
    actors: int = 2,
    batch_size: int = 256,
    input_format: str | None = None,
    lenient: bool = False,
    **options: Any,
) -> tuple[int, int, float]:
    """Tag ``input`` on Ray and write the span rows to ``output`` (.parquet, .jsonl or a bare .tsv).

    ``address`` joins a running cluster (``auto``, ``ray://host:10001``); without it a local
    one is started. Output rows keep the input's document order (Ray's ``preserve_order``)
    and the file is written atomically. Returns (documents, spans, seconds).
    """
    import ray
    import ray.data

    out = Path(output)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".jsonl", ".tsv"):
        raise ValueError(f"{out}: the ray engine writes .parquet, .jsonl or .tsv span rows")
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        t0 = time.perf_counter()
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        notes, n_docs = read_notes(input, input_format, lenient)
        spans = tag_dataset(notes, model, actors=actors, batch_size=batch_size, **options)
        n_spans = write_rows(spans.iter_batches(batch_format="pandas", batch_size=65536), out)
        return n_docs, n_spans, time.perf_counter() - t0
    finally:
        if started:
            ray.shutdown()


def write_rows(frames: Iterable[Any], path: Path) -> int:
    """Write span-row frames to one file, atomically; returns the number of rows."""
    from clinicalner.atomic import atomic_write

    suffix = path.suffix.lower()
    n = 0
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema(
            [("id", pa.string()), ("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()),
             ("text", pa.string()), ("score", pa.float64())]
        )  # fmt: skip
        with atomic_write(path, "wb") as f, pq.ParquetWriter(f, schema) as writer:
            for frame in frames:
                writer.write_table(
                    pa.Table.from_pandas(frame[list(COLUMNS)], schema=schema, preserve_index=False)
                )
                n += len(frame)
        return n
    import json

    from clinicalner.io.multiclinai import quote_field

    with atomic_write(path) as f:
        if suffix == ".tsv":
            f.write("filename\tlabel\tstart_span\tend_span\ttext\tscore\n")
        for frame in frames:
            for r in frame.itertuples(index=False):
                score = (
                    None if r.score is None or r.score != r.score else float(r.score)
                )  # None or NaN: no score
                if suffix == ".tsv":
                    f.write(
                        f"{r.id}\t{r.label}\t{r.start}\t{r.end}\t{quote_field(r.text)}\t{'' if score is None else score}\n"
                    )
                else:
                    row = {"id": r.id, "start": int(r.start), "end": int(r.end), "label": r.label}
                    row.update({"text": r.text, "score": score})
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
    return n
