//! One SQL implementation for both backends. The SQL is portable (`$N`
//! placeholders, which SQLite also accepts; integer milliseconds for time;
//! text for codes and JSON), so each statement is written once and the
//! [`on_tx!`]/[`on_read!`] macros run it on whichever pool is open.
//!
//! This file holds the connection (open, migrations, transactions, the
//! event-log append) and `impl Store`, which reads as a list: each method
//! runs the one of the same name in the file of its concern — `accounts`,
//! `intake`, `incidents`, `oversight` — over the row types of `rows`.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use super::{
    AuditFilter, Backend, CallerCounts, FollowupFilter, IncidentFilter, IntakeOutcome, Mutation, Policy,
    ReferralFilter, Result, Store, StoreError,
};
use crate::model::{
    self, Agency, Callback, CallbackStatus, Caller, CallerFlag, CallerFlagKind, CallerHistory, CallerPhone, Event,
    EventId, Followup, FollowupOutcome, FollowupStatus, Incident, IncidentId, IncidentOp, IncidentSummary, Location,
    MapIncident, NewIncident, QUEUE_SUMMARY_CHARS, QueueEntry, Rectification, RectificationStatus, Referral,
    ReferralId, ReferralReview, ReferralStatus, ReferralStep, ReviewOutcome, Role, Satisfaction, Status, Supplement,
    Unit, UnitId, UnitStatus, User, UserId, UserRef,
    gazetteer::UnitSeed,
    geo::GeoPoint,
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
    /// Connections the statistics' passes may hold at once, however many
    /// leads ask: a year's read takes seconds and must not starve intake.
    scans: tokio::sync::Semaphore,
}

/// See [`SqlStore::scans`]: four, on two cores, is already more than the
/// database can run side by side.
const SCANS: usize = 4;

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

/// "Load by id or not found", said one way everywhere.
trait OrNotFound<T> {
    fn or_not_found(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> OrNotFound<T> for Option<T> {
    fn or_not_found(self, what: impl FnOnce() -> String) -> Result<T> {
        self.ok_or_else(|| StoreError::NotFound(what()))
    }
}

/// A row type either backend can read.
trait ReadRow:
    for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin
{
}

impl<T> ReadRow for T where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin
{
}

/// A value bound to a numbered placeholder.
enum Value {
    Int(i64),
    Text(String),
}

/// A query whose conditions depend on a filter: every value is a numbered
/// bind (`$n`), never text spliced into the SQL, however it is built.
struct Filtered {
    sql: String,
    values: Vec<Value>,
}

impl Filtered {
    /// `select` ends in a WHERE clause; conditions are added with AND.
    fn new(select: String) -> Self {
        Filtered {
            sql: select,
            values: Vec::new(),
        }
    }

    /// Binds `v` and returns its placeholder.
    fn bind(&mut self, v: Value) -> String {
        self.values.push(v);
        format!("${}", self.values.len())
    }

    fn int(&mut self, v: i64) -> String {
        self.bind(Value::Int(v))
    }

    /// `AND column = $n`.
    fn and_eq(&mut self, column: &str, v: Value) {
        let p = self.bind(v);
        self.sql.push_str(&format!(" AND {column} = {p}"));
    }

    /// `AND column IN ($n, …)`; nothing when `codes` is empty (no filter).
    fn and_in<T: model::Coded>(&mut self, column: &str, codes: &[T]) {
        if codes.is_empty() {
            return;
        }
        let ps: Vec<String> = codes
            .iter()
            .map(|c| self.bind(Value::Text(c.as_str().to_owned())))
            .collect();
        self.sql.push_str(&format!(" AND {column} IN ({})", ps.join(", ")));
    }

    /// `AND column LIKE 'prefix%'`, the prefix taken literally.
    fn and_starts_with(&mut self, column: &str, prefix: &str) {
        let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let p = self.bind(Value::Text(format!("{escaped}%")));
        self.sql.push_str(&format!(" AND {column} LIKE {p} ESCAPE '\\'"));
    }

    /// The rest of the statement (ORDER BY …); `LIMIT` is bound too.
    fn then(&mut self, tail: &str, limit: i64) {
        let p = self.int(limit);
        self.sql.push_str(&format!(" {tail} LIMIT {p}"));
    }
}

/// SQL conditions written once and used wherever they apply.
mod cond {
    /// The calls still waiting or being worked: the queue.
    pub(super) const OPEN: &str = "status IN ('new', 'in_progress')";
    /// An operator confirmed the call invalid (closed so, or categorised so).
    /// Only this counts against a caller, in their history and in the
    /// nuisance ranking; a suggestion alone never does.
    pub(super) const CONFIRMED_INVALID: &str =
        "(COALESCE(close_reason, '') = 'invalid' OR COALESCE(category, '') = 'invalid')";
}

// After the macros, which reach the files below by textual order; `rows`
// first, since its `bind_incident!` serves `intake` and `incidents`.
#[macro_use]
mod rows;
mod accounts;
mod archive;
pub use archive::Archived;
mod backfill;
mod followups;
mod incidents;
mod intake;
mod oversight;

use intake::*;
use rows::*;

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

/// Reads the row `id` of `table` (with its `cols`) inside `tx`; `what`
/// names it in the not-found error ("referral 7").
async fn row_by_id<T: ReadRow>(tx: &mut Tx, cols: &str, table: &str, id: i64, what: &str) -> Result<T> {
    let sql = format!("SELECT {cols} FROM {table} WHERE id = $1");
    let row: Option<T> = on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(c)
        .await
        .db()?);
    row.or_not_found(|| format!("{what} {id}"))
}

/// How often a mutation is retried after losing a race to a concurrent change.
const RACE_RETRIES: usize = 8;

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
        Ok(SqlStore {
            db,
            policy,
            intakes,
            scans: tokio::sync::Semaphore::new(SCANS),
        })
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
        row.or_not_found(|| format!("incident #{id}"))?.into_model()
    }

    async fn load_unit(tx: &mut Tx, id: UnitId) -> Result<Unit> {
        let sql = SELECT_UNIT;
        let row: Option<UnitRow> = on_tx!(tx, |c| sqlx::query_as(sql).bind(id).fetch_optional(c).await.db()?);
        row.or_not_found(|| format!("unit {id}"))?.into_model()
    }

    /// Rows of a query whose parameters are all integers.
    async fn rows<T: ReadRow>(&self, sql: String, binds: &[i64]) -> Result<Vec<T>> {
        self.fetch(Filtered {
            sql,
            values: binds.iter().map(|b| Value::Int(*b)).collect(),
        })
        .await
    }

    async fn row<T: ReadRow>(&self, sql: String, binds: &[i64]) -> Result<T> {
        self.rows(sql, binds)
            .await?
            .pop()
            .ok_or_else(|| StoreError::Internal("an aggregate returned no row".into()))
    }

    /// Runs a [`Filtered`] query on the read pool.
    async fn fetch<T: ReadRow>(&self, f: Filtered) -> Result<Vec<T>> {
        Ok(on_read!(self, |c| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(f.sql));
            for v in f.values {
                q = match v {
                    Value::Int(i) => q.bind(i),
                    Value::Text(t) => q.bind(t),
                };
            }
            q.fetch_all(c).await.db()?
        }))
    }
}

