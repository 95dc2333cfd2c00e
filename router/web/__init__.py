"""Pages the router serves: the customer widget (/widget.js, the loader a host page embeds; the
chat itself in its frame, /widget/frame; demo at /demo), the agent console (/console) and the
supervisor's wallboard and reports (/wallboard, /reports; Chart.js vendored in static/vendor).
Plain files, no build step; a strict Content-Security-Policy on each page. The console page carries
the vocabulary it shows (the urgency levels and their labels, from the kernel) as a JSON data
block, so the script keeps no copy of its own."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from telecom import labels, urgency

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8"}  # fmt: skip

router = APIRouter(include_in_schema=False)


def _headers(page: bool, csp: str = CSP) -> dict[str, str]:
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if page:
        headers["Content-Security-Policy"] = csp
        headers["Referrer-Policy"] = "no-referrer"
    return headers


def _file(name: str, page: bool = False, csp: str = CSP) -> FileResponse:
    path = STATIC / name
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=_headers(page, csp))


def page_data() -> dict[str, object]:
    """What the console and the supervisor pages read from their data block: the urgency levels,
    lowest first, with labels, and every label table of the kernel (telecom.labels)."""
    levels = [{"name": name, "label": urgency.LABELS[name]} for name in urgency.LEVELS]
    return {"urgency": levels, "labels": labels.all_labels()}


@functools.cache
def _page(name: str) -> str:
    """A page with `page_data()` in its data block (read at the first request)."""
    # "<" escaped: the JSON can never close the <script> element it sits in
    data = json.dumps(page_data(), ensure_ascii=False).replace("<", "\\u003c")
    html = (STATIC / name).read_text(encoding="utf-8")
    return html.replace("{{page_data}}", data)


def frame_csp(embed_origins: list[str]) -> str:
    """The frame's policy: like every page's, but it may be framed by the router's own pages and
    the listed origins (ROUTER_GATEWAY__WIDGET_EMBED_ORIGINS, validated in the settings)."""
    ancestors = " ".join(["'self'", *embed_origins])
    return CSP.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")


@router.get("/")
async def index() -> RedirectResponse:
    return RedirectResponse("/demo")


@router.get("/demo")
async def demo() -> FileResponse:
    return _file("demo.html", page=True)


@router.get("/console")
async def console() -> HTMLResponse:
    return HTMLResponse(_page("console.html"), headers=_headers(page=True))


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


# -- the supervisor pages (their data: router/api/supervisor.py, a supervisor's token) ---------


@router.get("/wallboard")
async def wallboard() -> HTMLResponse:
    return HTMLResponse(_page("wallboard.html"), headers=_headers(page=True))


@router.get("/reports")
async def reports() -> HTMLResponse:
    return HTMLResponse(_page("reports.html"), headers=_headers(page=True))


@router.get("/supervisor.js")
async def supervisor_js() -> FileResponse:
    return _file("supervisor.js")


@router.get("/wallboard.js")
async def wallboard_js() -> FileResponse:
    return _file("wallboard.js")


@router.get("/wallboard.css")
async def wallboard_css() -> FileResponse:
    return _file("wallboard.css")


@router.get("/reports.js")
async def reports_js() -> FileResponse:
    return _file("reports.js")


@router.get("/reports.css")
async def reports_css() -> FileResponse:
    return _file("reports.css")


@router.get("/vendor/chart.umd.min.js")
async def chart_js() -> FileResponse:
    """Chart.js, vendored (static/vendor/chartjs/README.md: version, licence, sha256)."""
    return _file("vendor/chartjs/chart.umd.min.js")
