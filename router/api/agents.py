"""Agents: create/update, delete and token rotation (admin), read, presence and heartbeat,
offers, live events."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import StreamingResponse

from router import audit, auth, errors
from router.api.deps import AgentIdPath, Caller, RuntimeDep
from router.auth import Role
from router.events import agent_events
from router.models import (
    AgentCreated,
    AgentDeleted,
    AgentPublic,
    AgentTokenRotated,
    AgentUpdate,
    OfferPublic,
    PresenceUpdate,
)
from router.store import agent_public

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/agents", tags=["agents"])
NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"description": "No such agent"}}


@router.put(
    "/{agent_id}",
    response_model=AgentCreated | AgentPublic,
    responses={201: {"model": AgentCreated, "description": "Created; carries the agent token"}},
)
async def put_agent(
    agent_id: AgentIdPath, body: AgentUpdate, caller: Caller, rt: RuntimeDep, response: Response
) -> AgentCreated | AgentPublic:
    caller.require(Role.admin)
    token = auth.new_agent_token(agent_id)
    created = await rt.engine.upsert_agent(
        agent_id,
        body.display_name,
        body.skills,
        body.languages,
        body.max_concurrent,
        auth.hash_token(token),
    )
    agent = await rt.store.agent(agent_id)
    if created:
        response.status_code = 201
        return AgentCreated(**agent.model_dump(), token=token)
    return agent


@router.delete("/{agent_id}", response_model=AgentDeleted, responses=NOT_FOUND)
async def delete_agent(agent_id: AgentIdPath, caller: Caller, rt: RuntimeDep) -> AgentDeleted:
    """Remove the agent: it goes offline as on a heartbeat lapse (pending offers rescinded, its
    handoffs back in their queues at their original age), then it and its token are deleted and
    its live event streams end. The same id may be created again (a new token)."""
    caller.require(Role.admin)
    deleted = await rt.engine.delete_agent(agent_id)
    rt.store.tokens.forget(agent_id)  # here at once; other processes through the revocation
    log.info("router.agent.deleted agent=%s returned=%d", agent_id, len(deleted.returned))
    agent = agent_public(agent_id, deleted.fields)
    return AgentDeleted(**agent.model_dump(), returned_handoffs=deleted.returned)


@router.post("/{agent_id}/token", response_model=AgentTokenRotated, responses=NOT_FOUND)
async def rotate_token(
    agent_id: AgentIdPath, caller: Caller, rt: RuntimeDep, response: Response
) -> AgentTokenRotated:
    """A new token for the agent; the old one stops working at once. Its presence, load and
    handoffs do not change; its event streams opened with the old token end."""
    caller.require(Role.admin)
    token = auth.new_agent_token(agent_id)
    await rt.engine.rotate_token(agent_id, auth.hash_token(token))
    rt.store.tokens.forget(agent_id)
    log.info("router.agent.token_rotated agent=%s", agent_id)
    response.headers["Cache-Control"] = "no-store"
    return AgentTokenRotated(agent_id=agent_id, token=token)


@router.get("/{agent_id}", response_model=AgentPublic)
async def get_agent(agent_id: AgentIdPath, caller: Caller, rt: RuntimeDep) -> AgentPublic:
    caller.require_agent(agent_id, Role.admin)
    if caller.role is Role.admin:
        await rt.audit.read(caller, audit.AGENT, rt.engine.clock(), agent=agent_id)
    return await rt.store.agent(agent_id)


@router.post("/{agent_id}/presence", response_model=AgentPublic)
async def post_presence(
    agent_id: AgentIdPath, body: PresenceUpdate, caller: Caller, rt: RuntimeDep
) -> AgentPublic:
    caller.require_agent(agent_id)
    await rt.engine.presence(agent_id, body.status)
    return await rt.store.agent(agent_id)


@router.get("/{agent_id}/offers", response_model=list[OfferPublic])
async def get_offers(agent_id: AgentIdPath, caller: Caller, rt: RuntimeDep) -> list[OfferPublic]:
    caller.require_agent(agent_id)
    offers = await rt.store.offers(agent_id)
    if offers:  # each carries its conversation's summary and transcript
        conversations = [o.handoff.conversation_id for o in offers]
        await rt.audit.read(caller, audit.OFFERS, rt.engine.clock(), conversations=conversations)
    return offers


@router.get(
    "/{agent_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
)
async def get_events(
    agent_id: AgentIdPath,
    caller: Caller,
    rt: RuntimeDep,
    last_event_id: Annotated[str | None, Header(pattern=r"^\d{1,20}-\d{1,20}$")] = None,
) -> StreamingResponse:
    caller.require_agent(agent_id)
    token_hash = caller.token_hash  # an agent's: the stream ends when its token stops working
    if token_hash is None or await rt.store.agent_token_hash(agent_id) is None:
        raise errors.NoSuchAgent()
    await rt.audit.read(caller, audit.EVENTS, rt.engine.clock())

    async def read(conversations: list[str]) -> None:
        await rt.audit.read(caller, audit.EVENTS, rt.engine.clock(), conversations=conversations)

    stream = agent_events(
        rt.redis,
        rt.engine.keys,
        agent_id,
        token_hash,
        last_event_id,
        block_ms=rt.settings.redis_block_ms(15_000),
        on_read=read,
    )
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
