//! The simulator: plays the four channels' gateways for demos, load and
//! tests, posting realistic calls through the real intake API, and the
//! colleagues and linked agencies that work those calls in a demo.
//!
//! Owns: what a centre's traffic looks like — about 70% of calls not police
//! business or invalid (Jilin 2019), a few repeat nuisance callers, some
//! hang-ups — drawn from the labelled narratives in `assets/triage/`. Must not
//! touch: storage or the service's internals; it is just another client.
//! The one exception is [`history`], made-up years for measuring, which
//! hands its batches to the store's bulk loader (never SQL of its own).

pub mod history;

use std::time::Duration;

use rand::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::client::{ApiClient, ClientError};
use crate::model::{Category, Channel, Disconnect, IntakeRequest, gazetteer::Gazetteer, geo::GeoPoint};
use crate::triage::eval::Labelled;

/// Share of simulated calls that are not police business or invalid.
pub const NON_POLICE_SHARE: f64 = 0.70;
/// Share of voice calls that hang up before saying anything.
const HANGUP_SHARE: f64 = 0.04;
/// Share of calls made by the repeat nuisance callers.
const NUISANCE_SHARE: f64 = 0.06;
/// The repeat nuisance callers' numbers.
pub const NUISANCE_NUMBERS: &[&str] = &["13912340001", "15504310002", "18643100003"];

/// One call as a gateway would post it.
#[derive(Debug, Clone)]
pub struct SimCall {
    pub request: IntakeRequest,
    /// The label of the narrative it was drawn from (for checking the mix).
    pub category: Option<Category>,
}

/// Draws calls. Deterministic for a given seed, so tests and demos repeat.
pub struct CallFactory {
    police: Vec<Labelled>,
    other: Vec<Labelled>,
    invalid: Vec<Labelled>,
    /// (county, place name, position) of every landmark and street.
    places: Vec<(String, String, Option<GeoPoint>)>,
    rng: StdRng,
}

