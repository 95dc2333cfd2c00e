"""Customer endpoints: WebSocket (the web widget's frame), REST + SSE or long polling (apps).

A conversation is opened by the server (POST /v1/chat/conversations → its id and a resume
token); every later call proves it holds the token (header X-Resume-Token; on the socket, the
first frame). A conversation id alone opens nothing, and ids are never logged (short_hash).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from redis.exceptions import RedisError
from starlette.websockets import WebSocketDisconnect

from router import errors
from router.gateway import edge
from router.gateway.access import Client, Customer, CustomerAccess
from router.gateway.hub import Hub, Item
from router.gateway.models import (
    CONVERSATION_ID_PATTERN,
    Accepted,
    ChatMessage,
    ConversationOpen,
    ConversationOpened,
    ConversationState,
    CustomerMessage,
    Poll,
    ResumeFrame,
)
from router.gateway.service import Gateway
from router.gateway.store import seq_key
from router.logs import short_hash

log = logging.getLogger(__name__)
router = APIRouter(tags=["customer chat"])

Seq = Annotated[str | None, Query(pattern=r"^\d{1,20}-\d{1,20}$")]
KEEPALIVE_S = 15.0
# WebSocket close codes: policy violation (no or wrong resume token, origin), try again later
# (rate limited), message too big
POLICY, TRY_LATER, TOO_BIG = 1008, 1013, 1009


def _parts(app: Any) -> tuple[Gateway, Hub, CustomerAccess]:
    return app.state.gateway, app.state.gateway_hub, app.state.gateway_access


def _client(app: Any, peer: str | None, forwarded_for: str | None) -> Client:
    access: CustomerAccess = app.state.gateway_access
    return access.client(peer, forwarded_for)


async def customer(
    request: Request,
    conversation_id: Annotated[str, Path(pattern=CONVERSATION_ID_PATTERN)],
    x_resume_token: Annotated[str | None, Header(max_length=128)] = None,
) -> Customer:
    """The caller, when it holds the conversation's resume token; 401 otherwise."""
    _, _, access = _parts(request.app)
    client = _client(request.app, _peer(request), request.headers.get("x-forwarded-for"))
    return await access.check(conversation_id, x_resume_token, client)


CustomerCaller = Annotated[Customer, Depends(customer)]


async def capped_body(request: Request) -> None:
    """413 for a customer body over customer_max_body_bytes (far below the router's limit)."""
    _, _, access = _parts(request.app)
    if len(await request.body()) > access.settings.customer_max_body_bytes:
        raise errors.BodyTooLarge()


def _peer(connection: Request | WebSocket) -> str | None:
    return connection.client.host if connection.client else None


def assistant_turn(body: CustomerMessage, who: Customer) -> CustomerMessage:
    """The turn as it goes on: text without control or bidi characters, and the only metadata
    the assistant gets, built here ({"channel", "client", "login"?}). A login that does not have
    the contract's shape is dropped rather than refused: the customer's words still reach the
    assistant, which then treats the conversation as unverified (the safe default), and the
    shape says nothing about the signature, which only the assistant can check."""
    login = edge.login_of(body.metadata)
    if login is None and "login" in body.metadata:
        log.info("gateway.customer.login_dropped conversation=%s", short_hash(who.conversation_id))
    return CustomerMessage(
        text=edge.clean_text(body.text),
        payload=edge.clean_text(body.payload) if body.payload else None,
        metadata=edge.assistant_metadata(who.channel, who.client.key, login),
    )


def _message_event(message: ChatMessage) -> dict[str, Any]:
    return {"type": "message", **message.model_dump(exclude_none=True)}


def _newer(seq: str | None, last: str | None) -> bool:
    return seq is None or last is None or seq_key(seq) > seq_key(last)


