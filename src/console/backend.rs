//! Runs [`Command`]s on the tokio runtime and answers with [`Msg`]s; keeps the
//! outbox of calls logged while the service is unreachable.
//!
//! The outbox is a SQLite file: a call is written there before it is sent,
//! removed only when the service acknowledged it, and re-sent with the same
//! idempotency key after a restart — so it is never lost and never doubled.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use tokio::runtime::Handle;

use super::command::{Command, Msg, Then};
use crate::client::{ApiClient, ClientError};
use crate::model::{Incident, IncidentId, IntakeRequest};

/// How often the outbox is retried while calls wait in it.
const OUTBOX_RETRY: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Outbox {
    pool: SqlitePool,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot open the outbox {path}: {source}")]
pub struct OutboxError {
    path: String,
    source: sqlx::Error,
}

impl Outbox {
    pub async fn open(path: &Path) -> Result<Self, OutboxError> {
        let err = |source| OutboxError {
            path: path.display().to_string(),
            source,
        };
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .map_err(err)?;
        sqlx::query("CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, request TEXT NOT NULL, created_at INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .map_err(err)?;
        Ok(Outbox { pool })
    }

    async fn put(&self, key: &str, req: &IntakeRequest) -> Result<(), sqlx::Error> {
        let json = serde_json::to_string(req).unwrap_or_default();
        sqlx::query("INSERT OR IGNORE INTO outbox (key, request, created_at) VALUES ($1, $2, $3)")
            .bind(key)
            .bind(json)
            .bind(chrono::Utc::now().timestamp_millis())
            .execute(&self.pool)
            .await
            .map(drop)
    }

    async fn remove(&self, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM outbox WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    pub async fn pending(&self) -> Result<Vec<(String, IntakeRequest)>, sqlx::Error> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, request FROM outbox ORDER BY created_at")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, r)| serde_json::from_str(&r).ok().map(|r| (k, r)))
            .collect())
    }
}

/// The console's link to the service: each command becomes a task.
#[derive(Clone)]
pub struct Backend {
    pub client: ApiClient,
    rt: Handle,
    tx: Sender<Msg>,
    wake: Arc<dyn Fn() + Send + Sync>,
    outbox: Outbox,
}

impl Backend {
    pub fn new(
        client: ApiClient,
        rt: Handle,
        tx: Sender<Msg>,
        wake: Arc<dyn Fn() + Send + Sync>,
        outbox: Outbox,
    ) -> Self {
        Backend {
            client,
            rt,
            tx,
            wake,
            outbox,
        }
    }

    fn send(&self, msg: Msg) {
        self.tx.send(msg).ok();
        (self.wake)();
    }

    /// Loads the queue and units, follows the live feed, and keeps retrying
    /// the outbox.
    pub fn start(&self, cancel: tokio_util::sync::CancellationToken, role: crate::model::Role) {
        if role == crate::model::Role::Agency {
            // Agencies see only their referrals; there is no event stream for
            // them, so the inbox is re-read every few seconds.
            let me = self.clone();
            self.rt.spawn(async move {
                loop {
                    me.reload_referrals().await;
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                        _ = cancel.cancelled() => return,
                    }
                }
            });
            return;
        }
        let me = self.clone();
        self.rt.spawn(async move {
            me.reload_queue().await;
            me.refresh_units().await;
        });
        let me = self.clone();
        let _guard = self.rt.enter();
        let feed_cancel = cancel.clone();
        self.client.spawn_feed(None, feed_cancel, move |item| {
            me.send(Msg::Feed(item));
        });
        let me = self.clone();
        self.rt.spawn(async move {
            loop {
                me.flush_outbox().await;
                tokio::select! {
                    _ = tokio::time::sleep(OUTBOX_RETRY) => {}
                    _ = cancel.cancelled() => return,
                }
            }
        });
    }

    /// Reloads the queue in the background (after a `resync`).
    pub fn reload(&self) {
        let me = self.clone();
        self.rt.spawn(async move { me.reload_queue().await });
    }

    pub async fn reload_queue(&self) {
        match self.client.queue().await {
            Ok(q) => self.send(Msg::Queue(q)),
            Err(e) => self.send(Msg::Failed(e.to_string())),
        }
    }

    async fn reload_referrals(&self) {
        match self.client.referrals().await {
            Ok(r) => self.send(Msg::Referrals(r)),
            Err(e) => self.send(Msg::Failed(e.to_string())),
        }
    }

    async fn refresh_units(&self) {
        if let Ok(u) = self.client.units().await {
            self.send(Msg::Units(u));
        }
    }

    /// Sends what waits in the outbox; keeps what the service cannot take yet.
    pub async fn flush_outbox(&self) {
        let pending = match self.outbox.pending().await {
            Ok(p) => p,
            Err(e) => {
                self.send(Msg::Failed(format!("outbox: {e}")));
                return;
            }
        };
        let mut left = pending.len();
        for (key, req) in pending {
            match self.client.intake(&req, &key).await {
                Ok(_) => {
                    self.outbox.remove(&key).await.ok();
                    left -= 1;
                }
                Err(e) if e.is_retryable() => break,
                Err(e) => {
                    // The service refused it for good: tell the operator what
                    // was wrong rather than retrying forever.
                    self.outbox.remove(&key).await.ok();
                    left -= 1;
                    self.send(Msg::Failed(format!(
                        "{}: {e}",
                        req.narrative.chars().take(20).collect::<String>()
                    )));
                }
            }
        }
        self.send(Msg::Outbox { pending: left });
    }

    pub fn apply(&self, cmd: Command) {
        let me = self.clone();
        self.rt.spawn(async move { me.run(cmd).await });
    }

    async fn act(
        &self,
        id: IncidentId,
        then: &Then,
    ) -> Result<(&'static str, Incident, Option<crate::model::Referral>), ClientError> {
        let c = &self.client;
        Ok(match then {
            Then::Dispatch { unit_id, co_notify } => ("dispatched", c.dispatch(id, *unit_id, co_notify).await?, None),
            Then::Refer(agency) => {
                let (i, r) = c.refer(id, *agency).await?;
                ("referred", i, Some(r))
            }
            Then::Close(reason, note) => ("closed", c.close(id, *reason, note.as_deref()).await?, None),
            Then::Link(of) => ("linked", c.link_duplicate(id, *of).await?, None),
        })
    }

    async fn run(&self, cmd: Command) {
        let c = &self.client;
        let done = |what, r: Result<Incident, ClientError>| match r {
            Ok(i) => Msg::Done {
                what,
                incident: Box::new(i),
                referral: None,
            },
            Err(e) => Msg::Failed(e.to_string()),
        };
        match cmd {
            Command::Claim(id) => self.send(done("claimed", c.claim(id).await)),
            Command::Release(id) => self.send(done("released", c.release(id).await)),
            Command::Update { id, patch } => self.send(done("saved", c.update(id, &patch).await)),
            Command::Act { id, then } => match self.act(id, &then).await {
                Ok((what, i, referral)) => self.send(Msg::Done {
                    what,
                    incident: Box::new(i),
                    referral,
                }),
                Err(e) => self.send(Msg::Failed(e.to_string())),
            },
            Command::SubmitNew { request, key, then } => {
                // On disk first: from here on the call survives a crash.
                if let Err(e) = self.outbox.put(&key, &request).await {
                    self.send(Msg::Failed(format!("outbox: {e}")));
                    return;
                }
                match c.intake(&request, &key).await {
                    Ok(intake) => {
                        self.outbox.remove(&key).await.ok();
                        let id = intake.incident.id;
                        self.send(Msg::Done {
                            what: "saved",
                            incident: Box::new(intake.incident),
                            referral: None,
                        });
                        if let Some(then) = then {
                            match self.act(id, &then).await {
                                Ok((what, i, referral)) => self.send(Msg::Done {
                                    what,
                                    incident: Box::new(i),
                                    referral,
                                }),
                                Err(e) => self.send(Msg::Failed(e.to_string())),
                            }
                        }
                    }
                    Err(e) if e.is_retryable() => {
                        self.send(Msg::Queued);
                        let pending = self.outbox.pending().await.map(|p| p.len()).unwrap_or(1);
                        self.send(Msg::Outbox { pending });
                    }
                    Err(e) => {
                        self.outbox.remove(&key).await.ok();
                        self.send(Msg::Failed(e.to_string()));
                    }
                }
            }
            Command::LoadContext { id, phone } => {
                if let Some(p) = phone
                    && let Ok(h) = c.caller_history(&p).await
                {
                    self.send(Msg::History(p, Box::new(h)));
                }
                let units = c.recommended_units(id).await;
                let dups = c.duplicates(id).await;
                if let (Ok(units), Ok(duplicates)) = (units, dups) {
                    self.send(Msg::Context {
                        id,
                        units: Box::new(units),
                        duplicates,
                    });
                }
            }
            Command::History(phone) => {
                if let Ok(h) = c.caller_history(&phone).await {
                    self.send(Msg::History(phone, Box::new(h)));
                }
            }
            Command::SetUnitStatus(id, status) => match c.set_unit_status(id, status).await {
                Ok(_) => self.refresh_units().await,
                Err(e) => self.send(Msg::Failed(e.to_string())),
            },
            Command::RefreshUnits => self.refresh_units().await,
            Command::ReferralStep(id, step) => match c.referral_step(id, &step).await {
                Ok(_) => self.reload_referrals().await,
                Err(e) => self.send(Msg::Failed(e.to_string())),
            },
        }
    }
}
