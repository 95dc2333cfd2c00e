"""The subscriber store interface: records, errors and the SubscriberStore protocol.

Money in fen (int), data in MB (int), dates are datetime.date, times are aware UTC datetimes.
Every method that changes data is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from actions.verification import Limits, Lock
from telecom.catalog import Destination, Plan, RoamingTariff
from telecom.tickets import Deadlines, TicketState

if TYPE_CHECKING:
    from actions.settings import Retention

__all__ = [
    "AccountSuspended",
    "Bill",
    "BillItem",
    "Charges",
    "Consent",
    "InvalidInput",
    "MonthlyUsage",
    "NoSuchDestination",
    "NoSuchOutage",
    "NoSuchPlan",
    "NoSuchSubscriber",
    "NoSuchTicket",
    "Outage",
    "Package",
    "PlanChange",
    "QueueEntry",
    "SamePlan",
    "Sms",
    "StoreError",
    "Subscriber",
    "SubscriberStore",
    "Ticket",
    "TicketEvent",
    "TicketWarning",
    "VerificationResult",
]

TIERS = ("regular", "silver", "gold", "platinum")
TICKET_KINDS = ("complaint", "fault", "callback")
OUTAGE_SERVICES = ("mobile", "broadband", "tv")
OUTAGE_STATUSES = ("open", "closed")


# ------------------------------------------------------------------------------------- errors


class StoreError(Exception):
    """Base of every store error. Messages never carry personal data."""


class NoSuchSubscriber(StoreError):
    pass


class NoSuchPlan(StoreError):
    pass


class SamePlan(StoreError):
    """The target plan is the current plan (or the change is already scheduled)."""


class NoSuchDestination(StoreError):
    pass


class AccountSuspended(StoreError):
    """The line is suspended for arrears (欠费停机): roaming cannot be activated."""


class NoSuchOutage(StoreError):
    """No open outage with that id (unknown, or closed in the meantime)."""


class NoSuchTicket(StoreError):
    pass


class InvalidInput(StoreError):
    """An argument the store cannot accept (unknown ticket kind, bad phone format …)."""


# ------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class Subscriber:
    phone: str
    name: str
    tier: str  # regular | silver | gold | platinum
    plan_code: str
    balance: int  # fen; negative = arrears (欠费)
    status: str  # active | suspended (欠费停机)
    roaming_active: bool
    city: str
    district: str
    pending_plan_code: str | None = None  # a scheduled plan change
    pending_effective: date | None = None


@dataclass(frozen=True)
class BillItem:
    name: str  # 月租, 超出流量, 通话, 短信, 增值业务, 国际漫游
    amount: int  # fen


@dataclass(frozen=True)
class Bill:
    month: str  # YYYY-MM
    total: int
    items: tuple[BillItem, ...]
    paid: bool


@dataclass(frozen=True)
class Charges:
    """This month's charges so far."""

    month: str
    total: int
    items: tuple[BillItem, ...]


@dataclass(frozen=True)
class Package:
    name: str  # 套餐内通用流量 …
    kind: str  # data | voice | sms
    used: int
    total: int
    unit: str  # MB | 分钟 | 条
    reset_date: date

    @property
    def remaining(self) -> int:
        return max(self.total - self.used, 0)

    @property
    def used_ratio(self) -> float:
        return self.used / self.total if self.total else 0.0


@dataclass(frozen=True)
class MonthlyUsage:
    month: str
    data_mb: int
    voice_min: int
    sms: int


@dataclass(frozen=True)
class PlanChange:
    id: int
    phone: str
    from_plan: str
    to_plan: str
    effective: date
    requested_at: datetime
    status: str  # scheduled | superseded | applied


@dataclass(frozen=True)
class Sms:
    id: int
    phone: str
    created_at: datetime
    kind: str  # password_reset | plan_change | roaming | ticket
    body: str = field(repr=False)  # may carry a temporary password: never log it


@dataclass(frozen=True)
class Ticket:
    id: str  # T20261123-000123
    kind: str  # complaint | fault | callback
    category: str
    severity: str | None
    description: str  # HTML-escaped, control characters removed, length-limited
    customer: str  # masked phone for display, '' when anonymous
    # open | in_progress | resolved | closed | attached: the lifecycle's state as it was named
    # before there was one (lifecycle.STATUS_OF)
    status: str
    created_at: datetime
    lifecycle: TicketState  # state, team, assignee, deadlines, result, remedy, rating …
    extra: dict[str, Any] = field(default_factory=dict)  # escaped string values
    last_reply: str | None = None  # the latest text sent to the customer (escaped)


@dataclass(frozen=True)
class TicketEvent:
    """One step of a ticket, as recorded (telecom.tickets.STEPS, or `open`)."""

    ticket_id: str
    seq: int  # 1, 2, … within the ticket
    step: str
    actor: str  # agent:<id> | supervisor:<id> | system | customer
    team: str  # the ticket's team after the step
    text: str | None  # escaped, numbers masked
    detail: dict[str, Any]  # result, remedy, rating, window, state (escaped)
    ts: datetime


