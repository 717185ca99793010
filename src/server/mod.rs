//! The incident service: the REST API, the live event stream, auth and
//! metrics, composed in [`app`].
//!
//! Owns: HTTP, roles, mapping errors to status codes, waking the event hub
//! after each committed change. Must not touch: SQL (that is `store`) or
//! lifecycle rules (that is `model`).

pub mod auth;
mod error;
mod events;
mod followups;
mod incidents;
mod lead;
mod metrics;
mod openapi;
mod queue;
mod resources;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt as _;
use axum::{Json, Router};
use chrono::Utc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use crate::api::{DuplicateCandidate, Recommendation};
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use events::EventHub;

use crate::model::Role;
use crate::model::gazetteer::Gazetteer;
use crate::store::{self, Policy, SqlStore, Store, StoreError};
use auth::HashCost;

/// Service settings; `serve` fills them from flags and `JIEJING_*` variables.
/// Its `Debug` hides the secrets (the database password, the admin password).
#[derive(Clone)]
pub struct Config {
    pub db_url: String,
    /// This centre's agency identifier in exchanged incidents (NENA EIDO):
    /// a domain the centre owns, e.g. "110.jl.gov.cn".
    pub centre_id: String,
    /// How long a sign-in lasts: a twelve-hour shift plus handover.
    pub token_ttl: chrono::Duration,
    pub policy: Policy,
    pub hash_cost: HashCost,
    pub max_body_bytes: usize,
    /// Creates an `admin` account with this password when there are no users.
    pub admin_password: Option<String>,
    /// A centre's own triage rule file instead of the built-in one; re-read
    /// by `POST /api/v1/triage/reload`.
    pub triage_rules: Option<std::path::PathBuf>,
    /// Retrain triage at start (and on reload) from the shipped corpus plus
    /// the labels this centre's operators confirmed in the last year.
    pub triage_learn: bool,
    /// The program embedding the service creates its own accounts (the
    /// demo): no first-start hint about creating an admin.
    pub creates_own_accounts: bool,
    /// An event-stream subscriber further behind than this many events is
    /// told to `resync` (reload its view) instead of replaying them all.
    pub max_replay: i64,
    /// Live events buffered in memory per instance; a subscriber that falls
    /// further behind catches up from the log instead.
    pub event_buffer: usize,
    /// A connection whose peer has taken none of what was sent to it for
    /// this long is dropped (Linux `TCP_USER_TIMEOUT`): a stalled event
    /// subscriber, or a console whose network vanished. Such a console
    /// reconnects with `Last-Event-ID`. Without it a stalled stream would
    /// hold its connection for the kernel's retransmission limit (about
    /// 15 minutes) or forever, and hold up a graceful shutdown meanwhile.
    pub stall_timeout: Duration,
    /// A comment sent on every idle event stream this often, so a client
    /// can tell a quiet centre from a dead connection
    /// (`client::FEED_SILENCE` is three of these).
    pub keep_alive: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("db_url", &store::redact_url(&self.db_url))
            .field("token_ttl", &self.token_ttl)
            .field("policy", &self.policy)
            .field("hash_cost", &self.hash_cost)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("admin_password", &self.admin_password.as_ref().map(|_| "<redacted>"))
            .field("triage_rules", &self.triage_rules)
            .field("triage_learn", &self.triage_learn)
            .field("creates_own_accounts", &self.creates_own_accounts)
            .field("max_replay", &self.max_replay)
            .field("event_buffer", &self.event_buffer)
            .field("stall_timeout", &self.stall_timeout)
            .field("keep_alive", &self.keep_alive)
            .finish()
    }
}

impl Config {
    pub fn new(db_url: impl Into<String>) -> Self {
        Config {
            db_url: db_url.into(),
            centre_id: "110.jiejing.local".to_owned(),
            token_ttl: chrono::Duration::hours(13),
            policy: Policy::default(),
            hash_cost: HashCost::default(),
            max_body_bytes: 256 * 1024,
            admin_password: None,
            triage_rules: None,
            triage_learn: false,
            creates_own_accounts: false,
            max_replay: 10_000,
            event_buffer: 1024,
            stall_timeout: Duration::from_secs(60),
            keep_alive: Duration::from_secs(15),
        }
    }
}

