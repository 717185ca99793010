//! What a shift lead reviews: shift statistics, alerts, the nuisance-caller
//! ranking and a caller's dossier. The service computes them with SQL
//! aggregation; these are the shapes both sides share.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Agency, Category, Channel, DomainError, Incident, IncidentId, Priority, UserRef};
use super::{CallerFlag, CallerPhone};

/// China Standard Time: every 110 centre keeps it, whatever the server's zone.
pub fn centre_tz() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Shifts change at 08:00 and 20:00 local time (two twelve-hour shifts).
pub const SHIFT_CHANGE_HOURS: [u32; 2] = [8, 20];

/// The shift running at `now`: its start and its scheduled end.
pub fn current_shift(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let local = now.with_timezone(&centre_tz());
    let day_start = local
        .with_hour(0)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .expect("midnight exists in a fixed offset");
    let [morning, evening] = SHIFT_CHANGE_HOURS;
    let start = if local.hour() >= evening {
        day_start + Duration::hours(evening.into())
    } else if local.hour() >= morning {
        day_start + Duration::hours(morning.into())
    } else {
        day_start - Duration::hours((24 - evening).into())
    };
    let start = start.with_timezone(&Utc);
    (start, start + Duration::hours(12))
}

/// Formats a time the way the centre reads it (local time).
pub fn local_time(t: DateTime<Utc>, fmt: &str) -> String {
    centre_tz().from_utc_datetime(&t.naive_utc()).format(fmt).to_string()
}

/// A centre's own limits, in seconds: what its statistics and call-quality
/// review judge against unless a request names others.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Claimed (answered) within (NENA: 15 s).
    pub answer: i64,
    /// Dispatched within, from the call (NFPA 1225: 60 s).
    pub dispatch: i64,
    /// The order signed for within, from dispatch.
    pub ack: i64,
    /// Police out within, from the call.
    pub out: i64,
    /// The call resolved within, from dispatch.
    pub feedback: i64,
    /// A P1 dispatched within, for the call-quality review.
    pub p1_dispatch: i64,
    /// A hang-up called back within.
    pub callback: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            answer: 15,
            dispatch: 60,
            ack: 30,
            out: 300,
            feedback: 1800,
            p1_dispatch: 60,
            callback: 600,
        }
    }
}

impl Thresholds {
    /// The defaults with a centre's overrides, written `ack=20,out=600`
    /// (names as the fields, seconds 1–86400).
    pub fn with_overrides(spec: &str) -> Result<Thresholds, String> {
        let mut t = Thresholds::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?}: write name=seconds, e.g. out=600"))?;
            let secs: i64 = value
                .trim()
                .parse()
                .ok()
                .filter(|v| (1..=86_400).contains(v))
                .ok_or_else(|| format!("{item:?}: seconds between 1 and 86400"))?;
            let slot = match name.trim() {
                "answer" => &mut t.answer,
                "dispatch" => &mut t.dispatch,
                "ack" => &mut t.ack,
                "out" => &mut t.out,
                "feedback" => &mut t.feedback,
                "p1_dispatch" => &mut t.p1_dispatch,
                "callback" => &mut t.callback,
                other => {
                    return Err(format!(
                        "{other:?} is not a threshold (answer, dispatch, ack, out, feedback, p1_dispatch, callback)"
                    ));
                }
            };
            *slot = secs;
        }
        Ok(t)
    }
}

/// Longest range one statistics request may cover.
pub const MAX_STATS_DAYS: i64 = 366;

/// A checked statistics request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatsQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Claimed within this many seconds counts as answered in time (NENA: 15 s).
    pub answer_secs: i64,
    /// Dispatched within this many seconds of intake counts as in time (NFPA 1225: 60 s).
    pub dispatch_secs: i64,
    /// The centre's own figures as Chinese county reports state them: police
    /// out within this many seconds of the call (default 5 minutes)…
    pub out_secs: i64,
    /// …and the unit's feedback (the call resolved) within this many
    /// seconds of dispatch (default 30 minutes).
    pub feedback_secs: i64,
    /// The unit signed for the order within this many seconds of dispatch
    /// (default 30).
    pub ack_secs: i64,
}

