"""Customer endpoints: WebSocket (web widget), REST + SSE or long polling (apps).

The conversation id, chosen at random by the client (or by the gateway when none is given), is
what identifies the customer's conversation; it is never listed or echoed to anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from redis.exceptions import RedisError
from starlette.websockets import WebSocketDisconnect

from router import errors
from router.gateway.hub import Hub, Item
from router.gateway.models import (
    CONVERSATION_ID_PATTERN,
    Accepted,
    ChatMessage,
    ConversationState,
    CustomerMessage,
    Poll,
)
from router.gateway.service import Gateway
from router.gateway.store import seq_key

log = logging.getLogger(__name__)
router = APIRouter(tags=["customer chat"])

ConversationPath = Annotated[str, Path(pattern=CONVERSATION_ID_PATTERN)]
Seq = Annotated[str | None, Query(pattern=r"^\d{1,20}-\d{1,20}$")]
Channel = Annotated[str, Query(pattern=r"^[a-z_]{1,16}$")]
KEEPALIVE_S = 15.0


def _parts(app: Any) -> tuple[Gateway, Hub]:
    return app.state.gateway, app.state.gateway_hub


def new_conversation_id() -> str:
    return secrets.token_urlsafe(18)


def _message_event(message: ChatMessage) -> dict[str, Any]:
    return {"type": "message", **message.model_dump(exclude_none=True)}


def _newer(seq: str | None, last: str | None) -> bool:
    return seq is None or last is None or seq_key(seq) > seq_key(last)


@router.websocket("/v1/chat/ws")
async def chat_socket(
    websocket: WebSocket,
    conversation_id: str | None = None,
    since: str | None = None,
    channel: str = "web",
) -> None:
    """Send {"type": "message", "text", "payload"?, "metadata"?} or {"type": "cancel_handoff"};
    receive hello (conversation id and state), message, typing and state events."""
    import re

    if conversation_id is None:
        conversation_id = new_conversation_id()
    if not re.match(CONVERSATION_ID_PATTERN, conversation_id) or (
        since is not None and not re.match(r"^\d{1,20}-\d{1,20}$", since)
    ):
        await websocket.close(code=1008)
        return
    channel = channel if re.match(r"^[a-z_]{1,16}$", channel) else "web"
    gateway, hub = _parts(websocket.app)
    engine = websocket.app.state.runtime.engine
    await websocket.accept()
    async with hub.listen(conversation_id) as queue:
        state = await gateway.state(conversation_id)
        await websocket.send_json(
            {"type": "hello", "conversation_id": conversation_id, "state": state.model_dump()}
        )
        last = since
        for message in await gateway.store.history(
            conversation_id, after=since, limit=gateway.settings.replay_limit
        ):
            await websocket.send_json(_message_event(message))
            last = message.seq

        async def forward() -> None:
            nonlocal last
            while True:
                seq, payload = await queue.get()
                if not _newer(seq, last):
                    continue
                await websocket.send_json(
                    {"type": "message", "seq": seq, **payload} if seq else payload
                )
                if seq:
                    last = seq

        sender = asyncio.create_task(forward())
        try:
            while True:
                raw = await websocket.receive_text()
                await _handle_socket_frame(
                    gateway, engine, conversation_id, channel, raw, websocket
                )
        except WebSocketDisconnect:
            pass
        except RedisError as exc:
            log.warning("gateway.ws.redis_error error=%s", type(exc).__name__)
            with contextlib.suppress(Exception):
                await websocket.close(code=1011)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await sender


async def _handle_socket_frame(
    gateway: Gateway, engine: Any, conversation_id: str, channel: str, raw: str, ws: WebSocket
) -> None:
    try:
        frame = json.loads(raw)
        kind = frame.pop("type", "message") if isinstance(frame, dict) else None
    except ValueError:
        kind, frame = None, None
    if kind == "message":
        try:
            turn = CustomerMessage.model_validate(frame)
            await gateway.customer_turn(conversation_id, turn, channel)
        except (ValidationError, errors.RouterError):
            await ws.send_json({"type": "error", "error": "bad_message"})
    elif kind == "cancel_handoff":
        await gateway.cancel_handoff(conversation_id, engine)
    elif kind == "ping":
        await ws.send_json({"type": "pong"})
    else:
        await ws.send_json({"type": "error", "error": "bad_frame"})


@router.post("/v1/chat/{conversation_id}/messages", status_code=201)
async def post_message(
    conversation_id: ConversationPath, body: CustomerMessage, request: Request,
    channel: Channel = "app",
) -> Accepted:  # fmt: skip
    """A customer's turn; the replies arrive over /events (SSE) or /poll."""
    gateway, _ = _parts(request.app)
    seq = await gateway.customer_turn(conversation_id, body, channel)
    return Accepted(conversation_id=conversation_id, seq=seq)


