//! How every read a console or shift lead makes grows with the history a
//! centre keeps: the database filled by the backfill loader with 10 k, 100 k,
//! 1 M and 4.4 M calls (a year of Jilin, 2019), then over HTTP:
//! a console's first connect on a fresh instance, the queue, a heavy
//! number's caller history, the 30-day nuisance ranking, a 220-call
//! dossier, shift statistics for a shift, 30 days and a year, a page of the
//! audit log filtered by operator, and intake at 64 clients against the raw
//! per-transaction insert on the same database.
//!
//! Every history has the centre's rate (4.4 M calls a year, about 12,000 a
//! day), so a bigger database is a longer history, not a busier day: a
//! shift's read should not grow with it. Each figure is printed with its
//! ratio to the same read at the smallest size of the run.
//!
//! `cargo bench --bench history` runs SQLite at 10 k and 100 k; set
//! `JIEJING_HISTORY_SIZES=10000,100000,1000000,4400000` for the full curve
//! (SQLite stops at `JIEJING_HISTORY_SQLITE_MAX`, 1 M by default) and
//! `JIEJING_BENCH_PG_URL` for PostgreSQL (a schema per size, dropped after;
//! `JIEJING_HISTORY_KEEP=1` keeps the largest, to read query plans on).
//! The growth plot is written to `JIEJING_HISTORY_PLOT` (default
//! `target/history-growth.svg`).

// The table on stdout is the benchmark's output.
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiejing::server::Server;

#[macro_use]
mod common;
use common::{Client, PASSWORD, config, intake_load, ms, pct, pg_schema, raw_inserts, start};
use jiejing::sim::history::{DOSSIER_NUMBER, HistoryPlan, backfill};
use serde_json::Value;

/// Calls a year at the centre measured: Jilin, 2019.
const CALLS_PER_YEAR: f64 = 4_400_000.0;
/// The heaviest nuisance number of the made-up history.
const HEAVY_NUMBER: &str = "13912340001";

fn env_usize_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sizes = env_usize_list("JIEJING_HISTORY_SIZES", &[10_000, 100_000]);
    let sqlite_max = env_usize_list("JIEJING_HISTORY_SQLITE_MAX", &[1_000_000])[0];
    rt.block_on(async {
        let mut curves = Vec::new();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut rows = Vec::new();
        for &n in sizes.iter().filter(|&&n| n <= sqlite_max) {
            let url = format!("sqlite://{}", dir.path().join(format!("history-{n}.db")).display());
            rows.push(measure("SQLite", n, &url).await);
            std::fs::remove_file(dir.path().join(format!("history-{n}.db"))).ok();
        }
        curves.push(("SQLite", rows));
        if let Some(base) = std::env::var("JIEJING_BENCH_PG_URL").ok().filter(|u| !u.is_empty()) {
            let mut rows = Vec::new();
            let keep = std::env::var("JIEJING_HISTORY_KEEP").is_ok_and(|v| v == "1");
            for (k, &n) in sizes.iter().enumerate() {
                let (url, schema) = pg_schema(&base, "history").await;
                rows.push(measure("PostgreSQL", n, &url).await);
                if keep && k + 1 == sizes.len() {
                    println!("kept for EXPLAIN: schema {schema}");
                } else {
                    drop_schema(&base, &schema).await;
                }
            }
            curves.push(("PostgreSQL", rows));
        } else {
            println!("\n(set JIEJING_BENCH_PG_URL to measure PostgreSQL too)");
        }
        for (name, rows) in &curves {
            print_growth(name, rows);
        }
        let path = std::env::var("JIEJING_HISTORY_PLOT").unwrap_or_else(|_| "target/history-growth.svg".into());
        std::fs::write(&path, plot(&curves)).expect("write the plot");
        println!("\nplot: {path}");
    });
}

