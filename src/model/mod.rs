//! Domain types shared by the service and the console: incidents and their
//! lifecycle, referrals, units, callers, users, events.
//!
//! Owns: parsing input into valid values and every state transition, as pure
//! functions. Must not touch: I/O, SQL, HTTP or egui.

mod codes;
pub mod duplicates;
pub mod gazetteer;
#[cfg(test)]
mod lifecycle_tests;
pub mod stats;

pub use codes::*;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub type IncidentId = i64;
pub type UserId = i64;
pub type UnitId = i64;
pub type ReferralId = i64;
pub type EventId = i64;

/// Longest narrative accepted, in characters: a long web tip fits, a pasted
/// novel does not.
pub const MAX_NARRATIVE_CHARS: usize = 10_000;
const MAX_SHORT_FIELD_CHARS: usize = 200;

/// A rule of the domain was broken; the message says what to do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The request is valid but the incident's current state forbids it.
    /// `code` is stable (the API's error code, which the console words in
    /// the operator's language); `message` is the English detail.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
}

impl DomainError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A caller's phone number, normalised to digits (country prefix removed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct CallerPhone(String);

impl CallerPhone {
    /// The canonical forms [`CallerPhone::parse`] accepts, as a regular
    /// expression for the API's description (parse also tolerates spaces,
    /// dashes and a +86 prefix around them).
    pub const PATTERN: &str = r"^(1[3-9][0-9]{9}|0[0-9]{9,11}|[2-9][0-9]{6,7}|[1-9][0-9]{4})$";

    /// Accepts mainland mobiles (11 digits from 13x–19x), landlines with area
    /// code (0 + 9–11 digits), local landlines (7–8 digits) and 5-digit
    /// service numbers; spaces, dashes and a +86/0086 prefix are tolerated.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
        let digits = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .unwrap_or(&compact);
        let bad = || {
            DomainError::invalid(
                "phone",
                format!(
                    "invalid phone number {raw:?}: expected an 11-digit mobile, a landline with area code, or a local number"
                ),
            )
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let ok = match digits.as_bytes()[0] {
            b'1' => (digits.len() == 11 && (b'3'..=b'9').contains(&digits.as_bytes()[1])) || digits.len() == 5,
            b'0' => (10..=12).contains(&digits.len()),
            _ => (7..=8).contains(&digits.len()) || digits.len() == 5,
        };
        if ok {
            Ok(CallerPhone(digits.to_owned()))
        } else {
            Err(bad())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CallerPhone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who called, as far as the channel tells.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Caller {
    pub phone: Option<CallerPhone>,
    pub name: Option<String>,
    pub wechat_id: Option<String>,
    pub web_account: Option<String>,
    pub callback_number: Option<CallerPhone>,
}

/// Where it happens: what the caller said, optional coordinates, and the
/// police jurisdiction the service resolved it to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub text: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Jurisdiction code from the gazetteer, when the text names a known place.
    pub jurisdiction: Option<String>,
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
    /// Bumped by every change; a write with a stale version is refused.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

impl Incident {
    /// A just-received incident, not yet stored (id 0). A call an operator
    /// logs is held by them at once; a gateway's call waits in the queue.
    pub fn taken_in(new: &NewIncident, holder: Option<UserRef>, now: DateTime<Utc>) -> Incident {
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
            on_scene_at: None,
            closed_at: None,
            close_reason: None,
            close_note: None,
            duplicate_of: None,
            unit_id: None,
            co_notify: Vec::new(),
            disconnect: new.disconnect,
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
        }
    }
}

/// An intake as posted by a gateway or an operator, before validation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "voice", "phone": "13804310001", "location": "红旗街万达广场", "narrative": "商场三楼着火了，有人被困"}))]
pub struct IntakeRequest {
    pub channel: Channel,
    /// Required for SMS; for WeChat and web, this or the account.
    #[schema(pattern = "^\\s*$|^(1[3-9][0-9]{9}|0[0-9]{9,11}|[2-9][0-9]{6,7}|[1-9][0-9]{4})$")]
    pub phone: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000]*$")]
    pub caller_name: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000]*$")]
    pub wechat_id: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000]*$")]
    pub web_account: Option<String>,
    #[schema(pattern = "^\\s*$|^(1[3-9][0-9]{9}|0[0-9]{9,11}|[2-9][0-9]{6,7}|[1-9][0-9]{4})$")]
    pub callback_number: Option<String>,
    #[serde(default)]
    #[schema(max_length = 200, pattern = "^[^\\u0000]*$")]
    pub location: Option<String>,
    /// With `lon`, or neither.
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: Option<f64>,
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: Option<f64>,
    /// What the caller reported; may be empty only with `disconnect`.
    #[serde(default)]
    #[schema(max_length = 10000, pattern = "^[^\\u0000]*$")]
    pub narrative: String,
    /// When the gateway received it; defaults to now. Must not be in the future.
    pub received_at: Option<DateTime<Utc>>,
    /// Set by a voice gateway for a call that hung up or stayed silent:
    /// allows an empty narrative and opens a callback task.
    pub disconnect: Option<Disconnect>,
    pub category: Option<Category>,
    pub agency: Option<Agency>,
    pub priority: Option<Priority>,
}

