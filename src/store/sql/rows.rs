//! Row types and their column lists: how an incident, user, unit, referral,
//! callback, supplement, flag, queue line or event is laid out in SQL and
//! read back (a value that does not read is an error, never a default).

use super::*;
use crate::model::geo::GeoPoint;

/// The columns of a unit, in [`UnitRow`] order.
macro_rules! unit_cols {
    () => {
        "id, code, name, kind, jurisdiction, status, incident_id, updated_at, lat, lon, position_at"
    };
}
pub(super) const SELECT_UNITS: &str = concat!("SELECT ", unit_cols!(), " FROM units ORDER BY code");
pub(super) const SELECT_UNIT: &str = concat!("SELECT ", unit_cols!(), " FROM units WHERE id = $1");

pub(super) const INCIDENT_COLS: &str = "id, channel, phone, caller_name, wechat_id, web_account, callback_number, \
    location_text, lat, lon, jurisdiction, narrative, received_at, category, agency, priority, suggestion, \
    sugg_category, sugg_priority, status, holder_id, holder_name, claimed_at, dispatched_at, on_scene_at, \
    closed_at, close_reason, close_note, duplicate_of, unit_id, co_notify, disconnect, version, updated_at, \
    held_since, handled_by_id, handled_by_name, acknowledged_at, category_set_at, warning_read_at, location_source";

/// Binds an [`IncidentRow`]'s columns after `id`, in [`INCIDENT_COLS`] order ($1..$40).
macro_rules! bind_incident {
    ($q:expr, $r:expr) => {
        $q.bind(&$r.channel)
            .bind(&$r.phone)
            .bind(&$r.caller_name)
            .bind(&$r.wechat_id)
            .bind(&$r.web_account)
            .bind(&$r.callback_number)
            .bind(&$r.location_text)
            .bind($r.lat)
            .bind($r.lon)
            .bind(&$r.jurisdiction)
            .bind(&$r.narrative)
            .bind($r.received_at)
            .bind(&$r.category)
            .bind(&$r.agency)
            .bind(&$r.priority)
            .bind(&$r.suggestion)
            .bind(&$r.sugg_category)
            .bind(&$r.sugg_priority)
            .bind(&$r.status)
            .bind($r.holder_id)
            .bind(&$r.holder_name)
            .bind($r.claimed_at)
            .bind($r.dispatched_at)
            .bind($r.on_scene_at)
            .bind($r.closed_at)
            .bind(&$r.close_reason)
            .bind(&$r.close_note)
            .bind($r.duplicate_of)
            .bind($r.unit_id)
            .bind(&$r.co_notify)
            .bind(&$r.disconnect)
            .bind($r.version)
            .bind($r.updated_at)
            .bind($r.held_since)
            .bind($r.handled_by_id)
            .bind(&$r.handled_by_name)
            .bind($r.acknowledged_at)
            .bind($r.category_set_at)
            .bind($r.warning_read_at)
            .bind(&$r.location_source)
    };
}

pub(super) const INSERT_INCIDENT: &str = "INSERT INTO incidents (channel, phone, caller_name, wechat_id, web_account, \
    callback_number, location_text, lat, lon, jurisdiction, narrative, received_at, category, agency, priority, \
    suggestion, sugg_category, sugg_priority, status, holder_id, holder_name, claimed_at, dispatched_at, \
    on_scene_at, closed_at, close_reason, close_note, duplicate_of, unit_id, co_notify, disconnect, version, \
    updated_at, held_since, handled_by_id, handled_by_name, acknowledged_at, category_set_at, warning_read_at, \
    location_source, idem_key, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
    $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, \
    $41, $42) ON CONFLICT (idem_key) DO NOTHING RETURNING id";

pub(super) const UPDATE_INCIDENT: &str = "UPDATE incidents SET channel = $1, phone = $2, caller_name = $3, wechat_id = $4, \
    web_account = $5, callback_number = $6, location_text = $7, lat = $8, lon = $9, jurisdiction = $10, \
    narrative = $11, received_at = $12, category = $13, agency = $14, priority = $15, suggestion = $16, \
    sugg_category = $17, sugg_priority = $18, status = $19, holder_id = $20, holder_name = $21, claimed_at = $22, \
    dispatched_at = $23, on_scene_at = $24, closed_at = $25, close_reason = $26, close_note = $27, \
    duplicate_of = $28, unit_id = $29, co_notify = $30, disconnect = $31, version = $32, updated_at = $33, \
    held_since = $34, handled_by_id = $35, handled_by_name = $36, acknowledged_at = $37, category_set_at = $38, \
    warning_read_at = $39, location_source = $40 WHERE id = $41 AND version = $42";

