-- A shift lead's hand review of a call (质检抽检): a score and coaching
-- notes for the operator, one per call (a later review replaces it).
CREATE TABLE qa_reviews (
    incident_id BIGINT PRIMARY KEY REFERENCES incidents(id),
    score BIGINT NOT NULL,
    note TEXT NOT NULL,
    reviewer_id BIGINT NOT NULL,
    reviewer_name TEXT NOT NULL,
    at BIGINT NOT NULL
);
