//! `spawn_server()` and a small HTTP client for the tests.

use std::net::SocketAddr;
use std::time::Duration;

use jiejing::model::{Agency, Role};
use jiejing::server::{Config, Server, auth::HashCost};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const PASSWORD: &str = "password-for-tests";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed async test once per backend: `sqlite::NAME` always,
/// `postgres::NAME` against `JIEJING_TEST_PG_URL`. In CI (`CI` set) a missing
/// URL fails the PostgreSQL tests instead of skipping them.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::pg_url().is_none() {
                        return;
                    }
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            )+
        }
    };
}

/// The PostgreSQL URL for tests, if any. Panics in CI without one, so the
/// PostgreSQL half of the suite can never be skipped silently there.
pub fn pg_url() -> Option<String> {
    match std::env::var("JIEJING_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("JIEJING_TEST_PG_URL is not set in CI: the PostgreSQL tests must run")
        }
        _ => {
            eprintln!("JIEJING_TEST_PG_URL not set: skipping the PostgreSQL variant");
            None
        }
    }
}

/// A fresh, empty database for one test.
pub async fn fresh_db(backend: Backend) -> (String, Option<tempfile::TempDir>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("jiejing.db").display());
            (url, Some(dir))
        }
        Backend::Postgres => {
            let base = pg_url().expect("JIEJING_TEST_PG_URL");
            let schema = format!("t_{}", hex::encode(rand::random::<[u8; 8]>()));
            let pool = sqlx::PgPool::connect(&base)
                .await
                .expect("connect to the test PostgreSQL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&pool)
                .await
                .expect("create schema");
            pool.close().await;
            let sep = if base.contains('?') { '&' } else { '?' };
            (format!("{base}{sep}options[search_path]={schema}"), None)
        }
    }
}

pub fn test_config(db_url: &str) -> Config {
    let mut config = Config::new(db_url);
    config.hash_cost = HashCost::CHEAP;
    config.admin_password = Some(ADMIN_PASSWORD.to_owned());
    config
}

/// A running service on a random port, with a signed-in admin.
pub struct TestServer {
    server: Option<Server>,
    pub addr: SocketAddr,
    config: Config,
    pub admin: Api,
    _dir: Option<tempfile::TempDir>,
}

pub async fn spawn_server(backend: Backend) -> TestServer {
    spawn_server_with(backend, |_| {}).await
}

pub async fn spawn_server_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let (db_url, dir) = fresh_db(backend).await;
    let mut config = test_config(&db_url);
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server = Server::start(config.clone(), listener).await.expect("service starts");
    let addr = server.addr;
    let admin = Api::login(addr, "admin", ADMIN_PASSWORD).await;
    TestServer {
        server: Some(server),
        addr,
        config,
        admin,
        _dir: dir,
    }
}

impl TestServer {
    /// Stops the service and starts it again on the same database and port.
    pub async fn restart(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await.expect("clean stop");
        }
        let listener = tokio::net::TcpListener::bind(self.addr).await.expect("rebind");
        self.server = Some(Server::start(self.config.clone(), listener).await.expect("restart"));
    }

    /// Starts another instance of the service on the same database (for
    /// PostgreSQL deployments with several instances).
    pub async fn another_instance(&self) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Server::start(self.config.clone(), listener)
            .await
            .expect("second instance starts")
    }

    /// Stops the service (for tests of what clients see when it is gone).
    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await.expect("clean stop");
        }
    }

    /// Creates an account through the API and signs it in.
    pub async fn user(&self, name: &str, role: Role, agency: Option<Agency>) -> Api {
        let (status, body) = self
            .admin
            .post(
                "/users",
                json!({ "name": name, "role": role, "agency": agency, "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Api::login(self.addr, name, PASSWORD).await
    }

    /// The service's database, for tests that write history with chosen clocks.
    pub fn db_url(&self) -> &str {
        &self.config.db_url
    }

    pub fn anonymous(&self) -> Api {
        Api {
            http: reqwest::Client::new(),
            addr: self.addr,
            token: None,
        }
    }
}

/// A signed-in HTTP client of `/api/v1`.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub addr: SocketAddr,
    pub token: Option<String>,
}

impl Api {
    pub async fn login(addr: SocketAddr, name: &str, password: &str) -> Api {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let res = http
            .post(format!("http://{addr}/api/v1/auth/login"))
            .json(&json!({ "name": name, "password": password }))
            .send()
            .await
            .expect("login request");
        assert_eq!(res.status(), StatusCode::OK, "login as {name}");
        let body: Value = res.json().await.expect("login body");
        let token = body["token"].as_str().expect("token").to_owned();
        Api {
            http,
            addr,
            token: Some(token),
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/')
            && !path.starts_with("/api/v1")
            && !path.starts_with("/api/")
            && path != "/healthz"
            && path != "/metrics"
        {
            format!("http://{}/api/v1{path}", self.addr)
        } else {
            format!("http://{}{path}", self.addr)
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self.http.request(method, self.url(path));
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    pub async fn send(rb: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let res = rb.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    /// Subscribes to `/events`, resuming after `last` when given, and checks
    /// the answer is an event stream.
    pub async fn events(
        &self,
        last: Option<&str>,
    ) -> impl futures_util::Stream<
        Item = Result<eventsource_stream::Event, eventsource_stream::EventStreamError<reqwest::Error>>,
    > + Unpin
    + Send
    + 'static {
        use eventsource_stream::Eventsource as _;
        let mut rb = self.request(reqwest::Method::GET, "/events");
        if let Some(id) = last {
            rb = rb.header("Last-Event-ID", id);
        }
        let res = rb.send().await.expect("subscribe to /events");
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .is_ok_and(|c| c.starts_with("text/event-stream"))
        );
        res.bytes_stream().eventsource()
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        Self::send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        Self::send(self.request(reqwest::Method::POST, path).json(&body)).await
    }

    pub async fn post_empty(&self, path: &str) -> (StatusCode, Value) {
        Self::send(self.request(reqwest::Method::POST, path)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        Self::send(self.request(reqwest::Method::PATCH, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        Self::send(self.request(reqwest::Method::DELETE, path)).await
    }

    /// Posts an intake and asserts it was stored; returns the incident.
    pub async fn intake(&self, body: Value) -> Value {
        let (status, inc) = self.post("/intake", body).await;
        assert_eq!(status, StatusCode::CREATED, "{inc}");
        inc
    }
}

/// Asserts the JSON error shape and returns the error object.
#[track_caller]
pub fn assert_error(status: StatusCode, body: &Value, expected: StatusCode) -> Value {
    assert_eq!(status, expected, "{body}");
    let err = &body["error"];
    assert!(err["code"].is_string(), "error has a code: {body}");
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "error has a message: {body}"
    );
    err.clone()
}
