"""The action server: rasa_sdk's app, reachable only by the Rasa server that holds its token.

    python -m actions.server [--port 5055]

Binds ASSISTANT_ACTIONS_HOST (default 127.0.0.1). Every request except GET /health must carry
ASSISTANT_ACTIONS_TOKEN as the `token` query parameter — what Rasa sends when endpoints.yml's
`action_endpoint` has `token:` (rasa.utils.endpoints.EndpointConfig) — or it gets 401: whoever
could post to /webhook could run any action on a forged tracker (a "verified" customer's
balance, a password reset). A missing, short or published token stops the server at start-up
(telecom.secrets.check_secret) unless ASSISTANT_DEMO_MODE is true. An error answers 500 without
echoing the request (rasa_sdk's own handler returns the whole tracker in the response).
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


def create_app(token: str, package: str = ACTIONS_PACKAGE) -> Any:
    """rasa_sdk's Sanic app for `package` (its own routes and executor), no CORS (only the
    Rasa server calls it), every route but /health behind `token`."""
    from rasa_sdk.endpoint import create_app as sdk_create_app
    from sanic import response

    app = sdk_create_app(package, cors_origins=None)

    async def require_token(request: Any) -> Any:
        if request.path in OPEN_PATHS:
            return None
        if token_matches(request.args.get("token"), token):
            return None
        return response.json({"error": "unauthorized"}, status=401)

    app.on_request(require_token)  # called, not a decorator: sanic 21's is untyped

    async def internal_error(request: Any, exception: Exception) -> Any:
        logger.error("actions.server.error %s", type(exception).__name__, exc_info=exception)
        return response.json({"error": "internal error"}, status=500)

    app.error_handler.add(Exception, internal_error)  # replaces rasa_sdk's, which echoes the body
    return app


def main(argv: list[str] | None = None) -> int:
    from rasa_sdk import utils

    parser = argparse.ArgumentParser(description="The assistant's action server.")
    parser.add_argument("-p", "--port", type=int, default=DEFAULT_PORT)
    utils.add_logging_level_option_arguments(parser)
    args = parser.parse_args(argv)
    env = os.environ
    try:
        token = check_secret(
            "ASSISTANT_ACTIONS_TOKEN",
            env.get("ASSISTANT_ACTIONS_TOKEN"),
            demo_mode=demo_mode(env),
        )
    except InsecureSecret as error:
        raise SystemExit(f"action server not started: {error}") from None
    utils.configure_colored_logging(args.loglevel)
    utils.update_sanic_log_level()
    reason = problem(token)
    if reason is not None:
        logger.warning("actions.server.demo_mode ASSISTANT_ACTIONS_TOKEN is %s", reason)
    from actions.flows import common

    common.start()  # the settings and the store: a bad secret stops the server here
    host = env.get("ASSISTANT_ACTIONS_HOST") or "127.0.0.1"
    app = create_app(token or "")
    logger.info("actions.server.start host=%s port=%s", host, args.port)
    app.run(host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