# -- REST ---------------------------------------------------------------------------------------
@router.post("/v1/chat/conversations", status_code=201, dependencies=[Depends(capped_body)])
async def open_conversation(
    request: Request, body: Annotated[ConversationOpen | None, Body()] = None
) -> ConversationOpened:
    """A new conversation: its id and the resume token every later call must carry (header
    X-Resume-Token, or the socket's first frame). Keep the token secret; it is shown once."""
    _, _, access = _parts(request.app)
    client = _client(request.app, _peer(request), request.headers.get("x-forwarded-for"))
    opened = await access.open((body or ConversationOpen()).channel, client)
    log.info("gateway.conversation.opened conversation=%s", short_hash(opened.conversation_id))
    return opened


@router.post(
    "/v1/chat/{conversation_id}/messages", status_code=201, dependencies=[Depends(capped_body)]
)
async def post_message(who: CustomerCaller, body: CustomerMessage, request: Request) -> Accepted:
    """A customer's turn; the replies arrive over /events (SSE) or /poll."""
    gateway, _, access = _parts(request.app)
    await access.count_message(who)
    seq = await gateway.customer_turn(who.conversation_id, assistant_turn(body, who), who.channel)
    return Accepted(conversation_id=who.conversation_id, seq=seq)


@router.get("/v1/chat/{conversation_id}/state")
async def get_state(who: CustomerCaller, request: Request) -> ConversationState:
    gateway, _, _ = _parts(request.app)
    return await gateway.state(who.conversation_id)


@router.delete("/v1/chat/{conversation_id}/handoff", status_code=204)
async def cancel_handoff(who: CustomerCaller, request: Request) -> Response:
    """The customer stops waiting for an agent."""
    gateway, _, _ = _parts(request.app)
    if not await gateway.cancel_handoff(who.conversation_id):
        raise errors.NotFound("no handoff waiting")
    return Response(status_code=204)


@router.get("/v1/chat/{conversation_id}/poll")
async def poll(
    who: CustomerCaller,
    request: Request,
    since: Seq = None,
    timeout: Annotated[float, Query(ge=0, le=120)] = 25.0,
) -> Poll:
    """Long polling: messages after `since`, waiting up to `timeout` s for one when none. A
    waiting poll holds one of its client's stream slots (429 when they are all taken)."""
    gateway, _, access = _parts(request.app)
    cid = who.conversation_id
    messages = await gateway.store.history(cid, after=since, limit=gateway.settings.replay_limit)
    if not messages and timeout > 0:
        wait = min(timeout, gateway.settings.poll_timeout_s)
        with access.streams.hold(who.client.key, long_poll=True):
            messages = await gateway.store.wait_for_messages(cid, since, round(wait * 1000))
    return Poll(state=await gateway.state(cid), messages=messages)


