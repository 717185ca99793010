-- Times are integer milliseconds since the Unix epoch (UTC) in both backends,
-- so the same SQL and the same arithmetic serve SQLite and PostgreSQL.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    agency TEXT,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE units (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    status TEXT NOT NULL,
    incident_id INTEGER,
    updated_at INTEGER NOT NULL
);

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    phone TEXT,
    caller_name TEXT,
    wechat_id TEXT,
    web_account TEXT,
    callback_number TEXT,
    location_text TEXT NOT NULL,
    lat REAL,
    lon REAL,
    jurisdiction TEXT,
    narrative TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    category TEXT,
    agency TEXT,
    priority TEXT,
    suggestion TEXT,
    sugg_category TEXT,
    sugg_priority TEXT,
    status TEXT NOT NULL,
    holder_id INTEGER,
    holder_name TEXT,
    claimed_at INTEGER,
    dispatched_at INTEGER,
    on_scene_at INTEGER,
    closed_at INTEGER,
    close_reason TEXT,
    close_note TEXT,
    duplicate_of INTEGER,
    unit_id INTEGER,
    co_notify TEXT NOT NULL DEFAULT '',
    disconnect TEXT,
    idem_key TEXT UNIQUE,
    created_by INTEGER,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX incidents_status ON incidents(status, received_at);
CREATE INDEX incidents_phone ON incidents(phone, received_at);
CREATE INDEX incidents_received ON incidents(received_at);

CREATE TABLE referrals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    agency TEXT NOT NULL,
    status TEXT NOT NULL,
    feedback TEXT,
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    accepted_at INTEGER,
    feedback_at INTEGER,
    closed_at INTEGER
);
CREATE INDEX referrals_agency ON referrals(agency, status);
CREATE INDEX referrals_incident ON referrals(incident_id);

CREATE TABLE callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    phone TEXT,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    created_at INTEGER NOT NULL,
    closed_at INTEGER,
    closed_by_id INTEGER,
    closed_by_name TEXT
);
CREATE INDEX callbacks_status ON callbacks(status, created_at);

CREATE TABLE caller_flags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL,
    flag TEXT NOT NULL,
    note TEXT NOT NULL,
    created_by_id INTEGER NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    removed_at INTEGER,
    removed_by_id INTEGER
);
CREATE INDEX caller_flags_phone ON caller_flags(phone);

-- Append-only: rows are never updated or deleted. Ids increase in commit
-- order (one writer at a time), which is what makes Last-Event-ID resume exact.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor_id INTEGER,
    actor_name TEXT,
    kind TEXT NOT NULL,
    incident_id INTEGER,
    referral_id INTEGER,
    unit_id INTEGER,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX events_incident ON events(incident_id, id);
CREATE INDEX events_at ON events(at);
