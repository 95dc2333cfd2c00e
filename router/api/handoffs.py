"""Handoffs: create (service), read, abandon, complete and transfer (its agent), priority."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from router import audit, errors
from router.api.deps import BEARER, Caller, HandoffIdPath, RuntimeDep, ServiceCaller
from router.auth import Role
from router.engine import Created
from router.models import (
    Completion,
    HandoffCreate,
    HandoffCreated,
    HandoffPublic,
    HandoffStatus,
    PriorityUpdate,
    Transfer,
)
from router.runtime import Runtime
from router.wait import estimated_wait_s

router = APIRouter(prefix="/v1/handoffs", tags=["handoffs"])


@router.post(
    "",
    status_code=201,
    response_model=HandoffCreated,
    responses={200: {"model": HandoffCreated, "description": "Already active"}},
    openapi_extra=BEARER,
)
async def create_handoff(body: HandoffCreate, _: ServiceCaller, request: Request) -> Response:
    # the plain success case is usually served before FastAPI, by router/api/fast.py
    rt: Runtime = request.app.state.runtime
    status, payload = created_reply(rt, await rt.engine.create_handoff(body))
    return Response(payload, status_code=status, media_type="application/json")


def created_reply(rt: Runtime, created: Created) -> tuple[int, bytes]:
    """201 (or 200: already active) and the HandoffCreated body, serialised by pydantic's Rust
    encoder (not re-validated as a response_model would be)."""
    position, wait = None, 0
    if created.queue_rank is not None and created.wait is not None:
        position = created.queue_rank + 1
        wait = estimated_wait_s(position, created.wait, rt.settings.estimate_s_per_position)
    reply = HandoffCreated(
        handoff_id=created.handoff_id,
        status=HandoffStatus(created.status),
        queue_position=position,
        estimated_wait_s=wait,
    )
    return (201 if created.created else 200), reply.model_dump_json().encode()


@router.get("/{handoff_id}", response_model=HandoffPublic)
async def get_handoff(handoff_id: HandoffIdPath, caller: Caller, rt: RuntimeDep) -> HandoffPublic:
    handoff = await rt.store.handoff(handoff_id)
    if caller.role is Role.agent:
        if caller.agent_id not in (handoff.agent_id, handoff.offered_to):
            raise errors.Forbidden()
    else:
        caller.require(Role.service, Role.admin)
    if caller.role is not Role.service:  # a person reads the summary and transcript
        await rt.audit.read(
            caller,
            audit.HANDOFF,
            rt.engine.clock(),
            conversations=[handoff.conversation_id],
            handoff=handoff_id,
        )
    return handoff


@router.delete("/{handoff_id}", response_model=HandoffPublic)
async def abandon_handoff(
    handoff_id: HandoffIdPath, caller: Caller, rt: RuntimeDep
) -> HandoffPublic:
    caller.require(Role.service)
    await rt.engine.abandon(handoff_id)
    return await rt.store.handoff(handoff_id)


@router.post("/{handoff_id}/complete", response_model=HandoffPublic)
async def complete_handoff(
    handoff_id: HandoffIdPath, body: Completion, caller: Caller, rt: RuntimeDep
) -> HandoffPublic:
    caller.require(Role.agent)
    assert caller.agent_id is not None
    await rt.engine.complete(handoff_id, caller.agent_id, body.disposition)
    return await rt.store.handoff(handoff_id)


@router.post("/{handoff_id}/transfer", response_model=HandoffPublic)
async def transfer_handoff(
    handoff_id: HandoffIdPath, body: Transfer, caller: Caller, rt: RuntimeDep
) -> HandoffPublic:
    caller.require(Role.agent)
    assert caller.agent_id is not None
    await rt.engine.transfer(handoff_id, caller.agent_id, body.skills, body.agent_id)
    return await rt.store.handoff(handoff_id)


@router.post("/{handoff_id}/priority", response_model=HandoffPublic)
async def raise_priority(
    handoff_id: HandoffIdPath, body: PriorityUpdate, caller: Caller, rt: RuntimeDep
) -> HandoffPublic:
    """Raise the urgency of a handoff (its SLA deadline only ever moves earlier)."""
    caller.require(Role.service)
    sla_ms = round(rt.settings.sla_s(body.urgency) * 1000)
    await rt.engine.raise_priority(handoff_id, body.urgency.value, sla_ms)
    return await rt.store.handoff(handoff_id)
