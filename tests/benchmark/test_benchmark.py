"""End to end: ``benchmark(config)`` on the hand-made fixtures, against the evaluator itself."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path
from statistics import fmean

import pytest

from clinicalner.benchmark import BenchmarkConfig, ConfigError, TaggerSpec, benchmark
from clinicalner.benchmark.sources import MissingPredictions
from clinicalner.document import Document, Span
from clinicalner.evaluate import score
from clinicalner.io import attach_texts, read_corpus
from clinicalner.predict.lexicon import LexiconTagger

from .conftest import FIXTURES

WARD_MAP = {"Disease": "condition", "Drug": "drug"}
METRICS = ("nervaluate_0.1.8_ent_type", "strict", "m42_token_macro")


def _mapped(docs: list[Document], mapping: dict[str, str] | None, drop_empty: bool) -> list[Document]:
    out = []
    for d in docs:
        spans = (
            [replace(s, label=mapping[s.label]) for s in d.spans if s.label in mapping]
            if mapping
            else d.spans
        )
        if drop_empty and not spans:
            continue
        out.append(d.with_spans(spans))
    return out


def _gold(fixtures: Path) -> dict[str, tuple[list[Document], list[Document], list[str]]]:
    """(train, eval, labels) of both fixture datasets, built here without the benchmark package."""
    ward_train = _mapped(read_corpus(fixtures / "ward" / "train", "brat").documents, WARD_MAP, True)
    ward_eval = _mapped(read_corpus(fixtures / "ward" / "dev", "brat").documents, WARD_MAP, True)
    notes_train = read_corpus(fixtures / "notes" / "train.jsonl").documents
    notes_eval = read_corpus(fixtures / "notes" / "dev.jsonl").documents
    return {
        "ward": (ward_train, ward_eval, ["condition", "drug"]),
        "notes": (notes_train, notes_eval, ["condition", "drug", "procedure"]),
    }


def _predictions(fixtures: Path, tagger: str, dataset: str) -> list[Document]:
    train, gold, labels = _gold(fixtures)[dataset]
    if tagger == "lexicon":
        lexicon = LexiconTagger.from_documents(train, labels=labels)
        return list(lexicon.tag(d.with_spans([]) for d in gold))
    path = {"ward": fixtures / "predictions/ext/ward.tsv", "notes": fixtures / "predictions/ext/notes.jsonl"}[
        dataset
    ]
    pred = attach_texts(read_corpus(path).documents, gold)
    by_id = {d.id: d for d in _mapped(pred, WARD_MAP if dataset == "ward" else None, False)}
    return [by_id[g.id] for g in gold]


def _fast(path: Path) -> BenchmarkConfig:
    """The fixture config without the HTML page (plots cost a second per run)."""
    config = BenchmarkConfig.load(path)
    config.html = False
    return config


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench") / "out"


@pytest.fixture(scope="module")
def board(out_dir: Path):  # type: ignore[no-untyped-def]
    return benchmark(FIXTURES / "bench.toml", output=out_dir, progress=False)


def test_numbers_equal_the_evaluator_on_the_same_predictions(board, fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    gold = _gold(fixtures)
    for tagger in ("lexicon", "ext"):
        per_dataset: dict[str, dict[str, float]] = {}
        for dataset, (_, docs, labels) in gold.items():
            report = score(docs, _predictions(fixtures, tagger, dataset), labels=labels)
            per_dataset[dataset] = {m: report.metric(m).f1 for m in METRICS}
            for m in METRICS:
                assert board.run(tagger, dataset).f1(m) == pytest.approx(report.metric(m).f1, abs=1e-12)
                assert board.dataset_f1(tagger, dataset, m) == round(report.metric(m).f1 * 100, 2)
                for label in labels:
                    expected = report.breakdown("label", label, m).f1
                    assert board.run(tagger, dataset).f1(m, label) == pytest.approx(expected, abs=1e-12)
        for m in METRICS:
            assert board.mean_f1(tagger, m) == round(fmean(v[m] for v in per_dataset.values()) * 100, 2)
        # Per entity type: mean over the datasets that have the type (procedure: notes only).
        notes = score(gold["notes"][1], _predictions(fixtures, tagger, "notes"), labels=gold["notes"][2])
        ward = score(gold["ward"][1], _predictions(fixtures, tagger, "ward"), labels=gold["ward"][2])
        for m in METRICS:
            proc = notes.breakdown("label", "procedure", m).f1
            assert board.entity_f1(tagger, m, "procedure") == round(proc * 100, 2)
            cond = fmean(
                [notes.breakdown("label", "condition", m).f1, ward.breakdown("label", "condition", m).f1]
            )
            assert board.entity_f1(tagger, m, "condition") == round(cond * 100, 2)


def test_ranks_and_rank_changes(board) -> None:  # type: ignore[no-untyped-def]
    # The 'external' predictions are every gold span one character too long: all partial
    # matches (ent_type F1 = 100) and no exact one (strict F1 = 0); the lexicon is in between.
    assert board.mean_f1("ext", "nervaluate_0.1.8_ent_type") == 100.0
    assert board.mean_f1("ext", "strict") == 0.0
    assert 0 < board.mean_f1("lexicon", "strict") < 100
    assert board.mean_f1("lexicon", "nervaluate_0.1.8_ent_type") < 100
    rows = board.rows()
    assert [r["tagger"] for r in rows] == ["ext", "lexicon"]
    assert [r["rank"] for r in rows] == [1, 2]
    assert board.ranks("strict") == {"lexicon": 1, "ext": 2}
    assert board.rank_change("ext", "strict") == -1
    assert board.rank_change("lexicon", "strict") == 1
    assert rows[0]["strict"]["rank_change"] == -1
    # Whatever the numbers, ranks follow the means under every metric.
    for m in board.metrics:
        by_score = sorted(board.taggers, key=lambda t: -board.mean_f1(t, m))
        assert [board.ranks(m)[t] for t in by_score] == sorted(board.ranks(m).values())


def test_outputs(board, out_dir: Path) -> None:  # type: ignore[no-untyped-def]
    out = out_dir
    for name in (
        "leaderboard.md",
        "leaderboard.csv",
        "leaderboard.html",
        "leaderboard.json",
        "scores.csv",
        "entities.csv",
    ):
        assert (out / name).is_file(), name
    rows = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text("utf-8"))))
    assert [r["tagger"] for r in rows] == ["ext", "lexicon"]
    for r in rows:
        for m in METRICS:
            assert float(r[f"{m}_f1"]) == board.mean_f1(r["tagger"], m)
        assert int(r["strict_rank_change"]) == board.rank_change(r["tagger"], "strict")
        assert float(r["nervaluate_0.1.8_ent_type:ward"]) == board.dataset_f1(
            r["tagger"], "ward", "nervaluate_0.1.8_ent_type"
        )
    md = (out / "leaderboard.md").read_text("utf-8")
    lex_strict = f"{board.mean_f1('lexicon', 'strict'):.2f}"
    assert any(
        line.startswith("| 2 | lexicon |") and lex_strict in line and "+1" in line for line in md.splitlines()
    )
    for tagger in ("lexicon", "ext"):
        for dataset in ("ward", "notes"):
            run = json.loads((out / "runs" / tagger / f"{dataset}.json").read_text("utf-8"))
            assert run["tagger"] == tagger and run["dataset"] == dataset
            assert run["report"]["metrics"]["strict"]["f1"] == board.run(tagger, dataset).f1("strict")
            assert "scoring_seconds" in run["timing"]
    assert board.run("lexicon", "ward").timing["documents"] == 3
    assert board.run("ext", "ward").info["prediction_documents_ignored"] == 1  # d3 has no gold span left
    # The cache keeps offsets, never the note text.
    spans = (out / "runs" / "lexicon" / "ward.spans.json").read_text("utf-8")
    assert "salbutamol" not in spans and "diabetes" not in spans
    summary = json.loads((out / "leaderboard.json").read_text("utf-8"))
    assert summary["rank_by"] == "nervaluate_0.1.8_ent_type"
    ward = next(d for d in summary["datasets"] if d["name"] == "ward")
    assert ward["documents"] == 3 and ward["documents_dropped_empty"] == 1


def test_second_run_uses_the_cache(fixtures: Path, tmp_path: Path, tag_counter) -> None:  # type: ignore[no-untyped-def]
    first = benchmark(_fast(fixtures / "bench.toml"), output=tmp_path, progress=False)
    assert tag_counter.calls == 2  # the lexicon, once per dataset
    second = benchmark(_fast(fixtures / "bench.toml"), output=tmp_path, progress=False)
    assert tag_counter.calls == 2
    assert all(r.cached and not r.retagged for r in second.runs.values())
    assert second.rows() == first.rows()
    forced = benchmark(_fast(fixtures / "bench.toml"), output=tmp_path, force=True, progress=False)
    assert tag_counter.calls == 4
    assert not any(r.cached for r in forced.runs.values())
    assert forced.rows() == first.rows()


def test_adding_a_tagger_runs_only_that_tagger(fixtures: Path, tmp_path: Path, tag_counter) -> None:  # type: ignore[no-untyped-def]
    benchmark(_fast(fixtures / "bench.toml"), output=tmp_path, progress=False)
    assert tag_counter.calls == 2
    config = _fast(fixtures / "bench.toml")
    config.taggers.append(TaggerSpec("frequent", "lexicon", options={"min_count": 2}))
    board = benchmark(config, output=tmp_path, progress=False)
    assert tag_counter.calls == 4  # the new tagger on both datasets, nobody else
    assert board.run("lexicon", "ward").cached and board.run("ext", "notes").cached
    assert not board.run("frequent", "ward").cached
    assert board.run("frequent", "ward").info["lexicon_terms"] == 0  # no training term occurs twice
    assert board.mean_f1("frequent", "strict") == 0.0


def test_other_metrics_reuse_runs_or_rescore_without_tagging(
    fixtures: Path, tmp_path: Path, tag_counter
) -> None:  # type: ignore[no-untyped-def]
    benchmark(_fast(fixtures / "bench.toml"), output=tmp_path, progress=False)
    config = _fast(fixtures / "bench.toml")
    # Every metric is kept per run: ranking by another one needs no new scoring.
    config.rank_by, config.compare = "relaxed", ("strict",)
    board = benchmark(config, output=tmp_path, progress=False)
    assert tag_counter.calls == 2
    assert board.run("lexicon", "ward").cached
    assert board.metrics == ("relaxed", "strict")
    assert board.mean_f1("lexicon", "relaxed") is not None
    # Another metric set changes the scoring key: scored again from the kept predictions.
    config.metrics = ["relaxed", "multiclinai_char"]
    board = benchmark(config, output=tmp_path, progress=False)
    assert tag_counter.calls == 2
    run = board.run("lexicon", "ward")
    assert not run.cached and not run.retagged
    assert set(run.scores) == {"relaxed", "multiclinai_char", "strict"}


def test_changed_corpus_or_predictions_run_again(fixture_copy: Path, tmp_path: Path, tag_counter) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    benchmark(_fast(fixture_copy / "bench.toml"), output=out, progress=False)
    assert tag_counter.calls == 2
    # One gold span less in the ward dev set: only ward runs again, for both taggers.
    ann = fixture_copy / "ward" / "dev" / "d4.ann"
    ann.write_text(ann.read_text("utf-8").splitlines()[0] + "\n", "utf-8")
    board = benchmark(_fast(fixture_copy / "bench.toml"), output=out, progress=False)
    assert tag_counter.calls == 3
    assert board.run("lexicon", "notes").cached and board.run("ext", "notes").cached
    assert board.run("lexicon", "ward").retagged and board.run("ext", "ward").retagged
    # A new predictions file for notes: only ext × notes is read and scored again.
    pred = fixture_copy / "predictions" / "ext" / "notes.jsonl"
    first = pred.read_text("utf-8").splitlines()[0]
    pred.write_text(first + "\n", "utf-8")
    board = benchmark(_fast(fixture_copy / "bench.toml"), output=out, progress=False)
    assert tag_counter.calls == 3
    assert board.run("ext", "notes").retagged
    assert board.run("ext", "notes").info["prediction_documents_missing"] == 1
    assert board.run("ext", "ward").cached


def test_missing_predictions(fixture_copy: Path, tmp_path: Path) -> None:
    (fixture_copy / "predictions" / "ext" / "notes.jsonl").unlink()
    with pytest.raises(MissingPredictions, match="notes"):
        benchmark(_fast(fixture_copy / "bench.toml"), output=tmp_path, progress=False)
    config = _fast(fixture_copy / "bench.toml")
    config.skip_missing = True
    board = benchmark(config, output=tmp_path, progress=False)
    assert board.coverage("ext") == 1 and board.coverage("lexicon") == 2
    assert board.run("ext", "notes") is None
    assert board.mean_f1("ext", "strict") == board.dataset_f1("ext", "ward", "strict")
    assert "1/2" in (tmp_path / "leaderboard.md").read_text("utf-8")


def test_python_tagger_object(fixtures: Path, tmp_path: Path) -> None:
    """From Python a ready tagger can be ranked; with a fingerprint it is cached like the others."""
    config = _fast(fixtures / "bench.toml")
    terms = LexiconTagger.from_tsv(fixtures / "terms.tsv")
    config.taggers = [TaggerSpec("terms", "object", tagger=terms, fingerprint="terms-v1")]
    board = benchmark(config, output=tmp_path, progress=False)
    gold = _gold(fixtures)
    _, docs, labels = gold["notes"]
    expected = score(docs, list(terms.tag(d.with_spans([]) for d in docs)), labels=labels)
    assert board.run("terms", "notes").f1("strict") == pytest.approx(expected.metric("strict").f1)
    again = benchmark(config, output=tmp_path, progress=False)
    assert again.run("terms", "notes").cached
    config.taggers[0].fingerprint = None  # unknown identity: never trusted from the cache
    assert not benchmark(config, output=tmp_path, progress=False).run("terms", "notes").cached


class _HonouringTagger:
    """Tags only the types a document annotates: a span over the first word per type."""

    def tag(self, documents):  # type: ignore[no-untyped-def]
        for d in documents:
            labels = sorted(d.annotated_labels or ())
            yield d.with_spans([Span(0, 5, lab) for lab in labels])


def test_copies_tagged_once_keep_only_their_own_types(tmp_path: Path) -> None:
    """Two notes with one text annotating different types are tagged once; with
    mask_unannotated = false the types asked for the other copy must not become false positives."""
    from clinicalner.io import write_corpus

    text = "fever and aspirin"
    docs = [
        Document("a", text, [Span(0, 5, "condition")], "en", frozenset({"condition"})),
        Document("b", text, [Span(0, 5, "drug")], "en", frozenset({"drug"})),
    ]
    write_corpus(docs, tmp_path / "twins.jsonl", "jsonl")
    config = BenchmarkConfig.from_dict(
        {
            "benchmark": {"html": False, "rank_by": "strict", "compare": [], "mask_unannotated": False},
            "datasets": [
                {"name": "twins", "eval": str(tmp_path / "twins.jsonl"), "labels": ["condition", "drug"]}
            ],
            "taggers": [{"name": "x", "kind": "lexicon"}],
        }
    )
    config.taggers = [TaggerSpec("honours", "object", tagger=_HonouringTagger())]
    run = benchmark(config, output=tmp_path / "out", progress=False).run("honours", "twins")
    assert run.timing["documents"] == 1 and run.timing["document_copies"] == 2
    assert run.report["metrics"]["strict"]["counts"] == {"tp": 2, "fp": 0, "fn": 0}


def test_lexicon_from_a_term_list_and_unknown_metrics(fixtures: Path, tmp_path: Path) -> None:
    config = _fast(fixtures / "bench.toml")
    config.taggers = BenchmarkConfig.from_dict(
        {"taggers": [{"name": "terms", "kind": "lexicon", "terms": "terms.tsv"}], "datasets": ["x"]},
        base=fixtures,
    ).taggers
    board = benchmark(config, output=tmp_path, progress=False)
    terms = LexiconTagger.from_tsv(fixtures / "terms.tsv")
    for dataset, (_, docs, labels) in _gold(fixtures).items():
        expected = score(docs, list(terms.tag(d.with_spans([]) for d in docs)), labels=labels)
        assert board.run("terms", dataset).f1("strict") == pytest.approx(
            expected.metric("strict").f1, abs=1e-12
        )
    assert board.run("terms", "ward").info["lexicon_terms"] == 4
    config.compare = ("strict", "f1_of_my_own")
    with pytest.raises(ConfigError, match="f1_of_my_own"):
        benchmark(config, output=tmp_path / "other", progress=False)
    assert not (tmp_path / "other").exists()


def _evaluate_as_written(out: Path, command: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Run the ``clinicalner evaluate`` command a run recorded, from the results folder."""
    import shlex

    from typer.testing import CliRunner

    from clinicalner.cli import app

    argv = shlex.split(command)
    assert argv[:2] == ["clinicalner", "evaluate"]
    monkeypatch.chdir(out)
    result = CliRunner().invoke(app, [*argv[1:], "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_evaluate_reproduces(board, out: Path, monkeypatch: pytest.MonkeyPatch) -> int:  # type: ignore[no-untyped-def]
    """Every metric of every run (overall and per label) equals ``clinicalner evaluate`` on the
    files the run wrote. Returns the number of numbers compared."""
    compared = 0
    for (tagger, dataset), run in board.runs.items():
        report = _evaluate_as_written(out, run.info["evaluate_command"], monkeypatch)
        assert set(run.scores) <= set(report["metrics"])
        for metric, per_label in run.scores.items():
            for label, s in per_label.items():
                got = (
                    report["metrics"][metric] if label == "" else report["breakdowns"]["label"][label][metric]
                )
                for k in ("precision", "recall", "f1"):
                    assert s[k] == pytest.approx(got[k], abs=1e-12), (tagger, dataset, metric, label, k)
                    compared += 1
    return compared


def test_evaluate_on_the_written_files_gives_the_same_numbers(
    board, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    for tagger in ("lexicon", "ext"):
        for dataset in ("ward", "notes"):
            assert (out_dir / "runs" / tagger / f"{dataset}.pred.jsonl").is_file()
            assert not (out_dir / "runs" / tagger / f"{dataset}.gold.jsonl").exists()
    # the gold (note text) once per dataset, not once per tagger
    assert sorted(p.name for p in (out_dir / "runs" / "_gold").iterdir()) == ["notes.jsonl", "ward.jsonl"]
    command = board.run("ext", "ward").info["evaluate_command"]
    assert command.startswith("clinicalner evaluate runs/_gold/ward.jsonl runs/ext/ward.pred.jsonl")
    assert "-l condition -l drug" in command
    assert assert_evaluate_reproduces(board, out_dir, monkeypatch) > 100


def test_evaluate_reproduces_a_subset_of_metrics_and_the_gliner_splitter(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _fast(fixtures / "bench.toml")
    config.metrics = ["m42_token_micro", "relaxed"]
    config.taggers[0].tokenize = "gliner"
    board = benchmark(config, output=tmp_path, progress=False)
    command = board.run("lexicon", "notes").info["evaluate_command"]
    assert "--tokenizer gliner" in command and "-m m42_token_micro" in command
    assert assert_evaluate_reproduces(board, tmp_path, monkeypatch) > 10
    # Deleted files are written again, from the kept predictions, without tagging.
    Path(tmp_path / "runs" / "lexicon" / "notes.pred.jsonl").unlink()
    again = benchmark(config, output=tmp_path, progress=False)
    assert not again.run("lexicon", "notes").cached and not again.run("lexicon", "notes").retagged
    assert (tmp_path / "runs" / "lexicon" / "notes.pred.jsonl").is_file()
    config.export = False
    off = benchmark(config, output=tmp_path / "off", progress=False)
    assert not list((tmp_path / "off" / "runs").rglob("*.jsonl"))
    # the command is still recorded (its options say how the run was scored), with a note
    assert off.run("lexicon", "notes").info["evaluate_command"] == command
    assert "export = true" in off.run("lexicon", "notes").info["evaluate_note"]


def test_export_is_off_by_default_and_a_per_tagger_gold_copy_is_removed(
    fixtures: Path, tmp_path: Path
) -> None:
    config = _fast(fixtures / "bench.toml")
    config.export = BenchmarkConfig().export
    assert config.export is False
    benchmark(config, output=tmp_path, progress=False)
    assert not list((tmp_path / "runs").rglob("*.jsonl"))
    # An output folder written before the gold moved to runs/_gold/: the runs are rescored (no
    # retagging), the per-tagger gold copy goes.
    legacy = tmp_path / "runs" / "lexicon" / "notes.gold.jsonl"
    legacy.write_text("{}\n", encoding="utf-8")
    run = json.loads((tmp_path / "runs" / "lexicon" / "notes.json").read_text(encoding="utf-8"))
    run["info"]["evaluate_command"] = (
        "clinicalner evaluate runs/lexicon/notes.gold.jsonl runs/lexicon/notes.pred.jsonl"
    )
    (tmp_path / "runs" / "lexicon" / "notes.json").write_text(json.dumps(run), encoding="utf-8")
    config.export = True
    again = benchmark(config, output=tmp_path, progress=False)
    assert not again.run("lexicon", "notes").cached and not again.run("lexicon", "notes").retagged
    assert not legacy.exists() and (tmp_path / "runs" / "_gold" / "notes.jsonl").is_file()
    assert (
        again.run("lexicon", "notes")
        .info["evaluate_command"]
        .startswith("clinicalner evaluate runs/_gold/notes.jsonl runs/lexicon/notes.pred.jsonl")
    )


def test_many_to_one_label_map_does_not_inflate_span_scores(fixtures: Path, tmp_path: Path) -> None:
    """A tagger whose two heads both fire on a mention, both mapped to one label, scores as if it
    had found the mention once (nervaluate 0.1.8 counted the copy as another correct span)."""
    gold = read_corpus(fixtures / "notes" / "dev.jsonl").documents
    found = [d.with_spans([s for s in d.spans if s.label == "condition"][::2]) for d in gold]
    doubled = [d.with_spans([*d.spans, *[replace(s, label="SYMPTOM") for s in d.spans]]) for d in found]
    from clinicalner.io import write_corpus

    write_corpus(found, tmp_path / "once.jsonl", "jsonl")
    write_corpus(doubled, tmp_path / "twice.jsonl", "jsonl")
    config = BenchmarkConfig.from_dict(
        {
            "benchmark": {"html": False, "rank_by": "nervaluate_0.1.8_ent_type"},
            "datasets": [{"name": "notes", "eval": str(fixtures / "notes" / "dev.jsonl")}],
            "taggers": [
                {"name": n, "kind": "predictions", "path": str(tmp_path / f"{n}.jsonl"), "label_map": m}
                for n, m in (("once", {}), ("twice", {"SYMPTOM": "condition"}))
            ],
        }
    )
    board = benchmark(config, output=tmp_path / "out", progress=False)
    assert board.run("twice", "notes").info["duplicate_spans_merged"] == sum(len(d.spans) for d in found) > 0
    for m in ("nervaluate_0.1.8_ent_type", "strict", "m42_token_macro"):
        assert board.run("twice", "notes").scores[m] == board.run("once", "notes").scores[m]


def test_an_empty_dataset_label_map_keeps_own_labels_and_dropped_spans_are_noted(
    fixtures: Path, tmp_path: Path
) -> None:
    """``dataset_label_maps = { notes = {} }`` scores the tagger's own labels on that dataset
    (it was dropped on reading, so the global map threw those spans away), and spans a map
    does throw away are named on the leaderboard, not only in runs/*.json."""
    from clinicalner.benchmark.html import render_html

    preds = str(fixtures / "predictions" / "ext" / "notes.jsonl")
    other_map = {"condition": "DISEASE", "drug": "CHEMICAL"}  # as for another dataset's labels
    config = BenchmarkConfig.from_dict(
        {
            "benchmark": {"html": False, "rank_by": "relaxed", "compare": []},
            "datasets": [{"name": "notes", "eval": str(fixtures / "notes" / "dev.jsonl")}],
            "taggers": [
                {"name": "own", "kind": "predictions", "path": preds},
                {
                    "name": "override",
                    "kind": "predictions",
                    "path": preds,
                    "label_map": other_map,
                    "dataset_label_maps": {"notes": {}},
                },
                {"name": "mapped", "kind": "predictions", "path": preds, "label_map": other_map},
            ],
        }
    )
    board = benchmark(config, output=tmp_path / "out", progress=False)
    own, override, mapped = (board.run(t, "notes") for t in ("own", "override", "mapped"))
    assert override.info["spans_outside_labels"] == 0
    assert override.scores == own.scores
    dropped = mapped.info["spans_outside_labels"]
    assert dropped > 0 and mapped.f1("relaxed") < own.f1("relaxed")
    by_label = mapped.info["labels_outside"]
    assert set(by_label) <= {"condition->DISEASE", "drug->CHEMICAL"} and sum(by_label.values()) == dropped
    markdown = board.to_markdown()
    notes = markdown.split("## Notes", 1)[1]
    assert f"mapped × notes: {dropped:,} predicted span(s) dropped" in notes
    assert "condition->DISEASE" in notes and "dataset_label_maps" in notes
    assert "override × notes" not in notes and "own × notes" not in notes
    assert f"mapped × notes: {dropped:,} predicted span(s) dropped" in (
        tmp_path / "out" / "leaderboard.md"
    ).read_text(encoding="utf-8")
    assert f"mapped × notes: {dropped:,} predicted span(s) dropped" in render_html(board)


def _multiclinai_tree(root: Path, fixtures: Path) -> None:
    """The MultiClinAI release layout: every note once per type folder, same file name, each
    folder's TSV holding only its type."""
    from clinicalner.io import write_corpus

    names = {"condition": "DISEASE", "drug": "SYMPTOM", "procedure": "PROCEDURE"}
    for split, src in (("train", "train.jsonl"), ("dev", "dev.jsonl")):
        docs = read_corpus(fixtures / "notes" / src).documents
        for label in names.values():
            folder = f"en/{split}/{label.lower()}"
            copies = [
                replace(
                    d,
                    spans=[replace(s, label=names[s.label]) for s in d.spans if names[s.label] == label],
                    annotated_labels=frozenset([label]),
                    metadata={"folder": folder},
                )
                for d in docs
            ]
            write_corpus(copies, root / "en" / split / label.lower(), "tsv")


def test_multiclinai_layout_is_tagged_once_and_scored_once(
    fixtures: Path, tmp_path: Path, tag_counter, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "mcai"
    _multiclinai_tree(root, fixtures)
    config = BenchmarkConfig.from_dict(
        {
            "benchmark": {
                "html": False,
                "rank_by": "nervaluate_0.1.8_ent_type",
                "compare": ["strict"],
                "export": True,
            },
            "datasets": [
                {"name": "mcai", "eval": str(root / "en" / "dev"), "train": str(root / "en" / "train")}
            ],
            "taggers": [{"name": "lexicon", "kind": "lexicon"}],
        }
    )
    board = benchmark(config, output=tmp_path / "out", progress=False)
    from clinicalner.benchmark import build_dataset

    dataset = build_dataset(config.datasets[0])
    distinct = {d.id for d in dataset.eval}
    assert len(dataset.eval) == 3 * len(distinct)
    assert tag_counter.documents == len(distinct)  # each note once, not once per folder
    run = board.run("lexicon", "mcai")
    assert run.timing["documents"] == len(distinct) and run.timing["document_copies"] == len(dataset.eval)
    # The same as tagging every copy on its own and scoring (not three copies' predictions per copy).
    lexicon = LexiconTagger.from_documents(dataset.train, labels=dataset.labels)
    direct = list(lexicon.tag(d.with_spans([]) for d in dataset.eval))
    expected = score(dataset.eval, direct, labels=list(dataset.labels))
    assert expected.stats["predicted_spans"] > 0
    assert run.report["stats"]["predicted_spans"] == expected.stats["predicted_spans"]
    for m in ("nervaluate_0.1.8_ent_type", "strict", "m42_token_macro", "multiclinai_strict"):
        assert run.f1(m) == pytest.approx(expected.metric(m).f1, abs=1e-12)
    assert assert_evaluate_reproduces(board, tmp_path / "out", monkeypatch) > 10


def test_term_list_lexicon_honours_across_labels(fixtures: Path, tmp_path: Path) -> None:
    terms = tmp_path / "overlap.tsv"
    terms.write_text("chest X-ray\tprocedure\nchest\tcondition\nCT scan of the chest\tprocedure\n", "utf-8")
    config = _fast(fixtures / "bench.toml")
    config.datasets = [d for d in config.datasets if d.name == "notes"]
    config.taggers = [
        TaggerSpec("flat", "lexicon", path=terms),
        TaggerSpec("per-label", "lexicon", path=terms, options={"across_labels": False}),
    ]
    board = benchmark(config, output=tmp_path / "out", progress=False)
    flat, per_label = board.run("flat", "notes"), board.run("per-label", "notes")
    assert per_label.info["spans"] == flat.info["spans"] + 2  # "chest" inside both procedures
    _, docs, labels = _gold(fixtures)["notes"]
    expected = LexiconTagger.from_tsv(terms, across_labels=False)
    report = score(docs, list(expected.tag(d.with_spans([]) for d in docs)), labels=labels)
    assert per_label.f1("strict") == pytest.approx(report.metric("strict").f1, abs=1e-12)
    assert per_label.key["tagger"] != flat.key["tagger"]


def test_unknown_dataset_name_is_one_clear_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from clinicalner.cli import app

    config = tmp_path / "typo.toml"
    config.write_text(
        '[[datasets]]\nname = "ncbi"\n[[taggers]]\nname = "lexicon"\nkind = "lexicon"\n', "utf-8"
    )
    result = CliRunner().invoke(app, ["benchmark", str(config), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "no built-in recipe 'ncbi'" in result.output and "ncbi-disease" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_progress_goes_to_stderr_and_the_leaderboard_to_stdout(fixtures: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "bench.toml"
    text = (
        (fixtures / "bench.toml")
        .read_text("utf-8")
        .replace('name = "fixture benchmark"', 'name = "fb"\nhtml = false')
    )
    config.write_text(
        text.replace('"ward/', f'"{fixtures}/ward/')
        .replace('"notes/', f'"{fixtures}/notes/')
        .replace('"predictions/', f'"{fixtures}/predictions/'),
        "utf-8",
    )
    code = "from clinicalner.cli import app; app()"
    env = {"COLUMNS": "100", "FORCE_COLOR": "0", "TERM": "xterm", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code, "benchmark", str(config), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# fb\n")
    assert "━" not in done.stdout
    assert "━" in done.stderr  # the bar was drawn, on stderr
