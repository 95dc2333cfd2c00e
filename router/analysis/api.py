"""The analyst's routes over the archive (archive/inbox.py, archive/annotations.py): the inbox
of customer turns the assistant may have misread, annotation decisions, the agreement of
double-annotated items, settling disagreements, and exporting accepted annotations as a Rasa NLU
batch file. Analysts call them with their own tokens; the admin may read and export too.

Only masked, placeholdered text reaches an analyst (the archive holds masked text only; the inbox
turns masked values into entity placeholders). Reading it is recorded in the access audit before
the reply (router/audit.py INBOX, ANNOTATION_ITEMS); every decision is a row of the archive with
who and when (archive/annotations.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from archive import annotations as ann
from archive import inbox
from archive.metrics import DAY_MS
from archive.schema import Annotation
from router import audit, errors, reporting
from router.analysis.db import Writer
from router.api.deps import Caller, RuntimeDep
from router.auth import Principal, Role
from router.reporting import TIME_PATTERN, Archive, ReportQueryError

T = TypeVar("T")
router = APIRouter(tags=["analysis"])
READERS = (Role.analyst, Role.admin)
REASONS = tuple(inbox.REASONS)
STATUSES = inbox.STATUSES
STATUS_PATTERN = "^(" + "|".join(STATUSES) + ")$"
DEFAULT_DAYS = 30  # the inbox without `start`: the last 30 days
MAX_DAYS = 366
KEY = r"^[A-Za-z0-9_-]{1,128}$"
NEW_INTENT = r"^[a-z][a-z0-9_]{1,63}$"
ENTITY = r"^[a-z][a-z0-9_]{0,63}$"


def _invalid(field: str, message: str, where: str = "query") -> RequestValidationError:
    """A 422 naming the parameter, as the app's validation errors do (router/app.py)."""
    return RequestValidationError([{"loc": (where, field), "msg": message, "type": "value"}])


def _archive(request: Request) -> Archive:
    found: Archive = request.app.state.archive
    return found


def _writer(request: Request) -> Writer:
    found: Writer = request.app.state.annotations
    return found


ArchiveDep = Annotated[Archive, Depends(_archive)]
WriterDep = Annotated[Writer, Depends(_writer)]


def _analyst(caller: Principal) -> str:
    """The analyst id of the caller, which must be an analyst (a decision is always someone's)."""
    caller.require(Role.analyst)
    assert caller.analyst_id is not None  # set with the role (router/api/deps.py)
    return caller.analyst_id


def _conversations(groups: list[dict[str, Any]]) -> list[str | None]:
    """The conversation ids behind what is shown (each example's), for the audit entry."""
    ids = dict.fromkeys(e["conversation_id"] for g in groups for e in g.get("examples") or ())
    return [*ids] or [None]


# -- the inbox ----------------------------------------------------------------------------------


def inbox_window(now_ms: int, start: str | None, end: str | None) -> tuple[int, int]:
    """The inbox's window: dates (China time) or ms; by default the last DEFAULT_DAYS days.
    ReportQueryError when it makes no sense."""
    end_ms = reporting.parse_time(end, "end", end=True) if end else now_ms + 1
    start_ms = (
        reporting.parse_time(start, "start", end=False) if start else end_ms - DEFAULT_DAYS * DAY_MS
    )
    for field, value in (("start", start_ms), ("end", end_ms)):
        if not reporting.EARLIEST_MS <= value <= reporting.LATEST_MS:
            raise ReportQueryError(field, "超出可查询的时间范围（2000 年至 2199 年）")
    if end_ms <= start_ms:
        raise ReportQueryError("end", "结束时间必须晚于开始时间")
    if end_ms - start_ms > MAX_DAYS * DAY_MS:
        raise ReportQueryError("end", f"时间范围最长 {MAX_DAYS} 天")
    return start_ms, end_ms


