//! The audit trail's entries and the filter a lead reads them with.

use super::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
