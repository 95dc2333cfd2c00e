"""`python -m router`: serve the router with uvicorn using ROUTER_* settings."""

from __future__ import annotations

import logging

import uvicorn

from router.app import create_app
from router.settings import Settings


def main() -> None:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    uvicorn.run(
        create_app(settings, gateway=settings.gateway),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )


if __name__ == "__main__":
    main()
