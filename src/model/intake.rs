//! Input into valid values: a new call's fields, an operator's edits and
//! supplements, with the limits on each.

use super::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest narrative accepted, in characters: a long web tip fits, a pasted
/// novel does not.
pub const MAX_NARRATIVE_CHARS: usize = 10_000;
pub(super) const MAX_SHORT_FIELD_CHARS: usize = 200;

/// A required short note (a reason, what was done): trimmed, not empty, at
/// most [`MAX_SHORT_FIELD_CHARS`]; `what` names it in the error.
pub(super) fn short_note(field: &str, text: &str, what: &str) -> Result<String, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DomainError::invalid(field, format!("{what} is empty")));
    }
    if text.chars().count() > MAX_SHORT_FIELD_CHARS {
        return Err(DomainError::invalid(
            field,
            format!("{what} is too long (at most {MAX_SHORT_FIELD_CHARS} characters)"),
        ));
    }
    Ok(text.to_owned())
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

pub(super) fn clean_opt(field: &str, value: Option<String>) -> Result<Option<String>, DomainError> {
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

/// A position as given on the wire (an intake, an edit, a unit's report),
/// with the field at fault named.
pub fn parse_point(lat: f64, lon: f64) -> Result<geo::GeoPoint, DomainError> {
    if !(-90.0..=90.0).contains(&lat) {
        return Err(DomainError::invalid("lat", "latitude must be between -90 and 90"));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(DomainError::invalid("lon", "longitude must be between -180 and 180"));
    }
    Ok(geo::GeoPoint::new(lat, lon))
}

pub(super) fn parse_coords(lat: Option<f64>, lon: Option<f64>) -> Result<(Option<f64>, Option<f64>), DomainError> {
    match (lat, lon) {
        (None, None) => Ok((None, None)),
        (Some(lat), Some(lon)) => parse_point(lat, lon).map(|p| (Some(p.lat), Some(p.lon))),
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
                source: None,
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

#[derive(Debug, Clone, Default)]
pub struct ParsedPatch {
    pub phone: Option<Option<CallerPhone>>,
    pub caller_name: Option<Option<String>>,
    pub callback_number: Option<Option<CallerPhone>>,
    pub location: Option<String>,
    pub coords: Option<(Option<f64>, Option<f64>)>,
    /// Set by the service with `coords`: where they came from.
    pub location_source: Option<Option<LocationSource>>,
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
            location_source: None,
            jurisdiction: None,
            narrative: self.narrative.map(|n| parse_narrative(&n)).transpose()?,
            suggestion: None,
            category: self.category,
            agency: self.agency,
            priority: self.priority,
        })
    }
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
