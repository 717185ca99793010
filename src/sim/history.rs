//! A made-up history of a provincial centre, for measuring how every read
//! grows with the years kept (`jiejing simulate --backfill`, the `history`
//! benchmark).
//!
//! Owns: what a year leaves behind — calls on all four channels in a
//! day's rhythm, the 69 % that are not police business or invalid (Jilin
//! 2019), repeat callers, a few heavy nuisance numbers and one with exactly
//! [`DOSSIER_CALLS`] calls, police calls dispatched to units and resolved,
//! referrals worked by their agencies, follow-up calls, supplements, and
//! the audit events of every step. Must not touch: storage; it hands
//! [`Backfill`] batches to whoever writes them.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::prelude::*;

use crate::model::backfill::{Backfill, NextIds};
use crate::model::{
    Agency, CallerPhone, Category, Channel, CloseReason, Event, Followup, FollowupChannel, FollowupStatus, Incident,
    Location, LocationSource, NewIncident, Priority, Referral, ReferralStatus, Satisfaction, Status, Suggestion,
    Supplement, Unit, UserRef, referral_number,
};
use crate::triage::{Engine, TriageInput, eval::Labelled};

/// Share of calls that are not police business or invalid (Jilin 2019).
pub const NOT_POLICE_SHARE: f64 = 0.69;
/// Of those, the share that were invalid (the rest are referred).
const INVALID_OF_NOT_POLICE: f64 = 0.58;
/// Share of calls from the heavy nuisance numbers ([`super::NUISANCE_NUMBERS`]).
const HEAVY_SHARE: f64 = 0.002;
/// Share of calls from the pool of repeat callers.
const REPEAT_SHARE: f64 = 0.3;
/// The number whose dossier is measured: the case of the man with 220
/// false or abusive calls, 38 of which sent a patrol for nothing.
pub const DOSSIER_NUMBER: &str = "13604310220";
pub const DOSSIER_CALLS: usize = 220;
const DOSSIER_WASTED: usize = 38;
/// Calls per batch handed to the writer.
pub const BATCH: usize = 20_000;
/// Relative call volume by hour of day (China time), night trough to
/// evening peak.
const HOURLY: [u32; 24] = [
    5, 4, 3, 2, 2, 2, 3, 5, 7, 8, 8, 8, 8, 8, 8, 8, 9, 9, 10, 10, 10, 9, 8, 6,
];

/// What to make.
#[derive(Debug, Clone)]
pub struct HistoryPlan {
    pub calls: usize,
    pub days: u32,
    /// The last moment of the history: the calls of its last minutes are
    /// still open, as a live queue would be.
    pub end: DateTime<Utc>,
    pub seed: u64,
}

/// Who works the calls: accounts and units of the database being filled.
#[derive(Debug, Clone)]
pub struct Staff {
    pub gateway: UserRef,
    pub operators: Vec<UserRef>,
    pub units: Vec<Unit>,
}

/// Makes the history in batches, oldest first.
pub struct History {
    plan: HistoryPlan,
    staff: Staff,
    ids: NextIds,
    /// Arrival times (ms), sorted; consumed batch by batch.
    times: Vec<i64>,
    /// Which calls are the dossier number's (by arrival index): 1, or 2
    /// for one that sent a patrol for nothing.
    dossier: Vec<u8>,
    done: usize,
    rows: Rows,
    places: Vec<(String, Option<crate::model::geo::GeoPoint>)>,
    repeaters: Vec<String>,
    suggestions: HashMap<(String, Channel), Suggestion>,
    /// Events later than the calls made so far (an agency closing an order
    /// days on), held until the batch they belong to in time.
    pending: Vec<Event>,
    engine: std::sync::Arc<Engine>,
    rng: StdRng,
}

/// The labelled narratives by class (police, referred, invalid) and
/// channel, so the channel mix is the centre's, not the corpus's.
struct Rows([[Vec<Labelled>; 4]; 3]);

/// Share of calls by channel: voice, SMS, WeChat, web.
const CHANNELS: [(Channel, f64); 4] = [
    (Channel::Voice, 0.85),
    (Channel::Sms, 0.04),
    (Channel::Wechat, 0.07),
    (Channel::Web, 0.04),
];

