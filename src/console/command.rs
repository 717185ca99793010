//! What panels ask for ([`Command`], applied once per frame) and what
//! background tasks answer ([`Msg`], delivered through a channel that wakes
//! the UI).

use super::i18n::Key;
use crate::k;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::api::{DuplicateCandidate, Recommendation};
use crate::client::FeedItem;
use crate::model::stats::{Alerts, NuisanceCaller, ShiftStats};
use crate::model::{
    Agency, AuditFilter, CallerFlagKind, CallerHistory, CloseReason, Event, Incident, IncidentId, IncidentPatch,
    IntakeRequest, Priority, QueueEntry, Referral, Unit, UnitId, UnitStatus, User, UserId,
};

/// An operator's action, emitted by a panel and carried out off the UI thread.
#[must_use]
#[derive(Debug, Clone)]
pub enum Command {
    Claim(IncidentId),
    /// Opens a call this operator already holds (after a restart, or one
    /// logged from the outbox) back onto the form.
    Resume(IncidentId),
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
    /// An action on a call; `edits` are the form's unsaved changes, saved
    /// first so nothing the operator typed is lost with the action.
    Act {
        id: IncidentId,
        then: Then,
        edits: Option<Box<IncidentPatch>>,
    },
    /// The dispatched unit signed for its order (heard on the radio).
    Acknowledge(IncidentId),
    /// The operator read the caller's nuisance warning.
    ReadWarning(IncidentId),
    LoadContext {
        id: IncidentId,
        phone: Option<String>,
    },
    History(String),
    /// Adds a timestamped line to the call (the narrative stays as it was).
    Supplement {
        id: IncidentId,
        text: String,
    },
    SetUnitStatus(UnitId, UnitStatus),
    RefreshUnits,
    /// An agency account works a referral.
    ReferralStep(crate::model::ReferralId, crate::model::ReferralStep),
    /// Open phone follow-ups, oldest first.
    LoadFollowups,
    /// What the caller said when called back.
    RecordFollowup {
        id: i64,
        outcome: crate::model::Satisfaction,
        reason: Option<String>,
    },
    LoadRectifications,
    /// A lead's hand review of a call: score and coaching note.
    ReviewCall {
        id: crate::model::IncidentId,
        score: i64,
        note: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// The call-quality review of a range.
    LoadQa {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    CloseRectification {
        id: i64,
        note: String,
    },
    /// A three-way call settled whose matter a referral is.
    ThreeWay(crate::model::ReferralId, String),
    /// A shift lead decides on a returned referral.
    ReviewReferral(crate::model::ReferralId, crate::model::ReferralReview),
    // The shift lead's view.
    Reassign {
        id: IncidentId,
        to: UserId,
        reason: String,
    },
    Reprioritise {
        id: IncidentId,
        priority: Priority,
        reason: String,
    },
    /// A lead frees a call another operator holds.
    FreeCall {
        id: IncidentId,
        reason: String,
    },
    LoadStats {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    LoadReferrals,
    /// The lead's map: open calls and those of the last `hours`.
    LoadMap {
        hours: i64,
    },
    LoadNuisance {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    LoadAudit(AuditFilter),
    Flag {
        phone: String,
        kind: CallerFlagKind,
        note: String,
    },
    Unflag {
        id: i64,
        phone: String,
    },
    Export(ExportJob),
    /// A caller's dossier, to read inside the console.
    LoadDossier(String),
    /// Releases the calls this operator still holds, then ends the session.
    SignOut {
        release: Vec<IncidentId>,
    },
}

/// A file a shift lead asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportJob {
    Incidents {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// Every reviewed call of the range with its checks and score.
    Qa {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    DossierCsv(String),
    DossierHtml(String),
}

/// The one-click actions on a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Then {
    Dispatch {
        unit_id: UnitId,
        co_notify: Vec<Agency>,
    },
    Refer(Agency),
    Close(CloseReason, Option<String>),
    Link(IncidentId),
    /// Undoes a merge (by the operator who made it, or a lead).
    Unlink,
}

/// What an operator's action did to an incident: decides where the form
/// goes next and which notice is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Saved,
    Claimed,
    Resumed,
    Released,
    Dispatched,
    Referred,
    Closed,
    Linked,
    Unlinked,
    /// A shift lead moved the call to another operator.
    Reassigned,
    /// A shift lead changed the call's priority.
    Reprioritised,
    /// A shift lead decided on a returned referral.
    Reviewed,
    /// A call from the outbox reached the service.
    SentFromOutbox,
    /// The unit signed for its order.
    Acknowledged,
    /// The caller's nuisance warning was marked read.
    WarningRead,
}

impl Done {
    pub const ALL: [Done; 15] = [
        Done::Saved,
        Done::Claimed,
        Done::Resumed,
        Done::Released,
        Done::Dispatched,
        Done::Referred,
        Done::Closed,
        Done::Linked,
        Done::Unlinked,
        Done::Reassigned,
        Done::Reprioritised,
        Done::Reviewed,
        Done::SentFromOutbox,
        Done::Acknowledged,
        Done::WarningRead,
    ];

    /// The notice's translation key.
    pub fn key(self) -> Key {
        match self {
            Done::Saved => k!("saved"),
            Done::Claimed => k!("claimed"),
            Done::Resumed => k!("resumed"),
            Done::Released => k!("released"),
            Done::Dispatched => k!("dispatched"),
            Done::Referred => k!("referred"),
            Done::Closed => k!("closed"),
            Done::Linked => k!("linked"),
            Done::Unlinked => k!("unlinked"),
            Done::Reassigned => k!("reassigned"),
            Done::Reprioritised => k!("reprioritised"),
            Done::Reviewed => k!("reviewed"),
            Done::SentFromOutbox => k!("sent_from_outbox"),
            Done::Acknowledged => k!("acknowledged"),
            Done::WarningRead => k!("warning_read_done"),
        }
    }

    /// The call stays on this operator's form (they hold it) rather than
    /// leaving their hands.
    pub fn keeps_the_call(self) -> bool {
        matches!(self, Done::Claimed | Done::Saved | Done::Resumed | Done::WarningRead)
    }
}

/// An answer from the background.
#[derive(Debug)]
pub enum Msg {
    Feed(FeedItem),
    Queue(Vec<QueueEntry>),
    /// An incident changed by this operator's action, with what it was.
    Done {
        what: Done,
        incident: Box<Incident>,
        referral: Option<Referral>,
    },
    Failed(Failure),
    History(String, Box<CallerHistory>),
    Context {
        id: IncidentId,
        units: Box<Recommendation>,
        duplicates: Vec<DuplicateCandidate>,
    },
    Units(Vec<Unit>),
    /// An incident's supplements (all of them, or one just added).
    Supplements(IncidentId, Vec<crate::model::Supplement>),
    Referrals(Vec<Referral>),
    Followups(Vec<crate::model::Followup>),
    Rectifications(Vec<crate::model::Rectification>),
    Qa(Vec<crate::model::QaCall>),
    Outbox {
        pending: usize,
    },
    /// A call went to the outbox because the service is unreachable.
    Queued,
    Stats(Box<ShiftStats>),
    Alerts(Alerts),
    Users(Vec<User>),
    /// Who is signed in now (sent when it changes).
    SignedIn(Vec<crate::model::UserId>),
    Nuisance(Vec<NuisanceCaller>),
    Map(Vec<crate::model::MapIncident>),
    Audit(Vec<Event>),
    /// A lead's action changed something the lead view shows: reload it.
    LeadChanged,
    /// A file written; `fallback` when no dialog could ask where.
    Exported {
        path: PathBuf,
        fallback: bool,
    },
    Dossier(Box<crate::model::stats::Dossier>),
    /// The session ended: back to the sign-in screen.
    SignedOut,
}

/// Why something the operator asked for did not happen; worded in the
/// operator's language when shown ([`super::i18n::failure_text`]).
#[derive(Debug)]
pub enum Failure {
    /// The service refused, or could not be reached.
    Service(crate::client::ClientError),
    /// A call waiting in the outbox that the service refused for good.
    Refused {
        first_words: String,
        error: crate::client::ClientError,
    },
    /// A colleague took the call a moment earlier.
    TakenBy { id: IncidentId, name: String },
    /// This machine's disk: the outbox or an export file.
    Disk(String),
    /// Outbox rows this console version cannot read, set aside unsent.
    OutboxUnreadable(usize),
}
