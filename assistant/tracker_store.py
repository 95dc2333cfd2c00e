"""The assistant's tracker stores: durable and shared (SQL), or in memory with idle expiry.

endpoints files name one of them (Rasa's extension point for tracker stores):

    tracker_store:                                     # durable, shared by every instance
      type: assistant.tracker_store.DurableTrackerStore  # (or IdleExpiringTrackerStore)
      url: ${ASSISTANT_TRACKER_STORE_URL}              # an SQLAlchemy URL, from the environment

`DurableTrackerStore` is Rasa's own `SQLTrackerStore` (its schema: one `events` table, one row
per event; its save and retrieval) on an SQLAlchemy URL: `sqlite:////abs/path.sqlite3` (WAL
journal and a busy timeout, so several Rasa processes share one file; the file is created mode
0600) or `postgresql://user@host:port/db`. Conversations whose newest event is older than
ASSISTANT_TRACKER_RETENTION_S (default 24 h) are deleted: at most once a minute from `save`
(at most `AUTO_PURGE_LIMIT` conversations at a time), and all at once by

    .venv-bot/bin/python -m assistant.tracker_store purge    # prints how many went

(reads ASSISTANT_TRACKER_STORE_URL and ASSISTANT_TRACKER_RETENTION_S; run it daily, e.g. from
cron). Two indexes Rasa's schema lacks keep the purge and each conversation's read cheap.

`IdleExpiringTrackerStore` (one process, when no URL is given) is Rasa's `InMemoryTrackerStore`
with the same retention: a conversation not saved for `retention_s` seconds is dropped.

With the fast path `kept_replays` installed (assistant.fastpaths), both carry each
conversation's dialogue replays from one turn to the next, as a cache checked against what the
store reads back (`assistant.fastpaths.kept_replays`). Both answer `recorded_replies`: the bot
replies recorded after a customer message, by its message id (the gateway channel's retried
turns, `assistant.gateway_channel`).
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import (
    InMemoryTrackerStore,
    SQLTrackerStore,
    TrackerStore,
    create_engine_kwargs,
)
from rasa.shared.core.trackers import DialogueStateTracker

from assistant import fastpaths
from assistant.fastpaths.kept_replays import KeptReplays, carry_over, events_version

__all__ = [
    "DEFAULT_RETENTION_S",
    "DurableTrackerStore",
    "IdleExpiringTrackerStore",
    "create_engine",
    "replies_after",
    "retention_from_env",
]

DEFAULT_RETENTION_S = 24 * 3600.0
PURGE_INTERVAL_S = 60.0  # save() purges at most this often
AUTO_PURGE_LIMIT = 1000  # conversations one purge from save() deletes at most
SQLITE_BUSY_TIMEOUT_S = 15.0  # a writer waits this long for another process's write
URL_VARIABLE = "ASSISTANT_TRACKER_STORE_URL"

# Indexes Rasa's schema lacks (it has one on sender_id): a conversation's events by time (its
# latest session, the purge's "anything newer?"), and every event by time (the purge's
# candidates). CREATE INDEX IF NOT EXISTS: SQLite and PostgreSQL (9.5+).
INDEXES = {
    "ix_events_sender_id_timestamp": "sender_id, timestamp",
    "ix_events_timestamp": "timestamp",
}


def retention_from_env(env: Mapping[str, str]) -> float:
    """ASSISTANT_TRACKER_RETENTION_S: seconds (> 0) a conversation may stay idle; default 24 h."""
    raw = (env.get("ASSISTANT_TRACKER_RETENTION_S") or "").strip()
    if not raw:
        return DEFAULT_RETENTION_S
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"ASSISTANT_TRACKER_RETENTION_S must be a positive number, not {raw!r}")
    return value


def _keeps_replays(keep_replays: bool | None) -> KeptReplays | None:
    if keep_replays is None:
        keep_replays = "kept_replays" in fastpaths.installed()
    return KeptReplays() if keep_replays else None


def replies_after(
    events: Iterable[Mapping[str, Any]], message_id: str
) -> list[dict[str, Any]] | None:
    """The bot events (as dicts, Rasa's `Event.as_dict`) recorded after the customer message
    `message_id` and before the next one; None when no customer message has that id."""
    replies: list[dict[str, Any]] | None = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if replies is not None:
                break
            if event.get("message_id") == message_id:
                replies = []
        elif kind == "bot" and replies is not None:
            replies.append(dict(event))
    return replies


class IdleExpiringTrackerStore(InMemoryTrackerStore):
    """`InMemoryTrackerStore` that drops conversations idle for longer than `retention_s`.

    Expired conversations are looked for on every save, retrieval and listing, oldest first, so
    the work is proportional to what is dropped. `keep_replays`: carry dialogue replays between
    turns; by default when the fast path `kept_replays` is installed in this process."""

    def __init__(
        self,
        domain: Any,
        event_broker: Any = None,
        retention_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        keep_replays: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, event_broker, **kwargs)
        self.retention_s = retention_from_env(os.environ) if retention_s is None else retention_s
        self.clock = clock
        self.last_saved: OrderedDict[str, float] = OrderedDict()  # oldest save first
        self.replays = _keeps_replays(keep_replays)

    def drop_idle(self) -> list[str]:
        """Drops every conversation not saved within the retention; returns their ids."""
        cutoff = self.clock() - self.retention_s
        dropped = []
        while self.last_saved:
            sender_id, saved_at = next(iter(self.last_saved.items()))
            if saved_at > cutoff:
                break
            del self.last_saved[sender_id]
            self.store.pop(sender_id, None)
            if self.replays is not None:
                self.replays.forget(sender_id)
            dropped.append(sender_id)
        return dropped

    async def save(self, tracker: Any) -> None:
        self.drop_idle()
        await super().save(tracker)
        if self.replays is not None:
            self.replays.keep(tracker, self.store[tracker.sender_id])
        self.last_saved.pop(tracker.sender_id, None)
        self.last_saved[tracker.sender_id] = self.clock()

    async def _retrieve(self, sender_id: str, fetch_all_sessions: bool) -> Any:
        self.drop_idle()
        if self.replays is None:
            return await super()._retrieve(sender_id, fetch_all_sessions)
        entry = self.replays.take(sender_id)
        tracker = await super()._retrieve(sender_id, fetch_all_sessions)
        carry_over(entry, self.store.get(sender_id), tracker)
        return tracker

    async def keys(self) -> Iterable[str]:
        self.drop_idle()
        return await super().keys()

    async def exists(self, conversation_id: str) -> bool:
        """Without reading the tracker (which would take its kept replays)."""
        self.drop_idle()
        return conversation_id in self.store

    async def recorded_replies(
        self, sender_id: str, message_id: str
    ) -> list[dict[str, Any]] | None:
        """`replies_after` on the conversation's saved text, read only when it holds the id."""
        self.drop_idle()
        text = self.store.get(sender_id)
        if text is None or message_id not in text:
            return None
        return replies_after(json.loads(text)["events"], message_id)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Every SQLite connection: the WAL journal (readers never wait for the writer; one file
    shared by several processes) with its usual synchronous level (a commit survives a killed
    process; the last ones may be lost only with the machine)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str) -> sa.engine.Engine:
    """The engine of a tracker store URL: an SQLite file (created mode 0600 if missing, shared by
    several processes: WAL, a busy timeout, kept connections) or PostgreSQL (Rasa's pool
    settings, POSTGRESQL_POOL_SIZE / POSTGRESQL_MAX_OVERFLOW / POSTGRESQL_SCHEMA)."""
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError(
                f"{URL_VARIABLE}: an SQLite URL needs a file, e.g. sqlite:////abs/path"
            )
        path = pathlib.Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT, 0o600))  # customers' words: owner only
        engine = sa.create_engine(
            parsed,
            poolclass=sa.pool.QueuePool,  # SQLAlchemy 1.4 would open a connection per session
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        return sa.create_engine(parsed, **create_engine_kwargs(parsed))
    raise ValueError(f"{URL_VARIABLE}: an sqlite:// or postgresql:// URL, not {backend}://")


def _create_schema(engine: sa.engine.Engine, attempts: int = 5) -> None:
    """Rasa's table and `INDEXES`. Several processes starting at once may race to create them:
    the loser tries again and finds them there."""
    for attempt in range(attempts):
        try:
            SQLTrackerStore.Base.metadata.create_all(engine)
            with engine.begin() as connection:
                for name, columns in INDEXES.items():
                    connection.execute(
                        sa.text(f"CREATE INDEX IF NOT EXISTS {name} ON events ({columns})")
                    )
            return
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
            if attempt == attempts - 1:
                raise
            time.sleep(1.0)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class DurableTrackerStore(SQLTrackerStore):
    """Rasa's `SQLTrackerStore` on one SQLAlchemy `url` (endpoints `url:`, which Rasa passes as
    `host`), with retention, indexes, kept replays and `recorded_replies`. See the module.

    `retention_s`: ASSISTANT_TRACKER_RETENTION_S when None. `clock`: seconds since the epoch,
    as event timestamps are. `keep_replays`: as `IdleExpiringTrackerStore`'s."""

    def __init__(
        self,
        domain: Any = None,
        host: str | None = None,
        event_broker: Any = None,
        url: str | None = None,
        retention_s: float | None = None,
        clock: Callable[[], float] = time.time,
        keep_replays: bool | None = None,
        **kwargs: Any,
    ) -> None:
        url = url or host
        if not url:
            raise ValueError(f"DurableTrackerStore needs a url ({URL_VARIABLE})")
        # Rasa's SQLTrackerStore.__init__ builds its engine from parts and without SQLite's
        # settings: its attributes are set here instead, the rest is Rasa's.
        TrackerStore.__init__(self, domain, event_broker, **kwargs)
        self.engine = create_engine(url)
        _create_schema(self.engine)
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        self.retention_s = retention_from_env(os.environ) if retention_s is None else retention_s
        self.clock = clock
        self.last_purge = float("-inf")
        self.replays = _keeps_replays(keep_replays)

    async def save(self, tracker: Any) -> None:
        now = self.clock()
        if now - self.last_purge >= PURGE_INTERVAL_S:
            self.last_purge = now
            self.purge(limit=AUTO_PURGE_LIMIT)
        await super().save(tracker)
        if self.replays is not None:
            self.replays.keep(tracker, events_version(tracker.events))

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
        """Rasa's `_retrieve` reading only the events' text with Rasa's query: SQLAlchemy makes
        no object per row (about 40 % of a read), the tracker is rebuilt as Rasa rebuilds it."""
        entry = self.replays.take(sender_id) if self.replays is not None else None
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions)
            rows = query.with_entities(self.SQLEvent.data).all()
        if not rows:
            return None
        events = [json.loads(data) for (data,) in rows]
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if entry is not None:
            carry_over(entry, events_version(tracker.events), tracker)
        return tracker

    async def exists(self, conversation_id: str) -> bool:
        """Without reading the tracker (which would take its kept replays)."""
        event = self.SQLEvent
        with self.session_scope() as session:
            found = session.query(event.id).filter(event.sender_id == conversation_id).first()
            return found is not None

    async def recorded_replies(
        self, sender_id: str, message_id: str
    ) -> list[dict[str, Any]] | None:
        """`replies_after` on the conversation's events: the customer message is looked for
        among its rows whose text contains the id, then only what follows it is read."""
        event = self.SQLEvent
        with self.session_scope() as session:
            candidates = session.query(event.id, event.data).filter(
                event.sender_id == sender_id,
                event.type_name == "user",
                event.data.like(_like_pattern(message_id), escape="\\"),
            )
            first = min(
                (
                    row_id
                    for row_id, data in candidates
                    if json.loads(data).get("message_id") == message_id
                ),
                default=None,
            )
            if first is None:
                return None
            rows = (
                session.query(event.data)
                .filter(event.sender_id == sender_id, event.id >= first)
                .filter(event.type_name.in_(("user", "bot")))
                .order_by(event.id)
            )
            return replies_after((json.loads(data) for (data,) in rows), message_id)

    def purge(self, limit: int | None = None) -> int:
        """Deletes the conversations whose newest event is older than the retention (at most
        `limit`); returns how many went. A conversation that gets an event meanwhile stays."""
        cutoff = self.clock() - self.retention_s
        events = self.SQLEvent.__table__
        newer = events.alias("newer")
        nothing_newer = ~(
            sa.exists().where(newer.c.sender_id == events.c.sender_id, newer.c.timestamp >= cutoff)
        )
        # no DISTINCT: SQLite would then scan every conversation's index instead of the old rows
        stale = sa.select(events.c.sender_id).where(events.c.timestamp < cutoff, nothing_newer)
        found: dict[str, None] = {}  # in the order found, once each
        with self.engine.connect() as connection:
            result = connection.execution_options(stream_results=True).execute(stale)
            for (sender,) in result:
                found[sender] = None
                if limit is not None and len(found) >= limit:
                    break
            result.close()
        senders = list(found)
        purged = 0
        for start in range(0, len(senders), 500):
            batch = senders[start : start + 500]
            with self.engine.begin() as connection:
                connection.execute(
                    events.delete().where(events.c.sender_id.in_(batch), nothing_newer)
                )
                left = connection.execute(
                    sa.select(sa.func.count(sa.distinct(events.c.sender_id))).where(
                        events.c.sender_id.in_(batch)
                    )
                ).scalar_one()
            purged += len(batch) - left
        return purged


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """`python -m assistant.tracker_store purge`: deletes what the retention says has expired."""
    argv = sys.argv[1:] if argv is None else list(argv)
    env = os.environ if env is None else env
    if argv != ["purge"]:
        print("usage: python -m assistant.tracker_store purge", file=sys.stderr)
        return 2
    url = env.get(URL_VARIABLE, "").strip()
    if not url:
        print(f"{URL_VARIABLE} is not set: nothing durable to purge", file=sys.stderr)
        return 2
    store = DurableTrackerStore(url=url, retention_s=retention_from_env(env), keep_replays=False)
    try:
        purged = store.purge()
    finally:
        store.engine.dispose()
    print(f"purged {purged} conversations idle longer than {store.retention_s:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
