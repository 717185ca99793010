-- Shift-lead oversight: how long the current holder has held a call, who
-- disposed of it (per-operator statistics), and the reason a lead gave for
-- an override, kept with its event in the audit log.
ALTER TABLE incidents ADD COLUMN held_since BIGINT;
ALTER TABLE incidents ADD COLUMN handled_by_id BIGINT;
ALTER TABLE incidents ADD COLUMN handled_by_name TEXT;
ALTER TABLE events ADD COLUMN note TEXT;
CREATE INDEX incidents_handled ON incidents(handled_by_id, received_at);
