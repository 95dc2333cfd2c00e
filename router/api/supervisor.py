"""The supervisor's data (a supervisor, or the admin): the live wallboard (a snapshot, and its
push stream) and the reports over the archive (archive.reports), each table also as CSV
(`?format=csv`), with the conversations behind every number and their masked transcripts.

Reading the conversations behind a number or a transcript is a read of customers' data: it is
recorded in the access audit (router/audit.py) before the reply.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse

from archive import reports
from archive.metrics import METRICS, MetricError
from archive.metrics import bucket_start as bucket_of
from router import audit, auth, errors, reporting, wallboard
from router.api.deps import Caller, RuntimeDep
from router.auth import Role
from router.reporting import TIME_PATTERN, Archive, ReportQueryError
from router.runtime import Runtime
from router.supervisors import Supervisors

router = APIRouter(prefix="/v1/supervisor", tags=["supervisor"])
READERS = (Role.supervisor, Role.admin)
CHINA = timezone(timedelta(hours=8))
SKILL = r"^[a-z0-9_-]{1,32}$"
# the time series the reports page draws unless `metrics` names others
DEFAULT_SERIES = ("conversations", "containment", "service_level", "csat_agent", "csat_bot")
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}}, "description": "JSON, or CSV"}
}
Format = Annotated[Literal["json", "csv"], Query(description="csv: the table as a CSV file")]


def install(app: FastAPI) -> None:
    """The supervisor's routes, and the archive opened with the app (router/reporting.py)."""
    app.include_router(router)
    reporting.install(app)


def _archive(request: Request) -> Archive:
    found: Archive = request.app.state.archive
    return found


ArchiveDep = Annotated[Archive, Depends(_archive)]


def _invalid(field: str, message: str) -> RequestValidationError:
    """A 422 naming the query parameter, as the app's validation errors do (router/app.py)."""
    return RequestValidationError([{"loc": ("query", field), "msg": message, "type": "value"}])


async def _query(
    rt: RuntimeDep,
    start: Annotated[
        str | None, Query(pattern=TIME_PATTERN, description="YYYY-MM-DD (China time) or ms")
    ] = None,
    end: Annotated[
        str | None,
        Query(pattern=TIME_PATTERN, description="YYYY-MM-DD (that day included) or ms (excluded)"),
    ] = None,
    bucket: Literal["15m", "hour", "day"] | None = None,
    queue: Annotated[str | None, Query(pattern=SKILL)] = None,
    skill: Annotated[str | None, Query(pattern=SKILL)] = None,
    channel: Literal["web", "app", "voice"] | None = None,
    agent: Annotated[str | None, Query(pattern=auth.AGENT_ID_PATTERN)] = None,
    intent: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$")] = None,
) -> reports.ReportQuery:
    try:
        return reporting.report_query(
            rt.engine.clock(), start, end, bucket,
            queue=queue, skill=skill, channel=channel, agent=agent, intent=intent,
        )  # fmt: skip
    except ReportQueryError as exc:
        raise _invalid(exc.field, exc.message) from None
    except MetricError as exc:
        raise _invalid("start", str(exc)) from None


QueryDep = Annotated[reports.ReportQuery, Depends(_query)]


def _china(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=CHINA).isoformat(timespec="minutes")


def _csv(name: str, q: reports.ReportQuery, rows: list[dict[str, Any]]) -> Response:
    first = _china(q.start_ms)[:10]
    last = _china(q.end_ms - 1)[:10]
    return Response(
        reports.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{first}-{last}.csv"',
            "Cache-Control": "no-store",
        },
    )


# -- the wallboard ------------------------------------------------------------------------------


async def _snapshot(rt: Runtime, archive: Archive) -> dict[str, Any]:
    now = rt.engine.clock()
    queues = await rt.store.queues(now)
    agents = await wallboard.read_agents(rt.redis, rt.engine.keys)
    return wallboard.snapshot(queues, agents, await archive.today(now), now)


@router.get("/wallboard")
async def get_wallboard(caller: Caller, rt: RuntimeDep, archive: ArchiveDep) -> dict[str, Any]:
    """Queues (depth, longest wait), agents by state (busy: available at capacity) and today's
    headline numbers from the archive (China time)."""
    caller.require(*READERS)
    await rt.audit.read(caller, audit.WALLBOARD, rt.engine.clock())
    return await _snapshot(rt, archive)


@router.get(
    "/wallboard/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
)
async def wallboard_events(
    caller: Caller, rt: RuntimeDep, archive: ArchiveDep
) -> StreamingResponse:
    """The wallboard pushed: an event `snapshot` (as GET /wallboard) whenever it changes. A
    supervisor's stream ends when its token is rotated or revoked."""
    caller.require(*READERS)
    await rt.audit.read(caller, audit.WALLBOARD, rt.engine.clock())
    supervisors = Supervisors(rt.redis, rt.engine.keys)

    async def still_allowed() -> bool:
        if caller.role is not Role.supervisor or caller.supervisor_id is None:
            return True
        stored = await supervisors.token_hash(caller.supervisor_id)
        return caller.token_hash is not None and auth.hash_matches(caller.token_hash, stored)

    async def build() -> dict[str, Any]:
        return await _snapshot(rt, archive)

    settings = rt.settings
    stream = wallboard.stream(
        rt.redis,
        rt.engine.keys.events(),
        build,
        still_allowed,
        min_interval_s=settings.wallboard_min_interval_s,
        refresh_s=settings.wallboard_refresh_s,
        block_ms=settings.redis_block_ms(15_000),
    )
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


