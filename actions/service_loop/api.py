"""The ticket service: `/v1/` routes on the action server (a Sanic blueprint registered by
actions.server.create_app), for the router only. docs/contracts.md "The ticket service" is the
contract; actions/ stays the only code that reads or changes subscriber data.

Who may call: whoever sends `Authorization: Bearer <ASSISTANT_TICKETS_TOKEN>` (checked for every
/v1 path by the server's request middleware with `bearer_matches`, in constant time). The router
authenticates people and names who acts as `actor` in a body. Errors are JSON {"error": code,
"detail": English}, mapped in one place (`_error`). Every time is the service clock
(actions.flows.common.now). Handlers call the synchronous store, as the actions do.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sanic import Blueprint, response

from actions.flows import common
from actions.service_loop import bodies, links, views
from actions.service_loop.bodies import Invalid
from actions.store.base import InvalidInput, NoSuchOutage, NoSuchTicket
from actions.store.outage_work import OutageClosed
from actions.store.sqlite import SQLiteStore
from actions.store.ticket_notices import NoSuchNotice
from telecom.tickets import TEAMS, TicketRuleError

__all__ = ["PREFIX", "bearer_matches", "blueprint", "is_service_path", "unauthorized"]

PREFIX = "/v1"
MAX_ID = 2**62  # a notice id beyond this is no notice (SQLite integers are 64-bit)

log = logging.getLogger(__name__)

Handler = Callable[..., Coroutine[Any, Any, Any]]


def _store() -> SQLiteStore:
    """The process's store; the ticket service's methods are the SQLite store's."""
    store = common.store()
    if not isinstance(store, SQLiteStore):
        raise TypeError("the ticket service needs the SQLite store")
    return store


