"""Remaining data, voice and SMS per package; a data pack offer near exhaustion."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.flows import common

DATA_PACK_BUTTONS = [
    {"title": "怎么加流量包", "payload": "流量包怎么办理"},
    {"title": "换大流量套餐", "payload": "/change_plan"},
]


class ActionAnswerDataUsage(common.VerifiedAction):
    def name(self) -> str:
        return "action_answer_data_usage"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, phone: str
    ) -> list[EventType]:
        packages = common.store().get_usage(phone, common.today())
        text, near = replies.usage_reply(phone, packages)
        dispatcher.utter_message(text=text)
        if near:
            dispatcher.utter_message(text=replies.DATA_PACK_OFFER, buttons=DATA_PACK_BUTTONS)
        return []
