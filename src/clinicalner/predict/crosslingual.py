"""A lexicon for a language with no labelled data: target-language phrases whose meaning is
close to a training mention, found by nearest neighbours in a multilingual encoder's space.

A surface lexicon built from Spanish and English mentions finds one E3C Italian mention in
nine and almost nothing in Romanian, which inflects and attaches its article (``infarctul``).
A multilingual sentence encoder (multilingual-e5-small, trained to put translations close
together) embeds both sides: every annotated training mention (``source``) and every
candidate word n-gram of the unlabelled target-language texts (``target``). A candidate
whose nearest training mention is at least ``min_similarity`` (cosine, mean-pooled and
L2-normalised, e5's ``query:`` prefix) becomes a term with that mention's label and the
similarity as its score. The result is an ordinary :class:`LexiconTagger`: ``predict`` uses
it alone, and the benchmark merges its matches with a model's spans.

Candidates are n-grams of 1 to ``max_words`` words inside one sentence that neither start
nor end with a short function word (two characters or fewer), a number or punctuation:
language-agnostic filters, no stop-word list per language. No target label is read: the
target texts may be any corpus, labelled or not, and their spans are ignored.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clinicalner.document import Document
from clinicalner.predict.lexicon import LexiconTagger, Term, fold_term

log = logging.getLogger(__name__)

QUERY_PREFIX = "query: "  # e5 models were trained with it on both sides of a symmetric task


@dataclass
class CrosslingualBuild:
    """What :func:`crosslingual_terms` did: sizes, for the CLI to print (no text)."""

    source_terms: int
    candidates: int
    kept: int
    labels: dict[str, int]


def source_terms(documents: Iterable[Document], min_count: int = 2, min_length: int = 3) -> list[Term]:
    """The training mentions seen at least ``min_count`` times (folded), each with its most
    frequent label; discontinuous mentions are left out (their text is not one phrase)."""
    counts: Counter[str] = Counter()
    labels: dict[str, Counter[str]] = {}
    surface: dict[str, str] = {}
    for doc in documents:
        for span in doc.spans:
            if span.is_discontinuous:
                continue
            text = " ".join(doc.text[span.start : span.end].split())
            key = fold_term(text)
            if len(key) < min_length:
                continue
            counts[key] += 1
            labels.setdefault(key, Counter())[span.label] += 1
            surface.setdefault(key, text)
    return [
        Term(surface[k], labels[k].most_common(1)[0][0]) for k, n in sorted(counts.items()) if n >= min_count
    ]


def _content_word(word: str) -> bool:
    return len(word) > 2 and any(c.isalpha() for c in word) and not word[0].isdigit()


def candidate_phrases(documents: Iterable[Document], max_words: int = 3) -> list[str]:
    """Distinct word n-grams (1..``max_words``) of the texts, inside sentences, that start and
    end on a content word (longer than two characters, with a letter, not a number), in first-seen
    order; whitespace normalised to single spaces."""
    from clinicalner.text.sentences import sentence_spans
    from clinicalner.text.words import word_spans

    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, not {max_words}")
    seen: dict[str, None] = {}
    for doc in documents:
        text = doc.text
        words = word_spans(text, doc.language)
        starts = [w[0] for w in words]
        import bisect

        for s, e in sentence_spans(text, doc.language):
            a = bisect.bisect_left(starts, s)
            b = bisect.bisect_left(starts, e)
            sent = [text[x:y] for x, y in words[a:b]]
            for i in range(len(sent)):
                if not _content_word(sent[i]):
                    continue
                for n in range(1, max_words + 1):
                    if i + n > len(sent):
                        break
                    last = sent[i + n - 1]
                    if not any(c.isalnum() for c in last):
                        break  # punctuation inside: the phrase ends here
                    if _content_word(last):
                        seen.setdefault(" ".join(sent[i : i + n]), None)
    return list(seen)


class TextEmbedder:
    """Mean-pooled, L2-normalised sentence vectors from a Hugging Face encoder folder or name."""

    def __init__(self, encoder: str | Path, *, device: str = "cpu", batch_size: int = 128) -> None:
        from transformers import AutoModel, AutoTokenizer

        from clinicalner.encoders.build import resolve_encoder

        where = resolve_encoder(encoder)
        self.tokenizer = AutoTokenizer.from_pretrained(where)
        self.model = AutoModel.from_pretrained(where).to(device).eval()
        self.device = device
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str], prefix: str = QUERY_PREFIX) -> np.ndarray:
        """(len(texts), hidden) float32 unit vectors; short texts batched by length."""
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), int(self.model.config.hidden_size)), dtype=np.float32)
        with torch.inference_mode():
            for k in range(0, len(order), self.batch_size):
                idx = order[k : k + self.batch_size]
                batch = self.tokenizer(
                    [prefix + texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=64,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out[idx] = pooled.float().cpu().numpy()
        return out


def nearest(queries: np.ndarray, keys: np.ndarray, block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """For each query row, the index of its most similar key row and that cosine (unit vectors)."""
    best = np.zeros(len(queries), dtype=np.int64)
    sim = np.full(len(queries), -1.0, dtype=np.float32)
    for a in range(0, len(queries), block):
        scores = queries[a : a + block] @ keys.T
        best[a : a + block] = scores.argmax(1)
        sim[a : a + block] = scores.max(1)
    return best, sim


def crosslingual_terms(
    source: Sequence[Term],
    candidates: Sequence[str],
    embedder: Any,
    min_similarity: float = 0.9,
) -> list[Term]:
    """Candidates whose nearest source term is at least ``min_similarity``, labelled like it,
    scored by the similarity (best first).

    Candidates the lexicon cannot tell apart (``Cardiacă`` and ``cardiaca``: it matches without
    case or accents) keep only the most similar one, so a folded form never gets two labels
    (the Romanian build of BENCHMARKS.md stopped on exactly that)."""
    if not source:
        raise ValueError("no source terms: the training corpora hold no usable mentions")
    if not candidates:
        return []
    keys = embedder.embed([t.surface for t in source])
    queries = embedder.embed(list(candidates))
    best, sim = nearest(queries, keys)
    kept = [
        Term(c, source[int(j)].label, round(float(s), 4))
        for c, j, s in zip(candidates, best, sim, strict=True)
        if s >= min_similarity
    ]
    kept.sort(key=lambda t: -(t.score or 0.0))
    best_per_form: dict[str, Term] = {}
    for term in kept:  # best first: the first of each folded form wins
        best_per_form.setdefault(fold_term(term.surface), term)
    return list(best_per_form.values())


def build_crosslingual(
    source_docs: Iterable[Document],
    target_docs: Iterable[Document],
    embedder: Any,
    *,
    min_similarity: float = 0.9,
    max_words: int = 3,
    min_count: int = 2,
    name: str = "crosslingual",
) -> tuple[LexiconTagger, CrosslingualBuild]:
    """The lexicon tagger and what went into it (see the module docstring)."""
    src = source_terms(source_docs, min_count=min_count)
    cands = candidate_phrases(target_docs, max_words=max_words)
    log.info("cross-lingual lexicon: %d source terms, %d candidates", len(src), len(cands))
    terms = crosslingual_terms(src, cands, embedder, min_similarity)
    tagger = LexiconTagger(terms, name=name, across_labels=True)
    build = CrosslingualBuild(
        len(src), len(cands), len(tagger), dict(Counter(t.label for t in tagger.terms).most_common())
    )
    return tagger, build


def build_crosslingual_lexicon(
    sources: Sequence[str | Path],
    targets: Sequence[str | Path],
    output: str | Path,
    *,
    encoder: str | Path = "multilingual-e5-small",
    min_similarity: float = 0.9,
    max_words: int = 3,
    min_count: int = 2,
    labels: Sequence[str] | None = None,
    target_language: str | None = None,
    lenient: bool = False,
    embedder: Any | None = None,
) -> Any:
    """Read the labelled ``sources`` and the unlabelled ``targets`` (any corpus format or a
    folder of .txt notes; their spans are ignored), build the lexicon and save it as a lexicon
    folder for ``predict``. ``target_language`` is used for the targets' sentence and word
    splitting where a document does not say its language. Returns a
    :class:`~clinicalner.predict.lexicon.LexiconBuild` (``documents``: source documents)."""
    from clinicalner.errors import CorpusError
    from clinicalner.io import read_corpus
    from clinicalner.io.destination import check_output
    from clinicalner.predict.lexicon import LexiconBuild, check_lexicon_output

    if not 0.0 < min_similarity <= 1.0:
        raise ValueError(f"min_similarity must be in (0, 1], not {min_similarity}")
    if not sources or not targets:
        raise ValueError("a cross-lingual lexicon needs at least one source corpus and one target")
    out = Path(output)
    for p in (*sources, *targets):
        if not Path(p).exists():
            raise CorpusError("no such file or folder", Path(p))
    check_output(out, folder=True, inputs=[Path(p) for p in (*sources, *targets)])
    check_lexicon_output(out)
    src_docs: list[Document] = []
    for p in sources:
        src_docs.extend(read_corpus(p, lenient=lenient).documents)
    if labels:
        wanted = set(labels)
        src_docs = [d.with_spans([s for s in d.spans if s.label in wanted]) for d in src_docs]
    tgt_docs: list[Document] = []
    for p in targets:
        for d in read_corpus(p, lenient=lenient, language=target_language).documents:
            if d.language is None and target_language:
                d.language = target_language
            tgt_docs.append(d.with_spans([]))  # never a target label
    if embedder is None:
        embedder = TextEmbedder(encoder)
    tagger, info = build_crosslingual(
        src_docs, tgt_docs, embedder, min_similarity=min_similarity, max_words=max_words, min_count=min_count
    )
    if not len(tagger):
        raise CorpusError(
            f"no candidate of the targets reaches similarity {min_similarity} to a source mention "
            f"({info.candidates:,} candidates, {info.source_terms:,} source terms): lower --min-similarity",
            out,
        )
    tagger.name = out.name
    tagger.source = ", ".join(str(p) for p in sources)
    tagger.build_options = {
        "kind": "crosslingual",
        "targets": [str(p) for p in targets],
        "encoder": str(encoder),
        "min_similarity": min_similarity,
        "max_words": max_words,
        "min_count": min_count,
        "source_terms": info.source_terms,
        "candidates": info.candidates,
    }
    if labels:
        tagger.build_options["labels"] = list(labels)
    tagger.save(out)
    log.info("cross-lingual lexicon: %d terms -> %s", len(tagger), out)
    return LexiconBuild(out, "crosslingual", len(tagger), info.labels, documents=len(src_docs))
