//! Durable storage: incidents, referrals, units, callers, users and the
//! append-only event log, on SQLite (embedded default) or PostgreSQL.
//!
//! Owns: SQL, migrations, transactions, and the guarantee that a successful
//! write is durable and its event is in the log. Must not touch: HTTP, egui,
//! or lifecycle rules (those are [`crate::model::apply`], called inside the
//! store's transactions).

mod sql;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::{
    Agency, Callback, CallerFlag, CallerFlagKind, CallerHistory, CallerPhone, DomainError, Event, EventId, Followup,
    FollowupChannel, FollowupOutcome, Incident, IncidentId, IncidentOp, MapIncident, NewIncident, QueueEntry,
    Rectification, Referral, ReferralId, ReferralReview, ReferralStatus, ReferralStep, ReviewOutcome, Role,
    Satisfaction, Status, Supplement, Unit, UnitId, UnitStatus, User, UserId,
    gazetteer::UnitSeed,
    geo::GeoPoint,
    stats::{AlertQuery, Alerts, Dossier, NuisanceCaller, ShiftStats, StatsQuery},
};

pub use sql::{Archived, PG_EVENT_CHANNEL, SqlStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    /// Someone else changed the row first (optimistic concurrency).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The database cannot be reached right now; retrying later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Internal(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A stored intake, and whether it was a replay of an earlier request.
#[derive(Debug, Clone)]
pub struct IntakeOutcome {
    pub incident: Incident,
    pub replayed: bool,
    pub callback: Option<Callback>,
}

#[derive(Debug, Clone)]
pub struct Mutation {
    pub incident: Incident,
    pub referral: Option<Referral>,
}

/// A caller's counts, for triage's nuisance warning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallerCounts {
    pub total_calls: i64,
    pub invalid_calls: i64,
    pub invalid_last_30d: i64,
    pub wasted_dispatches: i64,
    pub active_flags: i64,
}

#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub statuses: Vec<Status>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ReferralFilter {
    pub agency: Option<Agency>,
    pub statuses: Vec<ReferralStatus>,
    pub incident_id: Option<IncidentId>,
}

pub use crate::model::AuditFilter;

/// Settings the store applies inside its transactions.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// A referral not accepted within this time is overdue.
    pub referral_accept_secs: i64,
    /// Once accepted, the agency's first feedback is due within this time…
    pub referral_feedback_secs: i64,
    /// …and the order closed within this many working days.
    pub referral_close_working_days: u32,
    /// The centre's limits for its statistics and call-quality review.
    pub thresholds: crate::model::stats::Thresholds,
    /// Share of P3/P4 calls dealt with that get a follow-up (回访); P1 and
    /// P2 always do.
    pub followup_share: f64,
    /// Working days to put right what a dissatisfied caller complained of
    /// (5 in the published practice, e.g. Dongguan).
    pub rectify_working_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            referral_accept_secs: 30 * 60,
            referral_feedback_secs: 24 * 3600,
            referral_close_working_days: 5,
            thresholds: Default::default(),
            followup_share: 0.1,
            rectify_working_days: 5,
        }
    }
}

/// Which follow-ups to list.
#[derive(Debug, Clone, Default)]
pub struct FollowupFilter {
    pub open_only: bool,
    pub channel: Option<FollowupChannel>,
    pub incident_id: Option<IncidentId>,
}

