"""Two bare TSVs scored from their columns: the same report as the general path, or the general path."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from clinicalner import api
from clinicalner.errors import CorpusError
from clinicalner.evaluate import columnar

HEADER = "filename\tlabel\tstart_span\tend_span\ttext\tscore\n"
OFFICIAL = ["multiclinai_strict", "multiclinai_char"]
COLUMN_METRICS = [
    "strict",
    "relaxed",
    "multiclinai_strict",
    "multiclinai_char",
    "multiclinai_overlap_v0",
    "semeval_strict",
    "semeval_partial",
    "nervaluate_0.1.8_strict",
    "nervaluate_0.1.8_partial",
]


def _write(path: Path, body: str) -> Path:
    path.write_bytes(body.encode("utf-8"))
    return path


def _both(monkeypatch: pytest.MonkeyPatch, gold: Path, pred: Path, **kw: Any) -> dict[str, Any]:
    """The report of the columnar path, checked equal to the general path's; the columnar path must run."""
    taken: list[bool] = []
    real = columnar.score_bare_tsvs

    def spy(*a: Any, **k: Any) -> Any:
        out = real(*a, **k)
        taken.append(out is not None)
        return out

    with monkeypatch.context() as m:
        m.setattr(columnar, "score_bare_tsvs", spy)
        fast = api.evaluate(gold, pred, **kw).to_dict()
    assert taken == [True]
    with monkeypatch.context() as m:
        m.setattr(columnar, "applies", lambda *a, **k: False)
        general = api.evaluate(gold, pred, **kw).to_dict()
    assert fast == general
    return fast


def _random_tsv(rng: random.Random, names: list[str], n: int, labels: list[str]) -> str:
    lines = []
    for _ in range(n):
        a = rng.randrange(0, 200)
        b = a + rng.randrange(1, 15)
        name = rng.choice(names)
        text = rng.choice(["x", "dolor", '"quoted\nover lines"', 'say "a"'])
        lines.append(f"{name}\t{rng.choice(labels)}\t{a}\t{b}\t{text}\t{rng.choice(['', '0.5'])}\n")
    if rng.random() < 0.5:
        lines.sort()
    if lines and rng.random() < 0.3:
        lines += rng.sample(lines, min(len(lines), 5))  # repeated rows
    crlf = rng.random() < 0.3
    body = HEADER + "".join(lines)
    return body.replace("\n", "\r\n") if crlf else body


@pytest.mark.parametrize("seed", range(10))
def test_random_files_score_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = random.Random(seed)
    names = [f"d{i}" for i in range(rng.randint(1, 12))]
    gold = _write(
        tmp_path / "gold.tsv", _random_tsv(rng, names[: max(1, len(names) - 2)], 120, ["DIS", "SYM"])
    )
    pred = _write(tmp_path / "pred.tsv", _random_tsv(rng, names[1:] or names, 130, ["DIS", "SYM", "PROC"]))
    by = rng.choice([("label",), ("label", "document"), ("language", "folder"), ()])
    _both(monkeypatch, gold, pred, metrics=COLUMN_METRICS, breakdowns=by)


def test_edge_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gold = _write(
        tmp_path / "gold.tsv",
        "\ufeff"
        + HEADER.replace("\n", "\r\n")
        + "a\tDIS\t0\t4\tgrip\t\r\na\tDIS\t0\t4\tgrip\t\r\nonly_gold\tSYM\t1\t5\tx\t\r\nb.txt\tDIS\t3\t9\ty\t\r\n",
    )
    pred = _write(
        tmp_path / "pred.tsv",
        HEADER + "a\tDIS\t0\t4\tgrip\t0.9\na\tDIS\t0\t4\tgrip\t\nonly_pred\tDIS\t1\t2\tz\t\n"
        "b\tNEW\t3\t9\ty\t\nb\tDIS\t4\t9\ty\t\n",
    )
    report = _both(monkeypatch, gold, pred, metrics=COLUMN_METRICS, breakdowns=("label", "document"))
    assert report["stats"]["predicted_documents_without_gold"] == 1
    assert report["stats"]["gold_documents_without_predictions"] == 1
    assert "NEW" in report["labels"]  # a label the gold lacks
    _both(monkeypatch, gold, pred, metrics=OFFICIAL, labels=["DIS"])
    _both(monkeypatch, gold, pred, metrics=OFFICIAL, bootstrap=20, seed=3, breakdowns=("label", "document"))
    empty = _write(tmp_path / "empty.tsv", "")
    _both(monkeypatch, gold, empty, metrics=OFFICIAL)
    _both(monkeypatch, empty, pred, metrics=OFFICIAL)
    header_only = _write(tmp_path / "header.tsv", HEADER)
    _both(monkeypatch, header_only, header_only, metrics=OFFICIAL)


def test_lenient_reading_skips_and_counts_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gold = _write(tmp_path / "gold.tsv", HEADER + "a\tDIS\t0\t4\tx\t\na\tDIS\tx\t4\tx\t\n")
    pred = _write(
        tmp_path / "pred.tsv", HEADER + "a\tDIS\t0\t4\tx\tbad\na\tDIS\t0\t4\tx\t\n\tDIS\t1\t2\tx\t\n"
    )
    report = _both(monkeypatch, gold, pred, metrics=OFFICIAL, lenient=True)
    assert report["stats"]["gold_problems_skipped"] == 1
    assert report["stats"]["predicted_problems_skipped"] == 2
    with pytest.raises(CorpusError, match=r"gold\.tsv:3: offsets must be whole numbers"):
        api.evaluate(gold, pred, metrics=OFFICIAL)


def test_what_the_columns_cannot_do_takes_the_general_path(tmp_path: Path) -> None:
    gold = _write(tmp_path / "gold.tsv", HEADER + "a\tDIS\t0\t4\tx\t\n")
    pred = _write(tmp_path / "pred.tsv", HEADER + "a\tDIS\t0\t4\tx\t\n")
    assert columnar.applies(gold, pred, OFFICIAL)
    assert not columnar.applies(gold, pred, None)  # every metric: multicardioner reads span texts
    assert not columnar.applies(gold, pred, ["multicardioner"])
    assert not columnar.applies(gold, pred, ["m42_token_micro"])
    assert not columnar.applies(tmp_path, pred, OFFICIAL)  # a folder
    jsonl = _write(tmp_path / "gold.jsonl", '{"id": "a", "text": "abcdef", "spans": []}\n')
    assert not columnar.applies(jsonl, pred, OFFICIAL)


def test_a_reversed_span_is_the_general_paths_error(tmp_path: Path) -> None:
    gold = _write(tmp_path / "gold.tsv", HEADER + "a\tDIS\t0\t4\tx\t\n")
    pred = _write(tmp_path / "pred.tsv", HEADER + "a\tDIS\t0\t4\tx\t\na\tDIS\t9\t4\tx\t\n")
    assert columnar.score_bare_tsvs(gold, pred, metrics=OFFICIAL) is None
    with pytest.raises(CorpusError, match=r"pred\.tsv:3: predicted span 9-4 .* has end <= start"):
        api.evaluate(gold, pred, metrics=OFFICIAL)
    report = api.evaluate(gold, pred, metrics=OFFICIAL, invalid_predictions="false_positive")
    assert report.metric("multiclinai_strict").counts["fp"] == 1