#[cfg(target_os = "linux")]
fn drop_when_stalled(tcp: &mut tokio::net::TcpStream, after: Duration) {
    if let Err(e) = socket2::SockRef::from(&*tcp).set_tcp_user_timeout(Some(after)) {
        tracing::warn!("cannot limit how long a stalled connection is kept: {e}");
    }
}

/// Elsewhere the system's retransmission limit ends a stalled connection.
#[cfg(not(target_os = "linux"))]
fn drop_when_stalled(_: &mut tokio::net::TcpStream, _: Duration) {}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub hub: Arc<EventHub>,
    pub gazetteer: Arc<Gazetteer>,
    pub config: Arc<Config>,
    pub metrics: Arc<metrics::Metrics>,
    pub queue: Arc<queue::QueueView>,
    /// Verified against when a user name is unknown, so sign-in timing does
    /// not tell which names exist.
    dummy_hash: Arc<str>,
    throttle: Arc<auth::LoginThrottle>,
    /// Cancelled at shutdown: open event streams end on it.
    pub shutdown: CancellationToken,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    /// A task run off the async threads (password hashing, triage training)
    /// panicked or was cancelled.
    #[error("a background task failed ({what}): {source}")]
    Task {
        what: &'static str,
        source: tokio::task::JoinError,
    },
    #[error(transparent)]
    Hash(#[from] auth::HashError),
    #[error("cannot load the triage rules: {0}")]
    Rules(#[from] crate::triage::RulesError),
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "jiejing incident service", description = "The REST API behind every 110 console."),
    modifiers(&SecurityAddon),
    tags((name = "intake"), (name = "incidents"), (name = "referrals"), (name = "followups"), (name = "units"), (name = "callers"), (name = "auth"), (name = "users"), (name = "events"), (name = "oversight"), (name = "ops"))
)]
struct ApiDoc;

struct SecurityAddon;
impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API routes and their OpenAPI description, under `/api/v1`.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::create_user, auth::list_users))
        .routes(routes!(auth::signed_in_users))
        .routes(routes!(incidents::intake))
        .routes(routes!(incidents::queue))
        .routes(routes!(incidents::map))
        .routes(routes!(incidents::eido))
        .routes(routes!(incidents::intake_eido))
        .routes(routes!(incidents::list))
        .routes(routes!(incidents::get_incident, incidents::update))
        .routes(routes!(incidents::claim))
        .routes(routes!(incidents::release))
        .routes(routes!(incidents::dispatch))
        .routes(routes!(incidents::acknowledge))
        .routes(routes!(incidents::warning_read))
        .routes(routes!(incidents::on_scene))
        .routes(routes!(incidents::resolve_incident))
        .routes(routes!(incidents::refer))
        .routes(routes!(incidents::close))
        .routes(routes!(incidents::link_duplicate))
        .routes(routes!(incidents::unlink_duplicate))
        .routes(routes!(incidents::supplements, incidents::add_supplement))
        .routes(routes!(incidents::duplicates))
        .routes(routes!(incidents::recommended_units))
        .routes(routes!(incidents::incident_events))
        .routes(routes!(resources::units))
        .routes(routes!(resources::set_unit_status))
        .routes(routes!(resources::set_unit_position))
        .routes(routes!(resources::agencies))
        .routes(routes!(resources::referrals))
        .routes(routes!(resources::accept_referral))
        .routes(routes!(resources::referral_feedback))
        .routes(routes!(resources::close_referral))
        .routes(routes!(resources::return_referral))
        .routes(routes!(resources::review_referral))
        .routes(routes!(resources::three_way))
        .routes(routes!(followups::followups))
        .routes(routes!(followups::record_followup))
        .routes(routes!(followups::rectifications))
        .routes(routes!(followups::close_rectification))
        .routes(routes!(resources::callbacks))
        .routes(routes!(resources::close_callback))
        .routes(routes!(resources::caller_history))
        .routes(routes!(resources::add_flag))
        .routes(routes!(resources::remove_flag))
        .routes(routes!(resources::audit))
        .routes(routes!(resources::reload_triage))
        .routes(routes!(events::events))
        .routes(routes!(lead::reassign))
        .routes(routes!(lead::reprioritise))
        .routes(routes!(lead::shift_stats))
        .routes(routes!(lead::qa_calls))
        .routes(routes!(lead::review_call))
        .routes(routes!(lead::qa_operators))
        .routes(routes!(lead::alerts))
        .routes(routes!(lead::nuisance))
        .routes(routes!(lead::dossier))
}

