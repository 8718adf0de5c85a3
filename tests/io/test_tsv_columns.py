"""The columnar TSV reader gives what the row reader gives: rows, documents, order and errors."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from clinicalner.errors import CorpusError, Problems
from clinicalner.io.multiclinai import read_bare
from clinicalner.io.tsv_columns import read_span_columns

HEADER = "filename\tlabel\tstart_span\tend_span\ttext\tscore\n"


def _rows_by_reader(
    path: Path, lenient: bool
) -> tuple[list[tuple[str, int, int, str]], list[str], list[str]]:
    """(doc, start, end, label) grouped by document as read_bare yields them; the documents; problems."""
    problems = Problems(lenient, [])
    docs = list(read_bare(path, problems))
    rows = [(d.id, s.start, s.end, s.label) for d in docs for s in d.spans]
    return rows, [d.id for d in docs], [str(e) for e in problems.skipped]


def _rows_by_columns(
    path: Path, lenient: bool
) -> tuple[list[tuple[str, int, int, str]], list[str], list[str]]:
    problems = Problems(lenient, [])
    c = read_span_columns(path, problems)
    order = np.argsort(c.doc, kind="stable")
    rows = [
        (c.doc_names[d], s, e, c.label_names[lab])
        for d, s, e, lab in zip(
            c.doc[order].tolist(),
            c.start[order].tolist(),
            c.end[order].tolist(),
            c.label[order].tolist(),
            strict=True,
        )
    ]
    return rows, list(c.doc_names), [str(e) for e in problems.skipped]


def _same(path: Path, lenient: bool = True) -> list[tuple[str, int, int, str]]:
    expected = _rows_by_reader(path, lenient)
    got = _rows_by_columns(path, lenient)
    assert got == expected
    return got[0]


def _write(tmp_path: Path, body: str | bytes, name: str = "p.tsv") -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode("utf-8") if isinstance(body, str) else body)
    return path


def test_plain_file(tmp_path: Path) -> None:
    body = HEADER + "a\tDISEASE\t0\t4\tgrip\t\nb\tSYMPTOM\t3\t9\tdolor\t0.5\na\tDISEASE\t10\t12\tx\t\n"
    rows = _same(_write(tmp_path, body))
    assert rows == [("a", 0, 4, "DISEASE"), ("a", 10, 12, "DISEASE"), ("b", 3, 9, "SYMPTOM")]


@pytest.mark.parametrize(
    "body",
    [
        "",
        "\n\n",
        HEADER,
        HEADER.replace("\n", "\r\n") + "a\tDISEASE\t0\t4\tgrip\t\r\nb\tSYMPTOM\t3\t9\tdolor\t\r\n",  # CRLF
        "\ufeff" + HEADER + "a\tDISEASE\t0\t4\tgrip\t\n",  # BOM
        HEADER + "a\tDISEASE\t0\t4\tgrip\t",  # no line break at the end
        "a\tDISEASE\t0\t4\tgrip\nb\tSYMPTOM\t3\t9\tdolor\n",  # no header
        "\n\n" + HEADER + "\na\tDISEASE\t0\t4\tgrip\t\n\n",  # empty lines
        "doc_id\ttype\toff0\toff1\tspan\na.TXT\tD\t1\t2\tx\nb.txt\tD\t1\t2\tx\n",  # other header, .txt names
        HEADER + "a\tD\t1\t2\tx\t\na\tD\t1\t2\tx\t\na\tD\t1\t2\tx\t\n",  # duplicates kept
        HEADER + " a \t D \t 5 \t 7 \tzz\t1\na\tD\t5\t7\tzz\t\n",  # spaces around values: one document
        HEADER + "a\tD\t007\t0012\tx\t\n",  # leading zeros
        HEADER + 'a\tD\t1\t9\t"dolor ""x"""\t\nb\tD\t1\t2\tsay "hi"\t\n',  # quoted, and a quote inside
        HEADER + 'a\tD\t1\t9\t"two\nlines"\t\nb\tD\t1\t2\tx\t\n',  # a quoted field over two lines
        HEADER + 'a\tD\t1\t9\t"never closed\t\nb\tD\t1\t2\tx\t\n',  # a quote taken as written
        HEADER + '"a"\tD\t1\t9\tx\t\nb\tD\t1\t2\tx\t\n',  # a quoted name
        HEADER + "a\tD\t1\t9\tdol\tor\t\n",  # a tab in the text spills over
        HEADER + "a\tD\t3.0\t9\tx\t\n",  # an integral float offset
        HEADER + "a\tD\t1\t9\tx\t1e-3\n",  # a score float() reads but the columns do not
        HEADER + "\u00e9l\tD\u00c9\t1\t9\tx\t\n\u00e9l\tD\u00c9\t2\t9\tx\t\n",  # non-ASCII names and labels
        HEADER + "a\rb\tD\t1\t9\tx\t\n",  # a lone \r inside a name
        HEADER + "a\tD\t1\t9\tx\t\n   \nb\tD\t1\t2\tx\t\n",  # a line of spaces
        HEADER + "x" * 70 + "\tD\t1\t9\tx\t\n" + "x" * 69 + "y\tD\t1\t9\tx\t\n",  # long names
    ],
)
def test_edge_cases_read_as_the_row_reader_reads_them(tmp_path: Path, body: str) -> None:
    _same(_write(tmp_path, body))