/// A validated intake, ready to store.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub channel: Channel,
    pub caller: Caller,
    pub location: Location,
    pub narrative: String,
    pub received_at: DateTime<Utc>,
    pub category: Option<Category>,
    pub agency: Option<Agency>,
    pub priority: Option<Priority>,
    pub disconnect: Option<Disconnect>,
    pub suggestion: Option<Suggestion>,
}

fn clean_opt(field: &str, value: Option<String>) -> Result<Option<String>, DomainError> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > MAX_SHORT_FIELD_CHARS => Err(DomainError::invalid(
            field,
            format!("{field} is too long (at most {MAX_SHORT_FIELD_CHARS} characters)"),
        )),
        other => Ok(other),
    }
}

/// Checks a narrative: present, within the size limit.
pub fn parse_narrative(raw: &str) -> Result<String, DomainError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(DomainError::invalid(
            "narrative",
            "narrative is empty: write what the caller reported",
        ));
    }
    if text.chars().count() > MAX_NARRATIVE_CHARS {
        return Err(DomainError::invalid(
            "narrative",
            format!("narrative is too long (at most {MAX_NARRATIVE_CHARS} characters)"),
        ));
    }
    Ok(text.to_owned())
}

fn parse_coords(lat: Option<f64>, lon: Option<f64>) -> Result<(Option<f64>, Option<f64>), DomainError> {
    match (lat, lon) {
        (None, None) => Ok((None, None)),
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) {
                return Err(DomainError::invalid("lat", "latitude must be between -90 and 90"));
            }
            if !(-180.0..=180.0).contains(&lon) {
                return Err(DomainError::invalid("lon", "longitude must be between -180 and 180"));
            }
            Ok((Some(lat), Some(lon)))
        }
        _ => Err(DomainError::invalid("lat", "give both lat and lon, or neither")),
    }
}

