-- The 12345 linkage: an agency may hand a referral back with a reason;
-- the shift lead insists (sent again) or withdraws it, re-routing the call
-- to another agency (a new order that names the one it replaces) or taking
-- it back into the 110 queue.
ALTER TABLE referrals ADD COLUMN return_reason TEXT;
ALTER TABLE referrals ADD COLUMN return_note TEXT;
ALTER TABLE referrals ADD COLUMN returned_at INTEGER;
ALTER TABLE referrals ADD COLUMN review_note TEXT;
ALTER TABLE referrals ADD COLUMN reviewed_at INTEGER;
ALTER TABLE referrals ADD COLUMN replaces INTEGER REFERENCES referrals(id);
CREATE INDEX referrals_status ON referrals(status, due_at);
