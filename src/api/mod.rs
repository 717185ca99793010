//! The wire: every request and response body and every query of `/api/v1`
//! that is not a domain type of [`crate::model`], shared by the service's
//! handlers, the client, the console and the simulator. Renaming a field
//! here is a compile error on both sides.
//!
//! Owns: shapes and their OpenAPI descriptions. Must not touch: behaviour —
//! handlers live in [`crate::server`], rules in [`crate::model`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::model::address::ResolvedPlace;
use crate::model::gazetteer::{Jurisdiction, Offer};
use crate::model::{
    Agency, CallerFlagKind, Category, Channel, CloseReason, EventId, FollowupChannel, Incident, IncidentId, Priority,
    Referral, ReferralReview, ReferralStatus, ReturnReason, Role, Satisfaction, Status, UnitId, UnitStatus, User,
    UserId,
};

// ---------------------------------------------------------------- errors

/// The body of every error response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_input`, `conflict`.
    pub code: String,
    /// What went wrong and what to do, for a person.
    pub message: String,
    /// The offending input field, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

// ---------------------------------------------------------------- sign-in and accounts

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "ct01", "password": "a-long-password"}))]
pub struct LoginRequest {
    #[schema(max_length = 200, pattern = "^[^\\u0000]*$")]
    pub name: String,
    #[schema(max_length = 1000, pattern = "^[^\\u0000]*$")]
    pub password: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "ct02", "role": "call_taker", "password": "a-long-password"}))]
pub struct NewUserRequest {
    /// 1–64 characters, no leading or trailing spaces.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]([^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?$"
    )]
    pub name: String,
    pub role: Role,
    /// Required for (and only for) an `agency` account.
    pub agency: Option<Agency>,
    #[schema(min_length = 8, max_length = 1000, pattern = "^[^\\u0000]*$")]
    pub password: String,
}

// ---------------------------------------------------------------- incidents: queries, lifecycle bodies, and what the desk is offered

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    pub channel: Option<Channel>,
    pub status: Option<Status>,
    pub category: Option<Category>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapQuery {
    /// The heat layer's window in hours (1–168, default 24).
    #[param(minimum = 1, maximum = 168)]
    pub hours: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// At most this many, newest first (default 1000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "ct01 left the desk"}))]
pub struct ReleaseRequest {
    /// Required when a shift lead frees a call another operator holds; it
    /// goes into the audit log.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub reason: Option<String>,
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"unit_id": 1, "co_notify": ["119"]}))]
pub struct DispatchRequest {
    pub unit_id: UnitId,
    /// Agencies to notify as well ("police first": fire → 119, injuries → 120).
    #[serde(default)]
    pub co_notify: Vec<Agency>,
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"agency": "12345"}))]
pub struct ReferRequest {
    pub agency: Agency,
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ReferResponse {
    pub incident: Incident,
    /// The work order; read its number to the caller.
    pub referral: Referral,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "invalid", "note": "caller laughing, no matter stated"}))]
pub struct CloseRequest {
    /// `invalid` or `advice`; a duplicate is linked (`/link`), not closed.
    pub reason: CloseReason,
    #[schema(max_length = 2000, pattern = "^[^\\u0000]*$")]
    pub note: Option<String>,
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"of": 1}))]
pub struct LinkRequest {
    /// The incident this one duplicates.
    pub of: IncidentId,
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "对方有三个人，往工农大路方向跑了"}))]
pub struct SupplementRequest {
    /// What the caller (or a later caller) added, 1–2000 characters.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub text: String,
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"version": 4}))]
pub struct UnlinkRequest {
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct DuplicateCandidate {
    pub incident: Incident,
    /// Score, reasons, minutes apart and metres, as `model::duplicates` found them.
    #[serde(flatten)]
    pub evidence: crate::model::duplicates::DuplicateEvidence,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct Recommendation {
    /// The station area the location resolved to; `None` when the gazetteer
    /// knows no place precise enough in it.
    pub jurisdiction: Option<Jurisdiction>,
    /// How the location was read: the division, the words that decided
    /// it, a point and a confidence; `None` when no place was found.
    #[serde(default)]
    pub place: Option<ResolvedPlace>,
    /// Available units, best first: by kind for the call (traffic police
    /// for a road accident), then by straight-line distance, then those
    /// covering the jurisdiction.
    pub units: Vec<Offer>,
}

/// A unit's position as its terminal reports it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lat": 43.8868, "lon": 125.3245}))]
pub struct PositionRequest {
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
}

// ---------------------------------------------------------------- the shift lead's overrides and reports

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": 2, "reason": "ct01 went on a break"}))]
pub struct ReassignRequest {
    /// The operator who takes the call over.
    pub to: UserId,
    /// Why; it is kept with the event in the audit log.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// Start of the range; default: the start of the current shift.
    pub from: Option<DateTime<Utc>>,
    /// End of the range (exclusive, after `from`, at most a year later);
    /// default: the end of the current shift.
    pub to: Option<DateTime<Utc>>,
    /// Answer threshold in seconds (default 15, the NENA standard).
    #[param(minimum = 1, maximum = 86400)]
    pub answer_secs: Option<i64>,
    /// Dispatch threshold in seconds (default 60, NFPA 1225).
    #[param(minimum = 1, maximum = 86400)]
    pub dispatch_secs: Option<i64>,
    /// Order-acknowledged threshold in seconds from dispatch (default 30).
    #[param(minimum = 1, maximum = 86400)]
    pub ack_secs: Option<i64>,
    /// Police-out threshold in seconds from the call (default 300).
    #[param(minimum = 1, maximum = 86400)]
    pub out_secs: Option<i64>,
    /// Feedback threshold in seconds from dispatch to resolved (default 1800).
    #[param(minimum = 1, maximum = 86400)]
    pub feedback_secs: Option<i64>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"priority": "P1", "reason": "a child is inside"}))]