impl IntakeRequest {
    /// Validates and normalises an intake. `now` bounds `received_at`.
    pub fn parse(self, now: DateTime<Utc>) -> Result<NewIncident, DomainError> {
        let phone = clean_opt("phone", self.phone)?
            .map(|p| CallerPhone::parse(&p))
            .transpose()?;
        let callback_number = clean_opt("callback_number", self.callback_number)?
            .map(|p| {
                CallerPhone::parse(&p)
                    .map_err(|_| DomainError::invalid("callback_number", format!("invalid callback number {p:?}")))
            })
            .transpose()?;
        let caller = Caller {
            phone,
            name: clean_opt("caller_name", self.caller_name)?,
            wechat_id: clean_opt("wechat_id", self.wechat_id)?,
            web_account: clean_opt("web_account", self.web_account)?,
            callback_number,
        };
        match self.channel {
            Channel::Sms if caller.phone.is_none() => {
                return Err(DomainError::invalid(
                    "phone",
                    "an SMS intake needs the sender's phone number",
                ));
            }
            Channel::Wechat if caller.phone.is_none() && caller.wechat_id.is_none() => {
                return Err(DomainError::invalid(
                    "wechat_id",
                    "a WeChat intake needs the sender's WeChat id or phone",
                ));
            }
            Channel::Web if caller.phone.is_none() && caller.web_account.is_none() => {
                return Err(DomainError::invalid(
                    "web_account",
                    "a web tip needs the reporter's account or phone",
                ));
            }
            _ => {}
        }
        let narrative = match self.disconnect {
            // A hang-up may carry nothing but the number to call back.
            Some(_) if self.narrative.trim().is_empty() => {
                if caller.phone.is_none() && caller.callback_number.is_none() {
                    return Err(DomainError::invalid(
                        "phone",
                        "a hang-up or silent call needs a number to call back",
                    ));
                }
                String::new()
            }
            _ => parse_narrative(&self.narrative)?,
        };
        let location_text = match self.location {
            Some(l) if l.chars().count() > MAX_SHORT_FIELD_CHARS => {
                return Err(DomainError::invalid(
                    "location",
                    format!("location is too long (at most {MAX_SHORT_FIELD_CHARS} characters)"),
                ));
            }
            Some(l) => l.trim().to_owned(),
            None => String::new(),
        };
        let (lat, lon) = parse_coords(self.lat, self.lon)?;
        let received_at = match self.received_at {
            Some(t) if t > now + chrono::Duration::seconds(60) => {
                return Err(DomainError::invalid("received_at", "received_at is in the future"));
            }
            Some(t) => t,
            None => now,
        };
        Ok(NewIncident {
            channel: self.channel,
            caller,
            location: Location {
                text: location_text,
                lat,
                lon,
                jurisdiction: None,
            },
            narrative,
            received_at,
            category: self.category,
            agency: self.agency,
            priority: self.priority,
            disconnect: self.disconnect,
            suggestion: None,
        })
    }
}

/// An operator's edit of an incident; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"version": 2, "location": "红旗街万达广场北门", "priority": "P1"}))]
pub struct IncidentPatch {
    /// The version the operator edited; a stale one is refused with 409.
    pub version: i64,
    /// An empty string clears it.
    #[schema(pattern = "^\\s*$|^(1[3-9][0-9]{9}|0[0-9]{9,11}|[2-9][0-9]{6,7}|[1-9][0-9]{4})$")]
    pub phone: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000]*$")]
    pub caller_name: Option<String>,
    #[schema(pattern = "^\\s*$|^(1[3-9][0-9]{9}|0[0-9]{9,11}|[2-9][0-9]{6,7}|[1-9][0-9]{4})$")]
    pub callback_number: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000]*$")]
    pub location: Option<String>,
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: Option<f64>,
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: Option<f64>,
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub narrative: Option<String>,
    pub category: Option<Category>,
    pub agency: Option<Agency>,
    pub priority: Option<Priority>,
}

/// Everything that can happen to an incident after intake. Applied by
/// [`apply`], which checks the lifecycle and the actor's right to do it.
#[derive(Debug, Clone)]
pub enum IncidentOp {
    Claim,
    /// Back to the queue; a lead freeing another's call gives a reason.
    Release {
        reason: Option<String>,
    },
    /// A validated patch (see [`IncidentPatch::parse`]) with the recomputed
    /// suggestion when the narrative changed.
    Update {
        patch: Box<ParsedPatch>,
    },
    /// The store loads the unit in the same transaction and passes it to [`apply`].
    Dispatch {
        unit_id: UnitId,
        co_notify: Vec<Agency>,
    },
    OnScene,
    Resolve,
    Refer {
        agency: Agency,
    },
    Close {
        reason: CloseReason,
        note: Option<String>,
    },
    LinkDuplicate {
        of: IncidentId,
    },
    /// Undoes a merge: the call is open again, held by the actor.
    Unlink,
    /// A shift lead hands a queued call to another operator.
    Reassign {
        to: UserRef,
        reason: String,
    },
    /// A shift lead raises or lowers a call's priority.
    Reprioritise {
        priority: Priority,
        reason: String,
    },
}