impl History {
    pub fn new(plan: HistoryPlan, staff: Staff, ids: NextIds) -> Self {
        let mut rng = StdRng::seed_from_u64(plan.seed);
        #[expect(clippy::expect_used, reason = "the bundled corpus is checked by unit tests")]
        let rows = crate::triage::learn::builtin_rows().expect("bundled corpus parses");
        let mut pools: [[Vec<Labelled>; 4]; 3] = Default::default();
        for r in rows {
            let class = match r.category {
                Category::Invalid => 2,
                Category::NonPolice if r.agency == Agency::None => continue,
                Category::NonPolice => 1,
                _ => 0,
            };
            let ch = CHANNELS.iter().position(|(c, _)| *c == r.channel).unwrap_or(0);
            pools[class][ch].push(r);
        }
        let places = super::places()
            .into_iter()
            .map(|(county, name, at)| (format!("{county}{name}附近"), at))
            .collect();
        let start = plan.end - Duration::days(i64::from(plan.days.max(1)));
        let day_ms = 86_400_000i64;
        let total: u32 = HOURLY.iter().sum();
        let mut times: Vec<i64> = (0..plan.calls)
            .map(|_| {
                let day = rng.random_range(0..i64::from(plan.days.max(1)));
                // China time is UTC+8: hour h there starts at h-8 UTC.
                let mut pick = rng.random_range(0..total);
                let hour = HOURLY
                    .iter()
                    .position(|w| {
                        if pick < *w {
                            true
                        } else {
                            pick -= w;
                            false
                        }
                    })
                    .unwrap_or(12) as i64;
                let t = start.timestamp_millis()
                    + day * day_ms
                    + ((hour - 8).rem_euclid(24)) * 3_600_000
                    + rng.random_range(0..3_600_000);
                t.min(plan.end.timestamp_millis() - 1)
            })
            .collect();
        times.sort_unstable();
        let dossier_n = DOSSIER_CALLS.min(plan.calls / 10);
        let mut dossier = vec![0u8; plan.calls];
        let wasted = DOSSIER_WASTED * dossier_n / DOSSIER_CALLS;
        for (k, i) in rand::seq::index::sample(&mut rng, plan.calls, dossier_n)
            .into_iter()
            .enumerate()
        {
            dossier[i] = if k < wasted { 2 } else { 1 };
        }
        let repeaters = (0..(plan.calls / 20).max(1)).map(|_| phone(&mut rng)).collect();
        History {
            plan,
            staff,
            ids,
            times,
            dossier,
            done: 0,
            rows: Rows(pools),
            places,
            repeaters,
            suggestions: HashMap::new(),
            pending: Vec::new(),
            engine: crate::triage::active(),
            rng,
        }
    }

    fn suggestion(&mut self, text: &str, channel: Channel) -> Suggestion {
        let engine = &self.engine;
        self.suggestions
            .entry((text.to_owned(), channel))
            .or_insert_with(|| {
                engine.triage(&TriageInput {
                    channel,
                    text,
                    history: None,
                })
            })
            .clone()
    }

