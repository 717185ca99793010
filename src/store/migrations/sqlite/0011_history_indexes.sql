-- Reads that must not grow with the years kept (see BENCHMARKS.md, "History").
-- A range of calls by arrival, carrying every column the statistics, the
-- nuisance ranking and the harassment alert read: those scans of a month
-- read this narrow index, not the wide rows with their narratives and
-- suggestions. It replaces the plain index on received_at.
CREATE INDEX incidents_history ON incidents (received_at, channel, phone, status, category, sugg_category,
    priority, sugg_priority, agency, close_reason, handled_by_id, handled_by_name, claimed_at, dispatched_at,
    acknowledged_at, on_scene_at, closed_at);
DROP INDEX incidents_received;
-- When a call left the queue (dispatched or closed): the statistics' queue
-- depth counts departures in a range and the calls still open at its start,
-- both from the index alone (the raw columns are carried for that).
CREATE INDEX incidents_left ON incidents ((COALESCE(dispatched_at, closed_at)), received_at, dispatched_at, closed_at);
-- A caller's counts (every call, the invalid ones, the patrols wasted) from
-- the index alone: read at every intake and for every caller history.
DROP INDEX incidents_phone;
CREATE INDEX incidents_phone ON incidents (phone, received_at, close_reason, category, dispatched_at);
-- A range's referrals, for the statistics' per-agency work.
CREATE INDEX referrals_created ON referrals (created_at);
-- The audit log filtered by operator, newest first.
CREATE INDEX events_actor ON events (actor_id, id);