impl StatsQuery {
    pub fn new(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        answer_secs: i64,
        dispatch_secs: i64,
    ) -> Result<Self, DomainError> {
        if to <= from {
            return Err(DomainError::invalid(
                "to",
                "the end of the range must be after its start",
            ));
        }
        if to - from > Duration::days(MAX_STATS_DAYS) {
            return Err(DomainError::invalid(
                "to",
                format!("a range covers at most {MAX_STATS_DAYS} days"),
            ));
        }
        for (field, v) in [("answer_secs", answer_secs), ("dispatch_secs", dispatch_secs)] {
            if !(1..=86_400).contains(&v) {
                return Err(DomainError::invalid(
                    field,
                    "a threshold is between 1 and 86400 seconds",
                ));
            }
        }
        Ok(StatsQuery {
            from,
            to,
            answer_secs,
            dispatch_secs,
            out_secs: 300,
            feedback_secs: 1800,
            ack_secs: 30,
        })
    }

    /// The centre's own KPI thresholds (see [`StatsQuery::out_secs`]).
    pub fn with_kpis(mut self, ack_secs: i64, out_secs: i64, feedback_secs: i64) -> Result<Self, DomainError> {
        for (field, v) in [
            ("ack_secs", ack_secs),
            ("out_secs", out_secs),
            ("feedback_secs", feedback_secs),
        ] {
            if !(1..=86_400).contains(&v) {
                return Err(DomainError::invalid(
                    field,
                    "a threshold is between 1 and 86400 seconds",
                ));
            }
        }
        self.ack_secs = ack_secs;
        self.out_secs = out_secs;
        self.feedback_secs = feedback_secs;
        Ok(self)
    }
}

/// Calls split by what they turned out to be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Classes {
    /// Police business (the "seven things").
    pub police: i64,
    /// Not police business: referred, or classified `non_police`.
    pub non_police: i64,
    /// Invalid: closed as invalid or classified `invalid`.
    pub invalid: i64,
    /// Not classified yet by operator or triage (e.g. a silent hang-up).
    pub unclassified: i64,
}

impl Classes {
    pub fn total(&self) -> i64 {
        self.police + self.non_police + self.invalid + self.unclassified
    }
    /// Share of `n` in the total, 0 when there were no calls.
    pub fn share(&self, n: i64) -> f64 {
        if self.total() == 0 {
            0.0
        } else {
            n as f64 / self.total() as f64
        }
    }
}

/// A delay distribution: nearest-rank percentiles over the calls that have one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Timing {
    /// Calls with this delay measured.
    pub count: i64,
    pub p50_secs: Option<f64>,
    pub p90_secs: Option<f64>,
    pub threshold_secs: Option<i64>,
    /// Calls within the threshold.
    pub within: i64,
    /// Calls judged against the threshold: those measured plus those still
    /// waiting past it (a call nobody answered has failed the standard).
    pub judged: i64,
}

impl Timing {
    pub fn share_within(&self) -> Option<f64> {
        (self.judged > 0).then(|| self.within as f64 / self.judged as f64)
    }
}

