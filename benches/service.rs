//! The incident service under load, each figure beside a reference measured
//! in the same run:
//! - durable intake over HTTP at 1, 16 and 64 clients, against the raw limit:
//!   the same row inserted through the driver with the same durability
//!   settings, one transaction each;
//! - live fan-out: 200 event streams while intakes arrive at 50/s, delay from
//!   acknowledgement to delivery on every stream;
//! - the queue with 10,000 open incidents over HTTP, against the bare SELECT.
//!
//! `cargo bench --bench service` runs SQLite; with `JIEJING_BENCH_PG_URL` set
//! (a database the bench may create schemas in) PostgreSQL too. Short runs:
//! `JIEJING_BENCH_SECS=2`.

// The table on stdout is the benchmark's output.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource as _;
use futures_util::StreamExt as _;
use jiejing::server::Server;
use serde_json::Value;
use tokio::sync::Mutex;

#[macro_use]
mod common;
use common::{Client, PASSWORD, intake_body, intake_load, ms, pct, pg_schema, raw_inserts, start};

fn secs() -> u64 {
    std::env::var("JIEJING_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
        let queue_db = format!("sqlite://{}", dir.path().join("queue.db").display());
        let raw = format!("sqlite://{}", dir.path().join("raw.db").display());
        run("SQLite", &sqlite, &queue_db, &raw).await;
        if let Some(base) = std::env::var("JIEJING_BENCH_PG_URL").ok().filter(|u| !u.is_empty()) {
            let (main, _) = pg_schema(&base, "bench").await;
            let (raw, _) = pg_schema(&base, "bench").await;
            let (queue_db, _) = pg_schema(&base, "bench").await;
            run("PostgreSQL", &main, &queue_db, &raw).await;
        } else {
            println!("\n(set JIEJING_BENCH_PG_URL to measure PostgreSQL too)");
        }
    });
}

async fn run(name: &str, db_url: &str, queue_db_url: &str, raw: &str) {
    let secs = secs();
    println!("\n## {name}\n");
    let (server, base) = start(db_url).await;
    let gateway = Arc::new(Client::login(&base, "gateway", PASSWORD).await);

    // Our migrations and settings on the reference database, then the bare driver.
    drop(jiejing::store::open(raw, Default::default()).await.expect("schema"));
    let raw_rate = raw_inserts(raw, Duration::from_secs(secs)).await;
    println!("| measurement | result | reference | ratio |");
    println!("|---|---|---|---|");
    println!("| raw insert, one transaction each (reference) | {raw_rate:.0} /s | | 1.00 |");
    for clients in [1, 16, 64] {
        let r = intake_load(&gateway, clients, Duration::from_secs(secs)).await;
        println!(
            "| durable intake over HTTP, {clients} client{} | {:.0} /s, p50 {:.1} ms, p99 {:.1} ms | {raw_rate:.0} /s raw | {:.2} |",
            if clients == 1 { "" } else { "s" },
            r.rate,
            ms(r.p50),
            ms(r.p99),
            r.rate / raw_rate
        );
    }

    let f = fanout(&base, &gateway, 200, 50.0, Duration::from_secs(secs.max(4))).await;
    f.print("fan-out", "200 streams at 50 intakes/s");
    if raw.starts_with("postgres") {
        // A second instance on the same database: calls taken in on the
        // first reach consoles subscribed to the second (LISTEN/NOTIFY).
        let (second, base_b) = start(db_url).await;
        let f = fanout(&base_b, &gateway, 200, 50.0, Duration::from_secs(secs.max(4))).await;
        f.print(
            "fan-out across instances",
            "200 streams on instance B, intakes on A at 50/s",
        );
        second.stop().await.ok();
    }

    server.stop().await.ok();
    // A database of its own, so the queue holds exactly 10,000 open calls.
    let (server, base) = start(queue_db_url).await;
    let q = queue_query(&server, &base, queue_db_url).await;
    println!(
        "| queue with {} open incidents over HTTP | median {:.1} ms, p99 {:.1} ms (first after start {:.0} ms) | bare SELECT {:.1} ms | {:.2} |",
        q.open,
        ms(q.median),
        ms(q.p99),
        ms(q.cold),
        ms(q.reference),
        q.median.as_secs_f64() / q.reference.as_secs_f64()
    );
    server.stop().await.ok();
}

