"""Agent endpoints of the gateway: talk to the customer of an assigned conversation, read it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from router import audit, errors
from router.api.deps import Caller
from router.auth import Role
from router.gateway.models import (
    CONVERSATION_ID_PATTERN,
    Accepted,
    AgentMessage,
    ConversationView,
    Sender,
)
from router.gateway.service import Gateway
from telecom import mask

router = APIRouter(tags=["agent chat"])
ConversationPath = Annotated[str, Path(pattern=CONVERSATION_ID_PATTERN)]


def _gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


@router.post("/v1/conversations/{conversation_id}/messages", status_code=201)
async def agent_message(
    conversation_id: ConversationPath, body: AgentMessage, caller: Caller, request: Request
) -> Accepted:
    """The assigned agent writes to the customer (401 for a wrong token, 403 for anyone else)."""
    if caller.role is not Role.agent or caller.agent_id is None:
        raise errors.Forbidden()
    seq = await _gateway(request).agent_message(conversation_id, caller.agent_id, body.text)
    return Accepted(conversation_id=conversation_id, seq=seq)


@router.get("/v1/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: ConversationPath, caller: Caller, request: Request
) -> ConversationView:
    """The handoff (summary, transcript) and the masked history, for its assigned or offered
    agent, or admin."""
    gateway = _gateway(request)
    handoff_state = await gateway.store.active_handoff(conversation_id)
    meta = await gateway.store.meta(conversation_id)
    handoff_id = handoff_state.handoff_id if handoff_state else meta.get("handoff_id")
    if caller.role is not Role.admin:
        caller.require(Role.agent)
        if handoff_state is None:
            raise errors.NotFound("no active handoff")
        offered_to, agent_id = await gateway.store.handoff_fields(
            handoff_state.handoff_id, "offered_to", "agent_id"
        )
        if caller.agent_id not in (offered_to, agent_id):
            raise errors.Forbidden()
    runtime = request.app.state.runtime
    await runtime.audit.read(
        caller,
        audit.CONVERSATION,
        runtime.engine.clock(),
        conversations=[conversation_id],
        handoff=handoff_id or None,
    )
    handoff = None
    if handoff_id:
        handoff = (await runtime.store.handoff(handoff_id)).model_dump(mode="json")
    messages = await gateway.store.history(conversation_id, limit=gateway.settings.replay_limit)
    for message in messages:
        if message.sender is Sender.customer:
            message.text = mask.text(message.text)
    rating = meta.get("rating")
    return ConversationView(
        conversation_id=conversation_id,
        handoff=handoff,
        messages=messages,
        rating=int(rating) if rating else None,
        comment=meta.get("comment") if caller.role is Role.admin else None,
    )
