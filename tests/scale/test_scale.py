"""Ray scale-out: the same spans as local ``predict``, document for document (a local 2-CPU
Ray cluster the test starts; skipped where Ray is not installed or cannot start)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinicalner import api
from clinicalner.io import read_corpus

pd = pytest.importorskip("pandas")

TERMS = "term\tlabel\nfiebre\tSYMPTOM\ntos\tSYMPTOM\nasma\tDISEASE\nneumonía\tDISEASE\ndolor\tSYMPTOM\n"
PHRASES = [
    "Fiebre y tos.",
    "Sin fiebre.",
    "Asma bronquial y neumonía.",
    "Nada.",
    "tos seca, asma",
    "Dolor\r\n",
]


def _notes(n: int) -> list[dict[str, str]]:
    return [
        {
            "id": f"n{i:04d}",
            "text": f"Nota {i}. " + " ".join(PHRASES[(i * k) % 6] for k in range(1, 2 + i % 4)),
        }
        for i in range(n)
    ]


@pytest.fixture
def lexicon(tmp_path: Path) -> Path:
    terms = tmp_path / "terms.tsv"
    terms.write_text(TERMS, encoding="utf-8")
    api.lexicon(terms, tmp_path / "lex")
    return tmp_path / "lex"


def _local_spans(lexicon: Path, notes: list[dict[str, str]], tmp_path: Path) -> dict[str, list[tuple]]:
    src = tmp_path / "local_in.jsonl"
    src.write_text("".join(json.dumps(n, ensure_ascii=False) + "\n" for n in notes), encoding="utf-8")
    out = tmp_path / "local.jsonl"
    api.predict(lexicon, src, out, progress=False)
    return {
        d.id: [(s.start, s.end, s.label, s.text, s.score) for s in d.sorted_spans()]
        for d in read_corpus(out).documents
    }


def _by_doc(frame) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[tuple]] = {}
    for r in frame.itertuples(index=False):
        score = None if r.score != r.score else r.score
        out.setdefault(r.id, []).append((int(r.start), int(r.end), r.label, r.text, score))
    return {k: sorted(v, key=lambda t: (t[0], t[1], t[2])) for k, v in out.items()}


def test_span_tagger_gives_the_local_spans_without_ray(lexicon: Path, tmp_path: Path) -> None:
    from clinicalner.scale import SpanTagger

    notes = _notes(60)
    local = _local_spans(lexicon, notes, tmp_path)
    tagger = SpanTagger(lexicon)
    frames = list(tagger.map_iter([pd.DataFrame(notes[:25]), pd.DataFrame(notes[25:])]))  # as Spark calls it
    got = _by_doc(pd.concat(frames))
    assert got == {k: v for k, v in local.items() if v}
    assert list(frames[0].columns) == ["id", "start", "end", "label", "text", "score"]


def test_span_rows_are_written_atomically_in_three_formats(tmp_path: Path) -> None:
    from clinicalner.scale import write_rows

    frame = pd.DataFrame(
        {
            "id": ["a", "a"],
            "start": [0, 5],
            "end": [3, 9],
            "label": ["X", "Y"],
            "text": ["a\tb", 'q"'],
            "score": [0.5, None],
        }
    )
    for suffix in (".parquet", ".jsonl", ".tsv"):
        assert write_rows([frame], tmp_path / f"o{suffix}") == 2
    assert _by_doc(pd.read_parquet(tmp_path / "o.parquet")) == _by_doc(frame)
    rows = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[1] == {"id": "a", "start": 5, "end": 9, "label": "Y", "text": 'q"', "score": None}
    (doc,) = read_corpus(tmp_path / "o.tsv").documents
    assert [(s.start, s.end, s.label, s.text) for s in doc.spans] == [(0, 3, "X", "a\tb"), (5, 9, "Y", 'q"')]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.fixture(scope="module")
def ray_cluster():  # type: ignore[no-untyped-def]
    ray = pytest.importorskip("ray")
    pytest.importorskip("pyarrow")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except Exception as err:  # any failure to start means: no Ray here
        pytest.skip(f"a local Ray cluster cannot start here: {err}")
    yield ray
    ray.shutdown()


def test_ray_predict_gives_the_local_spans(ray_cluster, lexicon: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    notes = _notes(300)
    local = _local_spans(lexicon, notes, tmp_path)
    # JSONL (read by clinicalner on the driver, as a .txt folder or corpus is) and Parquet (by Ray).
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps(n, ensure_ascii=False) + "\n" for n in notes), encoding="utf-8")
    parquet = tmp_path / "in.parquet"
    pd.DataFrame(notes).to_parquet(parquet)
    expected = {k: v for k, v in local.items() if v}
    for source, out in ((jsonl, "o1.parquet"), (parquet, "o2.jsonl")):
        s = api.predict(lexicon, source, tmp_path / out, engine="ray", actors=2, progress=False)
        assert s.documents == 300
        frame = (
            pd.read_parquet(tmp_path / out)
            if out.endswith(".parquet")
            else pd.read_json(tmp_path / out, lines=True)
        )
        assert _by_doc(frame) == expected, source.name
        assert s.spans == sum(len(v) for v in expected.values())
    # Order follows the input's.
    ids = list(pd.read_parquet(tmp_path / "o1.parquet")["id"])
    assert ids == sorted(ids)


def test_engine_ray_without_ray_names_the_extra(
    lexicon: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from clinicalner.extras import MissingExtra

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingExtra, match=r"\[ray\]"):
        api.predict(lexicon, tmp_path, tmp_path / "o.parquet", engine="ray", progress=False)
    with pytest.raises(ValueError, match="unknown engine"):
        api.predict(lexicon, tmp_path, tmp_path / "o.parquet", engine="spark", progress=False)
