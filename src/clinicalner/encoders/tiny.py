"""Tiny randomly initialised BERT encoders for tests.

Why: the engine's tests must load an encoder with ``AutoModel``/``AutoTokenizer`` and get
real offsets, without the network and in about a second. The two tokenizer kinds
cover the two families real encoders use: WordPiece with BERT's normaliser
(lowercasing, accent stripping, CJK splitting) and a SentencePiece-style unigram
with ``▁`` word markers (as XLM-R / e5).
"""

from __future__ import annotations

import json
import string
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clinicalner.atomic import atomic_dir

if TYPE_CHECKING:
    from tokenizers import Tokenizer

TinyKind = Literal["wordpiece", "unigram"]

#: Default training text: short clinical sentences in the task's languages, with the
#: accents, digits and punctuation the tests exercise.
BUILTIN_TEXTS: tuple[str, ...] = (
    "Paciente de 67 años con dolor torácico, disnea y fiebre de 38,5 °C.",
    "Se pauta paracetamol 1 g cada 8 horas; TA 120/80 mmHg, saturación 95 %.",
    "Antecedentes: diabetes mellitus tipo 2, hipertensión arterial e insuficiencia renal crónica.",
    "The patient denies chest pain, cough or shortness of breath; no history of asthma.",
    "Blood pressure was 140/90 and the heart rate 88 beats per minute.",
    "Patiënt werd opgenomen met koorts, hoesten en pijn op de borst sinds drie dagen.",
    "Voorgeschiedenis: hypertensie, diabetes en een hartinfarct in 2019.",
    "Il paziente presenta febbre alta, tosse produttiva e dolore addominale da una settimana.",
    "Terapia con amoxicillina 1 g due volte al giorno per sette giorni.",
    "Pacientul prezintă durere abdominală, greață și vărsături de două zile.",
    "Tensiunea arterială este 130/85 mmHg, fără febră, fără tuse.",
    "Patienten har haft huvudvärk, yrsel och illamående i två veckor.",
    "Blodtrycket är 150/95 och patienten får behandling med insulin.",
    "Pacient přichází pro bolest na hrudi, dušnost a horečku nad 38 °C.",
    "V anamnéze ischemická choroba srdeční, cukrovka a vysoký krevní tlak.",
    "Dx: neumonía adquirida en la comunidad. Tto: ceftriaxona 2 g/24 h i.v.",
    "Exploración: abdomen blando, depresible, no doloroso a la palpación.",
    "Análisis: hemoglobina 10,2 g/dL, leucocitos 12.500/µL, PCR 45 mg/L.",
    "Follow-up in 3 months with ECG, echocardiogram and lipid profile.",
    "Medicatie: metformine 500 mg, lisinopril 10 mg en atorvastatine 20 mg.",
)

_WORDPIECE_SPECIALS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
_UNIGRAM_SPECIALS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>", "mask": "<mask>"}


def build_tiny_encoder(
    output: str | Path,
    kind: TinyKind = "wordpiece",
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    vocab_from: Iterable[str] | None = None,
    seed: int = 0,
    vocab_size: int | None = None,
    max_positions: int = 512,
) -> Path:
    """Write a tiny random BERT with a trained tokenizer to ``output`` (atomically) and return it.

    ``vocab_from`` are the texts the tokenizer learns from (default: ``BUILTIN_TEXTS``).
    The same arguments always give the same weights and vocabulary.
    """
    if kind not in ("wordpiece", "unigram"):
        raise ValueError(f"kind must be 'wordpiece' or 'unigram', not {kind!r}")
    if hidden % heads:
        raise ValueError(f"hidden size {hidden} is not divisible by {heads} heads")
    texts = list(vocab_from) if vocab_from is not None else list(BUILTIN_TEXTS)
    if kind == "wordpiece":
        tokenizer = _wordpiece_tokenizer(texts, vocab_size or 800)
        specials = _WORDPIECE_SPECIALS
        roles = {"cls": "cls", "sep": "sep", "bos": "cls", "eos": "sep"}
    else:
        tokenizer = _unigram_tokenizer(texts, vocab_size or 400)
        specials = _UNIGRAM_SPECIALS
        roles = {"cls": "bos", "sep": "eos", "bos": "bos", "eos": "eos"}

    output = Path(output)
    with atomic_dir(output) as tmp:
        tokenizer.save(str(tmp / "tokenizer.json"))
        names: dict[str, str] = {f"{role}_token": specials[key] for role, key in roles.items()}
        names.update(pad_token=specials["pad"], unk_token=specials["unk"], mask_token=specials["mask"])
        config: dict[str, Any] = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": max_positions,
            "padding_side": "right",
            "clean_up_tokenization_spaces": False,
            **names,
        }
        _write_json(tmp / "tokenizer_config.json", config)
        _write_json(tmp / "special_tokens_map.json", names)
        _save_model(
            tmp,
            vocab_size=tokenizer.get_vocab_size(),
            hidden=hidden,
            layers=layers,
            heads=heads,
            max_positions=max_positions,
            pad_id=tokenizer.token_to_id(specials["pad"]),
            seed=seed,
        )
    return output