/// 1-based nearest rank of percentile `p` among `n` sorted values.
pub fn nearest_rank(p: u32, n: i64) -> i64 {
    ((i64::from(p) * n + 99) / 100).max(1)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QueueNow {
    /// Open calls (new or being worked).
    pub depth: i64,
    /// Of those, nobody has taken yet.
    pub unclaimed: i64,
    pub oldest_received_at: Option<DateTime<Utc>>,
    pub oldest_wait_secs: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OperatorStats {
    pub operator: UserRef,
    /// Calls they disposed of (dispatch, referral or close) in the range.
    pub handled: i64,
    /// Mean time from first pick-up to disposition.
    pub avg_handling_secs: Option<f64>,
    /// Open calls they hold now.
    pub holding: i64,
}

/// The hours a bucket of statistics covers for a range: one up to a
/// month, a day beyond (a year is 365 bars, not 8,760).
pub fn bucket_hours(range: Duration) -> i64 {
    if range > Duration::days(31) { 24 } else { 1 }
}

/// Where a range's buckets start: at `from` for hours, at the centre's
/// midnight on or before it for days, so each bar is one calendar day.
pub fn bucket_origin(from: DateTime<Utc>, bucket_hours: i64) -> DateTime<Utc> {
    if bucket_hours < 24 {
        return from;
    }
    centre_midnight(from.with_timezone(&centre_tz()).date_naive()).unwrap_or(from)
}

/// The start of `day` where the centre is (China has no daylight saving,
/// so every day has one midnight).
pub fn centre_midnight(day: chrono::NaiveDate) -> Option<DateTime<Utc>> {
    day.and_hms_opt(0, 0, 0)
        .and_then(|m| m.and_local_timezone(centre_tz()).single())
        .map(|m| m.with_timezone(&Utc))
}

fn one_hour() -> i64 {
    1
}

/// One hour of the range (a day, for ranges over a month; see
/// [`ShiftStats::bucket_hours`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HourBucket {
    pub start: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub by_channel: BTreeMap<Channel, i64>,
    /// Open calls at the end of the hour (or now, for the current hour).
    pub queue_depth: i64,
}

impl HourBucket {
    pub fn total(&self) -> i64 {
        self.by_channel.values().sum()
    }
}

/// Statistics of a time range, computed by the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShiftStats {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub generated_at: DateTime<Utc>,
    /// Calls received in the range.
    pub total: i64,
    #[schema(value_type = Object)]
    pub by_channel: BTreeMap<Channel, i64>,
    pub classes: Classes,
    /// By the operator's category, else the suggestion's.
    #[schema(value_type = Object)]
    pub by_category: BTreeMap<Category, i64>,
    /// Referrals made, by agency.
    #[schema(value_type = Object)]
    pub by_agency: BTreeMap<Agency, i64>,
    /// Intake to first pick-up.
    pub claim: Timing,
    /// Intake to dispatch.
    pub dispatch: Timing,
    /// Dispatch to on scene.
    pub on_scene: Timing,
    pub queue: QueueNow,
    pub operators: Vec<OperatorStats>,
    pub hourly: Vec<HourBucket>,
    /// Hours per entry of `hourly`: 1, or 24 for a range over a month.
    #[serde(default = "one_hour")]
    pub bucket_hours: i64,
    /// Per suggested category: how often the operator kept triage's
    /// suggestion (calls with both a suggestion and an operator's category).
    #[serde(default)]
    pub triage_agreement: Vec<TriageAgreement>,
    /// How each linked agency worked the orders sent to it in the range.
    #[serde(default)]
    pub agency_work: Vec<AgencyWork>,
    /// Follow-ups (回访) opened in the range and what callers said.
    #[serde(default)]
    pub followups: FollowupStats,
    /// The figures a Chinese centre is judged by, at its own thresholds.
    #[serde(default)]
    pub kpis: Kpis,
}

impl ShiftStats {
    /// Whether the bars are days (a range over a month), not hours.
    pub fn by_day(&self) -> bool {
        self.bucket_hours >= 24
    }
}

/// The order signed for within `ack.threshold_secs` of dispatch (30 s by
/// default; a unit still unsigned past it has failed), police out (the
/// unit signed and set off) within `out.threshold_secs` of the call (5 min
/// by default; a call still without a unit on its way past it has
/// failed), and the unit's
/// feedback (the call resolved) within `feedback.threshold_secs` of
/// dispatch (30 min by default). Follow-up coverage and satisfaction are in
/// [`FollowupStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Kpis {
    #[serde(default)]
    pub ack: Timing,
    pub out: Timing,
    pub feedback: Timing,
}