    /// One call and everything that followed it.
    fn call(&mut self, b: &mut Backfill, index: usize) {
        let t = self.times[index];
        let end = self.plan.end.timestamp_millis();
        let r: f64 = self.rng.random();
        let in_dossier = self.dossier[index] > 0;
        let wasted = self.dossier[index] == 2;
        let heavy = !in_dossier && r < HEAVY_SHARE;
        let class = if wasted {
            2
        } else if in_dossier || heavy {
            // The nuisance numbers' calls: most invalid, some not.
            if self.rng.random_bool(0.85) { 2 } else { 1 }
        } else {
            let r: f64 = self.rng.random();
            if r < NOT_POLICE_SHARE * INVALID_OF_NOT_POLICE {
                2
            } else if r < NOT_POLICE_SHARE {
                1
            } else {
                0
            }
        };
        // The nuisance numbers call; the others use every channel.
        let mut ch = 0;
        if !(in_dossier || heavy) {
            let mut r: f64 = self.rng.random();
            ch = CHANNELS
                .iter()
                .position(|(_, share)| {
                    r -= share;
                    r < 0.0
                })
                .unwrap_or(0);
        }
        let pool = &self.rows.0[class][ch];
        let pool = if pool.is_empty() { &self.rows.0[class][0] } else { pool };
        let Some(row) = pool.choose(&mut self.rng).cloned() else {
            return;
        };
        let number = if in_dossier {
            DOSSIER_NUMBER.to_owned()
        } else if heavy {
            super::NUISANCE_NUMBERS
                .choose(&mut self.rng)
                .map_or_else(|| phone(&mut self.rng), |s| (*s).to_owned())
        } else if self.rng.random_bool(REPEAT_SHARE) {
            self.repeaters
                .choose(&mut self.rng)
                .cloned()
                .unwrap_or_else(|| phone(&mut self.rng))
        } else {
            phone(&mut self.rng)
        };
        let channel = row.channel;
        let suggestion = self.suggestion(&row.text, channel);
        let op = self.staff.operators.choose(&mut self.rng).cloned();
        let Some(op) = op else { return };
        let gateway = self.staff.gateway.clone();
        let place = (class == 0 || self.rng.random_bool(0.3))
            .then(|| self.places.choose(&mut self.rng).cloned())
            .flatten();
        let id = self.ids.incident;
        self.ids.incident += 1;
        let mut caller = crate::model::Caller::default();
        match channel {
            Channel::Voice | Channel::Sms => caller.phone = CallerPhone::parse(&number).ok(),
            Channel::Wechat => caller.wechat_id = Some(format!("wx_{}", &number[5..])),
            Channel::Web => caller.web_account = Some(format!("user{}", &number[5..])),
        }
        let at = place.as_ref().and_then(|p| p.1);
        let new = NewIncident {
            channel,
            caller,
            location: Location {
                text: place.map(|p| p.0).unwrap_or_default(),
                lat: at.map(|p| p.lat),
                lon: at.map(|p| p.lon),
                jurisdiction: None,
                source: at.map(|_| LocationSource::Place),
            },
            narrative: row.text.clone(),
            received_at: ts(t),
            category: None,
            agency: None,
            priority: None,
            disconnect: None,
            suggestion: Some(suggestion),
        };
        // As a gateway's intake makes it: waiting in the queue.
        let mut inc = Incident {
            id,
            ..Incident::taken_in(&new, None, ts(t))
        };
        if let Some(unit) = self.staff.units.choose(&mut self.rng) {
            inc.location.jurisdiction = Some(unit.jurisdiction.clone());
        }
        let mut steps = 1;
        b.events.push(event(t, Some(&gateway), "incident.created", inc.id));
        // Each step happens only if its time has come by the end: the
        // last minutes' calls are still in the queue or out with a unit.
        let claimed = t + self.rng.random_range(2_000..40_000);
        if claimed < end {
            inc.status = Status::InProgress;
            inc.holder = Some(op.clone());
            inc.held_since = Some(ts(claimed));
            inc.claimed_at = Some(ts(claimed));
            b.events.push(event(claimed, Some(&op), "incident.claimed", inc.id));
            steps += 1;
            let set = claimed + self.rng.random_range(10_000..90_000);
            if set < end {
                inc.category = Some(row.category);
                inc.category_set_at = Some(ts(set));
                inc.priority = row.category.is_police().then_some(row.priority);
                b.events.push(event(set, Some(&op), "incident.updated", inc.id));
                steps += 1;
                let done = set + self.rng.random_range(5_000..60_000);
                if done < end {
                    inc.holder = None;
                    inc.held_since = None;
                    inc.handled_by = Some(op.clone());
                    steps += match class {
                        0 => self.police(b, &mut inc, &op, done, end),
                        1 => self.refer(b, &mut inc, &op, row.agency, done, end),
                        _ => {
                            if wasted {
                                // A patrol sent, and the call found false.
                                inc.dispatched_at = Some(ts(done));
                                inc.unit_id = self.staff.units.choose(&mut self.rng).map(|u| u.id);
                            }
                            inc.status = Status::Closed;
                            inc.close_reason = Some(CloseReason::Invalid);
                            inc.category = Some(Category::Invalid);
                            inc.closed_at = Some(ts(done));
                            b.events.push(event(done, Some(&op), "incident.closed", inc.id));
                            1
                        }
                    };
                }
            }
        }
        inc.version = steps;
        inc.updated_at = b
            .events
            .iter()
            .rev()
            .find(|e| e.incident_id == Some(id))
            .map_or(inc.received_at, |e| e.at);
        if class == 0 && self.rng.random_bool(0.05) {
            let at = inc.received_at + Duration::minutes(self.rng.random_range(2..30));
            if at.timestamp_millis() < end {
                b.supplements.push(Supplement {
                    id: self.ids.supplement,
                    incident_id: id,
                    at,
                    author: op.clone(),
                    text: "报警人再次来电补充：嫌疑人往东边跑了，穿黑色外套".to_owned(),
                    from_incident: None,
                });
                self.ids.supplement += 1;
                b.events
                    .push(event(at.timestamp_millis(), Some(&op), "incident.supplemented", inc.id));
            }
        }
        b.incidents.push(inc);
    }