@router.get(
    "/v1/chat/{conversation_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
)
async def events(
    who: CustomerCaller,
    request: Request,
    since: Seq = None,
    last_event_id: Annotated[str | None, Header(pattern=r"^\d{1,20}-\d{1,20}$")] = None,
) -> StreamingResponse:
    """Server-sent events: the state, every message after `since` (or Last-Event-ID), then live
    message, typing and state events. A message event's id is its seq. The stream holds one of
    its client's stream slots (429 when they are all taken)."""
    gateway, hub, access = _parts(request.app)
    if access.streams.held(who.client.key) >= access.streams.per_client:
        raise errors.RateLimited(access.streams.retry_after_s)
    return StreamingResponse(
        _sse(gateway, hub, access, who, last_event_id or since),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _frame(kind: str, data: dict[str, Any], seq: str | None = None) -> bytes:
    head = f"id: {seq}\n" if seq else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _sse(
    gateway: Gateway, hub: Hub, access: CustomerAccess, who: Customer, since: str | None
) -> AsyncIterator[bytes]:
    # the slot is taken here, not in the route: a stream that never starts holds none
    try:
        slot = access.streams.hold(who.client.key)
        slot.__enter__()
    except errors.RateLimited:
        yield _frame("error", {"type": "error", "error": "rate_limited"})
        return
    try:
        async for frame in _sse_frames(gateway, hub, who.conversation_id, since):
            yield frame
    finally:
        slot.__exit__(None, None, None)


async def _sse_frames(
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


# -- WebSocket ----------------------------------------------------------------------------------
@router.websocket("/v1/chat/ws")
async def chat_socket(websocket: WebSocket) -> None:
    """First frame: {"type": "resume", "conversation_id", "resume_token", "since"?} (never the
    URL: it ends up in logs). Then send {"type": "message", "text", "payload"?, "metadata"?} or
    {"type": "cancel_handoff"}; receive hello (conversation id and state), message, typing and
    state events. Closed with 1008 for a wrong token, an id in the URL or a page of another
    origin, 1013 (after an error frame) when its client is over a limit."""
    gateway, hub, access = _parts(websocket.app)
    own = edge.own_origins(websocket.headers.get("host"))
    if "conversation_id" in websocket.query_params or not edge.origin_allowed(
        websocket.headers.get("origin"), own, access.settings.allowed_origins()
    ):
        await websocket.close(code=POLICY)  # before accept: the handshake gets 403
        return
    client = _client(websocket.app, _peer(websocket), websocket.headers.get("x-forwarded-for"))
    await websocket.accept()
    try:
        with access.streams.hold(client.key):
            who, since = await _resume(websocket, access, client)
            if who is not None:
                await _serve(websocket, gateway, hub, access, who, since)
    except errors.RateLimited as exc:
        with contextlib.suppress(Exception):
            await websocket.send_json(
                {"type": "error", "error": exc.code, "retry_after": exc.retry_after_s}
            )
            await websocket.close(code=TRY_LATER)
    except WebSocketDisconnect:
        pass
    except RedisError as exc:
        log.warning("gateway.ws.redis_error error=%s", type(exc).__name__)
        with contextlib.suppress(Exception):
            await websocket.close(code=1011)


async def _resume(
    websocket: WebSocket, access: CustomerAccess, client: Client
) -> tuple[Customer | None, str | None]:
    """The customer the first frame proves, or None (the socket is closed with 1008)."""
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), access.settings.resume_timeout_s)
        frame = ResumeFrame.model_validate_json(raw)
        return await access.check(frame.conversation_id, frame.resume_token, client), frame.since
    except (TimeoutError, ValidationError, errors.Unauthorized):
        await websocket.close(code=POLICY)
        return None, None


async def _serve(
    websocket: WebSocket,
    gateway: Gateway,
    hub: Hub,
    access: CustomerAccess,
    who: Customer,
    since: str | None,
) -> None:
    cid = who.conversation_id
    async with hub.listen(cid) as queue:
        state = await gateway.state(cid)
        await websocket.send_json(
            {"type": "hello", "conversation_id": cid, "state": state.model_dump()}
        )
        last = since
        for message in await gateway.store.history(
            cid, after=since, limit=gateway.settings.replay_limit
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
                if len(raw.encode()) > access.settings.customer_max_body_bytes:
                    await websocket.close(code=TOO_BIG)
                    return
                await _handle_frame(gateway, access, who, raw, websocket)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await sender


async def _handle_frame(
    gateway: Gateway, access: CustomerAccess, who: Customer, raw: str, ws: WebSocket
) -> None:
    try:
        frame = json.loads(raw)
        kind = frame.pop("type", "message") if isinstance(frame, dict) else None
    except ValueError:
        kind, frame = None, None
    if kind == "message":
        try:
            body = CustomerMessage.model_validate(frame)
        except ValidationError:
            await ws.send_json({"type": "error", "error": "bad_message"})
            return
        await access.count_message(who)  # RateLimited: the socket is closed (chat_socket)
        try:
            await gateway.customer_turn(who.conversation_id, assistant_turn(body, who), who.channel)
        except errors.RouterError:
            await ws.send_json({"type": "error", "error": "bad_message"})
    elif kind == "cancel_handoff":
        await gateway.cancel_handoff(who.conversation_id)
    elif kind == "ping":
        await ws.send_json({"type": "pong"})
    else:
        await ws.send_json({"type": "error", "error": "bad_frame"})
