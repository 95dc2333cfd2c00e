"""Digit slots read from what the customer typed or said.

Rasa fills a form's digit slot from an entity or from the whole message, and the NLU often tags
spoken digits with the wrong entity (ID digits said as 幺两拐洞三叉 come as a phone_number). So
the validators read the customer's latest text again here, through `telecom.speech.normalise`
for the slot the form asked for: 幺, 两, 拐, 洞, 勾, groups with pauses, full-width digits,
Traditional characters and an ID's X said as 叉 or 艾克斯 give the same value as typed digits.

`read` is the value of one slot; `answers` says which digit slot an answer fills, so that ID
digits given when the form asked for them are never taken for a phone number, and the reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker

from actions.flows.common import latest_text
from telecom.numbers import parse_id_last6, parse_id_number, parse_phone
from telecom.speech import Expect, normalise

__all__ = ["ID_SLOTS", "answers", "previous_value", "read", "read_text"]

ID_SLOTS = ("id_last6", "id_number")

# Each digit slot: what `normalise` is told to expect, and the parser of the result.
_SLOTS: dict[str, tuple[Expect, Callable[[str | None], str | None]]] = {
    "phone_number": ("phone", parse_phone),
    "id_last6": ("id_last6", parse_id_last6),
    "id_number": ("id_number", parse_id_number),
}


def read_text(slot: str, text: str) -> str | None:
    """The value of digit slot `slot` in `text`, spoken or typed; None when there is none."""
    if not text:
        return None
    expect, parse = _SLOTS[slot]
    return parse(normalise(text, expect)) or parse(text)


def read(slot: str, value: Any, tracker: Tracker) -> str | None:
    """The value of digit slot `slot` in the customer's latest text, else in the value Rasa
    extracted for it (a button's payload, or a snapshot without text).

    When the form asked for another digit slot and the text answers that one, `slot` is read
    only from what is left of the text beside the answer: ID digits answering the ID question
    are no phone number, a phone number answering the phone question no ID digits."""
    text = latest_text(tracker)
    asked = tracker.get_slot("requested_slot")
    if asked in _SLOTS and asked != slot:
        answer = read_text(asked, text)
        if answer is not None:
            return read_text(slot, _without(text, asked, answer))
    return read_text(slot, text) or read_text(slot, str(value or ""))


def _without(text: str, slot: str, answer: str) -> str:
    """`text` read for `slot`, with its `answer` (and for an ID, the full number) taken out."""
    expect, _ = _SLOTS[slot]
    read_as = normalise(text, expect)
    full = parse_id_number(read_as)
    for part in (full, answer) if full else (answer,):
        read_as = read_as.replace(part, " ")
    return read_as


def answers(tracker: Tracker) -> str | None:
    """The digit slot the latest text answers, judged first by the slot the form asked for:
    asked for ID digits, a text that reads as them answers that, even if it could also be
    read otherwise; asked for the phone, a phone number is the answer. None when the text
    reads as no digit slot."""
    text = latest_text(tracker)
    asked = tracker.get_slot("requested_slot")
    order = [asked] if asked in _SLOTS else []
    order += [slot for slot in _SLOTS if slot not in order]
    return next((slot for slot in order if read_text(slot, text) is not None), None)


def previous_value(tracker: Tracker, slot: str) -> Any:
    """The value `slot` had before the latest message (what this turn's extraction replaced)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None
