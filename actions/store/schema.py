"""The SQLite schema of the subscriber store (applied by SQLiteStore.initialise)."""

import sqlite3

__all__ = ["DATA_TABLES", "SCHEMA", "migrate", "table_sql"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subscribers (
    phone TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    id_hash TEXT NOT NULL,             -- pbkdf2 of the full ID number, salted
    id6_hash TEXT NOT NULL,            -- pbkdf2 of its last six characters, salted
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
    body TEXT NOT NULL,
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
    extra TEXT NOT NULL                -- JSON, string values escaped
);
CREATE INDEX IF NOT EXISTS tickets_phone ON tickets (phone);
CREATE TABLE IF NOT EXISTS outages (
    id TEXT PRIMARY KEY,               -- O20261123-01
    city TEXT NOT NULL,
    district TEXT NOT NULL,
    service TEXT NOT NULL CHECK (service IN ('mobile', 'broadband', 'tv')),
    description TEXT NOT NULL,
    started_at TEXT NOT NULL,
    expected_restore_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    closed_at TEXT
);
CREATE INDEX IF NOT EXISTS outages_area ON outages (district, service, status);
CREATE TABLE IF NOT EXISTS verification_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL,
    success INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verification_attempts_phone ON verification_attempts (phone, at);
"""

# Every table holding generated or customer data, children before parents (for --force).
DATA_TABLES = (
    "bill_items", "bills", "usage_history", "packages", "charges", "plan_changes",
    "roaming_events", "sms_outbox", "tickets", "outages", "verification_attempts", "subscribers",
    "meta",
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
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return done
