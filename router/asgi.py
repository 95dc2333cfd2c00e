"""The pieces the thin ASGI fast paths share (router/api/fast.py, router/gateway/fast.py): read a
JSON request's bearer token, read and validate its body within a limit, hand a request on to the
FastAPI app with what was already read replayed, and send a JSON reply or error."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from router.errors import RouterError

Model = TypeVar("Model", bound=BaseModel)


def json_bearer(scope: Scope) -> str | None:
    """The bearer token of a request whose body is JSON; None for anything else."""
    authorization = content_type = b""
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value
        elif name == b"content-type":
            content_type = value
    if not content_type.lower().startswith(b"application/json"):
        return None
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def read_body(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """(the whole body, receive) — or (None, a receive replaying what was read) when the client
    left or the body outgrew `limit`, so the app answers that request itself (413 for size)."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the client left: let the app see it
            return None, replay(chunks, receive, message)
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
        if size > limit:
            return None, replay(chunks, receive, None, more)
    return b"".join(chunks), receive


async def read_model(
    model: type[Model], limit: int, app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> tuple[Model, bytes] | None:
    """The body validated as `model`, and the body itself (to replay if the request goes on to
    the app after all) — or None when the request has gone on to `app`, which answers it: the
    client left, the body outgrew `limit` (413) or does not validate (422, with its fields)."""
    raw, replayed = await read_body(receive, limit)
    if raw is None:
        await app(scope, replayed, send)
        return None
    try:
        return model.model_validate_json(raw), raw
    except ValidationError:
        await app(scope, replay([raw], receive), send)
        return None


def replay(
    chunks: list[bytes], receive: Receive, last: Message | None = None, more: bool = False
) -> Receive:
    """A receive that gives back what was read (as one message, then `last`), then the rest."""
    pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": more}]
    if last is not None:
        pending.append(last)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def send_json(send: Send, status: int, payload: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def send_error(send: Send, error: RouterError) -> None:
    """The error as the app's handler answers it: its status and {"error": code}."""
    await send_json(send, error.status_code, json.dumps({"error": error.code}).encode())
