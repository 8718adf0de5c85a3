"""Shared check that a fast tokenizer's offsets point at exactly the characters each token stands for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

#: Texts that break naive offset handling: accents, CRLF, tabs, emoji (with ZWJ and
#: variation selectors), characters outside the BMP, compatibility forms, other scripts.
HARD_TEXTS: tuple[str, ...] = (
    "Paciente de 67 años con dolor torácico\r\nTA: 120/80 mmHg\tFC 88 lpm.",
    "Pacient přichází pro bolest na hrudi — dušnost 😷 při námaze.",
    "Ｈｏｌａ ﬁebre ½ dosis; café\u00a0x, naïve Ærø",
    "emoji: 👨‍⚕️ 🫀🫁 ❤️ and non-BMP 𝐀𝐁𝐂 𠜎𠜱 𓀀",
    "Ελληνικά κείμενο, русский текст, 中文医学文本, العربية",
    "  leading and trailing spaces  \r\n",
    "tabs\tand\r\nCRLF\r\n\r\nlines\u2028separator",
)


def check_offsets(tokenizer: Any, text: str, normalize: Callable[[str], str], strip: str) -> None:
    """Assert that every token's span is inside ``text``, free of whitespace, in order, and
    normalises to the token's text; and that every visible character is in some token.

    ``strip`` is the word marker to remove from token text (``▁`` or ``##``); a token that
    is only the marker takes the span of the character after it. Tokens that share their
    span (one character normalised into several pieces) and unknown tokens are only
    checked for position.
    """
    enc = tokenizer(text, return_offsets_mapping=True)
    ids, spans, tokens = enc["input_ids"], enc["offset_mapping"], enc.tokens()
    special = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    pieces = [token.removeprefix(strip) for token in tokens]
    shared = Counter(
        tuple(span)
        for tid, span, piece in zip(ids, spans, pieces, strict=True)
        if tid not in special and piece
    )
    covered = [False] * len(text)
    last_start = 0
    for tid, (start, end), token, piece in zip(ids, spans, tokens, pieces, strict=True):
        if tid in special:
            assert (start, end) == (0, 0), token
            continue
        assert 0 <= start < end <= len(text), (token, start, end)
        assert start >= last_start, f"{token!r} at {start} goes back before {last_start}"
        last_start = start
        surface = text[start:end]
        assert not any(c.isspace() for c in surface), (token, surface)
        if piece and tid != tokenizer.unk_token_id and shared[(start, end)] == 1:
            assert "".join(normalize(surface).split()) == piece, (token, surface)
        for i in range(start, end):
            covered[i] = True
    for i, char in enumerate(text):
        if normalize(char).strip():
            assert covered[i], f"character {char!r} at {i} is in no token"