impl CallFactory {
    pub fn new(seed: u64) -> Self {
        #[expect(clippy::expect_used, reason = "the bundled corpus is checked by unit tests")]
        let rows = crate::triage::learn::builtin_rows().expect("bundled corpus parses");
        let (police, rest): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.category.is_police());
        let (invalid, other) = rest.into_iter().partition(|r| r.category == Category::Invalid);
        let places = places();
        CallFactory {
            police,
            other,
            invalid,
            places,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn phone(&mut self) -> String {
        let prefix = ["138", "139", "150", "155", "186", "189", "131", "177"]
            .choose(&mut self.rng)
            .copied()
            .unwrap_or("138");
        format!("{prefix}{:08}", self.rng.random_range(0..100_000_000u32))
    }

    pub fn next_call(&mut self) -> SimCall {
        let r: f64 = self.rng.random();
        let nuisance = r < NUISANCE_SHARE;
        let pool = if nuisance || r < NON_POLICE_SHARE * 0.35 {
            &self.invalid
        } else if r < NON_POLICE_SHARE {
            &self.other
        } else {
            &self.police
        };
        let row = pool.choose(&mut self.rng).cloned();
        let phone = if nuisance {
            NUISANCE_NUMBERS
                .choose(&mut self.rng)
                .map(|s| (*s).to_owned())
                .unwrap_or_else(|| self.phone())
        } else {
            self.phone()
        };
        let Some(row) = row else {
            return SimCall {
                request: blank(Channel::Voice, Some(phone), None),
                category: None,
            };
        };
        if row.channel == Channel::Voice && self.rng.random_bool(HANGUP_SHARE) {
            return SimCall {
                request: blank(Channel::Voice, Some(phone), Some(Disconnect::Hangup)),
                category: None,
            };
        }
        let place = (row.category.is_police() && self.rng.random_bool(0.8))
            .then(|| self.places.choose(&mut self.rng).cloned())
            .flatten();
        let mut req = blank(row.channel, None, None);
        req.narrative = row.text.clone();
        if let Some((county, name, at)) = place {
            // Half the callers name their county; a WeChat caller often
            // shares a position, a few dozen metres off the place.
            req.location = Some(if self.rng.random_bool(0.5) {
                format!("{county}{name}附近")
            } else {
                format!("{name}附近")
            });
            if let Some(at) = at.filter(|_| row.channel == Channel::Wechat && self.rng.random_bool(0.7)) {
                req.lat = Some(at.lat + self.rng.random_range(-0.0005..0.0005));
                req.lon = Some(at.lon + self.rng.random_range(-0.0005..0.0005));
            }
        }
        match row.channel {
            Channel::Voice | Channel::Sms => req.phone = Some(phone),
            Channel::Wechat => req.wechat_id = Some(format!("wx_{}", &phone[7..])),
            Channel::Web => req.web_account = Some(format!("user{}", &phone[5..])),
        }
        SimCall {
            request: req,
            category: Some(row.category),
        }
    }
}

/// (county, place name, position) of every landmark and street in the
/// gazetteer: where simulated callers are.
fn places() -> Vec<(String, String, Option<GeoPoint>)> {
    Gazetteer::builtin()
        .stations()
        .flat_map(|(_, d, s)| {
            s.landmarks
                .iter()
                .chain(&s.streets)
                .map(|p| (d.name.clone(), p.name.clone(), p.at))
        })
        .collect()
}

fn blank(channel: Channel, phone: Option<String>, disconnect: Option<Disconnect>) -> IntakeRequest {
    IntakeRequest {
        channel,
        phone,
        caller_name: None,
        wechat_id: None,
        web_account: None,
        callback_number: None,
        location: None,
        lat: None,
        lon: None,
        narrative: String::new(),
        received_at: None,
        disconnect,
        category: None,
        agency: None,
        priority: None,
    }
}

/// Posts calls at `per_minute` (Poisson arrivals) until `cancel` or `limit`
/// calls. A failed post is retried with the same idempotency key, so a call
/// is never lost and never doubled. Returns how many were acknowledged.
pub async fn run(
    client: &ApiClient,
    per_minute: f64,
    limit: Option<usize>,
    seed: u64,
    cancel: CancellationToken,
) -> Result<usize, ClientError> {
    let mut factory = CallFactory::new(seed);
    let run_id: u32 = rand::random();
    let mut sent = 0usize;
    let mean_gap = 60.0 / per_minute.max(0.01);
    while limit.is_none_or(|l| sent < l) && !cancel.is_cancelled() {
        let call = factory.next_call();
        let key = format!("sim-{run_id:08x}-{sent}");
        let mut backoff = Duration::from_millis(200);
        loop {
            match client.intake(&call.request, &key).await {
                Ok(_) => break,
                Err(e) if e.is_retryable() => {
                    tracing::warn!("simulator: {e}; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = cancel.cancelled() => return Ok(sent),
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
        sent += 1;
        if limit.is_some_and(|l| sent >= l) {
            break;
        }
        // Exponential gaps: calls arrive at random, as real calls do.
        let u: f64 = factory.rng.random_range(f64::EPSILON..1.0);
        let gap = Duration::from_secs_f64((-u.ln() * mean_gap).min(mean_gap * 10.0));
        tokio::select! {
            _ = tokio::time::sleep(gap) => {}
            _ = cancel.cancelled() => break,
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_mostly_not_police_business() {
        let mut f = CallFactory::new(7);
        let calls: Vec<SimCall> = (0..2000).map(|_| f.next_call()).collect();
        let labelled: Vec<Category> = calls.iter().filter_map(|c| c.category).collect();
        let non_police = labelled.iter().filter(|c| !c.is_police()).count() as f64 / labelled.len() as f64;
        assert!((0.62..0.78).contains(&non_police), "{non_police}");
        let nuisance = calls
            .iter()
            .filter(|c| {
                c.request
                    .phone
                    .as_deref()
                    .is_some_and(|p| NUISANCE_NUMBERS.contains(&p))
            })
            .count();
        assert!(nuisance > 60, "repeat callers call repeatedly: {nuisance}");
        assert!(calls.iter().any(|c| c.request.disconnect.is_some()));
        for c in &calls {
            assert!(
                c.request.clone().parse(chrono::Utc::now()).is_ok(),
                "every simulated call is valid: {c:?}"
            );
        }
    }
}

/// How a simulated colleague paces their work, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// How long a call waits before the colleague takes it, so the person at
    /// the demo console sees fresh calls first.
    pub patience: i64,
    /// Between looks at the queue.
    pub between: (f64, f64),
    /// Working one call.
    pub work: (f64, f64),
    /// From dispatch to on scene, and from on scene to clear.
    pub travel: (f64, f64),
    pub clear: (f64, f64),
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            patience: 20,
            between: (1.0, 4.0),
            work: (3.0, 15.0),
            travel: (20.0, 90.0),
            clear: (40.0, 180.0),
        }
    }
}

/// A simulated call taker, for demos: takes the call that has waited longest
/// (once it has waited a little), works it for a while, and disposes of it as
/// triage suggests — dispatch, refer or close as invalid. Dispatched units
/// reach the scene and clear later, so the unit board stays alive.
pub async fn colleague(client: ApiClient, pace: Pace, seed: u64, cancel: CancellationToken) {
    use crate::model::{CloseReason, UnitStatus};
    let mut rng = StdRng::seed_from_u64(seed);
    // What an earlier demo left half done when it was stopped: calls this
    // account held go back to the queue, and units still out on a call
    // reach the scene and clear (their follow-up stopped with that demo).
    if let (Ok(me), Ok(queue)) = (client.login_info().await, client.queue().await) {
        for i in queue
            .iter()
            .filter(|i| i.holder.as_ref().is_some_and(|h| h.id == me.id))
        {
            client.release(i.id).await.ok();
        }
    }
    // Only its own: the person at the demo console keeps their dispatches.
    let me = client.login_info().await.ok().map(|u| u.id);
    for unit in client.units().await.unwrap_or_default() {
        if let (Some(id), UnitStatus::Assigned | UnitStatus::EnRoute | UnitStatus::OnScene) =
            (unit.incident_id, unit.status)
        {
            let mine = client
                .incident(id)
                .await
                .is_ok_and(|i| i.handled_by.is_some_and(|h| Some(h.id) == me));
            if !mine {
                continue;
            }
            if unit.status != UnitStatus::OnScene {
                client.on_scene(id).await.ok();
            }
            client.resolve(id).await.ok();
        }
    }
    let pause =
        |rng: &mut StdRng, (lo, hi): (f64, f64)| Duration::from_secs_f64(rng.random_range(lo..hi.max(lo + 1e-3)));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(pause(&mut rng, pace.between)) => {}
            _ = cancel.cancelled() => return,
        }
        let Ok(queue) = client.queue().await else { continue };
        let now = chrono::Utc::now();
        let Some(next) = queue
            .iter()
            .filter(|i| i.holder.is_none() && (now - i.received_at).num_seconds() >= pace.patience)
            .min_by_key(|i| i.display_order())
        else {
            continue;
        };
        // Taking the call returns the whole record, suggestion included.
        let Ok(call) = client.claim(next.id).await else {
            continue;
        };
        tokio::select! {
            _ = tokio::time::sleep(pause(&mut rng, pace.work)) => {}
            _ = cancel.cancelled() => return,
        }
        let id = call.id;
        let outcome = match call.suggestion.as_ref().map(|s| (s.category, s.agency)) {
            Some((Category::Invalid, _)) | None => client.close(id, CloseReason::Invalid, None).await.map(drop),
            Some((Category::NonPolice, agency)) if agency != crate::model::Agency::None => {
                client.refer(id, agency).await.map(drop)
            }
            Some((Category::NonPolice, _)) => client.close(id, CloseReason::Advice, None).await.map(drop),
            Some(_) => {
                let recommended = client.recommended_units(id).await.map(|r| r.units).unwrap_or_default();
                // Any available unit only when none covers the place.
                let unit = match recommended.into_iter().next() {
                    Some(o) => Some(o.unit),
                    None => client
                        .units()
                        .await
                        .unwrap_or_default()
                        .into_iter()
                        .find(|u| u.status == UnitStatus::Available),
                };
                match unit {
                    Some(u) => {
                        // As at the console: the category is confirmed with
                        // the dispatch, not left to the suggestion.
                        let confirm = crate::model::IncidentPatch {
                            version: call.version,
                            category: call.suggestion.as_ref().map(|s| s.category),
                            ..Default::default()
                        };
                        client.update(id, &confirm).await.ok();
                        let r = client.dispatch(id, u.id, &[]).await.map(drop);
                        let (c, on, clear) = (
                            client.clone(),
                            pause(&mut rng, pace.travel),
                            pause(&mut rng, pace.clear),
                        );
                        tokio::spawn(async move {
                            tokio::time::sleep(on).await;
                            if c.on_scene(id).await.is_ok() {
                                tokio::time::sleep(clear).await;
                                c.resolve(id).await.ok();
                            }
                        });
                        r
                    }
                    // Every unit is out: put the call back for someone else.
                    None => client.release(id).await.map(drop),
                }
            }
        };
        if let Err(e) = outcome {
            // Someone got there first (a unit taken meanwhile, a lead's
            // override): hand the call back rather than sit on it.
            tracing::info!("simulated colleague gives back #{id}: {e}");
            client.release(id).await.ok();
        }
    }
}

/// How simulated agencies answer their work orders, in seconds after the
/// order was sent (or after the previous step).
#[derive(Debug, Clone)]
pub struct AgencyPace {
    /// Between looks at the inbox.
    pub between: f64,
    pub accept: (f64, f64),
    pub feedback: (f64, f64),
    pub close: (f64, f64),
    /// Share of orders handed back to 110 (not ours / police first).
    pub returns: f64,
    /// Share of orders accepted only after their deadline.
    pub late: f64,
}

impl Default for AgencyPace {
    fn default() -> Self {
        AgencyPace {
            between: 3.0,
            accept: (15.0, 120.0),
            feedback: (60.0, 300.0),
            close: (30.0, 240.0),
            returns: 0.08,
            late: 0.05,
        }
    }
}

/// The units' terminals for demos and tests: every unit dispatched (by a
/// simulated colleague or the person at the console) signs for its order
/// within `span` seconds; a `late` share of them only after the 30 s the
/// centre is judged by. `client` is a staff account. Delays are drawn from
/// the incident id and the seed, and timed from the unit's own status
/// time, so a restarted simulator picks up where it was.
pub async fn terminals(client: ApiClient, span: (f64, f64), late: f64, seed: u64, cancel: CancellationToken) {
    use crate::model::UnitStatus;
    /// A patrol car in town: about 43 km/h door to door.
    const SPEED_M_PER_S: f64 = 12.0;
    /// How often a moving unit reports where it is.
    const REPORT_EVERY_S: f64 = 6.0;
    use std::collections::HashMap;
    let mut scenes: HashMap<crate::model::IncidentId, Option<GeoPoint>> = HashMap::new();
    let mut reported: HashMap<crate::model::UnitId, std::time::Instant> = HashMap::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = cancel.cancelled() => return,
        }
        let now = chrono::Utc::now();
        for u in client.units().await.unwrap_or_default() {
            match (u.status, u.incident_id, u.status_since) {
                (UnitStatus::Assigned, Some(id), Some(since)) => {
                    let mut rng = StdRng::seed_from_u64(seed ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    let wait = rng.random_range(span.0..span.1.max(span.0 + 1e-3));
                    let wait = if rng.random_bool(late) { 30.0 + wait } else { wait };
                    if ((now - since).num_milliseconds() as f64) / 1000.0 >= wait
                        && let Err(e) = client.acknowledge(id).await
                    {
                        tracing::info!("simulated terminal of {} could not sign for #{id}: {e}", u.name);
                    }
                }
                // On its way: drive towards the scene, reporting as it goes.
                (UnitStatus::EnRoute | UnitStatus::OnScene, Some(id), _) => {
                    let scene = match scenes.get(&id) {
                        Some(p) => *p,
                        None => {
                            let p = client.incident(id).await.ok().and_then(|i| i.location.point());
                            scenes.insert(id, p);
                            p
                        }
                    };
                    let (Some(scene), Some(at)) = (scene, u.at) else {
                        continue;
                    };
                    let since = reported
                        .get(&u.id)
                        .map_or(REPORT_EVERY_S, |t| t.elapsed().as_secs_f64());
                    if at == scene || since < REPORT_EVERY_S {
                        continue;
                    }
                    let next = at.toward(scene, SPEED_M_PER_S * since.min(30.0));
                    if client.set_unit_position(u.id, next).await.is_ok() {
                        reported.insert(u.id, std::time::Instant::now());
                    }
                }
                _ => {}
            }
        }
        if scenes.len() > 10_000 {
            scenes.clear();
        }
    }
}

/// What the simulated agencies write when they hand an order back.
const RETURN_NOTES: &[(crate::model::ReturnReason, &str)] = &[
    (
        crate::model::ReturnReason::NotOurs,
        "经核实不属于本单位职责范围，请重新研判",
    ),
    (crate::model::ReturnReason::NotOurs, "该地址不在本单位服务区域"),
    (
        crate::model::ReturnReason::PoliceFirst,
        "现场有纠纷升级迹象，需公安先行处置",
    ),
    (crate::model::ReturnReason::PoliceFirst, "涉及人身安全，请110先派警"),
];

/// Linked agencies for demos and tests: each client is an agency account.
/// Decisions are drawn from the order's id and the seed and timed from the
/// order's own timestamps, so a restarted simulator picks up where it was.
/// A returned order the lead insisted on is always accepted.
pub async fn agencies(clients: Vec<ApiClient>, pace: AgencyPace, seed: u64, cancel: CancellationToken) {
    use crate::model::{ReferralStatus, ReferralStep};
    // One stream of draws per order: stable for its id, varied by the seed.
    let draw =
        |id: i64, salt: u64| StdRng::seed_from_u64(seed ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt);
    let span = |rng: &mut StdRng, (lo, hi): (f64, f64)| rng.random_range(lo..hi.max(lo + 1e-3));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs_f64(pace.between)) => {}
            _ = cancel.cancelled() => return,
        }
        let now = chrono::Utc::now();
        for client in &clients {
            let Ok(inbox) = client.referrals().await else { continue };
            for r in inbox {
                let since = |t: chrono::DateTime<chrono::Utc>| (now - t).num_milliseconds() as f64 / 1000.0;
                let step = match r.status {
                    ReferralStatus::Sent => {
                        let mut rng = draw(r.id, 1);
                        let returns = r.review_note.is_none() && rng.random_bool(pace.returns);
                        let late = rng.random_bool(pace.late);
                        let wait = span(&mut rng, pace.accept);
                        let from = r.reviewed_at.unwrap_or(r.created_at);
                        let wait = if late {
                            (r.due_at - from).num_seconds() as f64 + wait
                        } else {
                            wait
                        };
                        if since(from) < wait {
                            continue;
                        }
                        if returns {
                            let (reason, note) = RETURN_NOTES[rng.random_range(0..RETURN_NOTES.len())];
                            ReferralStep::Return {
                                reason,
                                note: note.to_owned(),
                            }
                        } else {
                            ReferralStep::Accept
                        }
                    }
                    ReferralStatus::Accepted => {
                        let wait = span(&mut draw(r.id, 2), pace.feedback);
                        if r.accepted_at.is_none_or(|t| since(t) < wait) {
                            continue;
                        }
                        ReferralStep::Feedback(format!("{}已到场处置，情况已向来电人说明", r.agency.display_name_zh()))
                    }
                    ReferralStatus::Feedback => {
                        let wait = span(&mut draw(r.id, 3), pace.close);
                        if r.feedback_at.is_none_or(|t| since(t) < wait) {
                            continue;
                        }
                        ReferralStep::Close
                    }
                    _ => continue,
                };
                if let Err(e) = client.referral_step(r.id, &step).await {
                    tracing::info!("simulated agency could not work {}: {e}", r.number);
                }
            }
        }
    }
}