def parse_reasons(value: str | None) -> tuple[str, ...] | None:
    """`a,b` → the reasons (ReportQueryError naming an unknown one); None: every reason."""
    if not value:
        return None
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    unknown = [n for n in names if n not in REASONS]
    if unknown or not names:
        raise ReportQueryError("reason", "未知的原因：" + "、".join(unknown[:3]))
    return names


@router.get("/v1/inbox")
async def get_inbox(
    caller: Caller,
    rt: RuntimeDep,
    archive: ArchiveDep,
    response: Response,
    reason: Annotated[
        str | None, Query(max_length=200, description="comma-separated: " + ",".join(REASONS))
    ] = None,
    q: Annotated[str | None, Query(max_length=100, description="text search")] = None,
    status: Annotated[
        str | None, Query(pattern=STATUS_PATTERN, description=", ".join(STATUSES))
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    start: Annotated[
        str | None, Query(pattern=TIME_PATTERN, description="YYYY-MM-DD (China time) or ms")
    ] = None,
    end: Annotated[
        str | None,
        Query(pattern=TIME_PATTERN, description="YYYY-MM-DD (that day included) or ms (excluded)"),
    ] = None,
) -> list[dict[str, Any]]:
    """Groups of near-duplicate customer turns the assistant may have misread, most useful
    first: their placeholdered masked text, reasons, score, the predicted intent and up to five
    examples. Analyst or admin; recorded in the access audit (the examples' conversations)."""
    caller.require(*READERS)
    try:
        start_ms, end_ms = inbox_window(rt.engine.clock(), start, end)
        reasons = parse_reasons(reason)
    except ReportQueryError as exc:
        raise _invalid(exc.field, exc.message) from None
    try:
        query = inbox.InboxQuery(
            start_ms=start_ms,
            end_ms=end_ms,
            reasons=reasons,
            search=(q or "").strip() or None,
            status=status,
            limit=limit,
            offset=offset,
        )
    except inbox.InboxQueryError as exc:
        raise _invalid(exc.field, exc.message) from None
    groups = [g.to_dict() for g in await archive.read(inbox.inbox, query)]
    await rt.audit.read(
        caller, audit.INBOX, rt.engine.clock(), conversations=_conversations(groups)
    )
    response.headers["Cache-Control"] = "no-store"
    found: list[dict[str, Any]] = groups
    return found


# -- annotations --------------------------------------------------------------------------------


class EntityIn(BaseModel):
    """An entity of the item's text besides its placeholders (which are entities already): a
    span of the text (character offsets) and the entity's name."""

    model_config = ConfigDict(extra="forbid")
    entity: Annotated[str, StringConstraints(pattern=ENTITY)]
    start: Annotated[int, Field(ge=0, le=10_000)]
    end: Annotated[int, Field(ge=1, le=10_000)]


class AnnotationIn(BaseModel):
    """One decision on an inbox group (its key): confirm the predicted intent or correct it
    (`intent`, with entities if any), none of the intents, or a new intent (`new_intent`)."""

    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, StringConstraints(pattern=KEY)]
    decision: Literal["confirm", "correct", "none", "new_intent"]
    intent: Annotated[str, StringConstraints(max_length=64)] | None = None
    new_intent: Annotated[str, StringConstraints(pattern=NEW_INTENT)] | None = None
    entities: Annotated[list[EntityIn], Field(max_length=20)] = []


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, StringConstraints(pattern=KEY)]
    intent: Annotated[str, StringConstraints(max_length=64)]


