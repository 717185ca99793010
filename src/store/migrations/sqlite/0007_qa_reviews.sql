-- A shift lead's hand review of a call (质检抽检): a score and coaching
-- notes for the operator, one per call (a later review replaces it).
CREATE TABLE qa_reviews (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),
    score INTEGER NOT NULL,
    note TEXT NOT NULL,
    reviewer_id INTEGER NOT NULL,
    reviewer_name TEXT NOT NULL,
    at INTEGER NOT NULL
);
