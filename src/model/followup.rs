//! Follow-ups (回访) once a call is dealt with, and the rectification
//! (整改) a dissatisfied caller opens: who asked, what they said, who must
//! put it right and by when.

use super::*;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A follow-up task: a call back or an SMS asking the caller whether they
/// were satisfied. It carries who dealt with the call, so satisfaction can
/// be summed per unit, agency, operator and category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Followup {
    pub id: i64,
    pub incident_id: IncidentId,
    /// Set when the follow-up is about a referral the agency closed.
    pub referral_id: Option<ReferralId>,
    pub channel: FollowupChannel,
    pub status: FollowupStatus,
    pub phone: Option<CallerPhone>,
    pub category: Option<Category>,
    pub priority: Priority,
    /// The unit sent, or the agency referred to.
    pub unit_id: Option<UnitId>,
    pub agency: Option<Agency>,
    /// The operator who dealt with the call.
    pub operator: Option<UserRef>,
    pub created_at: DateTime<Utc>,
    pub outcome: Option<Satisfaction>,
    /// Why the caller was dissatisfied, in their words.
    pub reason: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<UserRef>,
}

/// Put right what a dissatisfied caller complained of, by `due_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rectification {
    pub id: i64,
    pub followup_id: i64,
    pub incident_id: IncidentId,
    /// Who must act: the unit that went, or the agency.
    pub unit_id: Option<UnitId>,
    pub agency: Option<Agency>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub status: RectificationStatus,
    pub note: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<UserRef>,
    pub overdue: bool,
}

/// What recording a follow-up did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FollowupOutcome {
    pub followup: Followup,
    pub rectification: Option<Rectification>,
}

