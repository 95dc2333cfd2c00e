"""The router's ticket, outage, alert and follow-up routes (docs/contracts.md "The service loop"):
people are authenticated here (router/api/deps.py) and the ticket service (the action server's
/v1, router/tickets/client.py) is called with who acts as `actor`. Its answers are passed on as
they are (their text is stored escaped already); its errors are mapped in router/errors.py.

Who may call: tickets — agents and supervisors (reads audited: router/audit.py); alerts and the
summary — supervisors and the admin; outages — agents, supervisors and the admin read, supervisors
(network operations) and the admin change; a watcher tick now — the admin; the follow-up —
whoever holds its token (rate-limited per client like customers' messages).

`install(app)` (router/gateway/mount.py) adds the routes and, in the app's lifespan, the ticket
service and its watcher (router/tickets/watcher.py) when ROUTER_TICKETS_URL is set; without it
every route here answers 503 tickets_unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from router import errors
from router.api.deps import Caller, RuntimeDep
from router.auth import Principal, Role
from router.tickets.client import TicketsClient
from router.tickets.watcher import TicketService, run_watcher, step_entry
from telecom.secrets import check_secret

log = logging.getLogger(__name__)
router = APIRouter(tags=["tickets"])

TICKET_ID = r"^[A-Za-z0-9_-]{1,40}$"
OUTAGE_ID = r"^[A-Za-z0-9_-]{1,40}$"
TEAM = r"^[a-z_]{1,40}$"
FEEDBACK_TOKEN = r"^[A-Za-z0-9_-]{1,40}\.[A-Za-z0-9_-]{22}$"
MAX_TEXT = 2000
TICKET_READ = "ticket"  # the access audit's action of a ticket read (one entry per conversation)
TICKET_QUEUE = "tickets"  # ... of a team's queue (one entry per conversation in it)

TicketIdPath = Annotated[str, Path(pattern=TICKET_ID)]
OutageIdPath = Annotated[str, Path(pattern=OUTAGE_ID)]
Text = Annotated[str | None, Field(max_length=MAX_TEXT)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepBody(_Body):
    step: Literal[
        "claim", "respond", "note", "reassign", "escalate", "resolve", "reopen",
        "follow_up_answer", "close",
    ]  # fmt: skip
    text: Text = None
    team: Annotated[str | None, Field(pattern=TEAM)] = None
    result: Text = None
    remedy: Text = None
    window: Literal["respond", "resolve", "follow_up"] | None = None


class OutageCreate(_Body):
    city: Annotated[str, Field(min_length=1, max_length=64)]
    district: Annotated[str, Field(min_length=1, max_length=64)]
    service: Literal["mobile", "broadband", "tv"]
    description: Annotated[str, Field(min_length=1, max_length=500)]
    expected_restore_at: Annotated[str | None, Field(max_length=40)] = None


class OutageUpdate(_Body):
    description: Annotated[str | None, Field(min_length=1, max_length=500)] = None
    expected_restore_at: Annotated[str | None, Field(max_length=40)] = None


class OutageClose(_Body):
    result: Annotated[str | None, Field(min_length=1, max_length=500)] = None


class FeedbackAnswer(_Body):
    token: Annotated[str, Field(pattern=FEEDBACK_TOKEN)]
    rating: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str | None, Field(max_length=500)] = None


def _service(request: Request) -> TicketService:
    found: TicketService | None = getattr(request.app.state, "tickets", None)
    if found is None:
        raise errors.TicketsUnavailable()
    return found


Service = Annotated[TicketService, Depends(_service)]


def actor_of(caller: Principal) -> str:
    """The actor string of a person (telecom.tickets syntax); the admin acts as `system`."""
    if caller.role is Role.agent:
        return f"agent:{caller.agent_id}"
    if caller.role is Role.supervisor:
        return f"supervisor:{caller.supervisor_id}"
    return "system"


def _given(body: BaseModel, **extra: Any) -> dict[str, Any]:
    return {**body.model_dump(exclude_none=True), **extra}


# -- tickets -------------------------------------------------------------------------------------
@router.get("/v1/tickets")
async def team_queue(
    caller: Caller, rt: RuntimeDep, svc: Service, team: Annotated[str, Query(pattern=TEAM)]
) -> dict[str, Any]:
    """A team's open tickets, nearest deadline first (agents, supervisors; audited)."""
    caller.require(Role.agent, Role.supervisor)
    found = await svc.client.team_queue(team)
    conversations = sorted(
        {t.get("conversation_id") or "" for t in found.get("tickets") or []} - {""}
    )
    await rt.audit.read(
        caller, TICKET_QUEUE, rt.engine.clock(), conversations=conversations or [None]
    )
    return found


