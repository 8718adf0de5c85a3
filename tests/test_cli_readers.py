"""The XMI and CoNLL-U reader options reach stats, convert, evaluate and predict from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clinicalner.cli import app

runner = CliRunner()
XMI = (
    '<?xml version="1.0" encoding="UTF-8"?><xmi:XMI xmlns:xmi="http://www.omg.org/XMI" '
    'xmlns:cas="http:///uima/cas.ecore" xmlns:custom="http:///webanno/custom.ecore" xmi:version="2.0">'
    '<custom:CLINENTITY xmi:id="2" sofa="1" begin="13" end="19"/>'
    '<custom:EVENT xmi:id="3" sofa="1" begin="22" end="28"/>'
    '<cas:Sofa xmi:id="1" sofaNum="1" sofaID="_InitialView" mimeType="text" '
    'sofaString="Paziente con anemia e febbre."/></xmi:XMI>'
)
CONLLU = (
    "# newdoc id = d1\n# text = Anemia și febră.\n"
    "1\tAnemia\t_\t_\t_\t_\t0\t_\t_\tNE=B-DISO\n"
    "2\tși\t_\t_\t_\t_\t0\t_\t_\t_\n"
    "3\tfebră\t_\t_\t_\t_\t0\t_\t_\tSpaceAfter=No|NE=B-DISO\n"
    "4\t.\t_\t_\t_\t_\t0\t_\t_\t_\n\n"
    "# text = Fără tuse.\n"
    "1\tFără\t_\t_\t_\t_\t0\t_\t_\t_\n"
    "2\ttuse\t_\t_\t_\t_\t0\t_\t_\tSpaceAfter=No|NE=B-DISO\n"
    "3\t.\t_\t_\t_\t_\t0\t_\t_\t_\n\n"
)


LABEL_MAP = ["--label-map", "DISEASE=DISO", "--label-map", "SYMPTOM=DISO"]


def _stats(*args: str) -> dict:
    r = runner.invoke(app, ["stats", *args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_stats_and_convert_take_the_xmi_type(tmp_path: Path) -> None:
    (tmp_path / "it").mkdir()
    (tmp_path / "it" / "IT1.xml").write_text(XMI, encoding="utf-8")
    assert _stats(str(tmp_path / "it"))["spans"] == 1
    assert (
        _stats(str(tmp_path / "it"), "--xmi-type", "custom:EVENT=FINDING")["labels"]["FINDING"]["spans"] == 1
    )
    out = tmp_path / "it.jsonl"
    r = runner.invoke(
        app, ["convert", str(tmp_path / "it"), str(out), "--to", "jsonl", "--xmi-type", "EVENT"]
    )
    assert r.exit_code == 0, r.output
    (doc,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(s["text"], s["label"]) for s in doc["spans"]] == [("febbre", "EVENT")]
    bad = runner.invoke(app, ["stats", str(tmp_path / "it"), "--xmi-type", "A@B=C"])
    assert bad.exit_code == 2 and "not both" in bad.output


def test_conllu_options_reach_stats_evaluate_and_predict(tmp_path: Path) -> None:
    gold = tmp_path / "ro.conllu"
    gold.write_text(CONLLU, encoding="utf-8")
    assert _stats(str(gold))["spans"] == 0  # the tags are under NE, not BioNERLabel
    s = _stats(str(gold), "--conllu-tags", "misc:NE", "--conllu-documents", "file")
    assert (s["documents"], s["spans"]) == (1, 3)
    terms = tmp_path / "terms.tsv"
    terms.write_text("term\tlabel\nanemia\tDISEASE\nfebră\tSYMPTOM\n", encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    opts = ["--conllu-tags", "misc:NE"]
    r = runner.invoke(app, ["predict", str(terms), str(gold), "-o", str(pred), "--no-progress", *opts])
    assert r.exit_code == 0, r.output
    assert [json.loads(line)["id"] for line in pred.read_text(encoding="utf-8").splitlines()] == ["d1"]
    r = runner.invoke(
        app,
        ["evaluate", str(gold), str(pred), "-m", "strict", "--json", *opts, *LABEL_MAP],
    )
    assert r.exit_code == 0, r.output
    strict = json.loads(r.stdout)["metrics"]["strict"]
    assert (strict["precision"], strict["recall"]) == (1.0, 2 / 3)
