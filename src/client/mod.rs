//! The HTTP client of the incident service, used by the console and the
//! simulator: typed calls over reqwest, and a live event feed that
//! reconnects by itself and resumes with `Last-Event-ID`.
//!
//! Owns: speaking HTTP to `/api/v1` and turning its answers into model types
//! or [`ClientError`]s. Must not touch: egui, storage, or the UI thread — its
//! futures run on the caller's tokio runtime.

use std::time::Duration;

use eventsource_stream::Eventsource as _;
use futures_util::StreamExt as _;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use chrono::{DateTime, Utc};

use crate::api::{
    AuditQuery, CloseRequest, DispatchRequest, DuplicateCandidate, ErrorBody, FeedbackRequest, FlagRequest,
    LinkRequest, ListQuery, LoginRequest, NuisanceParams, PositionRequest, PriorityRequest, ReassignRequest,
    Recommendation, ReferRequest, ReferResponse, ReleaseRequest, ReturnRequest, ReviewRequest, StatsParams,
    SupplementRequest, UnitStatusRequest, UnlinkRequest,
};
use crate::model::geo::GeoPoint;
use crate::model::stats::{AlertQuery, Alerts, Dossier, NuisanceCaller, ShiftStats};
use crate::model::{
    Agency, AuditFilter, Callback, CallerFlag, CallerFlagKind, CallerHistory, CloseReason, Event, EventId, Incident,
    IncidentId, IncidentPatch, IntakeRequest, MapIncident, Priority, QueueEntry, Referral, Unit, UnitId, UnitStatus,
    User, UserId,
};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an error; `message` is for the operator.
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
    },
    /// The service could not be reached (it may be down or the network gone).
    #[error("cannot reach the incident service: {0}")]
    Unreachable(String),
    #[error("unexpected answer from the incident service: {0}")]
    Decode(String),
}

impl ClientError {
    /// Worth trying again later: nothing reached the service, or it was
    /// temporarily unable to answer.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Unreachable(_) => true,
            ClientError::Api { status, .. } => *status == 503 || *status == 502 || *status == 504,
            ClientError::Decode(_) => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_decode() {
            ClientError::Decode(e.to_string())
        } else {
            ClientError::Unreachable(e.to_string())
        }
    }
}

/// A signed-in connection to one service.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    /// How long the event stream may stay silent before the feed takes the
    /// connection for dead (see [`FEED_SILENCE`]).
    feed_silence: Duration,
}

/// The service sends a keep-alive on every event stream each 15 s. Three
/// missed in a row mean the path is dead even when TCP has not noticed (a
/// cable pulled, a NAT or firewall forgetting the connection): the feed
/// reconnects instead of showing "live" over a stream that says nothing.
pub const FEED_SILENCE: Duration = Duration::from_secs(45);

/// A signed-in session: the bearer token, when it expires, and who it is.
pub type Session = crate::api::LoginResponse;

/// An intake's answer: the incident, and whether it replayed an earlier request.
#[derive(Debug, Clone)]
pub struct Intake {
    pub incident: Incident,
    pub replayed: bool,
}

impl ApiClient {
    /// `server` is the service's root, e.g. `http://127.0.0.1:8110`.
    pub fn new(server: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        ApiClient {
            http,
            base: format!("{}/api/v1", server.trim_end_matches('/')),
            token: None,
            feed_silence: FEED_SILENCE,
        }
    }

    /// For a service whose keep-alive is not the default 15 s.
    pub fn with_feed_silence(mut self, limit: Duration) -> Self {
        self.feed_silence = limit;
        self
    }

    pub fn with_token(mut self, token: String) -> Self {
        self.token = Some(token);
        self
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Signs in and keeps the token for later calls.
    pub async fn login(&mut self, name: &str, password: &str) -> Result<Session, ClientError> {
        let s: Session = self
            .call(
                Method::POST,
                "/auth/login",
                Some(&LoginRequest {
                    name: name.to_owned(),
                    password: password.to_owned(),
                }),
                &[],
            )
            .await?;
        self.token = Some(s.token.clone());
        Ok(s)
    }

    /// Ends the session; the token stops working at once.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.send::<()>(Method::POST, "/auth/logout", None, &[]).await.map(drop)
    }

    /// The signed-in user.
    pub async fn login_info(&self) -> Result<User, ClientError> {
        self.get("/auth/me").await
    }

