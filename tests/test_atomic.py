"""Temp files of a killed write are removed by the next write to the same destination;
those of a live write are not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clinicalner.atomic import atomic_dir, atomic_write, clean_leftovers

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock")


def test_leftovers_of_a_killed_write_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".out.jsonl.k1q2w3.tmp").write_text("{}\n")
    (tmp_path / ".outb.z9y8x7.tmp").mkdir()
    (tmp_path / ".outb.z9y8x7.tmp" / "a.txt").write_text("x")
    (tmp_path / ".unrelated.tmp").write_text("keep")
    with atomic_write(tmp_path / "out.jsonl") as f:
        f.write("{}\n")
    with atomic_dir(tmp_path / "outb") as d:
        (d / "a.txt").write_text("y")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".unrelated.tmp", "out.jsonl", "outb"]


def test_a_swap_killed_between_its_renames_gets_the_previous_folder_back(tmp_path: Path) -> None:
    (tmp_path / ".outb.old").mkdir()
    (tmp_path / ".outb.old" / "a.txt").write_text("previous")
    assert clean_leftovers(tmp_path / "outb") == [tmp_path / ".outb.old"]
    assert (tmp_path / "outb" / "a.txt").read_text() == "previous"


def test_a_live_write_is_never_taken_for_a_leftover(tmp_path: Path) -> None:
    with atomic_write(tmp_path / "out.jsonl") as f:
        f.write("{}\n")
        assert clean_leftovers(tmp_path / "out.jsonl") == []
        with atomic_dir(tmp_path / "outb") as d:
            assert clean_leftovers(tmp_path / "outb") == []
            assert d.exists()
    assert (tmp_path / "out.jsonl").is_file() and (tmp_path / "outb").is_dir()


def test_a_process_killed_mid_write_leaves_nothing_after_the_next_write(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "from clinicalner.atomic import atomic_dir, atomic_write\n"
        "with atomic_write(sys.argv[1] + '/out.jsonl') as f:\n"
        "    f.write('x')\n"
        "    with atomic_dir(sys.argv[1] + '/outb') as d:\n"
        "        (d / 'a.txt').write_text('x')\n"
        "        os._exit(9)  # as kill -9: no clean-up runs\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    assert subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env).returncode == 9
    assert len(list(tmp_path.iterdir())) == 2  # the two temp leftovers
    with atomic_write(tmp_path / "out.jsonl") as f:
        f.write("{}\n")
    with atomic_dir(tmp_path / "outb") as d:
        (d / "a.txt").write_text("y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "outb"]
