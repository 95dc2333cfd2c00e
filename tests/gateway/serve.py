"""A router process with the gateway mounted, for the gateway tests and the bench.

    python -m tests.gateway.serve --port P --redis-url URL --prefix P: [--bot fake | --rasa-url URL]

With --bot fake the assistant is ScriptedBot (tests/gateway/fakes.py); otherwise Rasa's REST
webhook at --rasa-url. Tokens: ADMIN and SERVICE below.
"""

from __future__ import annotations

import argparse
import logging

import uvicorn
from pydantic import SecretStr

from router.app import create_app
from router.gateway import GatewaySettings, install
from router.settings import Settings

ADMIN = "gw-admin-token"
SERVICE = "gw-service-token"


def build(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    settings = Settings(
        redis_url=SecretStr(args.redis_url),
        key_prefix=args.prefix,
        admin_token=SecretStr(ADMIN),
        service_token=SecretStr(SERVICE),
        offer_timeout_s=args.offer_timeout,
        port=args.port,
    )
    app = create_app(settings, gateway=False)
    gateway_settings = GatewaySettings(rasa_url=args.rasa_url or "http://127.0.0.1:9")
    bot = None
    if args.bot == "fake":
        from tests.gateway.fakes import ScriptedBot

        bot = ScriptedBot(f"http://127.0.0.1:{args.port}", SERVICE)
    install(app, gateway_settings, bot=bot)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", default="gw:")
    parser.add_argument("--bot", choices=["fake", "rasa"], default="fake")
    parser.add_argument("--rasa-url", default=None)
    parser.add_argument("--offer-timeout", type=float, default=60.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    uvicorn.run(
        build(args), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
