"""/docs and /openapi.json, open or closed by the settings (ROUTER_PUBLIC_DOCS).

Closed: /docs is 404 and /openapi.json is served to the admin token only (404 for anyone else),
so the API's shape is not handed to whoever reaches the port.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from router import auth, errors
from router.api.deps import RuntimeDep

router = APIRouter(include_in_schema=False)
_bearer = HTTPBearer(auto_error=False)


@router.get("/openapi.json")
async def openapi(
    request: Request,
    rt: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> JSONResponse:
    if not rt.settings.public_docs:
        token = credentials.credentials if credentials else ""
        found = auth.static_principal(token, rt.settings.admin_token, None)
        if found is None:
            raise errors.NotFound()
    schema: dict[str, Any] = request.app.openapi()
    return JSONResponse(schema)


@router.get("/docs")
async def docs(rt: RuntimeDep) -> HTMLResponse:
    if not rt.settings.public_docs:
        raise errors.NotFound()
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Router")