/// The whole service as a router.
pub fn app(state: AppState) -> Router {
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api())
        .split_for_parts();
    doc.merge(ApiDoc::openapi());
    openapi::complete(&mut doc);
    let doc = Arc::new(doc);
    let max_body = state.config.max_body_bytes;
    api.route(
        "/api/openapi.json",
        get(move |_auth: auth::Auth| {
            let doc = doc.clone();
            async move { Json((*doc).clone()) }
        }),
    )
    .route("/healthz", get(healthz))
    .route("/metrics", get(metrics::metrics))
    .fallback(|| async { ApiError::not_found("no such endpoint; see /api/openapi.json") })
    .method_not_allowed_fallback(|| async {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this endpoint does not take that method",
        )
    })
    .layer(axum::extract::DefaultBodyLimit::max(max_body))
    .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
    .layer(tower_http::catch_panic::CatchPanicLayer::custom(
        |panic: Box<dyn std::any::Any + Send>| {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            ApiError::internal("a request handler panicked", detail).into_response()
        },
    ))
    .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let checked = tokio::time::timeout(Duration::from_secs(3), state.store.health()).await;
    match checked {
        Ok(Ok(())) => (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))),
        Ok(Err(e)) => {
            // The detail (which may name hosts) goes to the log, not to
            // whoever polls an unauthenticated probe.
            tracing::warn!("health check failed: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable", "reason": "the database is unreachable" })),
            )
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "unavailable", "reason": "database did not answer in 3 s" })),
        ),
    }
}

/// A running service: its address, and the handle to stop it.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Opens the database, seeds the gazetteer's units, and serves on `listener`.
    pub async fn start(config: Config, listener: TcpListener) -> Result<Server, ServerError> {
        let store = store::open(&config.db_url, config.policy).await?;
        let gazetteer = Gazetteer::builtin();
        let now = Utc::now();
        let seeded = store.seed_units(&gazetteer.unit_seeds(), now).await?;
        if seeded > 0 {
            tracing::info!(units = seeded, "created the gazetteer's units");
        }
        ensure_admin(&store, &config).await?;
        load_triage(&config, &store).await?;
        let pg_pool = store.pg_pool().cloned();
        let store: Arc<dyn Store> = Arc::new(store);
        let shutdown = CancellationToken::new();
        let hub = Arc::new(EventHub::new(config.event_buffer));
        hub.clone().spawn_pump(store.clone(), shutdown.clone()).await?;
        if let Some(pool) = pg_pool {
            events::spawn_pg_listener(pool, hub.clone(), shutdown.clone());
        }
        let dummy_hash: Arc<str> = hash_in_background(rand_password(), config.hash_cost).await?.into();
        let state = AppState {
            store,
            hub,
            gazetteer: Arc::new(gazetteer),
            config: Arc::new(config),
            metrics: Arc::new(metrics::Metrics::new()),
            queue: Arc::default(),
            dummy_hash,
            throttle: Arc::default(),
            shutdown: shutdown.clone(),
        };
        let addr = listener.local_addr()?;
        let stall = state.config.stall_timeout;
        let listener = listener.tap_io(move |tcp| drop_when_stalled(tcp, stall));
        let router = app(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
        });
        tracing::info!(%addr, db = %store::redact_url(&state.config.db_url), "incident service listening");
        // Deadlines reach into the next year from December on.
        let today = chrono::Utc::now().date_naive();
        let calendar = crate::model::calendar::Calendar::shared();
        let year = chrono::Datelike::year(&today);
        let years = if chrono::Datelike::month(&today) == 12 {
            year..=year + 1
        } else {
            year..=year
        };
        for year in years.filter(|y| !calendar.knows(*y)) {
            tracing::warn!(
                "assets/calendar/cn-holidays.toml has no public holidays for {year}: \
                 deadlines in working days falling in it skip weekends only until it is updated"
            );
        }
        Ok(Server { addr, state, task })
    }

    /// Base URL of the API, e.g. `http://127.0.0.1:8110/api/v1`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// Stops accepting requests, ends event streams, and waits for in-flight
    /// requests to finish.
    pub async fn stop(self) -> std::io::Result<()> {
        self.state.shutdown.cancel();
        self.task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }

    /// Runs until the shutdown token is cancelled.
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Installs the configured triage engine: the built-in one, or one trained
/// with a centre's rule file and, with `triage_learn`, its operators'
/// confirmed labels. Training runs off the async threads.
pub async fn load_triage(config: &Config, store: &dyn Store) -> Result<usize, ServerError> {
    let confirmed = if config.triage_learn {
        // The most recent calls of the last year, at most this many: enough
        // to learn a centre's own words, and a start-up measured in seconds.
        const MAX_CONFIRMED: i64 = 50_000;
        let since = Utc::now() - chrono::Duration::days(365);
        let incidents = store
            .incidents(&crate::store::IncidentFilter {
                since: Some(since),
                limit: MAX_CONFIRMED,
                ..Default::default()
            })
            .await?;
        incidents
            .iter()
            .filter_map(crate::triage::learn::ConfirmedLabel::from_incident)
            .map(|c| c.label)
            .collect()
    } else {
        Vec::new()
    };
    let rules = config.triage_rules.clone();
    // Training takes a second or more: never on an async worker, and the
    // engine is installed there too (a first use builds the built-in one).
    let phrases = tokio::task::spawn_blocking(move || -> Result<_, ServerError> {
        let started = std::time::Instant::now();
        let engine = crate::triage::Engine::for_centre(rules.as_deref(), confirmed)?;
        tracing::info!(ms = started.elapsed().as_millis(), "triage engine loaded");
        let phrases = engine.rules().phrases.len();
        crate::triage::install(engine);
        Ok(phrases)
    })
    .await
    .map_err(|source| ServerError::Task {
        what: "training triage",
        source,
    })??;
    Ok(phrases)
}

