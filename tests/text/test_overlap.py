from clinicalner.text.overlap import near_duplicate_groups, overlapping, shingles

CASE = (
    "Varón de 54 años que acude a urgencias por dolor torácico opresivo de dos horas de evolución "
    "irradiado al brazo izquierdo, con sudoración profusa y náuseas; se realiza electrocardiograma."
)
OTHER = (
    "Mujer de 31 años con fiebre de una semana, tos productiva y disnea de moderados esfuerzos; la "
    "radiografía de tórax muestra una condensación en el lóbulo inferior derecho."
)


def test_retokenised_copy_overlaps_but_another_case_does_not() -> None:
    # The MultiClinAI export re-joined tokens with single spaces: punctuation moves, words stay.
    copy = CASE.replace(",", " ,").replace(";", " ;").replace(" que", "  que")
    assert overlapping([copy, OTHER], [CASE]) == [True, False]


def test_a_paragraph_of_a_longer_document_joins_its_group() -> None:
    groups = near_duplicate_groups([CASE + "\n\n" + OTHER, OTHER, "Texto sin relación alguna con los demás."])
    assert groups[0] == groups[1] != groups[2]


def test_short_texts_compare_whole() -> None:
    assert shingles("Fiebre alta.") == shingles("fiebre, ALTA")
    assert shingles("") == set()
    assert overlapping(["fiebre alta"], ["Fiebre alta."]) == [True]