impl IncidentOp {
    /// The event kind recorded for this operation.
    pub fn event_kind(&self) -> &'static str {
        match self {
            IncidentOp::Claim => "incident.claimed",
            IncidentOp::Release { .. } => "incident.released",
            IncidentOp::Update { .. } => "incident.updated",
            IncidentOp::Dispatch { .. } => "incident.dispatched",
            IncidentOp::OnScene => "incident.on_scene",
            IncidentOp::Resolve => "incident.resolved",
            IncidentOp::Refer { .. } => "incident.referred",
            IncidentOp::Close { .. } => "incident.closed",
            IncidentOp::LinkDuplicate { .. } => "incident.linked",
            IncidentOp::Unlink => "incident.unlinked",
            IncidentOp::Reassign { .. } => "incident.reassigned",
            IncidentOp::Reprioritise { .. } => "incident.reprioritised",
        }
    }

    /// The reason recorded with the event, for operations that need one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            IncidentOp::Reassign { reason, .. } | IncidentOp::Reprioritise { reason, .. } => Some(reason),
            IncidentOp::Release { reason: Some(reason) } => Some(reason),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ParsedPatch {
    pub phone: Option<Option<CallerPhone>>,
    pub caller_name: Option<Option<String>>,
    pub callback_number: Option<Option<CallerPhone>>,
    pub location: Option<String>,
    pub coords: Option<(Option<f64>, Option<f64>)>,
    pub jurisdiction: Option<Option<String>>,
    pub narrative: Option<String>,
    pub suggestion: Option<Suggestion>,
    pub category: Option<Category>,
    pub agency: Option<Agency>,
    pub priority: Option<Priority>,
}

impl IncidentPatch {
    /// Validates the patch; an empty string clears an optional field.
    pub fn parse(self) -> Result<ParsedPatch, DomainError> {
        let phone_field = |field: &str, v: Option<String>| -> Result<Option<Option<CallerPhone>>, DomainError> {
            v.map(|raw| {
                let raw = raw.trim();
                if raw.is_empty() {
                    Ok(None)
                } else {
                    CallerPhone::parse(raw)
                        .map(Some)
                        .map_err(|e| DomainError::invalid(field, e.to_string()))
                }
            })
            .transpose()
        };
        let coords = if self.lat.is_some() || self.lon.is_some() {
            Some(parse_coords(self.lat, self.lon)?)
        } else {
            None
        };
        Ok(ParsedPatch {
            phone: phone_field("phone", self.phone)?,
            caller_name: self
                .caller_name
                .map(|n| clean_opt("caller_name", Some(n)))
                .transpose()?,
            callback_number: phone_field("callback_number", self.callback_number)?,
            location: match self.location {
                Some(l) if l.chars().count() > MAX_SHORT_FIELD_CHARS => {
                    return Err(DomainError::invalid("location", "location is too long"));
                }
                l => l.map(|l| l.trim().to_owned()),
            },
            coords,
            jurisdiction: None,
            narrative: self.narrative.map(|n| parse_narrative(&n)).transpose()?,
            suggestion: None,
            category: self.category,
            agency: self.agency,
            priority: self.priority,
        })
    }
}

/// Who is acting, with the role that decides what they may do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    /// For `agency` accounts: the agency whose referrals they work.
    pub agency: Option<Agency>,
}

impl User {
    pub fn as_ref(&self) -> UserRef {
        UserRef {
            id: self.id,
            name: self.name.clone(),
        }
    }
    pub fn is_lead(&self) -> bool {
        Role::LEADS.contains(&self.role)
    }
}

/// Side effects a transition asks the store to carry out in the same transaction.
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    pub unit_status: Option<(UnitId, UnitStatus)>,
    pub referral: Option<Agency>,
}

