"""POST /v1/conversations/{id}/messages, its plain success case, as a thin ASGI layer in front of
FastAPI (the same pattern as router/api/fast.py for POST /v1/handoffs).

Every agent reply is one such request, so it is the agent side's hot path. This layer serves only
a request that succeeds — an agent's own token (checked as every caller's is,
router/api/deps.py's principal_of, through the token cache), a JSON body that validates as
AgentMessage, and the engine's script (router/chat_scripts.py, AGENT_MESSAGE) accepting it —
with the same calls and the same reply as the route in router/gateway/agents.py, without
FastAPI's per-request machinery. Anything else — another path, no token or the admin or service
token, a body that does not validate, a token or an assignment refused (nothing changed) — goes
on, its body replayed, to the FastAPI route, which answers as documented (401, 403, 404, 422).
"""

from __future__ import annotations

import re

from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from router import asgi, auth, errors
from router.api.deps import principal_of
from router.gateway.models import Accepted, AgentMessage
from router.gateway.service import Gateway
from router.runtime import Runtime

PATH = re.compile(r"^/v1/conversations/([A-Za-z0-9_-]{8,64})/messages$")


class FastAgentMessage:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        gateway: Gateway | None = getattr(state, "gateway", None)
        runtime: Runtime | None = getattr(state, "runtime", None)
        token = _agent_token(scope, runtime) if gateway is not None else None
        if token is None or gateway is None or runtime is None:
            await self.app(scope, receive, send)
            return
        limit = runtime.settings.max_body_bytes
        read = await asgi.read_model(AgentMessage, limit, self.app, scope, receive, send)
        if read is None:  # gone on to the app (the client left, 413 or 422)
            return
        body, raw = read
        conversation_id = match.group(1)
        try:
            caller = await principal_of(runtime, token)
            if caller.role is not auth.Role.agent or caller.agent_id is None:
                raise errors.Forbidden()
            seq = await gateway.agent_message(conversation_id, caller.agent_id, body.text)
        except errors.RouterError:  # refused, nothing changed: the route answers (401/403/404)
            await self.app(scope, asgi.replay([raw], receive), send)
            return
        except RedisError as exc:  # as the app's handler answers it (the script may have run)
            await asgi.send_error(send, errors.from_redis(exc))
            return
        reply = Accepted(conversation_id=conversation_id, seq=seq)
        await asgi.send_json(send, 201, reply.model_dump_json().encode())


def _agent_token(scope: Scope, runtime: Runtime | None) -> str | None:
    """The bearer token when it can be an agent's and the body is JSON; else None."""
    if runtime is None:
        return None
    token = asgi.json_bearer(scope)
    if token is None or auth.agent_id_of(token) is None:
        return None
    settings = runtime.settings
    if auth.static_principal(token, settings.admin_token, settings.service_token) is not None:
        return None
    return token