@router.get("/v1/tickets/{ticket_id}")
async def get_ticket(
    caller: Caller, rt: RuntimeDep, svc: Service, ticket_id: TicketIdPath
) -> dict[str, Any]:
    """A ticket and its events (agents, supervisors; audited)."""
    caller.require(Role.agent, Role.supervisor)
    found = await svc.client.ticket(ticket_id)
    conversation = (found.get("ticket") or {}).get("conversation_id") or None
    await rt.audit.read(caller, TICKET_READ, rt.engine.clock(), conversations=[conversation])
    return found


@router.post("/v1/tickets/{ticket_id}/steps")
async def take_step(
    caller: Caller, svc: Service, ticket_id: TicketIdPath, body: StepBody
) -> dict[str, Any]:
    """A step on a ticket by an agent (`agent:<id>`) or a supervisor (`supervisor:<id>`); the
    customer's follow-up answer is theirs alone (403). The service's answer as it is."""
    caller.require(Role.agent, Role.supervisor)
    if body.step == "follow_up_answer":
        raise errors.Forbidden()
    actor = actor_of(caller)
    answer = await svc.client.step(ticket_id, _given(body, actor=actor))
    ticket = answer.get("ticket") or {}
    entry = step_entry(ticket, body.step, actor, window=body.window or "")
    await svc.feed_step(ticket.get("conversation_id") or "", entry)
    if answer.get("notices"):
        svc.deliver_soon()
    return answer


@router.post("/v1/tickets/watch")
async def watch_now(caller: Caller, svc: Service) -> dict[str, Any]:
    """One watcher tick now (the admin: operations, tests, the demo): {now, alerts created by the
    service's run, forwarded (alerts forwarded by this tick), delivered {conversation, sms,
    none}}."""
    caller.require(Role.admin)
    done = await svc.tick(forced=True)
    if done is None:  # a forced tick runs or raises: never here
        raise errors.Unavailable()
    return done


