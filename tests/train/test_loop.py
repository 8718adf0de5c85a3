"""Training on tiny random encoders built in the test: no network, seconds per test."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from safetensors.numpy import load_file

from clinicalner.document import Document
from clinicalner.sample_notes import load_examples, parse_marked
from clinicalner.train.config import TrainConfig
from clinicalner.train.loop import checkpoint_dir, train_model
from tiny_training import THREE, crash_then_resume, tiny_config, tiny_encoder


@pytest.fixture(scope="module", params=["wordpiece", "unigram"])
def encoder(request, tmp_path_factory) -> Path:
    return tiny_encoder(tmp_path_factory.mktemp(request.param), request.param)


def _config(out: Path, encoder: Path, **kw) -> TrainConfig:
    return tiny_config(out, encoder, **kw)


def test_loss_goes_down(encoder, tmp_path):
    result = train_model(
        _config(tmp_path / "m", encoder, epochs=6), train_docs=[load_examples("train")], progress=False
    )
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0] * 0.8
    saved = tmp_path / "m"
    assert (saved / "model.safetensors").is_file() and (saved / "clinicalner.json").is_file()
    assert "epochs = 6" in (saved / "train_config.toml").read_text()


@pytest.mark.parametrize(
    ("native", "mixed", "expected"), [(True, True, "bf16"), (False, True, "fp32"), (True, False, "fp32")]
)
def test_mixed_precision_uses_bf16_only_where_native(encoder, tmp_path, monkeypatch, native, mixed, expected):
    from clinicalner.model import precision

    monkeypatch.setattr(precision, "native_bf16", lambda device: native)
    seen: set[str] = set()
    real = precision.autocast

    def spy(kind: str, device: str):
        seen.add(kind)
        return real(kind, device)

    monkeypatch.setattr(precision, "autocast", spy)
    result = train_model(
        _config(tmp_path / "m", encoder, epochs=4, mixed_precision=mixed),
        train_docs=[load_examples("train")],
        progress=False,
    )
    assert seen == {expected}
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0] * 0.8


@pytest.mark.parametrize("crf", [False, True])
def test_overfit_three_documents_tags_them_back(encoder, tmp_path, crf):
    from clinicalner.predict.engine import TransformerTagger

    cfg = _config(
        tmp_path / "m", encoder, epochs=60, batch_size=3, crf=crf, class_weights="none", postprocess=False
    )
    result = train_model(cfg, train_docs=[THREE], dev_docs=THREE, progress=False)
    assert result.best_f1 == 1.0
    tagged = list(TransformerTagger(result.output, postprocess=False).tag(THREE))
    for gold, pred in zip(THREE, tagged, strict=True):
        assert [s.key for s in pred.sorted_spans()] == [s.key for s in gold.sorted_spans()]
        for s in pred.spans:
            assert s.text == pred.text[s.start : s.end]
            assert 0.0 < s.score <= 1.0


def test_resume_gives_the_same_model(encoder, tmp_path):
    docs = [load_examples("train")]
    full = train_model(_config(tmp_path / "full", encoder, epochs=3), train_docs=docs, progress=False)

    resumed = crash_then_resume(lambda out: _config(out, encoder, epochs=3), tmp_path / "resumed", docs)
    a = load_file(str(full.output / "model.safetensors"))
    b = load_file(str(resumed.output / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert (a[key] == b[key]).all(), key
    assert not checkpoint_dir(resumed.output).exists()


def test_masked_types_do_not_train_as_negatives(encoder, tmp_path):
    """A SYMPTOM-only document must not teach the DISEASE head that its diseases are O."""
    from clinicalner.train.examples import merge_documents

    text = "Paciente con fiebre y neumonía."
    sym = Document("d1", text, [], "es", frozenset({"SYMPTOM"}))
    sym.spans.append(sym.check_span(parse_marked("Paciente con [fiebre]{SYMPTOM} y neumonía.", "x").spans[0]))
    dis = Document(
        "d1",
        text,
        [parse_marked("Paciente con fiebre y [neumonía]{DISEASE}.", "x").spans[0]],
        "es",
        frozenset({"DISEASE"}),
    )
    merged = merge_documents([sym, dis])
    assert len(merged) == 1
    assert merged[0].annotated_labels == frozenset({"SYMPTOM", "DISEASE"})
    assert sorted(s.label for s in merged[0].spans) == ["DISEASE", "SYMPTOM"]


def test_config_round_trips_through_toml(tmp_path):
    # absolute paths: relative ones are read from the config's folder (tests/train/test_config.py)
    corpora = [str(tmp_path / "a"), str(tmp_path / "b")]
    cfg = TrainConfig(corpora=corpora, labels=["DISEASE"], corpus_weights=[1.0, 0.5], crf=True)
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml())
    assert TrainConfig.load(path) == cfg


def test_span_centred_windows_centre_each_span(encoder):
    from transformers import AutoTokenizer

    from clinicalner.model.config import SCHEME_TAGS
    from clinicalner.model.inputs import encode_documents, special_ids
    from clinicalner.model.subword_windows import span_token_ranges
    from clinicalner.train.examples import build_examples

    doc = load_examples("train")[0]
    tok = AutoTokenizer.from_pretrained(encoder)
    (enc,) = encode_documents([doc], tok)
    spans = span_token_ranges(enc)
    assert len(spans) == len(doc.spans)
    for (a, b), s in zip(spans, doc.sorted_spans(), strict=True):
        assert enc.offsets[a, 0] <= s.start < enc.offsets[b - 1, 1] and s.end <= enc.offsets[b - 1, 1]
    examples = build_examples(
        [enc],
        ["DISEASE", "SYMPTOM", "PROCEDURE"],
        "BIO",
        SCHEME_TAGS["BIO"],
        max_length=16,
        stride=8,
        windows="span_centred",
        label_strategy="first",
        specials=special_ids(tok),
    )
    assert 1 <= len(examples) <= len(doc.spans)
    assert all(len(ex.ids) <= 16 for ex in examples)
    # Every example holds at least one B tag: windows are built around mentions.
    assert all((ex.labels == 1).any() for ex in examples)


def test_resume_refuses_a_checkpoint_of_another_run(encoder, tmp_path):
    docs = [load_examples("train")]

    class Crash(RuntimeError):
        pass

    def crash(epoch: int, metrics: dict) -> None:
        raise Crash

    out = tmp_path / "m"
    with pytest.raises(Crash):
        train_model(_config(out, encoder, epochs=2), train_docs=docs, progress=False, on_epoch=crash)
    assert checkpoint_dir(out).is_dir()
    with pytest.raises(ValueError, match="learning_rate"):
        train_model(
            _config(out, encoder, epochs=2, learning_rate=1e-4), train_docs=docs, progress=False, resume=True
        )
    with pytest.raises(ValueError, match="training data differ"):
        train_model(_config(out, encoder, epochs=2), train_docs=[docs[0][:3]], progress=False, resume=True)


def test_output_that_is_not_a_model_folder_is_refused(encoder, tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        train_model(_config(project, encoder, epochs=1), train_docs=[THREE], progress=False)
    assert (project / "notes.txt").read_text() == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    with pytest.raises(FileExistsError, match="current folder"):
        train_model(_config(Path("."), encoder, epochs=1), train_docs=[THREE], progress=False)
    with pytest.raises(FileExistsError, match="is a file"):
        train_model(_config(project / "notes.txt", encoder, epochs=1), train_docs=[THREE], progress=False)


@pytest.mark.parametrize(("max_length", "stride"), [(64, 0), (64, 63), (4, 2)])
def test_config_rejects_impossible_windows(max_length, stride):
    with pytest.raises(ValueError):
        TrainConfig(max_length=max_length, stride=stride)


@pytest.mark.parametrize("scheme", ["BIO", "BIOES"])
def test_crf_loss_stays_finite_on_windows_cut_inside_mentions(encoder, scheme):
    """Cut windows start inside mentions; their gold paths must be valid CRF paths."""
    import torch
    from transformers import AutoTokenizer

    from clinicalner.model.config import SCHEME_TAGS, ModelConfig
    from clinicalner.model.inputs import encode_documents, special_ids
    from clinicalner.model.loss import joint_loss
    from clinicalner.model.store import build_model
    from clinicalner.tag_sequences.decode import is_valid
    from clinicalner.train.examples import build_examples, collate

    labels = ["DISEASE", "SYMPTOM", "PROCEDURE"]
    tags = SCHEME_TAGS[scheme]
    long_mention = parse_marked(
        "El paciente presenta [dolor torácico opresivo irradiado al brazo izquierdo con sudoración]{SYMPTOM} hoy.",
        "long",
        "es",
    )
    tok = AutoTokenizer.from_pretrained(encoder)
    encoded = encode_documents([long_mention, *load_examples("train")], tok)
    examples = build_examples(
        encoded,
        labels,
        scheme,
        tags,
        max_length=8,
        stride=3,
        windows="sliding",
        label_strategy="first",
        specials=special_ids(tok),
    )
    cut = 0
    for ex in examples:
        for t in range(len(labels)):
            col = ex.word_labels[:, t]
            if (col >= 0).all() and col.size:
                assert is_valid([tags[i] for i in col], scheme)
                cut += tags[col[0]] != "O"
    assert cut > 0  # some windows do start inside a mention
    torch.manual_seed(0)
    model, _ = build_model(
        ModelConfig(labels=labels, scheme=scheme, crf=True, max_length=8, stride=3), str(encoder)
    )
    batch = {k: torch.from_numpy(v) for k, v in collate(examples[:16], special_ids(tok)[2]).items()}
    with torch.no_grad():
        loss = joint_loss(model, model(batch["input_ids"], batch["attention_mask"]), batch)
    assert float(loss) < 100.0  # one forbidden transition would add about 10 000


def test_documents_annotating_no_trained_label_make_no_windows(encoder):
    """A SYMPTOM-only document, training DISEASE: an all-zero type mask teaches nothing."""
    from dataclasses import replace

    from transformers import AutoTokenizer

    from clinicalner.model.config import SCHEME_TAGS
    from clinicalner.model.inputs import encode_documents, special_ids
    from clinicalner.train.examples import build_examples

    dis = parse_marked("The patient had [pneumonia]{DISEASE} and cough.", "d1", "en")
    sym = replace(
        parse_marked("Paciente con [fiebre]{SYMPTOM} y tos.", "s1", "es"),
        annotated_labels=frozenset({"SYMPTOM"}),
    )
    tok = AutoTokenizer.from_pretrained(encoder)
    examples = build_examples(
        encode_documents([dis, sym], tok),
        ["DISEASE"],
        "BIO",
        SCHEME_TAGS["BIO"],
        max_length=64,
        stride=48,
        windows="sliding",
        label_strategy="first",
        specials=special_ids(tok),
    )
    assert len(examples) == 1
    assert all(ex.type_mask.any() for ex in examples)


def test_training_one_label_skips_documents_that_do_not_annotate_it(encoder, tmp_path):
    """Per-type training on MultiClinAI-like data: a batch of SYMPTOM-only documents crashed
    ``backward()`` ('element 0 of tensors does not require grad')."""
    from dataclasses import replace

    docs = [
        parse_marked("The patient had [pneumonia]{DISEASE} and cough.", "d1", "en"),
        replace(
            parse_marked("Paciente con [fiebre]{SYMPTOM} y tos.", "s1", "es"),
            annotated_labels=frozenset({"SYMPTOM"}),
        ),
    ]
    result = train_model(
        _config(tmp_path / "m", encoder, labels=["DISEASE"], batch_size=1, epochs=1),
        train_docs=[docs],
        progress=False,
    )
    assert result.history[0]["step"] == 1  # one window: the DISEASE document's
    with pytest.raises(ValueError, match="no training document annotates"):
        train_model(
            _config(tmp_path / "n", encoder, labels=["DISEASE"], epochs=1),
            train_docs=[docs[1:]],
            progress=False,
        )


def test_cuda_collate_pads_to_64_and_the_loss_does_not_change(encoder):
    """Training batches on CUDA are padded to multiples of 64 subwords (few cuDNN shapes);
    the pad positions carry no label and no attention, so the loss is the same."""
    import torch
    from transformers import AutoTokenizer

    from clinicalner.model.config import SCHEME_TAGS, ModelConfig
    from clinicalner.model.inputs import encode_documents, special_ids
    from clinicalner.model.loss import joint_loss
    from clinicalner.model.store import build_model
    from clinicalner.train.examples import build_examples, collate

    labels = ["DISEASE", "SYMPTOM", "PROCEDURE"]
    tok = AutoTokenizer.from_pretrained(encoder)
    examples = build_examples(
        encode_documents(load_examples("train")[:4], tok),
        labels,
        "BIO",
        SCHEME_TAGS["BIO"],
        max_length=200,
        stride=60,
        windows="sentence",
        label_strategy="first",
        specials=special_ids(tok),
    )[:4]
    pad = special_ids(tok)[2]
    cpu = collate(examples, pad, "cpu", 200)
    cuda = collate(examples, pad, "cuda:0", 200)
    longest = max(len(ex.ids) for ex in examples)
    padded = cuda["input_ids"].shape[1]
    assert cpu["input_ids"].shape[1] == longest
    assert padded % 64 == 0 and longest < padded < longest + 64
    assert cuda["attention_mask"].sum() == cpu["attention_mask"].sum()
    torch.manual_seed(0)
    for crf in (False, True):
        model, _ = build_model(ModelConfig(labels=labels, crf=crf, max_length=200, stride=60), str(encoder))
        model.eval()
        with torch.no_grad():
            losses = [
                float(joint_loss(model, model(b["input_ids"], b["attention_mask"]), b))
                for b in ({k: torch.from_numpy(v) for k, v in arrays.items()} for arrays in (cpu, cuda))
            ]
        assert losses[0] == pytest.approx(losses[1], rel=1e-5)


def test_crf_run_warns_about_settings_it_ignores(encoder, tmp_path, caplog):
    import logging

    cfg = _config(tmp_path / "m", encoder, epochs=1, crf=True, label_strategy="all", class_weights="inverse")
    with caplog.at_level(logging.WARNING, logger="clinicalner.train.loop"):
        train_model(cfg, train_docs=[THREE], progress=False)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2 and "label_strategy" in warned[0] and "class_weights" in warned[1]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="clinicalner.train.loop"):
        train_model(_config(tmp_path / "n", encoder, epochs=1, crf=True), train_docs=[THREE], progress=False)
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_saved_config_records_the_run_and_still_works_as_a_config(encoder, tmp_path):
    """train_config.toml describes the run ([run]: best epoch, dev F1, data fingerprint,
    versions, date) and is reusable as ``--config``: the [run] table is not a setting."""
    import json
    import tomllib

    import torch

    import clinicalner

    cfg = _config(tmp_path / "m", encoder, epochs=2, labels=["DISEASE", "SYMPTOM", "PROCEDURE"])
    result = train_model(cfg, train_docs=[THREE], dev_docs=THREE, progress=False)
    saved = tmp_path / "m" / "train_config.toml"
    run = tomllib.loads(saved.read_text())["run"]
    provenance = json.loads((tmp_path / "m" / "provenance.json").read_text())
    assert (
        run["best_epoch"]
        == result.best_epoch
        == json.loads((tmp_path / "m" / "metrics.json").read_text())["best_epoch"]
    )
    assert run[f"best_{run['selected_on']}_strict_f1"] == result.best_f1
    assert run["data_fingerprint"] == provenance["data_fingerprint"]
    assert (run["clinicalner_version"], run["torch_version"]) == (clinicalner.__version__, torch.__version__)
    assert run["transformers_version"] == provenance["versions"]["transformers"]
    assert run["date"][:2] == "20" and run["date"].endswith("+00:00")
    loaded = TrainConfig.load(saved)
    assert loaded == cfg
    again = train_model(
        loaded.replace(output=str(tmp_path / "again"), epochs=1), train_docs=[THREE], progress=False
    )
    assert again.best_epoch == 1


def test_missing_gpu_and_mistyped_encoder_fail_first_in_one_line(tmp_path, monkeypatch):
    """Checked before the corpora are read (the corpus here does not even exist)."""
    import time

    import torch

    from clinicalner.encoders import build as build_module

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    missing = str(tmp_path / "no-such-corpus")
    cfg = TrainConfig(output=str(tmp_path / "m"), corpora=[missing], device="cuda")
    with pytest.raises(ValueError, match="device 'cuda' asked for"):
        train_model(cfg, progress=False)
    monkeypatch.setattr(build_module, "hub_reachable", lambda: False)
    t0 = time.perf_counter()
    cfg = TrainConfig(output=str(tmp_path / "m"), corpora=[missing], base_model="multilingual-e5-smal")
    with pytest.raises(FileNotFoundError, match="did you mean 'multilingual-e5-small'"):
        train_model(cfg, progress=False)
    cfg = TrainConfig(output=str(tmp_path / "m"), corpora=[missing], base_model="org/not-cached-here")
    with pytest.raises(FileNotFoundError, match="hub is unreachable"):
        train_model(cfg, progress=False)
    assert time.perf_counter() - t0 < 10


def test_resume_without_a_checkpoint(encoder, tmp_path, caplog):
    """A finished run deleted its checkpoint: --resume must not retrain it from zero silently."""
    import logging

    out = tmp_path / "m"
    train_model(_config(out, encoder, epochs=1), train_docs=[THREE], progress=False)
    before = (out / "model.safetensors").read_bytes()
    with pytest.raises(FileExistsError, match=r"nothing to resume.*holds a finished model"):
        train_model(_config(out, encoder, epochs=2), train_docs=[THREE], progress=False, resume=True)
    assert (out / "model.safetensors").read_bytes() == before
    # a new output: nothing to lose, it says so and starts fresh
    with caplog.at_level(logging.WARNING, logger="clinicalner.train.loop"):
        result = train_model(
            _config(tmp_path / "new", encoder, epochs=1), train_docs=[THREE], progress=False, resume=True
        )
    assert result.best_epoch == 1
    assert any("starting fresh" in r.getMessage() for r in caplog.records)


def test_epoch_lines_stay_whole_when_output_goes_to_a_file():
    import io

    from rich.console import Console

    from clinicalner.train.loop import _epoch_line, print_line

    metrics = {
        "epoch": 3,
        "loss": 0.1234,
        "dev_strict_f1": 0.5,
        **{f"dev_{label}_f1": 0.25 for label in ("DISEASE", "SYMPTOM", "PROCEDURE", "[bold]X")},
        "train_tokens_per_second": 1234.5,
    }
    out = io.StringIO()
    print_line(Console(file=out, width=40), _epoch_line(metrics))  # a file: rich would wrap at its width
    assert out.getvalue().count("\n") == 1
    assert out.getvalue().strip() == _epoch_line(metrics)  # and no markup eaten ("[bold]X")


def test_frozen_embeddings_are_left_in_the_base_encoder(encoder, tmp_path):
    import json

    from clinicalner.model.store import BASE_EMBEDDINGS, load_model

    out = tmp_path / "m"
    train_model(
        _config(out, encoder, epochs=1, freeze_embeddings=True),
        train_docs=[load_examples("train")],
        progress=False,
    )
    record = json.loads((out / BASE_EMBEDDINGS).read_text(encoding="utf-8"))
    assert record["base_model"] == str(encoder) and Path(record["base_folder"]) == encoder.resolve()
    model, _ = load_model(out)  # the matrix comes back from the base, hash-checked
    emb = model.encoder.get_input_embeddings().weight
    assert list(emb.shape) == record["shape"]


def test_freeze_layers_keeps_the_embeddings_and_lowest_layers_as_the_base(encoder, tmp_path):
    """--freeze-layers 1: the embeddings and the first transformer layer come back unchanged
    from training, the layer above them has moved."""
    import torch
    from transformers import AutoModel

    from clinicalner.model.store import load_model

    out = tmp_path / "m"
    train_model(
        _config(out, encoder, epochs=2, freeze_layers=1), train_docs=[load_examples("train")], progress=False
    )
    base = AutoModel.from_pretrained(str(encoder)).state_dict()
    trained = load_model(out)[0].encoder.state_dict()
    frozen = [k for k in base if k.startswith(("embeddings.", "encoder.layer.0."))]
    moved = [k for k in base if k.startswith("encoder.layer.1.") and k.endswith("weight")]
    assert frozen and moved
    assert all(torch.equal(base[k], trained[k]) for k in frozen)
    assert any(not torch.equal(base[k], trained[k]) for k in moved)
    assert "freeze_layers = 1" in (out / "train_config.toml").read_text()


def test_freeze_layers_beyond_the_encoder_is_an_error(encoder, tmp_path):
    with pytest.raises(ValueError, match="freeze_layers must be between 0 and"):
        train_model(_config(tmp_path / "m", encoder, freeze_layers=99), train_docs=[THREE], progress=False)
    with pytest.raises(ValueError, match="freeze_layers must be 0"):
        _config(tmp_path / "m", encoder, freeze_layers=-1)
