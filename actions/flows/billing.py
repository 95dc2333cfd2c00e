"""Balance, this month's charges so far, and a past month's bill."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.flows import common
from telecom.dates import parse_month
from telecom.speech import normalise


class ActionAnswerBalance(common.VerifiedAction):
    def name(self) -> str:
        return "action_answer_balance"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, phone: str
    ) -> list[EventType]:
        store, today = common.store(), common.today()
        month_text = tracker.get_slot("month")
        month = (
            parse_month(normalise(month_text, "month"), today) or parse_month(month_text, today)
            if month_text
            else None
        )
        if month and month != f"{today:%Y-%m}":
            dispatcher.utter_message(
                text=replies.bill_reply(phone, month, store.get_bill(phone, month))
            )
        else:
            sub = store.get_subscriber(phone, today)
            assert sub is not None, "a verified phone has a subscriber"
            charges = store.month_to_date(phone, today)
            dispatcher.utter_message(
                text=replies.balance_reply(phone, sub.balance, sub.status, charges)
            )
        return [SlotSet("month", None)] if month_text else []