/// Whether a call dealt with gets a follow-up: every P1 and P2, and a
/// steady share of the rest, chosen by the incident id so the choice is the
/// same on every instance and after a restart.
pub fn followup_wanted(priority: Priority, incident: IncidentId, share: f64) -> bool {
    if matches!(priority, Priority::P1 | Priority::P2) {
        return true;
    }
    // Multiplicative hashing spreads consecutive ids over the thousand slots.
    let slot = (incident as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54;
    (slot as f64) < share.clamp(0.0, 1.0) * 1024.0
}

/// Voice callers are called back; those who wrote are answered by SMS.
pub fn followup_channel(channel: Channel) -> FollowupChannel {
    match channel {
        Channel::Voice => FollowupChannel::Phone,
        Channel::Sms | Channel::Wechat | Channel::Web => FollowupChannel::Sms,
    }
}

/// `days` working days after `t`, counted in China time (weekends and
/// public holidays skipped, the weekends worked in their place counted; see
/// [`super::calendar`]), at the same time of day.
pub fn working_days_after(t: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let tz = stats::centre_tz();
    let cal = super::calendar::Calendar::shared();
    let mut local = t.with_timezone(&tz);
    let mut left = days;
    while left > 0 {
        local += Duration::days(1);
        if cal.is_working_day(local.date_naive()) {
            left -= 1;
        }
    }
    local.with_timezone(&Utc)
}

/// Records what the caller said. A phone follow-up is the staff's; an SMS
/// reply comes through a gateway (or is typed by the staff). A dissatisfied
/// caller's reason is required: it is what the rectification must answer.
pub fn record_followup(
    f: &mut Followup,
    outcome: Satisfaction,
    reason: Option<&str>,
    actor: &User,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let allowed =
        Role::STAFF.contains(&actor.role) || (actor.role == Role::Gateway && f.channel == FollowupChannel::Sms);
    if !allowed {
        return Err(DomainError::forbidden(
            "not_your_followup",
            format!("a {} account cannot record a {} follow-up", actor.role, f.channel),
        ));
    }
    if f.status != FollowupStatus::Open {
        return Err(DomainError::conflict(
            "wrong_state",
            "this follow-up is recorded already",
        ));
    }
    f.reason = match (outcome, reason.map(str::trim).filter(|r| !r.is_empty())) {
        (Satisfaction::Dissatisfied, None) => {
            return Err(DomainError::invalid("reason", "say why the caller is dissatisfied"));
        }
        (_, Some(r)) => Some(short_note("reason", r, "the reason")?),
        (_, None) => None,
    };
    f.outcome = Some(outcome);
    f.status = FollowupStatus::Done;
    f.done_at = Some(now);
    f.done_by = Some(actor.as_ref());
    Ok(())
}

/// The rectification a dissatisfied follow-up opens, owed by whoever dealt
/// with the call within `days` working days.
pub fn rectification_for(f: &Followup, days: u32, now: DateTime<Utc>) -> Option<Rectification> {
    (f.outcome == Some(Satisfaction::Dissatisfied)).then(|| Rectification {
        id: 0,
        followup_id: f.id,
        incident_id: f.incident_id,
        unit_id: f.unit_id,
        agency: f.agency,
        reason: f.reason.clone().unwrap_or_default(),
        created_at: now,
        due_at: working_days_after(now, days),
        status: RectificationStatus::Open,
        note: None,
        closed_at: None,
        closed_by: None,
        overdue: false,
    })
}

/// Closes a rectification with what was done: a shift lead, or the agency
/// it is owed by.
pub fn close_rectification(
    r: &mut Rectification,
    note: &str,
    actor: &User,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let theirs = actor.role == Role::Agency && actor.agency.is_some() && actor.agency == r.agency;
    if !actor.is_lead() && !theirs {
        return Err(DomainError::forbidden(
            "not_your_rectification",
            "only a shift lead, or the agency it is owed by, closes a rectification",
        ));
    }
    if r.status != RectificationStatus::Open {
        return Err(DomainError::conflict(
            "wrong_state",
            "this rectification is closed already",
        ));
    }
    r.note = Some(short_note("note", note, "the note on what was done")?);
    r.status = RectificationStatus::Closed;
    r.closed_at = Some(now);
    r.closed_by = Some(actor.as_ref());
    r.overdue = false;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cst(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        stats::centre_tz()
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("a valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn five_working_days_skip_the_weekend_in_china_time() {
        // Monday 2026-11-30 10:00 → Monday 2026-12-07 10:00.
        assert_eq!(working_days_after(cst(2026, 11, 30, 10), 5), cst(2026, 12, 7, 10));
        // Friday → the next Friday; Saturday and Sunday → the next Friday too.
        assert_eq!(working_days_after(cst(2026, 12, 4, 9), 5), cst(2026, 12, 11, 9));
        assert_eq!(working_days_after(cst(2026, 12, 5, 9), 5), cst(2026, 12, 11, 9));
        assert_eq!(working_days_after(cst(2026, 12, 6, 23), 5), cst(2026, 12, 11, 23));
        // 01:00 on a Saturday in China is still Friday in UTC: China's day counts.
        assert_eq!(working_days_after(cst(2026, 12, 5, 1), 1), cst(2026, 12, 7, 1));
    }

    #[test]
    fn working_days_skip_public_holidays_and_count_the_weekends_worked() {
        // Friday 18 September: Sunday the 20th is worked, so the fifth
        // working day is Thursday the 24th, before 中秋.
        assert_eq!(working_days_after(cst(2026, 9, 18, 10), 5), cst(2026, 9, 24, 10));
        // Wednesday 30 September: 国庆 1–7 October off, Saturday the 10th worked.
        assert_eq!(working_days_after(cst(2026, 9, 30, 10), 5), cst(2026, 10, 13, 10));
        // Over 春节 (15–23 February, with the 14th and 28th worked).
        assert_eq!(working_days_after(cst(2026, 2, 13, 9), 1), cst(2026, 2, 14, 9));
        assert_eq!(working_days_after(cst(2026, 2, 14, 9), 1), cst(2026, 2, 24, 9));
    }

    #[test]
    fn urgent_calls_always_get_a_follow_up_and_the_rest_a_share() {
        assert!((1..200).all(|id| followup_wanted(Priority::P1, id, 0.0)));
        assert!((1..200).all(|id| followup_wanted(Priority::P2, id, 0.0)));
        assert!((1..200).all(|id| followup_wanted(Priority::P4, id, 1.0)));
        let chosen = (1..10_001).filter(|id| followup_wanted(Priority::P3, *id, 0.1)).count();
        assert!((900..1100).contains(&chosen), "{chosen} of 10,000 at 10 %");
    }
}
