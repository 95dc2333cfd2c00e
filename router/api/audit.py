"""The access audit (admin): who read which conversation or customer record, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from router import audit
from router.api.deps import Caller, RuntimeDep
from router.auth import Role
from router.models import AuditEntry

router = APIRouter(tags=["admin"])


@router.get("/v1/audit", response_model=list[AuditEntry])
async def get_audit(
    caller: Caller,
    rt: RuntimeDep,
    actor: Annotated[str | None, Query(pattern=r"^[a-z]{1,16}(:[A-Za-z0-9_.-]{1,64})?$")] = None,
    conversation: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntry]:
    """Reads recorded from `since` on (oldest first), of one actor (admin, service or
    agent:<id>) and/or one conversation. Reading the audit is itself recorded."""
    caller.require(Role.admin)
    now = rt.engine.clock()
    await rt.audit.read(caller, audit.AUDIT, now, conversations=[conversation])
    since_ms = max(0, round(since.timestamp() * 1000)) if since is not None else 0
    return await rt.audit.query(
        actor=actor, conversation=conversation, since_ms=since_ms, limit=limit
    )