async def _decide(writer: Writer, change: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """An annotation change, its refusals mapped: 422 naming the field, 404, 409."""
    try:
        return await writer.write(change, *args, **kwargs)
    except ann.AnnotationError as exc:
        raise _invalid(exc.field, exc.message, where="body") from None
    except ann.NoSuchItem:
        raise errors.NoSuchItem() from None
    except ann.AnnotationConflict as exc:
        raise errors.AnnotationConflict(exc.code) from None


@router.get("/v1/annotations/next")
async def next_items(
    caller: Caller,
    rt: RuntimeDep,
    writer: WriterDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[dict[str, Any]]:
    """The items this analyst has yet to annotate (the last week's inbox queued first): those
    sampled for double annotation until two different analysts did them, the others until one
    did. Without the other analysts' decisions (each annotates blind). The analyst only;
    recorded in the access audit."""
    analyst_id = _analyst(caller)
    now = rt.engine.clock()
    found = await writer.write(ann.next_items, analyst_id, limit, now)
    await rt.audit.read(caller, audit.ANNOTATION_ITEMS, now)
    response.headers["Cache-Control"] = "no-store"
    return [{k: v for k, v in item.items() if k != "annotations"} for item in found]


@router.post("/v1/annotations", status_code=201)
async def post_annotation(
    body: AnnotationIn, caller: Caller, rt: RuntimeDep, writer: WriterDep
) -> dict[str, Any]:
    """Record one decision (a new row: who, when, what) and answer it with the item's status
    after it. The analyst only; 404 no_such_item, 409 exported, 422 naming the field."""
    analyst_id = _analyst(caller)
    found: dict[str, Any] = await _decide(
        writer,
        ann.record,
        body.key,
        analyst_id,
        body.decision,
        intent=body.intent,
        new_intent=body.new_intent,
        entities=[e.model_dump() for e in body.entities],
        now_ms=rt.engine.clock(),
    )
    return found


@router.get("/v1/annotations/agreement")
async def get_agreement(caller: Caller, archive: ArchiveDep) -> dict[str, Any]:
    """Cohen's kappa over the sampled items two analysts annotated: {kappa (null while
    undefined), items, agreed}. Analyst or admin."""
    caller.require(*READERS)
    found: dict[str, Any] = await archive.read(ann.agreement)
    return found


@router.get("/v1/annotations/disagreements")
async def get_disagreements(
    caller: Caller, rt: RuntimeDep, archive: ArchiveDep, response: Response
) -> list[dict[str, Any]]:
    """The double-annotated items whose two analysts disagree and that nobody settled yet, with
    each analyst's decision. Analyst or admin; recorded in the access audit."""
    caller.require(*READERS)
    found: list[dict[str, Any]] = await archive.read(ann.disagreements)
    await rt.audit.read(caller, audit.ANNOTATION_ITEMS, rt.engine.clock())
    response.headers["Cache-Control"] = "no-store"
    return found


@router.post("/v1/annotations/settle")
async def post_settle(
    body: SettleIn, caller: Caller, rt: RuntimeDep, writer: WriterDep
) -> dict[str, Any]:
    """Settle a disagreement with the intent that holds (a row of its own: who, when). The
    analyst only; 404 no_such_item, 409 not_disputed, 422 naming the field."""
    analyst_id = _analyst(caller)
    found: dict[str, Any] = await _decide(
        writer, ann.settle, body.key, analyst_id, body.intent, rt.engine.clock()
    )
    return found


def export(conn: sa.Connection, out_dir: Path | None, now: datetime, by: str) -> dict[str, Any]:
    """archive.annotations.export_batch, and how many annotations its file holds as examples."""
    path = ann.export_batch(conn, out_dir, now, by=by)
    if path is None:
        return {"file": None, "count": 0}
    a = Annotation.__table__
    count = conn.execute(
        sa.select(sa.func.count()).where(a.c.batch == path.name, a.c.decision == "export")
    ).scalar_one()
    return {"file": str(path), "count": int(count)}


@router.post("/v1/annotations/export")
async def post_export(caller: Caller, rt: RuntimeDep, writer: WriterDep) -> dict[str, Any]:
    """Write the accepted annotations not exported yet as one Rasa NLU batch file
    (nlu_data/annotated/, or Settings.annotations_dir; reviewed and committed like any training
    data, never into eval/) and mark them exported: {file, count}; {file: null, count: 0} when
    there is nothing to export. Analyst or admin."""
    caller.require(*READERS)
    now = datetime.fromtimestamp(rt.engine.clock() / 1000, tz=UTC)
    found: dict[str, Any] = await _decide(
        writer, export, rt.settings.annotations_dir, now, audit.actor_of(caller)
    )
    return found