    async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        headers: &[(&str, &str)],
    ) -> Result<reqwest::Response, ClientError> {
        self.send_query::<B, ()>(method, path, body, None, headers).await
    }

    async fn send_query<B: Serialize, Q: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        query: Option<&Q>,
        headers: &[(&str, &str)],
    ) -> Result<reqwest::Response, ClientError> {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(q) = query {
            rb = rb.query(q);
        }
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let res = rb.send().await?;
        if res.status().is_success() {
            return Ok(res);
        }
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        Err(match serde_json::from_str::<ErrorBody>(&text) {
            Ok(b) => ClientError::Api {
                status,
                code: b.error.code,
                message: b.error.message,
                field: b.error.field,
            },
            Err(_) => ClientError::Api {
                status,
                code: "http".into(),
                message: format!("HTTP {status}: {text}"),
                field: None,
            },
        })
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        headers: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let res = self.send(method, path, body, headers).await?;
        res.json().await.map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call::<(), T>(Method::GET, path, None, &[]).await
    }

    /// A GET whose query string is serialised from one of the API's query types.
    async fn get_query<Q: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, ClientError> {
        let res = self
            .send_query::<(), Q>(Method::GET, path, None, Some(query), &[])
            .await?;
        res.json().await.map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// A POST that takes no body (claim, on scene, accept…).
    async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call::<(), T>(Method::POST, path, None, &[]).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        self.call(Method::POST, path, Some(body), &[]).await
    }

    /// Posts an intake; the same `idempotency_key` never creates a second incident.
    pub async fn intake(&self, req: &IntakeRequest, idempotency_key: &str) -> Result<Intake, ClientError> {
        let res = self
            .send(
                Method::POST,
                "/intake",
                Some(req),
                &[("Idempotency-Key", idempotency_key)],
            )
            .await?;
        let replayed = res.status() == StatusCode::OK;
        let incident = res.json().await.map_err(|e| ClientError::Decode(e.to_string()))?;
        Ok(Intake { incident, replayed })
    }

    /// The open calls as queue rows.
    pub async fn queue(&self) -> Result<Vec<QueueEntry>, ClientError> {
        self.get("/queue").await
    }

    pub async fn incident(&self, id: IncidentId) -> Result<Incident, ClientError> {
        self.get(&format!("/incidents/{id}")).await
    }

    pub async fn update(&self, id: IncidentId, patch: &IncidentPatch) -> Result<Incident, ClientError> {
        self.call(Method::PATCH, &format!("/incidents/{id}"), Some(patch), &[])
            .await
    }

    pub async fn claim(&self, id: IncidentId) -> Result<Incident, ClientError> {
        self.post_empty(&format!("/incidents/{id}/claim")).await
    }

    pub async fn release(&self, id: IncidentId) -> Result<Incident, ClientError> {
        self.post(&format!("/incidents/{id}/release"), &ReleaseRequest::default())
            .await
    }

    /// A shift lead frees a call another operator holds; the reason is audited.
    pub async fn free_call(&self, id: IncidentId, reason: &str) -> Result<Incident, ClientError> {
        self.post(
            &format!("/incidents/{id}/release"),
            &ReleaseRequest {
                reason: Some(reason.to_owned()),
                version: None,
            },
        )
        .await
    }

    pub async fn dispatch(
        &self,
        id: IncidentId,
        unit_id: UnitId,
        co_notify: &[Agency],
    ) -> Result<Incident, ClientError> {
        self.post(
            &format!("/incidents/{id}/dispatch"),
            &DispatchRequest {
                unit_id,
                co_notify: co_notify.to_vec(),
                version: None,
            },
        )
        .await
    }

    /// The dispatched unit signed for the order and set off.
    pub async fn acknowledge(&self, id: IncidentId) -> Result<Incident, ClientError> {
        self.post_empty(&format!("/incidents/{id}/acknowledge")).await
    }

    /// The operator read the caller's nuisance warning.
    pub async fn warning_read(&self, id: IncidentId) -> Result<Incident, ClientError> {
        self.post_empty(&format!("/incidents/{id}/warning-read")).await
    }

    /// The dispatched unit reached the scene.
    pub async fn on_scene(&self, id: IncidentId) -> Result<Incident, ClientError> {
        self.post_empty(&format!("/incidents/{id}/on-scene")).await
    }

    /// The unit cleared the scene; the incident is resolved.
    pub async fn resolve(&self, id: IncidentId) -> Result<Incident, ClientError> {
        self.post_empty(&format!("/incidents/{id}/resolve")).await
    }

    /// Refers to an agency; returns the incident and the work order.
    pub async fn refer(&self, id: IncidentId, agency: Agency) -> Result<(Incident, Referral), ClientError> {
        let r: ReferResponse = self
            .post(
                &format!("/incidents/{id}/refer"),
                &ReferRequest { agency, version: None },
            )
            .await?;
        Ok((r.incident, r.referral))
    }

    pub async fn close(
        &self,
        id: IncidentId,
        reason: CloseReason,
        note: Option<&str>,
    ) -> Result<Incident, ClientError> {
        self.post(
            &format!("/incidents/{id}/close"),
            &CloseRequest {
                reason,
                note: note.map(str::to_owned),
                version: None,
            },
        )
        .await
    }

    pub async fn link_duplicate(&self, id: IncidentId, of: IncidentId) -> Result<Incident, ClientError> {
        self.post(&format!("/incidents/{id}/link"), &LinkRequest { of, version: None })
            .await
    }

    pub async fn add_supplement(&self, id: IncidentId, text: &str) -> Result<crate::model::Supplement, ClientError> {
        self.post(
            &format!("/incidents/{id}/supplements"),
            &SupplementRequest { text: text.to_owned() },
        )
        .await
    }

    pub async fn supplements(&self, id: IncidentId) -> Result<Vec<crate::model::Supplement>, ClientError> {
        self.get(&format!("/incidents/{id}/supplements")).await
    }

    pub async fn unlink_duplicate(&self, id: IncidentId) -> Result<Incident, ClientError> {
        self.post(&format!("/incidents/{id}/unlink"), &UnlinkRequest::default())
            .await
    }

    pub async fn recommended_units(&self, id: IncidentId) -> Result<Recommendation, ClientError> {
        self.get(&format!("/incidents/{id}/units")).await
    }

    pub async fn duplicates(&self, id: IncidentId) -> Result<Vec<DuplicateCandidate>, ClientError> {
        self.get(&format!("/incidents/{id}/duplicates")).await
    }

    pub async fn units(&self) -> Result<Vec<Unit>, ClientError> {
        self.get("/units").await
    }

    pub async fn set_unit_status(&self, id: UnitId, status: UnitStatus) -> Result<Unit, ClientError> {
        self.post(&format!("/units/{id}/status"), &UnitStatusRequest { status })
            .await
    }

    /// Incidents with a position: the open ones and those of the last `hours`.
    pub async fn map(&self, hours: i64) -> Result<Vec<MapIncident>, ClientError> {
        self.get(&format!("/map?hours={hours}")).await
    }

    /// A unit terminal's position report.
    pub async fn set_unit_position(&self, id: UnitId, at: GeoPoint) -> Result<Unit, ClientError> {
        self.post(
            &format!("/units/{id}/position"),
            &PositionRequest {
                lat: at.lat,
                lon: at.lon,
            },
        )
        .await
    }

    pub async fn caller_history(&self, phone: &str) -> Result<CallerHistory, ClientError> {
        self.get(&format!("/callers/{phone}")).await
    }

    pub async fn callbacks(&self) -> Result<Vec<Callback>, ClientError> {
        self.get("/callbacks").await
    }

    /// Orders still in play (the lead's review and the agency's inbox):
    /// finished ones would crowd them out of the page in a busy centre.
    pub async fn referrals(&self) -> Result<Vec<Referral>, ClientError> {
        self.get("/referrals?open=true").await
    }

    /// Every account (shift leads: to pick whom to reassign a call to).
    pub async fn users(&self) -> Result<Vec<User>, ClientError> {
        self.get("/users").await
    }

    /// The ids of the accounts signed in now.
    pub async fn signed_in_users(&self) -> Result<Vec<UserId>, ClientError> {
        self.get("/users/signed-in").await
    }

    pub async fn reassign(&self, id: IncidentId, to: UserId, reason: &str) -> Result<Incident, ClientError> {
        self.post(
            &format!("/incidents/{id}/reassign"),
            &ReassignRequest {
                to,
                reason: reason.to_owned(),
            },
        )
        .await
    }

    pub async fn reprioritise(
        &self,
        id: IncidentId,
        priority: Priority,
        reason: &str,
    ) -> Result<Incident, ClientError> {
        self.post(
            &format!("/incidents/{id}/priority"),
            &PriorityRequest {
                priority,
                reason: reason.to_owned(),
            },
        )
        .await
    }

    pub async fn stats(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<ShiftStats, ClientError> {
        let q = StatsParams {
            from: Some(from),
            to: Some(to),
            ..Default::default()
        };
        self.get_query("/stats", &q).await
    }

    pub async fn alerts(&self, q: &AlertQuery) -> Result<Alerts, ClientError> {
        self.get_query("/alerts", q).await
    }

    pub async fn nuisance(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<NuisanceCaller>, ClientError> {
        let q = NuisanceParams {
            from: Some(from),
            to: Some(to),
            limit: None,
        };
        self.get_query("/callers/nuisance", &q).await
    }

    pub async fn dossier(&self, phone: &str) -> Result<Dossier, ClientError> {
        self.get(&format!("/callers/{phone}/dossier")).await
    }

    pub async fn add_flag(&self, phone: &str, flag: CallerFlagKind, note: &str) -> Result<CallerFlag, ClientError> {
        self.post(
            &format!("/callers/{phone}/flags"),
            &FlagRequest {
                flag,
                note: note.to_owned(),
            },
        )
        .await
    }

    pub async fn remove_flag(&self, id: i64) -> Result<(), ClientError> {
        self.send::<()>(Method::DELETE, &format!("/callers/flags/{id}"), None, &[])
            .await
            .map(drop)
    }

    /// Incidents received in `[since, until]`, newest first.
    pub async fn incidents(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Incident>, ClientError> {
        let q = ListQuery {
            since: Some(since),
            until: Some(until),
            limit: Some(limit),
            ..Default::default()
        };
        self.get_query("/incidents", &q).await
    }

    /// The audit trail, newest first. `kind` matches a prefix.
    pub async fn audit(&self, q: &AuditFilter) -> Result<Vec<Event>, ClientError> {
        let query = AuditQuery {
            actor_id: q.actor_id,
            incident_id: q.incident_id,
            kind: q.kind_prefix.clone().filter(|k| !k.is_empty()),
            since: q.since,
            until: q.until,
            limit: Some(q.limit),
        };
        self.get_query("/audit", &query).await
    }

    /// An agency account moves its referral on: accept, feedback, close.
    pub async fn referral_step(
        &self,
        id: crate::model::ReferralId,
        step: &crate::model::ReferralStep,
    ) -> Result<Referral, ClientError> {
        use crate::model::ReferralStep as S;
        match step {
            S::Accept => self.post_empty(&format!("/referrals/{id}/accept")).await,
            S::Feedback(text) => {
                self.post(
                    &format!("/referrals/{id}/feedback"),
                    &FeedbackRequest { text: text.clone() },
                )
                .await
            }
            S::Close => self.post_empty(&format!("/referrals/{id}/close")).await,
            S::Return { reason, note } => {
                self.post(
                    &format!("/referrals/{id}/return"),
                    &ReturnRequest {
                        reason: *reason,
                        note: note.clone(),
                    },
                )
                .await
            }
        }
    }

    /// Open follow-ups of one channel, oldest first (a gateway gets the SMS
    /// ones whatever it asks).
    pub async fn followups(
        &self,
        channel: crate::model::FollowupChannel,
    ) -> Result<Vec<crate::model::Followup>, ClientError> {
        self.get(&format!("/followups?open=true&channel={}", channel.as_str()))
            .await
    }

    /// What the caller said when followed up.
    pub async fn record_followup(
        &self,
        id: i64,
        outcome: crate::model::Satisfaction,
        reason: Option<&str>,
    ) -> Result<crate::model::FollowupOutcome, ClientError> {
        self.post(
            &format!("/followups/{id}/outcome"),
            &crate::api::FollowupRequest {
                outcome,
                reason: reason.map(str::to_owned),
            },
        )
        .await
    }

    /// Call-quality review of the calls received in `from..to`.
    pub async fn qa_calls(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<crate::model::QaCall>, ClientError> {
        let at = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.get(&format!("/qa/calls?from={}&to={}", at(from), at(to))).await
    }

    /// A shift lead's hand review of a call.
    pub async fn review_call(
        &self,
        id: crate::model::IncidentId,
        score: i64,
        note: &str,
    ) -> Result<crate::model::QaReview, ClientError> {
        self.post(
            &format!("/qa/calls/{id}/review"),
            &crate::api::QaReviewRequest {
                score,
                note: note.to_owned(),
            },
        )
        .await
    }

    /// Open rectifications, soonest deadline first.
    pub async fn rectifications(&self) -> Result<Vec<crate::model::Rectification>, ClientError> {
        self.get("/rectifications?open=true").await
    }

    pub async fn close_rectification(&self, id: i64, note: &str) -> Result<crate::model::Rectification, ClientError> {
        self.post(
            &format!("/rectifications/{id}/close"),
            &crate::api::CloseRectificationRequest { note: note.to_owned() },
        )
        .await
    }

    /// Records a three-way call that settled whose matter a referral is.
    pub async fn three_way(&self, id: crate::model::ReferralId, parties: &str) -> Result<Referral, ClientError> {
        self.post(
            &format!("/referrals/{id}/three-way"),
            &crate::api::ThreeWayRequest {
                parties: parties.to_owned(),
            },
        )
        .await
    }

    /// A shift lead's decision on a returned referral.
    pub async fn review_referral(
        &self,
        id: crate::model::ReferralId,
        review: &crate::model::ReferralReview,
    ) -> Result<crate::model::ReviewOutcome, ClientError> {
        self.post(&format!("/referrals/{id}/review"), &ReviewRequest::from_review(review))
            .await
    }

    /// Follows the live event stream until `cancel`, reconnecting after any
    /// drop and resuming after the last event seen. Every item goes to `sink`
    /// (the console forwards it to its channel and requests a repaint).
    pub fn spawn_feed(
        &self,
        after: Option<EventId>,
        cancel: CancellationToken,
        mut sink: impl FnMut(FeedItem) + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let client = self.clone();
        tokio::spawn(async move {
            let mut last = after;
            let mut backoff = Duration::from_millis(250);
            while !cancel.is_cancelled() {
                let mut rb = client
                    .http
                    .get(format!("{}/events", client.base))
                    // A stream is long-lived: no overall timeout, only on connecting.
                    .timeout(Duration::from_secs(60 * 60 * 24 * 365));
                if let Some(t) = &client.token {
                    rb = rb.bearer_auth(t);
                }
                if let Some(id) = last {
                    rb = rb.header("Last-Event-ID", id.to_string());
                }
                let res = tokio::select! {
                    r = rb.send() => r,
                    _ = cancel.cancelled() => return,
                };
                let res = match res {
                    Ok(r) if r.status().is_success() => r,
                    Ok(r) => {
                        sink(FeedItem::Disconnected(format!(
                            "the service refused the event stream (HTTP {})",
                            r.status()
                        )));
                        if r.status() == StatusCode::UNAUTHORIZED || r.status() == StatusCode::FORBIDDEN {
                            return;
                        }
                        sleep_or_cancel(backoff, &cancel).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                    Err(e) => {
                        sink(FeedItem::Disconnected(e.to_string()));
                        sleep_or_cancel(backoff, &cancel).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                };
                backoff = Duration::from_millis(250);
                sink(FeedItem::Connected);
                let silence = client.feed_silence;
                let mut body = res.bytes_stream();
                let watched = async_stream::stream! {
                    loop {
                        match tokio::time::timeout(silence, body.next()).await {
                            Ok(Some(chunk)) => yield chunk.map_err(|e| e.to_string()),
                            Ok(None) => break,
                            Err(_) => {
                                yield Err(format!("no word from the service for {} s", silence.as_secs()));
                                break;
                            }
                        }
                    }
                };
                let mut stream = Box::pin(watched).eventsource();
                loop {
                    let next = tokio::select! {
                        n = stream.next() => n,
                        _ = cancel.cancelled() => return,
                    };
                    match next {
                        Some(Ok(e)) if e.event == "resync" => {
                            last = e.id.parse().ok().or(last);
                            sink(FeedItem::Resync);
                        }
                        Some(Ok(e)) => match serde_json::from_str::<Event>(&e.data) {
                            Ok(ev) => {
                                last = Some(ev.id);
                                sink(FeedItem::Event(Box::new(ev)));
                            }
                            Err(err) => tracing::warn!("skipping an unreadable event {}: {err}", e.id),
                        },
                        Some(Err(e)) => {
                            sink(FeedItem::Disconnected(e.to_string()));
                            break;
                        }
                        None => {
                            sink(FeedItem::Disconnected("the service closed the event stream".into()));
                            break;
                        }
                    }
                }
                sleep_or_cancel(backoff, &cancel).await;
            }
        })
    }
}

async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = cancel.cancelled() => {}
    }
}

/// What the live feed reports.
#[derive(Debug, Clone)]
pub enum FeedItem {
    Connected,
    Event(Box<Event>),
    /// Too much was missed to replay: reload the queue, then carry on.
    Resync,
    /// The stream dropped; the feed is reconnecting.
    Disconnected(String),
}
