//! What the service benchmarks share: a signed-in HTTP client, a fresh
//! PostgreSQL schema per run, percentiles, the raw per-transaction insert
//! (the reference every intake rate is set against) and the 64-gateway
//! intake load.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiejing::server::{Config, Server, auth::HashCost};
use serde_json::{Value, json};

pub const ADMIN_PASSWORD: &str = "bench-admin-password";
pub const PASSWORD: &str = "bench-password";

/// The service's settings for a bench: cheap password hashing, an admin.
pub fn config(db_url: &str) -> Config {
    let mut config = Config::new(db_url);
    config.hash_cost = HashCost::CHEAP;
    config.admin_password = Some(ADMIN_PASSWORD.into());
    config
}

/// A service on `db_url` with a gateway and a lead account.
pub async fn start(db_url: &str) -> (Server, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = Server::start(config(db_url), listener).await.expect("service starts");
    let base = format!("http://{}", server.addr);
    let admin = Client::login(&base, "admin", ADMIN_PASSWORD).await;
    for (user, role) in [("gateway", "gateway"), ("lead", "shift_lead")] {
        admin
            .post("/users")
            .json(&json!({ "name": user, "role": role, "password": PASSWORD }))
            .send()
            .await
            .expect("create user");
    }
    (server, base)
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Client {
    pub async fn login(base: &str, name: &str, password: &str) -> Client {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("client");
        let res: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "name": name, "password": password }))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login body");
        Client {
            http,
            base: base.to_owned(),
            token: res["token"].as_str().expect("token").to_owned(),
        }
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
    }
}

/// A fresh schema on the bench database: a URL that uses it, and its name.
pub async fn pg_schema(base: &str, prefix: &str) -> (String, String) {
    let schema = format!("{prefix}_{}", hex::encode(rand::random::<[u8; 6]>()));
    let pool = sqlx::PgPool::connect(base).await.expect("connect to PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    (format!("{base}{sep}options[search_path]={schema}"), schema)
}

pub const NARRATIVES: &[&str] = &[
    "红旗街万达广场有人打架，有人受伤",
    "我手机话费充值没到账 帮我查查",
    "家里停水两天了 物业也不管",
    "长春站北口有人偷手机",
    "楼上邻居半夜一直在砸东西",
];

pub fn intake_body(n: usize) -> Value {
    json!({
        "channel": "voice",
        "phone": format!("138{:08}", n % 100_000_000),
        "location": "红旗街",
        "narrative": NARRATIVES[n % NARRATIVES.len()],
    })
}

pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One row per transaction, back to back, for `dur`: the rate.
macro_rules! raw_loop {
    ($pool:expr, $dur:expr) => {{
        const INSERT: &str = "INSERT INTO incidents (channel, phone, location_text, narrative, received_at, \
                              status, co_notify, version, updated_at) VALUES ($1, $2, $3, $4, $5, 'new', '', 1, $5)";
        let start = Instant::now();
        let mut n = 0usize;
        while start.elapsed() < $dur {
            let mut tx = $pool.begin().await.expect("begin");
            sqlx::query(INSERT)
                .bind("voice")
                .bind(format!("137{n:08}"))
                .bind("红旗街")
                .bind(NARRATIVES[n % NARRATIVES.len()])
                .bind(chrono::Utc::now().timestamp_millis())
                .execute(&mut *tx)
                .await
                .expect("insert");
            tx.commit().await.expect("commit");
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    }};
}

/// The durability limit: one row per transaction through the bare driver,
/// on a database with our schema (already made) and our durability
/// settings (SQLite WAL with `synchronous=FULL`; PostgreSQL's default).
pub async fn raw_inserts(url: &str, dur: Duration) -> f64 {
    if url.starts_with("sqlite:") {
        let opts: sqlx::sqlite::SqliteConnectOptions = url.parse().expect("url");
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                opts.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Full),
            )
            .await
            .expect("raw pool");
        raw_loop!(pool, dur)
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("raw pool");
        raw_loop!(pool, dur)
    }
}

pub struct Load {
    pub rate: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// `clients` concurrent gateways posting intakes back to back for `dur`;
/// only acknowledged (201) intakes count.
pub async fn intake_load(gw: &Arc<Client>, clients: usize, dur: Duration) -> Load {
    let run: u32 = rand::random();
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let gw = gw.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = 0usize;
                while start.elapsed() < dur {
                    let t = Instant::now();
                    let res = gw
                        .post("/intake")
                        .header("Idempotency-Key", format!("bench-{run}-{c}-{i}"))
                        .json(&intake_body(c * 1_000_000 + i))
                        .send()
                        .await
                        .expect("intake");
                    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
                    lat.push(t.elapsed());
                    i += 1;
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("client task"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort();
    Load {
        rate: lat.len() as f64 / elapsed,
        p50: pct(&lat, 50.0),
        p99: pct(&lat, 99.0),
    }
}