    /// Dispatch, the unit's signature, arrival and the resolution; a
    /// follow-up call for a third of them. Returns the incident's steps.
    fn police(&mut self, b: &mut Backfill, inc: &mut Incident, op: &UserRef, at: i64, end: i64) -> i64 {
        let Some(unit) = self.staff.units.choose(&mut self.rng).cloned() else {
            return 0;
        };
        inc.status = Status::Dispatched;
        inc.dispatched_at = Some(ts(at));
        inc.unit_id = Some(unit.id);
        inc.location.jurisdiction = Some(unit.jurisdiction.clone());
        b.events.push(event(at, Some(op), "incident.dispatched", inc.id));
        b.events.push(unit_event(at, op, unit.id, inc.id));
        let mut steps = 1;
        let ack = at + self.rng.random_range(15_000..120_000);
        if ack >= end {
            return steps;
        }
        inc.acknowledged_at = Some(ts(ack));
        b.events.push(event(ack, None, "incident.acknowledged", inc.id));
        b.events.push(unit_event(ack, op, unit.id, inc.id));
        let scene = ack + self.rng.random_range(180_000..1_500_000);
        if scene >= end {
            return steps + 1;
        }
        inc.status = Status::OnScene;
        inc.on_scene_at = Some(ts(scene));
        b.events.push(event(scene, None, "incident.on_scene", inc.id));
        b.events.push(unit_event(scene, op, unit.id, inc.id));
        let resolved = scene + self.rng.random_range(600_000..7_200_000);
        if resolved >= end {
            return steps + 2;
        }
        inc.status = Status::Resolved;
        inc.closed_at = Some(ts(resolved));
        b.events.push(event(resolved, Some(op), "incident.resolved", inc.id));
        b.events.push(unit_event(resolved, op, unit.id, inc.id));
        steps += 3;
        if self.rng.random_bool(0.33) {
            self.followup(b, inc, op, None, Some(unit.id), None, resolved, end);
        }
        steps
    }

