"""Domain errors. Raised inside; turned into HTTP status codes in one place (router/app.py)."""

from __future__ import annotations


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


class Conflict(RouterError):
    status_code = 409
    code = "conflict"


class OfferClosed(Conflict):
    """The offer expired, was rescinded or was already answered."""

    code = "offer_closed"


class WrongState(Conflict):
    code = "wrong_state"


class BodyTooLarge(RouterError):
    status_code = 413
    code = "body_too_large"


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server could not be started."""
