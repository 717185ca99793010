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

use super::command::{Command, Done, ExportJob, Failure, Msg, Then};
use super::export::{self, Picked, SaveTarget};
use super::i18n::Lang;
use crate::client::{ApiClient, ClientError};
use crate::model::stats::AlertQuery;
use crate::model::{Incident, IncidentId, IntakeRequest, Role};

/// How often a shift lead's alerts are re-read.
const ALERT_POLL: Duration = Duration::from_secs(10);
/// Incidents fetched per request when exporting a range.
const EXPORT_PAGE: i64 = 10_000;

/// How often the outbox is retried while calls wait in it.
const OUTBOX_RETRY: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Outbox {
    pool: SqlitePool,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("cannot open the outbox {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("the outbox file cannot be read or written: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the call cannot be written to the outbox: {0}")]
    Encode(#[from] serde_json::Error),
}

/// What waits in the outbox, and what was set aside since the last look.
pub struct Pending {
    pub calls: Vec<(String, IntakeRequest)>,
    /// Rows this console version cannot read (written by another version,
    /// or damaged): moved to `outbox_kept`, never sent, never deleted.
    pub unreadable: usize,
}

impl Outbox {
    pub async fn open(path: &Path) -> Result<Self, OutboxError> {
        let err = |source| OutboxError::Open {
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
        // `outbox_kept` holds what cannot be sent: rows this version cannot
        // read and calls the service refused for good. A person can still
        // read them there (`sqlite3 outbox.db 'SELECT * FROM outbox_kept'`):
        // an acknowledged call is never deleted unsent.
        for ddl in [
            "CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, request TEXT NOT NULL, created_at INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS outbox_kept (key TEXT PRIMARY KEY, request TEXT NOT NULL, \
             created_at INTEGER NOT NULL, kept_at INTEGER NOT NULL, reason TEXT NOT NULL)",
        ] {
            sqlx::query(ddl).execute(&pool).await.map_err(err)?;
        }
        Ok(Outbox { pool })
    }

    async fn put(&self, key: &str, req: &IntakeRequest) -> Result<(), OutboxError> {
        let json = serde_json::to_string(req)?;
        sqlx::query("INSERT OR IGNORE INTO outbox (key, request, created_at) VALUES ($1, $2, $3)")
            .bind(key)
            .bind(json)
            .bind(chrono::Utc::now().timestamp_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn remove(&self, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM outbox WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// Moves a call out of the sending queue into `outbox_kept`, with why.
    async fn keep_aside(&self, key: &str, reason: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT OR REPLACE INTO outbox_kept (key, request, created_at, kept_at, reason) \
             SELECT key, request, created_at, $2, $3 FROM outbox WHERE key = $1",
        )
        .bind(key)
        .bind(chrono::Utc::now().timestamp_millis())
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM outbox WHERE key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// The calls waiting to be sent, oldest first. A row that does not
    /// decode is set aside (and counted), not skipped in silence: skipped, it
    /// would sit unseen for ever; deleted, a call would be lost.
    pub async fn pending(&self) -> Result<Pending, OutboxError> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, request FROM outbox ORDER BY created_at")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Pending {
            calls: Vec::with_capacity(rows.len()),
            unreadable: 0,
        };
        for (key, raw) in rows {
            match serde_json::from_str(&raw) {
                Ok(req) => out.calls.push((key, req)),
                Err(e) => {
                    tracing::error!(key, "an outbox row cannot be read and is kept aside: {e}");
                    self.keep_aside(&key, &format!("unreadable: {e}")).await?;
                    out.unreadable += 1;
                }
            }
        }
        Ok(out)
    }

    /// How many calls were set aside (unreadable or refused) in all.
    pub async fn kept(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox_kept")
            .fetch_one(&self.pool)
            .await
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
    save: SaveTarget,
    /// This console's writes to calls, one at a time, with the version each
    /// call had after the last of them: an edit built before an earlier
    /// save of the same operator came back goes on top of that save rather
    /// than failing as stale (a colleague's change in between still does).
    writes: Arc<tokio::sync::Mutex<std::collections::HashMap<IncidentId, i64>>>,
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
            save: SaveTarget::detect(),
            writes: Default::default(),
        }
    }

    /// Exports go to `dir` without asking (tests; a kiosk set-up).
    pub fn export_to(&mut self, dir: std::path::PathBuf) {
        self.save = SaveTarget::Dir(dir);
    }

    /// As on a desktop that cannot show a dialog: exports fall back to `dir`.
    pub fn export_without_dialog(&mut self, dir: std::path::PathBuf) {
        self.save = SaveTarget::NoDialog { fallback: dir };
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
        if Role::LEADS.contains(&role) {
            self.watch_alerts(cancel.clone());
        }
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

    /// Re-reads the alerts every few seconds; answers only when they changed,
    /// so an idle console is not woken for nothing.
    fn watch_alerts(&self, cancel: tokio_util::sync::CancellationToken) {
        let me = self.clone();
        self.rt.spawn(async move {
            if let Ok(u) = me.client.users().await {
                me.send(Msg::Users(u));
            }
            let mut last = None;
            let mut last_signed_in = None;
            loop {
                if let Ok(ids) = me.client.signed_in_users().await
                    && last_signed_in.as_ref() != Some(&ids)
                {
                    last_signed_in = Some(ids.clone());
                    // An account created since start-up shows up here first.
                    if let Ok(u) = me.client.users().await {
                        me.send(Msg::Users(u));
                    }
                    me.send(Msg::SignedIn(ids));
                }
                match me.client.alerts(&AlertQuery::default()).await {
                    Ok(a) => {
                        // Wait times grow by themselves; what matters is which alerts there are.
                        let key = (
                            a.waves.iter().map(|w| (w.phone.clone(), w.calls)).collect::<Vec<_>>(),
                            a.long_waits.iter().map(|w| w.incident_id).collect::<Vec<_>>(),
                            a.stale_holds.iter().map(|h| h.incident_id).collect::<Vec<_>>(),
                        );
                        if last.as_ref() != Some(&key) {
                            last = Some(key);
                            me.send(Msg::Alerts(a));
                        }
                    }
                    Err(e) => tracing::debug!("alerts: {e}"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(ALERT_POLL) => {}
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
            Err(e) => self.send(Msg::Failed(Failure::Service(e))),
        }
    }

    async fn reload_referrals(&self) {
        match self.client.referrals().await {
            Ok(r) => self.send(Msg::Referrals(r)),
            Err(e) => self.send(Msg::Failed(Failure::Service(e))),
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
                self.send(Msg::Failed(Failure::Disk(format!("outbox: {e}"))));
                return;
            }
        };
        if pending.unreadable > 0 {
            self.send(Msg::Failed(Failure::OutboxUnreadable(pending.unreadable)));
        }
        let mut left = pending.calls.len();
        for (key, req) in pending.calls {
            match self.client.intake(&req, &key).await {
                Ok(intake) => {
                    self.outbox.remove(&key).await.ok();
                    left -= 1;
                    // Into the live queue at once (held by this operator, so
                    // no queue event reaches it otherwise), and the "kept in
                    // the outbox" warning gives way.
                    self.send(Msg::Done {
                        what: Done::SentFromOutbox,
                        incident: Box::new(intake.incident),
                        referral: None,
                    });
                }
                Err(e) if e.is_retryable() => break,
                Err(e) => {
                    // The service refused it for good: tell the operator what
                    // was wrong rather than retrying forever, and keep the
                    // call on disk where a person can still read it.
                    if let Err(disk) = self.outbox.keep_aside(&key, &format!("refused: {e}")).await {
                        self.send(Msg::Failed(Failure::Disk(format!("outbox: {disk}"))));
                        break;
                    }
                    left -= 1;
                    self.send(Msg::Failed(Failure::Refused {
                        first_words: req.narrative.chars().take(20).collect(),
                        error: e,
                    }));
                }
            }
        }
        self.send(Msg::Outbox { pending: left });
    }

    /// Runs one write to a call after this console's earlier ones, given
    /// the version the last of them left, and remembers the new one.
    async fn in_turn<F>(&self, id: IncidentId, write: impl FnOnce(Option<i64>) -> F) -> Result<Incident, ClientError>
    where
        F: std::future::Future<Output = Result<Incident, ClientError>>,
    {
        let mut written = self.writes.lock().await;
        let after = write(written.get(&id).copied()).await?;
        written.insert(id, after.version);
        Ok(after)
    }

    /// Saves an edit on top of this console's earlier writes to the call.
    async fn write(&self, id: IncidentId, patch: &crate::model::IncidentPatch) -> Result<Incident, ClientError> {
        self.in_turn(id, |last| {
            let mut patch = patch.clone();
            patch.version = patch.version.max(last.unwrap_or(0));
            async move { self.client.update(id, &patch).await }
        })
        .await
    }

    pub fn apply(&self, cmd: Command, lang: Lang) {
        let me = self.clone();
        self.rt.spawn(async move { me.run(cmd, lang).await });
    }

    async fn act(
        &self,
        id: IncidentId,
        then: &Then,
        edits: Option<&crate::model::IncidentPatch>,
    ) -> Result<(Done, Incident, Option<crate::model::Referral>), ClientError> {
        let c = &self.client;
        // A refused edit (a stale version, a colleague's change) stops the
        // action: the operator sees why rather than acting on a call
        // other than the one on their form.
        if let Some(patch) = edits {
            self.write(id, patch).await?;
        }
        Ok(match then {
            Then::Dispatch { unit_id, co_notify } => {
                (Done::Dispatched, c.dispatch(id, *unit_id, co_notify).await?, None)
            }
            Then::Refer(agency) => {
                let (i, r) = c.refer(id, *agency).await?;
                (Done::Referred, i, Some(r))
            }
            Then::Close(reason, note) => (Done::Closed, c.close(id, *reason, note.as_deref()).await?, None),
            Then::Link(of) => (Done::Linked, c.link_duplicate(id, *of).await?, None),
            Then::Unlink => (Done::Unlinked, c.unlink_duplicate(id).await?, None),
        })
    }

    async fn run(&self, cmd: Command, lang: Lang) {
        let c = &self.client;
        let done = |what, r: Result<Incident, ClientError>| match r {
            Ok(i) => Msg::Done {
                what,
                incident: Box::new(i),
                referral: None,
            },
            Err(e) => Msg::Failed(Failure::Service(e)),
        };
        match cmd {
            Command::Claim(id) => match c.claim(id).await {
                Err(ClientError::Api { status: 409, .. }) => {
                    // A colleague was quicker (the row had not caught up
                    // yet): say who has it, in the operator's language.
                    let name = c
                        .incident(id)
                        .await
                        .ok()
                        .and_then(|i| i.holder.or(i.handled_by))
                        .map_or_else(String::new, |u| u.name);
                    self.send(Msg::Failed(Failure::TakenBy { id, name }));
                }
                r => self.send(done(Done::Claimed, r)),
            },
            Command::Resume(id) => self.send(done(Done::Resumed, c.incident(id).await)),
            Command::Release(id) => self.send(done(Done::Released, c.release(id).await)),
            Command::Update { id, patch } => self.send(done(Done::Saved, self.write(id, &patch).await)),
            Command::Acknowledge(id) => {
                self.send(done(Done::Acknowledged, c.acknowledge(id).await));
                self.refresh_units().await;
            }
            Command::ReadWarning(id) => {
                let r = self.in_turn(id, |_| c.warning_read(id)).await;
                self.send(done(Done::WarningRead, r));
            }
            Command::Act { id, then, edits } => match self.act(id, &then, edits.as_deref()).await {
                Ok((what, i, referral)) => self.send(Msg::Done {
                    what,
                    incident: Box::new(i),
                    referral,
                }),
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::SubmitNew { request, key, then } => {
                // On disk first: from here on the call survives a crash.
                if let Err(e) = self.outbox.put(&key, &request).await {
                    self.send(Msg::Failed(Failure::Disk(format!("outbox: {e}"))));
                    return;
                }
                match c.intake(&request, &key).await {
                    Ok(intake) => {
                        self.outbox.remove(&key).await.ok();
                        let id = intake.incident.id;
                        self.send(Msg::Done {
                            what: Done::Saved,
                            incident: Box::new(intake.incident),
                            referral: None,
                        });
                        if let Some(then) = then {
                            match self.act(id, &then, None).await {
                                Ok((what, i, referral)) => self.send(Msg::Done {
                                    what,
                                    incident: Box::new(i),
                                    referral,
                                }),
                                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
                            }
                        }
                    }
                    Err(e) if e.is_retryable() => {
                        self.send(Msg::Queued);
                        let pending = self.outbox.pending().await.map(|p| p.calls.len()).unwrap_or(1);
                        self.send(Msg::Outbox { pending });
                    }
                    Err(e) => {
                        self.outbox.remove(&key).await.ok();
                        self.send(Msg::Failed(Failure::Service(e)));
                    }
                }
            }
            Command::LoadContext { id, phone } => {
                if let Some(p) = phone
                    && let Ok(h) = c.caller_history(&p).await
                {
                    self.send(Msg::History(p, Box::new(h)));
                }
                if let Ok(s) = c.supplements(id).await {
                    self.send(Msg::Supplements(id, s));
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
            Command::Supplement { id, text } => match c.add_supplement(id, &text).await {
                Ok(s) => self.send(Msg::Supplements(id, vec![s])),
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::History(phone) => {
                if let Ok(h) = c.caller_history(&phone).await {
                    self.send(Msg::History(phone, Box::new(h)));
                }
            }
            Command::SetUnitStatus(id, status) => match c.set_unit_status(id, status).await {
                Ok(_) => self.refresh_units().await,
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::RefreshUnits => self.refresh_units().await,
            Command::ReferralStep(id, step) => match c.referral_step(id, &step).await {
                Ok(_) => self.reload_referrals().await,
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::Reassign { id, to, reason } => {
                self.send(done(Done::Reassigned, c.reassign(id, to, &reason).await));
                self.send(Msg::LeadChanged);
            }
            Command::LoadFollowups => match c.followups(crate::model::FollowupChannel::Phone).await {
                Ok(f) => self.send(Msg::Followups(f)),
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::RecordFollowup { id, outcome, reason } => {
                match c.record_followup(id, outcome, reason.as_deref()).await {
                    Ok(_) => {
                        if let Ok(f) = c.followups(crate::model::FollowupChannel::Phone).await {
                            self.send(Msg::Followups(f));
                        }
                    }
                    Err(e) => self.send(Msg::Failed(Failure::Service(e))),
                }
            }
            Command::ReviewCall {
                id,
                score,
                note,
                from,
                to,
            } => match c.review_call(id, score, &note).await {
                Ok(_) => {
                    if let Ok(q) = c.qa_calls(from, to).await {
                        self.send(Msg::Qa(q));
                    }
                }
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::LoadQa { from, to } => match c.qa_calls(from, to).await {
                Ok(q) => self.send(Msg::Qa(q)),
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::LoadRectifications => match c.rectifications().await {
                Ok(r) => self.send(Msg::Rectifications(r)),
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::CloseRectification { id, note } => match c.close_rectification(id, &note).await {
                Ok(_) => {
                    if let Ok(r) = c.rectifications().await {
                        self.send(Msg::Rectifications(r));
                    }
                    self.send(Msg::LeadChanged);
                }
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::ThreeWay(id, parties) => match c.three_way(id, &parties).await {
                Ok(_) => self.reload_referrals().await,
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::ReviewReferral(id, review) => {
                let outcome = c.review_referral(id, &review).await.map(|o| o.incident);
                self.send(done(Done::Reviewed, outcome));
                self.reload_referrals().await;
                self.send(Msg::LeadChanged);
            }
            Command::Reprioritise { id, priority, reason } => {
                self.send(done(Done::Reprioritised, c.reprioritise(id, priority, &reason).await));
                self.send(Msg::LeadChanged);
            }
            Command::FreeCall { id, reason } => {
                self.send(done(Done::Released, c.free_call(id, &reason).await));
                self.send(Msg::LeadChanged);
            }
            Command::LoadStats { from, to } => match c.stats(from, to).await {
                Ok(s) => self.send(Msg::Stats(Box::new(s))),
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::LoadReferrals => self.reload_referrals().await,
            Command::LoadMap { hours } => match c.map(hours).await {
                Ok(m) => self.send(Msg::Map(m)),
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::LoadNuisance { from, to } => match c.nuisance(from, to).await {
                Ok(n) => self.send(Msg::Nuisance(n)),
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::LoadAudit(filter) => match c.audit(&filter).await {
                Ok(a) => self.send(Msg::Audit(a)),
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::Flag { phone, kind, note } => {
                if let Err(e) = c.add_flag(&phone, kind, &note).await {
                    self.send(Msg::Failed(Failure::Service(e)));
                }
                self.after_flag(&phone).await;
            }
            Command::Unflag { id, phone } => {
                if let Err(e) = c.remove_flag(id).await {
                    self.send(Msg::Failed(Failure::Service(e)));
                }
                self.after_flag(&phone).await;
            }
            Command::SignOut { release } => {
                // A call left held by someone who went home waits for a
                // lead to notice; handing it back lets a colleague take it.
                for id in release {
                    if let Err(e) = c.release(id).await {
                        tracing::warn!("release #{id} at sign-out: {e}");
                    }
                }
                if let Err(e) = c.logout().await {
                    tracing::warn!("sign-out: {e}");
                }
                self.send(Msg::SignedOut);
            }
            Command::LoadDossier(phone) => match c.dossier(&phone).await {
                Ok(d) => self.send(Msg::Dossier(Box::new(d))),
                Err(e) => self.send(Msg::Failed(Failure::Service(e))),
            },
            Command::Export(job) => match self.export(job, lang).await {
                Ok(Some((path, fallback))) => self.send(Msg::Exported { path, fallback }),
                Ok(None) => {}
                Err(e) => self.send(Msg::Failed(e)),
            },
        }
    }

    async fn after_flag(&self, phone: &str) {
        if let Ok(h) = self.client.caller_history(phone).await {
            self.send(Msg::History(phone.to_owned(), Box::new(h)));
        }
        self.send(Msg::LeadChanged);
    }

    /// Asks where to save, fetches the data, writes the file. `None` when
    /// the lead cancelled the dialog.
    async fn export(&self, job: ExportJob, lang: Lang) -> Result<Option<(std::path::PathBuf, bool)>, Failure> {
        let stamp = chrono::Utc::now()
            .with_timezone(&crate::model::stats::centre_tz())
            .format("%Y%m%d-%H%M");
        let (name, ext) = match &job {
            ExportJob::Incidents { .. } => (format!("jiejing-incidents-{stamp}.csv"), "csv"),
            ExportJob::Qa { .. } => (format!("jiejing-qa-{stamp}.csv"), "csv"),
            ExportJob::DossierCsv(p) => (format!("jiejing-dossier-{p}-{stamp}.csv"), "csv"),
            ExportJob::DossierHtml(p) => (format!("jiejing-dossier-{p}-{stamp}.html"), "html"),
        };
        let (path, fallback) = match self.save.pick(&name, ext).await {
            Picked::Chosen(p) => (p, false),
            Picked::Fallback(p) => (p, true),
            Picked::Cancelled => return Ok(None),
        };
        let c = &self.client;
        let bytes = match job {
            ExportJob::Incidents { from, to } => {
                let incidents = self.incidents_in(from, to).await.map_err(Failure::Service)?;
                export::csv_bytes(&export::incidents_table(lang, &incidents))
            }
            ExportJob::Qa { from, to } => {
                let calls = c.qa_calls(from, to).await.map_err(Failure::Service)?;
                export::csv_bytes(&export::qa_table(lang, &calls))
            }
            ExportJob::DossierCsv(p) => export::dossier_csv(lang, &c.dossier(&p).await.map_err(Failure::Service)?),
            ExportJob::DossierHtml(p) => {
                export::dossier_html(lang, &c.dossier(&p).await.map_err(Failure::Service)?).into_bytes()
            }
        };
        export::write(&path, &bytes)
            .await
            .map_err(|e| Failure::Disk(format!("{}: {e}", path.display())))?;
        Ok(Some((path, fallback)))
    }

    /// Every incident received in `[from, to)`, oldest first, fetched in pages.
    async fn incidents_in(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Incident>, ClientError> {
        let mut out: Vec<Incident> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // The service's range is inclusive at both ends; the export's end is not.
        let mut until = to - chrono::Duration::milliseconds(1);
        loop {
            let page = self.client.incidents(from, until, EXPORT_PAGE).await?;
            let full = page.len() as i64 == EXPORT_PAGE;
            let oldest = page.last().map(|i| i.received_at);
            out.extend(page.into_iter().filter(|i| seen.insert(i.id)));
            // Pages overlap by one millisecond so calls sharing it are not lost.
            match oldest {
                Some(t) if full && t < until => until = t,
                _ => break,
            }
        }
        out.sort_by_key(|i| (i.received_at, i.id));
        Ok(out)
    }
}