pub struct PriorityRequest {
    pub priority: Priority,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NuisanceParams {
    /// Default: 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// Default: now.
    pub to: Option<DateTime<Utc>>,
    /// At most this many numbers (default 50, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QaParams {
    /// Default: the start of the current shift.
    pub from: Option<DateTime<Utc>>,
    /// Default: the end of the current shift; at most 31 days after `from`.
    pub to: Option<DateTime<Utc>>,
    /// Only calls that failed a check (for `/qa/calls`).
    pub failed: Option<bool>,
    /// P1 dispatch limit in seconds (default 60, NFPA 1225).
    #[param(minimum = 1, maximum = 86400)]
    pub p1_dispatch_secs: Option<i64>,
    /// Hang-up call-back limit in seconds (default 600).
    #[param(minimum = 1, maximum = 86400)]
    pub callback_secs: Option<i64>,
    /// Only the calls drawn for a hand review (for `/qa/calls`).
    pub sampled: Option<bool>,
}

/// A shift lead's hand review of a call.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"score": 70, "note": "地点未核实就派警，下次先复述地址"}))]
pub struct QaReviewRequest {
    #[schema(minimum = 0, maximum = 100)]
    pub score: i64,
    /// What to coach the operator on.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub note: String,
}

// ---------------------------------------------------------------- units, referrals, callbacks, callers, audit, operations

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "on_scene"}))]
pub struct UnitStatusRequest {
    /// Any status but `assigned`, which only a dispatch sets; `en_route`
    /// for an assigned unit is its signature for the order.
    #[schema(schema_with = manual_unit_status)]
    pub status: UnitStatus,
}

/// The statuses a unit can be moved to by hand.
fn manual_unit_status() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(
            UnitStatus::ALL
                .iter()
                .filter(|s| **s != UnitStatus::Assigned)
                .map(|s| s.as_str()),
        ))
        .build()
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReferralQuery {
    pub status: Option<ReferralStatus>,
    /// Only orders still in play (not closed or withdrawn), however old.
    pub open: Option<bool>,
    pub agency: Option<Agency>,
    pub incident_id: Option<IncidentId>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "维修队已到场"}))]
pub struct FeedbackRequest {
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub text: String,
}

/// An agency hands a referral back to 110.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "police_first", "note": "现场有人持械，需公安先到"}))]
pub struct ReturnRequest {
    pub reason: ReturnReason,
    /// What the agency found; the shift lead reads it before deciding.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub note: String,
}

/// A three-way call (三方通话) that settled whose matter a referral is.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"parties": "来电人、110、12345热线"}))]
pub struct ThreeWayRequest {
    /// Who took part.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub parties: String,
}

/// What a shift lead decides about a returned referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Send it to the same agency again.
    Insist,
    /// Withdraw it and refer to `agency`.
    Reroute,
    /// Withdraw it; the call goes back to the 110 queue.
    TakeBack,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "reroute", "agency": "utilities", "note": "供水归水务，已与12345三方通话确认"}))]
pub struct ReviewRequest {
    pub decision: ReviewDecision,
    /// The agency to re-route to (only with `reroute`).
    pub agency: Option<Agency>,
    /// Why; kept with the event in the audit log.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub note: String,
}

impl ReviewRequest {
    /// The domain decision; `Err` names the field at fault.
    pub fn into_review(self) -> Result<ReferralReview, (&'static str, &'static str)> {
        let note = self.note;
        match (self.decision, self.agency) {
            (ReviewDecision::Insist, None) => Ok(ReferralReview::Insist { note }),
            (ReviewDecision::TakeBack, None) => Ok(ReferralReview::TakeBack { note }),
            (ReviewDecision::Reroute, Some(agency)) => Ok(ReferralReview::Reroute { agency, note }),
            (ReviewDecision::Reroute, None) => Err(("agency", "name the agency to re-route to")),
            (_, Some(_)) => Err(("agency", "an agency is named only to re-route")),
        }
    }

