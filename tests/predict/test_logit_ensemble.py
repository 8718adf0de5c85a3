"""Logit averaging over models that share a tokenizer."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from clinicalner.document import Document  # noqa: E402
from clinicalner.encoders.tiny import build_tiny_encoder  # noqa: E402
from clinicalner.model.config import ModelConfig  # noqa: E402
from clinicalner.model.inputs import encode_documents  # noqa: E402
from clinicalner.model.store import build_model, save_model  # noqa: E402
from clinicalner.predict.engine import TransformerTagger  # noqa: E402
from clinicalner.predict.logit_ensemble import LogitEnsembleTagger  # noqa: E402

TEXT = "Paciente con fiebre alta, tos y dolor torácico tras la cirugía 🤒.\r\nNiega disnea." * 3


def _model(root, enc, seed, crf=False):
    torch.manual_seed(seed)
    model, tok = build_model(
        ModelConfig(labels=["SYMPTOM", "DISEASE"], crf=crf, max_length=32, stride=20), str(enc)
    )
    with torch.no_grad():
        for head in model.heads:
            head[-1].bias.copy_(torch.tensor([0.0, 0.4, 0.3]))
    return save_model(model, tok, root / f"m{seed}{'crf' if crf else ''}")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("logit")
    enc = build_tiny_encoder(root / "enc", "unigram", vocab_from=[TEXT])
    return root, enc, [_model(root, enc, s) for s in (1, 2, 3)]


def test_average_of_one_model_twice_equals_the_model(models):
    _, _, (a, _, _) = models
    single = TransformerTagger(a, postprocess=False)
    pair = LogitEnsembleTagger([a, a], postprocess=False)
    doc = Document("d", TEXT)
    assert [s.key for s in next(pair.tag([doc])).spans] == [s.key for s in next(single.tag([doc])).spans]


def test_average_is_the_mean_of_member_probabilities(models):
    _, _, paths = models
    ens = LogitEnsembleTagger(paths, postprocess=False)
    (enc,) = encode_documents([Document("d", TEXT)], ens.members[0].tokenizer)
    member = [m.word_scores([enc])[0] for m in ens.members]
    expected = np.log(np.maximum(np.mean([np.exp(s) for s in member], axis=0), 1e-12))
    assert np.allclose(ens.average(member), expected, atol=1e-5)
    out = next(ens.tag([Document("d", TEXT)]))
    assert all(s.text == TEXT[s.start : s.end] for s in out.spans)


def test_mismatched_members_are_refused(models):
    root, enc, paths = models
    with pytest.raises(ValueError, match=r"CRF True vs False.*use span voting"):
        LogitEnsembleTagger([paths[0], _model(root, enc, 9, crf=True)])
    other = build_tiny_encoder(root / "enc2", "wordpiece", vocab_from=[TEXT])
    with pytest.raises(ValueError, match="tokenizer"):
        LogitEnsembleTagger([paths[0], _model(root, other, 4)])


def test_predict_with_an_ensemble_folder(models, tmp_path):
    import json

    from clinicalner import api
    from clinicalner.io import read_corpus

    _, _, paths = models
    folder = tmp_path / "ens"
    folder.mkdir()
    (folder / "ensemble.json").write_text(json.dumps({"models": [str(p) for p in paths]}))
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text(TEXT, encoding="utf-8")
    summary = api.predict(folder, notes, tmp_path / "p.jsonl", progress=False)
    assert summary.documents == 1
    (doc,) = read_corpus(tmp_path / "p.jsonl").documents
    assert all(s.text == TEXT[s.start : s.end] for s in doc.spans)