def is_service_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def bearer_matches(authorization: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time; never with no token."""
    if not token or not authorization:
        return False
    scheme, _, provided = authorization.partition(" ")
    if scheme.lower() != "bearer" or not provided.strip():
        return False
    return hmac.compare_digest(provided.strip().encode(), token.encode())


def unauthorized() -> Any:
    return response.json({"error": "unauthorized"}, status=401)


class _Refused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def _error(exc: Exception) -> Any:
    """The one place a refusal becomes an HTTP answer."""
    if isinstance(exc, _Refused):
        status, code, detail = exc.status, exc.code, exc.detail
    elif isinstance(exc, (Invalid, InvalidInput)):
        status, code, detail = 422, "invalid", str(exc)
    elif isinstance(exc, NoSuchTicket):
        status, code, detail = 404, "no_such_ticket", "no such ticket"
    elif isinstance(exc, OutageClosed):
        status, code, detail = 409, "outage_closed", "the outage is closed"
    elif isinstance(exc, NoSuchOutage):
        status, code, detail = 404, "no_such_outage", "no such outage"
    elif isinstance(exc, NoSuchNotice):
        status, code, detail = 404, "no_such_notice", "no such notice"
    elif isinstance(exc, TicketRuleError):
        status, code, detail = 409, exc.code, str(exc)
    else:
        raise exc
    return response.json({"error": code, "detail": detail}, status=status)


def _handled(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: Any, **kwargs: Any) -> Any:
        try:
            return await handler(request, **kwargs)
        except (_Refused, Invalid, InvalidInput, NoSuchTicket, NoSuchOutage, OutageClosed,
                NoSuchNotice, TicketRuleError) as exc:  # fmt: skip
            return _error(exc)

    return wrapper


def _body(request: Any, spec: bodies.Spec, *required: str, nullable: tuple[str, ...] = ()) -> Any:
    return bodies.check(bodies.parse_json(request.body), spec, required, nullable)


def _ok(body: dict[str, Any], status: int = 200) -> Any:
    return response.json(body, status=status)


def _ticket_body(ticket_id: str, ticket: Any = None) -> dict[str, Any]:
    store = _store()
    ticket = ticket or store.ticket(ticket_id)
    if ticket is None:
        raise NoSuchTicket("no such ticket")
    return {
        "ticket": views.ticket_view(ticket, common.now()),
        "events": [views.event_view(e) for e in store.ticket_steps(ticket_id)],
    }


def _feedback_ticket(token: Any) -> Any:
    ticket_id = links.ticket_of_token(common.settings().identity_secret, token)
    ticket = _store().ticket(ticket_id) if ticket_id else None
    if ticket is None:
        raise _Refused(404, "no_such_ticket", "no ticket for that token")
    return ticket


def blueprint() -> Blueprint:
    """The /v1 routes (a new blueprint each call: Sanic keeps one per app)."""
    bp = Blueprint("ticket_service", url_prefix=PREFIX)

    @bp.get("/tickets")
    @_handled
    async def team_queue(request: Any) -> Any:
        team = request.args.get("team")
        if team not in TEAMS:
            raise Invalid(f"team must be one of {', '.join(TEAMS)}")
        now = common.now()
        entries = _store().team_queue(team, now)
        return _ok(
            {
                "team": team,
                "now": views.iso(now),
                "tickets": [views.ticket_view(e.ticket, now) for e in entries],
            }
        )

    @bp.get("/tickets/<ticket_id:str>")
    @_handled
    async def one_ticket(request: Any, ticket_id: str) -> Any:
        return _ok(_ticket_body(ticket_id))

    @bp.post("/tickets/<ticket_id:str>/steps")
    @_handled
    async def take_step(request: Any, ticket_id: str) -> Any:
        fields = _body(request, bodies.STEP, "step", "actor")
        step, actor = fields.pop("step"), fields.pop("actor")
        ticket, queued = _store().work_ticket(ticket_id, step, actor, common.now(), **fields)
        log.info("service.step ticket=%s step=%s actor=%s", ticket_id, step, actor)
        return _ok(
            {**_ticket_body(ticket_id, ticket), "notices": [views.notice_view(n) for n in queued]}
        )

    @bp.post("/tickets/watch")
    @_handled
    async def watch(request: Any) -> Any:
        _body(request, bodies.WATCH)
        secret = common.settings().identity_secret
        now = common.now()
        run = _store().watch_tickets(now, lambda ticket_id: links.feedback_token(secret, ticket_id))
        return _ok(
            {"now": views.iso(now), "alerts": [views.alert_view(a) for a in run.alerts],
             "notices": run.notices}
        )  # fmt: skip

    @bp.get("/alerts")
    @_handled
    async def alerts(request: Any) -> Any:
        since = bodies.query_int(request.args, "since", 0, 0, MAX_ID)
        limit = bodies.query_int(request.args, "limit", 100, 1, 500)
        found = _store().ticket_alerts(since, limit)
        return _ok({"alerts": [views.alert_view(a) for a in found]})

    @bp.get("/tickets-summary")
    @_handled
    async def summary(request: Any) -> Any:
        now = common.now()
        teams, today = _store().tickets_summary(now)
        return _ok({"now": views.iso(now), "teams": teams, "alerts_today": today})

    @bp.get("/notices")
    @_handled
    async def pending(request: Any) -> Any:
        limit = bodies.query_int(request.args, "limit", 50, 1, 200)
        found = _store().pending_notices(limit)
        return _ok({"notices": [views.notice_view(n) for n in found]})

    @bp.post("/notices/<notice_id:int>/delivered")
    @_handled
    async def delivered(request: Any, notice_id: int) -> Any:
        via = _body(request, bodies.DELIVERED, "via")["via"]
        if notice_id > MAX_ID:
            raise NoSuchNotice("no such notice")
        notice = _store().notice_delivered(notice_id, via, common.now())
        return _ok({"id": notice.id, "delivered_via": notice.delivered_via})

    @bp.post("/notices/<notice_id:int>/sms")
    @_handled
    async def by_sms(request: Any, notice_id: int) -> Any:
        link = _body(request, bodies.SMS).get("link")
        if notice_id > MAX_ID:
            raise NoSuchNotice("no such notice")
        notice = _store().send_notice_sms(notice_id, common.now(), link)
        return _ok({"id": notice.id, "delivered_via": notice.delivered_via})

    @bp.get("/feedback/<token:str>")
    @_handled
    async def feedback_page(request: Any, token: str) -> Any:
        return _ok(views.feedback_view(_feedback_ticket(token)))

    @bp.post("/feedback")
    @_handled
    async def feedback_answer(request: Any) -> Any:
        fields = _body(request, bodies.FEEDBACK, "token", "rating")
        ticket = _feedback_ticket(fields["token"])
        if ticket.lifecycle.state != "feedback":
            raise _Refused(409, "already_answered", "the question was answered already")
        extra = {"text": fields["comment"]} if fields.get("comment") else {}
        try:
            after = _store().apply_ticket_step(
                ticket.id, "follow_up_answer", "customer", common.now(),
                rating=fields["rating"], **extra,
            )  # fmt: skip
        except TicketRuleError as exc:
            if exc.code != "wrong_state":
                raise
            raise _Refused(409, "already_answered", "the question was answered already") from None
        state = after.lifecycle.state
        log.info(
            "service.feedback ticket=%s rating=%d state=%s", ticket.id, fields["rating"], state
        )
        return _ok({"ticket_id": ticket.id, "state": state, "reopened": state == "handling"})

    @bp.get("/outages")
    @_handled
    async def outages(request: Any) -> Any:
        status = request.args.get("status") or "open"
        if status not in ("open", "closed", "all"):
            raise Invalid("status must be one of open, closed, all")
        return _ok({"outages": [views.outage_view(o) for o in _store().outages(status)]})

    @bp.post("/outages")
    @_handled
    async def declare(request: Any) -> Any:
        fields = _body(
            request, bodies.DECLARE_OUTAGE, "actor", "city", "district", "service", "description"
        )
        outage = _store().declare_outage(
            fields["actor"], fields["city"], fields["district"], fields["service"],
            fields["description"], common.now(), fields.get("expected_restore_at"),
        )  # fmt: skip
        return _ok(views.outage_view(outage), status=201)

    @bp.patch("/outages/<outage_id:str>")
    @_handled
    async def update(request: Any, outage_id: str) -> Any:
        fields = _body(request, bodies.UPDATE_OUTAGE, "actor", nullable=("expected_restore_at",))
        actor = fields.pop("actor")
        outage, _ = _store().update_outage(outage_id, actor, common.now(), fields)
        return _ok(views.outage_view(outage))

    @bp.post("/outages/<outage_id:str>/close")
    @_handled
    async def close(request: Any, outage_id: str) -> Any:
        fields = _body(request, bodies.CLOSE_OUTAGE, "actor")
        outage, resolved = _store().close_outage_resolving(
            outage_id, fields["actor"], common.now(), fields.get("result")
        )
        return _ok(
            {
                "outage": views.outage_view(outage),
                "resolved": len(resolved),
                "tickets": [views.ticket_view(t, common.now()) for t in resolved],
            }
        )

    return bp
