"""`predict --resume`: an interrupted run (an exception, a torn journal line, a SIGKILL) goes on
where it stopped and writes exactly the output an uninterrupted run writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from clinicalner import api
from clinicalner.document import Document
from clinicalner.errors import CorpusError
from clinicalner.predict.resume import journal_path, recover

TERMS = "term\tlabel\nfiebre\tSYMPTOM\ntos\tSYMPTOM\nasma\tDISEASE\nneumonía\tDISEASE\n"
PHRASES = ["Fiebre y tos.", "Sin fiebre.", "Asma bronquial y neumonía.", "Nada.", "tos seca, asma"]


def _setup(tmp_path: Path, n: int) -> tuple[Path, Path]:
    terms = tmp_path / "terms.tsv"
    terms.write_text(TERMS, encoding="utf-8")
    lex = tmp_path / "lex"
    api.lexicon(terms, lex)
    notes = tmp_path / "notes.jsonl"
    with notes.open("w", encoding="utf-8") as f:
        for i in range(n):
            # Distinct texts: the stream tags a repeated text once, from its cache.
            text = f"Nota {i}. " + " ".join(PHRASES[(i * k) % len(PHRASES)] for k in range(1, 2 + i % 4))
            f.write(json.dumps({"id": f"n{i:05d}", "text": text}, ensure_ascii=False) + "\n")
    return lex, notes


class Interrupted(RuntimeError):
    pass


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Make the next ``api.predict`` fail after tagging ``n`` documents."""
    real = api.load_tagger

    class Failing:
        def __init__(self, tagger: Any) -> None:
            self.tagger = tagger
            self.tagged = 0  # over all calls: the stream calls tag once per chunk

        def tag(self, documents: Iterable[Document]) -> Iterator[Document]:
            for doc in self.tagger.tag(documents):
                if self.tagged == n:
                    raise Interrupted("killed")
                self.tagged += 1
                yield doc

    monkeypatch.setattr(api, "load_tagger", lambda *a, **kw: Failing(real(*a, **kw)))


@pytest.mark.parametrize("suffix", [".jsonl", ".tsv"])
def test_an_interrupted_run_resumes_to_the_uninterrupted_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    lex, notes = _setup(tmp_path, 1500)
    reference = tmp_path / f"ref{suffix}"
    api.predict(lex, notes, reference, progress=False)
    out = tmp_path / f"out{suffix}"
    out.write_text("an earlier output, left alone until the new one is complete\n", encoding="utf-8")
    with monkeypatch.context() as m:
        _interrupt_after(m, 700)
        with pytest.raises(Interrupted):
            api.predict(lex, notes, out, progress=False)
    assert out.read_text(encoding="utf-8").startswith("an earlier output")  # never half-written
    journal = journal_path(out)
    done = recover(journal)
    assert 0 < done <= 700  # tagging runs ahead of the journal by at most a chunk
    # A kill in the middle of a line: recovery cuts the torn line off.
    with journal.open("ab") as f:
        f.write(b'{"id": "n99999", "te')
    summary = api.predict(lex, notes, out, progress=False, resume=True)
    assert summary.resumed == done
    assert summary.documents == 1500 - done
    assert out.read_bytes() == reference.read_bytes()
    assert not journal.exists()


def test_resume_refuses_a_changed_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lex, notes = _setup(tmp_path, 600)
    out = tmp_path / "out.jsonl"
    with monkeypatch.context() as m:
        _interrupt_after(m, 400)
        with pytest.raises(Interrupted):
            api.predict(lex, notes, out, progress=False)
    lines = notes.read_text(encoding="utf-8").splitlines()
    notes.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")  # the first note is gone
    with pytest.raises(CorpusError, match="the input changed"):
        api.predict(lex, notes, out, progress=False, resume=True)
    notes.write_text("\n".join(lines[:10]) + "\n", encoding="utf-8")  # shorter than the journal
    with pytest.raises(CorpusError, match="the input only 10"):
        api.predict(lex, notes, out, progress=False, resume=True)


def test_resume_skips_the_documents_of_a_finished_jsonl_output(tmp_path: Path) -> None:
    lex, notes = _setup(tmp_path, 300)
    out = tmp_path / "out.jsonl"
    api.predict(lex, notes, out, progress=False)
    before = out.read_bytes()
    with notes.open("a", encoding="utf-8") as f:  # new notes arrive: only they are tagged
        f.write(json.dumps({"id": "new", "text": "Fiebre."}) + "\n")
    summary = api.predict(lex, notes, out, progress=False, resume=True)
    assert (summary.resumed, summary.documents) == (300, 1)
    after = out.read_bytes()
    assert after.startswith(before) and b'"id": "new"' in after


def test_without_resume_a_stale_journal_is_started_over(tmp_path: Path) -> None:
    lex, notes = _setup(tmp_path, 50)
    out = tmp_path / "out.jsonl"
    journal_path(out).write_text('{"id": "stale", "text": ""}\n', encoding="utf-8")
    summary = api.predict(lex, notes, out, progress=False)
    assert (summary.resumed, summary.documents) == (0, 50)
    assert b'"id": "stale"' not in out.read_bytes()


def test_a_bad_complete_journal_line_is_an_error_naming_it(tmp_path: Path) -> None:
    journal = tmp_path / ".out.jsonl.predict-journal.jsonl"
    journal.write_text('{"id": "a", "text": "x"}\nnot json\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"journal\.jsonl:2: not a journal line"):
        recover(journal)


def test_sigkill_in_the_middle_then_resume(tmp_path: Path) -> None:
    """The real thing: ``clinicalner predict`` killed with SIGKILL while it writes, then resumed."""
    lex, notes = _setup(tmp_path, 6000)
    reference = tmp_path / "ref.jsonl"
    api.predict(lex, notes, reference, progress=False)
    out = tmp_path / "out.jsonl"
    journal = journal_path(out)
    cmd = [sys.executable, "-m", "clinicalner.cli", "predict", str(lex), str(notes), "-o", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([*cmd, "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.stat().st_size > 0:
            break
        time.sleep(0.005)
    assert proc.poll() is None, (
        "the run ended before it could be killed: " + proc.stderr.read().decode()[-500:]
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    done = recover(journal)
    assert 0 < done < 6000
    r = subprocess.run([*cmd, "--no-progress", "--resume"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"resumed: {done} documents" in r.stdout
    assert out.read_bytes() == reference.read_bytes()
