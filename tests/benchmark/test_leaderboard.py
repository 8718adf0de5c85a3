"""Ranking and aggregation on hand-made run results (no tagging, no scoring)."""

from __future__ import annotations

import csv
import io

from clinicalner.benchmark.leaderboard import Leaderboard, competition_ranks
from clinicalner.benchmark.results import RunResult


def _run(tagger: str, dataset: str, scores: dict[str, dict[str, float]]) -> RunResult:
    """``scores[metric][label] = f1`` (label "" overall); precision and recall set around it."""
    return RunResult(
        tagger,
        dataset,
        {},
        {
            m: {label: {"precision": f, "recall": f / 2, "f1": f} for label, f in per.items()}
            for m, per in scores.items()
        },
    )


def _board(runs: list[RunResult], taggers: list[str]) -> Leaderboard:
    datasets = [
        {"name": "A", "labels": ["condition", "drug"], "documents": 3, "spans": {"condition": 2}},
        {"name": "B", "labels": ["condition", "gene"], "documents": 2, "spans": {"gene": 1}},
    ]
    return Leaderboard(
        "test", taggers, datasets, {(r.tagger, r.dataset): r for r in runs}, "span", ("strict",)
    )


def test_competition_ranks() -> None:
    assert competition_ranks({"a": 50.0, "b": 60.0, "c": 60.0, "d": None, "e": 10.0}) == {
        "a": 3,
        "b": 1,
        "c": 1,
        "d": None,
        "e": 4,
    }
    assert competition_ranks({}) == {}


def test_means_entity_scores_ranks_and_changes() -> None:
    runs = [
        _run("x", "A", {"span": {"": 0.5, "condition": 0.4, "drug": 0.6}, "strict": {"": 0.9}}),
        _run("x", "B", {"span": {"": 0.81234, "condition": 0.7, "gene": 0.9}, "strict": {"": 0.7}}),
        _run("y", "A", {"span": {"": 0.7}, "strict": {"": 0.2}}),
        _run("y", "B", {"span": {"": 0.7}, "strict": {"": 0.3}}),
    ]
    board = _board(runs, ["x", "y"])
    assert board.mean_f1("x", "span") == round((0.5 + 0.81234) / 2 * 100, 2) == 65.62
    assert board.mean_f1("y", "span") == 70.0
    assert board.mean_score("x", "span", "recall") == round((0.25 + 0.40617) / 2 * 100, 2)
    # condition is in both datasets, drug only in A, gene only in B: mean over those that have it.
    assert board.entity_f1("x", "span", "condition") == 55.0
    assert board.entity_f1("x", "span", "drug") == 60.0
    assert board.entity_f1("x", "span", "gene") == 90.0
    assert board.entity_f1("y", "span", "gene") is None  # never scored for y
    assert board.labels == ["condition", "drug", "gene"]
    assert board.ranks("span") == {"y": 1, "x": 2}
    assert board.ranks("strict") == {"x": 1, "y": 2}
    assert board.rank_change("x", "strict") == 1
    assert board.rank_change("y", "strict") == -1
    rows = board.rows()
    assert [r["tagger"] for r in rows] == ["y", "x"]
    assert rows[1]["strict"]["rank_change"] == 1 and rows[1]["span"]["rank_change"] is None
    assert rows[1]["span"]["per_dataset"] == {"A": 50.0, "B": 81.23}
    md = board.to_markdown()
    assert "| 1 | y | 70.00 | 25.00 | 2 | -1 | 2/2 |" in md
    assert "| 2 | x | 65.62 | 80.00 | 1 | +1 | 2/2 |" in md
    table = list(csv.DictReader(io.StringIO(board.to_csv())))
    assert [(r["rank"], r["tagger"], r["span_f1"], r["strict_rank_change"]) for r in table] == [
        ("1", "y", "70.0", "-1"),
        ("2", "x", "65.62", "1"),
    ]
    assert table[1]["span:B"] == "81.23"
    scores = list(csv.DictReader(io.StringIO(board.scores_csv())))
    assert {
        "tagger": "x",
        "dataset": "B",
        "metric": "span",
        "label": "gene",
        "precision": "0.900000",
        "recall": "0.450000",
        "f1": "0.900000",
    } in scores
    entities = list(csv.DictReader(io.StringIO(board.entities_csv())))
    assert {"tagger": "x", "metric": "span", "label": "drug", "f1": "60.0", "datasets": "1"} in entities


def test_ties_share_a_rank_on_the_rounded_numbers_and_keep_config_order() -> None:
    runs = [
        _run("a", "A", {"span": {"": 0.600001}, "strict": {"": 0.1}}),
        _run("a", "B", {"span": {"": 0.6}, "strict": {"": 0.1}}),
        _run("b", "A", {"span": {"": 0.6}, "strict": {"": 0.3}}),
        _run("b", "B", {"span": {"": 0.6}, "strict": {"": 0.1}}),
        _run("c", "A", {"span": {"": 0.1}, "strict": {"": 0.5}}),
        _run("c", "B", {"span": {"": 0.1}, "strict": {"": 0.5}}),
    ]
    board = _board(runs, ["b", "a", "c"])
    assert board.ranks("span") == {"b": 1, "a": 1, "c": 3}
    assert [r["tagger"] for r in board.rows()] == ["b", "a", "c"]
    assert board.ranks("strict") == {"c": 1, "b": 2, "a": 3}
    assert [board.rank_change(t, "strict") for t in ("b", "a", "c")] == [-1, -2, 2]


