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
    pub feedback_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub overdue: bool,
}

/// The work-order number for a referral: date plus a zero-padded sequence.
pub fn referral_number(id: ReferralId, at: DateTime<Utc>) -> String {
    format!("FL{}-{id:06}", at.format("%Y%m%d"))
}

/// A step an agency account takes on a referral.
#[derive(Debug, Clone, PartialEq)]
pub enum ReferralStep {
    Accept,
    Feedback(String),
    Close,
}

impl ReferralStep {
    pub fn event_kind(&self) -> &'static str {
        match self {
            ReferralStep::Accept => "referral.accepted",
            ReferralStep::Feedback(_) => "referral.feedback",
            ReferralStep::Close => "referral.closed",
        }
    }
}

/// Moves a referral forward: sent → accepted → feedback → closed (feedback may
/// be given more than once; closing needs acceptance).
pub fn apply_referral(
    r: &mut Referral,
    step: ReferralStep,
    actor: &User,
    now: DateTime<Utc>,
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
        (step, status) => {
            return Err(DomainError::conflict(
                "wrong_state",
                format!(
                    "cannot {} a referral that is {status}",
                    match step {
                        ReferralStep::Accept => "accept",
                        ReferralStep::Feedback(_) => "give feedback on",
                        ReferralStep::Close => "close",
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
