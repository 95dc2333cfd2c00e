"""Dependencies shared by the routes: the runtime, the caller, path parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from router import auth, errors
from router.analysts import Analysts
from router.runtime import Runtime
from router.supervisors import Supervisors

_bearer = HTTPBearer(auto_error=False)


async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


async def principal_of(rt: Runtime, token: str | None) -> auth.Principal:
    """Who a bearer token is: the admin, the service, the agent whose stored token hash it
    matches (through the process's token cache), the supervisor or the analyst whose stored hash
    it matches (read every time); Unauthorized otherwise. Every caller of the
    router, the gateway's agent routes included, is checked here and nowhere else."""
    if not token:
        raise errors.Unauthorized()
    found = auth.static_principal(token, rt.settings.admin_token, rt.settings.service_token)
    if found is not None:
        return found
    agent_id = auth.agent_id_of(token)
    if agent_id is not None:
        token_hash = auth.hash_token(token)
        if auth.hash_matches(token_hash, await rt.store.agent_token_hash(agent_id)):
            return auth.Principal(auth.Role.agent, agent_id, token_hash)
    supervisor_id = auth.supervisor_id_of(token)
    if supervisor_id is not None:
        token_hash = auth.hash_token(token)
        stored = await Supervisors(rt.redis, rt.engine.keys).token_hash(supervisor_id)
        if auth.hash_matches(token_hash, stored):
            return auth.Principal(
                auth.Role.supervisor, token_hash=token_hash, supervisor_id=supervisor_id
            )
    analyst_id = auth.analyst_id_of(token)
    if analyst_id is not None:
        token_hash = auth.hash_token(token)
        stored = await Analysts(rt.redis, rt.engine.keys).token_hash(analyst_id)
        if auth.hash_matches(token_hash, stored):
            return auth.Principal(auth.Role.analyst, token_hash=token_hash, analyst_id=analyst_id)
    raise errors.Unauthorized()


async def _resolve(request: Request, token: str | None) -> auth.Principal:
    return await principal_of(request.app.state.runtime, token)


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> auth.Principal:
    return await _resolve(request, credentials.credentials if credentials else None)


async def service_principal(request: Request) -> auth.Principal:
    """The caller of a service-only hot route: one dependency instead of two (the header is read
    here, as HTTPBearer reads it; the route declares BEARER in its OpenAPI). Not service → 403."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    found = await _resolve(request, token if scheme.lower() == "bearer" else None)
    found.require(auth.Role.service)
    return found


# the OpenAPI security of a route whose caller is resolved without the HTTPBearer dependency
BEARER: dict[str, object] = {"security": [{"HTTPBearer": []}]}
ServiceCaller = Annotated[auth.Principal, Depends(service_principal)]
Caller = Annotated[auth.Principal, Depends(principal)]
AgentIdPath = Annotated[str, Path(pattern=auth.AGENT_ID_PATTERN)]
HandoffIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,32}$")]
OfferIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,32}$")]
SupervisorIdPath = Annotated[str, Path(pattern=auth.AGENT_ID_PATTERN)]
AnalystIdPath = Annotated[str, Path(pattern=auth.AGENT_ID_PATTERN)]
