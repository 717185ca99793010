-- Calls stored before 0008 have no record of who set their category or
-- whether a nuisance warning was read: the rules did not exist. They are
-- not judged against them after the fact: a category a call already had
-- counts as the operator's, and a warning on a call already closed as
-- invalid as read. Before 0008 a dispatched unit went straight en route,
-- so its order counts as signed for at dispatch (the out figures of old
-- shifts stay as they were).
UPDATE incidents SET category_set_at = COALESCE(dispatched_at, closed_at, updated_at)
    WHERE category IS NOT NULL AND category_set_at IS NULL;
UPDATE incidents SET warning_read_at = closed_at
    WHERE close_reason = 'invalid' AND warning_read_at IS NULL;
UPDATE incidents SET acknowledged_at = dispatched_at
    WHERE dispatched_at IS NOT NULL AND acknowledged_at IS NULL;
