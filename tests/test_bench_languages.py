"""benchmarks/bench_languages.py end to end on corpora written here: the lexicon baseline
(built from a Spanish training set) tags an Italian XMI set and a Romanian CoNLL-U set, and
the scores come out mapped, with intervals, and with unproducible gold types named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from clinicalner.document import Document, Span
from clinicalner.io import write_corpus

ROOT = Path(__file__).resolve().parents[1]
XMI = (
    '<?xml version="1.0" encoding="UTF-8"?><xmi:XMI xmlns:xmi="http://www.omg.org/XMI" '
    'xmlns:cas="http:///uima/cas.ecore" xmlns:custom="http:///webanno/custom.ecore" xmi:version="2.0">'
    '<custom:CLINENTITY xmi:id="2" sofa="1" begin="13" end="19"/>'
    '<custom:CLINENTITY xmi:id="3" sofa="1" begin="22" end="28"/>'
    '<cas:Sofa xmi:id="1" sofaNum="1" sofaID="_InitialView" mimeType="text" '
    'sofaString="Paziente con anemia e febbre."/></xmi:XMI>'
)
CONLLU = (
    "# sent_id = r1\n# text = Anemia și ficat.\n"
    "1\tAnemia\t_\t_\t_\t_\t0\t_\t_\tBioNERLabel=B-DISO\n"
    "2\tși\t_\t_\t_\t_\t0\t_\t_\t_\n"
    "3\tficat\t_\t_\t_\t_\t0\t_\t_\tSpaceAfter=No|BioNERLabel=B-ANAT\n"
    "4\t.\t_\t_\t_\t_\t0\t_\t_\t_\n\n"
)


def test_lexicon_baseline_on_italian_and_romanian(tmp_path: Path) -> None:
    corpora = tmp_path / "corpora"
    (corpora / "e3c-it" / "layer1").mkdir(parents=True)
    (corpora / "e3c-it" / "layer1" / "IT1.xml").write_text(XMI, encoding="utf-8")
    (corpora / "simonero-ro").mkdir()
    (corpora / "simonero-ro" / "ro-dev.conllu").write_text(CONLLU, encoding="utf-8")
    text = "Anemia grave y fiebre alta."
    train = [Document("s1", text, [Span(0, 6, "DISEASE"), Span(15, 21, "SYMPTOM")], "es")] * 2
    write_corpus(train, corpora / "spaccc-es" / "train" / "train.jsonl", "jsonl")
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_languages.py"), "--corpora", str(corpora)]
    cmd += ["--output", str(out), "--bootstrap", "20", "--spanish", ""]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    it = results["scores"]["e3c-it"]["lexicon-es-en"]
    assert it["labels"] == ["CLINENTITY"]
    # "anemia" is a Spanish training term too; "febbre" is not "fiebre"
    assert it["micro"]["strict"]["precision"] == 1.0 and it["micro"]["strict"]["recall"] == 0.5
    assert len(it["micro"]["strict"]["f1_ci"]) == 2
    ro = results["scores"]["simonero-ro"]["lexicon-es-en"]
    assert ro["labels"] == ["DISO"] and ro["micro"]["strict"]["f1"] == 1.0  # "Anemia": case-insensitive
    assert any("ANAT (1 spans)" in w for w in ro["warnings"])
    assert results["speed"]["e3c-it"]["lexicon-es-en"]["words"] == 6
    assert "| e3c-it | lexicon-es-en | CLINENTITY | 2 |" in (out / "results.md").read_text(encoding="utf-8")
