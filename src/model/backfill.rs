//! A batch of history to load in bulk: the rows a year of calls leaves
//! behind (incidents, referrals, follow-ups, supplements and the audit
//! events), ids already assigned so they can refer to each other.
//!
//! Owns: the shape of a bulk load. Must not touch: how it is made (the
//! simulator's `history`) or written (the store's `backfill`).

use super::{Event, Followup, Incident, Referral, Supplement};

/// One bulk load's rows. Ids are set by whoever made them, from
/// [`NextIds`], so a batch goes into the tables as it is.
#[derive(Debug, Clone, Default)]
pub struct Backfill {
    pub incidents: Vec<Incident>,
    pub referrals: Vec<Referral>,
    pub followups: Vec<Followup>,
    pub supplements: Vec<Supplement>,
    pub events: Vec<Event>,
}

/// The next free id of every table a backfill writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextIds {
    pub incident: i64,
    pub referral: i64,
    pub followup: i64,
    pub supplement: i64,
    pub event: i64,
}

impl Default for NextIds {
    fn default() -> Self {
        NextIds {
            incident: 1,
            referral: 1,
            followup: 1,
            supplement: 1,
            event: 1,
        }
    }
}
