-- Where a call's coordinates came from: 'caller' (a shared position),
-- 'map' (the operator's click) or 'place' (the resolved place name, which a
-- new location text replaces). NULL when there are none.
ALTER TABLE incidents ADD COLUMN location_source TEXT;
-- A unit's last known position and when it was reported: its station's
-- until the unit moves.
ALTER TABLE units ADD COLUMN lat DOUBLE PRECISION;
ALTER TABLE units ADD COLUMN lon DOUBLE PRECISION;
ALTER TABLE units ADD COLUMN position_at BIGINT;