/// Applies `op` to `inc` on behalf of `actor` at `now`: the whole incident
/// lifecycle lives here. `unit` is the unit named by a dispatch. On error
/// `inc` may be partly changed and must be discarded.
pub fn apply(
    inc: &mut Incident,
    op: IncidentOp,
    actor: &User,
    now: DateTime<Utc>,
    unit: Option<&Unit>,
) -> Result<Effects, DomainError> {
    use Status::*;
    let held_by_other = |inc: &Incident| inc.holder.as_ref().filter(|h| h.id != actor.id).map(|h| h.name.clone());
    // Working a call needs holding it; a lead may act on any call.
    let must_hold = |inc: &Incident| -> Result<(), DomainError> {
        if actor.is_lead() {
            return Ok(());
        }
        match &inc.holder {
            Some(h) if h.id == actor.id => Ok(()),
            Some(h) => Err(DomainError::conflict(
                "held_by_other",
                format!("another operator ({}) already holds this call", h.name),
            )),
            None => Err(DomainError::conflict(
                "not_claimed",
                "take (claim) the call before working on it",
            )),
        }
    };
    let illegal = |what: &str, status: Status| {
        DomainError::conflict("wrong_state", format!("cannot {what} an incident that is {status}"))
    };
    let mut effects = Effects::default();
    match op {
        IncidentOp::Claim => {
            if let Some(name) = held_by_other(inc) {
                return Err(DomainError::conflict(
                    "held_by_other",
                    format!("another operator ({name}) already holds this call"),
                ));
            }
            if inc.status.is_final() {
                return Err(illegal("claim", inc.status));
            }
            if inc.holder.is_none() {
                inc.holder = Some(actor.as_ref());
                inc.held_since = Some(now);
                inc.claimed_at.get_or_insert(now);
            }
            if inc.status == New {
                inc.status = InProgress;
            }
        }
        IncidentOp::Release { reason } => {
            if let Some(name) = held_by_other(inc) {
                if !actor.is_lead() {
                    return Err(DomainError::conflict(
                        "held_by_other",
                        format!("only {name} or a shift lead can release this call"),
                    ));
                }
                // Taking a call from a colleague is an override, reviewed later.
                require_reason(reason.as_deref().unwrap_or_default())?;
            }
            if inc.holder.is_none() {
                return Err(DomainError::conflict("not_held", "this call is not held by anyone"));
            }
            inc.holder = None;
            inc.held_since = None;
            if inc.status == InProgress {
                inc.status = New;
            }
        }
        IncidentOp::Update { patch } => {
            if inc.status.is_final() {
                return Err(illegal("edit", inc.status));
            }
            must_hold(inc)?;
            if let Some(p) = patch.phone {
                inc.caller.phone = p;
            }
            if let Some(n) = patch.caller_name {
                inc.caller.name = n;
            }
            if let Some(c) = patch.callback_number {
                inc.caller.callback_number = c;
            }
            if let Some(l) = patch.location {
                inc.location.text = l;
            }
            if let Some((lat, lon)) = patch.coords {
                inc.location.lat = lat;
                inc.location.lon = lon;
            }
            if let Some(j) = patch.jurisdiction {
                inc.location.jurisdiction = j;
            }
            if let Some(n) = patch.narrative {
                inc.narrative = n;
            }
            if let Some(s) = patch.suggestion {
                inc.suggestion = Some(s);
            }
            if let Some(c) = patch.category {
                inc.category = Some(c);
            }
            if let Some(a) = patch.agency {
                inc.agency = Some(a);
            }
            if let Some(p) = patch.priority {
                inc.priority = Some(p);
            }
        }
        IncidentOp::Dispatch { unit_id, co_notify } => {
            let unit = unit
                .filter(|u| u.id == unit_id)
                .ok_or_else(|| DomainError::invalid("unit_id", format!("unit {unit_id} not found")))?;
            if !inc.status.is_queued() {
                return Err(illegal("dispatch", inc.status));
            }
            must_hold(inc)?;
            if unit.status != UnitStatus::Available {
                return Err(DomainError::conflict(
                    "unit_busy",
                    format!(
                        "unit {} is {} and cannot be dispatched; pick an available unit",
                        unit.name, unit.status
                    ),
                ));
            }
            if co_notify.contains(&Agency::None) {
                return Err(DomainError::invalid("co_notify", "\"none\" is not an agency to notify"));
            }
            inc.status = Dispatched;
            inc.dispatched_at = Some(now);
            inc.unit_id = Some(unit.id);
            inc.co_notify = co_notify;
            // Dispatching on a police suggestion the operator did not change
            // confirms it, as the form showed it prefilled.
            if let Some(s) = inc.suggestion.as_ref().filter(|s| s.category.is_police()) {
                inc.category.get_or_insert(s.category);
                if s.priority != Priority::P4 {
                    inc.priority.get_or_insert(s.priority);
                }
            }
            hand_off(inc, actor);
            effects.unit_status = Some((unit.id, UnitStatus::EnRoute));
        }
        IncidentOp::OnScene => {
            if inc.status != Dispatched {
                return Err(illegal("mark on scene", inc.status));
            }
            inc.status = OnScene;
            inc.on_scene_at = Some(now);
            effects.unit_status = inc.unit_id.map(|u| (u, UnitStatus::OnScene));
        }
        IncidentOp::Resolve => {
            if inc.status != OnScene {
                return Err(illegal("resolve", inc.status));
            }
            inc.status = Resolved;
            inc.closed_at = Some(now);
            effects.unit_status = inc.unit_id.map(|u| (u, UnitStatus::Available));
        }
        IncidentOp::Refer { agency } => {
            if !inc.status.is_queued() {
                return Err(illegal("refer", inc.status));
            }
            must_hold(inc)?;
            if agency == Agency::None {
                return Err(DomainError::invalid("agency", "choose the agency to refer to"));
            }
            inc.status = Referred;
            inc.agency = Some(agency);
            // A referral is a non-police matter by definition.
            inc.category.get_or_insert(Category::NonPolice);
            inc.closed_at = Some(now);
            hand_off(inc, actor);
            effects.referral = Some(agency);
        }
        IncidentOp::Close { reason, note } => {
            if !inc.status.is_queued() {
                return Err(illegal("close", inc.status));
            }
            must_hold(inc)?;
            if reason == CloseReason::Duplicate && inc.duplicate_of.is_none() {
                return Err(DomainError::invalid(
                    "reason",
                    "to close as duplicate, link the incident it duplicates",
                ));
            }
            if reason == CloseReason::Invalid {
                inc.category.get_or_insert(Category::Invalid);
            }
            close(inc, reason, note, now);
            hand_off(inc, actor);
        }
        IncidentOp::LinkDuplicate { of } => {
            if of == inc.id {
                return Err(DomainError::invalid("of", "an incident cannot duplicate itself"));
            }
            if !inc.status.is_queued() {
                return Err(illegal("link", inc.status));
            }
            must_hold(inc)?;
            inc.duplicate_of = Some(of);
            close(inc, CloseReason::Duplicate, Some(format!("duplicate of #{of}")), now);
            hand_off(inc, actor);
        }
        IncidentOp::Unlink => {
            if inc.status != Status::Closed || inc.close_reason != Some(CloseReason::Duplicate) {
                return Err(DomainError::conflict(
                    "not_linked",
                    "this call is not linked as a duplicate",
                ));
            }
            let linked_it = inc.handled_by.as_ref().is_some_and(|u| u.id == actor.id);
            if !linked_it && !actor.is_lead() {
                return Err(DomainError::forbidden(
                    "not_your_link",
                    "only the operator who linked this call or a shift lead can undo the link",
                ));
            }
            inc.status = InProgress;
            inc.duplicate_of = None;
            inc.close_reason = None;
            inc.close_note = None;
            inc.closed_at = None;
            inc.holder = Some(actor.as_ref());
            inc.held_since = Some(now);
        }
        IncidentOp::Reassign { to, reason } => {
            must_lead(actor, "reassign a call")?;
            require_reason(&reason)?;
            if !inc.status.is_queued() {
                return Err(illegal("reassign", inc.status));
            }
            if inc.holder.as_ref().is_some_and(|h| h.id == to.id) {
                return Err(DomainError::conflict(
                    "already_holds",
                    format!("{} already holds this call", to.name),
                ));
            }
            inc.holder = Some(to);
            inc.held_since = Some(now);
            inc.claimed_at.get_or_insert(now);
            inc.status = InProgress;
        }
        IncidentOp::Reprioritise { priority, reason } => {
            must_lead(actor, "change a call's priority")?;
            require_reason(&reason)?;
            if inc.status.is_final() {
                return Err(illegal("reprioritise", inc.status));
            }
            if inc.effective_priority() == priority && inc.priority.is_some() {
                return Err(DomainError::conflict(
                    "already_priority",
                    format!("the call is already {priority}"),
                ));
            }
            inc.priority = Some(priority);
        }
    }
    inc.version += 1;
    inc.updated_at = now;
    Ok(effects)
}

