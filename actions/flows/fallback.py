"""Two-stage fallback: a first misunderstanding asks which of the two likeliest requests the
customer meant (buttons; a bare "please rephrase" only when nothing is likely), a second in a row
offers a human (the button 转人工, or affirm: bot/data/handoff.yml). A message of critical
urgency that was not understood goes to a human at once."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.flows.repair import follow_up_events
from actions.handoff import INTENT_LABELS
from actions.triage import text_urgency

FALLBACK_INTENT = "nlu_fallback"
# The requests a clarifying question may offer (a button's payload starts the request itself).
OFFERABLE = (
    "query_balance",
    "query_data_usage",
    "query_plan",
    "change_plan",
    "roaming",
    "reset_password",
    "complain",
    "report_fault",
    "check_ticket",
    "request_human",
)
# Below this confidence a guess is noise, not worth a button.
MIN_OPTION_CONFIDENCE = 0.15
# The input guard's verdict (empty, emoji-only, too long): nothing was understood at all.
GUARD_CONFIDENCE = 0.999


def clarify_options(ranking: list[dict[str, Any]]) -> list[str]:
    """The (at most two) likeliest offerable requests of an intent ranking, most likely first;
    none when the input guard rejected the message or no guess is worth offering."""
    top = ranking[0] if ranking else {}
    if top.get("name") == FALLBACK_INTENT and float(top.get("confidence") or 0) >= GUARD_CONFIDENCE:
        return []
    options = [
        str(entry["name"])
        for entry in ranking
        if entry.get("name") in OFFERABLE
        and float(entry.get("confidence") or 0.0) >= MIN_OPTION_CONFIDENCE
    ]
    return options[:2]


def clarify_buttons(options: list[str]) -> list[dict[str, str]]:
    """One button per option (its label, its intent as payload) and 都不是 (deny)."""
    buttons = [{"title": INTENT_LABELS[name], "payload": f"/{name}"} for name in options]
    return [*buttons, {"title": "都不是", "payload": "/deny"}]


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


class ActionClarify(Action):
    """After a first misunderstanding: "did you mean A or B?" with buttons, else ask to rephrase."""

    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        carried = follow_up_events(dispatcher, tracker)  # "那上个月呢？" after the balance
        if carried is not None:
            return carried
        options = clarify_options(tracker.latest_message.get("intent_ranking") or [])
        if not options:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        dispatcher.utter_message(
            text="抱歉，我不太确定您的意思。您是想办理下面哪一项呢？也可以直接换个说法告诉我。",
            buttons=clarify_buttons(options),
        )
        return []
