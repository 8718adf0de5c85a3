"""Reading benchmark configs: paths, options, defaults and the errors a user sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner.benchmark.config import DEFAULT_COMPARE, DEFAULT_RANK_BY, BenchmarkConfig, ConfigError


def test_fixture_config(fixtures: Path) -> None:
    cfg = BenchmarkConfig.load(fixtures / "bench.toml")
    assert cfg.name == "fixture benchmark"
    assert cfg.rank_by == "nervaluate_0.1.8_ent_type"
    assert cfg.leaderboard_metrics == ("nervaluate_0.1.8_ent_type", "strict", "m42_token_macro")
    ward, notes = cfg.datasets
    assert ward.eval == fixtures / "ward" / "dev" and ward.train == fixtures / "ward" / "train"
    assert (
        ward.recipe is None and ward.drop_empty and ward.label_map == {"Disease": "condition", "Drug": "drug"}
    )
    assert notes.labels == ("condition", "drug", "procedure")
    lexicon, ext = cfg.taggers
    assert (lexicon.kind, lexicon.path, lexicon.options) == ("lexicon", None, {})
    assert ext.path == fixtures / "predictions" / "ext"
    assert ext.label_map_for("ward") == {"Disease": "condition", "Drug": "drug"}
    assert cfg.default_output() == fixtures / "bench-results"


def test_defaults_recipes_and_options(tmp_path: Path) -> None:
    path = tmp_path / "m42.toml"
    path.write_text(
        """
datasets = ["ncbi-disease", "bc5cdr"]

[benchmark]
corpora = "corpora"

[[taggers]]
name = "lex"
kind = "lexicon"
min_count = 2

[[taggers]]
name = "gliner"
kind = "predictions"
path = "/abs/preds"
tokenize = "gliner"
dataset_label_maps = { bc5cdr = { disease = "condition", chemical = "drug" } }

[[taggers]]
name = "llm"
kind = "llm"
base_url = "http://localhost:8000/v1"
model = "m"
api_key = "sk-secret"
""",
        "utf-8",
    )
    cfg = BenchmarkConfig.load(path)
    assert cfg.name == "m42"  # the file name when [benchmark] has none
    assert (cfg.rank_by, cfg.compare) == (DEFAULT_RANK_BY, DEFAULT_COMPARE)
    assert cfg.corpora == tmp_path / "corpora"
    assert [(d.name, d.recipe) for d in cfg.datasets] == [
        ("ncbi-disease", "ncbi-disease"),
        ("bc5cdr", "bc5cdr"),
    ]
    lex, gliner, llm = cfg.taggers
    assert lex.options == {"min_count": 2}
    assert gliner.path == Path("/abs/preds") and gliner.tokenize == "gliner"
    assert gliner.label_map_for("bc5cdr") == {"disease": "condition", "chemical": "drug"}
    assert gliner.label_map_for("ncbi-disease") is None
    assert llm.options == {"base_url": "http://localhost:8000/v1", "model": "m", "api_key": "sk-secret"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"taggers": [{"name": "a", "kind": "lexicon"}]}, "no \\[\\[datasets\\]\\]"),
        ({"datasets": ["chia"]}, "no \\[\\[taggers\\]\\]"),
        ({"datasets": ["chia"], "taggers": [{"name": "a", "kind": "gliner"}]}, "kind must be one of"),
        ({"datasets": ["chia"], "taggers": [{"name": "a", "kind": "model"}]}, "needs 'path'"),
        ({"datasets": ["chia"], "taggers": [{"kind": "lexicon"}]}, "'name' is required"),
        ({"datasets": ["chia", "chia"], "taggers": [{"name": "a", "kind": "lexicon"}]}, "used twice"),
        ({"datasets": [{"name": "x", "evl": "p"}], "taggers": [{"name": "a", "kind": "lexicon"}]}, "evl"),
        (
            {
                "datasets": [{"name": "x", "eval": "p", "recipe": "chia"}],
                "taggers": [{"name": "a", "kind": "lexicon"}],
            },
            "either 'recipe' or 'eval'",
        ),
        (
            {
                "benchmark": {"rankby": "strict"},
                "datasets": ["chia"],
                "taggers": [{"name": "a", "kind": "lexicon"}],
            },
            "rankby",
        ),
        ({"tagger": [], "datasets": ["chia"]}, "unknown section"),
        (
            {"datasets": ["chia"], "taggers": [{"name": "a", "kind": "lexicon", "label_map": {"A": 1}}]},
            "label_map",
        ),
    ],
)
def test_errors(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BenchmarkConfig.from_dict(data)


def test_an_empty_dataset_label_map_keeps_the_taggers_own_labels(tmp_path: Path) -> None:
    """``dataset_label_maps = { "spaccc-es" = {} }`` (docs/benchmark.md) means "no renaming on
    that dataset": it was dropped on reading, so the global label_map applied there."""
    path = tmp_path / "maps.toml"
    path.write_text(
        """
datasets = ["ncbi-disease", "spaccc-es"]

[[taggers]]
name = "m"
kind = "predictions"
path = "preds"
label_map = { DISEASE = "condition" }
dataset_label_maps = { "spaccc-es" = {} }
""",
        "utf-8",
    )
    (tagger,) = BenchmarkConfig.load(path).taggers
    assert tagger.dataset_label_maps == {"spaccc-es": {}}
    assert tagger.label_map_for("spaccc-es") == {}
    assert tagger.label_map_for("ncbi-disease") == {"DISEASE": "condition"}


def test_a_label_map_for_a_dataset_the_benchmark_lacks_is_an_error() -> None:
    """A misspelt dataset name would leave the global label_map in force without a word."""
    data = {
        "datasets": ["spaccc-es"],
        "taggers": [{"name": "m", "kind": "lexicon", "dataset_label_maps": {"spacc-es": {}}}],
    }
    with pytest.raises(ConfigError, match="dataset_label_maps names no dataset of this benchmark: spacc-es"):
        BenchmarkConfig.from_dict(data)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[benchmark\nname = 1\n", "utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        BenchmarkConfig.load(path)
    with pytest.raises(ConfigError, match="not found"):
        BenchmarkConfig.load(tmp_path / "absent.toml")


def test_tokenizer_paths_resolve_against_the_config_and_export_is_opt_in(tmp_path: Path) -> None:
    (tmp_path / "tok").mkdir()
    (tmp_path / "tok" / "tokenizer.json").write_text("{}", "utf-8")
    data = {
        "taggers": [
            {"name": "a", "kind": "predictions", "path": "p", "tokenize": "tok/tokenizer.json"},
            {"name": "b", "kind": "predictions", "path": "p", "tokenize": "re:\\S+"},
            {"name": "c", "kind": "predictions", "path": "p", "tokenize": "org/some-hub-model"},
            {"name": "d", "kind": "predictions", "path": "p", "tokenize": "gliner"},
        ],
        "datasets": ["ncbi-disease"],
    }
    cfg = BenchmarkConfig.from_dict(data, base=tmp_path)
    assert [t.tokenize for t in cfg.taggers] == [
        str(tmp_path / "tok" / "tokenizer.json"),
        "re:\\S+",
        "org/some-hub-model",
        "gliner",
    ]
    assert cfg.export is False  # the exported JSONL holds note text: opt-in
    assert BenchmarkConfig.from_dict({**data, "benchmark": {"export": True}}, base=tmp_path).export is True
