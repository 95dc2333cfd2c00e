"""The SQLite schema of the subscriber store (applied by SQLiteStore.initialise)."""

__all__ = ["DATA_TABLES", "SCHEMA"]

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
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'superseded'))
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
