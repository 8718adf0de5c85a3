"""A bare MultiClinAI TSV read straight into columns: document codes, label codes, start, end.

Why: scoring half a million predicted spans takes a few hundredths of a second once they are
arrays, but reading them as one ``Span`` per row (and a ``Document`` per name) took seconds.
Here the file's bytes are cut with numpy: line and tab positions, offsets parsed as digit
columns, document names and labels factorised by their bytes, so that only each *distinct*
name and label becomes a Python string. No ``Span`` is made.

Every row is read exactly as :func:`clinicalner.io.multiclinai.row_tuples` reads it (and
``read_bare`` groups it). A row that is not plain (a field opening with a quote, a number of
fields other than the header's, an offset that is not ASCII digits, a score that is not
``digits[.digits]``, an empty name or label) goes through that module's row parser, one row at
a time and in file order, so its value, or its error naming file and line, is the same. The
rest of the file stays columnar. A file with a NUL byte, or whose header line holds a quote, is
read entirely by the row parser.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import as_strided

from clinicalner.errors import CorpusError, Problems
from clinicalner.io.common import decode, read_bytes
from clinicalner.io.multiclinai import (
    Row,
    SpanRow,
    _Columns,
    _columns,
    _fields,
    _parse_quoted,
    _rows,
    row_tuples,
)

Array = np.ndarray

_TAB, _NL, _CR, _QUOTE, _DOT = 9, 10, 13, 34, 46
BOM_BYTES = b"\xef\xbb\xbf"
_CHUNK = 1 << 16  # rows per block when names are gathered into a matrix
_MAX_DIGITS = 18  # an offset of more digits goes through the row parser (int64 holds 18 safely)
_LIMIT = 2**62  # offsets from here on are refused: int64 arrays, and sums of two must not overflow
_MAX_SCORE = 32  # a longer score goes through the row parser


@dataclass
class SpanColumns:
    """The span rows of one bare TSV, in file order, as parallel arrays.

    ``doc`` indexes ``doc_names``, numbered in order of first appearance (the order in which
    ``read_bare`` yields the documents); ``label`` indexes ``label_names`` (any order).
    """

    path: Path
    doc: Array
    doc_names: list[str]
    label: Array
    label_names: list[str]
    start: Array
    end: Array

    def __len__(self) -> int:
        return len(self.start)


def read_span_columns(path: str | Path, problems: Problems) -> SpanColumns:
    """The rows of a bare TSV as :class:`SpanColumns`; bad rows go to ``problems`` as when read row by row."""
    path = Path(path)
    raw = read_bytes(path)
    if b"\x00" in raw:
        return _from_rows(path, row_tuples(path, problems))
    whole = np.frombuffer(raw, dtype=np.uint8)
    if not raw.isascii() and not _valid_utf8(whole):
        decode(raw, path)  # raises the reader's own error, naming the byte and its line
    content_start = 3 if raw.startswith(BOM_BYTES) else 0
    buf = whole[content_start:]
    # Every tab and line break in one pass: p (positions), c (which byte).
    p = np.flatnonzero(buf <= _CR)
    c = buf[p]
    is_nl = c == _NL
    nl = p[is_nl]
    starts = np.concatenate([[0], nl + 1])
    ends = np.concatenate([nl, [len(buf)]])
    if starts[-1] == len(buf):  # the text ends with a line break: no last, empty line
        starts, ends = starts[:-1], ends[:-1]
    lines = _Lines(raw, content_start, starts, ends)
    cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == _CR)
    stripped = ends - cr  # each line without its \r
    nonempty = np.flatnonzero(stripped > starts)
    if len(nonempty) == 0:
        return _from_rows(path, iter(()))
    h = int(nonempty[0])
    if '"' in lines[h]:
        return _from_rows(path, row_tuples(path, problems))
    first = Row(h + 1, _fields(lines[h]))
    cols, had_header = _columns(first, path)

    # Lines holding a field that opens with a quote: the row parser decides where their record
    # ends (it may run over following lines), in order, as row_tuples does.
    slow: dict[int, Row] = {}  # first line of a record -> the record, for the row parser
    consumed = np.zeros(len(starts), dtype=bool)
    consumed[: h + 1] = True  # empty lines, and the header (or the first row: the row parser)
    if not had_header:
        slow[h] = first
    if b'"' in raw:
        q = np.flatnonzero(buf == _QUOTE)
        line_of_q = np.searchsorted(starts, q, side="right") - 1
        opens = (q == starts[line_of_q]) | (buf[np.maximum(q - 1, 0)] == _TAB)
        free = h + 1
        for i in np.unique(line_of_q[opens]).tolist():
            if i < free:
                continue
            row, nxt = _parse_quoted(lines, i)  # type: ignore[arg-type]
            row.line = i + 1
            slow[i] = row
            consumed[i:nxt] = True
            free = nxt

    # Tabs per line (each separator's line is the number of line breaks before it).
    line_of_sep = np.cumsum(is_nl) - is_nl
    is_tab = c == _TAB
    tab_line = line_of_sep[is_tab]
    tabs = p[is_tab]
    n_tabs = np.bincount(tab_line, minlength=len(starts))[: len(starts)]
    width = cols.width
    candidate = ~consumed & (stripped > starts)
    good = candidate & (n_tabs == width - 1)
    rows = np.flatnonzero(good)
    first_tab = (np.cumsum(n_tabs) - n_tabs)[rows]
    bounds = [starts[rows]]
    bounds += [tabs[first_tab + k] for k in range(width - 1)]
    bounds.append(stripped[rows])

    def field(k: int) -> tuple[Array, Array]:
        return (bounds[k] if k == 0 else bounds[k] + 1), bounds[k + 1]

    ix = cols.index
    name_f, label_f = field(ix["filename"]), field(ix["label"])
    pad = _pad(max(_max_len(name_f, label_f), _MAX_DIGITS, _MAX_SCORE))
    bufp = np.concatenate([np.zeros(pad, np.uint8), buf, np.zeros(pad, np.uint8)])
    start_v, ok = _digits(bufp, pad, *field(ix["start"]))
    end_v, ok_e = _digits(bufp, pad, *field(ix["end"]))
    ok &= ok_e
    if "score" in ix:
        ok &= _plain_score(bufp, pad, *field(ix["score"]))
    name_code, name_raw = _factorise(bufp, pad, *name_f)
    label_code, label_raw = _factorise(bufp, pad, *label_f)
    names = [_doc_name(b.decode("utf-8")) for b in name_raw]
    labels = [b.decode("utf-8").strip() for b in label_raw]
    if not all(names):
        ok &= ~np.isin(name_code, [i for i, n in enumerate(names) if not n])
    if not all(labels):
        ok &= ~np.isin(label_code, [i for i, n in enumerate(labels) if not n])

    for i in np.flatnonzero(candidate & ~good).tolist() + rows[~ok].tolist():
        slow[i] = Row(i + 1, _fields(lines[i]))
    return _assemble(
        path,
        cols,
        problems,
        slow,
        rows[ok],
        (name_code[ok], names),
        (label_code[ok], labels),
        start_v[ok],
        end_v[ok],
    )


def _valid_utf8(buf: Array) -> bool:
    """Whether ``buf`` is valid UTF-8 as Python's strict decoder sees it, without decoding it.

    Only the non-ASCII bytes are looked at: every lead byte must be followed by as many
    continuation bytes as it announces (with the decoder's limits on the second byte: no
    overlong forms, no surrogates, nothing past U+10FFFF), and no other continuation byte may
    exist. About four times cheaper than ``bytes.decode`` on a mostly ASCII file.
    """
    at = np.flatnonzero(buf >= 0x80)
    b = buf[at]
    need = np.select([b < 0xC2, b < 0xE0, b < 0xF0, b < 0xF5], [0, 1, 2, 3], -1)
    lead = need > 0
    if (need < 0).any() or (b[~lead] >= 0xC0).any():  # C0, C1, F5-FF; or a lead that announces nothing
        return False
    if int(need.sum()) != int((~lead).sum()):  # continuation bytes that no lead announces
        return False
    n = len(buf)
    lead_at, lead_b, lead_need = at[lead], b[lead], need[lead]
    for k in (1, 2, 3):
        has = lead_need >= k
        pos = lead_at[has] + k
        if (pos >= n).any():
            return False
        nxt = buf[pos]
        lo = np.full(len(nxt), 0x80, dtype=np.int64)
        hi = np.full(len(nxt), 0xBF, dtype=np.int64)
        if k == 1:
            first = lead_b[has]
            lo[first == 0xE0], hi[first == 0xED] = 0xA0, 0x9F
            lo[first == 0xF0], hi[first == 0xF4] = 0x90, 0x8F
        if ((nxt < lo) | (nxt > hi)).any():
            return False
    return True


def _doc_name(value: str) -> str:
    name = value.strip()
    return name[:-4] if name.lower().endswith(".txt") else name


def _max_len(*fields: tuple[Array, Array]) -> int:
    return max((int((hi - lo).max()) for lo, hi in fields if len(lo)), default=0)


def _pad(n: int) -> int:
    return -(-max(n, 1) // 8) * 8


def _gather(bufp: Array, at: Array, width: int) -> Array:
    """A (rows, width) copy of ``bufp[at[i] : at[i] + width]`` for every row, with no index matrix."""
    windows = as_strided(bufp, shape=(len(bufp) - width + 1, width), strides=(1, 1))
    return windows[at]


def _digits(bufp: Array, pad: int, lo: Array, hi: Array) -> tuple[Array, Array]:
    """The whole numbers written in ``buf[lo:hi]`` (ASCII digits only), and which rows are such.

    ``bufp`` is the buffer with ``pad`` zero bytes before and after it.
    """
    length = hi - lo
    ok = (length > 0) & (length <= _MAX_DIGITS)
    if not ok.any():
        return np.zeros(len(lo), dtype=np.int64), ok
    width = int(length[ok].max())
    mat = _gather(bufp, hi + pad - width, width)  # right-aligned: leading bytes belong to others
    outside = np.arange(width)[None, :] < (width - length)[:, None]
    mat[outside] = 48  # a leading zero
    mat -= 48  # a byte below '0' wraps round to a large value
    ok &= (mat <= 9).all(axis=1)
    value = np.zeros(len(lo), dtype=np.int64)
    for k in range(width):
        value *= 10
        value += mat[:, k]
    return value, ok


def _plain_score(bufp: Array, pad: int, lo: Array, hi: Array) -> Array:
    """Rows whose score is empty or ``digits[.digits]`` (what ``float`` surely reads)."""
    length = hi - lo
    ok = length <= _MAX_SCORE
    width = int(length[ok].max()) if ok.any() else 0
    if width == 0:
        return ok
    mat = _gather(bufp, lo + pad, width)
    col = np.arange(width)[None, :]
    inside = col < length[:, None]
    digit = (mat >= 48) & (mat <= 57)
    dot = inside & (mat == _DOT) & (col > 0) & (col < length[:, None] - 1)
    return ok & ((~inside) | digit | dot).all(axis=1) & (dot.sum(axis=1) <= 1)


def _factorise(bufp: Array, pad: int, lo: Array, hi: Array) -> tuple[Array, list[bytes]]:
    """Codes of the byte strings ``buf[lo:hi]`` and the distinct strings, without one object per row.

    Each string is read as zero-padded 8-byte words (unaligned loads, no byte matrix); rows
    equal to the row before them (a file lists a document's spans together) are found by
    comparing neighbours, and only the first row of each run is sorted into distinct values,
    by a 64-bit mix of its words that is then checked word for word (exact; a collision, which
    the check would catch, falls back to sorting the words themselves).
    """
    n = len(lo)
    if n == 0:
        return np.zeros(0, dtype=np.int64), []
    length = hi - lo
    n_words = _pad(int(length.max())) // 8
    words8 = np.ndarray(shape=(len(bufp) - 7,), dtype="<u8", buffer=bufp.data, strides=(1,))
    keep = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
    words = []
    for j in range(n_words):
        w = words8[lo + pad + 8 * j]
        w &= keep[np.clip(length - 8 * j, 0, 8)]
        words.append(w)
    new_run = np.ones(n, dtype=bool)
    same = np.ones(n - 1, dtype=bool)
    for w in words:
        same &= w[1:] == w[:-1]
    new_run[1:] = ~same
    heads = np.flatnonzero(new_run)
    head_words = [w[heads] for w in words]
    mix = np.zeros(len(heads), dtype=np.uint64)
    for j, w in enumerate(head_words):
        mix ^= w * np.uint64(0x9E3779B97F4A7C15 + 2 * j)
        mix = (mix << np.uint64(31)) | (mix >> np.uint64(33))
    _, first, inverse = np.unique(mix, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if not all(bool((w == w[first][inverse]).all()) for w in head_words):  # pragma: no cover - a collision
        matrix = np.stack(head_words, axis=1)
        _, first, inverse = np.unique(matrix, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    distinct = [
        b"".join(int(w[i]).to_bytes(8, "little") for w in head_words).rstrip(b"\x00") for i in first.tolist()
    ]
    run = np.cumsum(new_run) - 1
    return inverse[run].astype(np.int64), distinct


def _assemble(
    path: Path,
    cols: _Columns,
    problems: Problems,
    slow: dict[int, Row],
    lines: Array,
    name: tuple[Array, list[str]],
    label: tuple[Array, list[str]],
    start: Array,
    end: Array,
) -> SpanColumns:
    """Columnar rows and the rows of the row parser, merged in file order; names and labels coded."""
    parsed: list[SpanRow] = []
    for i in sorted(slow):
        parsed.extend(_rows(iter([slow[i]]), cols, path, problems))
    _check_range(path, parsed)
    name_ids: dict[str, int] = {}
    label_ids: dict[str, int] = {}
    name_map = np.array([name_ids.setdefault(n, len(name_ids)) for n in name[1]] or [0], dtype=np.int64)
    label_map = np.array([label_ids.setdefault(x, len(label_ids)) for x in label[1]] or [0], dtype=np.int64)
    extra_doc = np.array([name_ids.setdefault(r[0], len(name_ids)) for r in parsed], dtype=np.int64)
    extra_label = np.array([label_ids.setdefault(r[3], len(label_ids)) for r in parsed], dtype=np.int64)
    if not parsed:
        return _coded(
            path, name_map[name[0]], list(name_ids), label_map[label[0]], list(label_ids), start, end
        )
    line = np.concatenate([lines + 1, np.array([r[7] for r in parsed], dtype=np.int64)])
    order = np.argsort(line, kind="stable")
    doc = np.concatenate([name_map[name[0]], extra_doc])[order]
    lab = np.concatenate([label_map[label[0]], extra_label])[order]
    s = np.concatenate([start, np.array([r[1] for r in parsed], dtype=np.int64)])[order]
    e = np.concatenate([end, np.array([r[2] for r in parsed], dtype=np.int64)])[order]
    return _coded(path, doc, list(name_ids), lab, list(label_ids), s, e)


def _coded(
    path: Path, doc: Array, names: list[str], label: Array, labels: list[str], start: Array, end: Array
) -> SpanColumns:
    """Documents renumbered by first appearance; names and labels no row uses dropped."""
    head = np.flatnonzero(np.concatenate([[True], doc[1:] != doc[:-1]])) if len(doc) else doc
    uniq, first = np.unique(doc[head], return_index=True)  # a first appearance starts a run
    by_first = uniq[np.argsort(head[first], kind="stable")]
    renumber = np.zeros(max(len(names), 1), dtype=np.int64)
    renumber[by_first] = np.arange(len(by_first))
    used_labels = np.flatnonzero(np.bincount(label, minlength=len(labels)))
    relabel = np.zeros(max(len(labels), 1), dtype=np.int64)
    relabel[used_labels] = np.arange(len(used_labels))
    return SpanColumns(
        path,
        renumber[doc],
        [names[i] for i in by_first.tolist()],
        relabel[label],
        [labels[i] for i in used_labels.tolist()],
        start,
        end,
    )


def _check_range(path: Path, rows: list[SpanRow]) -> None:
    """Offsets that fit the scorer's 64-bit arrays, or an error naming the row (the row parser reads any size)."""
    for r in rows:
        if max(r[1], r[2]) >= _LIMIT:
            raise CorpusError(f"offset {max(r[1], r[2])} is too large (at most {_LIMIT - 1})", path, r[7])


def _from_rows(path: Path, rows: Iterator[SpanRow]) -> SpanColumns:
    """SpanColumns from the row parser's tuples (a file the columnar cut leaves to it)."""
    names: dict[str, int] = {}
    labels: dict[str, int] = {}
    doc: list[int] = []
    lab: list[int] = []
    start: list[int] = []
    end: list[int] = []
    rows = list(rows)
    _check_range(path, rows)
    for r in rows:
        doc.append(names.setdefault(r[0], len(names)))
        lab.append(labels.setdefault(r[3], len(labels)))
        start.append(r[1])
        end.append(r[2])
    return _coded(
        path,
        np.array(doc, dtype=np.int64),
        list(names),
        np.array(lab, dtype=np.int64),
        list(labels),
        np.array(start, dtype=np.int64),
        np.array(end, dtype=np.int64),
    )


class _Lines(Sequence[str]):
    """The file's lines (without ``\\n``, with any ``\\r``), decoded only when asked for."""

    def __init__(self, raw: bytes, offset: int, starts: Array, ends: Array) -> None:
        self.raw, self.offset = raw, offset
        self.starts, self.ends = starts, ends

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        o = self.offset
        return self.raw[o + int(self.starts[i]) : o + int(self.ends[i])].decode("utf-8")
