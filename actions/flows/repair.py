"""Conversation repair: what a good agent does when the customer does not go straight.

- **Digressions**: a question the assistant can answer (a FAQ, roaming prices, the balance, data,
  plan or ticket status of a verified customer, chitchat) asked in the middle of a form is
  answered there, and the form goes on with a short reminder of where it was. An account question
  asked before verification is done is queued and answered after it.
- **Several requests in one message** ("查一下余额，再看看流量还剩多少"): the NLU's intent is the
  first one named (components/multi_request.py); the others, and a fault reported besides, are
  found in the text and queued (`queued_requests`, served by `action_serve_queue` when the
  first is done, after the one verification), and the assistant says the order.
- **Cancellation** ("算了", "不办了", "换个问题") ends the open form cleanly, whatever the NLU
  made of it.
- **Switching**: starting another transaction in the middle of one asks whether to drop the
  first (`switch_answer`, asked by `action_ask_switch_answer`).
- **Context that carries**: "那日本呢？" / "那上个月呢？" reuse the last request.

Decisions are the pure functions at the top; the form validators of every flow call
`RepairingValidation.run` before their own extraction. Rasa 3.6's FormAction lets a validation
action end the form (requested_slot None) and a FollowupAction run next; the bookkeeping slot
`repair_turn` keeps the form from rejecting a turn it has answered.
"""

from __future__ import annotations

import logging
import re
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.flows import common
from actions.roaming_quote import infer_roaming_action
from actions.ticket_triage import clean_description
from components import request_cues

log = logging.getLogger(__name__)

# -- what the customer asked for --------------------------------------------------------------

# Requests answered in one turn, no form: a digression or a queued request.
READ_ONLY = ("balance", "data_usage", "plan", "check_ticket", "roaming_price")
# Requests with their own form (or a ticket): starting one inside another asks first.
TRANSACTIONS = ("change_plan", "roaming", "reset_password", "complaint", "fault")
# Answered anywhere without an account: chitchat and the FAQ.
CHITCHAT = {
    "faq": None,
    "bot_challenge": "utter_bot_challenge",
    "greet": None,
    "thanks": "utter_thanks",
}

LABELS = {
    "balance": "查话费",
    "data_usage": "查流量",
    "plan": "查套餐",
    "check_ticket": "查工单进度",
    "roaming_price": "查漫游资费",
    "change_plan": "换套餐",
    "roaming": "办理国际漫游",
    "reset_password": "重置服务密码",
    "complaint": "登记投诉",
    "fault": "报修",
}

REQUEST_OF_INTENT = {
    "query_balance": "balance",
    "query_data_usage": "data_usage",
    "query_plan": "plan",
    "check_ticket": "check_ticket",
    "change_plan": "change_plan",
    "roaming": "roaming",
    "reset_password": "reset_password",
    "complain": "complaint",
    "report_fault": "fault",
}

# The request each form serves (the verification form serves the pending request).
FORM_REQUEST = {
    "plan_change_form": "change_plan",
    "roaming_form": "roaming",
}

# Asking about something else: never a yes, whatever the NLU made of it.
_OTHER_TOPIC = r"换个问题|问别的|问点别的|说点别的|我问别的"
_CANCEL = re.compile(
    r"^(?:(?:好吧|哎|唉|嗯|那|呃)[，,、\s]*)?"
    r"(?:算了|不办了|不弄了|不用了|不要了|不需要了|取消|取消吧|先不办|先不弄|先不用|暂时不用|"
    rf"不想办了|不想换了|不换了|{_OTHER_TOPIC}|不查了|别弄了)"
    r"(?:吧|了|啦|呢|了吧)?(?P<rest>[，,。.!！\s].*)?$"
)
_STARTS_OTHER_TOPIC = re.compile(rf"^(?:(?:好吧|哎|唉|嗯|那|呃)[，,、\s]*)?(?:{_OTHER_TOPIC})")
# After the cancel phrase, at most a short courtesy ("不用了，谢谢"); more is something said.
_CANCEL_REST = 6


def starts_with_cancel(text: str) -> bool:
    """The message opens with a cancel phrase ("算了，我还是想先换个套餐")."""
    return bool(_CANCEL.match(text.strip()))


