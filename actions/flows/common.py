"""What every flow shares: the settings and the store (one each per process), the clock, the
signed login and the conversation's client key, slot helpers.

Nothing is opened at import time: the action server calls `start()` before it serves (bad
secrets stop it there, in one line); otherwise both are made on first use. Tests install their
own store, settings and clock with `use_store` and `use_clock`.
"""

from __future__ import annotations

import logging
import re
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.identity import verify_login
from actions.settings import Settings, SettingsError, load_settings
from actions.store.base import Subscriber, SubscriberStore
from telecom.dates import CHINA_TZ
from telecom.secrets import InsecureSecret

log = logging.getLogger(__name__)


@dataclass
class _State:
    store: SubscriberStore | None = None
    settings: Settings | None = None
    clock: Callable[[], datetime] | None = None


_state = _State()


def settings() -> Settings:
    if _state.settings is None:
        _state.settings = load_settings()
    return _state.settings


def store() -> SubscriberStore:
    """The subscriber store of this process, opened on first use."""
    if _state.store is None:
        from actions.store import open_store

        _state.store = open_store(settings())
    return _state.store


def start() -> Settings:
    """Build the settings and open (create, migrate) the store, at action-server start.

    Exits with one line on stderr and a non-zero status when a secret or setting is bad or the
    store cannot be opened with them (e.g. another ID pepper than the store's)."""
    from actions.store import StoreError

    try:
        loaded = _state.settings = load_settings()
        store()
    except (InsecureSecret, SettingsError, StoreError) as exc:
        raise SystemExit(f"action server not started: {exc}") from None
    return loaded


def use_store(value: SubscriberStore | None, settings_value: Settings | None = None) -> None:
    """Install a store (and optionally settings) for this process; tests use a temporary one."""
    _state.store = value
    if settings_value is not None:
        _state.settings = settings_value


def use_clock(clock: Callable[[], datetime] | None) -> None:
    """Install a clock returning aware datetimes (None: the real clock)."""
    _state.clock = clock


def offset_clock(path: Path) -> Callable[[], datetime]:
    """A clock running `path`'s number of seconds (a float) ahead of the real time, the file read
    on every call (missing, empty or unreadable: 0), so a demo or a test moves every deadline
    rule forward by writing it (ASSISTANT_CLOCK_OFFSET_FILE; settings refuse it outside demo
    mode)."""

    def clock() -> datetime:
        try:
            text = path.read_text(encoding="utf-8").strip()
            offset = float(text) if text else 0.0
        except (OSError, ValueError):
            offset = 0.0
        if offset != offset or abs(offset) > MAX_CLOCK_OFFSET_S:  # NaN or absurd: real time
            offset = 0.0
        return datetime.now(timezone.utc) + timedelta(seconds=offset)

    return clock


MAX_CLOCK_OFFSET_S = 10 * 365 * 86400.0


def now() -> datetime:
    """The current time, aware, UTC."""
    clock = _state.clock
    return clock() if clock else datetime.now(timezone.utc)


def today() -> date:
    """Today's date in China (bills and plan changes follow local dates)."""
    return now().astimezone(CHINA_TZ).date()


def local_time(moment: datetime) -> str:
    """'14:35' in China time."""
    return moment.astimezone(CHINA_TZ).strftime("%H:%M")


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


PHONE_AGAIN = "抱歉，没能识别出手机号码。请输入11位手机号，例如 138 0013 8000。"


def latest_intent(tracker: Tracker) -> str:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return str(intent.get("name") or "")


CLIENT_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def metadata(tracker: Tracker) -> dict[str, Any]:
    """The latest message's metadata (built by the gateway from its allow-list)."""
    value = (tracker.latest_message or {}).get("metadata")
    return value if isinstance(value, dict) else {}


def client_key(tracker: Tracker) -> str | None:
    """The gateway's pseudonymous key of the client address, when it gave one."""
    value = metadata(tracker).get("client")
    return value if isinstance(value, str) and CLIENT_KEY.match(value) else None


