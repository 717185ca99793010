//! What panels ask for ([`Command`], applied once per frame) and what
//! background tasks answer ([`Msg`], delivered through a channel that wakes
//! the UI).

use crate::client::FeedItem;
use crate::model::{
    Agency, CallerHistory, CloseReason, Incident, IncidentId, IncidentPatch, IntakeRequest, Referral, Unit, UnitId,
    UnitStatus,
};
use crate::server::{DuplicateCandidate, Recommendation};

/// An operator's action, emitted by a panel and carried out off the UI thread.
#[must_use]
#[derive(Debug, Clone)]
pub enum Command {
    Claim(IncidentId),
    Release(IncidentId),
    /// Logs a new call (through the outbox), then optionally acts on it.
    SubmitNew {
        request: Box<IntakeRequest>,
        key: String,
        then: Option<Then>,
    },
    Update {
        id: IncidentId,
        patch: Box<IncidentPatch>,
    },
    Act {
        id: IncidentId,
        then: Then,
    },
    LoadContext {
        id: IncidentId,
        phone: Option<String>,
    },
    History(String),
    SetUnitStatus(UnitId, UnitStatus),
    RefreshUnits,
    /// An agency account works a referral.
    ReferralStep(crate::model::ReferralId, crate::model::ReferralStep),
}

/// The one-click actions on a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Then {
    Dispatch { unit_id: UnitId, co_notify: Vec<Agency> },
    Refer(Agency),
    Close(CloseReason, Option<String>),
    Link(IncidentId),
}

/// An answer from the background.
#[derive(Debug)]
pub enum Msg {
    Feed(FeedItem),
    Queue(Vec<Incident>),
    /// An incident changed by this operator's action, with what it was.
    Done {
        what: &'static str,
        incident: Box<Incident>,
        referral: Option<Referral>,
    },
    Failed(String),
    History(String, Box<CallerHistory>),
    Context {
        id: IncidentId,
        units: Box<Recommendation>,
        duplicates: Vec<DuplicateCandidate>,
    },
    Units(Vec<Unit>),
    Referrals(Vec<Referral>),
    Outbox {
        pending: usize,
    },
    /// A call went to the outbox because the service is unreachable.
    Queued,
}