# -- the reports --------------------------------------------------------------------------------


@router.get("/reports/summary", responses=CSV_RESPONSE)
async def get_summary(
    caller: Caller, q: QueryDep, archive: ArchiveDep, format: Format = "json"
) -> Any:
    """Every headline metric of the window: value, numerator, denominator, label, unit, target."""
    caller.require(*READERS)
    found = await archive.read(reports.summary, q)
    if format == "csv":
        rows = [{"metric": name, **values} for name, values in found.items()]
        return _csv("summary", q, rows)
    return found


@router.get("/reports/timeseries", responses=CSV_RESPONSE)
async def get_timeseries(
    caller: Caller,
    q: QueryDep,
    archive: ArchiveDep,
    metrics: Annotated[
        str | None, Query(pattern=r"^[a-z_]{1,40}(,[a-z_]{1,40}){0,15}$", description="a,b,…")
    ] = None,
    format: Format = "json",
) -> Any:
    """Each metric per bucket (bucket starts in China time); `metrics` defaults to volume,
    containment, service level and satisfaction."""
    caller.require(*READERS)
    names = metrics.split(",") if metrics else list(DEFAULT_SERIES)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise _invalid("metrics", "未知的指标：" + "、".join(unknown[:3]))
    found = await archive.read(reports.timeseries, q, names)
    if format == "csv":
        rows = [
            {"bucket_start": _china(start), **{n: found["series"][n][i] for n in names}}
            for i, start in enumerate(found["buckets"])
        ]
        return _csv("timeseries", q, rows)
    meta = {n: {"label": METRICS[n].label, "unit": METRICS[n].unit, "target": METRICS[n].target}
            for n in names}  # fmt: skip
    return {**found, "metrics": meta}


@router.get("/reports/intents", responses=CSV_RESPONSE)
async def get_intents(
    caller: Caller, q: QueryDep, archive: ArchiveDep, format: Format = "json"
) -> Any:
    """The intent mix: conversations per first intent, share, contained, satisfaction."""
    caller.require(*READERS)
    rows = await archive.read(reports.intent_mix, q)
    return _csv("intents", q, rows) if format == "csv" else rows


@router.get("/reports/scorecard", responses=CSV_RESPONSE)
async def get_scorecard(
    caller: Caller, q: QueryDep, archive: ArchiveDep, format: Format = "json"
) -> Any:
    """The agent scorecard with the operator's weights and how each component is scaled."""
    caller.require(*READERS)
    found = await archive.read(reports.scorecard, q)
    if format == "csv":
        rows = []
        for agent in found["agents"]:
            row: dict[str, Any] = {
                "agent_id": agent["agent_id"],
                "display_name": agent["display_name"],
            }
            for name, component in agent["components"].items():
                row[f"{name}_raw"] = component.get("raw")
                row[f"{name}_score"] = component.get("score")
            row["total"] = agent["total"]
            rows.append(row)
        return _csv("scorecard", q, rows)
    return found


@router.get("/reports/drilldown", responses=CSV_RESPONSE)
async def get_drilldown(
    caller: Caller,
    rt: RuntimeDep,
    q: QueryDep,
    archive: ArchiveDep,
    metric: Annotated[str, Query(pattern=r"^[a-z_]{1,40}$")],
    part: Literal["numerator", "denominator"] = "numerator",
    bucket_start: Annotated[
        int | None, Query(ge=0, le=reporting.LATEST_MS, description="one bucket's start, ms")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    format: Format = "json",
) -> Any:
    """The conversations behind one number (a metric's numerator or denominator, of the whole
    window or of one bucket). Recorded in the access audit."""
    caller.require(*READERS)
    if metric not in METRICS:
        raise _invalid("metric", "未知的指标")
    if METRICS[metric].denominator is None and part == "denominator":
        raise _invalid("part", "该指标没有分母")
    if bucket_start is not None and bucket_start != bucket_of(bucket_start, q.bucket):
        raise _invalid("bucket_start", "不是所选分组的起点")
    try:
        found = await archive.read(reports.drilldown, q, metric, part, bucket_start, limit, offset)
    except MetricError as exc:
        raise _invalid("metric", str(exc)) from None
    ids = [row["id"] for row in found["conversations"]]
    await rt.audit.read(caller, audit.DRILLDOWN, rt.engine.clock(), conversations=ids or [None])
    if format == "csv":
        return _csv(f"drilldown-{metric}-{part}", q, found["conversations"])
    return found


@router.get("/conversations/{conversation_id}", responses={404: {"description": "Not archived"}})
async def get_transcript(
    conversation_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")],
    caller: Caller,
    rt: RuntimeDep,
    archive: ArchiveDep,
    response: Response,
) -> dict[str, Any]:
    """One archived conversation: its record, messages (masked), the assistant's reading of each
    customer turn and its handoffs. Recorded in the access audit."""
    caller.require(*READERS)
    found = await archive.read(reports.transcript, conversation_id)
    if found is None:
        raise errors.NoSuchConversation()
    now = rt.engine.clock()
    await rt.audit.read(caller, audit.TRANSCRIPT, now, conversations=[conversation_id])
    response.headers["Cache-Control"] = "no-store"
    return found