    /// The referral and its agency's work on it over the following days.
    fn refer(&mut self, b: &mut Backfill, inc: &mut Incident, op: &UserRef, agency: Agency, at: i64, end: i64) -> i64 {
        inc.status = Status::Referred;
        inc.agency = Some(agency);
        inc.closed_at = Some(ts(at));
        b.events.push(event(at, Some(op), "incident.referred", inc.id));
        let id = self.ids.referral;
        self.ids.referral += 1;
        let mut r = Referral::sent(
            id,
            referral_number(inc.id, 1, ts(at)),
            inc.id,
            agency,
            ts(at),
            ts(at + 30 * 60_000),
        );
        b.events.push(referral_event(at, Some(op), "referral.sent", &r));
        let accepted = at + self.rng.random_range(60_000..2_400_000);
        if accepted < end {
            r.status = ReferralStatus::Accepted;
            r.accepted_at = Some(ts(accepted));
            r.feedback_due_at = Some(ts(accepted + 86_400_000));
            r.close_due_at = Some(ts(accepted + 5 * 86_400_000));
            b.events.push(referral_event(accepted, None, "referral.accepted", &r));
            let fed = accepted + self.rng.random_range(3_600_000..86_400_000);
            if fed < end {
                r.status = ReferralStatus::Feedback;
                r.feedback = Some("已联系当事人，正在处理".to_owned());
                r.feedback_at = Some(ts(fed));
                b.events.push(referral_event(fed, None, "referral.feedback", &r));
                let closed = fed + self.rng.random_range(3_600_000..4 * 86_400_000);
                if closed < end {
                    r.status = ReferralStatus::Closed;
                    r.closed_at = Some(ts(closed));
                    b.events.push(referral_event(closed, None, "referral.closed", &r));
                    if self.rng.random_bool(0.2) {
                        self.followup(b, inc, op, Some(id), None, Some(agency), closed, end);
                    }
                }
            }
        }
        b.referrals.push(r);
        1
    }

    #[expect(clippy::too_many_arguments, reason = "the follow-up's parts, each from its caller")]
    fn followup(
        &mut self,
        b: &mut Backfill,
        inc: &Incident,
        op: &UserRef,
        referral: Option<i64>,
        unit: Option<i64>,
        agency: Option<Agency>,
        after: i64,
        end: i64,
    ) {
        let created = after + 1;
        let done = created + self.rng.random_range(3_600_000..2 * 86_400_000);
        let finished = done < end;
        let r: f64 = self.rng.random();
        let outcome = if r < 0.82 {
            Satisfaction::Satisfied
        } else if r < 0.92 {
            Satisfaction::Dissatisfied
        } else {
            Satisfaction::Unreachable
        };
        let f = Followup {
            id: self.ids.followup,
            incident_id: inc.id,
            referral_id: referral,
            channel: if self.rng.random_bool(0.8) {
                FollowupChannel::Phone
            } else {
                FollowupChannel::Sms
            },
            status: if finished {
                FollowupStatus::Done
            } else {
                FollowupStatus::Open
            },
            phone: inc.caller.phone.clone(),
            category: inc.category,
            priority: inc.priority.unwrap_or(Priority::P4),
            unit_id: unit,
            agency,
            operator: Some(op.clone()),
            created_at: ts(created),
            outcome: finished.then_some(outcome),
            reason: None,
            done_at: finished.then(|| ts(done)),
            done_by: finished.then(|| op.clone()),
        };
        self.ids.followup += 1;
        b.events.push(event(created, None, "followup.opened", inc.id));
        if finished {
            b.events.push(event(done, Some(op), "followup.done", inc.id));
        }
        b.followups.push(f);
    }
}

impl Iterator for History {
    type Item = Backfill;

    /// The next [`BATCH`] calls, their rows, and the events up to the last
    /// of them, numbered in the order they happened.
    fn next(&mut self) -> Option<Backfill> {
        if self.done >= self.plan.calls {
            return None;
        }
        let mut b = Backfill::default();
        let upto = (self.done + BATCH).min(self.plan.calls);
        for i in self.done..upto {
            self.call(&mut b, i);
        }
        self.done = upto;
        // Events leave in the order they happened, across batches too, as
        // the live log numbers them: what comes after this batch's last call
        // waits for a later batch.
        self.pending.append(&mut b.events);
        self.pending.sort_by_key(|e| e.at);
        let horizon = if upto == self.plan.calls {
            i64::MAX
        } else {
            self.times[upto - 1]
        };
        let due = self.pending.partition_point(|e| e.at.timestamp_millis() <= horizon);
        b.events = self.pending.drain(..due).collect();
        for e in &mut b.events {
            e.id = self.ids.event;
            self.ids.event += 1;
        }
        Some(b)
    }
}