@router.get("/v1/chat/{conversation_id}/state")
async def get_state(conversation_id: ConversationPath, request: Request) -> ConversationState:
    gateway, _ = _parts(request.app)
    return await gateway.state(conversation_id)


@router.delete("/v1/chat/{conversation_id}/handoff", status_code=204)
async def cancel_handoff(conversation_id: ConversationPath, request: Request) -> Response:
    """The customer stops waiting for an agent."""
    gateway, _ = _parts(request.app)
    if not await gateway.cancel_handoff(conversation_id, request.app.state.runtime.engine):
        raise errors.NotFound("no handoff waiting")
    return Response(status_code=204)


@router.get("/v1/chat/{conversation_id}/poll")
async def poll(
    conversation_id: ConversationPath,
    request: Request,
    since: Seq = None,
    timeout: Annotated[float, Query(ge=0, le=120)] = 25.0,
) -> Poll:
    """Long polling: messages after `since`, waiting up to `timeout` s for one when none."""
    gateway, _ = _parts(request.app)
    messages = await gateway.store.history(
        conversation_id, after=since, limit=gateway.settings.replay_limit
    )
    if not messages and timeout > 0:
        wait = min(timeout, gateway.settings.poll_timeout_s)
        messages = await gateway.store.wait_for_messages(conversation_id, since, round(wait * 1000))
    return Poll(state=await gateway.state(conversation_id), messages=messages)


@router.get(
    "/v1/chat/{conversation_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
)
async def events(
    conversation_id: ConversationPath,
    request: Request,
    since: Seq = None,
    last_event_id: Annotated[str | None, Header(pattern=r"^\d{1,20}-\d{1,20}$")] = None,
) -> StreamingResponse:
    """Server-sent events: the state, every message after `since` (or Last-Event-ID), then live
    message, typing and state events. A message event's id is its seq."""
    gateway, hub = _parts(request.app)
    return StreamingResponse(
        _sse(gateway, hub, conversation_id, last_event_id or since),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _frame(kind: str, data: dict[str, Any], seq: str | None = None) -> bytes:
    head = f"id: {seq}\n" if seq else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _sse(
    gateway: Gateway, hub: Hub, conversation_id: str, since: str | None
) -> AsyncIterator[bytes]:
    async with hub.listen(conversation_id) as queue:
        state = await gateway.state(conversation_id)
        yield _frame("state", {"type": "state", **state.model_dump()})
        last = since
        for message in await gateway.store.history(
            conversation_id, after=since, limit=gateway.settings.replay_limit
        ):
            yield _frame("message", _message_event(message), message.seq)
            last = message.seq
        while True:
            item: Item | None = None
            with contextlib.suppress(TimeoutError):
                item = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
            if item is None:
                yield b": keepalive\n\n"
                continue
            seq, payload = item
            if not _newer(seq, last):
                continue
            if seq:
                last = seq
                yield _frame("message", {"type": "message", "seq": seq, **payload}, seq)
            else:
                yield _frame(str(payload.get("type", "event")), payload)
