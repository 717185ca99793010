-- Lines added to an incident after its narrative, never overwriting it:
-- what the caller said next, what a later caller of a merged duplicate
-- reported (from_incident). Append-only.
CREATE TABLE supplements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    author_id INTEGER NOT NULL,
    author_name TEXT NOT NULL,
    text TEXT NOT NULL,
    from_incident INTEGER
);
CREATE INDEX supplements_incident ON supplements(incident_id, id);