def is_cancel(text: str) -> bool:
    """The customer drops what is open and says nothing more ("算了", "不办了，谢谢", "换个问
    题"); "算了，我也不想多说，就是网太慢" is a description that opens with 算了."""
    found = _CANCEL.match(text.strip())
    if found is None:
        return False
    return len((found.group("rest") or "").strip(" ，,。.!！")) <= _CANCEL_REST


def request_of(intent: str, text: str, roaming_action: str | None = None) -> str | None:
    """The request an intent names; roaming is a price question unless it opens or closes."""
    request = REQUEST_OF_INTENT.get(intent)
    if request == "roaming":
        action = roaming_action or infer_roaming_action(text)
        return "roaming" if action in ("activate", "deactivate") else "roaming_price"
    return request


def requests_in(text: str) -> list[str]:
    """The requests a message names, in the order it names them (components/multi_request.py);
    roaming as a price question or a transaction, by its clause."""
    found: list[str] = []
    for request, clause in request_cues.requests_in(text):
        named = request_of("roaming", clause) if request == "roaming" else request
        if named and named not in found:
            found.append(named)
    return found


_ASKS = re.compile(r"查|看看|看一下|多少|还剩|剩多少|怎么样")


def asked_requests(text: str) -> list[str]:
    """The read-only requests a message asks for besides something else ("宽带断了，顺便查下
    话费"): a clause that names one and asks (a complaint that mentions the bill does not)."""
    found: list[str] = []
    for request, clause in request_cues.requests_in(text):
        named = request_of("roaming", clause) if request == "roaming" else request
        if named in READ_ONLY and named not in found and _ASKS.search(clause):
            found.append(named)
    return found


def fault_clause(text: str) -> str | None:
    """The clause of a message that reports something not working ("家里手机没信号了"), if any."""
    for clause in request_cues.CLAUSE.split(text):
        if not request_cues.reports_fault(clause):
            continue
        if "reset_password" in requests_in(clause):
            continue  # "帮我重置一下" after a forgotten password resets the password
        return clause.strip(" ，,。")
    return None


def further_requests(text: str, first: str) -> list[str]:
    """The requests after `first` that the message also makes ([] for a single request); a
    fault it reports besides is reported after them."""
    found = [request for request in requests_in(text) if request != first]
    if first not in ("fault", "complaint") and fault_clause(text):
        found.append("fault")
    return found[:3]


def order_message(first: str, rest: list[str]) -> str:
    """'好的，先帮您查话费，再查流量。'"""
    return "好的，先帮您" + "，再".join(LABELS[r] for r in [first, *rest]) + "。"


_FOLLOW_UP = re.compile(r"^(?:那|那么|还有|再)?.{0,12}(?:呢|吗)[?？。]?$|^(?:那|那么)")


def follow_up(text: str, entities: dict[str, str], last: str | None) -> str | None:
    """The request a follow-up ("那日本呢？", "那上个月呢？") repeats with a new value (None:
    not a follow-up)."""
    bare = any(len(text.strip(" ，。？?!！")) <= len(v) + 1 for v in entities.values())
    if not last or not (_FOLLOW_UP.search(text.strip()) or bare):
        return None
    if "destination" in entities and last in ("roaming_price", "roaming"):
        return "roaming_price"
    if "month" in entities and last == "balance":
        return "balance"
    return None


_INSTEAD = re.compile(r"算了|还是|改成|改为|不查.{0,3}了|换成")


@dataclass(frozen=True)
class Turn:
    """What a message inside a form is: `kind` digression | queue | switch | cancel | none."""

    kind: str
    request: str | None = None


_DIGIT = re.compile(r"[0-9０-９幺一二三四五六七八九零〇洞两拐勾xX叉]|爱克斯|艾克斯")


def is_number_answer(text: str) -> bool:
    """A message that says a number (six digits or more, typed or spoken) and names no
    request: "三两洞幺洞两 幺勾五两幺两洞幺 洞六两勾" answers a question, it asks for nothing."""
    return len(_DIGIT.findall(text)) >= 6 and not requests_in(text)