#[derive(sqlx::FromRow)]
pub(super) struct IncidentRow {
    pub(super) id: i64,
    pub(super) channel: String,
    pub(super) phone: Option<String>,
    pub(super) caller_name: Option<String>,
    pub(super) wechat_id: Option<String>,
    pub(super) web_account: Option<String>,
    pub(super) callback_number: Option<String>,
    pub(super) location_text: String,
    pub(super) lat: Option<f64>,
    pub(super) lon: Option<f64>,
    pub(super) jurisdiction: Option<String>,
    pub(super) narrative: String,
    pub(super) received_at: i64,
    pub(super) category: Option<String>,
    pub(super) agency: Option<String>,
    pub(super) priority: Option<String>,
    pub(super) suggestion: Option<String>,
    pub(super) sugg_category: Option<String>,
    pub(super) sugg_priority: Option<String>,
    pub(super) status: String,
    pub(super) holder_id: Option<i64>,
    pub(super) holder_name: Option<String>,
    pub(super) claimed_at: Option<i64>,
    pub(super) dispatched_at: Option<i64>,
    pub(super) on_scene_at: Option<i64>,
    pub(super) closed_at: Option<i64>,
    pub(super) close_reason: Option<String>,
    pub(super) close_note: Option<String>,
    pub(super) duplicate_of: Option<i64>,
    pub(super) unit_id: Option<i64>,
    pub(super) co_notify: String,
    pub(super) disconnect: Option<String>,
    pub(super) version: i64,
    pub(super) updated_at: i64,
    pub(super) held_since: Option<i64>,
    pub(super) handled_by_id: Option<i64>,
    pub(super) handled_by_name: Option<String>,
    pub(super) acknowledged_at: Option<i64>,
    pub(super) category_set_at: Option<i64>,
    pub(super) warning_read_at: Option<i64>,
    pub(super) location_source: Option<String>,
}

impl IncidentRow {
    pub(super) fn from_model(i: &Incident) -> Result<Self> {
        let code = |c: Option<&'static str>| c.map(str::to_owned);
        Ok(IncidentRow {
            id: i.id,
            channel: i.channel.as_str().to_owned(),
            phone: i.caller.phone.as_ref().map(|p| p.as_str().to_owned()),
            caller_name: i.caller.name.clone(),
            wechat_id: i.caller.wechat_id.clone(),
            web_account: i.caller.web_account.clone(),
            callback_number: i.caller.callback_number.as_ref().map(|p| p.as_str().to_owned()),
            location_text: i.location.text.clone(),
            lat: i.location.lat,
            lon: i.location.lon,
            jurisdiction: i.location.jurisdiction.clone(),
            location_source: code(i.location.source.map(|c| c.as_str())),
            narrative: i.narrative.clone(),
            received_at: ms(i.received_at),
            category: code(i.category.map(|c| c.as_str())),
            agency: code(i.agency.map(|c| c.as_str())),
            priority: code(i.priority.map(|c| c.as_str())),
            suggestion: i.suggestion.as_ref().map(to_json).transpose()?.flatten(),
            sugg_category: code(i.suggestion.as_ref().map(|s| s.category.as_str())),
            sugg_priority: code(i.suggestion.as_ref().map(|s| s.priority.as_str())),
            status: i.status.as_str().to_owned(),
            holder_id: i.holder.as_ref().map(|h| h.id),
            holder_name: i.holder.as_ref().map(|h| h.name.clone()),
            claimed_at: i.claimed_at.map(ms),
            dispatched_at: i.dispatched_at.map(ms),
            on_scene_at: i.on_scene_at.map(ms),
            closed_at: i.closed_at.map(ms),
            close_reason: code(i.close_reason.map(|c| c.as_str())),
            close_note: i.close_note.clone(),
            duplicate_of: i.duplicate_of,
            unit_id: i.unit_id,
            co_notify: i.co_notify.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(","),
            disconnect: code(i.disconnect.map(|d| d.as_str())),
            version: i.version,
            updated_at: ms(i.updated_at),
            held_since: i.held_since.map(ms),
            handled_by_id: i.handled_by.as_ref().map(|h| h.id),
            handled_by_name: i.handled_by.as_ref().map(|h| h.name.clone()),
            acknowledged_at: i.acknowledged_at.map(ms),
            category_set_at: i.category_set_at.map(ms),
            warning_read_at: i.warning_read_at.map(ms),
        })
    }