/// The call leaves the operator's hands: remember who disposed of it.
fn hand_off(inc: &mut Incident, actor: &User) {
    inc.holder = None;
    inc.held_since = None;
    inc.handled_by = Some(actor.as_ref());
}

fn must_lead(actor: &User, what: &str) -> Result<(), DomainError> {
    if actor.is_lead() {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            "lead_only",
            format!("only a shift lead can {what}"),
        ))
    }
}

/// A lead's override is audited; the reason is what makes it reviewable.
fn require_reason(reason: &str) -> Result<(), DomainError> {
    let n = reason.trim().chars().count();
    if n == 0 {
        return Err(DomainError::invalid(
            "reason",
            "give a reason; it goes into the audit log",
        ));
    }
    if n > MAX_SHORT_FIELD_CHARS {
        return Err(DomainError::invalid("reason", "the reason is too long"));
    }
    Ok(())
}

fn close(inc: &mut Incident, reason: CloseReason, note: Option<String>, now: DateTime<Utc>) {
    inc.status = Status::Closed;
    inc.close_reason = Some(reason);
    inc.close_note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    inc.closed_at = Some(now);
    if reason == CloseReason::Invalid {
        inc.category = Some(Category::Invalid);
    }
}

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

/// A line added to an incident after its narrative, which it never
/// overwrites: what the caller said next, what a later caller reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Supplement {
    pub id: i64,
    pub incident_id: IncidentId,
    pub at: DateTime<Utc>,
    pub author: UserRef,
    pub text: String,
    /// The merged duplicate whose narrative this is, if any.
    pub from_incident: Option<IncidentId>,
}

