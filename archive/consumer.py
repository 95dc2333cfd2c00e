"""The archive's ingest: the router's stream `events` and the gateway's feed `gw:archive`, read
with Redis consumer groups (group "archive"), written to SQL.

Exactly once: a batch (at most batch_size entries of each stream) is written in one transaction;
rows keyed by the entry (handoff events, agent states, ticket steps) or by (conversation, seq)
(messages, turns) are inserted with ON CONFLICT DO NOTHING, and only the entries whose row was
new are folded into the summary rows (handoffs, conversations: archive/fold.py). The entries are
acknowledged (XACK) only after the commit, so a consumer killed mid-batch leaves them pending;
on start it re-reads its own pending entries first, and takes over those of a consumer that died
(idle longer than claim_idle_ms). Run one consumer process per archive.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from archive import fold, repeats, rollup, schema
from archive.db import engine_for
from archive.settings import ArchiveSettings
from router.keys import ARCHIVE_GROUP, Keys

log = logging.getLogger(__name__)

Entry = tuple[str, dict[str, str]]
IDLE_END_MS = 3_600_000  # a conversation silent this long without an end ended by timeout


@dataclass
class BatchResult:
    events: int = 0
    feed: int = 0
    new_rows: int = 0

    def summary(self) -> str:
        return f"events={self.events} feed={self.feed} new_rows={self.new_rows}"


def insert_for(conn: sa.Connection, table: sa.Table) -> Any:
    """INSERT with the dialect's ON CONFLICT clauses (SQLite or PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_new(conn: sa.Connection, table: sa.Table, rows: list[fold.Row]) -> set[tuple[Any, ...]]:
    """Insert `rows`, skipping those whose primary key exists; the keys of those inserted."""
    if not rows:
        return set()
    pk = list(table.primary_key.columns)
    statement = insert_for(conn, table).on_conflict_do_nothing().returning(*pk)
    return {tuple(r) for r in conn.execute(statement, rows)}


def upsert(conn: sa.Connection, table: sa.Table, rows: list[fold.Row]) -> None:
    """Insert `rows` or overwrite every column given of the existing ones."""
    if not rows:
        return
    statement = insert_for(conn, table)
    keys = {c.name for c in table.primary_key.columns}
    columns = [name for name in rows[0] if name not in keys]
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in columns}
    )
    conn.execute(statement, rows)


def load(conn: sa.Connection, table: sa.Table, ids: Iterable[str]) -> dict[str, fold.Row]:
    """The rows of `table` (primary key `id`) with these ids; locked on PostgreSQL."""
    wanted = sorted(set(ids))
    found: dict[str, fold.Row] = {}
    for start in range(0, len(wanted), 500):
        query = sa.select(table).where(table.c.id.in_(wanted[start : start + 500]))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        for row in conn.execute(query).mappings():
            found[row["id"]] = dict(row)
    return found


T = schema.Base.metadata.tables


