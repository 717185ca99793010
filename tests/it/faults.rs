//! Faults: the service killed with SIGKILL under load, the database
//! connection cut, a subscriber that stops reading. Each runs on both
//! backends; `JIEJING_FAULT_LONG=1` runs longer variants.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use jiejing::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{ADMIN_PASSWORD, Api, Backend, PASSWORD, fresh_db};

backend_tests!(sigkill_under_load_loses_no_acknowledged_call);

fn long() -> bool {
    std::env::var_os("JIEJING_FAULT_LONG").is_some()
}

/// `jiejing serve` as its own process, so it can be killed for real.
struct Process {
    child: std::process::Child,
    addr: SocketAddr,
    db_url: String,
}

impl Process {
    fn start(db_url: &str, addr: SocketAddr) -> Process {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_jiejing"))
            .args(["serve", "--db", db_url, "--listen", &addr.to_string()])
            .env("JIEJING_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start jiejing serve");
        Process {
            child,
            addr,
            db_url: db_url.to_owned(),
        }
    }

    async fn healthy(&self) {
        let http = reqwest::Client::new();
        let start = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("http://{}/healthz", self.addr)).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "the service did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown hook, no flush, nothing.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    fn restart(&mut self) {
        *self = Process::start(&self.db_url.clone(), self.addr);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// 64 clients post intakes, each retrying its key until it is acknowledged;
/// the service is SIGKILLed and restarted under them. Afterwards every
/// acknowledged incident is there, and each key made exactly one incident.
async fn sigkill_under_load_loses_no_acknowledged_call(backend: Backend) {
    let (db_url, _dir) = fresh_db(backend).await;
    let mut proc = Process::start(&db_url, free_addr());
    proc.healthy().await;
    let admin = Api::login(proc.addr, "admin", ADMIN_PASSWORD).await;
    let (status, body) = admin
        .post(
            "/users",
            json!({ "name": "gateway", "role": Role::Gateway, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let gateway = Api::login(proc.addr, "gateway", PASSWORD).await;

    let (clients, per_client, kills) = if long() { (64, 100, 5) } else { (64, 15, 2) };
    let acked = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (gw, acked) = (gateway.clone(), acked.clone());
            tokio::spawn(async move {
                let mut mine: Vec<(String, i64, bool)> = Vec::new();
                for i in 0..per_client {
                    let key = format!("k{c}-{i}");
                    let body = json!({ "channel": "voice", "phone": "13804310001", "narrative": format!("第{c}路 第{i}次 有人打架") });
                    let mut failed_before = false;
                    loop {
                        let res = gw
                            .request(reqwest::Method::POST, "/intake")
                            .header("Idempotency-Key", &key)
                            .timeout(Duration::from_secs(10))
                            .json(&body)
                            .send()
                            .await;
                        match res {
                            Ok(r) if r.status() == StatusCode::CREATED || r.status() == StatusCode::OK => {
                                let v: Value = r.json().await.expect("incident");
                                mine.push((key.clone(), v["id"].as_i64().expect("id"), failed_before));
                                acked.fetch_add(1, Ordering::SeqCst);
                                break;
                            }
                            Ok(r) => assert!(
                                r.status().is_server_error(),
                                "only an outage may refuse an intake: {}",
                                r.status()
                            ),
                            Err(_) => {}
                        }
                        failed_before = true;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                mine
            })
        })
        .collect();

    let total = clients * per_client;
    for k in 1..=kills {
        let at = total * k / (kills + 1);
        while acked.load(Ordering::SeqCst) < at {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        proc.kill();
        tokio::time::sleep(Duration::from_millis(200)).await;
        proc.restart();
        proc.healthy().await;
    }
    let mut results = Vec::new();
    for t in tasks {
        results.extend(t.await.expect("client"));
    }
    assert_eq!(results.len(), total);

    let (status, list) = admin.get("/incidents?limit=10000").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let stored: HashMap<i64, String> = list
        .as_array()
        .expect("incidents")
        .iter()
        .map(|i| {
            (
                i["id"].as_i64().expect("id"),
                i["narrative"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for (key, id, _) in &results {
        assert!(
            stored.contains_key(id),
            "acknowledged intake {key} (#{id}) survived the kill"
        );
    }
    let ids: HashSet<i64> = results.iter().map(|(_, id, _)| *id).collect();
    assert_eq!(ids.len(), total, "one incident per idempotency key");
    assert_eq!(
        stored.len(),
        total,
        "no incident without a key's acknowledgement, none doubled"
    );
    let retried = results.iter().filter(|(_, _, failed)| *failed).count();
    assert!(retried > 0, "the kills interrupted some requests");
}
