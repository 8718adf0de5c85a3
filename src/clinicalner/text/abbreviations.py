"""Abbreviations that end in a full stop, per language, for the sentence splitter and the trimmer.

Two kinds, because they behave differently at a full stop:

- *prefix* abbreviations (``Dr.``, ``p.ej.``, ``Fig.``, ``vs.``) are always followed by
  what they qualify, so a full stop after them never ends a sentence;
- *other* abbreviations (``etc.``, ``aprox.``, ``mg.``, ``i.v.``) can be the last word of a
  sentence, so their full stop ends one only when the next word starts with a capital
  (``500 mg. El paciente`` splits, ``aprox. 3 cm`` and ``i.v. cada 8 h`` do not).

Forms are lower-case and without the final dot; inner dots stay (``p.ej``, ``dott.ssa``).
Language codes are the seven of the task; ``None`` (or an unknown code) uses the union, which
is a little more reluctant to split than a language's own list.
"""

from __future__ import annotations

from functools import cache

LANGUAGES: tuple[str, ...] = ("es", "en", "nl", "it", "ro", "sv", "cs")

_COMMON_OTHER = """
mg ml kg gr cm mm dl min max i.v i.m i.d s.c p.o v.o e.v etc a.m p.m
"""

_PREFIX: dict[str, str] = {
    "es": """
        dr dra dres drs sr sra sres srta lic prof ud uds vd vds p.ej p.e pág págs fig figs núm nro
        tel av avda vs ej vol cap dpto depto sto sta st ac c.p cf cfr
    """,
    "en": """
        dr mr mrs ms prof st vs e.g i.e fig figs vol pp cf dept
    """,
    "nl": """
        dr drs mr mw dhr prof bijv bv o.a m.b.t i.v.m t.a.v d.w.z i.p.v fig nr blz ca vlg zgn
    """,
    "it": """
        dott dott.ssa dr sig sig.ra sigg prof ing avv p.es es cfr pag pagg fig n nr num vol cap ca u.o
    """,
    "ro": """
        dr dl dna prof conf ex nr pag fig cca d.p.d.v
    """,
    "sv": """
        dr doc prof t.ex bl.a s.k d.v.s fig nr sid enl jfr ca vg obs
    """,
    "cs": """
        mudr phdr doc prof ing mgr bc rndr pharmdr mvdr tzv tj např tzn vč popř příp cca str obr č
        kap nar pozn sv
    """,
}

_OTHER: dict[str, str] = {
    "es": """
        aprox seg hrs hr h izq izqda dcha dcho ant post sup inf máx mín tto hosp serv lab pac a.c d.c
        c.c s.a aa.pp aa.ss
    """,
    "en": """
        approx sec hr hrs h b.i.d t.i.d q.i.d q.d p.r.n resp incl no nos yr yrs wk wks mo mos pt pts
        al jan feb mar apr jun jul aug sep sept oct nov dec
    """,
    "nl": """
        enz sec u resp evt incl excl pat jl e.d z.s.m dd
    """,
    "it": """
        ecc sec h aa tab cp fl gtt dx sx inf sup ant post pz pt
    """,
    "ro": """
        aprox sec ș.a s.a ș.a.m.d pct inf sup ant post tab cp ore
    """,
    "sv": """
        sek tim resp inkl exkl ev pat st dgl m.m m.fl o.s.v ff dvs osv mm tabl
    """,
    "cs": """
        atd apod aj mj resp vyš sek hod pac r st
    """,
}


def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


@cache
def prefix_abbreviations(language: str | None = None) -> frozenset[str]:
    """Abbreviations whose full stop never ends a sentence."""
    if language in _PREFIX:
        return _words(_PREFIX[language])
    return frozenset().union(*(_words(v) for v in _PREFIX.values()))


@cache
def other_abbreviations(language: str | None = None) -> frozenset[str]:
    """Abbreviations that may end a sentence (split only before a capital)."""
    if language in _OTHER:
        words = _words(_OTHER[language]) | _words(_COMMON_OTHER)
    else:
        words = frozenset().union(*(_words(v) for v in _OTHER.values())) | _words(_COMMON_OTHER)
    return words - prefix_abbreviations(language)


def abbreviation_kind(word: str, language: str | None = None) -> str | None:
    """``"prefix"``, ``"other"`` or ``None`` for a word written before a full stop (without it).

    A single capital is an initial (``J. Smith``, ``E. coli``) and counts as a prefix.
    A word with an inner dot between letters (``b.i.d``, ``z.s.m``) is an abbreviation even when
    it is not listed: such forms are not ordinary words in any of our languages.
    """
    if len(word) == 1 and word.isupper():
        return "prefix"  # an initial or a genus: J. Smith, E. coli, B. Henselae
    key = word.lower()
    if key in prefix_abbreviations(language):
        return "prefix"
    if key in other_abbreviations(language):
        return "other"
    parts = key.split(".")
    if len(parts) > 1 and all(p and p.isalpha() and len(p) <= 4 for p in parts):
        return "other"
    return None
