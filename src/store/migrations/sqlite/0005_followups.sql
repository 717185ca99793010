-- Follow-ups (回访) once a call is dealt with: by phone (a call taker's
-- task) or SMS (a gateway's). A dissatisfied caller opens a rectification
-- (整改) owed by the unit or agency, with a deadline in working days.
CREATE TABLE followups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    referral_id INTEGER REFERENCES referrals(id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    phone TEXT,
    category TEXT,
    priority TEXT NOT NULL,
    unit_id INTEGER,
    agency TEXT,
    operator_id INTEGER,
    operator_name TEXT,
    created_at INTEGER NOT NULL,
    outcome TEXT,
    reason TEXT,
    done_at INTEGER,
    done_by_id INTEGER,
    done_by_name TEXT
);
CREATE INDEX followups_open ON followups(status, channel, created_at);
CREATE INDEX followups_created ON followups(created_at);

CREATE TABLE rectifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    followup_id INTEGER NOT NULL REFERENCES followups(id),
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    unit_id INTEGER,
    agency TEXT,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    closed_at INTEGER,
    closed_by_id INTEGER,
    closed_by_name TEXT
);
CREATE INDEX rectifications_open ON rectifications(status, due_at);
