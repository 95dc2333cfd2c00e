"""Supervisors (admin): create or rename, list, token rotation and revocation; a supervisor
reads its own record (the pages' sign-in)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response

from router import auth, errors
from router.api.deps import Caller, RuntimeDep, SupervisorIdPath
from router.auth import Role
from router.models import (
    SupervisorCreated,
    SupervisorPublic,
    SupervisorTokenRotated,
    SupervisorUpdate,
)
from router.runtime import Runtime
from router.supervisors import Supervisors

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/supervisors", tags=["supervisors"])
NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"description": "No such supervisor"}}


def _supervisors(rt: Runtime) -> Supervisors:
    return Supervisors(rt.redis, rt.engine.keys)


@router.get("", response_model=list[SupervisorPublic])
async def list_supervisors(caller: Caller, rt: RuntimeDep) -> list[SupervisorPublic]:
    caller.require(Role.admin)
    return await _supervisors(rt).all()


@router.put(
    "/{supervisor_id}",
    response_model=SupervisorCreated | SupervisorPublic,
    responses={201: {"model": SupervisorCreated, "description": "Created; carries its token"}},
)
async def put_supervisor(
    supervisor_id: SupervisorIdPath,
    body: SupervisorUpdate,
    caller: Caller,
    rt: RuntimeDep,
    response: Response,
) -> SupervisorCreated | SupervisorPublic:
    """Create a supervisor (201, with its token, shown once) or rename one (200, its token
    unchanged)."""
    caller.require(Role.admin)
    token = auth.new_supervisor_token(supervisor_id)
    store = _supervisors(rt)
    created = await store.put(
        supervisor_id, body.display_name, auth.hash_token(token), rt.engine.clock()
    )
    found = await store.get(supervisor_id)
    if created:
        log.info("router.supervisor.created supervisor=%s", supervisor_id)
        response.status_code = 201
        response.headers["Cache-Control"] = "no-store"
        return SupervisorCreated(**found.model_dump(), token=token)
    return found


@router.get("/{supervisor_id}", response_model=SupervisorPublic, responses=NOT_FOUND)
async def get_supervisor(
    supervisor_id: SupervisorIdPath, caller: Caller, rt: RuntimeDep
) -> SupervisorPublic:
    """The admin, or that supervisor itself."""
    if caller.role is not Role.admin and not (
        caller.role is Role.supervisor and caller.supervisor_id == supervisor_id
    ):
        raise errors.Forbidden()
    return await _supervisors(rt).get(supervisor_id)


@router.post("/{supervisor_id}/token", response_model=SupervisorTokenRotated, responses=NOT_FOUND)
async def rotate_supervisor_token(
    supervisor_id: SupervisorIdPath, caller: Caller, rt: RuntimeDep, response: Response
) -> SupervisorTokenRotated:
    """A new token; the old one stops working at once (its wallboard stream ends)."""
    caller.require(Role.admin)
    token = auth.new_supervisor_token(supervisor_id)
    await _supervisors(rt).rotate(supervisor_id, auth.hash_token(token), rt.engine.clock())
    log.info("router.supervisor.token_rotated supervisor=%s", supervisor_id)
    response.headers["Cache-Control"] = "no-store"
    return SupervisorTokenRotated(supervisor_id=supervisor_id, token=token)


@router.delete("/{supervisor_id}", response_model=SupervisorPublic, responses=NOT_FOUND)
async def delete_supervisor(
    supervisor_id: SupervisorIdPath, caller: Caller, rt: RuntimeDep
) -> SupervisorPublic:
    """Revoke: the supervisor and its token are deleted; its token stops working at once."""
    caller.require(Role.admin)
    deleted = await _supervisors(rt).delete(supervisor_id)
    log.info("router.supervisor.deleted supervisor=%s", supervisor_id)
    return deleted
