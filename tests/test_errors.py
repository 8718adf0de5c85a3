"""CorpusError messages: a location when there is one, never a placeholder such as ``<input>``."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicalner.document import Document
from clinicalner.errors import CorpusError
from clinicalner.io import write_corpus


def test_message_names_file_and_line_or_says_nothing_it_does_not_know() -> None:
    assert str(CorpusError("bad span", "a.ann", 3)) == "a.ann:3: bad span"
    assert str(CorpusError("bad span", "a.ann")) == "a.ann: bad span"
    assert str(CorpusError("bad span", line=3)) == "line 3: bad span"
    assert str(CorpusError("bad span")) == "bad span"


def test_at_places_an_unlocated_error_and_keeps_a_located_one() -> None:
    assert str(CorpusError("bad id").at("out")) == "out: bad id"
    assert str(CorpusError("bad id", "in.jsonl", 2).at("out")) == "in.jsonl:2: bad id"


@pytest.mark.parametrize("fmt", ["brat", "pubtator"])
def test_a_writer_error_names_the_output_path(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / ("out" if fmt == "brat" else f"out.{fmt}")
    bad = "a/b" if fmt == "brat" else "a|b\tc"
    doc = Document(bad, "fiebre", [], "es")
    with pytest.raises(CorpusError) as info:
        write_corpus([doc], out, fmt)
    assert str(info.value).startswith(f"{out}: "), str(info.value)
    assert "<input>" not in str(info.value)