async fn drop_schema(base: &str, schema: &str) {
    let pool = sqlx::PgPool::connect(base).await.expect("connect to PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&pool)
        .await
        .expect("drop schema");
}

/// GET `path`, the body read to the end; the time it took.
async fn get(c: &Client, path: &str) -> (Duration, Value) {
    let t = Instant::now();
    let res = c
        .http
        .get(format!("{}/api/v1{path}", c.base))
        .bearer_auth(&c.token)
        .send()
        .await
        .expect("request");
    let status = res.status();
    let body = res.bytes().await.expect("body");
    let took = t.elapsed();
    assert!(
        status.is_success(),
        "{path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    (took, serde_json::from_slice(&body).expect("json"))
}

/// The reads measured, in the order of the table.
const READS: &[&str] = &[
    "first connect",
    "queue",
    "caller history (heavy number)",
    "nuisance ranking, 30 days",
    "dossier, 220 calls",
    "statistics, one shift",
    "statistics, 30 days",
    "statistics, a year",
    "audit page, one operator",
];

/// The figures at one size.
struct Row {
    calls: usize,
    load_rows: usize,
    load_secs: f64,
    db_bytes: u64,
    /// Median of each read in [`READS`], milliseconds.
    reads: Vec<f64>,
    raw: f64,
    intake: f64,
    p50: f64,
    p99: f64,
}

/// `times` runs of `path`; the median.
async fn median(c: &Client, path: &str, times: usize) -> f64 {
    let mut d = Vec::with_capacity(times);
    for _ in 0..times {
        d.push(get(c, path).await.0);
    }
    d.sort();
    ms(pct(&d, 50.0))
}

async fn measure(backend: &str, calls: usize, url: &str) -> Row {
    let days = ((calls as f64 / CALLS_PER_YEAR) * 365.0).ceil().max(1.0) as u32;
    // The accounts first: the admin is made only in an empty database.
    let (server, _) = start(url).await;
    server.stop().await.ok();

    let store = jiejing::store::open(url, Default::default()).await.expect("open");
    let loaded = backfill(
        &store,
        HistoryPlan {
            calls,
            days,
            end: chrono::Utc::now(),
            seed: 2019,
        },
        |_| {},
    )
    .await
    .expect("backfill");
    let db_bytes = size(&store, url).await;
    drop(store);
    println!(
        "\n## {backend}, {calls} calls over {days} days: loaded {} rows in {:.1} s ({:.0} rows/s), {:.0} MB",
        loaded.rows(),
        loaded.secs,
        loaded.rows() as f64 / loaded.secs,
        db_bytes as f64 / 1e6
    );

    // A fresh instance on the history: its first queue read loads the
    // queue view.
    let first = Instant::now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = Server::start(config(url), listener).await.expect("service starts");
    let started = first.elapsed();
    let base = format!("http://{}", server.addr);
    // What a lead's console asks for when it signs in.
    let connect = Instant::now();
    let lead = Client::login(&base, "lead", PASSWORD).await;
    for path in ["/auth/me", "/queue", "/units", "/users", "/users/signed-in", "/alerts"] {
        get(&lead, path).await;
    }
    let connect = connect.elapsed();
    println!(
        "service start {:.0} ms; first connect {:.1} ms",
        ms(started),
        ms(connect)
    );

    let (_, ops): (_, Value) = get(&lead, "/users").await;
    let operator = ops
        .as_array()
        .and_then(|a| a.iter().find(|u| u["name"] == "backfill-op07"))
        .map(|u| u["id"].as_i64().unwrap_or(0))
        .expect("an operator of the backfill");
    let now = chrono::Utc::now();
    let iso = |d: chrono::Duration| (now - d).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let year = format!(
        "/stats?from={}&to={}",
        iso(chrono::Duration::days(365)),
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let month = format!(
        "/stats?from={}&to={}",
        iso(chrono::Duration::days(30)),
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let reads = vec![
        ms(connect),
        median(&lead, "/queue", 20).await,
        median(&lead, &format!("/callers/{HEAVY_NUMBER}"), 20).await,
        median(&lead, "/callers/nuisance", 5).await,
        median(&lead, &format!("/callers/{DOSSIER_NUMBER}/dossier"), 10).await,
        median(&lead, "/stats", 5).await,
        median(&lead, &month.replace('+', "%2B"), 3).await,
        median(&lead, &year.replace('+', "%2B"), 1).await,
        median(&lead, &format!("/audit?actor_id={operator}&limit=500"), 10).await,
    ];
    for (what, v) in READS.iter().zip(&reads) {
        println!("{what}: {v:.1} ms");
    }

    let gw = Arc::new(Client::login(&base, "gateway", PASSWORD).await);
    let load = intake_load(&gw, 64, Duration::from_secs(5)).await;
    let (rate, p50, p99) = (load.rate, ms(load.p50), ms(load.p99));
    server.stop().await.ok();
    let raw = raw_inserts(url, Duration::from_secs(3)).await;
    println!(
        "intake at 64 clients: {rate:.0} /s, p50 {p50:.1} ms, p99 {p99:.1} ms; raw insert {raw:.0} /s ({:.2}×)",
        rate / raw
    );
    Row {
        calls,
        load_rows: loaded.rows(),
        load_secs: loaded.secs,
        db_bytes,
        reads,
        raw,
        intake: rate,
        p50,
        p99,
    }
}

/// The database's size on disk.
async fn size(store: &jiejing::store::SqlStore, url: &str) -> u64 {
    match store.pg_pool() {
        Some(p) => {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relkind = 'r'",
            )
            .fetch_one(p)
            .await
            .expect("size");
            n as u64
        }
        None => {
            let path = url.trim_start_matches("sqlite://");
            ["", "-wal"]
                .iter()
                .filter_map(|s| std::fs::metadata(format!("{path}{s}")).ok())
                .map(|m| m.len())
                .sum()
        }
    }
}

fn print_growth(backend: &str, rows: &[Row]) {
    let Some(first) = rows.first() else { return };
    println!(
        "\n### {backend}: milliseconds (× the same read at {} calls)\n",
        first.calls
    );
    let mut head = String::from("| read |");
    let mut rule = String::from("|---|");
    for r in rows {
        write!(head, " {} calls |", r.calls).ok();
        rule.push_str("---|");
    }
    println!("{head}\n{rule}");
    for (k, what) in READS.iter().enumerate() {
        let mut line = format!("| {what} |");
        for r in rows {
            let v = r.reads[k];
            write!(line, " {v:.1} ({:.1}×) |", v / first.reads[k].max(1e-6)).ok();
        }
        println!("{line}");
    }
    let mut line = String::from("| intake at 64 clients: rate, p50 / p99 (× raw insert) |");
    for r in rows {
        write!(
            line,
            " {:.0} /s, {:.1} / {:.1} ms ({:.2}×) |",
            r.intake,
            r.p50,
            r.p99,
            r.intake / r.raw
        )
        .ok();
    }
    println!("{line}");
    let mut line = String::from("| load: rows, rows/s, size |");
    for r in rows {
        write!(
            line,
            " {}, {:.0} /s, {:.0} MB |",
            r.load_rows,
            r.load_rows as f64 / r.load_secs,
            r.db_bytes as f64 / 1e6
        )
        .ok();
    }
    println!("{line}");
}

/// A log–log plot of every read against the calls kept, one panel per
/// backend, as SVG.
fn plot(curves: &[(&str, Vec<Row>)]) -> String {
    const W: f64 = 460.0;
    const H: f64 = 320.0;
    const M: f64 = 56.0;
    const COLOURS: [&str; 9] = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf",
    ];
    let (x0, x1) = (1e4f64.log10(), 1e7f64.log10());
    let (y0, y1) = (-1.0f64, 5.0f64); // 0.1 ms to 100 s
    let sx = |calls: f64| M + (calls.log10() - x0) / (x1 - x0) * (W - 2.0 * M);
    let sy = |v: f64| H - M + -((v.max(0.1).log10() - y0) / (y1 - y0)) * (H - 2.0 * M);
    let panels = curves.len().max(1) as f64;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">"#,
        W * panels,
        H + 150.0
    );
    s.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (p, (name, rows)) in curves.iter().enumerate() {
        write!(s, r#"<g transform="translate({},0)">"#, W * p as f64).ok();
        write!(
            s,
            r#"<text x="{}" y="20" font-size="14" text-anchor="middle">{name}</text>"#,
            W / 2.0
        )
        .ok();
        for e in 4..=7 {
            let x = sx(10f64.powi(e));
            let label = ["10 k", "100 k", "1 M", "10 M"][(e - 4) as usize];
            write!(
                s,
                r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#ddd"/><text x="{x}" y="{}" text-anchor="middle">{label}</text>"##,
                M,
                H - M,
                H - M + 16.0
            )
            .ok();
        }
        for e in -1..=5 {
            let y = sy(10f64.powi(e));
            let label = ["0.1 ms", "1 ms", "10 ms", "100 ms", "1 s", "10 s", "100 s"][(e + 1) as usize];
            write!(
                s,
                r##"<line x1="{M}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{label}</text>"##,
                W - M,
                M - 4.0,
                y + 4.0
            )
            .ok();
        }
        write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">calls kept</text>"#,
            W / 2.0,
            H - M + 32.0
        )
        .ok();
        for (k, what) in READS.iter().enumerate() {
            let colour = COLOURS[k % COLOURS.len()];
            let pts: Vec<String> = rows
                .iter()
                .map(|r| format!("{:.1},{:.1}", sx(r.calls as f64), sy(r.reads[k])))
                .collect();
            write!(
                s,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
                pts.join(" ")
            )
            .ok();
            for pt in &pts {
                let (x, y) = pt.split_once(',').unwrap_or(("0", "0"));
                write!(s, r#"<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>"#).ok();
            }
            if p == 0 {
                let ly = H - 10.0 + (k as f64) * 15.0;
                write!(
                    s,
                    r#"<rect x="{M}" y="{}" width="12" height="4" fill="{colour}"/><text x="{}" y="{}">{what}</text>"#,
                    ly - 4.0,
                    M + 18.0,
                    ly + 1.0
                )
                .ok();
            }
        }
        s.push_str("</g>");
    }
    s.push_str("</svg>\n");
    s
}