def login_phone(tracker: Tracker) -> str | None:
    """The number of a signed app login new to this conversation, else None.

    A login is accepted once (`verify_login` remembers its nonce): the caller keeps what it
    learned in the verified_* slots. A login whose number is already the verified one is not
    checked again (the session's metadata is read on every request)."""
    seen = set()
    for data in (metadata(tracker), tracker.get_slot("session_started_metadata")):
        login = data.get("login") if isinstance(data, dict) else None
        if not isinstance(login, dict) or str(login.get("nonce")) in seen:
            continue
        seen.add(str(login.get("nonce")))
        if login.get("phone") and login.get("phone") == tracker.get_slot("verified_phone"):
            continue
        phone = verify_login(data, settings().identity_secret, now(), tracker.sender_id, store())
        if phone:
            return phone
    return None


def verified_phone(tracker: Tracker, level: str = "basic") -> str | None:
    """The phone verified in this conversation at `level` or better, else None."""
    phone: str | None = tracker.get_slot("verified_phone")
    have = tracker.get_slot("verified_level")
    if not phone or tracker.get_slot("identity_status") != "verified":
        return None
    if level == "full" and have != "full":
        return None
    return phone


def subscriber_of(phone: str | None) -> Subscriber | None:
    """The subscriber with `phone` as of today (a plan change due by then applied), else None."""
    return store().get_subscriber(phone, today()) if phone else None


def verified_subscriber(tracker: Tracker) -> tuple[str | None, Subscriber | None]:
    """The verified phone (basic level) and its subscriber, each None when there is none."""
    phone = verified_phone(tracker)
    return phone, subscriber_of(phone)


def changed_slots(tracker: Tracker, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`events` without the slot sets that would leave a slot as it is.

    Every event stays in the conversation's history, which the dialogue policies read and the
    action server is sent in full on every action; a slot set to the value it already has
    changes nothing but makes both longer for the rest of the conversation."""
    return [
        event
        for event in events
        if event.get("event") != "slot" or tracker.get_slot(event["name"]) != event.get("value")
    ]


def queue_followup(tracker: Tracker) -> list[EventType]:
    """Serve the requests the customer made in the same breath next (actions/flows/repair.py),
    when some are queued: for the actions that finish a request."""
    return [FollowupAction("action_serve_queue")] if tracker.get_slot("queued_requests") else []


NOT_VERIFIED = (
    "为了保护您的账户安全，这项业务需要先核实身份。请再说一次您要办理的业务，我会引导您完成核验。"
)


class VerifiedAction(Action, metaclass=ABCMeta):
    """An action that answers only for a verified phone; subclasses implement `answer`."""

    level = "basic"

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        phone = verified_phone(tracker, self.level)
        if phone is None:
            dispatcher.utter_message(text=NOT_VERIFIED)
            return []
        return [*self.answer(dispatcher, tracker, phone), *queue_followup(tracker)]

    @abstractmethod
    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, phone: str
    ) -> list[EventType]: ...


# Slots each form owns; cleared when the customer cancels or the flow finishes.
FORM_SLOTS = {
    "verification_form": ("phone_number", "id_last6", "id_number"),
    "plan_change_form": ("target_plan", "plan_confirmed"),
    "roaming_form": ("roaming_action", "roaming_confirmed"),
    "ticket_form": ("ticket_description", "ticket_kind", "ticket_complaint_too"),
}

CANCEL_MESSAGES = {
    "verification_form": (
        "好的，已停止身份核验。刚才输入的证件号码不会写入用户资料；"
        "已进行的核验记录（号码、时间和结果）按隐私说明的期限保存后删除。需要时随时再找我。"
    ),
    "plan_change_form": "好的，本次不变更套餐，您的套餐保持不变。想了解其他套餐随时告诉我。",
    "roaming_form": "好的，已取消，国际漫游状态没有任何变化。还有其他可以帮您的吗？",
    "ticket_form": "好的，这次先不登记了。如果之后还需要投诉或报修，随时告诉我。",
}


def cancelled_loop(tracker: Tracker) -> str | None:
    """The form the customer just left (the last active loop before action_deactivate_loop)."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name"):
            name: str = event["name"]
            return name
    return None


class ActionCancelRequest(Action):
    """After `action_deactivate_loop` on 算了/不办了/取消: say so and forget the form's slots."""

    def name(self) -> str:
        return "action_cancel_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        form = cancelled_loop(tracker) or ""
        dispatcher.utter_message(text=CANCEL_MESSAGES.get(form, "好的，已为您取消，未做任何变更。"))
        slots = FORM_SLOTS.get(form, ())
        return [SlotSet(slot, None) for slot in slots]
