"""The SQLite store's tables (the approval queue's are in :mod:`.sqlite_approvals`).

Statements are split on semicolons: none may contain one.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    ts        TEXT NOT NULL,
    agent     TEXT,
    tool      TEXT,
    decision  TEXT,
    body      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      TEXT PRIMARY KEY,
    agent       TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT,
    tools       TEXT,
    label       TEXT
);
CREATE TABLE IF NOT EXISTS approver_keys (  -- people who approve: never agents' keys
    key_id      TEXT PRIMARY KEY,
    agent       TEXT NOT NULL,  -- the approver's name
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT,
    tools       TEXT,
    label       TEXT
);
CREATE TABLE IF NOT EXISTS kills (
    scope  TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_at TEXT NOT NULL,
    set_by TEXT,
    PRIMARY KEY (scope, target)
);
CREATE TABLE IF NOT EXISTS window_events (
    key     TEXT NOT NULL,
    at      INTEGER NOT NULL, -- microseconds since the Unix epoch, UTC
    units   INTEGER NOT NULL, -- the amount in millionths
    running INTEGER NOT NULL, -- the key's running total up to this event, in millionths
    ticket  INTEGER           -- the open reservation holding the event, NULL once settled
);
CREATE INDEX IF NOT EXISTS window_events_key ON window_events(key, at, running);
CREATE TABLE IF NOT EXISTS window_keys (
    key     TEXT PRIMARY KEY,
    horizon INTEGER NOT NULL, -- the longest window ever asked for the key, microseconds
    floor   INTEGER NOT NULL  -- the running total of its events pruned so far
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS breakers (
    key   TEXT PRIMARY KEY,
    state TEXT NOT NULL,  -- closed, open or half_open: read alone on the hot path
    data  TEXT NOT NULL   -- agentguard.breaker.encode()
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_reservations (
    action_id   TEXT PRIMARY KEY,
    reserved_at TEXT NOT NULL,
    agent       TEXT,
    tool        TEXT,
    space       BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS provenance (
    scope   TEXT NOT NULL,
    print   TEXT NOT NULL,
    owner   TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (scope, print, owner)
) WITHOUT ROWID;
"""
