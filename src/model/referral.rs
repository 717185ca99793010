//! Units, referrals to linked agencies and callbacks: what a call is
//! handed to, and the referral's own small lifecycle.

use super::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Unit {
    pub id: UnitId,
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    /// Jurisdiction code (a 派出所 area) from the gazetteer.
    pub jurisdiction: String,
    pub status: UnitStatus,
    /// The incident the unit is working, if any.
    pub incident_id: Option<IncidentId>,
    /// Since when the unit has been in its status.
    #[serde(default)]
    pub status_since: Option<DateTime<Utc>>,
    /// Last known position: its station's until it reports one.
    #[serde(default)]
    pub at: Option<geo::GeoPoint>,
    /// When `at` was reported; `None` for the station's position.
    #[serde(default)]
    pub position_at: Option<DateTime<Utc>>,
}

/// A referral work order: the number is read to the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Referral {
    pub id: ReferralId,
    pub number: String,
    pub incident_id: IncidentId,
    pub agency: Agency,
    pub status: ReferralStatus,
    pub feedback: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Accept by then, or the referral is overdue.
    pub due_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// Set at acceptance: the first feedback is due by then…
    #[serde(default)]
    pub feedback_due_at: Option<DateTime<Utc>>,
    /// …and the order closed by then (working days, China time).
    #[serde(default)]
    pub close_due_at: Option<DateTime<Utc>>,
    pub feedback_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Past the deadline of its stage (see [`Referral::deadline`]).
    pub overdue: bool,
    /// Why the agency handed it back, and when.
    #[serde(default)]
    pub return_reason: Option<ReturnReason>,
    #[serde(default)]
    pub return_note: Option<String>,
    #[serde(default)]
    pub returned_at: Option<DateTime<Utc>>,
    /// The shift lead's decision on a return, and when.
    #[serde(default)]
    pub review_note: Option<String>,
    #[serde(default)]
    pub reviewed_at: Option<DateTime<Utc>>,
    /// The withdrawn referral this one re-routes, if any.
    #[serde(default)]
    pub replaces: Option<ReferralId>,
    /// Who took part in a three-way call (三方通话) that settled whose
    /// matter it is, and when.
    #[serde(default)]
    pub three_way_parties: Option<String>,
    #[serde(default)]
    pub three_way_at: Option<DateTime<Utc>>,
}

impl Referral {
    /// A work order just sent to `agency`, to be accepted by `due_at`.
    pub fn sent(
        id: ReferralId,
        number: String,
        incident_id: IncidentId,
        agency: Agency,
        at: DateTime<Utc>,
        due_at: DateTime<Utc>,
    ) -> Referral {
        Referral {
            id,
            number,
            incident_id,
            agency,
            status: ReferralStatus::Sent,
            feedback: None,
            created_at: at,
            due_at,
            accepted_at: None,
            feedback_due_at: None,
            close_due_at: None,
            feedback_at: None,
            closed_at: None,
            overdue: false,
            return_reason: None,
            return_note: None,
            returned_at: None,
            review_note: None,
            reviewed_at: None,
            replaces: None,
            three_way_parties: None,
            three_way_at: None,
        }
    }

    /// The deadline the order is working to now: acceptance while sent,
    /// the first feedback once accepted, closing once fed back; none once
    /// finished or waiting for the lead.
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        match self.status {
            ReferralStatus::Sent => Some(self.due_at),
            ReferralStatus::Accepted => self.feedback_due_at,
            ReferralStatus::Feedback => self.close_due_at,
            _ => None,
        }
    }
}

/// How long an agency has for each stage after accepting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReferralLimits {
    pub feedback_within: chrono::Duration,
    pub close_working_days: u32,
}

impl Default for ReferralLimits {
    fn default() -> Self {
        ReferralLimits {
            feedback_within: chrono::Duration::hours(24),
            close_working_days: 5,
        }
    }
}

/// Records a three-way call on a referral still in play (the staff: a call
/// taker or lead who held it).
pub fn record_three_way(r: &mut Referral, parties: &str, actor: &User, now: DateTime<Utc>) -> Result<(), DomainError> {
    if !Role::STAFF.contains(&actor.role) {
        return Err(DomainError::forbidden(
            "staff_only",
            "only 110 staff record a three-way call",
        ));
    }
    if r.status.is_final() {
        return Err(DomainError::conflict(
            "wrong_state",
            format!("the referral is {}; nothing left to settle", r.status),
        ));
    }
    r.three_way_parties = Some(short_note("parties", parties, "the parties of the call")?);
    r.three_way_at = Some(now);
    Ok(())
}

/// The work-order number for a referral: date plus the incident id, zero
/// padded; an incident's second and later referrals (after a return was
/// re-routed) add their ordinal.
pub fn referral_number(incident: IncidentId, ordinal: i64, at: DateTime<Utc>) -> String {
    let base = format!("FL{}-{incident:06}", at.format("%Y%m%d"));
    if ordinal > 1 { format!("{base}-{ordinal}") } else { base }
}

/// A step an agency account takes on a referral.
#[derive(Debug, Clone, PartialEq)]
pub enum ReferralStep {
    Accept,
    Feedback(String),
    Close,
    /// Hands it back to 110 before or after accepting: not the agency's
    /// matter, or police must act first.
    Return {
        reason: ReturnReason,
        note: String,
    },
}

