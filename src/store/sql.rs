//! One SQL implementation for both backends. The SQL is portable (`$N`
//! placeholders, which SQLite also accepts; integer milliseconds for time;
//! text for codes and JSON), so each statement is written once and the
//! [`on_tx!`]/[`on_read!`] macros run it on whichever pool is open.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use super::{
    AuditFilter, Backend, CallerCounts, IncidentFilter, IntakeOutcome, Mutation, Policy, ReferralFilter, Result, Store,
    StoreError,
};
use crate::model::{
    self, Agency, Callback, CallbackStatus, Caller, CallerFlag, CallerFlagKind, CallerHistory, CallerPhone, Event,
    EventId, Incident, IncidentId, IncidentOp, IncidentSummary, Location, NewIncident, QUEUE_SUMMARY_CHARS, QueueEntry,
    Referral, ReferralId, ReferralStatus, ReferralStep, Role, Supplement, Unit, UnitId, UnitStatus, User, UserId,
    UserRef,
    gazetteer::UnitSeed,
    stats::{
        AlertQuery, Alerts, Classes, Dossier, HoldAlert, HourBucket, NuisanceCaller, OperatorStats, QueueNow,
        ShiftStats, StatsQuery, Timing, WaitAlert, WaveAlert, nearest_rank,
    },
};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");
static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/postgres");

/// Serialises event-log appends across every service instance on one
/// PostgreSQL database, so event ids grow in commit order.
const PG_EVENT_LOCK: i64 = 0x110_110;
/// The channel other instances listen on for new events.
pub const PG_EVENT_CHANNEL: &str = "jiejing_events";

pub struct SqlStore {
    db: Db,
    policy: Policy,
    /// Intakes go through one group-commit task (see [`group_commit`]).
    intakes: tokio::sync::mpsc::Sender<IntakeJob>,
}

/// Intakes committed in one transaction at most; a larger backlog waits for
/// the next commit.
const MAX_BATCH: usize = 128;

/// One intake waiting for the group commit, and where to send its outcome.
struct IntakeJob {
    actor: User,
    key: Option<String>,
    new: NewIncident,
    now: DateTime<Utc>,
    reply: tokio::sync::oneshot::Sender<Result<IntakeOutcome>>,
}

#[derive(Clone)]
enum Db {
    /// One writer connection: SQLite allows one writer anyway, and a single
    /// connection makes the order of commits the order of event ids.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
    Pg(PgPool),
}

enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    /// `bool`: this transaction holds the event-log lock and has appended
    /// events, so it notifies the other instances once, at commit.
    Pg(Transaction<'static, Postgres>, bool),
}

/// Runs `$body` with `$c` bound to the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            Tx::Pg(t, _) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// Runs `$body` with `$c` bound to the read pool.
macro_rules! on_read {
    ($self:expr, |$c:ident| $body:expr) => {
        match &$self.db {
            Db::Sqlite { read, .. } => {
                let $c = read;
                $body
            }
            Db::Pg(p) => {
                let $c = p;
                $body
            }
        }
    };
}

fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(d.message().to_owned()),
        // Text PostgreSQL cannot store (a NUL character): the caller's input
        // is at fault, so it is a 400 naming the problem, not a 500.
        sqlx::Error::Database(d) if d.code().is_some_and(|c| c == "22021" || c == "22P05") => {
            StoreError::Domain(model::DomainError::invalid(
                "text",
                "the text contains a character that cannot be stored (such as NUL); remove it",
            ))
        }
        // PostgreSQL closing our session (admin shutdown, restart, crash
        // recovery, too many connections) is an outage, not a bug: 503.
        sqlx::Error::Database(d)
            if d.code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300") =>
        {
            StoreError::Unavailable(d.message().to_owned())
        }
        sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Internal(e.to_string()),
    }
}

trait SqlResultExt<T> {
    fn db(self) -> Result<T>;
}
impl<T> SqlResultExt<T> for std::result::Result<T, sqlx::Error> {
    fn db(self) -> Result<T> {
        self.map_err(map_err)
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("stored {what} is unreadable: {e}"))
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored time. Every time is written by [`ms`], so one out of range
/// means the row was damaged: an error, never a silent 1970.
fn read_ts(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt("time", ms))
}

/// `t` cut to the millisecond, as it will read back from the database.
fn at_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms(t)).unwrap_or(t)
}

fn parse<T: FromStr>(what: &str, s: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| corrupt(what, e))
}

fn parse_opt<T: FromStr>(what: &str, s: Option<&str>) -> Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    s.map(|s| parse(what, s)).transpose()
}

/// A stored phone number; one that no longer parses is an error, not a
/// caller who silently lost their number.
fn phone(s: Option<String>) -> Result<Option<CallerPhone>> {
    s.map(|p| CallerPhone::parse(&p).map_err(|e| corrupt("phone number", e)))
        .transpose()
}

// ---------------------------------------------------------------- rows

const INCIDENT_COLS: &str = "id, channel, phone, caller_name, wechat_id, web_account, callback_number, \
    location_text, lat, lon, jurisdiction, narrative, received_at, category, agency, priority, suggestion, \
    sugg_category, sugg_priority, status, holder_id, holder_name, claimed_at, dispatched_at, on_scene_at, \
    closed_at, close_reason, close_note, duplicate_of, unit_id, co_notify, disconnect, version, updated_at, \
    held_since, handled_by_id, handled_by_name";

/// Binds an [`IncidentRow`]'s columns after `id`, in [`INCIDENT_COLS`] order ($1..$36).
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
    };
}

const INSERT_INCIDENT: &str = "INSERT INTO incidents (channel, phone, caller_name, wechat_id, web_account, \
    callback_number, location_text, lat, lon, jurisdiction, narrative, received_at, category, agency, priority, \
    suggestion, sugg_category, sugg_priority, status, holder_id, holder_name, claimed_at, dispatched_at, \
    on_scene_at, closed_at, close_reason, close_note, duplicate_of, unit_id, co_notify, disconnect, version, \
    updated_at, held_since, handled_by_id, handled_by_name, idem_key, created_by) VALUES ($1, $2, $3, $4, $5, $6, \
    $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, \
    $30, $31, $32, $33, $34, $35, $36, $37, $38) ON CONFLICT (idem_key) DO NOTHING RETURNING id";

const UPDATE_INCIDENT: &str = "UPDATE incidents SET channel = $1, phone = $2, caller_name = $3, wechat_id = $4, \
    web_account = $5, callback_number = $6, location_text = $7, lat = $8, lon = $9, jurisdiction = $10, \
    narrative = $11, received_at = $12, category = $13, agency = $14, priority = $15, suggestion = $16, \
    sugg_category = $17, sugg_priority = $18, status = $19, holder_id = $20, holder_name = $21, claimed_at = $22, \
    dispatched_at = $23, on_scene_at = $24, closed_at = $25, close_reason = $26, close_note = $27, \
    duplicate_of = $28, unit_id = $29, co_notify = $30, disconnect = $31, version = $32, updated_at = $33, \
    held_since = $34, handled_by_id = $35, handled_by_name = $36 WHERE id = $37 AND version = $38";

#[derive(sqlx::FromRow)]
struct IncidentRow {
    id: i64,
    channel: String,
    phone: Option<String>,
    caller_name: Option<String>,
    wechat_id: Option<String>,
    web_account: Option<String>,
    callback_number: Option<String>,
    location_text: String,
    lat: Option<f64>,
    lon: Option<f64>,
    jurisdiction: Option<String>,
    narrative: String,
    received_at: i64,
    category: Option<String>,
    agency: Option<String>,
    priority: Option<String>,
    suggestion: Option<String>,
    sugg_category: Option<String>,
    sugg_priority: Option<String>,
    status: String,
    holder_id: Option<i64>,
    holder_name: Option<String>,
    claimed_at: Option<i64>,
    dispatched_at: Option<i64>,
    on_scene_at: Option<i64>,
    closed_at: Option<i64>,
    close_reason: Option<String>,
    close_note: Option<String>,
    duplicate_of: Option<i64>,
    unit_id: Option<i64>,
    co_notify: String,
    disconnect: Option<String>,
    version: i64,
    updated_at: i64,
    held_since: Option<i64>,
    handled_by_id: Option<i64>,
    handled_by_name: Option<String>,
}

