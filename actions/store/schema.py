"""The SQLite schema of the subscriber store (applied by SQLiteStore.initialise)."""

import sqlite3

from actions.store.lifecycle import backfill_lifecycle
from telecom.tickets import STATES

__all__ = [
    "DATA_TABLES",
    "LATE_INDEXES",
    "OUTAGE_WORK",
    "SCHEMA",
    "TICKET_LIFECYCLE",
    "migrate",
    "table_sql",
]

# The ticket lifecycle's columns (telecom.tickets.TicketState; actions/store/lifecycle.py): in the
# tickets table below, and added by `migrate` to a store made before them. Times are UTC ISO text.
TICKET_LIFECYCLE = (
    ("state", "TEXT NOT NULL DEFAULT 'intake' CHECK (state IN ({}))".format(
        ", ".join(f"'{state}'" for state in STATES))),
    ("team", "TEXT NOT NULL DEFAULT 'frontline'"),
    ("assignee", "TEXT"),               # agent:<id> | supervisor:<id>
    ("respond_by", "TEXT"),
    ("resolve_by", "TEXT"),
    ("follow_up_by", "TEXT"),
    ("responded_at", "TEXT"),
    ("resolved_at", "TEXT"),
    ("followed_up_at", "TEXT"),
    ("closed_at", "TEXT"),
    ("reopened_at", "TEXT"),
    ("reopens", "INTEGER NOT NULL DEFAULT 0"),
    ("escalated", "INTEGER NOT NULL DEFAULT 0"),
    ("warned", "TEXT NOT NULL DEFAULT ''"),  # windows escalated for, comma-separated
    ("result", "TEXT"),                 # escaped, numbers masked
    ("remedy", "TEXT"),                 # escaped, numbers masked
    ("rating", "INTEGER CHECK (rating BETWEEN 1 AND 5)"),
)  # fmt: skip

