//! The incident as everyone sees it: where, what triage suggested, who
//! holds it, and its line in the queue.

use super::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where it happens: what the caller said, optional coordinates, and the
/// police jurisdiction the service resolved it to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub text: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Jurisdiction code from the gazetteer, when the text names a known place.
    pub jurisdiction: Option<String>,
    /// Where `lat`/`lon` came from; `None` without them.
    #[serde(default)]
    pub source: Option<LocationSource>,
}

impl Location {
    pub fn point(&self) -> Option<geo::GeoPoint> {
        Some(geo::GeoPoint::new(self.lat?, self.lon?))
    }

    /// Takes what `place` says: its station area, and its point unless the
    /// caller or the operator set one (a position from an old place name
    /// goes when the name does).
    pub fn settle(&mut self, place: Option<&address::ResolvedPlace>) {
        self.jurisdiction = place.and_then(|p| p.jurisdiction.as_ref()).map(|j| j.code.clone());
        if matches!(self.source, Some(LocationSource::Caller | LocationSource::Map)) && self.point().is_some() {
            return;
        }
        let at = place.and_then(|p| p.at);
        self.lat = at.map(|p| p.lat);
        self.lon = at.map(|p| p.lon);
        self.source = at.map(|_| LocationSource::Place);
    }
}

/// A phrase or rule that drove a triage suggestion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    /// The phrase as it appears in the text, or empty for a rule about the caller.
    pub keyword: String,
    /// Character (not byte) span of the phrase in the narrative.
    pub span: Option<(usize, usize)>,
    /// What the phrase or rule did, e.g. "cue: criminal", "negated: 没人受伤".
    pub rule: String,
}

/// What the triage engine suggests; the operator's choice is stored beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Suggestion {
    pub category: Category,
    pub agency: Agency,
    pub priority: Priority,
    /// Confidence in the category, 0–1.
    pub confidence: f64,
    pub agency_confidence: f64,
    pub priority_confidence: f64,
    /// The second most likely category.
    pub runner_up: Option<Category>,
    pub reasons: Vec<Reason>,
    /// Set when the caller's history warrants a warning; never changes the category.
    pub nuisance_warning: Option<String>,
}

/// A reference to an operator, as shown to others ("held by 王芳").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserRef {
    pub id: UserId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    pub id: IncidentId,
    pub channel: Channel,
    pub caller: Caller,
    pub location: Location,
    pub narrative: String,
    pub received_at: DateTime<Utc>,
    /// The operator's classification; `None` until an operator sets it.
    pub category: Option<Category>,
    pub agency: Option<Agency>,
    pub priority: Option<Priority>,
    pub suggestion: Option<Suggestion>,
    pub status: Status,
    pub holder: Option<UserRef>,
    /// When the current holder took the call (a reassignment restarts it);
    /// what a shift lead watches to spot an operator who went away.
    #[serde(default)]
    pub held_since: Option<DateTime<Utc>>,
    /// The operator who disposed of the call (dispatch, referral or close):
    /// the basis of per-operator statistics, since the holder is cleared then.
    #[serde(default)]
    pub handled_by: Option<UserRef>,
    /// When the call was first taken by an operator.
    pub claimed_at: Option<DateTime<Utc>>,
    pub dispatched_at: Option<DateTime<Utc>>,
    /// When the dispatched unit signed for the order (签收).
    #[serde(default)]
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub on_scene_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<CloseReason>,
    pub close_note: Option<String>,
    pub duplicate_of: Option<IncidentId>,
    pub unit_id: Option<UnitId>,
    /// Agencies notified alongside a police dispatch ("police first").
    pub co_notify: Vec<Agency>,
    /// Set for a call that ended before its matter was stated.
    pub disconnect: Option<Disconnect>,
    /// When an operator last set the category (in the intake or an edit);
    /// `None` when only the service filled it in from the suggestion.
    #[serde(default)]
    pub category_set_at: Option<DateTime<Utc>>,
    /// When the operator holding the call marked the caller's nuisance
    /// warning read.
    #[serde(default)]
    pub warning_read_at: Option<DateTime<Utc>>,
    /// Bumped by every change; a write with a stale version is refused.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