fn rand_password() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

async fn hash_in_background(password: String, cost: HashCost) -> Result<String, ServerError> {
    tokio::task::spawn_blocking(move || auth::hash_password(&password, cost))
        .await
        .map_err(|source| ServerError::Task {
            what: "hashing a password",
            source,
        })?
        .map_err(ServerError::from)
}

async fn ensure_admin(store: &SqlStore, config: &Config) -> Result<(), ServerError> {
    if store.user_count().await? > 0 {
        return Ok(());
    }
    match &config.admin_password {
        Some(pw) if pw.chars().count() >= auth::MIN_PASSWORD_CHARS => {
            let hash = hash_in_background(pw.clone(), config.hash_cost).await?;
            store
                .create_user(None, "admin", Role::Admin, None, &hash, Utc::now())
                .await?;
            tracing::info!("created the first account \"admin\" from JIEJING_ADMIN_PASSWORD");
        }
        Some(_) => tracing::warn!(
            "JIEJING_ADMIN_PASSWORD is shorter than {} characters; no admin was created",
            auth::MIN_PASSWORD_CHARS
        ),
        None if config.creates_own_accounts => {}
        None => tracing::warn!(
            "the database has no accounts yet. Create the first admin with:\n    \
             jiejing user add --db {} --name admin --role admin\n\
             or start the service with JIEJING_ADMIN_PASSWORD set",
            config.db_url
        ),
    }
    Ok(())
}

/// `Path` whose rejection is a JSON [`ApiError`].
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            // "/incidents/abc" names no record, as "/incidents/999999" does
            // not: both are 404, so a client that follows a null id from a
            // response gets the same answer as for a deleted one.
            .map_err(|e| ApiError::not_found(format!("no such record: {}", e.body_text())))
    }
}

/// A caller number from the path. One that cannot be a number names no
/// caller: 404, as an id that cannot be one is, with the reason and field.
pub fn path_phone(raw: &str) -> Result<crate::model::CallerPhone, ApiError> {
    crate::model::CallerPhone::parse(raw).map_err(|e| ApiError {
        field: Some("phone".to_owned()),
        ..ApiError::not_found(format!("no such caller: {e}"))
    })
}

/// `Query` whose rejection is a JSON [`ApiError`].
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.query().is_some_and(|q| q.contains("%00")) {
            return Err(ApiError::invalid("query", error::NUL_MESSAGE));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::invalid("query", e.body_text()))
    }
}