/// Everything the service persists. Each method is one transaction; a method
/// that changes state appends its event(s) in the same transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;
    /// Fails fast when the database is unreachable.
    async fn health(&self) -> Result<()>;

    async fn user_count(&self) -> Result<i64>;
    async fn create_user(
        &self,
        actor: Option<&User>,
        name: &str,
        role: Role,
        agency: Option<Agency>,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<User>;
    /// The user and their password hash, for sign-in.
    async fn credentials(&self, name: &str) -> Result<Option<(User, String)>>;
    async fn users(&self) -> Result<Vec<User>>;
    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<()>;
    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Accounts with a session that has not expired: who is signed in now.
    async fn signed_in(&self, now: DateTime<Utc>) -> Result<Vec<UserId>>;

    /// Creates the gazetteer's units that are missing and places units
    /// that have no position at their station; returns how many were added.
    async fn seed_units(&self, seeds: &[UnitSeed], now: DateTime<Utc>) -> Result<usize>;
    async fn units(&self) -> Result<Vec<Unit>>;
    async fn set_unit_status(&self, actor: &User, id: UnitId, status: UnitStatus, now: DateTime<Utc>) -> Result<Unit>;
    /// A unit's reported position (`unit.position` event).
    async fn set_unit_position(&self, actor: &User, id: UnitId, at: GeoPoint, now: DateTime<Utc>) -> Result<Unit>;

    /// Stores an intake. With an idempotency key already used by this actor,
    /// returns the incident stored the first time instead.
    async fn intake(
        &self,
        actor: &User,
        idempotency_key: Option<&str>,
        new: NewIncident,
        now: DateTime<Utc>,
    ) -> Result<IntakeOutcome>;
    async fn incident(&self, id: IncidentId) -> Result<Incident>;
    /// The open incidents (new, in progress) as queue rows, by priority then
    /// waiting time, and the id of the last event they include, read in one
    /// snapshot: replaying the log after that id brings them up to date.
    async fn queue_snapshot(&self) -> Result<(EventId, Vec<QueueEntry>)>;
    /// Incidents with a position that are open, or came in since `since`
    /// (newest first, at most 20,000): the lead's map.
    async fn map_incidents(&self, since: DateTime<Utc>) -> Result<Vec<MapIncident>>;
    async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>>;
    /// Applies a lifecycle operation. `expected_version`, when given, must be
    /// the incident's current version; without it a concurrent change is
    /// retried against the fresh state.
    async fn mutate(
        &self,
        actor: &User,
        id: IncidentId,
        expected_version: Option<i64>,
        op: IncidentOp,
        now: DateTime<Utc>,
    ) -> Result<Mutation>;

    async fn referrals(&self, filter: &ReferralFilter, now: DateTime<Utc>) -> Result<Vec<Referral>>;
    async fn referral_step(
        &self,
        actor: &User,
        id: ReferralId,
        step: ReferralStep,
        now: DateTime<Utc>,
    ) -> Result<Referral>;
    async fn record_three_way(
        &self,
        actor: &User,
        id: ReferralId,
        parties: &str,
        now: DateTime<Utc>,
    ) -> Result<Referral>;
    /// A shift lead's decision on a returned referral, with what it does
    /// to the incident, atomically.
    async fn review_referral(
        &self,
        actor: &User,
        id: ReferralId,
        review: &ReferralReview,
        now: DateTime<Utc>,
    ) -> Result<ReviewOutcome>;

    /// Call-quality review of every call received in `from..to`.
    async fn qa_calls(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limits: &crate::model::QaLimits,
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::model::QaCall>>;

    /// A shift lead's hand review of a call (replaces an earlier one).
    async fn review_call(
        &self,
        actor: &User,
        id: IncidentId,
        score: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::model::QaReview>;

    async fn followups(&self, filter: &FollowupFilter) -> Result<Vec<Followup>>;
    /// Records a follow-up's outcome; a dissatisfied one opens a
    /// rectification in the same transaction.
    async fn record_followup(
        &self,
        actor: &User,
        id: i64,
        outcome: Satisfaction,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<FollowupOutcome>;
    async fn rectifications(
        &self,
        open_only: bool,
        agency: Option<Agency>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Rectification>>;
    async fn close_rectification(&self, actor: &User, id: i64, note: &str, now: DateTime<Utc>)
    -> Result<Rectification>;

    async fn callbacks(&self, open_only: bool) -> Result<Vec<Callback>>;
    async fn close_callback(&self, actor: &User, id: i64, outcome: &str, now: DateTime<Utc>) -> Result<Callback>;

    async fn caller_history(&self, phone: &CallerPhone, now: DateTime<Utc>) -> Result<CallerHistory>;
    /// Just the counts of [`Store::caller_history`]: cheap enough for every intake.
    async fn caller_counts(&self, phone: &CallerPhone, now: DateTime<Utc>) -> Result<CallerCounts>;
    async fn add_flag(
        &self,
        actor: &User,
        phone: &CallerPhone,
        flag: CallerFlagKind,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<CallerFlag>;
    async fn remove_flag(&self, actor: &User, id: i64, now: DateTime<Utc>) -> Result<()>;

    /// Appends a line to an incident (audited as `incident.supplemented`).
    async fn add_supplement(&self, actor: &User, id: IncidentId, text: &str, now: DateTime<Utc>) -> Result<Supplement>;
    /// An incident's supplements, oldest first.
    async fn supplements(&self, id: IncidentId) -> Result<Vec<Supplement>>;

    /// Statistics of calls received in the query's range, by SQL aggregation.
    async fn stats(&self, q: &StatsQuery, now: DateTime<Utc>) -> Result<ShiftStats>;
    async fn alerts(&self, q: &AlertQuery, now: DateTime<Utc>) -> Result<Alerts>;
    /// Numbers with invalid calls received in the range, most invalid first.
    async fn nuisance_ranking(&self, from: DateTime<Utc>, to: DateTime<Utc>, limit: i64)
    -> Result<Vec<NuisanceCaller>>;
    /// Every call from a number, with its flags and totals.
    async fn dossier(&self, phone: &CallerPhone, now: DateTime<Utc>) -> Result<Dossier>;

    /// Events with id greater than `after`, oldest first.
    async fn events_after(&self, after: EventId, limit: i64) -> Result<Vec<Event>>;
    async fn last_event_id(&self) -> Result<EventId>;
    /// Events matching the filter, newest first.
    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<Event>>;
}

/// `url` fit for a log line or an error message: a password, in the
/// user-info part or as a `password=` parameter, becomes `***`. What is not
/// a URL at all is not shown, since we cannot tell where a secret would be
/// in it.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<unreadable URL>".to_owned();
    };
    if parsed.password().is_some() {
        // Fails only for URLs that cannot have a password at all.
        parsed.set_password(Some("***")).ok();
    }
    if parsed.query_pairs().any(|(k, _)| k.eq_ignore_ascii_case("password")) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") {
                    "***".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// Opens the store named by `url` (`sqlite://PATH` or `postgres://…`) and runs
/// its migrations.
pub async fn open(url: &str, policy: Policy) -> Result<SqlStore> {
    SqlStore::open(url, policy).await
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_reach_a_log_line() {
        let cases = [
            (
                "postgres://jj:s3cret@db.centre:5432/jiejing",
                "postgres://jj:***@db.centre:5432/jiejing",
            ),
            (
                "postgres:///jiejing?host=/run/postgresql&user=jj&password=s3cret",
                "postgres:///jiejing?host=%2Frun%2Fpostgresql&user=jj&password=***",
            ),
            ("postgres://jj@db/jiejing", "postgres://jj@db/jiejing"),
            (
                "sqlite:///var/lib/jiejing/jiejing.db",
                "sqlite:///var/lib/jiejing/jiejing.db",
            ),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
            assert!(!redact_url(url).contains("s3cret"));
        }
        assert_eq!(redact_url("postgres//jj:s3cret@db"), "<unreadable URL>");
    }
}
