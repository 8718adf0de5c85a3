"""The tagging engine on long documents: windows, pooling, batching and offsets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from clinicalner.document import Document  # noqa: E402
from clinicalner.encoders.tiny import build_tiny_encoder  # noqa: E402
from clinicalner.model.config import ModelConfig  # noqa: E402
from clinicalner.model.inputs import encode_documents  # noqa: E402
from clinicalner.model.store import build_model, load_model, save_model  # noqa: E402
from clinicalner.predict.engine import TransformerTagger  # noqa: E402

LONG = (
    "Paciente de 45 años con fiebre 🤒 y dolor torácico.\r\n"
    "Señora Ångström: diabetes mellitus tipo 2, HbA1c 7,5 %; p.ej. insulina i.v.\r\n\r\n"
    "Tras la ecografía\tabdominal se halló colecistitis aguda 𝒜𝒷𝒸. Café, naïve, Ž, Český.\r\n"
) * 6


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("engine")
    enc = build_tiny_encoder(root / "enc", "unigram", vocab_from=[LONG])
    torch.manual_seed(0)
    config = ModelConfig(labels=["DISEASE", "SYMPTOM"], max_length=24, stride=10)
    model, tok = build_model(config, str(enc))
    with torch.no_grad():  # make the random heads predict some entities
        for head in model.heads:
            head[-1].bias.copy_(torch.tensor([0.0, 0.3, 0.2]))
    return save_model(model, tok, root / "model")


def test_saved_model_loads_identically(model_dir):
    model, _ = load_model(model_dir)
    again, _ = load_model(model_dir)
    for (ka, a), (kb, b) in zip(model.state_dict().items(), again.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(a, b)
    assert not any(p.name.endswith((".bin", ".pt", ".pkl")) for p in model_dir.iterdir())


def test_long_document_offsets_are_exact(model_dir):
    tagger = TransformerTagger(model_dir, postprocess=False)
    doc = Document("long", LONG, language="es")
    (out,) = list(tagger.tag([doc]))
    assert out.spans, "the biased heads should predict something"
    for s in out.spans:
        assert 0 <= s.start < s.end <= len(LONG)
        assert s.text == LONG[s.start : s.end]
        assert not s.text[0].isspace() and not s.text[-1].isspace()


def test_pooled_logits_equal_window_by_window_average(model_dir):
    tagger = TransformerTagger(model_dir, postprocess=False, device="cpu", precision="fp32")
    (enc,) = encode_documents([Document("long", LONG)], tagger.tokenizer)
    (pooled,) = tagger.subword_logits([enc])
    cls_id, sep_id, _ = tagger._specials
    size, stride = 22, 10
    n = enc.n_subwords
    assert n > 3 * size
    total = np.zeros_like(pooled)
    count = np.zeros(n)
    starts = list(range(0, n - size + 1, stride))
    if starts[-1] != n - size:
        starts.append(n - size)
    with torch.no_grad():
        for a in starts:
            ids = torch.tensor([[cls_id, *enc.ids[a : a + size].tolist(), sep_id]])
            em = tagger.model(ids, torch.ones_like(ids))[0, 1:-1].numpy()
            total[a : a + size] += em
            count[a : a + size] += 1
    assert np.allclose(pooled, total / count[:, None, None], atol=1e-4)


def test_batching_does_not_change_results(model_dir):
    tagger = TransformerTagger(model_dir, postprocess=False, batch_tokens=10_000)
    docs = [Document(f"d{i}", LONG[: 40 + 97 * i]) for i in range(6)]
    together = list(tagger.tag(docs))
    alone = [
        next(iter(TransformerTagger(model_dir, postprocess=False, batch_tokens=24).tag([d]))) for d in docs
    ]
    for a, b in zip(together, alone, strict=True):
        assert [s.key for s in a.spans] == [s.key for s in b.spans]


def test_cuda_padding_to_64_does_not_change_results(model_dir, monkeypatch):
    """On CUDA batches are padded to multiples of 64 subwords; the pad positions are masked,
    so logits and spans are those of dynamic padding. Run on the CPU with CUDA's rule."""
    from clinicalner.model import inputs
    from clinicalner.predict import engine

    docs = [Document(f"d{i}", LONG[: 40 + 97 * i], language="es") for i in range(6)]
    tagger = TransformerTagger(model_dir, postprocess=False, device="cpu", precision="fp32", max_length=100)
    encoded = encode_documents(docs, tagger.tokenizer)
    plain = tagger.subword_logits(encoded)
    spans = [[s.key for s in d.spans] for d in tagger.tag(docs)]
    lengths: list[int] = []
    real = inputs.padded_length

    def as_on_cuda(n: int, device: str, limit: int | None = None) -> int:
        out = real(n, "cuda", limit)
        lengths.append(out)
        return out

    monkeypatch.setattr(engine, "padded_length", as_on_cuda)
    padded = tagger.subword_logits(encoded)
    assert lengths and set(lengths) <= {64, 100}  # rounded up to 64, or the window length
    for a, b in zip(plain, padded, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert [[s.key for s in d.spans] for d in tagger.tag(docs)] == spans


def test_words_inside_a_previous_piece_never_start_a_span(model_dir):
    tagger = TransformerTagger(model_dir, postprocess=False)
    (enc,) = encode_documents([Document("x", LONG)], tagger.tokenizer)
    scores = tagger.word_scores([enc])[0]
    b = tagger.tags.index("B")
    shared = enc.word_shared
    if shared.any():
        assert (scores[shared][:, :, b] <= -1e3).all()
    uncovered = enc.word_sub < 0
    o = tagger.tags.index("O")
    assert (scores[uncovered][:, :, o] == 0).all()


def test_empty_and_whitespace_documents(model_dir):
    tagger = TransformerTagger(model_dir)
    out = list(tagger.tag([Document("e", ""), Document("w", " \r\n\t ")]))
    assert [d.spans for d in out] == [[], []]


def test_int8_quantised_tagging_stays_close(model_dir):
    full = TransformerTagger(model_dir, postprocess=False, device="cpu", precision="fp32")
    small = TransformerTagger(model_dir, postprocess=False, device="cpu", quantize=True)
    assert "Quantized" in type(small.model.encoder.encoder.layer[0].attention.self.query).__name__ or any(
        "quantized" in type(m).__module__ for m in small.model.encoder.modules()
    )
    (enc,) = encode_documents([Document("long", LONG)], full.tokenizer)
    a = full.subword_logits([enc])[0]
    b = small.subword_logits([enc])[0]
    assert np.abs(a - b).max() < 0.1 * np.abs(a).max()
    (out,) = list(small.tag([Document("long", LONG)]))
    assert all(s.text == LONG[s.start : s.end] for s in out.spans)


@pytest.fixture(scope="module")
def sentence_model_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("engine-sentence")
    enc = build_tiny_encoder(root / "enc", "unigram", vocab_from=[LONG])
    torch.manual_seed(0)
    config = ModelConfig(labels=["DISEASE", "SYMPTOM"], max_length=128, stride=60, windows="sentence")
    model, tok = build_model(config, str(enc))
    with torch.no_grad():
        for head in model.heads:
            head[-1].bias.copy_(torch.tensor([0.0, 0.3, 0.2]))
    return save_model(model, tok, root / "model")


def test_tagging_cuts_windows_the_way_the_model_was_trained(sentence_model_dir, model_dir):
    from clinicalner.model.subword_windows import sentence_token_ranges

    tagger = TransformerTagger(sentence_model_dir, postprocess=False, device="cpu", precision="fp32")
    assert tagger.windows == "sentence"
    assert TransformerTagger(model_dir).windows == "sliding"  # saved without the field: as before
    assert TransformerTagger(sentence_model_dir, windows="sliding").windows == "sliding"
    with pytest.raises(ValueError, match="windows"):
        TransformerTagger(sentence_model_dir, windows="span_centred")
    (enc,) = encode_documents([Document("long", LONG, language="es")], tagger.tokenizer)
    starts = {a for a, _ in sentence_token_ranges(enc)}
    (pooled,) = tagger.subword_logits([enc])
    # Every window starts on a sentence; no subword goes through the encoder twice.
    from clinicalner.model.subword_windows import window_ranges

    wins = window_ranges(enc, 126, 60, "sentence")
    assert len(wins) > 3 and all(a in starts for a, _ in wins)
    assert tagger.tokens_seen == enc.n_subwords + 2 * len(wins)
    with torch.no_grad():
        a, b = wins[1]
        ids = torch.tensor([[tagger._specials[0], *enc.ids[a:b].tolist(), tagger._specials[1]]])
        alone = tagger.model(ids, torch.ones_like(ids))[0, 1:-1].numpy()
    assert np.allclose(pooled[a:b], alone.reshape(pooled[a:b].shape), atol=1e-4)
    (out,) = list(tagger.tag([Document("long", LONG, language="es")]))
    assert out.spans and all(s.text == LONG[s.start : s.end] for s in out.spans)


def test_model_config_reads_old_files_and_rejects_unknown_windows():
    old = ModelConfig.from_dict({"labels": ["X"], "max_length": 64})
    assert (old.windows, old.tagging_windows) == ("sliding", "sliding")
    assert ModelConfig(labels=["X"], windows="span_centred").tagging_windows == "sentence"
    with pytest.raises(ValueError, match="windows"):
        ModelConfig(labels=["X"], windows="paragraph")


def test_a_device_that_is_not_there_is_one_clear_error(model_dir, monkeypatch):
    """torch would fail later, inside model.to, with an AssertionError and a traceback."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device 'cuda' asked for, but .*use --device cpu or auto"):
        TransformerTagger(model_dir, device="cuda")
    with pytest.raises(ValueError, match=r"device 'cuda:1' asked for"):
        TransformerTagger(model_dir, device="cuda:1")
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        TransformerTagger(model_dir, device="gpu")


def test_cli_predict_on_a_missing_gpu_exits_2_with_one_line(model_dir, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from clinicalner.cli import app

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("Fiebre alta.", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "predict",
            str(model_dir),
            str(tmp_path / "notes"),
            "-o",
            str(tmp_path / "p.tsv"),
            "--device",
            "cuda",
        ],
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "AssertionError" not in result.output
    assert result.output.count("\n") == 1 and "device 'cuda' asked for" in result.output


def test_device_check_counts_the_gpus(monkeypatch):
    """On a GPU machine: cuda and cuda:0 pass, an index past the GPUs torch sees does not."""
    from clinicalner.predict.engine import check_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    check_device("cuda")
    check_device("cuda:0")
    check_device("cpu")
    with pytest.raises(ValueError, match=r"device 'cuda:3' asked for, but torch sees 1 GPU\(s\)"):
        check_device("cuda:3")


def test_batched_crf_decoding_gives_the_step_by_step_spans(tmp_path):
    """``tag`` decodes a chunk's CRF sequences in one batch; the spans are those of per-document Viterbi."""
    enc_dir = build_tiny_encoder(tmp_path / "enc", "unigram", vocab_from=[LONG])
    torch.manual_seed(1)
    config = ModelConfig(labels=["DISEASE", "SYMPTOM"], max_length=24, stride=10, crf=True)
    model, tok = build_model(config, str(enc_dir))
    with torch.no_grad():
        for head in model.heads:
            head[-1].bias.copy_(torch.tensor([0.0, 0.4, 0.3]))
        for crf in model.crfs:
            crf.transitions.normal_()
    model.eval()
    tagger = TransformerTagger(model, tok, postprocess=False, device="cpu", precision="fp32")
    tagger.chunk_documents = 5
    docs = [Document(f"d{i}", LONG[: 40 + 97 * i]) for i in range(12)] + [Document("empty", "")]
    batched = list(tagger.tag(docs))
    encoded = encode_documents(docs, tagger.tokenizer)
    one_by_one = [tagger.decode(e, s) for e, s in zip(encoded, tagger.word_scores(encoded), strict=True)]
    assert any(d.spans for d in batched)
    assert [d.spans for d in batched] == one_by_one
    # A tiny position budget splits the chunk into many groups: same spans.
    scores = tagger.word_scores(encoded)
    crf = tagger.crf_numpy()
    small = tagger.crf_paths(scores, crf, max_positions=50)
    large = tagger.crf_paths(scores, crf)
    assert all(np.array_equal(a, b) for a, b in zip(small, large, strict=True))


def test_one_sentence_windows_give_each_sentence_its_own_pass(sentence_model_dir):
    from clinicalner.model.subword_windows import sentence_token_ranges, window_ranges

    tagger = TransformerTagger(
        sentence_model_dir, postprocess=False, device="cpu", precision="fp32", windows="one-sentence"
    )
    doc = Document("long", LONG, language="es")
    (enc,) = encode_documents([doc], tagger.tokenizer)
    sentences = sentence_token_ranges(enc)
    wins = window_ranges(enc, 126, 60, "one-sentence")
    assert len(wins) > len(window_ranges(enc, 126, 60, "sentence"))
    assert all(w in sentences for w in wins if w[1] - w[0] <= 126)
    (pooled,) = tagger.subword_logits([enc])
    with torch.no_grad():
        a, b = wins[2]
        ids = torch.tensor([[tagger._specials[0], *enc.ids[a:b].tolist(), tagger._specials[1]]])
        alone = tagger.model(ids, torch.ones_like(ids))[0, 1:-1].numpy()
    assert np.allclose(pooled[a:b], alone.reshape(pooled[a:b].shape), atol=1e-4)
    (out,) = list(tagger.tag([doc]))
    assert all(s.text == LONG[s.start : s.end] for s in out.spans)
