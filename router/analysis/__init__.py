"""The analysts' part of the router: their routes over the archive's inbox and annotations
(router/analysis/api.py, with the admin's analyst tokens: router/api/analysts.py) and the model
registry's routes (router/analysis/models.py). The /analyst page is served by router/web."""

from __future__ import annotations

from fastapi import FastAPI

from router.analysis import api, db, models
from router.api import analysts


def install(app: FastAPI) -> None:
    """The analysts' routes, and the archive opened for their writes (router/analysis/db.py).
    Call after router.api.supervisor.install (its read-only archive is theirs too)."""
    app.include_router(analysts.router)
    app.include_router(api.router)
    app.include_router(models.router)
    db.install(app)