# Who declared, updated and closed an outage through the ticket service, and the result its close
# gave (actions/store/outage_work.py): in the outages table below, added by `migrate` to older
# stores. Generated outages have none.
OUTAGE_WORK = (
    ("declared_by", "TEXT"),  # supervisor:<id> | system …
    ("updated_at", "TEXT"),
    ("closed_by", "TEXT"),
    ("result", "TEXT"),  # escaped
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subscribers (
    phone TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    id_hash TEXT NOT NULL,             -- peppered scrypt of the full ID number (hashing.py)
    id6_hash TEXT NOT NULL,            -- peppered scrypt of its last six characters
    tier TEXT NOT NULL CHECK (tier IN ('regular', 'silver', 'gold', 'platinum')),
    plan_code TEXT NOT NULL,
    balance INTEGER NOT NULL,          -- fen, negative = arrears
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    roaming_active INTEGER NOT NULL DEFAULT 0,
    city TEXT NOT NULL,
    district TEXT NOT NULL,
    password_hash TEXT,                -- scrypt; NULL until a password is (re)set
    password_changed_at TEXT,
    pending_plan_code TEXT,
    pending_effective TEXT
);
CREATE TABLE IF NOT EXISTS bills (
    phone TEXT NOT NULL REFERENCES subscribers(phone),
    month TEXT NOT NULL,
    total INTEGER NOT NULL,
    paid INTEGER NOT NULL,
    PRIMARY KEY (phone, month)
);
CREATE TABLE IF NOT EXISTS bill_items (
    phone TEXT NOT NULL,
    month TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (phone, month, position),
    FOREIGN KEY (phone, month) REFERENCES bills(phone, month)
);
CREATE TABLE IF NOT EXISTS usage_history (
    phone TEXT NOT NULL REFERENCES subscribers(phone),
    month TEXT NOT NULL,
    data_mb INTEGER NOT NULL,
    voice_min INTEGER NOT NULL,
    sms INTEGER NOT NULL,
    PRIMARY KEY (phone, month)
);
CREATE TABLE IF NOT EXISTS packages (
    phone TEXT NOT NULL REFERENCES subscribers(phone),
    position INTEGER NOT NULL,
    month TEXT NOT NULL,               -- the month the counters belong to
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('data', 'voice', 'sms')),
    used INTEGER NOT NULL,
    total INTEGER NOT NULL,
    unit TEXT NOT NULL,
    PRIMARY KEY (phone, position)
);
CREATE TABLE IF NOT EXISTS charges (
    phone TEXT NOT NULL REFERENCES subscribers(phone),
    month TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (phone, month, position)
);
CREATE TABLE IF NOT EXISTS plan_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL REFERENCES subscribers(phone),
    from_plan TEXT NOT NULL,
    to_plan TEXT NOT NULL,
    effective TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'superseded', 'applied'))
);
CREATE INDEX IF NOT EXISTS plan_changes_phone ON plan_changes (phone);
CREATE TABLE IF NOT EXISTS roaming_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL REFERENCES subscribers(phone),
    active INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sms_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,                -- as sent, except a temporary password (redacted)
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sms_outbox_phone ON sms_outbox (phone);
CREATE TABLE IF NOT EXISTS tickets (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,           -- T20261123-000123
    kind TEXT NOT NULL CHECK (kind IN ('complaint', 'fault', 'callback')),
    category TEXT NOT NULL,
    severity TEXT,
    description TEXT NOT NULL,         -- escaped, numbers masked
    customer TEXT NOT NULL,            -- masked phone for display
    phone TEXT,                        -- lookup key; NULL when anonymous
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    extra TEXT NOT NULL,               -- JSON, string values escaped
    @LIFECYCLE@
);
CREATE INDEX IF NOT EXISTS tickets_phone ON tickets (phone);
CREATE TABLE IF NOT EXISTS ticket_events (
    ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,              -- 1, 2, … within the ticket
    step TEXT NOT NULL,                -- open | telecom.tickets.STEPS
    actor TEXT NOT NULL,               -- agent:<id> | supervisor:<id> | system | customer
    team TEXT NOT NULL,                -- the ticket's team after the step
    text TEXT,                         -- escaped, numbers masked
    detail TEXT NOT NULL,              -- JSON: result, remedy, rating, window, state (escaped)
    ts TEXT NOT NULL,
    PRIMARY KEY (ticket_id, seq)
);
CREATE TABLE IF NOT EXISTS outages (
    id TEXT PRIMARY KEY,               -- O20261123-01
    city TEXT NOT NULL,
    district TEXT NOT NULL,
    service TEXT NOT NULL CHECK (service IN ('mobile', 'broadband', 'tv')),
    description TEXT NOT NULL,
    started_at TEXT NOT NULL,
    expected_restore_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    closed_at TEXT,
    @OUTAGE_WORK@
);
CREATE INDEX IF NOT EXISTS outages_area ON outages (district, service, status);
CREATE TABLE IF NOT EXISTS ticket_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- increasing: readers ask for those after one
    kind TEXT NOT NULL CHECK (kind IN ('warning', 'breach', 'page')),
    ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    window_name TEXT NOT NULL DEFAULT '',  -- respond | resolve | follow_up; '' for a page
    round INTEGER NOT NULL DEFAULT 0,  -- the ticket's reopens (service_loop/watch.py)
    team TEXT NOT NULL,
    severity TEXT,
    due TEXT,
    at TEXT NOT NULL,
    text TEXT NOT NULL,                -- Chinese, for supervisors
    UNIQUE (ticket_id, kind, window_name, round)
);
CREATE INDEX IF NOT EXISTS ticket_alerts_at ON ticket_alerts (at);
CREATE TABLE IF NOT EXISTS ticket_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('response', 'result', 'follow_up', 'outage_update',
                                       'outage_closed')),
    round INTEGER NOT NULL DEFAULT 0,  -- the ticket's reopens (a follow-up once per round)
    conversation_id TEXT,              -- where the customer was (the ticket's extra)
    channel TEXT,
    text TEXT NOT NULL,                -- Chinese, customer-facing; never the phone number
    feedback_token TEXT,               -- follow_up only
    created_at TEXT NOT NULL,
    delivered_via TEXT CHECK (delivered_via IN ('conversation', 'sms', 'none')),
    delivered_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS ticket_notices_follow_up
    ON ticket_notices (ticket_id, round) WHERE kind = 'follow_up';
CREATE INDEX IF NOT EXISTS ticket_notices_pending ON ticket_notices (delivered_via, id);
CREATE TABLE IF NOT EXISTS verification_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL,
    success INTEGER NOT NULL,
    at TEXT NOT NULL,
    conversation TEXT,                 -- Rasa sender id; NULL when not known
    client TEXT                        -- the gateway's pseudonymous client key; NULL when none
);
CREATE INDEX IF NOT EXISTS verification_attempts_phone ON verification_attempts (phone, at);
CREATE TABLE IF NOT EXISTS login_nonces (
    nonce TEXT PRIMARY KEY,            -- a signed app login is accepted once: a repeat fails
    conversation TEXT NOT NULL,
    used_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS consents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL,
    notice_version TEXT NOT NULL,      -- which privacy notice the customer was shown
    purpose TEXT NOT NULL,             -- verification
    at TEXT NOT NULL,
    UNIQUE (conversation, notice_version, purpose)
);
""".replace(
    "@LIFECYCLE@", ",\n    ".join(f"{name} {ddl}" for name, ddl in TICKET_LIFECYCLE)
).replace("@OUTAGE_WORK@", ",\n    ".join(f"{name} {ddl}" for name, ddl in OUTAGE_WORK))

# Indexes on columns that an older store gains in `migrate` (created after it).
LATE_INDEXES = """
CREATE INDEX IF NOT EXISTS verification_attempts_conversation
    ON verification_attempts (conversation, at);
