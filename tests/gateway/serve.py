"""A router process with the gateway mounted, for the gateway tests and the bench.

    python -m tests.gateway.serve --port P --redis-url URL --prefix P: [--bot fake | --rasa-url URL]
        [--gateway '{"rate_conversation_messages": "5/minute", ...}']

With --bot fake the assistant is ScriptedBot (tests/gateway/fakes.py); otherwise Rasa's REST
webhook at --rasa-url. Tokens: ADMIN and SERVICE below. The customer edge's rate limits are
generous unless --gateway (fields of the router's settings.gateway, as JSON) sets them: tests and
the bench drive hundreds of customers from one address.
"""

from __future__ import annotations

import argparse
import json
import logging
import os

import uvicorn
from pydantic import SecretStr

from router.app import create_app
from router.gateway.mount import install
from router.gateway.settings import GatewaySettings
from router.settings import Settings
from telecom.secrets import new_secret

# generated per test run (telecom/secrets.py's rule): the first import puts them in the
# environment, so the router processes the tests start (their children) use the same ones
ADMIN = os.environ.setdefault("GW_TEST_ADMIN_TOKEN", new_secret())
SERVICE = os.environ.setdefault("GW_TEST_SERVICE_TOKEN", new_secret())
PSEUDONYM = os.environ.setdefault("GW_TEST_PSEUDONYM_SECRET", new_secret())
RASA = os.environ.setdefault("GW_TEST_RASA_TOKEN", new_secret())
VOICE = os.environ.setdefault("GW_TEST_VOICE_TOKEN", new_secret())  # the voice channel's
GENEROUS = {
    "rate_conversations": "100000/minute",
    "rate_messages": "100000/minute",
    "rate_conversation_messages": "100000/minute",
    "max_streams_per_client": 100_000,
    "max_long_polls": 400,
}


def build(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    settings = Settings(
        redis_url=SecretStr(args.redis_url),
        key_prefix=args.prefix,
        admin_token=SecretStr(ADMIN),
        service_token=SecretStr(SERVICE),
        pseudonym_secret=SecretStr(PSEUDONYM),
        rasa_token=SecretStr(RASA),
        voice_token=None if args.no_voice else SecretStr(VOICE),
        offer_timeout_s=args.offer_timeout,
        port=args.port,
        gateway=GatewaySettings(
            rasa_url=args.rasa_url or "http://127.0.0.1:9",
            **{**GENEROUS, **json.loads(args.gateway)},
        ),
    )
    app = create_app(settings, gateway=False)
    bot = None
    if args.bot == "fake":
        from tests.gateway.fakes import ScriptedBot

        bot = ScriptedBot(f"http://127.0.0.1:{args.port}", SERVICE)
    install(app, bot=bot)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", default="gw:")
    parser.add_argument("--bot", choices=["fake", "rasa"], default="fake")
    parser.add_argument("--rasa-url", default=None)
    parser.add_argument("--offer-timeout", type=float, default=60.0)
    parser.add_argument("--gateway", default="{}", help="settings.gateway fields as JSON")
    parser.add_argument("--no-voice", action="store_true", help="no ROUTER_VOICE_TOKEN")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    uvicorn.run(
        build(args), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