def form_turn(
    form: str,
    intent: str,
    text: str,
    *,
    pending: str | None,
    roaming_action: str | None = None,
    entities: dict[str, str] | None = None,
    last: str | None = None,
) -> Turn:
    """How a form treats a message that may leave its question (pure)."""
    own = pending if form == "verification_form" else FORM_REQUEST.get(form)
    named = requests_in(text) if intent != "affirm" and starts_with_cancel(text) else []
    if named:
        # "算了，我还是想先换个套餐": dropped already, so no question before the other request
        # (named by the words, not the NLU); while verifying, the request's own rules replace
        # the pending one and verification goes on
        if form == "verification_form":
            return Turn("none")
        if named[0] != own:
            return Turn("switch_now", named[0])
    if is_cancel(text) and (intent != "affirm" or _STARTS_OTHER_TOPIC.match(text.strip())):
        return Turn("cancel")  # a yes read into "取消" answers the question; "换个问题" never does
    if is_number_answer(text):
        return Turn("none")  # digits answer the form's question, whatever the NLU made of them
    if intent in CHITCHAT:
        return Turn("digression", intent)
    carried = follow_up(text, entities or {}, last)
    if carried == "roaming_price" and own != "roaming":
        return Turn("digression", carried)
    request = request_of(intent, text, roaming_action)
    if request is None or request == own:
        return Turn("none")
    if request == "roaming_price":
        return Turn("none") if own == "roaming" else Turn("digression", request)
    if request in READ_ONLY:
        if form == "verification_form":
            # "算了还是帮我查流量吧": instead of the first, not besides it (the request's own
            # rules replace the pending request; verification goes on)
            return Turn("none") if _INSTEAD.search(text) else Turn("queue", request)
        return Turn("digression", request)
    if form == "verification_form":
        return Turn("queue", request) if request in ("change_plan", "roaming") else Turn("none")
    if form == "ticket_form" and request in ("complaint", "fault"):
        return Turn("none")
    return Turn("switch", request)


# -- serving a request in one turn ------------------------------------------------------------


def entity_values(message: dict[str, Any]) -> dict[str, str]:
    return {
        str(e.get("entity")): str(e.get("value"))
        for e in message.get("entities") or []
        if e.get("entity") and e.get("value") is not None
    }


def _answer_action(request: str) -> common.VerifiedAction:
    """The action that answers a read-only request (imported here: those modules import this)."""
    from actions.flows.billing import ActionAnswerBalance
    from actions.flows.data_usage import ActionAnswerDataUsage
    from actions.flows.plans import ActionAnswerPlan
    from actions.flows.tickets import ActionListTickets

    classes: dict[str, type[common.VerifiedAction]] = {
        "balance": ActionAnswerBalance,
        "data_usage": ActionAnswerDataUsage,
        "plan": ActionAnswerPlan,
        "check_ticket": ActionListTickets,
    }
    return classes[request]()


def roaming_price(dispatcher: CollectingDispatcher, tracker: Tracker, place: str | None) -> bool:
    """The tariff of `place` (a destination or group); False when it names none we know."""
    from actions.flows.roaming import quote_for

    text = quote_for(place, tracker.get_slot("duration"))
    if not text:
        return False
    dispatcher.utter_message(text=text)
    return True


