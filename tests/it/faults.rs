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

backend_tests!(
    sigkill_under_load_loses_no_acknowledged_call,
    a_stalled_subscriber_slows_no_one_and_catches_up,
    a_stalled_subscriber_is_dropped_and_resumes_with_last_event_id,
);

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

/// A TCP proxy the test can cut and restore (in front of PostgreSQL, the
/// service loses its database without touching anyone else's), or silence:
/// the connections open at that moment stop carrying anything, with no FIN
/// or RST, as when a cable is pulled or a NAT forgets them.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<std::sync::atomic::AtomicBool>,
    open: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    /// Connections numbered below this are silenced.
    silent_below: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
}

enum Target {
    Unix(std::path::PathBuf),
    Tcp(String),
}

/// Copies `from` to `to` until either side ends, or holds everything once
/// `silent()` says so, keeping both sockets open.
async fn pump(
    mut from: impl tokio::io::AsyncRead + Unpin,
    mut to: impl tokio::io::AsyncWrite + Unpin,
    silent: impl Fn() -> bool,
) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if silent() {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    to.shutdown().await.ok();
}

async fn splice(
    inbound: tokio::net::TcpStream,
    out: impl tokio::io::AsyncRead + tokio::io::AsyncWrite,
    silent: impl Fn() -> bool + Clone,
) {
    let (in_r, in_w) = inbound.into_split();
    let (out_r, out_w) = tokio::io::split(out);
    tokio::join!(pump(in_r, out_w, silent.clone()), pump(out_r, in_w, silent));
}

impl Proxy {
    async fn start(target: Target) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let silent_below = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let target = Arc::new(target);
        let (c, o, below, count) = (cut.clone(), open.clone(), silent_below.clone(), accepted.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if c.load(Ordering::SeqCst) {
                    continue; // refused: dropped at once
                }
                let n = count.fetch_add(1, Ordering::SeqCst);
                let below = below.clone();
                let silent = move || n < below.load(Ordering::SeqCst);
                let target = target.clone();
                let task = tokio::spawn(async move {
                    match &*target {
                        Target::Unix(path) => {
                            if let Ok(out) = tokio::net::UnixStream::connect(path).await {
                                splice(inbound, out, silent).await;
                            }
                        }
                        Target::Tcp(addr) => {
                            if let Ok(out) = tokio::net::TcpStream::connect(addr).await {
                                splice(inbound, out, silent).await;
                            }
                        }
                    }
                });
                o.lock().expect("lock").push(task);
            }
        });
        Proxy {
            addr,
            cut,
            open,
            silent_below,
            accepted,
        }
    }

    /// Every connection through the proxy dies, and new ones are refused.
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for t in self.open.lock().expect("lock").drain(..) {
            t.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }

    /// The connections open now go silent; new ones get through.
    fn silence_open(&self) {
        self.silent_below
            .store(self.accepted.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

/// The network path under a console's event stream dies without a word (no
/// FIN, no RST): the feed notices the missing keep-alives, says so,
/// reconnects on a new connection and replays what it missed, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_network_makes_the_feed_reconnect_and_resume() {
    use jiejing::client::{ApiClient, FeedItem};
    let srv = crate::helpers::spawn_server_with(Backend::Sqlite, |c| c.keep_alive = Duration::from_millis(200)).await;
    srv.user("ct", Role::CallTaker, None).await;
    let proxy = Proxy::start(Target::Tcp(srv.addr.to_string())).await;
    let mut ct = ApiClient::new(&format!("http://{}", proxy.addr)).with_feed_silence(Duration::from_secs(1));
    ct.login("ct", PASSWORD).await.expect("login");
    let direct = Api::login(srv.addr, "ct", PASSWORD).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = tokio_util::sync::CancellationToken::new();
    let feed = ct.spawn_feed(None, cancel.clone(), move |item| {
        tx.send(item).ok();
    });
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(15), rx.recv())
            .await
            .expect("the feed reports within 15 s")
            .expect("the feed runs")
    };
    assert!(matches!(next().await, FeedItem::Connected));
    let call = |text: &str| json!({ "channel": "voice", "phone": "13804310001", "narrative": text });
    let a = direct.intake(call("有人打架")).await;
    let FeedItem::Event(ev) = next().await else {
        panic!("expected the first event")
    };
    assert_eq!(ev.incident_id, a["id"].as_i64());

    // Quiet for longer than a keep-alive interval: still live.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let b = direct.intake(call("有人偷车")).await;
    let FeedItem::Event(ev) = next().await else {
        panic!("a quiet stream with keep-alives is not dead")
    };
    assert_eq!(ev.incident_id, b["id"].as_i64());

    proxy.silence_open();
    let c = direct.intake(call("有人落水")).await;
    let FeedItem::Disconnected(why) = next().await else {
        panic!("the silence should be noticed")
    };
    assert!(why.contains("no word from the service"), "{why}");
    assert!(matches!(next().await, FeedItem::Connected));
    let FeedItem::Event(ev) = next().await else {
        panic!("the missed event should be replayed")
    };
    assert_eq!(ev.incident_id, c["id"].as_i64());
    let d = direct.intake(call("有人溺水")).await;
    let FeedItem::Event(ev) = next().await else {
        panic!("expected the next event")
    };
    assert_eq!(ev.incident_id, d["id"].as_i64(), "replayed once, then live");
    cancel.cancel();
    feed.await.expect("feed task ends on cancel");
}