impl IncidentRow {
    fn from_model(i: &Incident) -> Result<Self> {
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
        })
    }

    fn into_model(self) -> Result<Incident> {
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
            version: self.version,
            updated_at: read_ts(self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    name: String,
    role: String,
    agency: Option<String>,
    password_hash: String,
}

impl UserRow {
    fn into_model(self) -> Result<(User, String)> {
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
struct UnitRow {
    id: i64,
    code: String,
    name: String,
    kind: String,
    jurisdiction: String,
    status: String,
    incident_id: Option<i64>,
    /// Set whenever the status changes, so it is the time in status.
    updated_at: i64,
}

impl UnitRow {
    fn into_model(self) -> Result<Unit> {
        Ok(Unit {
            id: self.id,
            code: self.code,
            name: self.name,
            kind: parse("unit kind", &self.kind)?,
            jurisdiction: self.jurisdiction,
            status: parse("unit status", &self.status)?,
            incident_id: self.incident_id,
            status_since: Some(read_ts(self.updated_at)?),
        })
    }
}

const REFERRAL_COLS: &str =
    "id, number, incident_id, agency, status, feedback, created_at, due_at, accepted_at, feedback_at, closed_at";

#[derive(sqlx::FromRow)]
struct ReferralRow {
    id: i64,
    number: String,
    incident_id: i64,
    agency: String,
    status: String,
    feedback: Option<String>,
    created_at: i64,
    due_at: i64,
    accepted_at: Option<i64>,
    feedback_at: Option<i64>,
    closed_at: Option<i64>,
}

impl ReferralRow {
    fn into_model(self, now: DateTime<Utc>) -> Result<Referral> {
        let status: ReferralStatus = parse("referral status", &self.status)?;
        Ok(Referral {
            id: self.id,
            number: self.number,
            incident_id: self.incident_id,
            agency: parse("agency", &self.agency)?,
            status,
            feedback: self.feedback,
            created_at: read_ts(self.created_at)?,
            due_at: read_ts(self.due_at)?,
            accepted_at: self.accepted_at.map(read_ts).transpose()?,
            feedback_at: self.feedback_at.map(read_ts).transpose()?,
            closed_at: self.closed_at.map(read_ts).transpose()?,
            overdue: status == ReferralStatus::Sent && ms(now) > self.due_at,
        })
    }
}

const CALLBACK_COLS: &str =
    "id, incident_id, phone, reason, status, outcome, created_at, closed_at, closed_by_id, closed_by_name";

#[derive(sqlx::FromRow)]
struct CallbackRow {
    id: i64,
    incident_id: i64,
    phone: Option<String>,
    reason: String,
    status: String,
    outcome: Option<String>,
    created_at: i64,
    closed_at: Option<i64>,
    closed_by_id: Option<i64>,
    closed_by_name: Option<String>,
}

impl CallbackRow {
    fn into_model(self) -> Result<Callback> {
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
struct SupplementRow {
    id: i64,
    incident_id: i64,
    at: i64,
    author_id: i64,
    author_name: String,
    text: String,
    from_incident: Option<i64>,
}

const SUPPLEMENT_COLS: &str = "id, incident_id, at, author_id, author_name, text, from_incident";

impl SupplementRow {
    fn into_model(self) -> Result<Supplement> {
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
struct FlagRow {
    id: i64,
    phone: String,
    flag: String,
    note: String,
    created_by_id: i64,
    created_by_name: String,
    created_at: i64,
}

impl FlagRow {
    fn into_model(self) -> Result<CallerFlag> {
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
struct QueueRow {
    id: i64,
    channel: String,
    shown_caller: Option<String>,
    received_at: i64,
    shown_priority: String,
    shown_category: Option<String>,
    status: String,
    holder_id: Option<i64>,
    holder_name: Option<String>,
    held_since: Option<i64>,
    disconnect: Option<String>,
    summary: String,
    version: i64,
}

impl QueueRow {
    fn into_model(self) -> Result<QueueEntry> {
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
        })
    }
}

const EVENT_COLS: &str =
    "id, at, actor_id, actor_name, kind, incident_id, referral_id, unit_id, before_json, after_json, note";

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    at: i64,
    actor_id: Option<i64>,
    actor_name: Option<String>,
    kind: String,
    incident_id: Option<i64>,
    referral_id: Option<i64>,
    unit_id: Option<i64>,
    before_json: Option<String>,
    after_json: Option<String>,
    note: Option<String>,
}

impl EventRow {
    fn into_model(self) -> Result<Event> {
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
struct NewEvent<'a> {
    actor: Option<&'a User>,
    kind: &'a str,
    incident_id: Option<IncidentId>,
    referral_id: Option<ReferralId>,
    unit_id: Option<UnitId>,
    before: Option<String>,
    after: Option<String>,
    note: Option<&'a str>,
}

impl<'a> NewEvent<'a> {
    fn of(actor: Option<&'a User>, kind: &'a str) -> Self {
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
fn to_json<T: serde::Serialize>(v: &T) -> Result<Option<String>> {
    serde_json::to_string(v)
        .map(Some)
        .map_err(|e| StoreError::Internal(format!("cannot record the change for the audit trail: {e}")))
}

// ---------------------------------------------------------------- store

impl SqlStore {
    pub async fn open(url: &str, policy: Policy) -> Result<Self> {
        let db = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Internal(format!("bad SQLite URL {}: {e}", super::redact_url(url))))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a commit is on disk before we acknowledge it.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts.clone())
                .await
                .db()?;
            SQLITE_MIGRATIONS
                .run(&write)
                .await
                .map_err(|e| StoreError::Internal(format!("migration failed: {e}")))?;
            let read = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .db()?;
            Db::Sqlite { write, read }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Internal(format!("bad PostgreSQL URL: {e}")))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                // Fail in seconds, not minutes, when the database is gone:
                // callers get 503 and /healthz turns red.
                .acquire_timeout(Duration::from_secs(3))
                .connect_with(opts)
                .await
                .db()?;
            PG_MIGRATIONS
                .run(&pool)
                .await
                .map_err(|e| StoreError::Internal(format!("migration failed: {e}")))?;
            Db::Pg(pool)
        } else {
            return Err(StoreError::Internal(format!(
                "unsupported database URL {}: use sqlite://PATH or postgres://…",
                super::redact_url(url)
            )));
        };
        let (intakes, jobs) = tokio::sync::mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(group_commit(db.clone(), jobs));
        Ok(SqlStore { db, policy, intakes })
    }

    /// The PostgreSQL pool, for the event listener of multi-instance setups.
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.db {
            Db::Pg(p) => Some(p),
            Db::Sqlite { .. } => None,
        }
    }

    async fn begin(&self) -> Result<Tx> {
        self.db.begin().await
    }

    async fn append_event(tx: &mut Tx, ev: NewEvent<'_>, now: DateTime<Utc>) -> Result<EventId> {
        if let Tx::Pg(t, locked) = tx {
            hold_event_log(t, locked).await?;
        }
        let sql = "INSERT INTO events (at, actor_id, actor_name, kind, incident_id, referral_id, unit_id, \
                   before_json, after_json, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id";
        let id: i64 = on_tx!(tx, |c| sqlx::query_scalar(sql)
            .bind(ms(now))
            .bind(ev.actor.map(|a| a.id))
            .bind(ev.actor.map(|a| a.name.clone()))
            .bind(ev.kind)
            .bind(ev.incident_id)
            .bind(ev.referral_id)
            .bind(ev.unit_id)
            .bind(ev.before)
            .bind(ev.after)
            .bind(ev.note)
            .fetch_one(c)
            .await
            .db()?);
        Ok(id)
    }

    async fn commit(tx: Tx) -> Result<()> {
        match tx {
            Tx::Sqlite(t) => t.commit().await.db(),
            Tx::Pg(mut t, appended) => {
                if appended {
                    // Delivered at commit; the listeners re-read the log, so
                    // one wake-up serves every event of the transaction.
                    sqlx::query("SELECT pg_notify($1, '')")
                        .bind(PG_EVENT_CHANNEL)
                        .execute(&mut *t)
                        .await
                        .db()?;
                }
                t.commit().await.db()
            }
        }
    }

    async fn load_incident(tx: &mut Tx, id: IncidentId) -> Result<Incident> {
        let sql = format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = $1");
        let row: Option<IncidentRow> = on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(c)
            .await
            .db()?);
        row.ok_or_else(|| StoreError::NotFound(format!("incident #{id}")))?
            .into_model()
    }

    async fn load_unit(tx: &mut Tx, id: UnitId) -> Result<Unit> {
        let sql = "SELECT id, code, name, kind, jurisdiction, status, incident_id, updated_at FROM units WHERE id = $1";
        let row: Option<UnitRow> = on_tx!(tx, |c| sqlx::query_as(sql).bind(id).fetch_optional(c).await.db()?);
        row.ok_or_else(|| StoreError::NotFound(format!("unit {id}")))?
            .into_model()
    }

    /// Changes a unit's status if it is still `from`; false when it changed meanwhile.
    async fn move_unit(
        tx: &mut Tx,
        actor: &User,
        unit: &Unit,
        to: UnitStatus,
        incident: Option<IncidentId>,
        now: DateTime<Utc>,
    ) -> Result<Option<Unit>> {
        let sql = "UPDATE units SET status = $1, incident_id = $2, updated_at = $3 WHERE id = $4 AND status = $5";
        let n = on_tx!(tx, |c| sqlx::query(sql)
            .bind(to.as_str())
            .bind(incident)
            .bind(ms(now))
            .bind(unit.id)
            .bind(unit.status.as_str())
            .execute(c)
            .await
            .db()?
            .rows_affected());
        if n == 0 {
            return Ok(None);
        }
        let after = Unit {
            status: to,
            incident_id: incident,
            status_since: Some(now),
            ..unit.clone()
        };
        let ev = NewEvent {
            incident_id: incident.or(unit.incident_id),
            unit_id: Some(unit.id),
            before: to_json(unit)?,
            after: to_json(&after)?,
            ..NewEvent::of(Some(actor), "unit.status")
        };
        Self::append_event(tx, ev, now).await?;
        Ok(Some(after))
    }

    /// Rows of an aggregate query whose parameters are all integers.
    async fn rows<T>(&self, sql: String, binds: &[i64]) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        Ok(on_read!(self, |c| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for b in binds {
                q = q.bind(*b);
            }
            q.fetch_all(c).await.db()?
        }))
    }

    async fn row<T>(&self, sql: String, binds: &[i64]) -> Result<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        self.rows(sql, binds)
            .await?
            .pop()
            .ok_or_else(|| StoreError::Internal("an aggregate returned no row".into()))
    }

    /// A delay distribution over the calls received in `[$1, $2)`: `delay` is
    /// an SQL expression in milliseconds, `measured` says which calls have one,
    /// `missed` which calls without one have already failed the threshold.
    async fn timing(
        &self,
        range: [i64; 2],
        delay: &str,
        measured: &str,
        missed: Option<&str>,
        threshold_secs: Option<i64>,
        now: i64,
    ) -> Result<Timing> {
        let from = "FROM incidents WHERE received_at >= $1 AND received_at < $2";
        let threshold_ms = threshold_secs.map_or(i64::MAX, |s| s * 1000);
        let (count, within): (i64, i64) = self
            .row(
                format!("SELECT COUNT(*), COUNT(CASE WHEN {delay} <= $3 THEN 1 END) {from} AND {measured}"),
                &[range[0], range[1], threshold_ms],
            )
            .await?;
        let missed = match missed {
            Some(cond) if threshold_secs.is_some() => {
                let (n,): (i64,) = self
                    .row(
                        format!("SELECT COUNT(*) {from} AND NOT ({measured}) AND {cond}"),
                        &[range[0], range[1], threshold_ms, now],
                    )
                    .await?;
                n
            }
            _ => 0,
        };
        let mut pct = [None, None];
        if count > 0 {
            for (slot, p) in pct.iter_mut().zip([50, 90]) {
                let sql = format!(
                    "SELECT d FROM (SELECT {delay} AS d {from} AND {measured}) AS x ORDER BY d LIMIT 1 OFFSET $3"
                );
                let (d,): (i64,) = self.row(sql, &[range[0], range[1], nearest_rank(p, count) - 1]).await?;
                *slot = Some(d as f64 / 1000.0);
            }
        }
        Ok(Timing {
            count,
            p50_secs: pct[0],
            p90_secs: pct[1],
            threshold_secs,
            within: if threshold_secs.is_some() { within } else { 0 },
            judged: if threshold_secs.is_some() { count + missed } else { 0 },
        })
    }

    async fn read_incidents(&self, sql: String, binds: Vec<i64>) -> Result<Vec<Incident>> {
        let rows: Vec<IncidentRow> = on_read!(self, |c| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for b in binds {
                q = q.bind(b);
            }
            q.fetch_all(c).await.db()?
        });
        rows.into_iter().map(IncidentRow::into_model).collect()
    }

    async fn try_mutate(
        &self,
        actor: &User,
        id: IncidentId,
        expected_version: Option<i64>,
        op: IncidentOp,
        now: DateTime<Utc>,
    ) -> Result<Option<Mutation>> {
        // Times are kept to the millisecond: what a write returns must equal what a later read returns.
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let mut inc = Self::load_incident(&mut tx, id).await?;
        if let Some(v) = expected_version
            && v != inc.version
        {
            return Err(StoreError::Domain(model::DomainError::conflict(
                "stale_version",
                format!(
                    "incident #{id} was changed by someone else (now version {}, yours {v}): reload it and try again",
                    inc.version
                ),
            )));
        }
        let unit = match &op {
            IncidentOp::Dispatch { unit_id, .. } => Some(Self::load_unit(&mut tx, *unit_id).await?),
            _ => None,
        };
        let merged_into = match &op {
            IncidentOp::LinkDuplicate { of } => Some(Self::load_incident(&mut tx, *of).await?.id),
            _ => None,
        };
        let kind = op.event_kind();
        let reason = op.reason().map(|r| r.trim().to_owned());
        let before = inc.clone();
        let effects = model::apply(&mut inc, op, actor, now, unit.as_ref())?;
        let row = IncidentRow::from_model(&inc)?;
        let updated = on_tx!(&mut tx, |c| bind_incident!(sqlx::query(UPDATE_INCIDENT), row)
            .bind(id)
            .bind(before.version)
            .execute(c)
            .await
            .db()?
            .rows_affected());
        if updated == 0 {
            return Ok(None);
        }
        if let Some((unit_id, to)) = effects.unit_status {
            let current = match unit {
                Some(u) => u,
                None => Self::load_unit(&mut tx, unit_id).await?,
            };
            let working = (to != UnitStatus::Available).then_some(id);
            if Self::move_unit(&mut tx, actor, &current, to, working, now)
                .await?
                .is_none()
            {
                return Ok(None);
            }
        }
        let mut referral = None;
        if let Some(agency) = effects.referral {
            // One referral per incident (referring closes it), so the
            // incident id makes the work-order number unique.
            let number = model::referral_number(id, now);
            let due = ms(now) + self.policy.referral_accept_secs * 1000;
            let sql = "INSERT INTO referrals (number, incident_id, agency, status, created_at, due_at) \
                       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
            let rid: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(sql)
                .bind(&number)
                .bind(id)
                .bind(agency.as_str())
                .bind(ReferralStatus::Sent.as_str())
                .bind(ms(now))
                .bind(due)
                .fetch_one(c)
                .await
                .db()?);
            let r = Referral {
                id: rid,
                number,
                incident_id: id,
                agency,
                status: ReferralStatus::Sent,
                feedback: None,
                created_at: now,
                due_at: read_ts(due)?,
                accepted_at: None,
                feedback_at: None,
                closed_at: None,
                overdue: false,
            };
            let ev = NewEvent {
                incident_id: Some(id),
                referral_id: Some(rid),
                after: to_json(&r)?,
                ..NewEvent::of(Some(actor), "referral.sent")
            };
            Self::append_event(&mut tx, ev, now).await?;
            referral = Some(r);
        }
        let ev = NewEvent {
            incident_id: Some(id),
            referral_id: referral.as_ref().map(|r| r.id),
            unit_id: inc.unit_id,
            before: to_json(&before)?,
            after: to_json(&inc)?,
            note: reason.as_deref(),
            ..NewEvent::of(Some(actor), kind)
        };
        Self::append_event(&mut tx, ev, now).await?;
        // What the later caller said is kept on the call it duplicates.
        if let Some(of) = merged_into
            && !inc.narrative.trim().is_empty()
        {
            Self::insert_supplement(&mut tx, actor, of, &inc.narrative, Some(id), now).await?;
        }
        Self::commit(tx).await?;
        Ok(Some(Mutation {
            incident: inc,
            referral,
        }))
    }

    async fn find_by_key(tx: &mut Tx, key: &str) -> Result<Option<IncidentId>> {
        on_tx!(tx, |c| sqlx::query_scalar(
            "SELECT id FROM incidents WHERE idem_key = $1"
        )
        .bind(key)
        .fetch_optional(c)
        .await
        .db())
    }

    /// The answer to an intake whose key inserted nothing: the incident that
    /// key made first.
    async fn replay(tx: &mut Tx, key: Option<&str>) -> Result<IntakeOutcome> {
        let first = match key {
            Some(k) => Self::find_by_key(tx, k).await?,
            None => None,
        };
        let id = first.ok_or_else(|| StoreError::Internal("an intake without a key was not stored".into()))?;
        Ok(IntakeOutcome {
            incident: Self::load_incident(tx, id).await?,
            replayed: true,
            callback: None,
        })
    }

    /// Stores one intake inside `tx` (replay check, incident, callback task,
    /// event), without committing.
    async fn intake_in(
        tx: &mut Tx,
        actor: &User,
        key: Option<&str>,
        new: &NewIncident,
        now: DateTime<Utc>,
    ) -> Result<IntakeOutcome> {
        let (key, mut inc) = intake_incident(actor, key, new, now);
        let row = IncidentRow::from_model(&inc)?;
        // The insert is the replay check: a key already used inserts nothing
        // (one round trip fewer per intake than looking first).
        let inserted: Option<i64> = on_tx!(tx, |c| bind_incident!(sqlx::query_scalar(INSERT_INCIDENT), row)
            .bind(&key)
            .bind(actor.id)
            .fetch_optional(c)
            .await
            .db()?);
        let Some(id) = inserted else {
            return Self::replay(tx, key.as_deref()).await;
        };
        inc.id = id;
        let mut callback = None;
        if let Some(reason) = new.disconnect {
            let sql = "INSERT INTO callbacks (incident_id, phone, reason, status, created_at) \
                       VALUES ($1, $2, $3, $4, $5) RETURNING id";
            let phone = callback_phone(&inc);
            let cid: i64 = on_tx!(tx, |c| sqlx::query_scalar(sql)
                .bind(inc.id)
                .bind(phone.as_ref().map(|p| p.as_str().to_owned()))
                .bind(reason.as_str())
                .bind(CallbackStatus::Open.as_str())
                .bind(ms(now))
                .fetch_one(c)
                .await
                .db()?);
            callback = Some(open_callback(cid, &inc, reason, now));
        }
        let ev = NewEvent {
            incident_id: Some(inc.id),
            after: to_json(&inc)?,
            ..NewEvent::of(Some(actor), "incident.created")
        };
        Self::append_event(tx, ev, now).await?;
        Ok(IntakeOutcome {
            incident: inc,
            replayed: false,
            callback,
        })
    }
}