struct Fanout {
    deliveries: usize,
    missing: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Fanout {
    fn print(&self, what: &str, setup: &str) {
        println!(
            "| {what}: {} deliveries to {setup} | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms | 100 ms target | {:.2} |",
            self.deliveries,
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            ms(self.p99) / 100.0
        );
        if self.missing > 0 {
            println!("| {what}: deliveries missing | {} | 0 | |", self.missing);
        }
    }
}

/// `streams` subscribers on `/events`; intakes at `per_sec` for `dur`; the
/// delay from each intake's acknowledgement to its event on every stream.
async fn fanout(base: &str, gw: &Arc<Client>, streams: usize, per_sec: f64, dur: Duration) -> Fanout {
    let lead = Client::login(base, "lead", PASSWORD).await;
    let seen: Arc<Mutex<Vec<HashMap<i64, Instant>>>> = Arc::new(Mutex::new(vec![HashMap::new(); streams]));
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut ready = Vec::new();
    for s in 0..streams {
        let res = lead
            .http
            .get(format!("{base}/api/v1/events"))
            .bearer_auth(&lead.token)
            .send()
            .await
            .expect("subscribe");
        let (seen, cancel) = (seen.clone(), cancel.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        ready.push(rx);
        tokio::spawn(async move {
            let mut events = res.bytes_stream().eventsource();
            let _ = tx.send(());
            loop {
                tokio::select! {
                    ev = events.next() => match ev {
                        Some(Ok(ev)) if ev.event == "incident.created" => {
                            let at = Instant::now();
                            if let Ok(v) = serde_json::from_str::<Value>(&ev.data)
                                && let Some(id) = v["incident_id"].as_i64()
                            {
                                seen.lock().await[s].insert(id, at);
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                    _ = cancel.cancelled() => return,
                }
            }
        });
    }
    for r in ready {
        r.await.ok();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut acked: Vec<(i64, Instant)> = Vec::new();
    let gap = Duration::from_secs_f64(1.0 / per_sec);
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < dur {
        let next = start + gap * n as u32;
        tokio::time::sleep_until(next.into()).await;
        let res = gw
            .post("/intake")
            .header("Idempotency-Key", format!("fanout-{}-{n}", rand::random::<u32>()))
            .json(&intake_body(n))
            .send()
            .await
            .expect("intake");
        let at = Instant::now();
        let v: Value = res.json().await.expect("incident");
        acked.push((v["id"].as_i64().expect("id"), at));
        n += 1;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    cancel.cancel();
    let seen = seen.lock().await;
    let mut delays = Vec::new();
    let mut missing = 0;
    for (id, acked_at) in &acked {
        for stream in seen.iter() {
            match stream.get(id) {
                // Delivered before the HTTP answer reached the client: no delay.
                Some(at) => delays.push(at.saturating_duration_since(*acked_at)),
                None => missing += 1,
            }
        }
    }
    delays.sort();
    Fanout {
        deliveries: delays.len(),
        missing,
        p50: pct(&delays, 50.0),
        p99: pct(&delays, 99.0),
        max: delays.last().copied().unwrap_or_default(),
    }
}

struct QueueQuery {
    open: usize,
    cold: Duration,
    median: Duration,
    p99: Duration,
    reference: Duration,
}

/// Fills the queue to 10,000 open incidents through the store, then reads it
/// over HTTP; the reference is the bare SELECT of the same rows.
async fn queue_query(server: &Server, base: &str, db_url: &str) -> QueueQuery {
    const OPEN: usize = 10_000;
    let store = server.state.store.clone();
    let gateway = store
        .users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.name == "gateway")
        .expect("gateway");
    let fillers: Vec<_> = (0..32)
        .map(|t| {
            let (store, gateway) = (store.clone(), gateway.clone());
            tokio::spawn(async move {
                for n in (t..OPEN).step_by(32) {
                    let req: jiejing::model::IntakeRequest = serde_json::from_value(intake_body(n)).expect("request");
                    let new = req.parse(chrono::Utc::now()).expect("valid");
                    store
                        .intake(&gateway, None, new, chrono::Utc::now())
                        .await
                        .expect("intake");
                }
            })
        })
        .collect();
    for f in fillers {
        f.await.expect("filler");
    }
    let lead = Client::login(base, "lead", PASSWORD).await;
    let mut times = Vec::new();
    let mut body = Vec::new();
    // The first request after a start loads the instance's queue view from
    // the database; it is reported apart, the rest are the steady state.
    let mut cold = Duration::ZERO;
    for i in 0..31 {
        let t = Instant::now();
        body = lead
            .http
            .get(format!("{base}/api/v1/queue"))
            .bearer_auth(&lead.token)
            .send()
            .await
            .expect("queue")
            .bytes()
            .await
            .expect("queue body")
            .to_vec();
        if i == 0 {
            cold = t.elapsed();
        } else {
            times.push(t.elapsed());
        }
    }
    let open = serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&body)
        .expect("queue JSON")
        .len();
    times.sort();
    // The same rows and columns the queue reads, through the bare driver.
    let select = "SELECT id, channel, COALESCE(phone, wechat_id, web_account), received_at, \
                  COALESCE(priority, sugg_priority, 'P3'), COALESCE(category, sugg_category), status, holder_id, \
                  holder_name, held_since, disconnect, SUBSTR(narrative, 1, 40), version FROM incidents \
                  WHERE status IN ('new', 'in_progress') ORDER BY COALESCE(priority, sugg_priority, 'P3'), received_at, id";
    let mut refs = Vec::new();
    if db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db_url).await.expect("pool");
        for _ in 0..30 {
            let t = Instant::now();
            sqlx::query(select).fetch_all(&pool).await.expect("select");
            refs.push(t.elapsed());
        }
    } else {
        let pool = sqlx::PgPool::connect(db_url).await.expect("pool");
        for _ in 0..30 {
            let t = Instant::now();
            sqlx::query(select).fetch_all(&pool).await.expect("select");
            refs.push(t.elapsed());
        }
    }
    refs.sort();
    QueueQuery {
        open,
        cold,
        median: pct(&times, 50.0),
        p99: pct(&times, 99.0),
        reference: pct(&refs, 50.0),
    }
}