@router.get("/v1/ticket-alerts")
async def ticket_alerts(
    caller: Caller,
    svc: Service,
    since: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Alerts after id `since`, newest last (supervisors, the admin)."""
    caller.require(Role.supervisor, Role.admin)
    return await svc.client.alerts(since, limit)


@router.get("/v1/tickets-summary")
async def tickets_summary(caller: Caller, svc: Service) -> dict[str, Any]:
    """Open, warned and breached tickets per team, and today's alerts (supervisors, the admin)."""
    caller.require(Role.supervisor, Role.admin)
    return await svc.client.summary()


# -- outages -------------------------------------------------------------------------------------
@router.get("/v1/outages")
async def list_outages(
    caller: Caller, svc: Service, status: Literal["open", "closed", "all"] = "open"
) -> dict[str, Any]:
    caller.require(Role.agent, Role.supervisor, Role.admin)
    return await svc.client.outages(status)


@router.post("/v1/outages", status_code=201)
async def declare_outage(caller: Caller, svc: Service, body: OutageCreate) -> dict[str, Any]:
    """Network operations declare an outage (supervisors, the admin)."""
    caller.require(Role.supervisor, Role.admin)
    return await svc.client.declare_outage(_given(body, actor=actor_of(caller)))


@router.patch("/v1/outages/{outage_id}")
async def update_outage(
    caller: Caller, svc: Service, outage_id: OutageIdPath, body: OutageUpdate
) -> dict[str, Any]:
    """Its cause as customers are told it, or its expected restoration (each attached report's
    customer hears of a new time)."""
    caller.require(Role.supervisor, Role.admin)
    # exclude_unset: an explicit null clears the expected restoration time
    given = {**body.model_dump(exclude_unset=True), "actor": actor_of(caller)}
    answer = await svc.client.update_outage(outage_id, given)
    svc.deliver_soon()
    return answer


@router.post("/v1/outages/{outage_id}/close")
async def close_outage(
    caller: Caller, svc: Service, outage_id: OutageIdPath, body: OutageClose | None = None
) -> dict[str, Any]:
    """Closed: every attached ticket resolved, its customer told."""
    caller.require(Role.supervisor, Role.admin)
    given = _given(body or OutageClose(), actor=actor_of(caller))
    answer = await svc.client.close_outage(outage_id, given)
    for ticket in answer.get("tickets") or []:  # each attached report resolved by the system
        entry = step_entry(ticket, "resolve", "system")
        await svc.feed_step(ticket.get("conversation_id") or "", entry)
    svc.deliver_soon()
    return answer


# -- the customer's follow-up -------------------------------------------------------------------
async def _count(request: Request) -> None:
    """The follow-up's requests count as the client's messages (the gateway's rate limit)."""
    access = getattr(request.app.state, "gateway_access", None)
    if access is None:
        return
    peer = request.client.host if request.client else None
    client = access.client(peer, request.headers.get("x-forwarded-for"))
    await access.limits.hit("messages", client.key)


@router.get("/v1/feedback/{token}", dependencies=[Depends(_count)])
async def get_feedback(
    svc: Service, token: Annotated[str, Path(pattern=FEEDBACK_TOKEN)]
) -> dict[str, Any]:
    """What the follow-up page shows (whoever holds the token)."""
    return await svc.client.feedback(token)


@router.post("/v1/feedback", dependencies=[Depends(_count)])
async def answer_feedback(svc: Service, body: FeedbackAnswer) -> dict[str, Any]:
    """The customer's satisfaction answer: a rating of 2 or less reopens the ticket."""
    answer = await svc.client.answer_feedback(_given(body))
    ticket_id = str(answer.get("ticket_id") or "")
    ticket: dict[str, Any] = {"id": ticket_id, "state": answer.get("state")}
    with contextlib.suppress(errors.RouterError):
        ticket = (await svc.client.ticket(ticket_id)).get("ticket") or ticket
    entry = step_entry(ticket, "follow_up_answer", "customer", rating=str(body.rating))
    await svc.feed_step(ticket.get("conversation_id") or "", entry)
    return answer


# -- wiring --------------------------------------------------------------------------------------
def install(app: FastAPI) -> None:
    """Add the routes, and the ticket service and its watcher to the app's lifespan (inside the
    gateway's: it delivers into the gateway's conversations)."""
    app.include_router(router)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state, running(a):
            yield state

    app.router.lifespan_context = lifespan


@contextlib.asynccontextmanager
async def running(app: Any) -> AsyncIterator[TicketService | None]:
    runtime = app.state.runtime
    settings = runtime.settings
    app.state.tickets = None
    if not settings.tickets_url:
        log.info("router.tickets.off reason=no ROUTER_TICKETS_URL")
        yield None
        return
    secret = settings.tickets_token
    # checked at start-up with the router's other secrets (Settings.check_secrets)
    token = check_secret(
        "ROUTER_TICKETS_TOKEN",
        secret.get_secret_value() if secret is not None else None,
        demo_mode=settings.demo_mode,
    )
    service = TicketService(
        TicketsClient(settings.tickets_url, token or ""),
        runtime.redis, runtime.engine.keys, settings, runtime.metrics,
        app.state.gateway.store, runtime.engine.clock,
    )  # fmt: skip
    app.state.tickets = service
    stop = asyncio.Event()
    task = None
    if settings.ticket_watch_s > 0:
        task = asyncio.create_task(run_watcher(service, settings.ticket_watch_s, stop))
    try:
        yield service
    finally:
        stop.set()
        if task is not None:
            await task
        await service.aclose()