    pub fn from_review(review: &ReferralReview) -> ReviewRequest {
        let (decision, agency) = match review {
            ReferralReview::Insist { .. } => (ReviewDecision::Insist, None),
            ReferralReview::Reroute { agency, .. } => (ReviewDecision::Reroute, Some(*agency)),
            ReferralReview::TakeBack { .. } => (ReviewDecision::TakeBack, None),
        };
        ReviewRequest {
            decision,
            agency,
            note: review.note().to_owned(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FollowupQuery {
    /// Only those still to do (default true).
    pub open: Option<bool>,
    pub channel: Option<FollowupChannel>,
    pub incident_id: Option<IncidentId>,
}

/// What the caller said when followed up.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"outcome": "dissatisfied", "reason": "民警四十分钟才到"}))]
pub struct FollowupRequest {
    pub outcome: Satisfaction,
    /// Why, in the caller's words; required when dissatisfied.
    #[schema(max_length = 200, pattern = "^[^\\u0000]*$")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RectificationQuery {
    /// Only those still open (default true).
    pub open: Option<bool>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "已约谈出警民警，向来电人致歉"}))]
pub struct CloseRectificationRequest {
    /// What was done about the complaint.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub note: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// Only open tasks (default true).
    pub open: Option<bool>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"outcome": "reached the caller, pocket dial"}))]
pub struct CloseCallbackRequest {
    /// What the call back found, e.g. "misdialled, no help needed".
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub outcome: String,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"flag": "abusive", "note": "12 abusive calls this week"}))]
pub struct FlagRequest {
    pub flag: CallerFlagKind,
    /// Why: the evidence a colleague can check.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub note: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub actor_id: Option<UserId>,
    pub incident_id: Option<IncidentId>,
    /// Event kind or its prefix, e.g. `incident.` or `referral.accepted`.
    #[param(max_length = 200, pattern = "^[^\\u0000]*$")]
    pub kind: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Newest first, at most this many (default 500).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ReloadResponse {
    /// Phrases in the rule set now in use.
    pub phrases: usize,
}

// ---------------------------------------------------------------- the live event stream

#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Replay events after this id (same as the Last-Event-ID header, which wins).
    pub after: Option<EventId>,
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    /// The "non-blank" pattern, rebuilt from what `str::trim` removes: no
    /// NUL, and at least one character that is not Unicode white space.
    fn non_blank_pattern() -> String {
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for c in (0..=0x10FFFF).filter_map(char::from_u32).filter(|c| c.is_whitespace()) {
            match ranges.last_mut() {
                Some((_, hi)) if *hi + 1 == c as u32 => *hi = c as u32,
                _ => ranges.push((c as u32, c as u32)),
            }
        }
        let one = |c: u32| match c {
            0x09 => "\\t".to_owned(),
            0x0d => "\\r".to_owned(),
            0x20 => " ".to_owned(),
            c => format!("\\u{c:04x}"),
        };
        let class: String = ranges
            .iter()
            .map(|&(lo, hi)| match hi - lo {
                0 => one(lo),
                1 => format!("{}{}", one(lo), one(hi)),
                _ => format!("{}-{}", one(lo), one(hi)),
            })
            .collect();
        format!("^[^\\u0000]*[^\\u0000{class}][^\\u0000]*$")
    }

    /// utoipa takes only a literal for `pattern`, so the non-blank pattern is
    /// written out on each field; this keeps every copy equal to what the
    /// service's trim-based checks accept.
    #[test]
    fn every_non_blank_field_carries_the_pattern_trim_implies() {
        let expected = non_blank_pattern();
        let schemas = [
            ("ReleaseRequest", super::ReleaseRequest::schema()),
            ("SupplementRequest", super::SupplementRequest::schema()),
            ("ReassignRequest", super::ReassignRequest::schema()),
            ("PriorityRequest", super::PriorityRequest::schema()),
            ("FeedbackRequest", super::FeedbackRequest::schema()),
            ("ReturnRequest", super::ReturnRequest::schema()),
            ("ReviewRequest", super::ReviewRequest::schema()),
            ("CloseRectificationRequest", super::CloseRectificationRequest::schema()),
            ("ThreeWayRequest", super::ThreeWayRequest::schema()),
            ("QaReviewRequest", super::QaReviewRequest::schema()),
            ("CloseCallbackRequest", super::CloseCallbackRequest::schema()),
            ("FlagRequest", super::FlagRequest::schema()),
            ("IncidentPatch", crate::model::IncidentPatch::schema()),
        ];
        let mut seen = 0;
        for (name, schema) in schemas {
            let json = serde_json::to_value(schema).expect("schema");
            for (field, prop) in json["properties"].as_object().expect("properties") {
                let Some(p) = prop["pattern"].as_str() else { continue };
                if p.contains("\\t-\\r") {
                    assert_eq!(p, expected, "{name}.{field}");
                    seen += 1;
                }
            }
        }
        assert_eq!(seen, 13, "the thirteen non-blank text fields");
    }
}