/// The incident an intake creates (its id still unset), and its replay key.
fn intake_incident(
    actor: &User,
    key: Option<&str>,
    new: &NewIncident,
    now: DateTime<Utc>,
) -> (Option<String>, Incident) {
    // Keys are scoped per account so two gateways cannot collide.
    let key = key.map(|k| format!("{}:{k}", actor.id));
    // An operator logging a call works it at once; gateway calls queue.
    let held = Role::STAFF.contains(&actor.role);
    (key, Incident::taken_in(new, held.then(|| actor.as_ref()), now))
}

/// Where a dropped call is called back: the number the caller gave, else the
/// number they called from.
fn callback_phone(inc: &Incident) -> Option<CallerPhone> {
    inc.caller.callback_number.clone().or(inc.caller.phone.clone())
}

fn open_callback(id: i64, inc: &Incident, reason: model::Disconnect, now: DateTime<Utc>) -> Callback {
    Callback {
        id,
        incident_id: inc.id,
        phone: callback_phone(inc),
        reason,
        status: CallbackStatus::Open,
        outcome: None,
        created_at: now,
        closed_at: None,
        closed_by: None,
    }
}

/// Binds one array per listed field of `$rows`, in the order given.
macro_rules! bind_arrays {
    ($q:expr, $rows:expr, $($f:ident),+ $(,)?) => {
        $q$(.bind($rows.iter().map(|r| r.$f.clone()).collect::<Vec<_>>()))+
    };
}

