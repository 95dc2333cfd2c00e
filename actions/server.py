"""The action server: rasa_sdk's app, reachable only by the Rasa server that holds its token.

    python -m actions.server [--port 5055]

Binds ASSISTANT_ACTIONS_HOST (default 127.0.0.1). Every request except GET /health must carry
ASSISTANT_ACTIONS_TOKEN as the `token` query parameter — what Rasa sends when endpoints.yml's
`action_endpoint` has `token:` (rasa.utils.endpoints.EndpointConfig) — or it gets 401: whoever
could post to /webhook could run any action on a forged tracker (a "verified" customer's
balance, a password reset). A missing, short or published token stops the server at start-up
(telecom.secrets.check_secret) unless ASSISTANT_DEMO_MODE is true. An error answers 500 without
echoing the request (rasa_sdk's own handler returns the whole tracker in the response).

The ticket service (actions/service_loop/api.py, `/v1/…`, for the router) has its own token,
ASSISTANT_TICKETS_TOKEN, sent as `Authorization: Bearer …` and checked at start-up the same way;
the Rasa `token` parameter does not open /v1 and the tickets token opens nothing else. With
ASSISTANT_CLOCK_OFFSET_FILE (demo mode only) the service clock runs ahead by the file's seconds.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
from collections.abc import Mapping
from typing import Any

from telecom.secrets import InsecureSecret, check_secret, problem

__all__ = ["create_app", "main", "token_matches"]

logger = logging.getLogger(__name__)

ACTIONS_PACKAGE = "actions"
OPEN_PATHS = frozenset({"/health"})
DEFAULT_PORT = 5055


def demo_mode(env: Mapping[str, str]) -> bool:
    return env.get("ASSISTANT_DEMO_MODE", "").strip().lower() in {"1", "true", "yes", "on"}


def token_matches(provided: str | None, token: str) -> bool:
    """Constant-time comparison of the request's token with the server's."""
    return (
        bool(token)
        and provided is not None
        and hmac.compare_digest(provided.encode(), token.encode())
    )


def create_app(token: str, package: str = ACTIONS_PACKAGE, tickets_token: str = "") -> Any:
    """rasa_sdk's Sanic app for `package` (its own routes and executor), no CORS (only the
    Rasa server and the router call it), every route but /health behind `token`, and the
    ticket service's /v1 routes behind `tickets_token` (none without one)."""
    from rasa_sdk.endpoint import create_app as sdk_create_app
    from sanic import response
    from sanic.exceptions import SanicException

    from actions.service_loop import api

    app = sdk_create_app(package, cors_origins=None)
    app.blueprint(api.blueprint())

    async def require_token(request: Any) -> Any:
        if request.path in OPEN_PATHS:
            return None
        if api.is_service_path(request.path):
            authorization = request.headers.get("authorization")
            return None if api.bearer_matches(authorization, tickets_token) else api.unauthorized()
        if token_matches(request.args.get("token"), token):
            return None
        return response.json({"error": "unauthorized"}, status=401)

    app.on_request(require_token)  # called, not a decorator: sanic 21's is untyped

    async def internal_error(request: Any, exception: Exception) -> Any:
        logger.error("actions.server.error %s", type(exception).__name__, exc_info=exception)
        return response.json({"error": "internal error"}, status=500)

    async def http_error(request: Any, exception: SanicException) -> Any:
        status = int(getattr(exception, "status_code", 500) or 500)
        if status >= 500:
            return await internal_error(request, exception)
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "bad_request")
        return response.json({"error": code}, status=status)

    app.error_handler.add(Exception, internal_error)  # replaces rasa_sdk's, which echoes the body
    app.error_handler.add(SanicException, http_error)  # an unknown path or method: not a 500
    return app


def main(argv: list[str] | None = None) -> int:
    from rasa_sdk import utils

    parser = argparse.ArgumentParser(description="The assistant's action server.")
    parser.add_argument("-p", "--port", type=int, default=DEFAULT_PORT)
    utils.add_logging_level_option_arguments(parser)
    args = parser.parse_args(argv)
    env = os.environ
    try:
        tokens = {
            name: check_secret(name, env.get(name), demo_mode=demo_mode(env))
            for name in ("ASSISTANT_ACTIONS_TOKEN", "ASSISTANT_TICKETS_TOKEN")
        }
    except InsecureSecret as error:
        raise SystemExit(f"action server not started: {error}") from None
    utils.configure_colored_logging(args.loglevel)
    utils.update_sanic_log_level()
    for name, value in tokens.items():
        reason = problem(value)
        if reason is not None:
            logger.warning("actions.server.demo_mode %s is %s", name, reason)
    from actions.flows import common

    settings = common.start()  # the settings and the store: a bad secret stops the server here
    if settings.clock_offset_file is not None:
        common.use_clock(common.offset_clock(settings.clock_offset_file))
        logger.warning(
            "actions.server.demo_clock the service clock runs ahead by %s",
            settings.clock_offset_file,
        )
    host = env.get("ASSISTANT_ACTIONS_HOST") or "127.0.0.1"
    app = create_app(
        tokens["ASSISTANT_ACTIONS_TOKEN"] or "",
        tickets_token=tokens["ASSISTANT_TICKETS_TOKEN"] or "",
    )
    logger.info("actions.server.start host=%s port=%s", host, args.port)
    app.run(host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