def test_missing_runs_are_shown_not_invented() -> None:
    runs = [_run("x", "A", {"span": {"": 0.4}, "strict": {"": 0.4}})]
    board = _board(runs, ["x", "ghost"])
    assert board.coverage("x") == 1 and board.coverage("ghost") == 0
    assert board.mean_f1("x", "span") == 40.0
    assert board.mean_f1("ghost", "span") is None
    assert board.ranks("span") == {"x": 1, "ghost": None}
    rows = board.rows()
    assert [r["tagger"] for r in rows] == ["x", "ghost"]
    assert rows[1]["rank"] is None and rows[1]["strict"]["rank_change"] is None
    assert "| — | ghost * | — | — | — | — | 0/2: none |" in board.to_markdown()


def test_a_tagger_without_every_dataset_is_listed_below_unranked() -> None:
    """skip_missing: a mean over an easier subset must not outrank a mean over all datasets."""
    runs = [
        _run("full", "A", {"span": {"": 0.5}, "strict": {"": 0.5}}),
        _run("full", "B", {"span": {"": 0.3}, "strict": {"": 0.3}}),
        _run("other", "A", {"span": {"": 0.2}, "strict": {"": 0.6}}),
        _run("other", "B", {"span": {"": 0.2}, "strict": {"": 0.6}}),
        _run("partial", "A", {"span": {"": 0.9}, "strict": {"": 0.9}}),
    ]
    board = _board(runs, ["partial", "other", "full"])
    assert board.partial_taggers == ["partial"]
    assert board.ranks("span") == {"partial": None, "other": 2, "full": 1}
    assert board.ranks("strict") == {"partial": None, "other": 1, "full": 2}
    rows = board.rows()
    assert [(r["tagger"], r["rank"], r["partial"]) for r in rows] == [
        ("full", 1, False),
        ("other", 2, False),
        ("partial", None, True),
    ]
    assert rows[2]["span"]["f1"] == 90.0 and rows[2]["strict"]["rank_change"] is None
    md = board.to_markdown()
    assert "| — | partial * | 90.00 | 90.00 | — | — | 1/2: A |" in md
    assert "not ranked" in md
    table = list(csv.DictReader(io.StringIO(board.to_csv())))
    assert [(r["tagger"], r["rank"], r["partial"]) for r in table] == [
        ("full", "1", ""),
        ("other", "2", ""),
        ("partial", "", "A"),
    ]


def test_scores_csv_holds_every_metric_not_only_the_leaderboards() -> None:
    runs = [
        _run(
            "x", "A", {"span": {"": 0.5, "drug": 0.6}, "strict": {"": 0.4}, "relaxed": {"": 0.7, "drug": 0.8}}
        ),
        _run("x", "B", {"span": {"": 0.3}, "strict": {"": 0.2}, "m42_token_micro": {"": 0.9}}),
    ]
    rows = list(csv.DictReader(io.StringIO(_board(runs, ["x"]).scores_csv())))
    got = {(r["dataset"], r["metric"], r["label"]): float(r["f1"]) for r in rows}
    assert got == {
        ("A", "span", ""): 0.5,
        ("A", "span", "drug"): 0.6,
        ("A", "strict", ""): 0.4,
        ("A", "relaxed", ""): 0.7,
        ("A", "relaxed", "drug"): 0.8,
        ("B", "span", ""): 0.3,
        ("B", "strict", ""): 0.2,
        ("B", "m42_token_micro", ""): 0.9,
    }


def test_a_not_computable_metric_is_left_out_and_shown_as_na() -> None:
    """The token metrics on gold without texts: NaN must reach neither the run JSON nor a mean."""
    import json

    from clinicalner.benchmark.results import extract_scores
    from clinicalner.document import Document, Span
    from clinicalner.evaluate import score

    gold = [Document("d", "", [Span(0, 5, "condition")], metadata={"has_text": False})]
    report = score(gold, gold, metrics=["strict", "m42_token_micro"], labels=["condition"])
    assert not report.metric("m42_token_micro").computable
    scores = extract_scores(report, ["condition"])
    assert set(scores) == {"strict"}
    json.dumps(scores, allow_nan=False)
    runs = [
        _run("x", "A", {"span": {"": 0.5}, "strict": {"": 0.9}}),
        _run("x", "B", {"strict": {"": 0.7}}),  # span not computable on B
    ]
    board = _board(runs, ["x"])
    assert board.mean_f1("x", "span") == 50.0
    assert "| x | 50.00 | n/a | 50.00 |" in board.to_markdown()
