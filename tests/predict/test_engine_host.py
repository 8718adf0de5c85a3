"""The host-side speed-ups of tagging change no span: before/after on demo notes and random text.

Each speed-up (vectorised sentence cuts, ``Span.with_text`` keeping an unchanged span) is undone
here by putting the code it replaced back in place, and the CRF paths are decoded step by step
instead of batched; the tagger must return exactly the same spans, scores and texts either way. The model is a
tiny random CRF tagger with biased heads, so that it predicts spans of every type and the CRF
decoding and the post-processing both run.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from clinicalner.document import Document, Span, surface  # noqa: E402
from clinicalner.encoders.tiny import build_tiny_encoder  # noqa: E402
from clinicalner.model import subword_windows  # noqa: E402
from clinicalner.model.config import ModelConfig  # noqa: E402
from clinicalner.model.inputs import EncodedDocument  # noqa: E402
from clinicalner.model.store import build_model, save_model  # noqa: E402
from clinicalner.predict.engine import TransformerTagger  # noqa: E402
from clinicalner.sample_notes import load_examples  # noqa: E402
from clinicalner.tag_sequences.decode import (  # noqa: E402
    allowed_end,
    allowed_start,
    allowed_transitions,
    viterbi,
    viterbi_batch,
)

NOTES = load_examples()


def old_sentence_token_ranges(enc: EncodedDocument) -> list[tuple[int, int]]:
    """The replaced code: one ``searchsorted`` per sentence, cuts gathered in a set."""
    from clinicalner.text.sentences import sentence_spans

    if enc.n_subwords == 0:
        return []
    starts = enc.offsets[:, 0]
    cuts = {0, enc.n_subwords}
    for s, _ in sentence_spans(enc.doc.text, enc.doc.language):
        cuts.add(int(np.searchsorted(starts, s, side="left")))
    bounds = sorted(c for c in cuts if 0 <= c <= enc.n_subwords)
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def old_with_text(self: Span, text: str) -> Span:
    """The replaced code: always a new span."""
    return replace(self, text=surface(text, self.start, self.end, self.fragments))


def random_notes(n: int, seed: int) -> list[Document]:
    """Texts made of the demo notes' words and punctuation shuffled, with odd spacing."""
    rng = random.Random(seed)
    pieces = [w for d in NOTES for w in d.text.split()] + [".", ". ", "\n\n", "\r\n", "; ", " - ", "(", ")"]
    docs = []
    for i in range(n):
        words = rng.choices(pieces, k=rng.randint(0, 400))
        text = "".join(w + rng.choice([" ", " ", "  ", "\t", ". ", "\n"]) for w in words)
        docs.append(Document(f"r{i}", text, language=rng.choice(["es", "en", "it", None])))
    return docs


@pytest.fixture(scope="module")
def crf_model(tmp_path_factory: Any) -> Path:
    root = tmp_path_factory.mktemp("host")
    enc = build_tiny_encoder(root / "enc", "unigram", vocab_from=[d.text for d in NOTES])
    torch.manual_seed(0)
    config = ModelConfig(
        labels=["DISEASE", "PROCEDURE", "SYMPTOM"], crf=True, max_length=32, stride=24, windows="sentence"
    )
    model, tok = build_model(config, str(enc))
    with torch.no_grad():  # heads that predict spans, and CRF scores that are not all zero
        for head in model.heads:
            head[-1].bias.copy_(torch.tensor([0.0, 0.4, 0.3]))
        for crf in model.crfs:
            crf.transitions.copy_(torch.randn_like(crf.transitions) * 0.5)
            crf.start.copy_(torch.randn_like(crf.start) * 0.5)
            crf.end.copy_(torch.randn_like(crf.end) * 0.5)
    return save_model(model, tok, root / "model")


def spans_of(docs: list[Document]) -> list[tuple[Any, ...]]:
    return [(d.id, s.start, s.end, s.label, s.text, s.score) for d in docs for s in d.spans]


@pytest.mark.parametrize("source", ["demo", "random"])
def test_same_spans_before_and_after(crf_model: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    docs = NOTES if source == "demo" else random_notes(25, seed=3)
    tagger = TransformerTagger(crf_model, device="cpu", precision="fp32", chunk_documents=7)
    after = spans_of(list(tagger.tag(docs)))
    assert len(after) > 20, "the biased heads should predict spans"

    monkeypatch.setattr(subword_windows, "sentence_token_ranges", old_sentence_token_ranges)
    monkeypatch.setattr(Span, "with_text", old_with_text)
    # Step-by-step Viterbi per (document, type): the reference the batched decoder matches.
    monkeypatch.setattr(TransformerTagger, "crf_paths", lambda self, scores, crf: [None] * len(scores))
    before = spans_of(list(tagger.tag(docs)))
    assert after == before


def test_sentence_token_ranges_equal_the_old_cuts() -> None:
    """Random offsets (repeated starts, pieces between sentences) against the replaced loop."""
    rng = np.random.default_rng(0)
    for doc in [*NOTES, *random_notes(40, seed=5)]:
        n = int(rng.integers(0, 300))
        starts = np.sort(rng.integers(0, max(1, len(doc.text)), size=n))
        offsets = np.stack([starts, starts + 1], axis=1).astype(np.int64)
        enc = EncodedDocument(
            doc,
            np.zeros((0, 2), dtype=np.int64),
            np.zeros(n, dtype=np.int64),
            offsets,
            np.zeros(n, dtype=np.int64),
            np.zeros(n, dtype=bool),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=bool),
        )
        new = subword_windows.sentence_token_ranges(enc)
        assert new == old_sentence_token_ranges(enc)
        assert all(isinstance(a, int) and isinstance(b, int) for a, b in new)


def test_with_text_keeps_an_unchanged_span() -> None:
    text = "fiebre y tos"
    same = Span(0, 6, "SYMPTOM", "fiebre", 0.9)
    assert same.with_text(text) is same
    stale = Span(0, 6, "SYMPTOM", "", 0.9)
    assert stale.with_text(text) == Span(0, 6, "SYMPTOM", "fiebre", 0.9)
    broken = Span(0, 12, "SYMPTOM", "fiebre y tos", fragments=((0, 6), (9, 12)))
    assert broken.with_text(text).text == "fiebre tos"


def test_viterbi_step_with_forced_ties_and_masks() -> None:
    """The batched decoder still equals the step-by-step one where maxima tie and -inf masks."""
    rng = np.random.default_rng(1)
    tags = ["O", "B", "I"]
    allowed = allowed_transitions(tags, "BIO")
    first = allowed_start(tags, "BIO")
    last = allowed_end(tags, "BIO")
    em = rng.integers(-2, 2, size=(30, 17, 3)).astype(np.float64)  # small integers: many ties
    lengths = rng.integers(0, 18, size=30)
    trans = rng.integers(-1, 2, size=(3, 3)).astype(np.float64)
    paths = viterbi_batch(em, lengths, trans, None, None, allowed, first, last)
    for row in range(30):
        n = int(lengths[row])
        want = viterbi(em[row, :n], trans, np.zeros(3), np.zeros(3), allowed, first, last)
        assert paths[row, :n].tolist() == list(want)
