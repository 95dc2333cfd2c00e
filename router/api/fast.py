"""POST /v1/handoffs, its plain success case, as a thin ASGI layer in front of FastAPI.

Every handoff the assistant makes is one such request, so it is the router's hot path. This
layer serves only a request that would succeed — the service token, a JSON body within the size
limit that validates as HandoffCreate — with the same engine call and the same reply as the
route in router/api/handoffs.py, without FastAPI's per-request machinery (route matching,
dependency solving, the middleware stack). Anything else — another path, no or another token, a
body that is too large or does not validate — goes on, its body replayed, to the FastAPI app,
which answers as documented (401, 403, 413, 422). The contract and the OpenAPI stay in one place.
"""

from __future__ import annotations

import json

from pydantic import ValidationError
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from router import auth, errors
from router.api.handoffs import created_reply
from router.models import HandoffCreate
from router.runtime import Runtime

PATH = "/v1/handoffs"


class FastHandoffCreate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
        if runtime is None or not _is_service_json(scope, runtime):
            await self.app(scope, receive, send)
            return
        limit = runtime.settings.max_body_bytes
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left: let the app see it
                await self.app(scope, _replay(chunks, receive, message), send)
                return
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
            if size > limit:  # 413 from the app
                await self.app(scope, _replay(chunks, receive, None, more), send)
                return
        raw = b"".join(chunks)
        try:
            body = HandoffCreate.model_validate_json(raw)
        except ValidationError:  # 422 from the app, with its field names
            await self.app(scope, _replay([raw], receive, None), send)
            return
        try:
            created = await runtime.engine.create_handoff(body)
        except RedisError:
            await _send(send, 503, json.dumps({"error": "unavailable"}).encode())
            return
        except errors.RouterError as exc:
            await _send(send, exc.status_code, json.dumps({"error": exc.code}).encode())
            return
        status, payload = created_reply(runtime, created)
        await _send(send, status, payload)


def _is_service_json(scope: Scope, runtime: Runtime) -> bool:
    authorization = content_type = b""
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value
        elif name == b"content-type":
            content_type = value
    if not content_type.lower().startswith(b"application/json"):
        return False
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    found = auth.static_principal(
        token, runtime.settings.admin_token, runtime.settings.service_token
    )
    return found is not None and found.role is auth.Role.service


def _replay(
    chunks: list[bytes], receive: Receive, last: Message | None, more: bool = False
) -> Receive:
    """A receive that gives back what was read (as one message, then `last`), then the rest."""
    pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": more}]
    if last is not None:
        pending.append(last)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _send(send: Send, status: int, payload: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