/// The batch insert: a row per array element, the replay check in the same
/// statement. `RETURNING id` names the rows inserted; a missing id is a key
/// already used.
static PG_INSERT_INCIDENTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let cols = INCIDENT_COLS.split(',').count() + 2;
    let arrays = (1..=cols).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
    format!(
        "INSERT INTO incidents ({INCIDENT_COLS}, idem_key, created_by) SELECT * FROM UNNEST({arrays}) \
         ON CONFLICT (idem_key) DO NOTHING RETURNING id"
    )
});

impl SqlStore {
    /// Appends a supplement and its audit event inside `tx`.
    async fn insert_supplement(
        tx: &mut Tx,
        actor: &User,
        incident_id: IncidentId,
        text: &str,
        from_incident: Option<IncidentId>,
        now: DateTime<Utc>,
    ) -> Result<Supplement> {
        let sql = "INSERT INTO supplements (incident_id, at, author_id, author_name, text, from_incident) \
                   VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        let id: i64 = on_tx!(tx, |c| sqlx::query_scalar(sql)
            .bind(incident_id)
            .bind(ms(now))
            .bind(actor.id)
            .bind(&actor.name)
            .bind(text)
            .bind(from_incident)
            .fetch_one(c)
            .await
            .db()?);
        let s = Supplement {
            id,
            incident_id,
            at: now,
            author: actor.as_ref(),
            text: text.to_owned(),
            from_incident,
        };
        let ev = NewEvent {
            incident_id: Some(incident_id),
            after: to_json(&s)?,
            ..NewEvent::of(Some(actor), "incident.supplemented")
        };
        Self::append_event(tx, ev, now).await?;
        Ok(s)
    }

    /// Stores a group commit's intakes inside `tx`, without committing.
    ///
    /// PostgreSQL: a fixed handful of statements for the whole batch (ids,
    /// incidents, callbacks, events) instead of two per call. The batch runs
    /// on one connection while every other intake waits for it, so its
    /// round trips, not the disk, were what set the tail latency under load.
    /// SQLite runs in-process, where a statement costs no round trip, so it
    /// keeps the per-call path, and so does a lone call (the batch path's
    /// extra statement for ids would make it slower).
    async fn intake_batch(tx: &mut Tx, batch: &[IntakeJob]) -> Result<Vec<IntakeOutcome>> {
        let (Tx::Pg(t, locked), 2..) = (&mut *tx, batch.len()) else {
            let mut out = Vec::with_capacity(batch.len());
            for job in batch {
                out.push(Self::intake_in(tx, &job.actor, job.key.as_deref(), &job.new, job.now).await?);
            }
            return Ok(out);
        };
        // Ids drawn first, so each call's event can carry its incident.
        // A replayed call wastes its id; identity columns have gaps anyway.
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, $1)")
                .bind(batch.len() as i64)
                .fetch_all(&mut **t)
                .await
                .db()?;
        let mut keys = Vec::with_capacity(batch.len());
        let mut incs = Vec::with_capacity(batch.len());
        for (job, id) in batch.iter().zip(ids) {
            let (key, mut inc) = intake_incident(&job.actor, job.key.as_deref(), &job.new, job.now);
            inc.id = id;
            keys.push(key);
            incs.push(inc);
        }
        let rows: Vec<IncidentRow> = incs.iter().map(IncidentRow::from_model).collect::<Result<_>>()?;
        let q = bind_arrays!(
            sqlx::query_scalar(sqlx::AssertSqlSafe(PG_INSERT_INCIDENTS.as_str())),
            rows,
            id,
            channel,
            phone,
            caller_name,
            wechat_id,
            web_account,
            callback_number,
            location_text,
            lat,
            lon,
            jurisdiction,
            narrative,
            received_at,
            category,
            agency,
            priority,
            suggestion,
            sugg_category,
            sugg_priority,
            status,
            holder_id,
            holder_name,
            claimed_at,
            dispatched_at,
            on_scene_at,
            closed_at,
            close_reason,
            close_note,
            duplicate_of,
            unit_id,
            co_notify,
            disconnect,
            version,
            updated_at,
            held_since,
            handled_by_id,
            handled_by_name,
        );
        let creators: Vec<i64> = batch.iter().map(|j| j.actor.id).collect();
        let inserted: std::collections::HashSet<i64> = q
            .bind(&keys)
            .bind(creators)
            .fetch_all(&mut **t)
            .await
            .db()?
            .into_iter()
            .collect();
        let fresh: Vec<usize> = (0..batch.len()).filter(|&i| inserted.contains(&incs[i].id)).collect();

        let mut callbacks = std::collections::HashMap::new();
        let dropped: Vec<usize> = fresh
            .iter()
            .copied()
            .filter(|&i| batch[i].new.disconnect.is_some())
            .collect();
        if !dropped.is_empty() {
            let cols = |f: &dyn Fn(usize) -> Option<String>| dropped.iter().map(|&i| f(i)).collect::<Vec<_>>();
            let made: Vec<(i64, i64)> = sqlx::query_as(
                "INSERT INTO callbacks (incident_id, phone, reason, status, created_at) \
                 SELECT i, p, r, $4, c FROM UNNEST($1::bigint[], $2::text[], $3::text[], $5::bigint[]) AS u(i, p, r, c) \
                 RETURNING id, incident_id",
            )
            .bind(dropped.iter().map(|&i| incs[i].id).collect::<Vec<_>>())
            .bind(cols(&|i| callback_phone(&incs[i]).map(|p| p.as_str().to_owned())))
            .bind(cols(&|i| batch[i].new.disconnect.map(|d| d.as_str().to_owned())))
            .bind(CallbackStatus::Open.as_str())
            .bind(dropped.iter().map(|&i| ms(batch[i].now)).collect::<Vec<_>>())
            .fetch_all(&mut **t)
            .await
            .db()?;
            callbacks.extend(made.into_iter().map(|(id, incident)| (incident, id)));
        }

        if !fresh.is_empty() {
            hold_event_log(t, locked).await?;
            let jsons: Vec<Option<String>> = incs.iter().map(to_json).collect::<Result<_>>()?;
            let col = |f: &dyn Fn(usize) -> Option<String>| fresh.iter().map(|&i| f(i)).collect::<Vec<_>>();
            sqlx::query(
                "INSERT INTO events (at, actor_id, actor_name, kind, incident_id, after_json) \
                 SELECT a, w, n, $4, i, j FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $5::bigint[], $6::text[]) \
                 AS u(a, w, n, i, j)",
            )
            .bind(fresh.iter().map(|&i| ms(batch[i].now)).collect::<Vec<_>>())
            .bind(fresh.iter().map(|&i| batch[i].actor.id).collect::<Vec<_>>())
            .bind(col(&|i| Some(batch[i].actor.name.clone())))
            .bind("incident.created")
            .bind(fresh.iter().map(|&i| incs[i].id).collect::<Vec<_>>())
            .bind(col(&|i| jsons[i].clone()))
            .execute(&mut **t)
            .await
            .db()?;
        }

        let mut out = Vec::with_capacity(batch.len());
        for ((job, inc), key) in batch.iter().zip(incs).zip(keys) {
            if inserted.contains(&inc.id) {
                let callback = callbacks
                    .get(&inc.id)
                    .zip(job.new.disconnect)
                    .map(|(&id, reason)| open_callback(id, &inc, reason, job.now));
                out.push(IntakeOutcome {
                    incident: inc,
                    replayed: false,
                    callback,
                });
                continue;
            }
            // The key was used before (or earlier in this batch).
            out.push(Self::replay(tx, key.as_deref()).await?);
        }
        Ok(out)
    }
}

/// PostgreSQL: the lock, taken before a transaction's first append and held
/// to commit, makes event ids follow commit order across instances.
/// `locked` is the transaction's flag, so the lock is asked for once.
async fn hold_event_log(t: &mut Transaction<'static, Postgres>, locked: &mut bool) -> Result<()> {
    if !*locked {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_EVENT_LOCK)
            .execute(&mut **t)
            .await
            .db()?;
        *locked = true;
    }
    Ok(())
}

impl Db {
    async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin().await.db()?),
            Db::Pg(p) => Tx::Pg(p.begin().await.db()?, false),
        })
    }
}

