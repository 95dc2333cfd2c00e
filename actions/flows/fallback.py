"""Two-stage fallback: a first misunderstanding asks to rephrase, a second in a row offers a human
(the button 转人工, or affirm: bot/data/handoff.yml). A message of critical urgency that was not
understood goes to a human at once."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.triage import text_urgency

FALLBACK_INTENT = "nlu_fallback"


def fallback_stage(user_intents: list[str]) -> str:
    """'repeated' when the user turn before the latest was also misunderstood, else 'first'.

    `user_intents` are the intents of the user turns, oldest first, the latest included.
    """
    if len(user_intents) >= 2 and user_intents[-2] == FALLBACK_INTENT:
        return "repeated"
    return "first"


def user_intents(events: list[dict[str, Any]]) -> list[str]:
    return [
        str(((e.get("parse_data") or {}).get("intent") or {}).get("name") or "")
        for e in events
        if e.get("event") == "user"
    ]


class ActionFallbackStage(Action):
    def name(self) -> str:
        return "action_fallback_stage"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = [SlotSet("fallback_stage", fallback_stage(user_intents(tracker.events)))]
        # Not understood, but plainly urgent (fraud in progress, an emergency): a human at once.
        if text_urgency(tracker.latest_message) == "critical":
            events += [SlotSet("handoff_now", True), SlotSet("handoff_reason", "critical_urgency")]
        return events
