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

from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from router import asgi, auth, errors
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
        read = await asgi.read_model(HandoffCreate, limit, self.app, scope, receive, send)
        if read is None:  # gone on to the app (the client left, 413 or 422)
            return
        body, _ = read
        try:
            created = await runtime.engine.create_handoff(body)
        except RedisError as exc:
            await asgi.send_error(send, errors.from_redis(exc))
            return
        except errors.RouterError as exc:
            await asgi.send_error(send, exc)
            return
        status, payload = created_reply(runtime, created)
        await asgi.send_json(send, status, payload)


def _is_service_json(scope: Scope, runtime: Runtime) -> bool:
    token = asgi.json_bearer(scope)
    if token is None:
        return False
    found = auth.static_principal(
        token, runtime.settings.admin_token, runtime.settings.service_token
    )
    return found is not None and found.role is auth.Role.service