/// Invalid calls in 30 days from which a caller gets a nuisance warning —
/// the same rule on the caller-history banner and in triage's reasons.
pub const NUISANCE_INVALID_30D: i64 = 3;

/// Longest supplement accepted, in characters.
pub const MAX_SUPPLEMENT_CHARS: usize = 2000;

pub fn parse_supplement(raw: &str) -> Result<String, DomainError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(DomainError::invalid("text", "the supplement is empty"));
    }
    if text.chars().count() > MAX_SUPPLEMENT_CHARS {
        return Err(DomainError::invalid(
            "text",
            format!("the supplement is too long (at most {MAX_SUPPLEMENT_CHARS} characters)"),
        ));
    }
    Ok(text.to_owned())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallerFlag {
    pub id: i64,
    pub phone: CallerPhone,
    pub flag: CallerFlagKind,
    pub note: String,
    pub created_by: UserRef,
    pub created_at: DateTime<Utc>,
}

/// A short line about a past incident, for caller history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentSummary {
    pub id: IncidentId,
    pub channel: Channel,
    pub received_at: DateTime<Utc>,
    pub status: Status,
    pub category: Option<Category>,
    pub close_reason: Option<CloseReason>,
    pub narrative: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallerHistory {
    pub phone: CallerPhone,
    pub total_calls: i64,
    pub invalid_calls: i64,
    /// Invalid calls in the last 30 days.
    pub invalid_last_30d: i64,
    /// Patrols dispatched to calls that turned out invalid.
    pub wasted_dispatches: i64,
    pub flags: Vec<CallerFlag>,
    pub incidents: Vec<IncidentSummary>,
}

impl CallerHistory {
    /// A warning for the call taker, never a verdict: a known nuisance caller
    /// can still be in real danger.
    pub fn nuisance_warning(&self) -> Option<String> {
        if let Some(f) = self.flags.first() {
            return Some(format!("caller flagged {}: {}", f.flag, f.note));
        }
        (self.invalid_last_30d >= NUISANCE_INVALID_30D)
            .then(|| format!("caller has {} invalid calls in 30 days", self.invalid_last_30d))
    }
}

/// Which audit-log entries to read: the service's query and the console's
/// audit viewer share it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub actor_id: Option<UserId>,
    pub incident_id: Option<IncidentId>,
    /// An event kind or its prefix, e.g. `incident.` or `referral.accepted`.
    pub kind_prefix: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: i64,
}