/// Follow-ups opened in the range, and the rectifications open now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FollowupStats {
    pub opened: i64,
    pub done: i64,
    pub satisfied: i64,
    pub dissatisfied: i64,
    pub unreachable: i64,
    pub rectifications_open: i64,
    /// Of those, past their deadline.
    pub rectifications_overdue: i64,
    /// By the unit sent (its name), the agency referred to (its code), the
    /// operator who dealt with the call (their name) and the category (its code).
    pub by_unit: Vec<SatisfactionRow>,
    pub by_agency: Vec<SatisfactionRow>,
    pub by_operator: Vec<SatisfactionRow>,
    pub by_category: Vec<SatisfactionRow>,
}

impl FollowupStats {
    /// Follow-ups done of those opened.
    pub fn coverage(&self) -> Option<f64> {
        (self.opened > 0).then(|| self.done as f64 / self.opened as f64)
    }
    pub fn satisfaction(&self) -> Option<f64> {
        satisfaction_rate(self.satisfied, self.dissatisfied)
    }
}

/// Satisfied among the callers reached (the unreachable do not count).
pub fn satisfaction_rate(satisfied: i64, dissatisfied: i64) -> Option<f64> {
    let reached = satisfied + dissatisfied;
    (reached > 0).then(|| satisfied as f64 / reached as f64)
}

/// Follow-ups done for one unit, agency, operator or category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SatisfactionRow {
    pub key: String,
    pub done: i64,
    pub satisfied: i64,
    pub dissatisfied: i64,
    pub unreachable: i64,
}

impl SatisfactionRow {
    pub fn satisfaction(&self) -> Option<f64> {
        satisfaction_rate(self.satisfied, self.dissatisfied)
    }
}

/// One agency's work orders created in the range (12345–110 linkage):
/// how fast it accepts and completes, and how often it hands orders back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgencyWork {
    pub agency: Agency,
    pub sent: i64,
    pub accepted: i64,
    /// Handed back at least once (whatever the lead decided).
    pub returned: i64,
    pub closed: i64,
    /// Past the deadline of their stage now (acceptance, first feedback or
    /// closing; see [`crate::model::Referral::deadline`]).
    pub overdue: i64,
    /// Mean time from the order to acceptance, of those accepted.
    pub avg_accept_secs: Option<f64>,
    /// Mean time from the order to closing, of those closed.
    pub avg_close_secs: Option<f64>,
}

/// Whether operators keep triage's suggestions for one suggested category:
/// where triage is trusted and where it is not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TriageAgreement {
    pub suggested: Category,
    /// Calls triage suggested as this category that an operator classified.
    pub confirmed: i64,
    /// Of those, the operator kept the category.
    pub kept_category: i64,
    /// Of those, the operator kept category and priority.
    pub kept_priority: i64,
}

impl TriageAgreement {
    pub fn share(&self) -> f64 {
        if self.confirmed == 0 {
            0.0
        } else {
            self.kept_category as f64 / self.confirmed as f64
        }
    }
}

/// Limits that raise an alert on the lead's screen.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// A number calling `wave_calls` times within `wave_mins` minutes is a harassment wave.
    #[serde(default = "AlertQuery::default_wave_calls")]
    #[param(minimum = 2, maximum = 1000, required = false)]
    pub wave_calls: i64,
    #[serde(default = "AlertQuery::default_wave_mins")]
    #[param(minimum = 1, maximum = 1440, required = false)]
    pub wave_mins: i64,
    /// An unclaimed call waiting longer than this.
    #[serde(default = "AlertQuery::default_wait_secs")]
    #[param(minimum = 1, maximum = 86400, required = false)]
    pub wait_secs: i64,
    /// A call held longer than this by the same operator.
    #[serde(default = "AlertQuery::default_hold_mins")]
    #[param(minimum = 1, maximum = 1440, required = false)]
    pub hold_mins: i64,
}

impl Default for AlertQuery {
    fn default() -> Self {
        AlertQuery {
            wave_calls: Self::default_wave_calls(),
            wave_mins: Self::default_wave_mins(),
            wait_secs: Self::default_wait_secs(),
            hold_mins: Self::default_hold_mins(),
        }
    }
}

