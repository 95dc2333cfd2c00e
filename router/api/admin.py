"""Queues (admin), Prometheus metrics (anyone, or the admin or metrics token when closed) and
liveness (anyone)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from router import audit, auth, errors
from router.api.deps import Caller, RuntimeDep
from router.auth import Role
from router.models import QueueStats

router = APIRouter(tags=["admin"])


@router.get("/v1/queues", response_model=list[QueueStats])
async def get_queues(caller: Caller, rt: RuntimeDep) -> list[QueueStats]:
    caller.require(Role.admin)
    now = rt.engine.clock()
    await rt.audit.read(caller, audit.QUEUES, now)
    return await rt.store.queues(now)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request, rt: RuntimeDep) -> Response:
    """Prometheus text. Closed (ROUTER_PUBLIC_METRICS=false): the admin or the metrics token."""
    if not rt.settings.public_metrics:
        token = auth.parse_bearer(request.headers.get("authorization"))
        if not (
            auth.token_matches(token, rt.settings.admin_token)
            or auth.token_matches(token, rt.settings.metrics_token)
        ):
            raise errors.Unauthorized()
    snapshot = await rt.store.snapshot(rt.engine.clock())
    return Response(rt.metrics.render(snapshot), media_type="text/plain; version=0.0.4")


@router.get("/healthz")
async def healthz(rt: RuntimeDep) -> dict[str, str]:
    await rt.redis.ping()
    return {"status": "ok"}