/// Each method runs the one of the same name in the file of its concern
/// (accounts, intake, incidents, oversight); this impl is the list.
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
        SqlStore::user_count(self).await
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
        SqlStore::create_user(self, actor, name, role, agency, password_hash, now).await
    }

    async fn credentials(&self, name: &str) -> Result<Option<(User, String)>> {
        SqlStore::credentials(self, name).await
    }

    async fn users(&self) -> Result<Vec<User>> {
        SqlStore::users(self).await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<()> {
        SqlStore::create_session(self, token_hash, user, now, expires).await
    }

    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        SqlStore::session_user(self, token_hash, now).await
    }

    async fn signed_in(&self, now: DateTime<Utc>) -> Result<Vec<UserId>> {
        SqlStore::signed_in(self, now).await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        SqlStore::delete_session(self, token_hash).await
    }

    async fn seed_units(&self, seeds: &[UnitSeed], now: DateTime<Utc>) -> Result<usize> {
        SqlStore::seed_units(self, seeds, now).await
    }

    async fn units(&self) -> Result<Vec<Unit>> {
        SqlStore::units(self).await
    }

    async fn set_unit_status(&self, actor: &User, id: UnitId, status: UnitStatus, now: DateTime<Utc>) -> Result<Unit> {
        SqlStore::set_unit_status(self, actor, id, status, now).await
    }

    async fn set_unit_position(&self, actor: &User, id: UnitId, at: GeoPoint, now: DateTime<Utc>) -> Result<Unit> {
        SqlStore::set_unit_position(self, actor, id, at, now).await
    }

    async fn intake(
        &self,
        actor: &User,
        key: Option<&str>,
        new: NewIncident,
        now: DateTime<Utc>,
    ) -> Result<IntakeOutcome> {
        SqlStore::intake(self, actor, key, new, now).await
    }

    async fn incident(&self, id: IncidentId) -> Result<Incident> {
        SqlStore::incident(self, id).await
    }

    async fn map_incidents(&self, since: DateTime<Utc>) -> Result<Vec<MapIncident>> {
        SqlStore::map_incidents(self, since).await
    }

    async fn queue_snapshot(&self) -> Result<(EventId, Vec<QueueEntry>)> {
        SqlStore::queue_snapshot(self).await
    }

    async fn incidents(&self, f: &IncidentFilter) -> Result<Vec<Incident>> {
        SqlStore::incidents(self, f).await
    }

    async fn mutate(
        &self,
        actor: &User,
        id: IncidentId,
        expected_version: Option<i64>,
        op: IncidentOp,
        now: DateTime<Utc>,
    ) -> Result<Mutation> {
        SqlStore::mutate(self, actor, id, expected_version, op, now).await
    }

    async fn referrals(&self, f: &ReferralFilter, now: DateTime<Utc>) -> Result<Vec<Referral>> {
        SqlStore::referrals(self, f, now).await
    }

    async fn referral_step(
        &self,
        actor: &User,
        id: ReferralId,
        step: ReferralStep,
        now: DateTime<Utc>,
    ) -> Result<Referral> {
        SqlStore::referral_step(self, actor, id, step, now).await
    }

    async fn record_three_way(
        &self,
        actor: &User,
        id: ReferralId,
        parties: &str,
        now: DateTime<Utc>,
    ) -> Result<Referral> {
        SqlStore::record_three_way(self, actor, id, parties, now).await
    }

    async fn review_referral(
        &self,
        actor: &User,
        id: ReferralId,
        review: &ReferralReview,
        now: DateTime<Utc>,
    ) -> Result<ReviewOutcome> {
        SqlStore::review_referral(self, actor, id, review, now).await
    }

    async fn qa_calls(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limits: &model::QaLimits,
        now: DateTime<Utc>,
    ) -> Result<Vec<model::QaCall>> {
        SqlStore::qa_calls(self, from, to, limits, now).await
    }

    async fn review_call(
        &self,
        actor: &User,
        id: IncidentId,
        score: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<model::QaReview> {
        SqlStore::review_call(self, actor, id, score, note, now).await
    }

    async fn followups(&self, filter: &FollowupFilter) -> Result<Vec<Followup>> {
        SqlStore::followups(self, filter).await
    }

    async fn record_followup(
        &self,
        actor: &User,
        id: i64,
        outcome: Satisfaction,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<FollowupOutcome> {
        SqlStore::record_followup(self, actor, id, outcome, reason, now).await
    }

    async fn rectifications(
        &self,
        open_only: bool,
        agency: Option<Agency>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Rectification>> {
        SqlStore::rectifications(self, open_only, agency, now).await
    }

    async fn close_rectification(
        &self,
        actor: &User,
        id: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Rectification> {
        SqlStore::close_rectification(self, actor, id, note, now).await
    }

    async fn callbacks(&self, open_only: bool) -> Result<Vec<Callback>> {
        SqlStore::callbacks(self, open_only).await
    }

    async fn close_callback(&self, actor: &User, id: i64, outcome: &str, now: DateTime<Utc>) -> Result<Callback> {
        SqlStore::close_callback(self, actor, id, outcome, now).await
    }

    async fn caller_counts(&self, phone: &CallerPhone, now: DateTime<Utc>) -> Result<CallerCounts> {
        SqlStore::caller_counts(self, phone, now).await
    }

    async fn caller_history(&self, phone: &CallerPhone, now: DateTime<Utc>) -> Result<CallerHistory> {
        SqlStore::caller_history(self, phone, now).await
    }

    async fn add_flag(
        &self,
        actor: &User,
        phone: &CallerPhone,
        flag: CallerFlagKind,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<CallerFlag> {
        SqlStore::add_flag(self, actor, phone, flag, note, now).await
    }

    async fn remove_flag(&self, actor: &User, id: i64, now: DateTime<Utc>) -> Result<()> {
        SqlStore::remove_flag(self, actor, id, now).await
    }

    async fn events_after(&self, after: EventId, limit: i64) -> Result<Vec<Event>> {
        SqlStore::events_after(self, after, limit).await
    }

    async fn last_event_id(&self) -> Result<EventId> {
        SqlStore::last_event_id(self).await
    }

    async fn stats(&self, q: &StatsQuery, now: DateTime<Utc>) -> Result<ShiftStats> {
        SqlStore::stats(self, q, now).await
    }

    async fn alerts(&self, q: &AlertQuery, now: DateTime<Utc>) -> Result<Alerts> {
        SqlStore::alerts(self, q, now).await
    }

    async fn nuisance_ranking(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<NuisanceCaller>> {
        SqlStore::nuisance_ranking(self, from, to, limit).await
    }

    async fn add_supplement(&self, actor: &User, id: IncidentId, text: &str, now: DateTime<Utc>) -> Result<Supplement> {
        SqlStore::add_supplement(self, actor, id, text, now).await
    }

    async fn supplements(&self, id: IncidentId) -> Result<Vec<Supplement>> {
        SqlStore::supplements(self, id).await
    }

    async fn dossier(&self, phone: &CallerPhone, now: DateTime<Utc>) -> Result<Dossier> {
        SqlStore::dossier(self, phone, now).await
    }

    async fn audit(&self, f: &AuditFilter) -> Result<Vec<Event>> {
        SqlStore::audit(self, f).await
    }
}