impl AlertQuery {
    fn default_wave_calls() -> i64 {
        3
    }
    fn default_wave_mins() -> i64 {
        10
    }
    fn default_wait_secs() -> i64 {
        60
    }
    fn default_hold_mins() -> i64 {
        15
    }

    pub fn check(&self) -> Result<(), DomainError> {
        let limits = [
            ("wave_calls", self.wave_calls, 2, 1000),
            ("wave_mins", self.wave_mins, 1, 24 * 60),
            ("wait_secs", self.wait_secs, 1, 86_400),
            ("hold_mins", self.hold_mins, 1, 24 * 60),
        ];
        for (field, v, lo, hi) in limits {
            if !(lo..=hi).contains(&v) {
                return Err(DomainError::invalid(
                    field,
                    format!("{field} must be between {lo} and {hi}"),
                ));
            }
        }
        Ok(())
    }
}

/// One number calling again and again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WaveAlert {
    pub phone: CallerPhone,
    pub calls: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WaitAlert {
    pub incident_id: IncidentId,
    pub priority: Priority,
    pub received_at: DateTime<Utc>,
    pub wait_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HoldAlert {
    pub incident_id: IncidentId,
    pub holder: UserRef,
    pub held_since: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alerts {
    pub waves: Vec<WaveAlert>,
    pub long_waits: Vec<WaitAlert>,
    pub stale_holds: Vec<HoldAlert>,
}

impl Alerts {
    pub fn is_empty(&self) -> bool {
        self.waves.is_empty() && self.long_waits.is_empty() && self.stale_holds.is_empty()
    }
}

/// A number in the nuisance ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NuisanceCaller {
    pub phone: CallerPhone,
    pub total_calls: i64,
    pub invalid_calls: i64,
    /// Patrols sent to calls that turned out invalid.
    pub wasted_dispatches: i64,
    pub active_flags: i64,
    pub last_call_at: DateTime<Utc>,
}

/// Everything on file about one number: the evidence a centre hands to the
/// public-security bureau.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dossier {
    pub phone: CallerPhone,
    pub generated_at: DateTime<Utc>,
    pub total_calls: i64,
    pub invalid_calls: i64,
    pub wasted_dispatches: i64,
    pub flags: Vec<CallerFlag>,
    /// Oldest first.
    pub incidents: Vec<Incident>,
    /// Lines added to those incidents, oldest first.
    #[serde(default)]
    pub supplements: Vec<crate::model::Supplement>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap()
    }

    #[test]
    fn a_centre_overrides_the_thresholds_it_names() {
        let t = Thresholds::with_overrides(" ack=20, out=600 ").expect("valid");
        assert_eq!((t.ack, t.out, t.feedback), (20, 600, 1800));
        assert_eq!(Thresholds::with_overrides(""), Ok(Thresholds::default()));
        for wrong in ["ack", "ack=0", "ack=90000", "speed=5", "out=five"] {
            assert!(Thresholds::with_overrides(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn shifts_change_at_eight_and_twenty_local() {
        // 10:30 CST is in the day shift that began at 08:00 CST (00:00 UTC).
        assert_eq!(
            current_shift(utc("2026-11-30T02:30:00Z")).0,
            utc("2026-11-30T00:00:00Z")
        );
        // 21:00 CST: the night shift began at 20:00 CST.
        assert_eq!(
            current_shift(utc("2026-11-30T13:00:00Z")).0,
            utc("2026-11-30T12:00:00Z")
        );
        // 03:00 CST: the night shift that began at 20:00 CST the day before.
        assert_eq!(
            current_shift(utc("2026-11-29T19:00:00Z")).0,
            utc("2026-11-29T12:00:00Z")
        );
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(50, 1), 1);
        assert_eq!(nearest_rank(50, 4), 2);
        assert_eq!(nearest_rank(90, 10), 9);
        assert_eq!(nearest_rank(90, 11), 10);
        assert_eq!(nearest_rank(50, 5), 3);
    }
}
