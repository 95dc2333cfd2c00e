"""Service password reset: needs full ID verification; the new password goes by SMS only."""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.flows import common
from telecom import mask

log = logging.getLogger(__name__)


class ActionResetPassword(common.VerifiedAction):
    level = "full"

    def name(self) -> str:
        return "action_reset_password"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, phone: str
    ) -> list[EventType]:
        common.store().reset_password(phone, common.now())
        log.info("flows.password.reset phone=%s", mask.phone(phone))
        dispatcher.utter_message(text=replies.password_reset_reply(phone))
        return []
