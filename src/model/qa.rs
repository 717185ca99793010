//! Call-quality review (质检): automatic checks of each call from its
//! record, a score per call and per operator. Pure: the store gathers the
//! facts, these functions judge them.

use super::*;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The limits the checks judge against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QaLimits {
    pub p1_dispatch: Duration,
    pub callback: Duration,
}

impl Default for QaLimits {
    fn default() -> Self {
        QaLimits {
            p1_dispatch: Duration::seconds(60),
            callback: Duration::minutes(10),
        }
    }
}

/// What the checks need to know about one call besides the incident.
#[derive(Debug, Clone, Default)]
pub struct QaFacts {
    /// The callback task of a hang-up: opened, and closed if it was.
    pub callback: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// The referral in force: its acceptance deadline, and when accepted.
    pub referral: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QaResult {
    pub check: QaCheck,
    pub passed: bool,
}

/// One call's review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QaCall {
    pub incident_id: IncidentId,
    pub received_at: DateTime<Utc>,
    pub channel: Channel,
    pub priority: Priority,
    pub status: Status,
    /// Who dealt with the call (or holds it now).
    pub operator: Option<UserRef>,
    /// The checks that apply to this call; none for a call nothing applies to.
    pub checks: Vec<QaResult>,
    /// Share of its checks passed, 0–100; `None` when none applies.
    pub score: Option<f64>,
    /// Drawn for the lead's hand review: a steady share of calls, and every
    /// P1 that failed its dispatch check.
    #[serde(default)]
    pub sampled: bool,
    /// The lead's hand review, once made.
    #[serde(default)]
    pub review: Option<QaReview>,
}

/// A shift lead's hand review of one call: a score and what to coach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QaReview {
    /// 0–100.
    pub score: i64,
    pub note: String,
    pub reviewer: UserRef,
    pub at: DateTime<Utc>,
}

/// Share of calls drawn for a hand review (besides every late P1).
pub const QA_SAMPLE_SHARE: f64 = 0.02;

/// Whether a call is drawn for the lead's hand review: by its id (the same
/// draw on every instance and every day), or because it is a P1 that was
/// dispatched late.
pub fn sampled_for_review(call: &QaCall) -> bool {
    let slot = (call.incident_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54;
    (slot as f64) < QA_SAMPLE_SHARE * 1024.0 || call.failed().any(|c| c == QaCheck::P1DispatchedInTime)
}

/// Checks a hand review: a score 0–100 and a coaching note.
pub fn checked_review(score: i64, note: &str, reviewer: &User, now: DateTime<Utc>) -> Result<QaReview, DomainError> {
    if !reviewer.is_lead() {
        return Err(DomainError::forbidden("lead_only", "only a shift lead reviews a call"));
    }
    if !(0..=100).contains(&score) {
        return Err(DomainError::invalid("score", "a score is between 0 and 100"));
    }
    Ok(QaReview {
        score,
        note: short_note("note", note, "the coaching note")?,
        reviewer: reviewer.as_ref(),
        at: now,
    })
}

impl QaCall {
    pub fn failed(&self) -> impl Iterator<Item = QaCheck> + '_ {
        self.checks.iter().filter(|c| !c.passed).map(|c| c.check)
    }
}

/// One operator's calls over the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QaOperator {
    pub operator: UserRef,
    pub calls: i64,
    /// Checks applied to their calls, and of those passed.
    pub checks: i64,
    pub passed: i64,
    /// Passed of applied, 0–100.
    pub score: Option<f64>,
    /// P1 calls not dispatched in time.
    pub p1_late: i64,
}

/// Judges one call at `now` (a check still inside its limit is not judged
/// yet; one past it without the deed has failed).
pub fn review_call(inc: &Incident, facts: &QaFacts, limits: &QaLimits, now: DateTime<Utc>) -> QaCall {
    let mut checks = Vec::new();
    let mut judge = |check, passed| checks.push(QaResult { check, passed });
    // Judged on the place as recorded now: moving it after dispatch is rare,
    // and the event log keeps the history for a hand review.
    if inc.dispatched_at.is_some() {
        let place = &inc.location;
        let recorded = !place.text.trim().is_empty() || place.jurisdiction.is_some() || place.lat.is_some();
        judge(QaCheck::LocationRecorded, recorded);
    }
    if let Some(out) = inc.dispatched_at {
        // Judged at dispatch: the category the unit went out on.
        judge(QaCheck::CategoryChosen, inc.category_set_at.is_some_and(|at| at <= out));
    }
    let warned = inc.suggestion.as_ref().is_some_and(|s| s.nuisance_warning.is_some());
    if let (true, Some(CloseReason::Invalid), Some(closed)) = (warned, inc.close_reason, inc.closed_at) {
        judge(QaCheck::WarningRead, inc.warning_read_at.is_some_and(|at| at <= closed));
    }
    if inc.effective_priority() == Priority::P1 && inc.close_reason.is_none() {
        let limit = inc.received_at + limits.p1_dispatch;
        match inc.dispatched_at {
            Some(at) => judge(QaCheck::P1DispatchedInTime, at <= limit),
            None if inc.status.is_queued() && now > limit => judge(QaCheck::P1DispatchedInTime, false),
            None => {}
        }
    }
    if let Some((opened, closed)) = facts.callback {
        let limit = opened + limits.callback;
        match closed {
            Some(at) => judge(QaCheck::CallbackInTime, at <= limit),
            None if now > limit => judge(QaCheck::CallbackInTime, false),
            None => {}
        }
    }
    if let Some((due, accepted)) = facts.referral {
        match accepted {
            Some(at) => judge(QaCheck::ReferralAcceptedInTime, at <= due),
            None if now > due => judge(QaCheck::ReferralAcceptedInTime, false),
            None => {}
        }
    }
    let passed = checks.iter().filter(|c| c.passed).count();
    let score = (!checks.is_empty()).then(|| 100.0 * passed as f64 / checks.len() as f64);
    QaCall {
        incident_id: inc.id,
        received_at: inc.received_at,
        channel: inc.channel,
        priority: inc.effective_priority(),
        status: inc.status,
        operator: inc.handled_by.clone().or_else(|| inc.holder.clone()),
        checks,
        score,
        sampled: false,
        review: None,
    }
}

/// Sums reviewed calls per operator, lowest score first: whom to coach.
pub fn qa_operators(calls: &[QaCall]) -> Vec<QaOperator> {
    let mut by: std::collections::BTreeMap<UserId, QaOperator> = std::collections::BTreeMap::new();
    for c in calls {
        let Some(op) = &c.operator else { continue };
        let o = by.entry(op.id).or_insert_with(|| QaOperator {
            operator: op.clone(),
            calls: 0,
            checks: 0,
            passed: 0,
            score: None,
            p1_late: 0,
        });
        o.calls += 1;
        o.checks += c.checks.len() as i64;
        o.passed += c.checks.iter().filter(|r| r.passed).count() as i64;
        o.p1_late += c.failed().filter(|f| *f == QaCheck::P1DispatchedInTime).count() as i64;
    }
    let mut out: Vec<QaOperator> = by
        .into_values()
        .map(|mut o| {
            o.score = (o.checks > 0).then(|| 100.0 * o.passed as f64 / o.checks as f64);
            o
        })
        .collect();
    out.sort_by(|a, b| {
        a.score
            .unwrap_or(100.0)
            .total_cmp(&b.score.unwrap_or(100.0))
            .then(a.operator.name.cmp(&b.operator.name))
    });
    out
}