@dataclass(frozen=True)
class QueueEntry:
    """A ticket in its team's queue: its nearest open deadline and the windows it has missed."""

    ticket: Ticket
    due: datetime | None
    breached: tuple[str, ...]


@dataclass(frozen=True)
class TicketWarning:
    """A ticket's deadline window at 80 % or more and not escalated yet (telecom.tickets)."""

    ticket_id: str
    window: str  # respond | resolve | follow_up
    due: datetime
    team: str


@dataclass(frozen=True)
class Outage:
    """A known outage (network operations' data): one service down in one district."""

    id: str  # O20261123-01
    city: str
    district: str
    service: str  # mobile | broadband | tv
    description: str  # customer-facing, Chinese
    started_at: datetime
    expected_restore_at: datetime | None
    status: str  # open | closed


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    failures: int  # failures in a row for this number after this attempt
    locked_until: datetime | None  # set when locked (also when the attempt was refused)
    lock_scope: str | None = None  # number | conversation | client, when locked
    remaining: int | None = None  # failures left before a lock, over every scope


@dataclass(frozen=True)
class Consent:
    """The customer went on after being shown a privacy notice."""

    conversation: str
    notice_version: str
    purpose: str  # verification
    at: datetime


# ---------------------------------------------------------------------------------- protocol


class SubscriberStore(Protocol):
    def get_subscriber(self, phone: str, today: date | None = None) -> Subscriber | None: ...

    def check_identity(
        self, phone: str, *, id_last6: str | None = None, id_number: str | None = None
    ) -> bool: ...

    def verification_lock(
        self,
        phone: str | None,
        now: datetime,
        *,
        conversation: str | None = None,
        client: str | None = None,
        limits: Limits | None = None,
    ) -> Lock | None: ...

    def record_verification_attempt(
        self,
        phone: str,
        success: bool,
        now: datetime,
        *,
        conversation: str | None = None,
        client: str | None = None,
    ) -> int: ...

    def verify_identity(
        self,
        phone: str,
        now: datetime,
        *,
        id_last6: str | None = None,
        id_number: str | None = None,
        conversation: str | None = None,
        client: str | None = None,
        limits: Limits | None = None,
    ) -> VerificationResult: ...

    def claim_login_nonce(
        self, nonce: str, conversation: str, now: datetime, expires_at: datetime
    ) -> bool: ...

    def record_consent(
        self, conversation: str, notice_version: str, now: datetime, purpose: str = "verification"
    ) -> bool: ...

    def consents(self, conversation: str) -> list[Consent]: ...

    def purge(self, now: datetime, retention: Retention) -> dict[str, int]: ...

    def get_plan(self, code: str) -> Plan | None: ...

    def list_plans(self) -> list[Plan]: ...

    def get_bills(self, phone: str, months: int = 6) -> list[Bill]: ...

    def get_bill(self, phone: str, month: str) -> Bill | None: ...

    def month_to_date(self, phone: str, today: date) -> Charges: ...

    def get_usage(self, phone: str, today: date) -> list[Package]: ...

    def usage_history(self, phone: str, months: int = 6) -> list[MonthlyUsage]: ...

    def change_plan(
        self, phone: str, plan_code: str, effective: date, now: datetime | None = None
    ) -> PlanChange: ...

    def apply_due_plan_changes(
        self, today: date, now: datetime | None = None, phone: str | None = None
    ) -> list[PlanChange]: ...

    def find_destination(self, text: str) -> Destination | None: ...

    def expand_group(self, text: str) -> list[Destination]: ...

    def roaming_offers(self, destination_code: str) -> RoamingTariff: ...

    def set_roaming(self, phone: str, active: bool, now: datetime) -> None: ...

    def reset_password(self, phone: str, now: datetime) -> None: ...

    def check_password(self, phone: str, password: str) -> bool: ...

    def outbox(self, phone: str) -> list[Sms]: ...

    def create_ticket(
        self,
        kind: str,
        category: str,
        description: str,
        phone: str | None,
        now: datetime,
        severity: str | None = None,
        extra: dict[str, Any] | None = None,
        due: Deadlines | None = None,
    ) -> Ticket: ...

    def get_tickets(self, phone: str) -> list[Ticket]: ...

    def ticket(self, ticket_id: str) -> Ticket | None: ...

    def ticket_steps(self, ticket_id: str) -> list[TicketEvent]: ...

    def apply_ticket_step(
        self, ticket_id: str, step: str, actor: str, now: datetime, **fields: Any
    ) -> Ticket: ...

    def team_queue(self, team: str, now: datetime) -> list[QueueEntry]: ...

    def due_ticket_warnings(self, now: datetime) -> list[TicketWarning]: ...

    def open_outage(
        self, city: str | None, district: str, service: str, now: datetime
    ) -> Outage | None: ...

    def attach_outage_report(
        self,
        outage_id: str,
        description: str,
        phone: str | None,
        now: datetime,
        *,
        category: str = "network",
        extra: dict[str, Any] | None = None,
    ) -> Ticket: ...

    def close_outage(self, outage_id: str, now: datetime) -> None: ...

    def count_subscribers(self) -> int: ...
