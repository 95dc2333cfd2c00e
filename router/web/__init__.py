"""Pages the router serves: the customer widget (/widget.js, the loader a host page embeds; the
chat itself in its frame, /widget/frame; demo at /demo) and the agent console (/console). Plain
files, no build step; a strict Content-Security-Policy on each page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8"}  # fmt: skip

router = APIRouter(include_in_schema=False)


def _file(name: str, page: bool = False, csp: str = CSP) -> FileResponse:
    path = STATIC / name
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if page:
        headers["Content-Security-Policy"] = csp
        headers["Referrer-Policy"] = "no-referrer"
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=headers)


def frame_csp(embed_origins: list[str]) -> str:
    """The frame's policy: like every page's, but it may be framed by the router's own pages and
    the listed origins (ROUTER_WIDGET_EMBED_ORIGINS, validated as origins in the settings)."""
    ancestors = " ".join(["'self'", *embed_origins])
    return CSP.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")


@router.get("/")
async def index() -> RedirectResponse:
    return RedirectResponse("/demo")


@router.get("/demo")
async def demo() -> FileResponse:
    return _file("demo.html", page=True)


@router.get("/console")
async def console() -> FileResponse:
    return _file("console.html", page=True)


@router.get("/widget.js")
async def widget_js() -> FileResponse:
    return _file("widget.js")


@router.get("/widget/frame")
async def widget_frame(request: Request) -> FileResponse:
    access = getattr(request.app.state, "gateway_access", None)
    embed = access.settings.embed_origins() if access is not None else []
    return _file("frame.html", page=True, csp=frame_csp(embed))


@router.get("/widget/frame.js")
async def widget_frame_js() -> FileResponse:
    return _file("frame.js")


@router.get("/widget/frame.css")
async def widget_frame_css() -> FileResponse:
    return _file("frame.css")


@router.get("/console.js")
async def console_js() -> FileResponse:
    return _file("console.js")


@router.get("/console.css")
async def console_css() -> FileResponse:
    return _file("console.css")
