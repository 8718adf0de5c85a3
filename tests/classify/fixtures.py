"""Tiny labelled texts for the classification tests: ADE / NO_ADE in three languages.

The ADE sentences share words (``caused``, ``after``, ``induced``) a tiny model learns in
seconds; the Italian texts exist only in the dev set, to stand for a language never seen
in training.
"""

from __future__ import annotations

import json
from pathlib import Path

from clinicalner.classify.data import LabelledText
from clinicalner.encoders.tiny import build_tiny_encoder

_ADE_EN = [
    "Rash caused by amoxicillin after two days.",
    "Hepatitis induced by isoniazid was observed.",
    "Severe nausea caused by cisplatin after infusion.",
    "Neutropenia induced by clozapine after one month.",
    "Lactic acidosis caused by metformin after surgery.",
    "Angioedema induced by lisinopril after the first dose.",
]
_NO_EN = [
    "The patient was admitted for chest pain.",
    "Blood pressure was normal on examination.",
    "She has a history of asthma since childhood.",
    "A chest radiograph showed no abnormality.",
    "He was discharged home in good condition.",
    "The biopsy confirmed a benign lesion.",
    "Follow-up imaging was unremarkable.",
    "The family history was negative.",
]
_ADE_ES = [
    "Exantema causado por amoxicilina después de dos días.",
    "Hepatitis inducida por isoniazida tras el tratamiento.",
    "Náuseas causadas por cisplatino después de la infusión.",
]
_NO_ES = [
    "El paciente ingresó por dolor torácico.",
    "La presión arterial era normal.",
    "Tiene antecedentes de asma desde la infancia.",
    "La radiografía no mostró alteraciones.",
]
_DEV = [
    ("Rash induced by penicillin after one day.", "ADE", "en"),
    ("The patient was admitted for abdominal pain.", "NO_ADE", "en"),
    ("Exantema inducido por penicilina después de un día.", "ADE", "es"),
    ("La biopsia confirmó una lesión benigna.", "NO_ADE", "es"),
    ("Eruzione causata da amoxicillina dopo due giorni.", "ADE", "it"),
    ("Il paziente è stato dimesso in buone condizioni.", "NO_ADE", "it"),
]


def train_texts() -> list[LabelledText]:
    out: list[LabelledText] = []
    for lang, ade, no in (("en", _ADE_EN, _NO_EN), ("es", _ADE_ES, _NO_ES)):
        out += [LabelledText(f"{lang}-ade-{i}", t, "ADE", lang) for i, t in enumerate(ade)]
        out += [LabelledText(f"{lang}-no-{i}", t, "NO_ADE", lang) for i, t in enumerate(no)]
    return out


def dev_texts() -> list[LabelledText]:
    return [LabelledText(f"dev-{i}", t, lab, lang) for i, (t, lab, lang) in enumerate(_DEV)]


def write_jsonl(path: Path, texts: list[LabelledText]) -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": t.id, "text": t.text, "label": t.label, "language": t.language}) + "\n"
            for t in texts
        ),
        encoding="utf-8",
    )
    return path


def tiny_classify_encoder(folder: Path) -> Path:
    texts = [t.text for t in train_texts() + dev_texts()]
    return build_tiny_encoder(folder / "enc", "wordpiece", vocab_from=texts, hidden=32)
