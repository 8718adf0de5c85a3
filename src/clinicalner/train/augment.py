"""Training-data augmentation: mention replacement, and LLM paraphrases validated span by span.

Why: with a few hundred annotated notes a tagger sees each surface form a handful of times and
learns the forms rather than the contexts. Replacing a mention by another of the same type
(Enigma's best lever for Czech at MultiClinAI) multiplies the contexts each form is seen in;
rare forms are drawn first, so the augmented copies add variety rather than more of the same.
A user's synonym or morphological-variant dictionary adds forms the corpus never had.

Everything keeps offsets exact: a replaced mention moves every later span, and each span of an
augmented copy is checked against its new text before the copy is kept. Mentions that overlap
another mention, and discontinuous ones, are never replaced (the other mention would be cut).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from clinicalner.document import Document, Span, surface
from clinicalner.errors import CorpusError


@dataclass
class AugmentStats:
    """What augmentation did, in counts (never text)."""

    documents: int = 0
    copies: int = 0
    replaced: int = 0
    from_dictionary: int = 0
    skipped_overlapping: int = 0
    paraphrases_kept: int = 0
    paraphrases_dropped: int = 0
    drop_reasons: Counter[str] = field(default_factory=Counter)


def mention_pool(docs: Iterable[Document]) -> dict[str, Counter[str]]:
    """Surface forms per type, with their counts, from the training spans."""
    pool: dict[str, Counter[str]] = {}
    for d in docs:
        for s in d.spans:
            if not s.is_discontinuous and "\n" not in d.text[s.start : s.end]:
                pool.setdefault(s.label, Counter())[d.text[s.start : s.end]] += 1
    return pool


def load_dictionary(path: str | Path) -> dict[str, list[tuple[str, str | None]]]:
    """A synonym / variant list: TSV lines ``term<TAB>replacement[<TAB>label]``, ``#`` comments.

    Keys are case-folded terms; the label, when given, restricts the entry to that type.
    """
    path = Path(path)
    out: dict[str, list[tuple[str, str | None]]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise CorpusError(f"not UTF-8 text (byte {e.start})", path) from None
    for n, row in enumerate(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
        if not row or not "".join(row).strip() or row[0].startswith("#"):
            continue
        if len(row) not in (2, 3) or not row[0].strip() or not row[1].strip():
            raise CorpusError("expected term<TAB>replacement[<TAB>label]", path, n)
        label = row[2].strip() if len(row) == 3 and row[2].strip() else None
        out.setdefault(row[0].strip().casefold(), []).append((row[1].strip(), label))
    return out


def _replaceable(doc: Document) -> tuple[list[int], int]:
    """Indices of spans that are contiguous and overlap no other span; and how many are not."""
    spans = doc.spans
    ok = [
        i
        for i, s in enumerate(spans)
        if not s.is_discontinuous
        and not any(j != i and t.start < s.end and s.start < t.end for j, t in enumerate(spans))
    ]
    return ok, len(spans) - len(ok)


def rebuild(doc: Document, replacements: Mapping[int, str], new_id: str) -> Document:
    """The document with span ``i``'s text replaced by ``replacements[i]``, every offset moved.

    Replaced spans must overlap no other span. Raises ``ValueError`` if any span of the result
    does not read what it should: a copy is never written with a wrong offset.
    """
    text = doc.text
    edits = sorted((doc.spans[i].start, doc.spans[i].end, new) for i, new in replacements.items())
    pieces: list[str] = []
    pos = 0
    for a, b, new in edits:
        if a < pos:
            raise ValueError("replaced spans overlap")
        pieces += [text[pos:a], new]
        pos = b
    pieces.append(text[pos:])
    new_text = "".join(pieces)
    deltas = [(b, len(new) - (b - a)) for a, b, new in edits]

    def moved(x: int) -> int:
        # Every replaced mention that ends at or before x moves x by its change in length.
        return x + sum(d for b, d in deltas if b <= x)

    spans: list[Span] = []
    for i, s in enumerate(doc.spans):
        start = moved(s.start)
        if i in replacements:
            spans.append(replace(s, start=start, end=start + len(replacements[i]), text=replacements[i]))
            continue
        frags = tuple((moved(a), moved(b)) for a, b in s.fragments) if s.fragments else s.fragments
        spans.append(replace(s, start=start, end=moved(s.end), fragments=frags).with_text(new_text))
    for i, (old, new) in enumerate(zip(doc.spans, spans, strict=True)):
        want = replacements.get(i, surface(doc.text, old.start, old.end, old.fragments))
        if surface(new_text, new.start, new.end, new.fragments) != want:
            raise ValueError(f"span {i} of {doc.id} does not read back after replacement")
    meta = {**doc.metadata, "augmented_from": doc.id}
    return replace(doc, id=new_id, text=new_text, spans=spans, metadata=meta)


def replace_mentions(
    docs: Sequence[Document],
    *,
    copies: int = 1,
    rate: float = 0.5,
    dictionary: Mapping[str, list[tuple[str, str | None]]] | None = None,
    pool: Mapping[str, Counter[str]] | None = None,
    seed: int = 13,
    stats: AugmentStats | None = None,
) -> list[Document]:
    """``copies`` augmented copies of each document, each replacing about ``rate`` of its
    replaceable mentions: by a dictionary variant of the same form when there is one, else by
    another form of the same type from ``pool`` (default: these documents' spans), drawn with
    weights 1/count so rare forms come first. A copy in which nothing changed is not kept.
    """
    if not 0 < rate <= 1:
        raise ValueError(f"rate must be in (0, 1], not {rate}")
    if copies < 1:
        raise ValueError("copies must be at least 1")
    stats = stats if stats is not None else AugmentStats()
    pool = pool if pool is not None else mention_pool(docs)
    forms = {label: list(c) for label, c in pool.items()}
    weights = {
        label: (lambda w: w / w.sum())(np.array([1.0 / c[f] for f in forms[label]]))
        for label, c in pool.items()
    }
    rng = np.random.default_rng(seed)
    out: list[Document] = []
    for doc in docs:
        stats.documents += 1
        ok, skipped = _replaceable(doc)
        stats.skipped_overlapping += skipped
        for k in range(copies):
            chosen: dict[int, str] = {}
            for i in ok:
                if rng.random() >= rate:
                    continue
                s = doc.spans[i]
                old = doc.text[s.start : s.end]
                variants = [
                    v for v, lab in (dictionary or {}).get(old.casefold(), []) if lab in (None, s.label)
                ]
                if variants:
                    chosen[i] = variants[int(rng.integers(len(variants)))]
                    stats.from_dictionary += 1
                elif forms.get(s.label):
                    pick = forms[s.label][int(rng.choice(len(forms[s.label]), p=weights[s.label]))]
                    if pick != old:
                        chosen[i] = pick
            if not chosen:
                continue
            out.append(rebuild(doc, chosen, f"{doc.id}.aug{k + 1}"))
            stats.copies += 1
            stats.replaced += len(chosen)
    return out


# ----------------------------------------------------------------------------- paraphrases

PARAPHRASE_SYSTEM = "You rewrite clinical sentences for training data. You never change a marked mention."
PARAPHRASE_USER = """Rewrite the clinical sentence below in other words, in the same language.
Each entity mention is marked as [mention]{{TYPE}}. Keep every marked mention exactly as it is, \
with the same brackets and type, and add no new marks. Answer with the rewritten sentence only.

Sentence:
{sentence}"""

_MARK = re.compile(r"\[([^\[\]]+?)\]\{([A-Za-z_][\w-]*)\}")


def marked(text: str, spans: Sequence[Span]) -> str:
    """``text`` with each span written as ``[surface]{LABEL}`` (spans must not overlap)."""
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        out += [text[pos : s.start], f"[{text[s.start : s.end]}]{{{s.label}}}"]
        pos = s.end
    return "".join([*out, text[pos:]])


def paraphrase(
    docs: Sequence[Document], client: object, *, stats: AugmentStats | None = None
) -> list[Document]:
    """One paraphrase per sentence that holds a mention, through an OpenAI-compatible ``client``
    (:class:`clinicalner.predict.llm.ChatClient`), with the mentions carried as inline markup.

    A reply is kept only when it carries exactly the same mentions (surface and type, as a
    multiset) and no stray markup; anything else is dropped and counted by reason. Sentences
    with overlapping or discontinuous mentions are not sent.
    """
    from clinicalner.sample_notes import parse_marked
    from clinicalner.text.sentences import sentence_spans

    stats = stats if stats is not None else AugmentStats()
    out: list[Document] = []
    for doc in docs:
        stats.documents += 1
        ok, _ = _replaceable(doc)
        okset = set(ok)
        for n, (a, b) in enumerate(sentence_spans(doc.text, doc.language)):
            inside = [i for i, s in enumerate(doc.spans) if s.start >= a and s.end <= b]
            crossing = [i for i, s in enumerate(doc.spans) if s.start < b and s.end > a and i not in inside]
            if not inside or crossing or any(i not in okset for i in inside):
                continue
            rel = [
                replace(doc.spans[i], start=doc.spans[i].start - a, end=doc.spans[i].end - a) for i in inside
            ]
            sentence = doc.text[a:b]
            prompt = PARAPHRASE_USER.format(sentence=marked(sentence, rel))
            reply, _ = client.complete(  # type: ignore[attr-defined]
                [{"role": "system", "content": PARAPHRASE_SYSTEM}, {"role": "user", "content": prompt}],
                temperature=0.7,
            )
            reason = _check(reply, sentence, rel)
            if reason:
                stats.paraphrases_dropped += 1
                stats.drop_reasons[reason] += 1
                continue
            new = parse_marked(reply.strip(), f"{doc.id}.para{n + 1}", doc.language)
            out.append(
                replace(
                    new,
                    annotated_labels=doc.annotated_labels,
                    metadata={**doc.metadata, "augmented_from": doc.id},
                )
            )
            stats.paraphrases_kept += 1
    return out


def _check(reply: str, sentence: str, spans: Sequence[Span]) -> str | None:
    """Why a paraphrase cannot be kept, or None."""
    text = reply.strip()
    if not text:
        return "empty reply"
    found = Counter((m.group(1), m.group(2)) for m in _MARK.finditer(text))
    want = Counter((sentence[s.start : s.end], s.label) for s in spans)
    if found != want:
        return "mentions changed"
    rest = _MARK.sub("", text)
    if "[" in rest or "]{" in rest:
        return "stray markup"
    if text == marked(sentence, spans):
        return "unchanged"
    return None


def augment_corpus(
    corpus: str | Path,
    output: str | Path,
    *,
    format: str | None = None,
    copies: int = 1,
    rate: float = 0.5,
    dictionary: str | Path | None = None,
    seed: int = 13,
    llm_url: str | None = None,
    llm_model: str | None = None,
    api_key_env: str | None = "OPENAI_API_KEY",
    lenient: bool = False,
) -> AugmentStats:
    """Read a corpus, write its augmented copies (not the originals) to ``output``.

    Train on both: ``clinicalner train CORPUS OUTPUT`` (``--corpus-weight`` tunes the mix). The
    validation split keeps a copy on the side of its original (they are near-duplicates). The
    output format follows the output's suffix (a folder without one is BRAT), as in ``predict``.
    """
    from clinicalner.io import detect_format, read_corpus, write_corpus
    from clinicalner.io.formats import format_from_path

    out_format = format_from_path(output)
    src, dst = Path(corpus).resolve(), Path(output).resolve()
    if dst == src or src in dst.parents:
        raise ValueError(f"{output}: the output must not be the input corpus or lie inside it")
    docs = read_corpus(corpus, format or detect_format(corpus), lenient=lenient).documents
    stats = AugmentStats()
    words = load_dictionary(dictionary) if dictionary else None
    new = replace_mentions(docs, copies=copies, rate=rate, dictionary=words, seed=seed, stats=stats)
    if llm_url:
        from clinicalner.predict.llm import ChatClient

        if not llm_model:
            raise ValueError("LLM paraphrases need the model name the endpoint serves (--llm-model)")
        new += paraphrase(docs, ChatClient(llm_url, llm_model, api_key_env=api_key_env), stats=stats)
        stats.documents = len(docs)
    write_corpus(new, output, out_format)
    return stats