impl Incident {
    /// A just-received incident, not yet stored (id 0). A call an operator
    /// logs is held by them at once; a gateway's call waits in the queue.
    pub fn taken_in(new: &NewIncident, holder: Option<UserRef>, now: DateTime<Utc>) -> Incident {
        let chosen_at = new.category.and(holder.as_ref()).map(|_| now);
        Incident {
            id: 0,
            channel: new.channel,
            caller: new.caller.clone(),
            location: new.location.clone(),
            narrative: new.narrative.clone(),
            received_at: new.received_at,
            category: new.category,
            agency: new.agency,
            priority: new.priority,
            suggestion: new.suggestion.clone(),
            status: if holder.is_some() {
                Status::InProgress
            } else {
                Status::New
            },
            claimed_at: holder.is_some().then_some(now),
            held_since: holder.is_some().then_some(now),
            holder,
            handled_by: None,
            dispatched_at: None,
            acknowledged_at: None,
            on_scene_at: None,
            closed_at: None,
            close_reason: None,
            close_note: None,
            duplicate_of: None,
            unit_id: None,
            co_notify: Vec::new(),
            disconnect: new.disconnect,
            // Only an operator's own intake counts as their choice.
            category_set_at: chosen_at,
            warning_read_at: None,
            version: 1,
            updated_at: now,
        }
    }

    /// The priority the queue sorts by: the operator's, else the suggestion's.
    pub fn effective_priority(&self) -> Priority {
        self.priority
            .or(self.suggestion.as_ref().map(|s| s.priority))
            .unwrap_or(Priority::P3)
    }

    pub fn effective_category(&self) -> Option<Category> {
        self.category.or(self.suggestion.as_ref().map(|s| s.category))
    }
}

/// Characters of the narrative a queue row carries.
pub const QUEUE_SUMMARY_CHARS: usize = 40;

/// One row of the live queue: what a call taker scans, without the whole
/// record (location, the suggestion's reasons, notes). Taking a call returns
/// the full incident. Keeps a queue of ten thousand calls light to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QueueEntry {
    pub id: IncidentId,
    pub channel: Channel,
    /// Phone number, WeChat id or web account, whichever the call has.
    pub caller: Option<String>,
    pub received_at: DateTime<Utc>,
    /// The operator's priority, else the suggestion's (P3 without either).
    pub priority: Priority,
    /// The operator's category, else the suggestion's.
    pub category: Option<Category>,
    pub status: Status,
    pub holder: Option<UserRef>,
    pub held_since: Option<DateTime<Utc>>,
    pub disconnect: Option<Disconnect>,
    /// The start of the narrative.
    pub summary: String,
    pub version: i64,
    /// Where the call is, when known: what the map draws.
    #[serde(default)]
    pub at: Option<geo::GeoPoint>,
}

/// An incident as the lead's map draws it: open ones as markers, the last
/// hours' as the heat layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MapIncident {
    pub id: IncidentId,
    pub at: geo::GeoPoint,
    /// The operator's priority, else the suggestion's.
    pub priority: Priority,
    /// The operator's category, else the suggestion's.
    pub category: Option<Category>,
    pub status: Status,
    pub received_at: DateTime<Utc>,
}

impl QueueEntry {
    /// Where the call stands in the queue: priority first, then the longest
    /// wait (the id breaks ties). The service's queue view, the console and
    /// the simulated colleagues all order by this.
    pub fn display_order(&self) -> (Priority, DateTime<Utc>, IncidentId) {
        (self.priority, self.received_at, self.id)
    }
}

impl From<&Incident> for QueueEntry {
    fn from(i: &Incident) -> Self {
        QueueEntry {
            id: i.id,
            channel: i.channel,
            caller: i
                .caller
                .phone
                .as_ref()
                .map(|p| p.to_string())
                .or_else(|| i.caller.wechat_id.clone())
                .or_else(|| i.caller.web_account.clone()),
            received_at: i.received_at,
            priority: i.effective_priority(),
            category: i.effective_category(),
            status: i.status,
            holder: i.holder.clone(),
            held_since: i.held_since,
            disconnect: i.disconnect,
            summary: i.narrative.chars().take(QUEUE_SUMMARY_CHARS).collect(),
            version: i.version,
            at: i.location.point(),
        }
    }
}