/// What dissatisfied callers say when followed up: about the police who
/// came, and about the agency a call was referred to.
const DISSATISFIED: &[&str] = &[
    "民警到得太慢了，等了四十分钟",
    "接警员态度不好，说话不耐烦",
    "民警来了看一眼就走了，问题没解决",
];
const DISSATISFIED_REFERRED: &[&str] = &["转给别的部门以后就没人联系我了", "说是来修，到现在也没修好"];

/// Callers answering follow-ups of one channel: the SMS replies a gateway
/// relays, or a colleague's calls back. Most are satisfied, some are not
/// (with a reason), some cannot be reached; each answer comes a while
/// after the follow-up opened, drawn from its id.
pub async fn followup_replies(
    client: ApiClient,
    channel: crate::model::FollowupChannel,
    after: (f64, f64),
    seed: u64,
    cancel: CancellationToken,
) {
    use crate::model::Satisfaction;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3)) => {}
            _ = cancel.cancelled() => return,
        }
        let Ok(open) = client.followups(channel).await else {
            continue;
        };
        let now = chrono::Utc::now();
        for f in open {
            let mut rng = StdRng::seed_from_u64(seed ^ (f.id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let wait = rng.random_range(after.0..after.1.max(after.0 + 1e-3));
            if ((now - f.created_at).num_milliseconds() as f64) < wait * 1000.0 {
                continue;
            }
            let roll: f64 = rng.random();
            let (outcome, reason) = if roll < 0.86 {
                (Satisfaction::Satisfied, None)
            } else if roll < 0.94 {
                let said = if f.agency.is_some() {
                    DISSATISFIED_REFERRED
                } else {
                    DISSATISFIED
                };
                (Satisfaction::Dissatisfied, Some(said[rng.random_range(0..said.len())]))
            } else {
                (Satisfaction::Unreachable, None)
            };
            if let Err(e) = client.record_followup(f.id, outcome, reason).await {
                tracing::info!("simulated caller could not answer follow-up {}: {e}", f.id);
            }
        }
    }
}
