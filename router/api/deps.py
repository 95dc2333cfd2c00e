"""Dependencies shared by the routes: the runtime, the caller, path parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from router import auth, errors
from router.runtime import Runtime

_bearer = HTTPBearer(auto_error=False)


async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> auth.Principal:
    if credentials is None or not credentials.credentials:
        raise errors.Unauthorized()
    rt: Runtime = request.app.state.runtime
    token = credentials.credentials
    found = auth.static_principal(token, rt.settings.admin_token, rt.settings.service_token)
    if found is not None:
        return found
    agent_id = auth.agent_id_of(token)
    if agent_id is not None and auth.agent_token_matches(
        token, await rt.store.agent_token_hash(agent_id)
    ):
        return auth.Principal(auth.Role.agent, agent_id)
    raise errors.Unauthorized()


Caller = Annotated[auth.Principal, Depends(principal)]
AgentIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
HandoffIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,32}$")]
OfferIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,32}$")]