def apply_batch(
    conn: sa.Connection, events: list[Entry], feed: list[Entry], key: str
) -> BatchResult:
    """Write one batch in the caller's transaction: `events` (stream `events`), `feed`
    (stream gw:archive), in stream order each; `key` makes the customers' pseudonyms."""
    result = BatchResult(events=len(events), feed=len(feed))
    # -- rows keyed by their entry: which are new ---------------------------------------------
    handoff_rows = [fold.handoff_event_row(i, f) for i, f in events if f.get("handoff")]
    new_events = {k[0] for k in insert_new(conn, T["handoff_events"], handoff_rows)}
    states = [r for i, f in events if (r := fold.agent_state_row(i, f)) is not None]
    result.new_rows += len(insert_new(conn, T["agent_states"], states)) + len(new_events)
    messages = [fold.message_row(f) for _, f in feed if f.get("kind") == "message"]
    new_messages = insert_new(conn, T["messages"], messages)
    turns = {
        (f["conversation"], f["seq"]): fold.turn_row(f)
        for _, f in feed
        if f.get("kind") == "reading"
    }
    new_turns = insert_new(conn, T["turns"], list(turns.values()))
    tickets = [r for _, f in feed if f.get("kind") == "ticket" and (r := fold.ticket_row(f))]
    insert_new(conn, T["tickets"], tickets)
    steps = [
        r for i, f in feed if f.get("kind") == "ticket_step" and (r := fold.ticket_step_row(i, f))
    ]
    new_steps = insert_new(conn, T["ticket_steps"], steps)
    result.new_rows += len(new_messages) + len(new_turns) + len(new_steps)

    # -- agents: the latest state an event gives ----------------------------------------------
    agents: dict[str, fold.Row] = {}
    for _, f in events:
        change = fold.agent_change(f)
        if change is not None:
            agents.setdefault(change["id"], {"id": change["id"]}).update(
                {k: v for k, v in change.items() if v is not None or k == "deleted_ms"}
            )
    for row in agents.values():  # one statement per shape of row
        upsert(conn, T["agents"], [row])

    # -- handoffs: fold the new events into their rows ------------------------------------------
    fresh = [(i, f) for i, f in events if f.get("handoff") and i in new_events]
    handoffs = load(conn, T["handoffs"], (f["handoff"] for _, f in fresh))
    # the quarter hours whose rollup rows this batch changes (old times too: a start can move)
    dirty = {h["created_ms"] for h in handoffs.values() if h["created_ms"] is not None}
    created_in: dict[str, int] = {}
    for _, f in fresh:
        row = handoffs.setdefault(f["handoff"], fold.new_handoff(f["handoff"]))
        fold.fold_handoff(row, f)
        if f.get("type") == "created" and row["conversation_id"]:
            conversation = row["conversation_id"]
            created_in[conversation] = created_in.get(conversation, 0) + 1

    # -- conversations: fold the new messages, turns and the facts -----------------------------
    # a ticket step changes no conversation (its rollup rows: the tickets' buckets below)
    touched = {
        f["conversation"]
        for _, f in feed
        if f.get("conversation") and f.get("kind") != "ticket_step"
    }
    touched |= set(created_in)
    touched |= {r["conversation_id"] for r in handoffs.values() if r["conversation_id"]}
    conversations = load(conn, T["conversations"], touched)
    before = {cid: (repeats.group_of(row), row["started_ms"]) for cid, row in conversations.items()}
    dirty |= {row["started_ms"] for row in conversations.values()}

    def row_of(conversation_id: str, ts: int) -> fold.Row:
        found = conversations.get(conversation_id)
        if found is None:
            found = conversations[conversation_id] = fold.new_conversation(conversation_id, ts)
        return found

    changed: set[str] = set()
    for _, f in feed:
        conversation_id = f.get("conversation")
        if not conversation_id or f.get("kind") == "ticket_step":
            continue
        ts = fold.integer(f.get("ts")) or 0
        kind = f.get("kind")
        row = row_of(conversation_id, ts)
        if kind == "message":
            if (conversation_id, f.get("seq")) in new_messages:
                fold.fold_message(row, f, key)
                changed.add(conversation_id)
        elif kind == "reading":
            if (conversation_id, f.get("seq")) in new_turns:
                fold.fold_turn(row, turns[(conversation_id, f["seq"])], f, key)
                changed.add(conversation_id)
        elif kind in ("rating", "comment", "disposition", "ended"):
            fold.fold_fact(row, f)
            changed.add(conversation_id)
        elif kind == "ticket":
            fold.touch(row, ts)
            changed.add(conversation_id)
    for conversation_id, count in created_in.items():
        first = min(
            (
                h["created_ms"] or 0
                for h in handoffs.values()
                if h["conversation_id"] == conversation_id
            ),
            default=0,
        )
        row = row_of(conversation_id, first)
        row["handoffs"] += count
        changed.add(conversation_id)
    # a handoff is its conversation's customer's
    for handoff in handoffs.values():
        conversation = conversations.get(handoff["conversation_id"] or "")
        if conversation is not None and conversation["customer_ref"]:
            handoff["customer_ref"] = conversation["customer_ref"]
    # repeat contacts: relink the groups a conversation joined or left (after the upsert, so the
    # relink sees every row of the batch)
    regroup = repeats.changed_groups(before, {cid: conversations[cid] for cid in changed})
    for cid in changed:
        if repeats.group_of(conversations[cid]) is None:
            conversations[cid]["next_same_intent_ms"] = None
    upsert(conn, T["conversations"], [conversations[c] for c in sorted(changed)])
    upsert(conn, T["handoffs"], [handoffs[h] for h in sorted(handoffs)])
    dirty |= set(repeats.relink(conn, regroup))
    dirty |= rollup.buckets_of(conn, touched) | rollup.handoff_buckets(conn, handoffs)
    dirty |= rollup.ticket_buckets(conn, {r["ticket_id"] for r in steps if (r["id"],) in new_steps})
    rollup.refresh(conn, dirty)
    return result


def end_idle(conn: sa.Connection, now_ms: int, idle_ms: int = IDLE_END_MS) -> int:
    """Conversations silent for `idle_ms` that nobody ended: ended by timeout at their last
    message. Returns how many."""
    table = T["conversations"]
    idle = (table.c.ended_by.is_(None), table.c.last_ms < now_ms - idle_ms)
    starts = list(conn.scalars(sa.select(table.c.started_ms).where(*idle)))
    done = conn.execute(
        sa.update(table).where(*idle).values(ended_by="timeout", ended_ms=table.c.last_ms)
    )
    rollup.refresh(conn, starts)
    return int(done.rowcount or 0)


def pause_s(entries: int, batch_size: int, elapsed_ms: int, interval_ms: int) -> float:
    """How long to wait before reading again after a batch of `entries` that took `elapsed_ms`:
    a full batch (a backlog) goes on at once; a partial one (live traffic trickling in) waits
    until `interval_ms` has passed since it began, so that the entries of that time are written
    in one transaction (each costs the rollups' refresh) instead of one per turn."""
    if entries == 0 or entries >= batch_size:
        return 0.0
    return max(0, interval_ms - elapsed_ms) / 1000


