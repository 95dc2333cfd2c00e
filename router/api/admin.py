"""Queues (admin), Prometheus metrics and liveness (anyone)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from router.api.deps import Caller, RuntimeDep
from router.auth import Role
from router.models import QueueStats

router = APIRouter(tags=["admin"])


@router.get("/v1/queues", response_model=list[QueueStats])
async def get_queues(caller: Caller, rt: RuntimeDep) -> list[QueueStats]:
    caller.require(Role.admin)
    return await rt.store.queues(rt.engine.clock())


@router.get("/metrics", response_class=Response)
async def metrics(rt: RuntimeDep) -> Response:
    snapshot = await rt.store.snapshot(rt.engine.clock())
    return Response(rt.metrics.render(snapshot), media_type="text/plain; version=0.0.4")


@router.get("/healthz")
async def healthz(rt: RuntimeDep) -> dict[str, str]:
    await rt.redis.ping()
    return {"status": "ok"}
