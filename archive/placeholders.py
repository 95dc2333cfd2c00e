"""Masked values as entity placeholders, and placeholders as synthetic training values.

The archive keeps customer text masked by telecom.mask.text, whose shapes are:

| shape in the masked text | placeholder | entity |
|---|---|---|
| `110***********1234`: an ID-card number (3 kept, 11 masked, 4 kept) | `{id_number}` | id_number |
| `138****8000`, `+86 138 **** 8000`: a mobile number (3, 4, 4) | `{phone_number}` | phone_number |
| `********1234`: 12 or more digits, a bank card and the like | `{card_number}` | — |
| `******`, `*** ***`: the six an ID card ends with | `{id_last6}` | id_last6 |

Separators the masker keeps between digits (spaces, dashes, dots…) are part of the value, and
the kept digits may be full-width or spoken Chinese digits (the masker finds them through
telecom.numbers.normalise_digits, so does this module). Other braces become full-width (a
customer who typed `{phone_number}` itself gets a placeholder: no personal data in it).

`placeholder_text(masked)` is what an analyst sees and what the inbox groups on; `training_text`
turns it into a Rasa NLU example where each placeholder is a synthetic value annotated as its
entity (`[13800000000](phone_number)`), never a real one. A placeholder without a domain entity
(`{card_number}`) becomes a synthetic value without annotation.
"""

from __future__ import annotations

import re

from telecom.numbers import normalise_digits

__all__ = ["ENTITIES", "PLACEHOLDER", "SYNTHETIC", "placeholder_text", "training_text"]

_SEP = r"[ \t\u3000\-‐‑–—_.·/()（）,，、]*"  # telecom.mask's separators between digits
_CHECK = "0-9Xx叉×"  # an ID card's last character as typed or said

# In the order the masker applies them; each on the shadow (digits normalised) of the text.
_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "id_number",
        re.compile(rf"(?<![0-9*])[0-9](?:{_SEP}[0-9]){{2}}(?:{_SEP}\*){{11}}"
                   rf"(?:{_SEP}[0-9]){{3}}{_SEP}[{_CHECK}](?![0-9*])"),
    ),
    (
        "phone_number",
        re.compile(rf"(?<![0-9*])(?:(?:\+|00)?86{_SEP})?1{_SEP}[0-9]{_SEP}[0-9]"
                   rf"(?:{_SEP}\*){{4}}(?:{_SEP}[0-9]){{4}}(?![0-9*])"),
    ),
    ("card_number", re.compile(r"(?<![0-9*])\*{8,}[0-9]{4}(?![0-9*])")),
    ("id_last6", re.compile(rf"(?<![0-9*])\*(?:{_SEP}\*){{5}}(?![0-9*])")),
)  # fmt: skip

# placeholder → (synthetic value, entity name or None); the values are invented test data
SYNTHETIC: dict[str, tuple[str, str | None]] = {
    "phone_number": ("13800000000", "phone_number"),
    "id_number": ("110101199003070000", "id_number"),
    "id_last6": ("070000", "id_last6"),
    "card_number": ("6222000000000000", None),
}
ENTITIES = frozenset(entity for _, entity in SYNTHETIC.values() if entity)
PLACEHOLDER = re.compile(r"\{(" + "|".join(SYNTHETIC) + r")\}")


def placeholder_text(masked: str) -> str:
    """`masked` (telecom.mask.text's output) with each masked value as its placeholder:
    '我的号码138****8000' → '我的号码{phone_number}'. Idempotent."""
    text, last = "", 0
    for match in PLACEHOLDER.finditer(masked):
        text += _no_braces(masked[last : match.start()]) + match.group(0)
        last = match.end()
    text += _no_braces(masked[last:])
    shadow = normalise_digits(text)
    spans: list[tuple[int, int, str]] = []
    for name, pattern in _SHAPES:
        for match in pattern.finditer(shadow):
            spans.append((match.start(), match.end(), name))
        # matched spans are blanked so that a later shape cannot match inside them
        for start, end, _ in spans:
            shadow = shadow[:start] + "\x00" * (end - start) + shadow[end:]
    out, last = [], 0
    for start, end, name in sorted(spans):
        out.append(text[last:start])
        out.append("{" + name + "}")
        last = end
    out.append(text[last:])
    return "".join(out)


def training_text(text: str, entities: tuple[tuple[int, int, str], ...] = ()) -> str:
    """A placeholder text as a Rasa NLU example: each placeholder a synthetic value annotated
    as its entity, each (start, end, entity) span of `text` (an analyst's annotation, offsets
    in `text`, not overlapping a placeholder or each other) annotated as written; brackets the
    customer typed become full-width so that they cannot be read as an annotation."""
    marks: list[tuple[int, int, str, str | None]] = []
    for match in PLACEHOLDER.finditer(text):
        value, entity = SYNTHETIC[match.group(1)]
        marks.append((match.start(), match.end(), value, entity))
    for start, end, entity in entities:
        marks.append((start, end, _plain(text[start:end]), entity))
    marks.sort()
    out, last = [], 0
    for start, end, value, entity in marks:
        if start < last:
            raise ValueError("entity spans overlap")
        out.append(_plain(text[last:start]))
        out.append(f"[{value}]({entity})" if entity else value)
        last = end
    out.append(_plain(text[last:]))
    return " ".join("".join(out).split())


def _no_braces(text: str) -> str:
    return text.replace("{", "｛").replace("}", "｝")


def _plain(text: str) -> str:
    return (
        text.replace("[", "［").replace("]", "］").replace("(", "（").replace(")", "）")
        .replace("{", "｛").replace("}", "｝")
    )  # fmt: skip
