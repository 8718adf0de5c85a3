"""Joining split mentions with the model's own probabilities, not on surface characters alone.

A surface rule joins ``HTA/DM`` and ``fiebre tos``, which are often two gold mentions: a perfect
tagger would lose them. With ``merge_min_ratio`` above 0 (opt-in: the default is the surface
rule, see ``predict/postprocess.py``) the tagger joins two spans across a joiner gap only when
its word probabilities find the joined reading plausible.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from clinicalner.document import Document, Span  # noqa: E402
from clinicalner.encoders.tiny import build_tiny_encoder  # noqa: E402
from clinicalner.model.config import ModelConfig  # noqa: E402
from clinicalner.model.inputs import encode_documents  # noqa: E402
from clinicalner.model.store import build_model, save_model  # noqa: E402
from clinicalner.predict.engine import TransformerTagger  # noqa: E402
from clinicalner.predict.postprocess import PostprocessConfig  # noqa: E402
from clinicalner.sample_notes import load_examples, parse_marked  # noqa: E402

ASK_MODEL = PostprocessConfig(merge_min_ratio=0.1)
# Word probabilities for "HTA / DM tipo": the model is sure these are two mentions.
CONFIDENT_SPLIT = [
    {"B": 0.98, "I": 0.01, "O": 0.01},
    {"O": 0.98, "I": 0.01, "B": 0.01},
    {"B": 0.98, "I": 0.01, "O": 0.01},
    {"O": 1.0},
]

HARD = [
    parse_marked(
        "Antecedentes:\r\n- [HTA]{DISEASE}/[DM]{DISEASE} tipo 2 😷\r\n- [dolor torácico]{SYMPTOM} y [disnea]{SYMPTOM}.\r\n",
        "h1",
        "es",
    ),
    parse_marked(
        "Paciente\tcon [cafe\u0301 fiebre]{SYMPTOM} [tos seca]{SYMPTOM} 👍🏽 y [neumonía]{DISEASE} [EPOC]{DISEASE}.",
        "h2",
        "es",
    ),
    parse_marked(
        "The patient had [pneumonia]{DISEASE} (🦠) and [chest pain]{SYMPTOM}; [T.A.C.]{PROCEDURE} done.",
        "h3",
        "en",
    ),
]


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> TransformerTagger:
    root = tmp_path_factory.mktemp("join")
    enc = build_tiny_encoder(root / "enc", "unigram", vocab_from=[d.text for d in HARD])
    torch.manual_seed(0)
    model, tok = build_model(ModelConfig(labels=["DISEASE", "SYMPTOM"], max_length=32, stride=20), str(enc))
    return TransformerTagger(
        save_model(model, tok, root / "m"), device="cpu", precision="fp32", postprocess=ASK_MODEL
    )


def _scores(
    tagger: TransformerTagger, doc: Document, tags_by_word: list[dict[str, float]]
) -> tuple[object, np.ndarray]:
    """Word log-probabilities for type 0 from per-word tag probabilities; type 1 is all O."""
    (enc,) = encode_documents([doc], tagger.tokenizer)
    w = enc.words.shape[0]
    assert w == len(tags_by_word), [doc.text[a:b] for a, b in enc.words]
    scores = np.full((w, len(tagger.labels), len(tagger.tags)), np.log(1e-6), dtype=np.float32)
    scores[:, 1, tagger.tags.index("O")] = 0.0
    for i, probs in enumerate(tags_by_word):
        for tag, p in probs.items():
            scores[i, 0, tagger.tags.index(tag)] = np.log(p)
    return enc, scores


def _decode(tagger: TransformerTagger, doc: Document, words: list[dict[str, float]]) -> list[tuple[str, str]]:
    enc, scores = _scores(tagger, doc, words)
    return [(doc.text[s.start : s.end], s.label) for s in tagger.decode(enc, scores)]


@pytest.mark.parametrize(
    ("slash", "second", "joined"),
    [
        # A confident split stays split: HTA / DM are two mentions.
        ({"O": 0.98, "I": 0.01, "B": 0.01}, {"B": 0.98, "I": 0.01, "O": 0.01}, False),
        # The model hesitated about the slash and the second word: one mention.
        ({"O": 0.6, "I": 0.4}, {"B": 0.55, "I": 0.45}, True),
    ],
)
def test_join_follows_the_models_own_probabilities(tagger, slash, second, joined):
    doc = Document("d", "HTA/DM tipo", language="es")
    words = [{"B": 0.98, "I": 0.01, "O": 0.01}, slash, second, {"O": 0.98, "B": 0.01, "I": 0.01}]
    got = _decode(tagger, doc, words)
    assert got == ([("HTA/DM", "DISEASE")] if joined else [("HTA", "DISEASE"), ("DM", "DISEASE")])


def test_surface_rule_is_the_default_and_asking_the_model_is_opt_in(tagger):
    """Out of domain a model splits confidently and wrongly (BENCHMARKS.md), so the default
    (and ratio 0) join on surface characters; only a ratio above 0 lets the model keep HTA/DM
    apart, and no post-processing keeps both."""
    doc = Document("d", "HTA/DM tipo", language="es")
    joined, split = [("HTA/DM", "DISEASE")], [("HTA", "DISEASE"), ("DM", "DISEASE")]
    assert PostprocessConfig().merge_min_ratio == 0.0
    expected = [
        (True, joined),
        (PostprocessConfig(merge_min_ratio=0.0), joined),
        (ASK_MODEL, split),
        (False, split),
    ]
    try:
        for setting, spans in expected:
            tagger.postprocess = setting
            assert _decode(tagger, doc, CONFIDENT_SPLIT) == spans, setting
    finally:
        tagger.postprocess = ASK_MODEL


def test_adjacent_words_join_on_hesitation_between_begin_and_inside(tagger):
    doc = Document("d", "dolor torácico hoy", language="es")
    sure = [{"B": 0.98, "I": 0.01, "O": 0.01}, {"B": 0.94, "I": 0.05, "O": 0.01}, {"O": 1.0}]
    unsure = [{"B": 0.98, "I": 0.01, "O": 0.01}, {"B": 0.6, "I": 0.39, "O": 0.01}, {"O": 1.0}]
    got_sure = _decode(tagger, doc, sure)
    got_unsure = _decode(tagger, doc, unsure)
    assert got_sure == [("dolor", "DISEASE"), ("torácico", "DISEASE")]
    assert got_unsure == [("dolor torácico", "DISEASE")]


def test_overfit_model_tags_adjacent_mentions_back_exactly_when_the_merge_asks_it(tmp_path):
    """Asked, a confident model keeps HTA/DM and `café fiebre` + `tos seca` apart; the surface rule glues them."""
    from clinicalner.train.loop import train_model
    from tiny_training import tiny_config

    enc = build_tiny_encoder(
        tmp_path / "enc", "wordpiece", vocab_from=[d.text for d in HARD + load_examples()], hidden=64
    )
    cfg = tiny_config(
        tmp_path / "m", enc, epochs=80, batch_size=3, class_weights="none", postprocess=False, crf=False
    )
    result = train_model(cfg, train_docs=[HARD], dev_docs=HARD, progress=False)
    assert result.best_f1 == 1.0
    from clinicalner.api import load_tagger

    tagged = list(load_tagger(result.output, device="cpu", merge_min_ratio=0.1).tag(HARD))
    for gold, pred in zip(HARD, tagged, strict=True):
        assert [s.key for s in pred.sorted_spans()] == [s.key for s in gold.sorted_spans()], gold.id
    surface = list(load_tagger(result.output, device="cpu").tag(HARD))
    assert ("HTA/DM", "DISEASE") in [(s.text, s.label) for s in surface[0].spans]


def test_may_join_is_consulted_only_across_a_gap():
    from clinicalner.predict.postprocess import merge_spans

    text = "HTA/DM y fiebrefiebre"
    calls: list[tuple[int, int]] = []

    def never(a: Span, b: Span) -> bool:
        calls.append((a.end, b.start))
        return False

    spans = [Span(0, 3, "D"), Span(4, 6, "D"), Span(9, 15, "S"), Span(15, 21, "S")]
    got = merge_spans(text, spans, may_join=never)
    assert sorted((s.start, s.end, s.label) for s in got) == [(0, 3, "D"), (4, 6, "D"), (9, 21, "S")]
    assert calls == [(3, 4)]  # touching spans merge without asking