def _wordpiece_tokenizer(texts: list[str], vocab_size: int) -> Tokenizer:
    """WordPiece over BERT's normaliser with a vocabulary counted from ``texts``.

    ``WordPieceTrainer`` breaks ties differently from run to run (we saw 632-634 pieces
    for the same input), so the vocabulary is made here instead, deterministically:
    every character (alone and as ``##`` continuation), the ASCII alphabet, short or
    repeated words whole, and other words as a 3-character stem plus a continuation
    piece, so that tests see words split into several pieces.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True
    )
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted(
        {c for word in counts for c in word}
        | set(string.ascii_lowercase + string.digits + string.punctuation)
    )
    pieces = [*_WORDPIECE_SPECIALS.values(), *chars, *(f"##{c}" for c in chars)]
    for word, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        pieces += [word] if len(word) <= 4 or n > 1 else [word[:3], f"##{word[3:]}"]
    vocab: dict[str, int] = {}
    for piece in pieces:
        if len(vocab) >= max(vocab_size, len(_WORDPIECE_SPECIALS) + 2 * len(chars)):
            break
        vocab.setdefault(piece, len(vocab))

    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer


def _unigram_tokenizer(texts: list[str], vocab_size: int) -> Tokenizer:
    """SentencePiece-style unigram trained with ``UnigramTrainer``.

    The trainer's piece set is stable but its order, the last bits of its scores and
    the scores of the characters it adds at the end vary between runs, so the
    vocabulary is made canonical (specials, then by rounded score and text) before the
    model is rebuilt.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    normalizer = normalizers.NFKC()
    pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace("\u2581", prepend_scheme="always", split=True),
        ]
    )
    trainee = Tokenizer(models.Unigram())
    trainee.normalizer = normalizer
    trainee.pre_tokenizer = pre_tokenizer
    specials = list(_UNIGRAM_SPECIALS.values())
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        unk_token="<unk>",
        max_piece_length=8,
        show_progress=False,
    )
    trainee.train_from_iterator(texts, trainer=trainer)
    rest = sorted(((p, round(s, 6)) for p, s in _unigram_vocab(trainee) if p not in specials), key=_by_score)
    # Pieces the trainer had to keep get made-up scores 1e-4 apart, in hash order, below all
    # learned scores. Giving that bottom cluster one score makes the order canonical.
    tail = len(rest) - 1
    while tail > 0 and rest[tail - 1][1] - rest[tail][1] < 2e-4:
        tail -= 1
    if rest:
        floor = rest[tail][1]
        rest[tail:] = sorted(((p, floor) for p, _ in rest[tail:]), key=_by_score)
    vocab = [(p, 0.0) for p in specials] + rest

    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=specials.index("<unk>"), byte_fallback=False))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.add_special_tokens(specials)
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    tokenizer.decoder = decoders.Metaspace("\u2581", prepend_scheme="always", split=True)
    return tokenizer


def _by_score(item: tuple[str, float]) -> tuple[float, str]:
    return (-item[1], item[0])


def _unigram_vocab(tokenizer: Tokenizer) -> list[tuple[str, float]]:
    return [(piece, float(score)) for piece, score in json.loads(tokenizer.to_str())["model"]["vocab"]]


def _save_model(
    folder: Path,
    *,
    vocab_size: int,
    hidden: int,
    layers: int,
    heads: int,
    max_positions: int,
    pad_id: int,
    seed: int,
) -> None:
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
        max_position_embeddings=max_positions,
        type_vocab_size=2,
        pad_token_id=pad_id,
    )
    with torch.random.fork_rng(devices=[]):  # leave the caller's random state alone
        torch.manual_seed(seed)
        model = BertModel(config)
    model.save_pretrained(folder)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