/// Group commit: intakes that arrive while a commit is on its way to disk
/// share the next transaction, so one fsync acknowledges many calls. Nobody
/// is answered before the commit returns.
async fn group_commit(db: Db, mut jobs: tokio::sync::mpsc::Receiver<IntakeJob>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Intakes rarely fail (a key raced on another instance, bad luck);
        // then the batch is rolled back and each one runs on its own, so one
        // failure never takes the others down.
        let mut results = Vec::new();
        let together = async {
            let mut tx = db.begin().await?;
            results = SqlStore::intake_batch(&mut tx, &batch).await?;
            SqlStore::commit(tx).await
        }
        .await;
        match together {
            Ok(()) => {
                for (job, r) in batch.into_iter().zip(results) {
                    job.reply.send(Ok(r)).ok();
                }
            }
            Err(_) => {
                for job in batch {
                    let alone = async {
                        let mut tx = db.begin().await?;
                        let r = SqlStore::intake_in(&mut tx, &job.actor, job.key.as_deref(), &job.new, job.now).await?;
                        SqlStore::commit(tx).await?;
                        Ok(r)
                    };
                    job.reply.send(alone.await).ok();
                }
            }
        }
    }
}

/// How often a mutation is retried after losing a race to a concurrent change.
const RACE_RETRIES: usize = 8;

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Pg(_) => Backend::Postgres,
        }
    }

    async fn health(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite { write, read } => {
                sqlx::query("SELECT 1").execute(read).await.db()?;
                // The writer must be free too, or intakes would stall.
                write.acquire().await.db()?;
            }
            Db::Pg(p) => {
                sqlx::query("SELECT 1").execute(p).await.db()?;
            }
        }
        Ok(())
    }

    async fn user_count(&self) -> Result<i64> {
        on_read!(self, |c| sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(c)
            .await
            .db())
    }

    async fn create_user(
        &self,
        actor: Option<&User>,
        name: &str,
        role: Role,
        agency: Option<Agency>,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let sql = "INSERT INTO users (name, role, agency, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(sql)
            .bind(name)
            .bind(role.as_str())
            .bind(agency.map(|a| a.as_str()))
            .bind(password_hash)
            .bind(ms(now))
            .fetch_one(c)
            .await
            .map_err(|e| match map_err(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("a user named {name:?} already exists")),
                other => other,
            })?);
        let user = User {
            id,
            name: name.to_owned(),
            role,
            agency,
        };
        let ev = NewEvent {
            after: to_json(&user)?,
            ..NewEvent::of(actor, "user.created")
        };
        Self::append_event(&mut tx, ev, now).await?;
        Self::commit(tx).await?;
        Ok(user)
    }

    async fn credentials(&self, name: &str) -> Result<Option<(User, String)>> {
        let sql = "SELECT id, name, role, agency, password_hash FROM users WHERE name = $1";
        let row: Option<UserRow> = on_read!(self, |c| sqlx::query_as(sql).bind(name).fetch_optional(c).await.db()?);
        row.map(UserRow::into_model).transpose()
    }

    async fn users(&self) -> Result<Vec<User>> {
        let sql = "SELECT id, name, role, agency, password_hash FROM users ORDER BY id";
        let rows: Vec<UserRow> = on_read!(self, |c| sqlx::query_as(sql).fetch_all(c).await.db()?);
        rows.into_iter().map(|r| r.into_model().map(|(u, _)| u)).collect()
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        // Sweep expired sessions on the way; sign-ins are rare enough.
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(ms(now))
            .execute(c)
            .await
            .map(drop)
            .db()?);
        let sql = "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
        on_tx!(&mut tx, |c| sqlx::query(sql)
            .bind(token_hash)
            .bind(user)
            .bind(ms(now))
            .bind(ms(expires))
            .execute(c)
            .await
            .map(drop)
            .db()?);
        Self::commit(tx).await
    }

    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let sql = "SELECT u.id, u.name, u.role, u.agency, u.password_hash FROM sessions s \
                   JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2";
        let row: Option<UserRow> = on_read!(self, |c| sqlx::query_as(sql)
            .bind(token_hash)
            .bind(ms(now))
            .fetch_optional(c)
            .await
            .db()?);
        Ok(row.map(UserRow::into_model).transpose()?.map(|(u, _)| u))
    }

    async fn signed_in(&self, now: DateTime<Utc>) -> Result<Vec<UserId>> {
        let rows: Vec<(i64,)> = self
            .rows(
                "SELECT DISTINCT user_id FROM sessions WHERE expires_at >= $1 ORDER BY user_id".into(),
                &[ms(now)],
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(c)
            .await
            .map(drop)
            .db()?);
        Self::commit(tx).await
    }

    async fn seed_units(&self, seeds: &[UnitSeed], now: DateTime<Utc>) -> Result<usize> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let count: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM units")
            .fetch_one(c)
            .await
            .db()?);
        if count > 0 {
            return Ok(0);
        }
        let sql = "INSERT INTO units (code, name, kind, jurisdiction, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                   ON CONFLICT (code) DO NOTHING";
        for s in seeds {
            on_tx!(&mut tx, |c| sqlx::query(sql)
                .bind(&s.code)
                .bind(&s.name)
                .bind(s.kind.as_str())
                .bind(&s.jurisdiction)
                .bind(UnitStatus::Available.as_str())
                .bind(ms(now))
                .execute(c)
                .await
                .map(drop)
                .db()?);
        }
        Self::commit(tx).await?;
        Ok(seeds.len())
    }

    async fn units(&self) -> Result<Vec<Unit>> {
        let sql = "SELECT id, code, name, kind, jurisdiction, status, incident_id, updated_at FROM units ORDER BY code";
        let rows: Vec<UnitRow> = on_read!(self, |c| sqlx::query_as(sql).fetch_all(c).await.db()?);
        rows.into_iter().map(UnitRow::into_model).collect()
    }

    async fn set_unit_status(&self, actor: &User, id: UnitId, status: UnitStatus, now: DateTime<Utc>) -> Result<Unit> {
        let now = at_ms(now);
        for _ in 0..RACE_RETRIES {
            let mut tx = self.begin().await?;
            let unit = Self::load_unit(&mut tx, id).await?;
            if unit.status == status {
                return Ok(unit);
            }
            // Going available or off duty ends the unit's assignment.
            let incident = match status {
                UnitStatus::Available | UnitStatus::OffDuty => None,
                _ => unit.incident_id,
            };
            if let Some(after) = Self::move_unit(&mut tx, actor, &unit, status, incident, now).await? {
                Self::commit(tx).await?;
                return Ok(after);
            }
        }
        Err(StoreError::Conflict(format!(
            "unit {id} is changing too often; try again"
        )))
    }

    async fn intake(
        &self,
        actor: &User,
        key: Option<&str>,
        new: NewIncident,
        now: DateTime<Utc>,
    ) -> Result<IntakeOutcome> {
        let now = at_ms(now);
        let mut new = new;
        new.received_at = at_ms(new.received_at);
        let (reply, outcome) = tokio::sync::oneshot::channel();
        let job = IntakeJob {
            actor: actor.clone(),
            key: key.map(str::to_owned),
            new: new.clone(),
            now,
            reply,
        };
        // Two requests with one key racing (two instances) need no retry: the
        // insert's ON CONFLICT waits for the first and the second replays it.
        match self.intakes.send(job).await {
            Ok(()) => outcome
                .await
                .unwrap_or_else(|_| Err(StoreError::Unavailable("the intake writer stopped".into()))),
            Err(_) => Err(StoreError::Unavailable("the intake writer stopped".into())),
        }
    }

    async fn incident(&self, id: IncidentId) -> Result<Incident> {
        let sql = format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = $1");
        self.read_incidents(sql, vec![id])
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("incident #{id}")))
    }

    async fn queue_snapshot(&self) -> Result<(EventId, Vec<QueueEntry>)> {
        // Only what a queue row shows: the suggestion's JSON and the rest of
        // the record stay in the database.
        let sql = format!(
            "SELECT id, channel, COALESCE(phone, wechat_id, web_account) AS shown_caller, received_at, \
             COALESCE(priority, sugg_priority, 'P3') AS shown_priority, \
             COALESCE(category, sugg_category) AS shown_category, status, holder_id, holder_name, held_since, \
             disconnect, SUBSTR(narrative, 1, {QUEUE_SUMMARY_CHARS}) AS summary, version \
             FROM incidents WHERE status IN ('new', 'in_progress') \
             ORDER BY shown_priority, received_at, id"
        );
        let head = "SELECT COALESCE(MAX(id), 0) FROM events";
        // One read transaction: the rows and the log's head from the same
        // snapshot (WAL in SQLite, REPEATABLE READ in PostgreSQL). Events
        // are appended in the transaction of the change they record.
        macro_rules! snapshot {
            ($tx:expr) => {{
                let head = sqlx::query_scalar(head).fetch_one(&mut *$tx).await.db()?;
                let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut *$tx)
                    .await
                    .db()?;
                $tx.commit().await.db()?;
                (head, rows)
            }};
        }
        let (head, rows): (i64, Vec<QueueRow>) = match &self.db {
            Db::Sqlite { read, .. } => {
                let mut tx = read.begin().await.db()?;
                snapshot!(tx)
            }
            Db::Pg(p) => {
                let mut tx = p.begin().await.db()?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .execute(&mut *tx)
                    .await
                    .db()?;
                snapshot!(tx)
            }
        };
        Ok((head, rows.into_iter().map(QueueRow::into_model).collect::<Result<_>>()?))
    }

    async fn incidents(&self, f: &IncidentFilter) -> Result<Vec<Incident>> {
        let mut sql = format!("SELECT {INCIDENT_COLS} FROM incidents WHERE received_at >= $1 AND received_at <= $2");
        if !f.statuses.is_empty() {
            // Codes come from a closed enum, so inlining them is safe.
            let list: Vec<String> = f.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
            sql.push_str(&format!(" AND status IN ({})", list.join(", ")));
        }
        sql.push_str(" ORDER BY received_at DESC, id DESC LIMIT $3");
        let since = f.since.map_or(i64::MIN, ms);
        let until = f.until.map_or(i64::MAX, ms);
        let limit = if f.limit > 0 { f.limit } else { 1000 };
        self.read_incidents(sql, vec![since, until, limit]).await
    }

    async fn mutate(
        &self,
        actor: &User,
        id: IncidentId,
        expected_version: Option<i64>,
        op: IncidentOp,
        now: DateTime<Utc>,
    ) -> Result<Mutation> {
        for _ in 0..RACE_RETRIES {
            match self.try_mutate(actor, id, expected_version, op.clone(), now).await? {
                Some(m) => return Ok(m),
                None if expected_version.is_some() => {
                    return Err(StoreError::Conflict(format!(
                        "incident #{id} was changed by someone else: reload it and try again"
                    )));
                }
                None => continue,
            }
        }
        Err(StoreError::Conflict(format!(
            "incident #{id} is changing too often; try again"
        )))
    }

    async fn referrals(&self, f: &ReferralFilter, now: DateTime<Utc>) -> Result<Vec<Referral>> {
        let mut sql = format!("SELECT {REFERRAL_COLS} FROM referrals WHERE 1 = 1");
        if let Some(a) = f.agency {
            sql.push_str(&format!(" AND agency = '{}'", a.as_str()));
        }
        if !f.statuses.is_empty() {
            let list: Vec<String> = f.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
            sql.push_str(&format!(" AND status IN ({})", list.join(", ")));
        }
        if let Some(i) = f.incident_id {
            sql.push_str(&format!(" AND incident_id = {i}"));
        }
        sql.push_str(" ORDER BY due_at, id LIMIT 2000");
        let rows: Vec<ReferralRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(c)
            .await
            .db()?);
        let mut out: Vec<Referral> = rows.into_iter().map(|r| r.into_model(now)).collect::<Result<_>>()?;
        // Overdue first, then oldest.
        out.sort_by_key(|r| (!r.overdue, r.created_at));
        Ok(out)
    }

    async fn referral_step(
        &self,
        actor: &User,
        id: ReferralId,
        step: ReferralStep,
        now: DateTime<Utc>,
    ) -> Result<Referral> {
        let now = at_ms(now);
        for _ in 0..RACE_RETRIES {
            let mut tx = self.begin().await?;
            let sql = format!("SELECT {REFERRAL_COLS} FROM referrals WHERE id = $1");
            let row: Option<ReferralRow> = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(c)
                .await
                .db()?);
            let before = row
                .ok_or_else(|| StoreError::NotFound(format!("referral {id}")))?
                .into_model(now)?;
            let mut r = before.clone();
            let kind = step.event_kind();
            model::apply_referral(&mut r, step.clone(), actor, now)?;
            let sql = "UPDATE referrals SET status = $1, feedback = $2, accepted_at = $3, feedback_at = $4, \
                       closed_at = $5 WHERE id = $6 AND status = $7";
            let n = on_tx!(&mut tx, |c| sqlx::query(sql)
                .bind(r.status.as_str())
                .bind(&r.feedback)
                .bind(r.accepted_at.map(ms))
                .bind(r.feedback_at.map(ms))
                .bind(r.closed_at.map(ms))
                .bind(id)
                .bind(before.status.as_str())
                .execute(c)
                .await
                .db()?
                .rows_affected());
            if n == 0 {
                continue;
            }
            let ev = NewEvent {
                incident_id: Some(r.incident_id),
                referral_id: Some(id),
                before: to_json(&before)?,
                after: to_json(&r)?,
                ..NewEvent::of(Some(actor), kind)
            };
            Self::append_event(&mut tx, ev, now).await?;
            Self::commit(tx).await?;
            return Ok(r);
        }
        Err(StoreError::Conflict(format!(
            "referral {id} is changing too often; try again"
        )))
    }

    async fn callbacks(&self, open_only: bool) -> Result<Vec<Callback>> {
        let sql = if open_only {
            format!("SELECT {CALLBACK_COLS} FROM callbacks WHERE status = 'open' ORDER BY created_at, id")
        } else {
            format!("SELECT {CALLBACK_COLS} FROM callbacks ORDER BY created_at DESC, id DESC LIMIT 2000")
        };
        let rows: Vec<CallbackRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(c)
            .await
            .db()?);
        rows.into_iter().map(CallbackRow::into_model).collect()
    }

    async fn close_callback(&self, actor: &User, id: i64, outcome: &str, now: DateTime<Utc>) -> Result<Callback> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let sql = format!("SELECT {CALLBACK_COLS} FROM callbacks WHERE id = $1");
        let row: Option<CallbackRow> = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(c)
            .await
            .db()?);
        let before = row
            .ok_or_else(|| StoreError::NotFound(format!("callback {id}")))?
            .into_model()?;
        if before.status == CallbackStatus::Closed {
            return Err(StoreError::Conflict(format!("callback {id} is already closed")));
        }
        let after = Callback {
            status: CallbackStatus::Closed,
            outcome: Some(outcome.to_owned()),
            closed_at: Some(now),
            closed_by: Some(actor.as_ref()),
            ..before.clone()
        };
        let sql = "UPDATE callbacks SET status = 'closed', outcome = $1, closed_at = $2, closed_by_id = $3, \
                   closed_by_name = $4 WHERE id = $5 AND status = 'open'";
        let n = on_tx!(&mut tx, |c| sqlx::query(sql)
            .bind(outcome)
            .bind(ms(now))
            .bind(actor.id)
            .bind(&actor.name)
            .bind(id)
            .execute(c)
            .await
            .db()?
            .rows_affected());
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "callback {id} was closed by someone else"
            )));
        }
        let ev = NewEvent {
            incident_id: Some(before.incident_id),
            before: to_json(&before)?,
            after: to_json(&after)?,
            ..NewEvent::of(Some(actor), "callback.closed")
        };
        Self::append_event(&mut tx, ev, now).await?;
        Self::commit(tx).await?;
        Ok(after)
    }

    async fn caller_counts(&self, phone: &CallerPhone, now: DateTime<Utc>) -> Result<CallerCounts> {
        let month_ago = ms(now) - 30 * 24 * 3600 * 1000;
        let invalid = "(category = 'invalid' OR close_reason = 'invalid')";
        let sql = format!(
            "SELECT COUNT(*), \
             COALESCE(SUM(CASE WHEN {invalid} THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN {invalid} AND received_at >= $2 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN {invalid} AND dispatched_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
             (SELECT COUNT(*) FROM caller_flags WHERE phone = $1 AND removed_at IS NULL) \
             FROM incidents WHERE phone = $1"
        );
        let (total_calls, invalid_calls, invalid_last_30d, wasted_dispatches, active_flags): (i64, i64, i64, i64, i64) =
            on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(phone.as_str())
                .bind(month_ago)
                .fetch_one(c)
                .await
                .db()?);
        Ok(CallerCounts {
            total_calls,
            invalid_calls,
            invalid_last_30d,
            wasted_dispatches,
            active_flags,
        })
    }

    async fn caller_history(&self, phone: &CallerPhone, now: DateTime<Utc>) -> Result<CallerHistory> {
        let p = phone.as_str();
        let counts = self.caller_counts(phone, now).await?;
        let sql = format!("SELECT {INCIDENT_COLS} FROM incidents WHERE phone = $1 ORDER BY received_at DESC LIMIT 200");
        let rows: Vec<IncidentRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(p)
            .fetch_all(c)
            .await
            .db()?);
        let incidents = rows
            .into_iter()
            .map(|r| {
                r.into_model().map(|i| IncidentSummary {
                    id: i.id,
                    channel: i.channel,
                    received_at: i.received_at,
                    status: i.status,
                    category: i.effective_category(),
                    close_reason: i.close_reason,
                    narrative: i.narrative,
                })
            })
            .collect::<Result<_>>()?;
        let sql = "SELECT id, phone, flag, note, created_by_id, created_by_name, created_at FROM caller_flags \
                   WHERE phone = $1 AND removed_at IS NULL ORDER BY created_at DESC";
        let flags: Vec<FlagRow> = on_read!(self, |c| sqlx::query_as(sql).bind(p).fetch_all(c).await.db()?);
        Ok(CallerHistory {
            phone: phone.clone(),
            total_calls: counts.total_calls,
            invalid_calls: counts.invalid_calls,
            invalid_last_30d: counts.invalid_last_30d,
            wasted_dispatches: counts.wasted_dispatches,
            flags: flags.into_iter().map(FlagRow::into_model).collect::<Result<_>>()?,
            incidents,
        })
    }

    async fn add_flag(
        &self,
        actor: &User,
        phone: &CallerPhone,
        flag: CallerFlagKind,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<CallerFlag> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let sql = "INSERT INTO caller_flags (phone, flag, note, created_by_id, created_by_name, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(sql)
            .bind(phone.as_str())
            .bind(flag.as_str())
            .bind(note)
            .bind(actor.id)
            .bind(&actor.name)
            .bind(ms(now))
            .fetch_one(c)
            .await
            .db()?);
        let f = CallerFlag {
            id,
            phone: phone.clone(),
            flag,
            note: note.to_owned(),
            created_by: actor.as_ref(),
            created_at: now,
        };
        let ev = NewEvent {
            after: to_json(&f)?,
            ..NewEvent::of(Some(actor), "caller.flagged")
        };
        Self::append_event(&mut tx, ev, now).await?;
        Self::commit(tx).await?;
        Ok(f)
    }

    async fn remove_flag(&self, actor: &User, id: i64, now: DateTime<Utc>) -> Result<()> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let sql = "SELECT id, phone, flag, note, created_by_id, created_by_name, created_at FROM caller_flags \
                   WHERE id = $1 AND removed_at IS NULL";
        let row: Option<FlagRow> = on_tx!(&mut tx, |c| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(c)
            .await
            .db()?);
        let flag = row
            .ok_or_else(|| StoreError::NotFound(format!("caller flag {id}")))?
            .into_model()?;
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE caller_flags SET removed_at = $1, removed_by_id = $2 WHERE id = $3"
        )
        .bind(ms(now))
        .bind(actor.id)
        .bind(id)
        .execute(c)
        .await
        .map(drop)
        .db()?);
        let ev = NewEvent {
            before: to_json(&flag)?,
            ..NewEvent::of(Some(actor), "caller.unflagged")
        };
        Self::append_event(&mut tx, ev, now).await?;
        Self::commit(tx).await
    }

    async fn events_after(&self, after: EventId, limit: i64) -> Result<Vec<Event>> {
        let sql = format!("SELECT {EVENT_COLS} FROM events WHERE id > $1 ORDER BY id LIMIT $2");
        let rows: Vec<EventRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(limit)
            .fetch_all(c)
            .await
            .db()?);
        rows.into_iter().map(EventRow::into_model).collect()
    }

    async fn last_event_id(&self) -> Result<EventId> {
        on_read!(self, |c| sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events")
            .fetch_one(c)
            .await
            .db())
    }

    async fn stats(&self, q: &StatsQuery, now: DateTime<Utc>) -> Result<ShiftStats> {
        const HOUR_MS: i64 = 3_600_000;
        let range = [ms(q.from), ms(q.to)];
        let now_ms = ms(now);
        let within = "FROM incidents WHERE received_at >= $1 AND received_at < $2";
        let eff_category = "COALESCE(category, sugg_category, '')";
        let invalid = format!("(COALESCE(close_reason, '') = 'invalid' OR {eff_category} = 'invalid')");
        let non_police = format!("(status = 'referred' OR {eff_category} = 'non_police')");

        let by_channel: Vec<(String, i64)> = self
            .rows(format!("SELECT channel, COUNT(*) {within} GROUP BY channel"), &range)
            .await?;
        let (invalid_n, non_police_n, police_n, total): (i64, i64, i64, i64) = self
            .row(
                format!(
                    "SELECT COUNT(CASE WHEN {invalid} THEN 1 END), \
                     COUNT(CASE WHEN NOT {invalid} AND {non_police} THEN 1 END), \
                     COUNT(CASE WHEN NOT {invalid} AND NOT {non_police} AND {eff_category} <> '' THEN 1 END), \
                     COUNT(*) {within}"
                ),
                &range,
            )
            .await?;
        let by_category: Vec<(Option<String>, i64)> = self
            .rows(
                format!("SELECT COALESCE(category, sugg_category), COUNT(*) {within} GROUP BY 1"),
                &range,
            )
            .await?;
        let by_agency: Vec<(String, i64)> = self
            .rows(
                format!(
                    "SELECT agency, COUNT(*) {within} AND status = 'referred' AND agency IS NOT NULL GROUP BY agency"
                ),
                &range,
            )
            .await?;

        let claim = self
            .timing(
                range,
                "(claimed_at - received_at)",
                "claimed_at IS NOT NULL",
                Some("(COALESCE(dispatched_at, closed_at, $4) - received_at) > $3"),
                Some(q.answer_secs),
                now_ms,
            )
            .await?;
        let dispatch = self
            .timing(
                range,
                "(dispatched_at - received_at)",
                "dispatched_at IS NOT NULL",
                None,
                Some(q.dispatch_secs),
                now_ms,
            )
            .await?;
        let on_scene = self
            .timing(
                range,
                "(on_scene_at - dispatched_at)",
                "on_scene_at IS NOT NULL AND dispatched_at IS NOT NULL",
                None,
                None,
                now_ms,
            )
            .await?;

        let (depth, unclaimed, oldest): (i64, i64, Option<i64>) = self
            .row(
                "SELECT COUNT(*), COUNT(CASE WHEN status = 'new' THEN 1 END), \
                 MIN(CASE WHEN status = 'new' THEN received_at END) \
                 FROM incidents WHERE status IN ('new', 'in_progress')"
                    .into(),
                &[],
            )
            .await?;
        let queue = QueueNow {
            depth,
            unclaimed,
            oldest_received_at: oldest.map(read_ts).transpose()?,
            oldest_wait_secs: oldest.map(|o| (now_ms - o).max(0) / 1000),
        };

        let handled: Vec<(i64, Option<String>, i64, Option<f64>)> = self
            .rows(
                format!(
                    "SELECT handled_by_id, MAX(handled_by_name), COUNT(*), \
                     CAST(AVG(CASE WHEN claimed_at IS NOT NULL \
                          THEN COALESCE(dispatched_at, closed_at) - claimed_at END) AS DOUBLE PRECISION) \
                     {within} AND handled_by_id IS NOT NULL GROUP BY handled_by_id"
                ),
                &range,
            )
            .await?;
        let holding: Vec<(i64, Option<String>, i64)> = self
            .rows(
                "SELECT holder_id, MAX(holder_name), COUNT(*) FROM incidents \
                 WHERE status IN ('new', 'in_progress') AND holder_id IS NOT NULL GROUP BY holder_id"
                    .into(),
                &[],
            )
            .await?;
        let mut operators: Vec<OperatorStats> = handled
            .into_iter()
            .map(|(id, name, n, avg)| OperatorStats {
                operator: UserRef {
                    id,
                    name: name.unwrap_or_default(),
                },
                handled: n,
                avg_handling_secs: avg.map(|a| a / 1000.0),
                holding: 0,
            })
            .collect();
        for (id, name, n) in holding {
            match operators.iter_mut().find(|o| o.operator.id == id) {
                Some(o) => o.holding = n,
                None => operators.push(OperatorStats {
                    operator: UserRef {
                        id,
                        name: name.unwrap_or_default(),
                    },
                    handled: 0,
                    avg_handling_secs: None,
                    holding: n,
                }),
            }
        }
        operators.sort_by(|a, b| b.handled.cmp(&a.handled).then(a.operator.name.cmp(&b.operator.name)));

        // Hours of the range up to now, with arrivals by channel and the open
        // queue at each hour's end: the depth when the range began, plus
        // arrivals, minus calls that left the queue (dispatched or closed).
        let left = "COALESCE(dispatched_at, closed_at)";
        let span_end = range[1].min(now_ms.max(range[0]));
        let hours = ((span_end - range[0] + HOUR_MS - 1) / HOUR_MS).max(1) as usize;
        let mut hourly: Vec<HourBucket> = (0..hours)
            .map(|h| {
                Ok(HourBucket {
                    start: read_ts(range[0] + h as i64 * HOUR_MS)?,
                    by_channel: Default::default(),
                    queue_depth: 0,
                })
            })
            .collect::<Result<_>>()?;
        let arrivals: Vec<(i64, String, i64)> = self
            .rows(
                format!("SELECT (received_at - $1) / {HOUR_MS}, channel, COUNT(*) {within} GROUP BY 1, 2"),
                &range,
            )
            .await?;
        let departures: Vec<(i64, i64)> = self
            .rows(
                format!(
                    "SELECT ({left} - $1) / {HOUR_MS}, COUNT(*) FROM incidents \
                     WHERE {left} >= $1 AND {left} < $2 GROUP BY 1"
                ),
                &range,
            )
            .await?;
        let (initial,): (i64,) = self
            .row(
                format!("SELECT COUNT(*) FROM incidents WHERE received_at < $1 AND ({left} IS NULL OR {left} >= $1)"),
                &range[..1],
            )
            .await?;
        let mut delta = vec![0i64; hours];
        for (h, channel, n) in arrivals {
            if let Some(b) = hourly.get_mut(h as usize) {
                *b.by_channel.entry(parse("channel", &channel)?).or_default() += n;
                delta[h as usize] += n;
            }
        }
        for (h, n) in departures {
            if let Some(d) = delta.get_mut(h as usize) {
                *d -= n;
            }
        }
        let mut depth_at = initial;
        for (b, d) in hourly.iter_mut().zip(delta) {
            depth_at += d;
            b.queue_depth = depth_at;
        }

        // Calls an operator disposed of (as `triage export` counts them);
        // non-police and invalid calls carry no operator priority: P4.
        let agreement: Vec<(String, i64, i64, i64)> = self
            .rows(
                format!(
                    "SELECT sugg_category, COUNT(*), \
                     COUNT(CASE WHEN category = sugg_category THEN 1 END), \
                     COUNT(CASE WHEN category = sugg_category \
                       AND COALESCE(priority, 'P4') = COALESCE(sugg_priority, 'P4') THEN 1 END) \
                     {within} AND handled_by_id IS NOT NULL AND category IS NOT NULL \
                     AND sugg_category IS NOT NULL \
                     GROUP BY sugg_category ORDER BY sugg_category"
                ),
                &range,
            )
            .await?;
        let mut triage_agreement = agreement
            .into_iter()
            .map(|(c, confirmed, kept_category, kept_priority)| {
                Ok(crate::model::stats::TriageAgreement {
                    suggested: parse("category", &c)?,
                    confirmed,
                    kept_category,
                    kept_priority,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // In the taxonomy's order, police categories first.
        triage_agreement.sort_by_key(|a| a.suggested);

        let mut categories = std::collections::BTreeMap::new();
        for (c, n) in by_category.into_iter().filter_map(|(c, n)| Some((c?, n))) {
            categories.insert(parse("category", &c)?, n);
        }
        Ok(ShiftStats {
            from: q.from,
            to: q.to,
            generated_at: now,
            total,
            by_channel: by_channel
                .into_iter()
                .map(|(c, n)| Ok((parse("channel", &c)?, n)))
                .collect::<Result<_>>()?,
            classes: Classes {
                police: police_n,
                non_police: non_police_n,
                invalid: invalid_n,
                unclassified: total - police_n - non_police_n - invalid_n,
            },
            by_category: categories,
            by_agency: by_agency
                .into_iter()
                .map(|(a, n)| Ok((parse("agency", &a)?, n)))
                .collect::<Result<_>>()?,
            claim,
            dispatch,
            on_scene,
            queue,
            operators,
            hourly,
            triage_agreement,
        })
    }

    async fn alerts(&self, q: &AlertQuery, now: DateTime<Utc>) -> Result<Alerts> {
        let now_ms = ms(now);
        let waves: Vec<(String, i64, i64, i64)> = self
            .rows(
                "SELECT phone, COUNT(*), MIN(received_at), MAX(received_at) FROM incidents \
                 WHERE phone IS NOT NULL AND received_at >= $1 GROUP BY phone HAVING COUNT(*) >= $2 \
                 ORDER BY COUNT(*) DESC, phone LIMIT 50"
                    .into(),
                &[now_ms - q.wave_mins * 60_000, q.wave_calls],
            )
            .await?;
        let waits: Vec<(i64, Option<String>, i64)> = self
            .rows(
                "SELECT id, COALESCE(priority, sugg_priority), received_at FROM incidents \
                 WHERE status = 'new' AND received_at <= $1 ORDER BY received_at, id LIMIT 200"
                    .into(),
                &[now_ms - q.wait_secs * 1000],
            )
            .await?;
        let holds: Vec<(i64, i64, Option<String>, i64)> = self
            .rows(
                "SELECT id, holder_id, holder_name, held_since FROM incidents \
                 WHERE status = 'in_progress' AND holder_id IS NOT NULL AND held_since <= $1 \
                 ORDER BY held_since, id LIMIT 200"
                    .into(),
                &[now_ms - q.hold_mins * 60_000],
            )
            .await?;
        Ok(Alerts {
            waves: waves
                .into_iter()
                .map(|(p, calls, first, last)| {
                    Ok(WaveAlert {
                        phone: CallerPhone::parse(&p).map_err(|e| corrupt("phone number", e))?,
                        calls,
                        first_at: read_ts(first)?,
                        last_at: read_ts(last)?,
                    })
                })
                .collect::<Result<_>>()?,
            long_waits: waits
                .into_iter()
                .map(|(id, p, at)| {
                    Ok(WaitAlert {
                        incident_id: id,
                        priority: parse_opt("priority", p.as_deref())?.unwrap_or(model::Priority::P3),
                        received_at: read_ts(at)?,
                        wait_secs: (now_ms - at) / 1000,
                    })
                })
                .collect::<Result<_>>()?,
            stale_holds: holds
                .into_iter()
                .map(|(id, holder, name, since)| {
                    Ok(HoldAlert {
                        incident_id: id,
                        holder: UserRef {
                            id: holder,
                            name: name.unwrap_or_default(),
                        },
                        held_since: read_ts(since)?,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    async fn nuisance_ranking(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<NuisanceCaller>> {
        // Only what an operator confirmed counts against a caller, as in caller history.
        let invalid = "(COALESCE(i.close_reason, '') = 'invalid' OR COALESCE(i.category, '') = 'invalid')";
        let sql = format!(
            "SELECT i.phone, COUNT(*), COUNT(CASE WHEN {invalid} THEN 1 END), \
             COUNT(CASE WHEN {invalid} AND i.dispatched_at IS NOT NULL THEN 1 END), \
             (SELECT COUNT(*) FROM caller_flags f WHERE f.phone = i.phone AND f.removed_at IS NULL), \
             MAX(i.received_at) \
             FROM incidents i WHERE i.phone IS NOT NULL AND i.received_at >= $1 AND i.received_at < $2 \
             GROUP BY i.phone HAVING COUNT(CASE WHEN {invalid} THEN 1 END) > 0 \
             ORDER BY 3 DESC, 4 DESC, 2 DESC, i.phone LIMIT $3"
        );
        let rows: Vec<(String, i64, i64, i64, i64, i64)> =
            self.rows(sql, &[ms(from), ms(to), limit.clamp(1, 1000)]).await?;
        rows.into_iter()
            .map(|(p, total, invalid, wasted, flags, last)| {
                Ok(NuisanceCaller {
                    phone: CallerPhone::parse(&p).map_err(|e| corrupt("phone number", e))?,
                    total_calls: total,
                    invalid_calls: invalid,
                    wasted_dispatches: wasted,
                    active_flags: flags,
                    last_call_at: read_ts(last)?,
                })
            })
            .collect()
    }

    async fn add_supplement(&self, actor: &User, id: IncidentId, text: &str, now: DateTime<Utc>) -> Result<Supplement> {
        let text = model::parse_supplement(text)?;
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        Self::load_incident(&mut tx, id).await?;
        let s = Self::insert_supplement(&mut tx, actor, id, &text, None, now).await?;
        Self::commit(tx).await?;
        Ok(s)
    }

    async fn supplements(&self, id: IncidentId) -> Result<Vec<Supplement>> {
        let sql = format!("SELECT {SUPPLEMENT_COLS} FROM supplements WHERE incident_id = $1 ORDER BY id");
        let rows: Vec<SupplementRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_all(c)
            .await
            .db()?);
        rows.into_iter().map(SupplementRow::into_model).collect()
    }

    async fn dossier(&self, phone: &CallerPhone, now: DateTime<Utc>) -> Result<Dossier> {
        let history = self.caller_history(phone, now).await?;
        let sql = format!(
            "SELECT {INCIDENT_COLS} FROM incidents WHERE phone = $1 \
             ORDER BY received_at, id LIMIT 10000"
        );
        let rows: Vec<IncidentRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(phone.as_str())
            .fetch_all(c)
            .await
            .db()?);
        let incidents: Vec<Incident> = rows.into_iter().map(IncidentRow::into_model).collect::<Result<_>>()?;
        let sql = format!(
            "SELECT {SUPPLEMENT_COLS} FROM supplements WHERE incident_id IN \
             (SELECT id FROM incidents WHERE phone = $1) ORDER BY id LIMIT 10000"
        );
        let supplements: Vec<SupplementRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(phone.as_str())
            .fetch_all(c)
            .await
            .db()?);
        Ok(Dossier {
            phone: phone.clone(),
            generated_at: now,
            total_calls: history.total_calls,
            invalid_calls: history.invalid_calls,
            wasted_dispatches: history.wasted_dispatches,
            flags: history.flags,
            incidents,
            supplements: supplements
                .into_iter()
                .map(SupplementRow::into_model)
                .collect::<Result<_>>()?,
        })
    }

    async fn audit(&self, f: &AuditFilter) -> Result<Vec<Event>> {
        let mut sql = format!("SELECT {EVENT_COLS} FROM events WHERE at >= $1 AND at <= $2");
        let mut n = 2;
        let mut ints = Vec::new();
        if let Some(a) = f.actor_id {
            n += 1;
            sql.push_str(&format!(" AND actor_id = ${n}"));
            ints.push(a);
        }
        if let Some(i) = f.incident_id {
            n += 1;
            sql.push_str(&format!(" AND incident_id = ${n}"));
            ints.push(i);
        }
        if f.kind_prefix.is_some() {
            n += 1;
            sql.push_str(&format!(" AND kind LIKE ${n} ESCAPE '\\'"));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
        let limit = if f.limit > 0 { f.limit.min(5000) } else { 500 };
        let like = f.kind_prefix.as_ref().map(|k| {
            let escaped = k.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("{escaped}%")
        });
        let rows: Vec<EventRow> = on_read!(self, |c| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(f.since.map_or(i64::MIN, ms))
                .bind(f.until.map_or(i64::MAX, ms));
            for i in &ints {
                q = q.bind(*i);
            }
            if let Some(l) = &like {
                q = q.bind(l.clone());
            }
            q.bind(limit).fetch_all(c).await.db()?
        });
        rows.into_iter().map(EventRow::into_model).collect()
    }
}