@dataclass
class Consumer:
    """One consumer of the group "archive" on both streams."""

    redis: redis.Redis
    engine: sa.Engine
    keys: Keys
    key: str  # the pseudonym key
    name: str = "archive-1"
    batch_size: int = 500
    block_ms: int = 2_000
    claim_idle_ms: int = 60_000
    min_batch_interval_ms: int = 1_000
    clock: Callable[[], int] = field(default=lambda: time.time_ns() // 1_000_000)

    def __post_init__(self) -> None:
        self.streams = (self.keys.events(), self.keys.archive())

    def ensure_groups(self) -> None:
        """The group on each stream, from its first entry (created with the stream if need be)."""
        for stream in self.streams:
            try:
                self.redis.xgroup_create(stream, ARCHIVE_GROUP, id="0", mkstream=True)
            except redis.ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise

    def _read(self, start: str, block: int | None) -> dict[str, list[Entry]]:
        reply: Any = self.redis.xreadgroup(
            ARCHIVE_GROUP,
            self.name,
            {stream: start for stream in self.streams},
            count=self.batch_size,
            block=block,
        )
        found: dict[str, list[Entry]] = {stream: [] for stream in self.streams}
        for stream, entries in reply or []:
            # an entry trimmed since it was read has no fields: acknowledged, nothing written
            found[str(stream)] = [(str(i), dict(f) if f else {}) for i, f in entries]
        return found

    def _claim(self) -> None:
        """Entries another consumer read and never acknowledged (it died): now ours."""
        for stream in self.streams:
            start = "0-0"
            while True:
                reply: Any = self.redis.xautoclaim(
                    stream, ARCHIVE_GROUP, self.name, self.claim_idle_ms, start, count=1000
                )
                start = str(reply[0])
                if start == "0-0":
                    break

    def write(self, batch: dict[str, list[Entry]]) -> BatchResult:
        """One transaction, then XACK."""
        events, feed = batch[self.streams[0]], batch[self.streams[1]]
        with self.engine.begin() as conn:
            result = apply_batch(conn, events, feed, self.key)
        pipe = self.redis.pipeline(transaction=False)
        for stream, entries in batch.items():
            if entries:
                pipe.xack(stream, ARCHIVE_GROUP, *[i for i, _ in entries])
        # a reading that carries the number verified in its turn: kept in Redis no longer than
        # it takes to archive its pseudonym
        verified = [i for i, f in feed if f.get("customer")]
        if verified:
            pipe.xdel(self.streams[1], *verified)
        pipe.execute()
        return result

    def drain_pending(self) -> int:
        """Re-read and write our pending entries (read before a crash, never acknowledged)."""
        self._claim()
        total = 0
        while True:
            batch = self._read("0", None)
            n = sum(len(v) for v in batch.values())
            if n == 0:
                return total
            self.write(batch)
            total += n

    def step(self, block: int | None = None) -> int:
        """Read and write one batch of new entries; how many entries it had."""
        batch = self._read(">", block)
        n = sum(len(v) for v in batch.values())
        if n:
            self.write(batch)
        return n

    def run(self, stop: Callable[[], bool], once: bool = False) -> int:
        """Until `stop()` (or, `once`, until nothing is left); entries written."""
        self.ensure_groups()
        total = self.drain_pending()
        last_sweep = 0
        while not stop():
            began = self.clock()
            n = self.step(None if once else self.block_ms)
            total += n
            now = self.clock()
            if not once:
                time.sleep(pause_s(n, self.batch_size, now - began, self.min_batch_interval_ms))
                now = self.clock()
            if now - last_sweep > 60_000:
                with self.engine.begin() as conn:
                    end_idle(conn, now)
                last_sweep = now
            if once and n == 0:
                break
        return total


def consumer_for(settings: ArchiveSettings) -> Consumer:
    assert settings.redis_url is not None
    client = redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    return Consumer(
        redis=client,
        engine=engine_for(settings.url()),
        keys=Keys(settings.key_prefix),
        key=settings.checked_pseudonym_key(),
        name=settings.consumer_name,
        batch_size=settings.batch_size,
        block_ms=settings.block_ms,
        claim_idle_ms=settings.claim_idle_ms,
        min_batch_interval_ms=settings.min_batch_interval_ms,
    )


def run_forever(settings: ArchiveSettings, once: bool = False) -> None:
    """`python -m archive consume`: until SIGTERM or SIGINT."""
    consumer = consumer_for(settings)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("archive.consumer.started name=%s", consumer.name)
    total = consumer.run(lambda: stopping, once=once)
    log.info("archive.consumer.stopped entries=%d", total)
    consumer.engine.dispose()


def run_backfill(settings: ArchiveSettings) -> Any:
    from archive.backfill import backfill

    consumer = consumer_for(settings)
    try:
        return backfill(consumer.redis, consumer.engine, consumer.keys, consumer.key)
    finally:
        consumer.engine.dispose()
