"""The pure decisions of a voice turn: which number the assistant's next question wants, whether
an answer fills it validly, what the keypad typed, which prompt option the caller picked, when to
fall back to the keypad. No I/O: router/gateway/voice/service.py does that.

The ID card's check character X on the keypad. Chinese IVRs (the operators' own hotlines, social
insurance 12333, banks) ask callers to press * for the X of an ID number ("末位是X请按星号键").
Our keypad rule has * delete the previous digit (telecom.speech.apply_keypad), so we keep both,
by position: while an ID slot is asked for, a * typed right after all the digits but the last
(the 5th of id_last6, the 17th of id_number) — i.e. in the check character's place — is that X;
a * anywhere else deletes. The keypad prompt for an ID says so ("末位是X请按星号键").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import get_args

from telecom import money, numbers
from telecom.dates import parse_month
from telecom.speech import Expect, apply_keypad, choose

# the assistant's slot (its reading's requested_slot) → the kind of number that answers it
SLOT_EXPECT: dict[str, Expect] = {
    "phone_number": "phone",
    "id_last6": "id_last6",
    "id_number": "id_number",
    "month": "month",
}
# the kinds asked for again on the keypad after two failed tries by voice, and their lengths
KEYPAD_DIGITS: dict[str, int] = {"phone": 11, "id_last6": 6, "id_number": 18}
FAILED_TRIES_BEFORE_KEYPAD = 2
ID_KINDS = frozenset({"id_last6", "id_number"})
MAX_OPTIONS = 9  # prompt options that can be picked with one key


def expect_of(slot: str | None) -> Expect | None:
    """The kind of number the slot wants (None: not a number, or no slot asked for)."""
    return SLOT_EXPECT.get(slot or "")


def as_expect(value: str | None) -> Expect | None:
    """A stored kind read back (None when empty or unknown)."""
    for kind in get_args(Expect):
        if kind == value:
            return kind  # type: ignore[no-any-return]
    return None


def fills(kind: Expect, text: str, today: date) -> bool:
    """`text` (normalised for `kind`) is a valid answer of that kind."""
    if kind == "phone":
        return numbers.parse_phone(text) is not None
    if kind == "id_last6":
        return numbers.parse_id_last6(text) is not None
    if kind == "id_number":
        return numbers.parse_id_number(text) is not None
    if kind == "month":
        return parse_month(text, today) is not None
    if kind == "amount":
        return money.parse_amount(text) is not None
    return re.fullmatch(r"[0-9]+", text.strip()) is not None


def keypad(dtmf: str, kind: Expect | None) -> str:
    """What the caller typed: telecom.speech.apply_keypad (* deletes, # ends), and for an ID
    slot a * in the check character's place is its X (see the module's docstring)."""
    typed = dtmf.split("#", 1)[0]
    if kind in ID_KINDS and typed.endswith("*"):
        before = apply_keypad(typed[:-1])
        if len(before) == KEYPAD_DIGITS[kind] - 1:
            return before + "X"
    return apply_keypad(dtmf)


_ORDINAL = {"一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
            "八": 8, "九": 9}  # fmt: skip
_PICK = re.compile(
    r"^(?:我?(?:选|要|按)?)?(?:第)?(?P<n>[1-9一幺二两三四五六七八九])(?:个|项|号|条)?(?:吧|的|吗)?$"
)
_NOISE = re.compile(r"[\s，。,.！!？?、；;“”\"'‘’]+")


def picked_option(text: str, count: int) -> int | None:
    """The prompt option (1-based) the caller picked by saying or typing its number ('一',
    '1', '第二个', '选三'), None when `text` is not such a pick or there is no such option."""
    match = _PICK.match(_NOISE.sub("", text))
    if match is None:
        return None
    n = match.group("n")
    index = int(n) if n.isdigit() else _ORDINAL[n]
    return index if 1 <= index <= min(count, MAX_OPTIONS) else None


def failed_tries(asked: str | None, asked_again: str | None, by_voice: bool, before: int) -> int:
    """Failed tries at the number slot `asked` after this turn: one more when the assistant asks
    for the same slot again after a spoken answer; a typed answer keeps the count (the keypad
    stays on); another slot, or none, starts again at 0."""
    if asked is None or asked != asked_again or expect_of(asked) not in KEYPAD_DIGITS:
        return 0
    return before + 1 if by_voice else before


def wants_keypad(slot: str | None, tries: int) -> bool:
    """After two failed tries at a number by voice, it is asked for on the keypad."""
    return expect_of(slot) in KEYPAD_DIGITS and tries >= FAILED_TRIES_BEFORE_KEYPAD


def choice_without_intents(
    confidences: Sequence[float], texts: Sequence[str], valid: Sequence[bool | None]
) -> int | None:
    """The n-best alternative telecom.speech.choose picks whatever the assistant's intent
    confidences, or None when they may change it (then the assistant parses each text). Known
    without them: when every alternative normalises to the same text (the same intent
    confidence for all), or when exactly one fills the expected slot (it wins anyway)."""
    if len(set(texts)) == 1:
        return choose([(c, 1.0, v) for c, v in zip(confidences, valid, strict=True)])
    if list(valid).count(True) == 1:
        return list(valid).index(True)
    return None
