-- When the dispatched unit signed for the order (签收); when an operator
-- set the category (in the intake or an edit, not filled in from the
-- suggestion by the service); when the operator holding the call read
-- the caller's nuisance warning. The call-quality review judges by them.
ALTER TABLE incidents ADD COLUMN acknowledged_at BIGINT;
ALTER TABLE incidents ADD COLUMN category_set_at BIGINT;
ALTER TABLE incidents ADD COLUMN warning_read_at BIGINT;
-- A referral's later deadlines, fixed when the agency accepts: its first
-- feedback, and closing the order.
ALTER TABLE referrals ADD COLUMN feedback_due_at BIGINT;
ALTER TABLE referrals ADD COLUMN close_due_at BIGINT;
