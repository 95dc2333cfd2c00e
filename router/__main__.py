"""`python -m router`: serve the router with uvicorn using ROUTER_* settings.

`python -m router purge`: delete conversation text older than the retention (ROUTER_RETENTION_S)
now, and print what was deleted (router/purge.py); run it daily, e.g. from cron.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from router.app import create_app
from router.logs import install_masking
from router.settings import Settings
from telecom.secrets import InsecureSecret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m router")
    parser.add_argument("command", nargs="?", choices=["serve", "purge"], default="serve")
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    install_masking()  # every log line: phone and ID numbers masked, whoever logs it
    if args.command == "purge":
        from router.purge import run_purge

        print(asyncio.run(run_purge(settings)).summary())
        return 0
    try:
        # the lifespan logs the demo-mode warnings
        settings.check_secrets(gateway=settings.gateway.enabled)
    except InsecureSecret as exc:
        print(f"router: refusing to start: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        create_app(settings, gateway=settings.gateway.enabled),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
