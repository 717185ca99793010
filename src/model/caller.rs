//! Callers: the phone number as the centre keys it, what a caller said
//! about themselves, their flags and their history with the centre.

use super::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

/// Invalid calls in 30 days from which a caller gets a nuisance warning —
/// the same rule on the caller-history banner and in triage's reasons.
pub const NUISANCE_INVALID_30D: i64 = 3;

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
