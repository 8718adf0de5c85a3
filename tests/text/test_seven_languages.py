"""Nothing in the text pipeline is tuned to Spanish or English only: a short clinical note in
each of the seven languages of the task (cs, nl, en, it, ro, es, sv), written for this test,
goes through word splitting, sentence splitting with the language's abbreviations,
case- and accent-insensitive lexicon matching, and the post-processor's trim and merge."""

from __future__ import annotations

import pytest

from clinicalner.document import Span
from clinicalner.predict.lexicon import LexiconTagger, Term
from clinicalner.predict.postprocess import postprocess
from clinicalner.text.sentences import sentence_spans
from clinicalner.text.words import words

# language: (note, its sentences' first words, dose fractions kept whole, a symptom, a hyphenated mention)
NOTES: dict[str, tuple[str, list[str], list[str], str, str]] = {
    "cs": (
        "Pac. přijata pro bolest na hrudi. MUDr. Novák doporučil např. ASA 100 mg/den, tj. 1 tbl/den. "
        "Stav po IM v r. 2019. Bez dušnosti, zvracení ani horečky; Guillain-Barré vyloučen.",
        ["Pac.", "MUDr.", "Stav", "Bez"],
        ["mg/den", "tbl/den"],
        "dušnosti",
        "Guillain-Barré",
    ),
    "nl": (
        "Pat. werd opgenomen met pijn op de borst. Dhr. Jansen kreeg bijv. paracetamol 500 mg/dag, 4 dd. "
        "'s Nachts kortademig. Geen koorts; hart-en vaatziekten in de familie.",
        ["Pat.", "Dhr.", "'s", "Geen"],
        ["mg/dag"],
        "kortademig",
        "hart-en",
    ),
    "en": (
        "Pt. admitted with chest pain. Dr. Smith started aspirin 100 mg/day, i.e. once daily. "
        "No fever. Hx of MI in 2019; non-ST-elevation infarction suspected.",
        ["Pt.", "Dr.", "No", "Hx"],
        ["mg/day"],
        "fever",
        "non-ST-elevation",
    ),
    "it": (
        "Pz. di 65 anni con dolore toracico. Il Dott. Rossi ha prescritto ASA 100 mg/die, 1 cp/die. "
        "Sig.ra Bianchi riferisce dispnea. Dell'addome nulla; sindrome di Guillain-Barré esclusa.",
        ["Pz.", "Il", "Sig.ra", "Dell'addome"],
        ["mg/die", "cp/die"],
        "dispnea",
        "Guillain-Barré",
    ),
    "ro": (
        "Pacientul, în vârstă de 65 ani, cu durere toracică. Dr. Popescu a recomandat aspirină "
        "100 mg/zi, aprox. 1 cp/zi. Fără febră. Tușește; insuficiență cardio-respiratorie.",
        ["Pacientul,", "Dr.", "Fără", "Tușește;"],
        ["mg/zi", "cp/zi"],
        "febră",
        "cardio-respiratorie",
    ),
    "es": (
        "Pac. de 65 años con dolor torácico. El Dr. García pautó AAS 100 mg/día, p.ej. 1 comp/día. "
        "Sin fiebre. Ingresa en UCI; síndrome de Guillain-Barré descartado.",
        ["Pac.", "El", "Sin", "Ingresa"],
        ["mg/día", "comp/día"],
        "fiebre",
        "Guillain-Barré",
    ),
    "sv": (
        "Pat. inkom med bröstsmärta. Dr. Andersson ordinerade t.ex. ASA 75 mg/dag, dvs. 1 tabl/dag. "
        "Ingen feber. Åter om 2 v.; hjärt-kärlsjukdom i släkten.",
        ["Pat.", "Dr.", "Ingen", "Åter"],
        ["mg/dag", "tabl/dag"],
        "feber",
        "hjärt-kärlsjukdom",
    ),
}
LANGS = sorted(NOTES)


def test_all_seven_languages_are_here() -> None:
    assert LANGS == ["cs", "en", "es", "it", "nl", "ro", "sv"]


@pytest.mark.parametrize("lang", LANGS)
def test_sentences_split_at_full_stops_not_at_abbreviations(lang: str) -> None:
    note, firsts, *_ = NOTES[lang]
    sentences = [note[a:b] for a, b in sentence_spans(note, lang)]
    assert [s.split()[0] for s in sentences] == firsts
    assert "".join(sentences).replace(" ", "") == note.replace(" ", "")  # nothing lost
    # the union of the seven lists (language unknown) splits no more than the language's own
    assert len(sentence_spans(note, None)) <= len(sentences)


@pytest.mark.parametrize("lang", LANGS)
def test_words_keep_letters_of_the_language_and_dose_fractions(lang: str) -> None:
    note, _, fractions, symptom, hyphenated = NOTES[lang]
    toks = words(note, lang)
    for fraction in fractions:
        assert fraction in toks, fraction
    assert symptom in toks  # accents, ř ů ș ț å ö stay inside the word
    assert "".join(toks) == "".join(note.split())  # every non-space character, in order
    parts = hyphenated.split("-")
    i = toks.index(parts[0])
    assert toks[i : i + 2 * len(parts) - 1] == [x for p in parts for x in (p, "-")][:-1]


@pytest.mark.parametrize("lang", LANGS)
def test_lexicon_matches_whatever_the_case_and_accents(lang: str) -> None:
    note, _, _, symptom, _ = NOTES[lang]
    tagger = LexiconTagger([Term(symptom.upper(), "SYMPTOM")])
    (span,) = tagger.find(note)
    assert note[span.start : span.end] == symptom
    if lang == "ro":  # comma-below ș / ț and the older cedilla ş / ţ are one letter to a reader
        cedilla = note.replace("ș", "ş").replace("ț", "ţ")
        assert len(LexiconTagger([Term("insuficiență", "DISEASE")]).find(cedilla)) == 1


@pytest.mark.parametrize("lang", LANGS)
def test_postprocess_merges_a_split_hyphenated_mention_and_trims(lang: str) -> None:
    note, _, _, symptom, hyphenated = NOTES[lang]
    a = note.index(hyphenated)
    cut = a + hyphenated.index("-")
    pieces = [Span(a, cut, "DISEASE", score=0.9), Span(cut + 1, a + len(hyphenated), "DISEASE", score=0.7)]
    s = note.index(symptom)
    padded = Span(s, s + len(symptom) + 1, "SYMPTOM", score=0.8)  # the comma, period or space after it
    out = postprocess(note, [*pieces, padded], language=lang)
    assert sorted((x.text, x.label) for x in out) == sorted([(hyphenated, "DISEASE"), (symptom, "SYMPTOM")])
    assert next(x for x in out if x.label == "DISEASE").score == 0.7
