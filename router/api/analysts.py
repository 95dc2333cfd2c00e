"""Analysts (admin): create or rename, list and revoke; an analyst reads its own record (the
page's sign-in). As supervisors' (router/api/supervisors.py)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response

from router import auth, errors
from router.analysts import Analysts
from router.api.deps import AnalystIdPath, Caller, RuntimeDep
from router.auth import Role
from router.models import AnalystCreated, AnalystPublic, AnalystUpdate
from router.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/analysts", tags=["analysts"])
NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"description": "No such analyst"}}


def _analysts(rt: Runtime) -> Analysts:
    return Analysts(rt.redis, rt.engine.keys)


@router.get("", response_model=list[AnalystPublic])
async def list_analysts(caller: Caller, rt: RuntimeDep) -> list[AnalystPublic]:
    caller.require(Role.admin)
    return await _analysts(rt).all()


@router.put(
    "/{analyst_id}",
    response_model=AnalystCreated | AnalystPublic,
    responses={201: {"model": AnalystCreated, "description": "Created; carries its token"}},
)
async def put_analyst(
    analyst_id: AnalystIdPath,
    body: AnalystUpdate,
    caller: Caller,
    rt: RuntimeDep,
    response: Response,
) -> AnalystCreated | AnalystPublic:
    """Create an analyst (201, with its token, shown once) or rename one (200, its token
    unchanged)."""
    caller.require(Role.admin)
    token = auth.new_analyst_token(analyst_id)
    store = _analysts(rt)
    created = await store.put(
        analyst_id, body.display_name, auth.hash_token(token), rt.engine.clock()
    )
    found = await store.get(analyst_id)
    if created:
        log.info("router.analyst.created analyst=%s", analyst_id)
        response.status_code = 201
        response.headers["Cache-Control"] = "no-store"
        return AnalystCreated(**found.model_dump(), token=token)
    return found


@router.get("/{analyst_id}", response_model=AnalystPublic, responses=NOT_FOUND)
async def get_analyst(analyst_id: AnalystIdPath, caller: Caller, rt: RuntimeDep) -> AnalystPublic:
    """The admin, or that analyst itself."""
    if caller.role is not Role.admin and not (
        caller.role is Role.analyst and caller.analyst_id == analyst_id
    ):
        raise errors.Forbidden()
    return await _analysts(rt).get(analyst_id)


@router.delete("/{analyst_id}", response_model=AnalystPublic, responses=NOT_FOUND)
async def delete_analyst(
    analyst_id: AnalystIdPath, caller: Caller, rt: RuntimeDep
) -> AnalystPublic:
    """Revoke: the analyst and its token are deleted; its token stops working at once."""
    caller.require(Role.admin)
    deleted = await _analysts(rt).delete(analyst_id)
    log.info("router.analyst.deleted analyst=%s", analyst_id)
    return deleted