    pub(super) fn into_model(self) -> Result<Incident> {
        Ok(Incident {
            id: self.id,
            channel: parse("channel", &self.channel)?,
            caller: Caller {
                phone: phone(self.phone)?,
                name: self.caller_name,
                wechat_id: self.wechat_id,
                web_account: self.web_account,
                callback_number: phone(self.callback_number)?,
            },
            location: Location {
                text: self.location_text,
                lat: self.lat,
                lon: self.lon,
                jurisdiction: self.jurisdiction,
                source: parse_opt("location source", self.location_source.as_deref())?,
            },
            narrative: self.narrative,
            received_at: read_ts(self.received_at)?,
            category: parse_opt("category", self.category.as_deref())?,
            agency: parse_opt("agency", self.agency.as_deref())?,
            priority: parse_opt("priority", self.priority.as_deref())?,
            suggestion: self
                .suggestion
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt("suggestion", e))?,
            status: parse("status", &self.status)?,
            holder: self.holder_id.map(|id| UserRef {
                id,
                name: self.holder_name.unwrap_or_default(),
            }),
            held_since: self.held_since.map(read_ts).transpose()?,
            handled_by: self.handled_by_id.map(|id| UserRef {
                id,
                name: self.handled_by_name.unwrap_or_default(),
            }),
            claimed_at: self.claimed_at.map(read_ts).transpose()?,
            dispatched_at: self.dispatched_at.map(read_ts).transpose()?,
            acknowledged_at: self.acknowledged_at.map(read_ts).transpose()?,
            on_scene_at: self.on_scene_at.map(read_ts).transpose()?,
            closed_at: self.closed_at.map(read_ts).transpose()?,
            close_reason: parse_opt("close_reason", self.close_reason.as_deref())?,
            close_note: self.close_note,
            duplicate_of: self.duplicate_of,
            unit_id: self.unit_id,
            co_notify: self
                .co_notify
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| parse::<Agency>("co_notify", s))
                .collect::<Result<_>>()?,
            disconnect: parse_opt("disconnect", self.disconnect.as_deref())?,
            category_set_at: self.category_set_at.map(read_ts).transpose()?,
            warning_read_at: self.warning_read_at.map(read_ts).transpose()?,
            version: self.version,
            updated_at: read_ts(self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) role: String,
    pub(super) agency: Option<String>,
    pub(super) password_hash: String,
}

impl UserRow {
    pub(super) fn into_model(self) -> Result<(User, String)> {
        Ok((
            User {
                id: self.id,
                name: self.name,
                role: parse("role", &self.role)?,
                agency: parse_opt("agency", self.agency.as_deref())?,
            },
            self.password_hash,
        ))
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct UnitRow {
    pub(super) id: i64,
    pub(super) code: String,
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) jurisdiction: String,
    pub(super) status: String,
    pub(super) incident_id: Option<i64>,
    /// Set whenever the status changes, so it is the time in status.
    pub(super) updated_at: i64,
    pub(super) lat: Option<f64>,
    pub(super) lon: Option<f64>,
    pub(super) position_at: Option<i64>,
}

impl UnitRow {
    pub(super) fn into_model(self) -> Result<Unit> {
        Ok(Unit {
            id: self.id,
            code: self.code,
            name: self.name,
            kind: parse("unit kind", &self.kind)?,
            jurisdiction: self.jurisdiction,
            status: parse("unit status", &self.status)?,
            incident_id: self.incident_id,
            status_since: Some(read_ts(self.updated_at)?),
            at: match (self.lat, self.lon) {
                (Some(lat), Some(lon)) => Some(GeoPoint::new(lat, lon)),
                _ => None,
            },
            position_at: self.position_at.map(read_ts).transpose()?,
        })
    }
}

pub(super) const REFERRAL_COLS: &str = "id, number, incident_id, agency, status, feedback, created_at, due_at, accepted_at, feedback_at, closed_at, \
     return_reason, return_note, returned_at, review_note, reviewed_at, replaces, three_way_parties, three_way_at, \
     feedback_due_at, close_due_at";

#[derive(sqlx::FromRow)]
pub(super) struct ReferralRow {
    pub(super) id: i64,
    pub(super) number: String,
    pub(super) incident_id: i64,
    pub(super) agency: String,
    pub(super) status: String,
    pub(super) feedback: Option<String>,
    pub(super) created_at: i64,
    pub(super) due_at: i64,
    pub(super) accepted_at: Option<i64>,
    pub(super) feedback_at: Option<i64>,
    pub(super) closed_at: Option<i64>,
    pub(super) return_reason: Option<String>,
    pub(super) return_note: Option<String>,
    pub(super) returned_at: Option<i64>,
    pub(super) review_note: Option<String>,
    pub(super) reviewed_at: Option<i64>,
    pub(super) replaces: Option<i64>,
    pub(super) three_way_parties: Option<String>,
    pub(super) three_way_at: Option<i64>,
    pub(super) feedback_due_at: Option<i64>,
    pub(super) close_due_at: Option<i64>,
}

impl ReferralRow {
    pub(super) fn into_model(self, now: DateTime<Utc>) -> Result<Referral> {
        let status: ReferralStatus = parse("referral status", &self.status)?;
        let mut r = Referral {
            id: self.id,
            number: self.number,
            incident_id: self.incident_id,
            agency: parse("agency", &self.agency)?,
            status,
            feedback: self.feedback,
            created_at: read_ts(self.created_at)?,
            due_at: read_ts(self.due_at)?,
            accepted_at: self.accepted_at.map(read_ts).transpose()?,
            feedback_due_at: self.feedback_due_at.map(read_ts).transpose()?,
            close_due_at: self.close_due_at.map(read_ts).transpose()?,
            feedback_at: self.feedback_at.map(read_ts).transpose()?,
            closed_at: self.closed_at.map(read_ts).transpose()?,
            overdue: false,
            return_reason: parse_opt("return reason", self.return_reason.as_deref())?,
            return_note: self.return_note,
            returned_at: self.returned_at.map(read_ts).transpose()?,
            review_note: self.review_note,
            reviewed_at: self.reviewed_at.map(read_ts).transpose()?,
            replaces: self.replaces,
            three_way_parties: self.three_way_parties,
            three_way_at: self.three_way_at.map(read_ts).transpose()?,
        };
        r.overdue = r.deadline().is_some_and(|d| now > d);
        Ok(r)
    }
}

pub(super) const CALLBACK_COLS: &str =
    "id, incident_id, phone, reason, status, outcome, created_at, closed_at, closed_by_id, closed_by_name";

#[derive(sqlx::FromRow)]
pub(super) struct CallbackRow {
    pub(super) id: i64,
    pub(super) incident_id: i64,
    pub(super) phone: Option<String>,
    pub(super) reason: String,
    pub(super) status: String,
    pub(super) outcome: Option<String>,
    pub(super) created_at: i64,
    pub(super) closed_at: Option<i64>,
    pub(super) closed_by_id: Option<i64>,
    pub(super) closed_by_name: Option<String>,
}

impl CallbackRow {
    pub(super) fn into_model(self) -> Result<Callback> {
        Ok(Callback {
            id: self.id,
            incident_id: self.incident_id,
            phone: phone(self.phone)?,
            reason: parse("callback reason", &self.reason)?,
            status: parse("callback status", &self.status)?,
            outcome: self.outcome,
            created_at: read_ts(self.created_at)?,
            closed_at: self.closed_at.map(read_ts).transpose()?,
            closed_by: self.closed_by_id.map(|id| UserRef {
                id,
                name: self.closed_by_name.unwrap_or_default(),
            }),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SupplementRow {
    pub(super) id: i64,
    pub(super) incident_id: i64,
    pub(super) at: i64,
    pub(super) author_id: i64,
    pub(super) author_name: String,
    pub(super) text: String,
    pub(super) from_incident: Option<i64>,
}

pub(super) const SUPPLEMENT_COLS: &str = "id, incident_id, at, author_id, author_name, text, from_incident";

impl SupplementRow {
    pub(super) fn into_model(self) -> Result<Supplement> {
        Ok(Supplement {
            id: self.id,
            incident_id: self.incident_id,
            at: read_ts(self.at)?,
            author: UserRef {
                id: self.author_id,
                name: self.author_name,
            },
            text: self.text,
            from_incident: self.from_incident,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct FlagRow {
    pub(super) id: i64,
    pub(super) phone: String,
    pub(super) flag: String,
    pub(super) note: String,
    pub(super) created_by_id: i64,
    pub(super) created_by_name: String,
    pub(super) created_at: i64,
}

impl FlagRow {
    pub(super) fn into_model(self) -> Result<CallerFlag> {
        Ok(CallerFlag {
            id: self.id,
            phone: CallerPhone::parse(&self.phone).map_err(|e| corrupt("flag phone", e))?,
            flag: parse("flag", &self.flag)?,
            note: self.note,
            created_by: UserRef {
                id: self.created_by_id,
                name: self.created_by_name,
            },
            created_at: read_ts(self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct QueueRow {
    pub(super) id: i64,
    pub(super) channel: String,
    pub(super) shown_caller: Option<String>,
    pub(super) received_at: i64,
    pub(super) shown_priority: String,
    pub(super) shown_category: Option<String>,
    pub(super) status: String,
    pub(super) holder_id: Option<i64>,
    pub(super) holder_name: Option<String>,
    pub(super) held_since: Option<i64>,
    pub(super) disconnect: Option<String>,
    pub(super) summary: String,
    pub(super) version: i64,
    pub(super) lat: Option<f64>,
    pub(super) lon: Option<f64>,
}

impl QueueRow {
    pub(super) fn into_model(self) -> Result<QueueEntry> {
        Ok(QueueEntry {
            id: self.id,
            channel: parse("channel", &self.channel)?,
            caller: self.shown_caller,
            received_at: read_ts(self.received_at)?,
            priority: parse("priority", &self.shown_priority)?,
            category: parse_opt("category", self.shown_category.as_deref())?,
            status: parse("status", &self.status)?,
            holder: self.holder_id.map(|id| UserRef {
                id,
                name: self.holder_name.unwrap_or_default(),
            }),
            held_since: self.held_since.map(read_ts).transpose()?,
            disconnect: parse_opt("disconnect", self.disconnect.as_deref())?,
            summary: self.summary,
            version: self.version,
            at: self.lat.zip(self.lon).map(|(lat, lon)| GeoPoint::new(lat, lon)),
        })
    }
}

/// The most incidents the map is sent: a day of a province's calls.
pub(super) const MAP_LIMIT: i64 = 20_000;

#[derive(sqlx::FromRow)]
pub(super) struct MapRow {
    pub(super) id: i64,
    pub(super) lat: f64,
    pub(super) lon: f64,
    pub(super) shown_priority: String,
    pub(super) shown_category: Option<String>,
    pub(super) status: String,
    pub(super) received_at: i64,
}

impl MapRow {
    pub(super) fn into_model(self) -> Result<MapIncident> {
        Ok(MapIncident {
            id: self.id,
            at: GeoPoint::new(self.lat, self.lon),
            priority: parse("priority", &self.shown_priority)?,
            category: parse_opt("category", self.shown_category.as_deref())?,
            status: parse("status", &self.status)?,
            received_at: read_ts(self.received_at)?,
        })
    }
}

pub(super) const EVENT_COLS: &str =
    "id, at, actor_id, actor_name, kind, incident_id, referral_id, unit_id, before_json, after_json, note";

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    pub(super) id: i64,
    pub(super) at: i64,
    pub(super) actor_id: Option<i64>,
    pub(super) actor_name: Option<String>,
    pub(super) kind: String,
    pub(super) incident_id: Option<i64>,
    pub(super) referral_id: Option<i64>,
    pub(super) unit_id: Option<i64>,
    pub(super) before_json: Option<String>,
    pub(super) after_json: Option<String>,
    pub(super) note: Option<String>,
}

impl EventRow {
    pub(super) fn into_model(self) -> Result<Event> {
        let json = |s: Option<String>| -> Result<Option<serde_json::Value>> {
            s.map(|s| serde_json::from_str(&s).map_err(|e| corrupt("event", e)))
                .transpose()
        };
        Ok(Event {
            id: self.id,
            at: read_ts(self.at)?,
            actor: self.actor_id.map(|id| UserRef {
                id,
                name: self.actor_name.unwrap_or_default(),
            }),
            kind: self.kind,
            incident_id: self.incident_id,
            referral_id: self.referral_id,
            unit_id: self.unit_id,
            before: json(self.before_json)?,
            after: json(self.after_json)?,
            note: self.note,
        })
    }
}

/// One event to append, with the entity it concerns.
pub(super) struct NewEvent<'a> {
    pub(super) actor: Option<&'a User>,
    pub(super) kind: &'a str,
    pub(super) incident_id: Option<IncidentId>,
    pub(super) referral_id: Option<ReferralId>,
    pub(super) unit_id: Option<UnitId>,
    pub(super) before: Option<String>,
    pub(super) after: Option<String>,
    pub(super) note: Option<&'a str>,
}

impl<'a> NewEvent<'a> {
    pub(super) fn of(actor: Option<&'a User>, kind: &'a str) -> Self {
        NewEvent {
            actor,
            kind,
            incident_id: None,
            referral_id: None,
            unit_id: None,
            before: None,
            after: None,
            note: None,
        }
    }
}

/// A record as JSON for the audit trail. Our types always serialise; if
/// one ever did not, the change is refused rather than audited without it.
pub(super) fn to_json<T: serde::Serialize>(v: &T) -> Result<Option<String>> {
    serde_json::to_string(v)
        .map(Some)
        .map_err(|e| StoreError::Internal(format!("cannot record the change for the audit trail: {e}")))
}

pub(super) const FOLLOWUP_COLS: &str = "id, incident_id, referral_id, channel, status, phone, category, priority, \
    unit_id, agency, operator_id, operator_name, created_at, outcome, reason, done_at, done_by_id, done_by_name";

#[derive(sqlx::FromRow)]
pub(super) struct FollowupRow {
    pub(super) id: i64,
    pub(super) incident_id: i64,
    pub(super) referral_id: Option<i64>,
    pub(super) channel: String,
    pub(super) status: String,
    pub(super) phone: Option<String>,
    pub(super) category: Option<String>,
    pub(super) priority: String,
    pub(super) unit_id: Option<i64>,
    pub(super) agency: Option<String>,
    pub(super) operator_id: Option<i64>,
    pub(super) operator_name: Option<String>,
    pub(super) created_at: i64,
    pub(super) outcome: Option<String>,
    pub(super) reason: Option<String>,
    pub(super) done_at: Option<i64>,
    pub(super) done_by_id: Option<i64>,
    pub(super) done_by_name: Option<String>,
}

impl FollowupRow {
    pub(super) fn into_model(self) -> Result<Followup> {
        Ok(Followup {
            id: self.id,
            incident_id: self.incident_id,
            referral_id: self.referral_id,
            channel: parse("follow-up channel", &self.channel)?,
            status: parse("follow-up status", &self.status)?,
            phone: phone(self.phone)?,
            category: parse_opt("category", self.category.as_deref())?,
            priority: parse("priority", &self.priority)?,
            unit_id: self.unit_id,
            agency: parse_opt("agency", self.agency.as_deref())?,
            operator: self.operator_id.map(|id| UserRef {
                id,
                name: self.operator_name.unwrap_or_default(),
            }),
            created_at: read_ts(self.created_at)?,
            outcome: parse_opt("satisfaction", self.outcome.as_deref())?,
            reason: self.reason,
            done_at: self.done_at.map(read_ts).transpose()?,
            done_by: self.done_by_id.map(|id| UserRef {
                id,
                name: self.done_by_name.unwrap_or_default(),
            }),
        })
    }
}

pub(super) const RECTIFICATION_COLS: &str = "id, followup_id, incident_id, unit_id, agency, reason, created_at, \
    due_at, status, note, closed_at, closed_by_id, closed_by_name";

#[derive(sqlx::FromRow)]
pub(super) struct RectificationRow {
    pub(super) id: i64,
    pub(super) followup_id: i64,
    pub(super) incident_id: i64,
    pub(super) unit_id: Option<i64>,
    pub(super) agency: Option<String>,
    pub(super) reason: String,
    pub(super) created_at: i64,
    pub(super) due_at: i64,
    pub(super) status: String,
    pub(super) note: Option<String>,
    pub(super) closed_at: Option<i64>,
    pub(super) closed_by_id: Option<i64>,
    pub(super) closed_by_name: Option<String>,
}

impl RectificationRow {
    pub(super) fn into_model(self, now: DateTime<Utc>) -> Result<Rectification> {
        let status: RectificationStatus = parse("rectification status", &self.status)?;
        Ok(Rectification {
            id: self.id,
            followup_id: self.followup_id,
            incident_id: self.incident_id,
            unit_id: self.unit_id,
            agency: parse_opt("agency", self.agency.as_deref())?,
            reason: self.reason,
            created_at: read_ts(self.created_at)?,
            due_at: read_ts(self.due_at)?,
            status,
            note: self.note,
            closed_at: self.closed_at.map(read_ts).transpose()?,
            closed_by: self.closed_by_id.map(|id| UserRef {
                id,
                name: self.closed_by_name.unwrap_or_default(),
            }),
            overdue: status == RectificationStatus::Open && ms(now) > self.due_at,
        })
    }
}
