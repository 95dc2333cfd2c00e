"""Domain errors. Raised inside; turned into HTTP status codes in one place (router/app.py).

Redis failures are mapped here too (`from_redis`): every RedisError — a timeout of a hung
Redis, a refused or broken connection, no free pooled connection in time — is a 503.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class RouterError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code


class Unauthorized(RouterError):
    status_code = 401
    code = "unauthorized"


class Forbidden(RouterError):
    status_code = 403
    code = "forbidden"


class NotFound(RouterError):
    status_code = 404
    code = "not_found"


class NoSuchAgent(NotFound):
    code = "no_such_agent"


class NoSuchHandoff(NotFound):
    code = "no_such_handoff"


class NoSuchOffer(NotFound):
    code = "no_such_offer"


class NoSuchSupervisor(NotFound):
    code = "no_such_supervisor"


class NoSuchAnalyst(NotFound):
    code = "no_such_analyst"


class NoSuchConversation(NotFound):
    code = "no_such_conversation"


class NoSuchItem(NotFound):
    """No inbox group or annotation item has this key (router/analysis/api.py)."""

    code = "no_such_item"


class ArchiveUnavailable(RouterError):
    """The archive database could not be read (the supervisor's reports)."""

    status_code = 503
    code = "archive_unavailable"


class Conflict(RouterError):
    status_code = 409
    code = "conflict"


class OfferClosed(Conflict):
    """The offer expired, was rescinded or was already answered."""

    code = "offer_closed"


class WrongState(Conflict):
    code = "wrong_state"


class AnnotationConflict(Conflict):
    """The item's state does not allow the decision (router/analysis/api.py); `code` is the
    archive's: exported (already exported) or not_disputed (nothing to settle)."""

    code = "annotation_conflict"

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail)
        self.code = code


class RateLimited(RouterError):
    """Too many requests from one client or for one conversation; try again after
    `retry_after_s` (the Retry-After header)."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after_s: int, detail: str = "") -> None:
        super().__init__(detail)
        self.retry_after_s = max(1, retry_after_s)


def headers_of(exc: RouterError) -> dict[str, str] | None:
    """The HTTP headers that go with an error's status (401 and 429 have one)."""
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after_s)}
    if exc.status_code == 401:
        return {"WWW-Authenticate": "Bearer"}
    return None


class BodyTooLarge(RouterError):
    status_code = 413
    code = "body_too_large"


class Unavailable(RouterError):
    """Redis did not answer in time, or could not be reached."""

    status_code = 503
    code = "unavailable"


def from_redis(exc: RedisError) -> Unavailable:
    """The one mapping of a Redis failure to HTTP (503), logged by its kind only."""
    log.error("router.redis.error error=%s", type(exc).__name__)
    return Unavailable()


# -- the ticket service (router/tickets/client.py maps its answers here) -----------------------


class TicketsUnavailable(RouterError):
    """The ticket service is not configured, did not answer in time, answered with a server
    error, or refused the router's own token (a configuration fault, not the caller's)."""

    status_code = 503
    code = "tickets_unavailable"


class TicketsNotFound(NotFound):
    """404 of the ticket service; `code` is its own (no_such_ticket, no_such_outage)."""

    code = "no_such_ticket"

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail)
        self.code = code


class TicketRefused(Conflict):
    """409 of the ticket service: a rule refused the step; `code` is the rule's
    (telecom.tickets.ERRORS, or outage_closed, already_answered)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail)
        self.code = code


class TicketInvalid(RouterError):
    """422 of the ticket service: a body it refused (unknown team or service, text too long)."""

    status_code = 422
    code = "invalid"


# -- the model registry (router/analysis/models.py; telecom.registry) ---------------------------


class NoSuchModel(NotFound):
    code = "no_such_model"


class GateFailed(Conflict):
    """The model did not pass the promotion gate (or was never evaluated): not promoted."""

    code = "gate_failed"


class NothingToRollBack(Conflict):
    """No model served before the one in service."""

    code = "nothing_to_roll_back"


class RetrainRunning(Conflict):
    """A retraining is running already: one at a time."""

    code = "retrain_running"


class ModelLoadFailed(RouterError):
    """The service alias moved, but an assistant instance did not load the model (its answer
    lists each instance's outcome)."""

    status_code = 502
    code = "model_load_failed"


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server could not be started."""