impl ReferralStep {
    pub fn event_kind(&self) -> &'static str {
        match self {
            ReferralStep::Accept => "referral.accepted",
            ReferralStep::Feedback(_) => "referral.feedback",
            ReferralStep::Close => "referral.closed",
            ReferralStep::Return { .. } => "referral.returned",
        }
    }
}

/// A shift lead's decision on a returned referral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ReferralReview {
    /// The agency is responsible after all: the order is sent to it again
    /// with a fresh acceptance deadline.
    Insist { note: String },
    /// Withdrawn and referred to another agency.
    Reroute { agency: Agency, note: String },
    /// Withdrawn; the call goes back to the 110 queue as police business.
    TakeBack { note: String },
}

impl ReferralReview {
    pub fn note(&self) -> &str {
        match self {
            ReferralReview::Insist { note }
            | ReferralReview::Reroute { note, .. }
            | ReferralReview::TakeBack { note } => note,
        }
    }
    pub fn event_kind(&self) -> &'static str {
        match self {
            ReferralReview::Insist { .. } => "referral.insisted",
            ReferralReview::Reroute { .. } | ReferralReview::TakeBack { .. } => "referral.withdrawn",
        }
    }
}

/// What a review did: the reviewed order, the new order a re-route issued,
/// and the incident as it now stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewOutcome {
    pub referral: Referral,
    pub rerouted: Option<Referral>,
    pub incident: Incident,
}

/// Applies a shift lead's review to a returned referral. `accept_within` is
/// the acceptance time a re-sent order gets. Re-routing and taking back also
/// change the incident; the store does that in the same transaction.
pub fn review_referral(
    r: &mut Referral,
    review: &ReferralReview,
    actor: &User,
    now: DateTime<Utc>,
    accept_within: chrono::Duration,
) -> Result<(), DomainError> {
    if !actor.is_lead() {
        return Err(DomainError::forbidden(
            "lead_only",
            "only a shift lead reviews a returned referral",
        ));
    }
    if r.status != ReferralStatus::Returned {
        return Err(DomainError::conflict(
            "wrong_state",
            format!("only a returned referral is reviewed; this one is {}", r.status),
        ));
    }
    let note = short_note("note", review.note(), "the review note")?;
    match review {
        ReferralReview::Insist { .. } => {
            r.status = ReferralStatus::Sent;
            r.due_at = now + accept_within;
            r.accepted_at = None;
        }
        ReferralReview::Reroute { agency, .. } => {
            if *agency == Agency::None {
                return Err(DomainError::invalid("agency", "choose the agency to re-route to"));
            }
            if *agency == r.agency {
                return Err(DomainError::invalid(
                    "agency",
                    format!("{} returned it; to send it there again, insist instead", r.agency),
                ));
            }
            r.status = ReferralStatus::Withdrawn;
            r.closed_at = Some(now);
        }
        ReferralReview::TakeBack { .. } => {
            r.status = ReferralStatus::Withdrawn;
            r.closed_at = Some(now);
        }
    }
    r.review_note = Some(note);
    r.reviewed_at = Some(now);
    r.overdue = false;
    Ok(())
}

/// Moves a referral forward: sent → accepted → feedback → closed (feedback may
/// be given more than once; closing needs acceptance).
pub fn apply_referral(
    r: &mut Referral,
    step: ReferralStep,
    actor: &User,
    now: DateTime<Utc>,
    limits: ReferralLimits,
) -> Result<(), DomainError> {
    if actor.role != Role::Agency || actor.agency != Some(r.agency) {
        return Err(DomainError::forbidden(
            "not_your_referral",
            format!("only a {} account can work this referral", r.agency),
        ));
    }
    use ReferralStatus::*;
    match (step, r.status) {
        (ReferralStep::Accept, Sent) => {
            r.status = Accepted;
            r.accepted_at = Some(now);
            r.feedback_due_at = Some(now + limits.feedback_within);
            r.close_due_at = Some(working_days_after(now, limits.close_working_days));
        }
        (ReferralStep::Feedback(text), Accepted | Feedback) => {
            let text = text.trim();
            if text.is_empty() {
                return Err(DomainError::invalid("feedback", "feedback text is empty"));
            }
            if text.chars().count() > MAX_NARRATIVE_CHARS {
                return Err(DomainError::invalid("feedback", "feedback is too long"));
            }
            r.status = Feedback;
            r.feedback = Some(text.to_owned());
            r.feedback_at = Some(now);
        }
        (ReferralStep::Close, Accepted | Feedback) => {
            r.status = Closed;
            r.closed_at = Some(now);
        }
        (ReferralStep::Return { reason, note }, Sent | Accepted) => {
            r.status = Returned;
            r.return_reason = Some(reason);
            r.return_note = Some(short_note("note", &note, "the reason for returning")?);
            r.returned_at = Some(now);
        }
        (step, status) => {
            return Err(DomainError::conflict(
                "wrong_state",
                format!(
                    "cannot {} a referral that is {status}",
                    match step {
                        ReferralStep::Accept => "accept",
                        ReferralStep::Feedback(_) => "give feedback on",
                        ReferralStep::Close => "close",
                        ReferralStep::Return { .. } => "return",
                    }
                ),
            ));
        }
    }
    r.overdue = false;
    Ok(())
}

/// A call back owed to a caller who hung up or stayed silent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Callback {
    pub id: i64,
    pub incident_id: IncidentId,
    pub phone: Option<CallerPhone>,
    pub reason: Disconnect,
    pub status: CallbackStatus,
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<UserRef>,
}