/// An audit event about call `incident`, as the service logs it but for
/// the before/after snapshots.
fn event(at: i64, actor: Option<&UserRef>, kind: &str, incident: i64) -> Event {
    Event {
        id: 0,
        at: ts(at),
        actor: actor.cloned(),
        kind: kind.to_owned(),
        incident_id: Some(incident),
        referral_id: None,
        unit_id: None,
        before: None,
        after: None,
        note: None,
    }
}

/// A unit's status change on call `incident`.
fn unit_event(at: i64, op: &UserRef, unit: i64, incident: i64) -> Event {
    Event {
        unit_id: Some(unit),
        ..event(at, Some(op), "unit.status", incident)
    }
}

/// A step of referral `r`.
fn referral_event(at: i64, actor: Option<&UserRef>, kind: &str, r: &Referral) -> Event {
    Event {
        referral_id: Some(r.id),
        ..event(at, actor, kind, r.incident_id)
    }
}

fn ts(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn phone(rng: &mut StdRng) -> String {
    let prefix = ["138", "139", "150", "155", "186", "189", "131", "177"]
        .choose(rng)
        .copied()
        .unwrap_or("138");
    format!("{prefix}{:08}", rng.random_range(0..100_000_000u32))
}

/// What a backfill wrote, and how long it took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Loaded {
    pub incidents: usize,
    pub referrals: usize,
    pub followups: usize,
    pub supplements: usize,
    pub events: usize,
    pub secs: f64,
}

impl Loaded {
    pub fn rows(&self) -> usize {
        self.incidents + self.referrals + self.followups + self.supplements + self.events
    }
}

/// The operator accounts a backfill's calls are handled by.
pub const OPERATORS: usize = 40;

/// Fills an empty database with `plan`'s history through the store's bulk
/// loader: the accounts and units it needs first, then batch after batch
/// while the next is being made on another thread. `progress` hears of
/// every batch written. Refused when the database already holds calls.
pub async fn backfill(
    store: &crate::store::SqlStore,
    plan: HistoryPlan,
    mut progress: impl FnMut(&Loaded),
) -> Result<Loaded, crate::store::StoreError> {
    use crate::store::Store as _;
    let started = std::time::Instant::now();
    let now = Utc::now();
    let ids = store.backfill_start().await?;
    store
        .seed_units(&crate::model::gazetteer::Gazetteer::builtin().unit_seeds(), now)
        .await?;
    let units = store.units().await?;
    let users = store.users().await?;
    // Accounts nobody can sign in with: the hash is not a valid one.
    let account = async |name: String, role: crate::model::Role| match users.iter().find(|u| u.name == name) {
        Some(u) => Ok::<UserRef, crate::store::StoreError>(u.as_ref()),
        None => Ok(store.create_user(None, &name, role, None, "!", now).await?.as_ref()),
    };
    let gateway = account("backfill-gateway".into(), crate::model::Role::Gateway).await?;
    let mut operators = Vec::with_capacity(OPERATORS);
    for n in 1..=OPERATORS {
        operators.push(account(format!("backfill-op{n:02}"), crate::model::Role::CallTaker).await?);
    }
    let creator = gateway.id;
    // The store's ids moved on with the accounts just made.
    let ids = NextIds {
        event: store.backfill_start().await?.event.max(ids.event),
        ..ids
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Backfill>(2);
    let staff = Staff {
        gateway,
        operators,
        units,
    };
    let maker = tokio::task::spawn_blocking(move || {
        for batch in History::new(plan, staff, ids) {
            if tx.blocking_send(batch).is_err() {
                return;
            }
        }
    });
    let mut loaded = Loaded::default();
    while let Some(b) = rx.recv().await {
        store.backfill(&b, creator).await?;
        loaded.incidents += b.incidents.len();
        loaded.referrals += b.referrals.len();
        loaded.followups += b.followups.len();
        loaded.supplements += b.supplements.len();
        loaded.events += b.events.len();
        loaded.secs = started.elapsed().as_secs_f64();
        progress(&loaded);
    }
    maker
        .await
        .map_err(|e| crate::store::StoreError::Internal(format!("the history maker failed: {e}")))?;
    store.backfill_done().await?;
    loaded.secs = started.elapsed().as_secs_f64();
    Ok(loaded)
}
