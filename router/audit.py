"""The access audit: who read which conversation or customer record, and when.

Every agent read of a conversation (offers with their transcripts, the conversation view, the
customer messages its event stream delivers, a handoff) and every admin read is one entry of an
append-only Redis stream (router/keys.py `audit`): entries are only ever added (XADD), and
trimmed only by age (MINID, Settings.audit_retention_s). Nothing in the router deletes or
changes one. An entry names the actor (admin, service, agent:<id>, supervisor:<id> or
analyst:<id>), what was read, and the conversation, handoff or agent read — ids only: no customer
text and no customer number. A supervisor's read of an archived transcript, or of the
conversations behind a report's number, and an analyst's read of the inbox or of the items to
annotate, are recorded the same way.

A read that cannot be recorded is not served: the entry is written before the reply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from router.auth import Principal, Role
from router.keys import Keys
from router.models import AuditEntry

# what was read
CONVERSATION = "conversation"  # GET /v1/conversations/{id}: the view with its history
OFFERS = "offers"  # GET /v1/agents/{id}/offers: each offer's handoff, summary and transcript
EVENTS = "events"  # the agent's event stream: opened, then each conversation it delivers
HANDOFF = "handoff"  # GET /v1/handoffs/{id}
AGENT = "agent"  # GET /v1/agents/{id}
QUEUES = "queues"  # GET /v1/queues
AUDIT = "audit"  # GET /v1/audit itself
TRANSCRIPT = "transcript"  # GET /v1/supervisor/conversations/{id}: the archived transcript
DRILLDOWN = "drilldown"  # GET /v1/supervisor/reports/drilldown: conversations behind a number
WALLBOARD = "wallboard"  # GET /v1/supervisor/wallboard and its stream: queues and agents now
# an analyst's (router/analysis/api.py): the masked customer turns behind what it is shown
INBOX = "inbox"  # GET /v1/inbox: grouped customer turns with their examples' conversations
ANNOTATION_ITEMS = "annotation_items"  # GET /v1/annotations/next and /disagreements

FIELDS = ("actor", "action", "conversation", "handoff", "agent")
MAX_SCAN = 10_000  # entries one query reads at most, however few match


def actor_of(caller: Principal) -> str:
    """'admin', 'service', 'agent:<id>', 'supervisor:<id>' or 'analyst:<id>'."""
    if caller.role is Role.agent:
        return f"agent:{caller.agent_id}"
    if caller.role is Role.supervisor:
        return f"supervisor:{caller.supervisor_id}"
    if caller.role is Role.analyst:
        return f"analyst:{caller.analyst_id}"
    return caller.role.value


def entry_fields(
    actor: str,
    action: str,
    *,
    conversation: str | None = None,
    handoff: str | None = None,
    agent: str | None = None,
) -> dict[str, str]:
    """The stream entry of one read (its time is the entry id)."""
    fields = {"actor": actor, "action": action}
    for name, value in (("conversation", conversation), ("handoff", handoff), ("agent", agent)):
        if value:
            fields[name] = value
    return fields


def matches(fields: dict[str, str], actor: str | None, conversation: str | None) -> bool:
    return (actor is None or fields.get("actor") == actor) and (
        conversation is None or fields.get("conversation") == conversation
    )


def to_entry(entry_id: str, fields: dict[str, str]) -> AuditEntry:
    ms = int(entry_id.partition("-")[0])
    return AuditEntry(
        id=entry_id,
        at=datetime.fromtimestamp(ms / 1000, tz=UTC),
        **{name: fields.get(name) for name in FIELDS},
    )


@dataclass
class Audit:
    redis: aioredis.Redis
    keys: Keys
    retention_s: int

    async def record(self, entries: Iterable[dict[str, str]], now_ms: int) -> None:
        """Append the entries (one round trip); trims what is older than the retention."""
        oldest = f"{max(0, now_ms - self.retention_s * 1000)}-0"
        async with self.redis.pipeline(transaction=False) as pipe:
            n = 0
            for fields in entries:
                entry: dict[Any, Any] = dict(fields)
                pipe.xadd(self.keys.audit(), entry, minid=oldest, approximate=True)
                n += 1
            if n:
                await pipe.execute()

    async def read(
        self,
        caller: Principal,
        action: str,
        now_ms: int,
        *,
        conversations: Iterable[str | None] = (None,),
        handoff: str | None = None,
        agent: str | None = None,
    ) -> None:
        """Record that `caller` read (one entry per conversation)."""
        actor = actor_of(caller)
        await self.record(
            (
                entry_fields(actor, action, conversation=c, handoff=handoff, agent=agent)
                for c in conversations
            ),
            now_ms,
        )

    async def query(
        self,
        *,
        actor: str | None = None,
        conversation: str | None = None,
        since_ms: int = 0,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Entries from `since_ms` on, oldest first, that match (reads at most MAX_SCAN)."""
        found: list[AuditEntry] = []
        start = f"{since_ms}-0"
        scanned = 0
        while len(found) < limit and scanned < MAX_SCAN:
            page: Any = await self.redis.xrange(self.keys.audit(), min=start, max="+", count=500)
            if not page:
                break
            for raw_id, raw in page:
                entry_id = str(raw_id)
                fields = {str(k): str(v) for k, v in raw.items()}
                if matches(fields, actor, conversation):
                    found.append(to_entry(entry_id, fields))
                    if len(found) >= limit:
                        break
            scanned += len(page)
            start = "(" + str(page[-1][0])
        return found