@pytest.mark.parametrize(
    "row",
    [
        "a\tD\tx\t9\tbad\t",  # a bad offset
        "a\tD\t\u0663\t9\tu\t",  # a non-ASCII digit
        "a\tD\t1\t2\ty\tnope",  # a bad score
        "\tD\t1\t2\ty\t",  # an empty name
        "a\t \t1\t2\ty\t",  # an empty label
        "a\tD\t1",  # too few columns
        "a\tD\t-1\t2\ty\t",  # a negative offset
    ],
)
def test_bad_rows_raise_the_row_readers_error_with_file_and_line(tmp_path: Path, row: str) -> None:
    path = _write(tmp_path, HEADER + "a\tD\t0\t4\tgrip\t\n" + row + "\nb\tD\t0\t4\tgrip\t\n")
    with pytest.raises(CorpusError) as expected:
        list(read_bare(path, Problems()))
    with pytest.raises(CorpusError) as got:
        read_span_columns(path, Problems())
    assert str(got.value) == str(expected.value)
    assert "p.tsv" in str(got.value) and ":3" in str(got.value)
    _same(path, lenient=True)  # skipped and counted alike


def test_bad_utf8_and_nul_bytes(tmp_path: Path) -> None:
    bad = _write(tmp_path, HEADER.encode() + b"a\tD\t1\t2\t\xff\t\n")
    with pytest.raises(CorpusError) as expected:
        list(read_bare(bad, Problems()))
    with pytest.raises(CorpusError) as got:
        read_span_columns(bad, Problems())
    assert str(got.value) == str(expected.value)
    _same(_write(tmp_path, HEADER.encode() + b"a\x00\tD\t1\t2\tx\t\nb\tD\t1\t2\tx\t\n", "nul.tsv"))


def test_an_offset_too_large_for_the_arrays_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "a\tD\t1\t2\tx\t\na\tD\t99999999999999999999\t9\tx\t\n")
    with pytest.raises(CorpusError, match=r"p\.tsv:3: offset 99999999999999999999 is too large"):
        read_span_columns(path, Problems())


def test_a_bad_header_is_the_row_readers_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "this is a note, not a TSV\nsecond line\n")
    with pytest.raises(CorpusError) as expected:
        list(read_bare(path, Problems()))
    with pytest.raises(CorpusError) as got:
        read_span_columns(path, Problems())
    assert str(got.value) == str(expected.value)


def _random_line(rng: random.Random, names: list[str], crlf: bool) -> str:
    name = rng.choice(names)
    label = rng.choice(["DISEASE", "SYMPTOM", "PROCEDURE", "D"])
    a = rng.randrange(0, 3000)
    b = a + rng.randrange(-2, 40)
    text = rng.choice(["fiebre", "dolor de cabeza", 'say "x"', "", "a b"])
    score = rng.choice(["", "", "0.5", "1", "0.25"])
    fields = [name, label, str(a), str(b), text, score]
    roll = rng.random()
    if roll < 0.03:
        fields[0] = f" {name} "
    elif roll < 0.05:
        fields[0] = name + rng.choice([".txt", ".TXT"])
    elif roll < 0.07:
        fields[4] = '"' + text.replace('"', '""') + rng.choice(["", "\nmore", "\tx"]) + '"'
    elif roll < 0.08:
        fields[2] = rng.choice(["x", "3.0", " 4", "+5", "\u0663", ""])
    elif roll < 0.09:
        fields[5] = rng.choice(["nan", "1e-2", "bad", ".5", "5."])
    elif roll < 0.10:
        fields.append("spill")
    elif roll < 0.11:
        return rng.choice(["", "   ", "a\tb"]) + ("\r\n" if crlf else "\n")
    return "\t".join(fields) + ("\r\n" if crlf and rng.random() < 0.9 else "\n")


@pytest.mark.parametrize("seed", range(12))
def test_random_files_read_alike(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    names = [f"doc{i}" for i in range(rng.randint(1, 30))]
    crlf = seed % 3 == 0
    lines = [_random_line(rng, names, crlf) for _ in range(rng.randint(0, 400))]
    if seed % 2:
        lines.sort()  # grouped by document, as files usually are
    body = ("\ufeff" if seed % 4 == 1 else "") + HEADER + "".join(lines)
    _same(_write(tmp_path, body))


def test_utf8_check_agrees_with_the_decoder() -> None:
    from clinicalner.io.tsv_columns import _valid_utf8

    rng = random.Random(0)
    pieces = [b"a", b"\t", "é".encode(), "€".encode(), "𝄞".encode(), b"\x80", b"\xbf", b"\xc0", b"\xc1"]
    pieces += [b"\xc2", b"\xdf", b"\xe0", b"\xe0\x9f\x80", b"\xed\xa0\x80", b"\xed\x9f\xbf", b"\xf0\x8f\xbf"]
    pieces += [b"\xf4\x90\x80\x80", b"\xf4\x8f\xbf\xbf", b"\xf5", b"\xff", b"\xef\xbb\xbf"]
    for _ in range(3000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        try:
            data.decode("utf-8")
            ok = True
        except UnicodeDecodeError:
            ok = False
        assert _valid_utf8(np.frombuffer(data, dtype=np.uint8)) == ok, data