CREATE INDEX IF NOT EXISTS verification_attempts_client ON verification_attempts (client, at);
CREATE INDEX IF NOT EXISTS login_nonces_expiry ON login_nonces (expires_at);
CREATE INDEX IF NOT EXISTS consents_at ON consents (at);
CREATE INDEX IF NOT EXISTS tickets_created ON tickets (created_at);
CREATE INDEX IF NOT EXISTS sms_outbox_created ON sms_outbox (created_at);
CREATE INDEX IF NOT EXISTS tickets_queue ON tickets (team, state);
CREATE INDEX IF NOT EXISTS tickets_state ON tickets (state);
"""

# Every table holding generated or customer data, children before parents (for --force).
DATA_TABLES = (
    "bill_items", "bills", "usage_history", "packages", "charges", "plan_changes",
    "roaming_events", "sms_outbox", "ticket_alerts", "ticket_notices", "ticket_events", "tickets",
    "outages", "verification_attempts", "login_nonces", "consents", "subscribers", "meta",
)  # fmt: skip


def table_sql(name: str) -> str:
    """The CREATE TABLE statement of `name` in SCHEMA."""
    start = SCHEMA.index(f"CREATE TABLE IF NOT EXISTS {name} (")
    return SCHEMA[start : SCHEMA.index(");", start) + 2]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Bring a store made by an earlier version up to SCHEMA, in one transaction; returns
    what was done. SQLite cannot change a CHECK constraint, so such a table is rebuilt."""
    done = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        (sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'plan_changes'"
        ).fetchone()
        if "'applied'" not in sql:  # before plan changes were applied on their date
            conn.execute("ALTER TABLE plan_changes RENAME TO plan_changes_old")
            conn.execute(table_sql("plan_changes"))
            conn.execute("INSERT INTO plan_changes SELECT * FROM plan_changes_old")
            conn.execute("DROP TABLE plan_changes_old")
            conn.execute("CREATE INDEX IF NOT EXISTS plan_changes_phone ON plan_changes (phone)")
            done.append("plan_changes: status may be 'applied'")
        columns = {row[1] for row in conn.execute("PRAGMA table_info(verification_attempts)")}
        for column in ("conversation", "client"):
            if column not in columns:  # before attempts were counted per conversation and client
                conn.execute(f"ALTER TABLE verification_attempts ADD COLUMN {column} TEXT")
                done.append(f"verification_attempts: {column} column")
        columns = {row[1] for row in conn.execute("PRAGMA table_info(tickets)")}
        missing = [(name, ddl) for name, ddl in TICKET_LIFECYCLE if name not in columns]
        for name, ddl in missing:  # before tickets had a lifecycle (telecom.tickets)
            conn.execute(f"ALTER TABLE tickets ADD COLUMN {name} {ddl}")  # fixed names
        if missing:
            filled = backfill_lifecycle(conn)
            done.append(f"tickets: lifecycle columns ({filled} tickets filled in)")
        columns = {row[1] for row in conn.execute("PRAGMA table_info(outages)")}
        for name, ddl in OUTAGE_WORK:
            if name not in columns:  # before outages were worked through the ticket service
                conn.execute(f"ALTER TABLE outages ADD COLUMN {name} {ddl}")  # fixed names
                done.append(f"outages: {name} column")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return done
