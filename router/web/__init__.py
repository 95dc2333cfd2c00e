"""Pages the router serves: the customer widget (/widget.js, the loader a host page embeds; the
chat itself in its frame, /widget/frame; demo at /demo), the agent console (/console) and the
supervisor's wallboard and reports (/wallboard, /reports; Chart.js vendored in static/vendor),
network operations' outages (/outages) and the customer's follow-up page (/feedback?t=<token>).
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


# What the ticket pages show: the kernel's labels of the ticket service's ids (docs/contracts.md),
# the ratings, and the refusals (error codes) as people read them.
TICKET_VOCABULARY: dict[str, dict[str, str]] = {
    "kinds": labels.TICKET_KINDS,
    "severities": labels.SEVERITIES,
    "windows": labels.TICKET_WINDOWS,
    "services": labels.SERVICES,
    "alert_kinds": labels.TICKET_ALERTS,
    "ratings": {"1": "非常不满意", "2": "不满意", "3": "一般", "4": "满意", "5": "非常满意"},
    "errors": {
        "unauthorized": "登录已失效，请重新登录",
        "forbidden": "您没有权限执行此操作",
        "not_allowed": "您没有权限执行此操作",
        "bad_actor": "您没有权限执行此操作",
        "unknown_step": "不支持的操作",
        "before_opened": "操作时间早于工单受理时间",
        "closed": "工单已关闭，不能再操作",
        "attached": "该工单已关联到已知故障，故障恢复后将自动办结",
        "wrong_state": "工单当前状态不允许此操作",
        "already_claimed": "工单已被他人认领",
        "not_assignee": "该工单不在您名下，请先认领",
        "text_required": "请填写内容",
        "unknown_team": "没有这个班组",
        "same_team": "工单已在该班组",
        "window_required": "请指明升级的时限",
        "unknown_window": "没有这个时限",
        "already_warned": "该时限已升级过",
        "not_due": "该时限尚未临期",
        "not_responded": "请先答复客户，再办结",
        "result_required": "请填写处理结果",
        "remedy_required": "重大投诉办结须填写补救措施",
        "reopen_expired": "工单关闭已超过 7 天，不能重新处理",
        "bad_rating": "评分须为 1 到 5 分",
        "invalid": "填写的内容有误，请检查后重试",
        "validation_error": "填写的内容有误，请检查后重试",
        "no_such_ticket": "工单不存在",
        "no_such_outage": "故障不存在",
        "outage_closed": "该故障已结束，不能再修改",
        "already_answered": "您已经评价过了，感谢您的反馈",
        "not_found": "链接无效或已过期",
        "rate_limited": "操作太频繁，请稍后再试",
        "unavailable": "服务暂时不可用，请稍后再试",
        "tickets_unavailable": "工单服务暂时不可用，请稍后再试",
    },
}


def page_data() -> dict[str, object]:
    """What the console and the supervisor pages read from their data block: the urgency levels,
    lowest first, with labels, every label table of the kernel (telecom.labels), and the ticket
    pages' vocabulary (TICKET_VOCABULARY)."""
    levels = [{"name": name, "label": urgency.LABELS[name]} for name in urgency.LEVELS]
    return {"urgency": levels, "labels": labels.all_labels(), "tickets": TICKET_VOCABULARY}


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


@router.get("/console-tickets.js")
async def console_tickets_js() -> FileResponse:
    """The console's 工单 tab (router/tickets/api.py: the agent's token)."""
    return _file("console-tickets.js")


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


# -- the ticket pages (their data: router/tickets/api.py) ------------------------------------


@router.get("/outages")
async def outages() -> HTMLResponse:
    """Network operations: declare, update and close outages (a supervisor's token)."""
    return HTMLResponse(_page("outages.html"), headers=_headers(page=True))


@router.get("/outages.js")
async def outages_js() -> FileResponse:
    return _file("outages.js")


@router.get("/outages.css")
async def outages_css() -> FileResponse:
    return _file("outages.css")


@router.get("/feedback")
async def feedback() -> HTMLResponse:
    """The customer's follow-up page (/feedback?t=<token>: whoever holds the link)."""
    return HTMLResponse(_page("feedback.html"), headers=_headers(page=True))


@router.get("/feedback.js")
async def feedback_js() -> FileResponse:
    return _file("feedback.js")


@router.get("/feedback.css")
async def feedback_css() -> FileResponse:
    return _file("feedback.css")


# -- the analyst's page (its data: router/analysis, an analyst's token) ----------------------


@router.get("/analyst")
async def analyst() -> HTMLResponse:
    """The inbox, annotation, agreement and the models (an analyst's token)."""
    return HTMLResponse(_page("analyst.html"), headers=_headers(page=True))


@router.get("/analyst.js")
async def analyst_js() -> FileResponse:
    return _file("analyst.js")


@router.get("/analyst-agreement.js")
async def analyst_agreement_js() -> FileResponse:
    return _file("analyst-agreement.js")


@router.get("/analyst-models.js")
async def analyst_models_js() -> FileResponse:
    return _file("analyst-models.js")


@router.get("/analyst.css")
async def analyst_css() -> FileResponse:
    return _file("analyst.css")