/// One entry of the append-only event log: the audit trail and the source of
/// the live stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: EventId,
    pub at: DateTime<Utc>,
    pub actor: Option<UserRef>,
    /// e.g. `incident.created`, `incident.claimed`, `unit.status`.
    pub kind: String,
    pub incident_id: Option<IncidentId>,
    pub referral_id: Option<ReferralId>,
    pub unit_id: Option<UnitId>,
    /// The record before the change; `null` for a creation.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The record after the change; `null` when nothing is left.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// The reason a shift lead gave for an override (reassignment, priority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers() {
        for ok in [
            "13804310000",
            "+86 138-0431-0000",
            "043188886666",
            "88886666",
            "12345",
            "0086 15500001111",
        ] {
            assert!(CallerPhone::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "abc", "1380431000", "12804310000", "110x", "123", "0431"] {
            assert!(CallerPhone::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            CallerPhone::parse("+86 138-0431-0000").map(|p| p.0),
            Ok("13804310000".into())
        );
    }

    #[test]
    fn a_code_index_is_its_position_in_all() {
        assert!(Category::ALL.iter().enumerate().all(|(i, c)| c.index() == i));
        assert!(Agency::ALL.iter().enumerate().all(|(i, a)| a.index() == i));
        assert!(Priority::ALL.iter().enumerate().all(|(i, p)| p.index() == i));
        assert!(Channel::ALL.iter().enumerate().all(|(i, c)| c.index() == i));
    }

    #[test]
    fn acting_on_a_call_confirms_the_labels_it_was_shown() {
        let ct = User {
            id: 1,
            name: "ct".into(),
            role: Role::CallTaker,
            agency: None,
        };
        let now = Utc::now();
        let req: IntakeRequest =
            serde_json::from_value(serde_json::json!({"channel": "voice", "narrative": "有人打架"})).expect("request");
        let fresh = |suggested: Category, priority: Priority| {
            let mut new = req.clone().parse(now).expect("valid");
            new.suggestion = Some(Suggestion {
                category: suggested,
                agency: Agency::None,
                priority,
                confidence: 0.9,
                agency_confidence: 0.9,
                priority_confidence: 0.9,
                runner_up: None,
                reasons: vec![],
                nuisance_warning: None,
            });
            Incident::taken_in(&new, Some(ct.as_ref()), now)
        };
        let unit = Unit {
            id: 7,
            code: "U7".into(),
            name: "巡逻1".into(),
            kind: UnitKind::Patrol,
            jurisdiction: "X".into(),
            status: UnitStatus::Available,
            incident_id: None,
            status_since: None,
        };
        let dispatch = IncidentOp::Dispatch {
            unit_id: 7,
            co_notify: vec![],
        };
        // Dispatched on a police suggestion: its category and priority.
        let mut inc = fresh(Category::PublicOrder, Priority::P2);
        apply(&mut inc, dispatch.clone(), &ct, now, Some(&unit)).expect("dispatch");
        assert_eq!(
            (inc.category, inc.priority),
            (Some(Category::PublicOrder), Some(Priority::P2))
        );
        // The operator's own choice is never overwritten.
        let mut inc = fresh(Category::PublicOrder, Priority::P2);
        inc.category = Some(Category::Criminal);
        apply(&mut inc, dispatch.clone(), &ct, now, Some(&unit)).expect("dispatch");
        assert_eq!(inc.category, Some(Category::Criminal));
        // A police unit sent on a non-police suggestion: nothing is assumed.
        let mut inc = fresh(Category::NonPolice, Priority::P4);
        apply(&mut inc, dispatch, &ct, now, Some(&unit)).expect("dispatch");
        assert_eq!((inc.category, inc.priority), (None, None));
        // A referral is non-police; closing as invalid is invalid.
        let mut inc = fresh(Category::PublicOrder, Priority::P3);
        apply(
            &mut inc,
            IncidentOp::Refer {
                agency: Agency::Telecom,
            },
            &ct,
            now,
            None,
        )
        .expect("refer");
        assert_eq!(inc.category, Some(Category::NonPolice));
        let mut inc = fresh(Category::Criminal, Priority::P2);
        let close = IncidentOp::Close {
            reason: CloseReason::Invalid,
            note: None,
        };
        apply(&mut inc, close, &ct, now, None).expect("close");
        assert_eq!(inc.category, Some(Category::Invalid));
    }
}