/// The database goes away under load: requests get 503 promptly (no hang),
/// `/healthz` says unavailable, and both recover by themselves once the
/// database is back. Nothing acknowledged is lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_database_gives_503_and_recovers() {
    use sqlx::postgres::PgConnectOptions;
    let Some(base) = crate::helpers::pg_url() else { return };
    let opts: PgConnectOptions = base.parse().expect("PostgreSQL URL");
    let target = match opts.get_socket() {
        Some(dir) => Target::Unix(dir.join(format!(".s.PGSQL.{}", opts.get_port()))),
        None => Target::Tcp(format!("{}:{}", opts.get_host(), opts.get_port())),
    };
    let proxy = Proxy::start(target).await;
    let (user, db) = (
        opts.get_username().to_owned(),
        opts.get_database().unwrap_or("postgres").to_owned(),
    );
    let password = std::env::var("PGPASSWORD").ok();
    let srv = crate::helpers::spawn_server_with(Backend::Postgres, |c| {
        let schema = c
            .db_url
            .rsplit("options[search_path]=")
            .next()
            .expect("schema")
            .to_owned();
        let auth = match &password {
            Some(p) => format!("{user}:{p}"),
            None => user.clone(),
        };
        c.db_url = format!(
            "postgres://{auth}@{}/{db}?sslmode=disable&options[search_path]={schema}",
            proxy.addr
        );
    })
    .await;
    let gw = srv.user("gateway", Role::Gateway, None).await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let statuses: Arc<std::sync::Mutex<HashMap<u16, usize>>> = Arc::default();
    let load = {
        let (gw, stop, statuses) = (gw.clone(), stop.clone(), statuses.clone());
        tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let key = format!("loss-{i}");
                loop {
                    let res = gw
                        .request(reqwest::Method::POST, "/intake")
                        .header("Idempotency-Key", &key)
                        .timeout(Duration::from_secs(15))
                        .json(&json!({ "channel": "sms", "phone": "13804310001", "narrative": format!("第{i}条 有人打架") }))
                        .send()
                        .await
                        .expect("every request is answered, none hangs");
                    let status = res.status();
                    *statuses.lock().expect("lock").entry(status.as_u16()).or_default() += 1;
                    if status.is_success() {
                        let v: Value = res.json().await.expect("incident");
                        acked.push(v["id"].as_i64().expect("id"));
                        break;
                    }
                    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "an outage is a 503, not a 500");
                    let body: Value = res.json().await.expect("a JSON error");
                    assert!(body["error"]["message"].is_string(), "{body}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                i += 1;
            }
            acked
        })
    };
    let health = |srv: &crate::helpers::TestServer| {
        let anon = srv.anonymous();
        async move { anon.get("/healthz").await }
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.cut();
    let start = Instant::now();
    loop {
        let (status, body) = health(&srv).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(body["status"], "unavailable", "{body}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "healthz noticed the outage");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.restore();
    let start = Instant::now();
    while health(&srv).await.0 != StatusCode::OK {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the service recovered by itself"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = statuses.lock().expect("lock").get(&201).copied().unwrap_or(0);
    let start = Instant::now();
    while statuses.lock().expect("lock").get(&201).copied().unwrap_or(0) < before + 20 {
        assert!(start.elapsed() < Duration::from_secs(30), "intakes flow again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let acked = load.await.expect("load");
    let seen = statuses.lock().expect("lock").clone();
    assert!(
        seen.get(&503).copied().unwrap_or(0) > 0,
        "the outage was seen: {seen:?}"
    );

    let (_, list) = srv.admin.get("/incidents?limit=10000").await;
    let stored: HashSet<i64> = list
        .as_array()
        .expect("incidents")
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect();
    for id in &acked {
        assert!(stored.contains(id), "acknowledged #{id} is stored");
    }
    assert_eq!(
        stored.len(),
        acked.len(),
        "no intake stored twice or without acknowledgement"
    );
}

/// The `incident.created` ids of an SSE stream, in order, until `n` are seen.
async fn created_ids(
    stream: &mut (impl futures_util::Stream<Item = Result<eventsource_stream::Event, impl std::fmt::Debug>> + Unpin),
    n: usize,
) -> Vec<i64> {
    use futures_util::StreamExt as _;
    let mut ids = Vec::new();
    while ids.len() < n {
        let ev = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("events keep coming")
            .expect("the stream stays open")
            .expect("a well-formed event");
        if ev.event == "incident.created" {
            let v: Value = serde_json::from_str(&ev.data).expect("event JSON");
            ids.push(v["incident_id"].as_i64().expect("incident id"));
        }
    }
    ids
}

/// One subscriber stops reading while calls pour in: intakes are all
/// acknowledged, another subscriber gets every event in order, and the
/// stalled one — holding no more than the bounded buffer meanwhile — gets
/// every event in order once it reads again, caught up from the log.
async fn a_stalled_subscriber_slows_no_one_and_catches_up(backend: Backend) {
    let srv = crate::helpers::spawn_server_with(backend, |c| {
        c.event_buffer = 8;
        // Behind, not gone: the long variant stalls past the default, and a
        // subscriber stalled that long is dropped (the next test).
        c.stall_timeout = Duration::from_secs(600);
    })
    .await;
    let gw = srv.user("gateway", Role::Gateway, None).await;
    // No overall request timeout: these streams live as long as the test.
    let lead = Api {
        http: reqwest::Client::new(),
        ..srv.user("lead", Role::ShiftLead, None).await
    };
    // Not polled until the end: its socket fills and the server's writer for
    // it blocks, while the broadcast moves on without it.
    let mut stalled = lead.events(None).await;
    let mut live = lead.events(None).await;
    // Long web tips (~27 KB each) fill the socket buffers (several MB on
    // Linux) well before the last one.
    let n = if long() { 2000 } else { 500 };
    let filler = "邻居家传来争吵声和摔东西的声音，".repeat(560);
    let reader = tokio::spawn(async move { created_ids(&mut live, n).await });
    let mut posted = Vec::new();
    for i in 0..n {
        let inc = gw
            .intake(json!({ "channel": "web", "web_account": "u", "narrative": format!("{i} {filler}") }))
            .await;
        posted.push(inc["id"].as_i64().expect("id"));
    }
    assert_eq!(
        reader.await.expect("live subscriber"),
        posted,
        "the live subscriber got every event in order"
    );
    assert_eq!(
        created_ids(&mut stalled, n).await,
        posted,
        "the stalled one caught up, in order, nothing lost"
    );
    assert!(
        metric(&srv.admin, "jiejing_event_stream_catchups_total").await >= 1.0,
        "the stalled subscriber fell behind the buffer and re-read the log"
    );
}

/// The value of an unlabelled metric in `/metrics`.
async fn metric(admin: &Api, name: &str) -> f64 {
    let (_, metrics) = admin.get("/metrics").await;
    metrics
        .as_str()
        .unwrap_or_default()
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} exported"))
}

/// A subscriber that takes nothing for longer than `stall_timeout` is
/// dropped by the service while the others go on; reconnecting with
/// `Last-Event-ID` it gets everything it missed, in order.
async fn a_stalled_subscriber_is_dropped_and_resumes_with_last_event_id(backend: Backend) {
    use futures_util::StreamExt as _;
    let srv = crate::helpers::spawn_server_with(backend, |c| {
        c.event_buffer = 8;
        c.stall_timeout = Duration::from_secs(1);
    })
    .await;
    let gw = srv.user("gateway", Role::Gateway, None).await;
    let lead = Api {
        http: reqwest::Client::new(),
        ..srv.user("lead", Role::ShiftLead, None).await
    };
    let mut stalled = lead.events(None).await;
    let mut live = lead.events(None).await;
    let tip = |text: String| json!({ "channel": "web", "web_account": "u", "narrative": text });
    let mut posted = vec![gw.intake(tip("先到的一条".into())).await["id"].as_i64().expect("id")];
    // Both read the first event, so the stalled one has an id to resume from.
    let mut last_id = String::new();
    while let Some(ev) = stalled.next().await {
        let ev = ev.expect("a well-formed event");
        if ev.event == "incident.created" {
            last_id = ev.id;
            break;
        }
    }
    assert_eq!(created_ids(&mut live, 1).await, posted);

    let n = 400;
    let filler = "邻居家传来争吵声和摔东西的声音，".repeat(560);
    let reader = tokio::spawn(async move {
        let ids = created_ids(&mut live, n).await;
        (ids, live)
    });
    for i in 0..n {
        posted.push(
            gw.intake(tip(format!("{i} {filler}"))).await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    let (ids, _live) = reader.await.expect("live subscriber");
    assert_eq!(ids, posted[1..], "the live subscriber got every event in order");

    // The stalled stream's socket is full and nothing is acknowledged: the
    // service drops it, and only the live stream is left.
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(&srv.admin, "jiejing_event_streams").await != 1.0 {
        assert!(Instant::now() < deadline, "the stalled subscriber was never dropped");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Reading again, it sees what reached it before the drop, then the end.
    let mut got = posted[..1].to_vec();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stalled.next()).await {
            Err(_) => panic!("a dropped stream should end, not go quiet"),
            Ok(None | Some(Err(_))) => break,
            Ok(Some(Ok(ev))) if ev.event == "incident.created" => {
                let v: Value = serde_json::from_str(&ev.data).expect("event JSON");
                got.push(v["incident_id"].as_i64().expect("incident id"));
                last_id = ev.id;
            }
            Ok(Some(Ok(_))) => {}
        }
    }
    assert!(got.len() < posted.len(), "the stream ended before the last call");
    let mut resumed = lead.events(Some(&last_id)).await;
    got.extend(created_ids(&mut resumed, posted.len() - got.len()).await);
    assert_eq!(got, posted, "with Last-Event-ID nothing is missed or repeated");
}

/// A damaged row reads as an error, not as a default: no call silently
/// dated 1970 or silently without its caller's number. The client is told
/// "internal" and nothing more; the detail goes to the log.
#[tokio::test]
async fn a_damaged_row_is_an_error_not_a_silent_default() {
    let srv = crate::helpers::spawn_server(Backend::Sqlite).await;
    let gw = srv.user("gateway", Role::Gateway, None).await;
    let lead = srv.user("lead", Role::ShiftLead, None).await;
    let call = gw
        .intake(json!({ "channel": "voice", "phone": "13804310002", "narrative": "楼道里有人吵架" }))
        .await;
    let id = call["id"].as_i64().expect("id");
    assert_eq!(lead.get(&format!("/incidents/{id}")).await.0, StatusCode::OK);

    let raw = sqlx::SqlitePool::connect(srv.db_url()).await.expect("raw database");
    for damage in [
        "UPDATE incidents SET phone = 'no-such-number' WHERE id = $1",
        "UPDATE incidents SET phone = '13804310002', received_at = 9223372036854775807 WHERE id = $1",
    ] {
        sqlx::query(damage).bind(id).execute(&raw).await.expect("damage");
        let (status, body) = lead.get(&format!("/incidents/{id}")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{damage}: {body}");
        assert_eq!(body["error"]["code"], "internal");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(
            !message.contains("no-such-number") && !message.contains("9223372036854775807"),
            "{message}"
        );
    }
}