def serve(request: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Answer a read-only request now. A roaming price without a destination asks for one."""
    if request == "roaming_price":
        place = entity_values(tracker.latest_message or {}).get("destination") or tracker.get_slot(
            "destination"
        )
        if not roaming_price(dispatcher, tracker, place):
            dispatcher.utter_message(text="想了解哪个国家或地区的漫游资费？告诉我目的地就可以。")
        return [SlotSet("last_request", request)]
    phone = common.verified_phone(tracker)
    if phone is None:
        return []
    events = _answer_action(request).answer(dispatcher, tracker, phone)
    return [*events, SlotSet("last_request", request)]


# -- inside a form -----------------------------------------------------------------------------


def _form_label(form: str, tracker: Tracker) -> str:
    if form == "verification_form":
        pending = tracker.get_slot("pending_request")
        label = LABELS.get(str(pending), "")
        return f"身份核验（{label}）" if label else "身份核验"
    if form == "ticket_form":
        return {"fault": "报修登记", "callback": "回电登记"}.get(
            str(tracker.get_slot("ticket_kind")), "投诉登记"
        )
    return LABELS.get(FORM_REQUEST.get(form, ""), "")


def _queue(tracker: Tracker, request: str) -> list[str]:
    queued = list(tracker.get_slot("queued_requests") or [])
    return queued if request in queued else [*queued, request]


SWITCH_SLOT = "switch_answer"


class RepairingValidation(FormValidationAction, metaclass=ABCMeta):
    """A form validation that repairs first: digressions, queued requests, cancellation and
    switching (see the module's docstring); else the form's own extraction and validation."""

    form = ""

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        asked = tracker.get_slot("requested_slot")
        if not asked:  # the form is being activated: its trigger is not a digression
            return await super().run(dispatcher, tracker, domain)
        if asked == SWITCH_SLOT:
            return await self._switch_answer(dispatcher, tracker, domain)
        entities = entity_values(tracker.latest_message or {})
        turn = form_turn(
            self.form,
            common.latest_intent(tracker),
            common.latest_text(tracker),
            pending=tracker.get_slot("pending_request"),
            roaming_action=entities.get("roaming_action"),
            entities=entities,
            last=tracker.get_slot("last_request") or tracker.get_slot("pending_request"),
        )
        if turn.kind == "none":
            return await super().run(dispatcher, tracker, domain)
        log.info("flows.repair form=%s turn=%s request=%s", self.form, turn.kind, turn.request)
        if turn.kind == "cancel":
            return [
                SlotSet("requested_slot", None),
                SlotSet("queued_requests", None),
                FollowupAction("action_cancel_request"),
            ]
        if turn.kind == "switch":
            return [SlotSet("switch_to", turn.request), SlotSet("requested_slot", SWITCH_SLOT)]
        if turn.kind == "switch_now":
            return [
                SlotSet("switch_to", turn.request),
                SlotSet("requested_slot", None),
                FollowupAction("action_switch_request"),
            ]
        events = self._digression(dispatcher, tracker, turn)
        dispatcher.utter_message(text=f"我们接着刚才的{_form_label(self.form, tracker)}。")
        turn_count = int(tracker.get_slot("repair_turn") or 0) + 1
        return [
            *events,
            SlotSet("repair_turn", float(turn_count)),
            SlotSet("requested_slot", asked),
        ]

    def _digression(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, turn: Turn
    ) -> list[EventType]:
        request = str(turn.request)
        if turn.kind == "queue":
            dispatcher.utter_message(text=f"好的，身份核验通过后接着为您{LABELS[request]}。")
            return [SlotSet("queued_requests", _queue(tracker, request))]
        if request in CHITCHAT:
            response = CHITCHAT[request]
            if request == "faq":
                selected = (tracker.latest_message or {}).get("response_selector") or {}
                response = ((selected.get("faq") or {}).get("response") or {}).get("utter_action")
            if response:
                dispatcher.utter_message(response=response)
            else:
                dispatcher.utter_message(text="您好！")
            return []
        if request != "roaming_price" and common.verified_phone(tracker) is None:
            dispatcher.utter_message(
                text=f"{LABELS[request]}需要先核验身份。这件事办完后，我再为您{LABELS[request]}。"
            )
            return [SlotSet("queued_requests", _queue(tracker, request))]
        return serve(request, dispatcher, tracker)

    async def _switch_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """是: end this form, the switch follows; anything else: this form asks its question
        again. (A slot set besides requested_slot keeps the form from rejecting the turn.)"""
        intent = common.latest_intent(tracker)
        wanted = tracker.get_slot("switch_to")
        if intent == "affirm" and wanted:
            return [
                SlotSet("switch_to", wanted),
                SlotSet("requested_slot", None),
                FollowupAction("action_switch_request"),
            ]
        dispatcher.utter_message(text=f"好的，我们继续{_form_label(self.form, tracker)}。")
        tracker.slots["switch_to"] = None
        tracker.slots["requested_slot"] = None
        ask = await self.next_requested_slot(dispatcher, tracker, domain)
        return [SlotSet("switch_to", None), *([ask] if ask else [])]


class ActionAskSwitchAnswer(Action):
    """'您正在办理换套餐，要先放下它，改为办理国际漫游吗？'"""

    def name(self) -> str:
        return "action_ask_switch_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        form = (tracker.active_loop or {}).get("name") or ""
        wanted = LABELS.get(str(tracker.get_slot("switch_to")), "新的业务")
        dispatcher.utter_message(
            text=f"您正在{_form_label(form, tracker)}，还没有完成。要先放下它，改为{wanted}吗？",
            buttons=[
                {"title": f"是，改为{wanted}", "payload": "/affirm"},
                {"title": "否，继续", "payload": "/deny"},
            ],
        )
        return []


# The form a transaction starts with once the customer is verified (complaints and faults start
# the ticket form without verification; a password reset runs its action).
START_FORM = {"change_plan": "plan_change_form", "roaming": "roaming_form"}


def start(
    request: str, dispatcher: CollectingDispatcher, tracker: Tracker, text: str
) -> list[EventType]:
    """Start a request from an action (a switch, a queued request): a read-only one is answered
    now (after verification when it needs one); a transaction starts its form."""
    if request in READ_ONLY and (request == "roaming_price" or common.verified_phone(tracker)):
        return serve(request, dispatcher, tracker)
    if request in ("complaint", "fault"):
        said = fault_clause(text) if request == "fault" else None
        return [
            SlotSet("ticket_kind", request),
            SlotSet("ticket_description", clean_description(said) if said else None),
            FollowupAction("ticket_form"),
        ]
    events: list[EventType] = [SlotSet("pending_request", request)]
    if request == "roaming":
        events.append(SlotSet("roaming_action", infer_roaming_action(text) or "activate"))
    level = "full" if request == "reset_password" else "basic"
    if common.verified_phone(tracker, level) is None:
        return [*events, SlotSet("identity_status", "needed"), FollowupAction("verification_form")]
    if request == "reset_password":
        return [*events, FollowupAction("action_reset_password")]
    return [*events, FollowupAction(START_FORM[request])]


def switch_text(tracker: Tracker) -> str:
    """The text of the message that asked for the switch (the one before the 是)."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    return str(users[-2].get("text") or "") if len(users) >= 2 else ""


class ActionSwitchRequest(Action):
    """The customer dropped the open form for another transaction: say so and start it."""

    def name(self) -> str:
        return "action_switch_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        form = common.cancelled_loop(tracker) or ""
        wanted = str(tracker.get_slot("switch_to") or "")
        dropped = common.CANCEL_MESSAGES.get(form, "好的。").split("。")[0]
        dispatcher.utter_message(text=f"{dropped}。现在为您{LABELS.get(wanted, '办理')}。")
        events: list[EventType] = [SlotSet(s, None) for s in common.FORM_SLOTS.get(form, ())]
        events += [SlotSet("switch_to", None), SlotSet("queued_requests", None)]
        if wanted in LABELS:
            events += start(wanted, dispatcher, tracker, switch_text(tracker))
        return events


class ActionServeQueue(Action):
    """After a request is done: the next one the customer asked for in the same breath."""

    def name(self) -> str:
        return "action_serve_queue"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        queued = list(tracker.get_slot("queued_requests") or [])
        events: list[EventType] = []
        while queued:
            request = queued.pop(0)
            ready = request == "roaming_price" or common.verified_phone(tracker)
            if request in READ_ONLY and ready:
                events += serve(request, dispatcher, tracker)
                continue
            dispatcher.utter_message(text=f"接下来为您{LABELS[request]}。")
            return [
                *events,
                SlotSet("queued_requests", queued or None),
                *start(request, dispatcher, tracker, _asked_in(tracker, request)),
            ]
        return [*events, SlotSet("queued_requests", None)]


def _asked_in(tracker: Tracker, request: str) -> str:
    """The latest customer message that named `request` (a roaming request says whether to
    open or close)."""
    for event in reversed(tracker.events):
        text = str(event.get("text") or "") if event.get("event") == "user" else ""
        if text and (request in requests_in(text) or (request == "fault" and fault_clause(text))):
            return text
    return ""


class ActionFollowUp(Action):
    """Details (or a "no") with no form open: a follow-up of the last request ("那日本呢？"),
    else ask what the details are for (or, after a "no", whether there is anything else)."""

    def name(self) -> str:
        return "action_follow_up"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = follow_up_events(dispatcher, tracker)
        if events is None:
            intent = (tracker.latest_message or {}).get("intent", {}).get("name")
            reply = "utter_ok_anything_else" if intent == "deny" else "utter_inform_without_request"
            dispatcher.utter_message(response=reply)
            return []
        return events


def follow_up_events(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """Serve a follow-up of the last request, or None when the message is not one."""
    last = tracker.get_slot("last_request") or tracker.get_slot("pending_request")
    request = follow_up(
        common.latest_text(tracker), entity_values(tracker.latest_message or {}), last
    )
    if request is None:
        return None
    if request != "roaming_price" and common.verified_phone(tracker) is None:
        return None
    log.info("flows.repair follow_up=%s", request)
    return serve(request, dispatcher, tracker)
