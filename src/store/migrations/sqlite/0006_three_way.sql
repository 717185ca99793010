-- A referral whose responsibility was unclear was settled in a three-way
-- call (caller, 110, the agency or 12345): who took part, and when.
ALTER TABLE referrals ADD COLUMN three_way_parties TEXT;
ALTER TABLE referrals ADD COLUMN three_way_at INTEGER;
