"""Texts that break naive offset handling, shared by the text and tagging tests."""

from __future__ import annotations

HARD_TEXTS: tuple[str, ...] = (
    "Paciente de 67 años con dolor torácico\r\nTA: 120/80 mmHg\tFC 88 lpm. Fiebre de 38,5 °C.",
    "Pacient přichází pro bolest na hrudi — dušnost 😷 při námaze.\r\n\r\nMUDr. Novák: bez nálezu.",
    "Pacient în vârstă de 45 ani, cu hipertensiune arterială (HTA) și diabet zaharat tip 2.",
    "emoji: 👨‍⚕️ 🫀🫁 ❤️ 👍🏽 🇪🇸 and non-BMP 𝐀𝐁𝐂 𠜎𠜱 𓀀 in a note.",
    "Ελληνικά κείμενο, русский текст: боль в груди. 中文医学文本。 العربية",
    "e\u0301xito de la cirugi\u0301a\tsin complicaciones;\r\ndolor postoperatorio leve.",
    "  leading and trailing spaces, tabs\tand\r\nCRLF\r\n\r\nlines\u2028separator  \r\n",
    "Patiënt (72 jr) met COVID-19; pijn op de borst, z.s.m. CT-scan. Paziente con dolore all'addome.",
)
