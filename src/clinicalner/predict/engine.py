"""Tagging documents with a trained model, fast and with exact offsets.

Documents are read in chunks (bounded memory however many come in). Each chunk is
tokenised once per document, cut into subword windows the way the model was trained (packed
whole sentences, or overlapping sliding windows), and the windows of all
documents in the chunk are sorted by length and batched together (dynamic padding, so a
batch of short notes does not pay for one long one). Where windows overlap the logits are
averaged; tags are decoded per word (first-subword scores), repaired or Viterbi-decoded,
turned into character spans with a confidence, and post-processed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clinicalner.document import Document, Span
from clinicalner.model.inputs import (
    EncodedDocument,
    backend_tokenizer,
    encode_documents,
    padded_length,
    special_ids,
)
from clinicalner.model.tags import word_runs


def pick_device(device: str = "auto") -> str:
    """The torch device to run on: ``auto`` picks a GPU when there is one.

    A device that was asked for and is not there is a ``ValueError`` naming it and what torch
    sees, before any model is loaded: torch itself fails later, deep in ``model.to``, with
    ``AssertionError: Torch not compiled with CUDA enabled`` and a traceback.
    """
    import torch

    if device != "auto":
        check_device(device)
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def check_device(device: str) -> None:
    """Raise a one-line ``ValueError`` when ``device`` is not one torch can use here."""
    import torch

    try:
        kind = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if kind.type == "cuda":
        if not torch.cuda.is_available():
            why = (
                f"this torch {torch.__version__} is a CPU-only build (not compiled with CUDA)"
                if torch.version.cuda is None
                else f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU (driver, "
                "CUDA_VISIBLE_DEVICES?)"
            )
            raise ValueError(f"device {device!r} asked for, but {why}; use --device cpu or auto")
        count = torch.cuda.device_count()
        if kind.index is not None and kind.index >= count:
            raise ValueError(
                f"device {device!r} asked for, but torch sees {count} GPU(s) (cuda:0..{count - 1})"
            )
    elif kind.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                f"device {device!r} asked for, but torch {torch.__version__} has no MPS (Apple GPU) here"
            )
    elif kind.type != "cpu":
        raise ValueError(f"unsupported device {device!r}: use auto, cpu, cuda, cuda:N or mps")


class TransformerTagger:
    """A trained clinicalner model behind the :class:`~clinicalner.predict.tagger.Tagger` interface."""

    def __init__(
        self,
        model: str | Path | Any,
        tokenizer: Any | None = None,
        *,
        device: str = "auto",
        batch_tokens: int = 8192,
        stride: int | None = None,
        max_length: int | None = None,
        windows: str | None = None,
        chunk_documents: int = 64,
        postprocess: Any | None = True,
        threshold: float = 0.0,
        quantize: bool = False,
        precision: str = "auto",
        runtime: str = "auto",
    ) -> None:
        """``precision``: ``auto`` runs the encoder in bfloat16 where the device does it natively
        (GPUs, CPUs with AVX512-BF16 or AMX), else float32; see :mod:`clinicalner.model.precision`.
        ``quantize`` (int8 weights) implies float32 activations. ``runtime``: ``torch``, ``onnx``
        (ONNX Runtime on the graph ``clinicalner export`` wrote into the folder) or ``auto``
        (onnx when the folder holds one and the device is the CPU)."""
        from clinicalner.model.onednn_cache import bound_primitive_cache
        from clinicalner.model.precision import lower_linear_weights, resolve_precision
        from clinicalner.model.store import load_model

        bound_primitive_cache()  # before the first bf16 product: memory flat over any archive
        runtime = _pick_runtime(runtime, model if tokenizer is None else None, device)
        if runtime == "onnx":
            if quantize:
                raise ValueError(
                    "--quantize applies to the torch runtime; an ONNX graph is quantised when it is "
                    "exported (clinicalner export --quantize)"
                )
            if precision == "bf16":
                raise ValueError("the onnx runtime runs float32 or int8 graphs, not bf16")
            device, precision = "cpu", "fp32"
        self.runtime = runtime
        self.device = pick_device(device)
        if quantize and precision == "bf16":
            raise ValueError("quantize (int8) and bf16 do not combine; choose one")
        self.precision = "fp32" if quantize else resolve_precision(precision, self.device)
        if tokenizer is None:
            self.model, self.tokenizer = load_model(model, self.device)
            self.name = Path(model).name
        else:
            self.model, self.tokenizer = model, tokenizer
            self.name = "model"
        if quantize:
            self.model = quantize_for_cpu(self.model, self.device)
        if runtime == "torch" and tokenizer is None:  # a model passed in is the caller's to keep
            lower_linear_weights(self.model, self.precision)
        if runtime == "onnx":
            from clinicalner.export.onnx_model import ONNX_FILE, OnnxNetwork

            self.model = OnnxNetwork(self.model, Path(model) / ONNX_FILE)
        self.config = self.model.config
        self.labels = tuple(self.config.labels)
        self.tags = self.config.tags
        self.batch_tokens = batch_tokens
        self.stride = self.config.stride if stride is None else stride
        self.max_length = self.config.max_length if max_length is None else max_length
        limit = _position_limit(self.model)
        if self.max_length < 8 or (limit is not None and self.max_length > limit):
            raise ValueError(
                f"max_length {self.max_length} is outside 8..{limit} (the encoder's position embeddings)"
            )
        if self.stride < 1:
            raise ValueError("stride must be at least 1 subword")
        windows = windows or self.config.tagging_windows
        if windows not in ("sliding", "sentence", "one-sentence"):
            raise ValueError(f"windows must be 'sliding', 'sentence' or 'one-sentence', not {windows!r}")
        self.windows = windows
        self.chunk_documents = chunk_documents
        self.threshold = threshold
        self.postprocess = postprocess
        self._backend = backend_tokenizer(self.tokenizer)
        self._specials = special_ids(self.tokenizer)
        from clinicalner.tag_sequences.decode import allowed_end, allowed_start, allowed_transitions

        tags = list(self.tags)
        scheme = self.config.scheme
        self._allowed = (
            allowed_transitions(tags, scheme),
            allowed_start(tags, scheme),
            allowed_end(tags, scheme),
        )
        self.tokens_seen = 0

    # -- public -----------------------------------------------------------------------
    def tag(self, documents: Iterable[Document]) -> Iterator[Document]:
        it = iter(documents)
        while True:
            chunk = list(itertools.islice(it, self.chunk_documents))
            if not chunk:
                return
            encoded = encode_documents(chunk, self.tokenizer, self._backend)
            scores = self.word_scores(encoded)
            crf = self._crf_numpy()
            paths = self.crf_paths(scores, crf) if crf is not None else [None] * len(scores)
            for enc, sc, ids in zip(encoded, scores, paths, strict=True):
                yield enc.doc.with_spans(self.decode(enc, sc, crf, paths=ids))

    def word_scores(self, encoded: Sequence[EncodedDocument]) -> list[np.ndarray]:
        """Per document, (W, T, K) word-level scores: log-probabilities, or CRF emissions.

        Logit averaging ensembles of models that share a tokenizer average these.
        """
        sub = self.subword_logits(encoded)
        out = []
        for enc, logits in zip(encoded, sub, strict=True):
            out.append(self._to_words(enc, logits))
        return out

    def subword_logits(self, encoded: Sequence[EncodedDocument]) -> list[np.ndarray]:
        """Per document, (N, T, K) logits pooled over overlapping windows.

        Three stages, each its own method so that a service's batcher can run the middle one
        on windows gathered from many requests: :meth:`plan_windows` (subword ranges),
        :meth:`forward_windows` (the only stage that touches the network) and
        :meth:`pool_logits` (overlapping windows averaged back into one array per document).
        """
        doc_windows = self.plan_windows(encoded)
        rows = [enc.ids[a:b] for enc, wins in zip(encoded, doc_windows, strict=True) for a, b in wins]
        return self.pool_logits(encoded, doc_windows, self.forward_windows(rows))

    def plan_windows(self, encoded: Sequence[EncodedDocument]) -> list[list[tuple[int, int]]]:
        """Per document, the (start, end) subword ranges of its windows, as the model was trained."""
        from clinicalner.model.subword_windows import window_ranges

        cls_id, sep_id, _ = self._specials
        size = self.max_length - (cls_id is not None) - (sep_id is not None)
        stride = max(1, min(self.stride, size))
        return [window_ranges(enc, size, stride, self.windows) for enc in encoded]

    def forward_windows(self, rows: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The forward pass: per window of subword ids, its (len, T*K) emissions, in order.

        Windows are sorted by length and packed into batches of at most ``batch_tokens``
        padded tokens (dynamic padding: a batch of short windows does not pay for a long one).
        """
        import torch

        cls_id, sep_id, pad_id = self._specials
        n_pre = 1 if cls_id is not None else 0
        n_post = 1 if sep_id is not None else 0
        order = sorted(range(len(rows)), key=lambda r: len(rows[r]))
        results: list[np.ndarray | None] = [None] * len(rows)
        model = self.model
        i = 0
        with torch.inference_mode():
            while i < len(order):
                longest = len(rows[order[i]])
                batch: list[int] = []
                while i < len(order):
                    longest = max(longest, len(rows[order[i]]))
                    padded = padded_length(longest + n_pre + n_post, self.device, self.max_length)
                    if batch and (len(batch) + 1) * padded > self.batch_tokens:
                        break
                    batch.append(order[i])
                    i += 1
                length = max(len(rows[r]) for r in batch) + n_pre + n_post
                length = padded_length(length, self.device, self.max_length)
                ids = np.full((len(batch), length), pad_id, dtype=np.int64)
                mask = np.zeros((len(batch), length), dtype=np.int64)
                for k, r in enumerate(batch):
                    m = len(rows[r])
                    if cls_id is not None:
                        ids[k, 0] = cls_id
                    ids[k, n_pre : n_pre + m] = rows[r]
                    if sep_id is not None:
                        ids[k, n_pre + m] = sep_id
                    mask[k, : n_pre + m + n_post] = 1
                t_ids = torch.from_numpy(ids).to(self.device)
                t_mask = torch.from_numpy(mask).to(self.device)
                with self._autocast():
                    em = model(t_ids, t_mask)
                em = em.float().cpu().numpy()
                self.tokens_seen += int(mask.sum())
                for k, r in enumerate(batch):
                    m = len(rows[r])
                    results[r] = em[k, n_pre : n_pre + m].reshape(m, -1)
        return [r for r in results if r is not None]

    def pool_logits(
        self,
        encoded: Sequence[EncodedDocument],
        doc_windows: Sequence[Sequence[tuple[int, int]]],
        emissions: Sequence[np.ndarray],
    ) -> list[np.ndarray]:
        """Per document, (N, T, K) logits: the windows' emissions (in plan order) averaged where
        they overlap."""
        from clinicalner.text.windows import pool_windows

        n_types, n_tags = len(self.labels), len(self.tags)
        out = []
        k = 0
        for enc, wins in zip(encoded, doc_windows, strict=True):
            if not wins:
                out.append(np.zeros((0, n_types, n_tags), dtype=np.float32))
                continue
            flat = list(emissions[k : k + len(wins)])
            k += len(wins)
            pooled = pool_windows(enc.n_subwords, list(wins), flat)
            out.append(np.asarray(pooled, dtype=np.float32).reshape(enc.n_subwords, n_types, n_tags))
        return out

    def decode_document(self, enc: EncodedDocument, logits: np.ndarray) -> list[Span]:
        """Pooled subword logits of one document to its post-processed spans (what ``tag`` does)."""
        return self.decode(enc, self._to_words(enc, logits))

    def decode(
        self,
        enc: EncodedDocument,
        scores: np.ndarray,
        crf: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | str | None = "own",
        paths: np.ndarray | None = None,
    ) -> list[Span]:
        """Word scores (W, T, K) to post-processed character spans with confidences.

        ``crf`` overrides the model's own CRF scores (a logit-averaging ensemble passes the
        members' mean); ``None`` decodes without a CRF. ``paths`` (W, T): the CRF's tag
        indices already decoded for this document by :meth:`crf_paths` (batched); without it
        each type is Viterbi-decoded here.
        """
        from clinicalner.tag_sequences.decode import viterbi

        spans: list[Span] = []
        if isinstance(crf, str):
            crf = self._crf_numpy()
        text = enc.doc.text
        scheme = self.config.scheme
        for t, label in enumerate(self.labels):
            if enc.words.shape[0] == 0:
                continue
            sc = scores[:, t]
            if crf is not None:
                if paths is not None:
                    ids = paths[:, t]
                else:
                    trans, start, end = crf[t]
                    ids = np.asarray(viterbi(sc, trans, start, end, *self._allowed), dtype=np.int64)
                probs = _softmax(sc)
            else:
                probs = np.exp(sc)
                ids = self._repaired_argmax(sc)
            runs = word_runs(ids, scheme, self.tags)
            if not len(runs):
                continue
            # Confidence: the mean probability of the chosen tag over the mention's words.
            chosen = np.cumsum(probs[np.arange(ids.shape[0]), ids], dtype=np.float64)
            chosen = np.concatenate(([0.0], chosen))
            conf = (chosen[runs[:, 1] + 1] - chosen[runs[:, 0]]) / (runs[:, 1] - runs[:, 0] + 1)
            char_starts = enc.words[runs[:, 0], 0].tolist()
            char_ends = enc.words[runs[:, 1], 1].tolist()
            for s, e, c in zip(char_starts, char_ends, conf.tolist(), strict=True):
                if c < self.threshold:
                    continue
                spans.append(Span(s, e, label, text[s:e], round(c, 4)))
        if self.postprocess:
            from clinicalner.predict.postprocess import PostprocessConfig, postprocess

            cfg = self.postprocess if isinstance(self.postprocess, PostprocessConfig) else PostprocessConfig()
            may_join = self.join_test(enc, scores, crf is not None, cfg.merge_min_ratio)
            spans = postprocess(text, spans, cfg, enc.doc.language, may_join, words=enc.words)
        return sorted(spans, key=lambda s: (s.start, s.end, s.label))

    def crf_paths(
        self,
        scores: Sequence[np.ndarray],
        crf: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
        max_positions: int = 65536,
    ) -> list[np.ndarray]:
        """Per document, (W, T) Viterbi tag indices for every type, decoded in batches.

        The (document, type) sequences go through a vectorised Viterbi
        (:func:`clinicalner.tag_sequences.decode.viterbi_batch`) in groups of documents of similar
        length, each group padded to at most ``max_positions`` word positions (bounded memory
        however long one note is): the step-by-step decoder's Python loop per word and
        sequence was what made a CRF slower to tag with than softmax heads.
        """
        from clinicalner.tag_sequences.decode import viterbi_batch

        n_types, n_tags = len(self.labels), len(self.tags)
        trans = np.stack([np.asarray(c[0], dtype=np.float64) for c in crf])
        start = np.stack([np.asarray(c[1], dtype=np.float64) for c in crf])
        end = np.stack([np.asarray(c[2], dtype=np.float64) for c in crf])
        out: list[np.ndarray] = [np.zeros((0, n_types), dtype=np.int64) for _ in scores]
        order = sorted((d for d, sc in enumerate(scores) if sc.shape[0]), key=lambda d: scores[d].shape[0])
        i = 0
        while i < len(order):
            group = [order[i]]
            i += 1
            while i < len(order) and (len(group) + 1) * scores[order[i]].shape[0] <= max_positions:
                group.append(order[i])
                i += 1
            lengths = np.asarray([scores[d].shape[0] for d in group], dtype=np.int64)
            longest = int(lengths.max())
            # Rows ordered (document, type); padded positions are masked by the lengths.
            em = np.zeros((len(group), n_types, longest, n_tags), dtype=np.float64)
            for g, d in enumerate(group):
                em[g, :, : lengths[g]] = scores[d].transpose(1, 0, 2)
            flat = viterbi_batch(
                em.reshape(len(group) * n_types, longest, n_tags),
                np.repeat(lengths, n_types),
                np.tile(trans, (len(group), 1, 1)),
                np.tile(start, (len(group), 1)),
                np.tile(end, (len(group), 1)),
                *self._allowed,
            ).reshape(len(group), n_types, longest)
            for g, d in enumerate(group):
                out[d] = flat[g, :, : lengths[g]].T.copy()
        return out

    def join_test(
        self, enc: EncodedDocument, scores: np.ndarray, emissions: bool, min_ratio: float
    ) -> Callable[[Span, Span], bool] | None:
        """The model's own say on joining two same-type spans across a joiner gap (``HTA/DM``).

        Splitting a mention is the decoder's argmax choice, so the split reading is always the
        more probable one under the word-level marginals; the question is by how much. The
        ratio P(joined)/P(split) multiplies, over the gap words, P(inside)/P(O) and, at the
        first word of the right span, P(inside)/P(begin) (inside = I or E, begin = B or S);
        the spans are joined when it is at least ``min_ratio``. ``min_ratio`` 0 (or less)
        leaves the surface rule alone. CRF emissions are normalised per word first: they stand
        in for the marginals the CRF does not compute, so for a CRF model the test is rougher.
        """
        if min_ratio <= 0 or enc.words.shape[0] == 0:
            return None
        tags = self.tags
        word_starts = enc.words[:, 0]
        threshold = float(np.log(min_ratio))
        type_index = {label: t for t, label in enumerate(self.labels)}
        gains: list[np.ndarray] = []  # filled on the first question: most documents ask none

        def mass(logp: np.ndarray, names: tuple[str, ...]) -> np.ndarray | None:
            idx = [tags.index(x) for x in names if x in tags]
            return np.logaddexp.reduce(logp[:, :, idx], axis=-1) if idx else None

        def may_join(left: Span, right: Span) -> bool:
            t = type_index.get(left.label)
            if t is None:
                return True
            last = int(np.searchsorted(word_starts, left.end - 1, side="right")) - 1
            first = int(np.searchsorted(word_starts, right.start, side="right")) - 1
            if first <= last:
                return True
            if not gains:
                logp = _log_softmax(scores) if emissions else scores
                inside, begin = mass(logp, ("I", "E")), mass(logp, ("B", "S"))
                assert inside is not None  # every scheme has I
                gains.append(inside - logp[:, :, tags.index("O")])  # log P(I)/P(O) per word, type
                gains.append(inside - begin if begin is not None else np.zeros_like(inside))
            gap_gain, start_gain = gains
            gain = float(gap_gain[last + 1 : first, t].sum() + start_gain[first, t])
            return gain >= threshold

        return may_join

    # -- internals --------------------------------------------------------------------
    def _repaired_argmax(self, scores: np.ndarray) -> np.ndarray:
        """Each word's best tag, repaired into a valid sequence (see ``tag_sequences.decode.repair``).

        For one type in BIO the only repair is ``I`` with nothing open becoming ``B``, and IO
        needs none: both are done on the array. BIOES goes through the general repair.
        """
        ids = scores.argmax(1).astype(np.int64)
        scheme, tags = self.config.scheme, self.tags
        if scheme == "BIO" and ids.size:
            o, b, i = tags.index("O"), tags.index("B"), tags.index("I")
            prev = np.concatenate(([o], ids[:-1]))
            ids[(ids == i) & (prev == o)] = b
        elif scheme != "IO":
            from clinicalner.tag_sequences.decode import repair

            index = {t: k for k, t in enumerate(tags)}
            ids = np.asarray(
                [index[x] for x in repair([tags[k] for k in ids.tolist()], scheme)], dtype=np.int64
            )
        return ids

    def _to_words(self, enc: EncodedDocument, logits: np.ndarray) -> np.ndarray:
        n_types, n_tags = len(self.labels), len(self.tags)
        w = enc.words.shape[0]
        crf = self.model.crfs is not None
        if not crf:
            logits = _log_softmax(logits) if logits.size else logits
        out = np.zeros((w, n_types, n_tags), dtype=np.float32)
        o = self.tags.index("O")
        out[:] = -1e4  # a word no subword covers is O with certainty
        out[:, :, o] = 0.0
        has = enc.word_sub >= 0
        if logits.size:
            out[has] = logits[enc.word_sub[has]]
        shared = np.nonzero(enc.word_shared)[0]
        if shared.size:
            # A word inside a piece that began in the previous word continues a span: never B/S.
            for begin, cont in (("B", "I"), ("S", "E")):
                if begin in self.tags and cont in self.tags:
                    bi, ci = self.tags.index(begin), self.tags.index(cont)
                    merged = np.logaddexp(out[shared, :, bi], out[shared, :, ci])
                    out[shared, :, ci] = merged
                    out[shared, :, bi] = -1e4
        return out

    def crf_numpy(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
        """Per type, the CRF's (transitions, start, end) scores, or None without a CRF."""
        return self._crf_numpy()

    def _crf_numpy(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
        scores = self.model.crf_scores()
        if scores is None:
            return None
        return [tuple(x.detach().float().cpu().numpy() for x in triple) for triple in scores]

    def _autocast(self) -> Any:
        from clinicalner.model.precision import autocast

        return autocast(self.precision, self.device)


def quantize_for_cpu(model: Any, device: str) -> Any:
    """Dynamic int8 quantisation of the encoder's linear layers, for tagging on CPU.

    Weights are stored in int8 (one scale per output channel) and activations quantised on
    the fly, per tensor: the matrix products run on int8 kernels. The kinds of layer whose
    inputs carry large outliers (the FFN output projection, fed by GELU) lose most of the
    accuracy when quantised, so they stay float32 with the heads and CRFs
    (:data:`~clinicalner.model.quantize.DEFAULT_SKIP`; the per-kind study is
    ``benchmarks/bench_quantize.py``). Training never uses it.
    """
    if device != "cpu":
        raise ValueError("quantize works on CPU only; tag on a GPU without it")
    from clinicalner.model.quantize import DEFAULT_SKIP, LAYER_KINDS, quantize_layers

    kinds = [k for k in LAYER_KINDS if k not in DEFAULT_SKIP]
    return quantize_layers(model, kinds, per_channel=True)


def _pick_runtime(runtime: str, folder: str | Path | None, device: str) -> str:
    """``torch`` or ``onnx`` for a tagger of ``folder`` (None: a model object, torch only)."""
    from clinicalner.export.onnx_model import ONNX_FILE

    if runtime not in ("auto", "torch", "onnx"):
        raise ValueError(f"runtime must be auto, torch or onnx, not {runtime!r}")
    has_graph = folder is not None and (Path(folder) / ONNX_FILE).is_file()
    if runtime == "auto":
        runtime = "onnx" if has_graph and device in ("auto", "cpu") else "torch"
    elif runtime == "onnx":
        if not has_graph:
            where = "a model object" if folder is None else f"{folder}"
            raise FileNotFoundError(
                f"{where}: no {ONNX_FILE} to run; write one with `clinicalner export MODEL --to onnx "
                "--output DIR` and tag with DIR"
            )
        if device not in ("auto", "cpu"):
            raise ValueError(f"the onnx runtime tags on the CPU; device {device!r} needs --runtime torch")
    if runtime == "onnx":
        from clinicalner.extras import require

        require({"onnxruntime": "onnx"}, "the onnx runtime")
    return runtime


def _position_limit(model: Any) -> int | None:
    """The longest window the encoder can take (its learned position embeddings), if known."""
    cfg = getattr(getattr(model, "encoder", None), "config", None)
    n = getattr(cfg, "max_position_embeddings", None)
    if not isinstance(n, int):
        return None
    # RoBERTa-style encoders offset positions by padding_idx + 1.
    if getattr(cfg, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
        n -= 2
    return n


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def _softmax(x: np.ndarray) -> np.ndarray:
    return np.exp(_log_softmax(x))
