"""Identity: signed app login or the verification form (phone + ID last 6 / full ID).

`action_start_request` runs first for every sensitive request: it remembers the request in
`pending_request` and sets `identity_status` to `verified` (go ahead) or `needed` (the rules then
run `verification_form`). The form ends with `identity_status` `verified` or `failed` (locked).

The form shows the privacy notice before it asks for anything; the customer's next answer
records consent (conversation, time, notice version). Any well-formed number is taken: a number
that is not ours fails at the ID step with the same answer, count and cost as a wrong ID, so the
form does not tell who is a subscriber. Failures lock the number, the conversation and the
client (actions/verification.py).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.flows import common, digits, repair
from actions.flows.repair import RepairingValidation
from actions.roaming_quote import infer_roaming_action
from actions.verification import Lock
from telecom import mask
from telecom.numbers import parse_phone

log = logging.getLogger(__name__)

HUMAN_BUTTON = [{"title": "转人工", "payload": "/request_human"}]


class ActionStartRequest(Action):
    """Remember the sensitive request and decide whether the customer must verify first."""

    def name(self) -> str:
        return "action_start_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = common.latest_intent(tracker)
        if intent in replies.SENSITIVE_REQUESTS:
            request, level = replies.SENSITIVE_REQUESTS[intent]
        else:  # resumed with an unrelated intent: keep what was pending
            request = tracker.get_slot("pending_request") or "balance"
            level = replies.LEVEL_FOR_REQUEST.get(request, "basic")
        decision = replies.decide_identity(
            level,
            verified_phone=tracker.get_slot("verified_phone"),
            verified_level=tracker.get_slot("verified_level"),
            candidate_phone=parse_phone(tracker.get_slot("phone_number")),
            login_phone=common.login_phone(tracker),
        )
        events = [
            SlotSet("verified_phone", decision.verified_phone),
            SlotSet("verified_level", decision.verified_level),
            SlotSet("phone_number", decision.phone_number),
            SlotSet("id_last6", None),
            SlotSet("id_number", None),
        ]
        if request == "roaming" and intent == "roaming" and not tracker.get_slot("roaming_action"):
            action = infer_roaming_action(common.latest_text(tracker))
            if action:
                events.append(SlotSet("roaming_action", action))
        log.info("flows.request.start request=%s status=%s", request, decision.status)
        events += _queued(dispatcher, tracker, intent)
        return common.changed_slots(
            tracker,
            [
                *events,
                SlotSet("pending_request", request),
                SlotSet("identity_status", decision.status),
            ],
        )


def _queued(dispatcher: CollectingDispatcher, tracker: Tracker, intent: str) -> list[EventType]:
    """The other requests of a message that makes several ("查一下余额，再看看流量"): queued
    after this one, and the order said. A new request drops an older queue."""
    text = common.latest_text(tracker)
    first = repair.request_of(intent, text)
    rest = repair.further_requests(text, first) if first else []
    if not rest:
        return [SlotSet("queued_requests", None)]
    assert first is not None
    log.info("flows.request.queued first=%s rest=%s", first, ",".join(rest))
    dispatcher.utter_message(text=repair.order_message(first, rest))
    return [SlotSet("queued_requests", rest)]


def _needed_level(tracker: Tracker) -> str:
    request: str | None = tracker.get_slot("pending_request")
    return replies.LEVEL_FOR_REQUEST.get(request or "", "basic")


def _retention_days() -> int:
    return common.settings().retention.verification.days


def _record_consent(tracker: Tracker) -> None:
    """The customer answered after the privacy notice: record their consent (once)."""
    if not tracker.get_slot("privacy_notice_given"):
        return
    version = replies.notice_version(_needed_level(tracker), _retention_days())
    if common.store().record_consent(tracker.sender_id, version, common.now()):
        log.info("flows.verification.consent version=%s", version)


def _lock_reply(dispatcher: CollectingDispatcher, phone: str | None, lock: Lock) -> None:
    hhmm = common.local_time(lock.until)
    if lock.scope == "number" and phone:
        text = replies.lock_message(phone, lock.until, hhmm)
    else:
        text = replies.too_many_failures_message(hhmm)
    dispatcher.utter_message(text=text, buttons=HUMAN_BUTTON)


def _phone_before(tracker: Tracker) -> str | None:
    """The number the phone_number slot had before this message, if it was a valid one."""
    before = digits.previous_value(tracker, "phone_number")
    return parse_phone(str(before or "")) if before else None


def _form_phone(tracker: Tracker) -> str | None:
    """The number the ID digits are checked against: the one this message gives, else the one
    given before (this message's phone_number may be ID digits the NLU took for a number)."""
    asked = tracker.get_slot("requested_slot")
    if asked in digits.ID_SLOTS and digits.read("phone_number", None, tracker) is None:
        before = _phone_before(tracker)
        if before:
            return before
    return parse_phone(str(tracker.get_slot("phone_number") or ""))


def _id_digits_missed(tracker: Tracker, slot: str) -> dict[str, Any]:
    """The ID digits asked for, when the NLU did not map the message to them (it took spoken
    digits for another request): the latest text, for the validator to read."""
    if tracker.get_slot("requested_slot") != slot or tracker.get_slot(slot) is not None:
        return {}
    text = common.latest_text(tracker)
    return {slot: text} if digits.read_text(slot, text) is not None else {}


def _phone_corrected(tracker: Tracker) -> dict[str, Any]:
    """Another phone number said while the ID digits are asked for ("我说错了 是幺三八 洞洞幺三
    八洞洞洞"), when the NLU tagged none in it (spoken digits often come untagged): the latest
    text, for the phone validator to read."""
    if tracker.get_slot("requested_slot") not in digits.ID_SLOTS:
        return {}
    if digits.answers(tracker) != "phone_number":
        return {}  # the ID digits asked for, or no number
    text = common.latest_text(tracker)
    phone = digits.read_text("phone_number", text)
    return {"phone_number": text} if phone and phone != _phone_before(tracker) else {}


class ValidateVerificationForm(RepairingValidation):
    form = "verification_form"

    def name(self) -> str:
        return "validate_verification_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("identity_status") in ("verified", "failed"):
            return []
        level = _needed_level(tracker)
        return ["phone_number", "id_number" if level == "full" else "id_last6"]

    def _locked(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, phone: str | None
    ) -> dict[str, Any] | None:
        lock = common.store().verification_lock(
            phone,
            common.now(),
            conversation=tracker.sender_id,
            client=common.client_key(tracker),
            limits=common.settings().limits,
        )
        if lock is None:
            return None
        log.info("flows.verification.locked scope=%s", lock.scope)
        _lock_reply(dispatcher, phone, lock)
        return {"identity_status": "failed"}

    async def extract_id_last6(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _id_digits_missed(tracker, "id_last6")

    async def extract_id_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _id_digits_missed(tracker, "id_number")

    async def extract_phone_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _phone_corrected(tracker)

    def validate_phone_number(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        phone = digits.read("phone_number", value, tracker)
        if phone is None:
            before = _phone_before(tracker)
            if before and tracker.get_slot("requested_slot") in digits.ID_SLOTS:
                # the ID question's answer (or no number at all): the number given stays, and
                # the ID validator (or the ID question asked again) answers
                return {"phone_number": before}
            dispatcher.utter_message(text=common.PHONE_AGAIN)
            return {"phone_number": None}
        _record_consent(tracker)
        locked = self._locked(dispatcher, tracker, phone)
        if locked:
            return {"phone_number": None, **locked}
        return {"phone_number": phone}

    def _check(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        slot: str,
        value: Any,
        full: bool,
    ) -> dict[str, Any]:
        secret = digits.read(slot, value, tracker)
        phone = _form_phone(tracker)
        if phone is None:
            return {slot: None}  # asked again after the phone number
        if secret is None:
            asked = tracker.get_slot("requested_slot")
            if asked != slot or digits.answers(tracker) == "phone_number":
                return {slot: None}  # not asked for, or a phone number: its validator answers
            ask = (
                "18位身份证号码（最后一位可能是X）"
                if full
                else "身份证号码的最后6位（最后一位可能是X）"
            )
            dispatcher.utter_message(text=f"抱歉，格式不太对，请输入机主{ask}。")
            return {slot: None}
        _record_consent(tracker)
        kwargs = {"id_number": secret} if full else {"id_last6": secret}
        result = common.store().verify_identity(
            phone,
            common.now(),
            conversation=tracker.sender_id,
            client=common.client_key(tracker),
            limits=common.settings().limits,
            **kwargs,
        )
        if result.ok:
            log.info(
                "flows.verification.ok phone=%s level=%s",
                mask.phone(phone),
                "full" if full else "basic",
            )
            have = (
                tracker.get_slot("verified_level")
                if tracker.get_slot("verified_phone") == phone
                else None
            )
            level = "full" if full or have == "full" else "basic"
            dispatcher.utter_message(text=f"身份核验通过（{mask.phone(phone)}），谢谢您的配合。")
            return {
                slot: None,
                "phone_number": phone,
                "verified_phone": phone,
                "verified_level": level,
                "identity_status": "verified",
            }
        log.info(
            "flows.verification.failed phone=%s failures=%s", mask.phone(phone), result.failures
        )
        if result.locked_until is not None:
            _lock_reply(dispatcher, phone, Lock(result.lock_scope or "number", result.locked_until))
            return {slot: None, "identity_status": "failed"}
        remaining = result.remaining if result.remaining is not None else 0
        dispatcher.utter_message(text=replies.wrong_id_message(remaining, full))
        return {slot: None}

    def validate_id_last6(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return self._check(dispatcher, tracker, "id_last6", value, full=False)

    def validate_id_number(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return self._check(dispatcher, tracker, "id_number", value, full=True)


def _notice_events(
    dispatcher: CollectingDispatcher, tracker: Tracker, level: str
) -> list[EventType]:
    if tracker.get_slot("privacy_notice_given"):
        return []
    dispatcher.utter_message(text=replies.privacy_notice(level, _retention_days()))
    return [SlotSet("privacy_notice_given", True)]


class ActionAskPhoneNumber(Action):
    def name(self) -> str:
        return "action_ask_verification_form_phone_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = _notice_events(dispatcher, tracker, _needed_level(tracker))
        dispatcher.utter_message(text="请告诉我需要办理业务的手机号码。")
        return events


class ActionAskIdLast6(Action):
    def name(self) -> str:
        return "action_ask_id_last6"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = _notice_events(dispatcher, tracker, "basic")
        phone = mask.phone(tracker.get_slot("phone_number"))
        dispatcher.utter_message(
            text=f"请输入 {phone} 机主身份证号码的最后6位（最后一位是X的请输入X）。"
        )
        return events


class ActionAskIdNumber(Action):
    def name(self) -> str:
        return "action_ask_id_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = _notice_events(dispatcher, tracker, "full")
        phone = mask.phone(tracker.get_slot("phone_number"))
        dispatcher.utter_message(
            text=f"这项业务需要核验完整的身份证号码，请输入 {phone} 机主的18位身份证号码。"
        )
        return events
