//! The live event stream. One pump per service instance reads new rows of the
//! durable event log and broadcasts them; each `GET /events` subscriber
//! replays from its Last-Event-ID out of the log, then follows the broadcast.
//!
//! The log, not the broadcast, is the source of truth: a subscriber that
//! falls behind the bounded broadcast reads what it missed from the log, and
//! one too far behind is told to `resync` (reload its view) instead.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt as _};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use super::auth::{Auth, Staff};
use super::error::{ApiResult, ErrorBody};
use super::{ApiQuery, AppState};
use crate::api::EventsQuery;
use crate::model::{Event, EventId};
use crate::store::{Result as StoreResult, Store};

/// Rows read from the log per query.
const PAGE: i64 = 500;
/// Safety net: the pump also looks at the log this often without a wake-up.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

pub struct EventHub {
    tx: broadcast::Sender<Arc<Event>>,
    wake: Notify,
    /// The last event id broadcast.
    head: AtomicI64,
}

impl EventHub {
    /// `capacity` events are buffered per instance; a subscriber further
    /// behind re-reads the log, so a slow one never holds more than this.
    pub fn new(capacity: usize) -> Self {
        EventHub {
            tx: broadcast::channel(capacity.max(1)).0,
            wake: Notify::new(),
            head: AtomicI64::new(0),
        }
    }

    /// Tells the pump the log has grown. Call after every committed change.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    pub fn head(&self) -> EventId {
        self.head.load(Ordering::Acquire)
    }

    /// Starts the pump from the log's current end.
    pub async fn spawn_pump(self: Arc<Self>, store: Arc<dyn Store>, shutdown: CancellationToken) -> StoreResult<()> {
        let start = store.last_event_id().await?;
        self.head.store(start, Ordering::Release);
        tokio::spawn(async move {
            let mut last = start;
            loop {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = shutdown.cancelled() => break,
                }
                loop {
                    match store.events_after(last, PAGE).await {
                        Ok(events) => {
                            let full = events.len() as i64 == PAGE;
                            for e in events {
                                last = e.id;
                                self.head.store(last, Ordering::Release);
                                // No receivers is fine: nobody is watching.
                                self.tx.send(Arc::new(e)).ok();
                            }
                            if !full {
                                break;
                            }
                        }
                        Err(e) => {
                            tracing::warn!("event pump cannot read the log: {e}");
                            break;
                        }
                    }
                }
            }
        });
        Ok(())
    }
}

/// Wakes the pump on PostgreSQL notifications from other instances. A
/// dropped connection loses notifications, so after reconnecting it wakes the
/// pump, which re-reads the log from where it was.
pub fn spawn_pg_listener(pool: sqlx::PgPool, hub: Arc<EventHub>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        while !shutdown.is_cancelled() {
            let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!("event listener cannot connect: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(crate::store::PG_EVENT_CHANNEL).await {
                tracing::warn!("event listener cannot LISTEN: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            hub.wake();
            loop {
                tokio::select! {
                    n = listener.recv() => match n {
                        Ok(_) => hub.wake(),
                        Err(e) => {
                            tracing::warn!("event listener lost its connection: {e}");
                            break;
                        }
                    },
                    _ = shutdown.cancelled() => return,
                }
            }
        }
    });
}

fn sse_event(e: &Event) -> SseEvent {
    SseEvent::default()
        .id(e.id.to_string())
        .event(e.kind.clone())
        .json_data(e)
        .unwrap_or_else(|_| SseEvent::default().comment("unserialisable event"))
}

fn resync_event(head: EventId) -> SseEvent {
    SseEvent::default()
        .id(head.to_string())
        .event("resync")
        .data(head.to_string())
}

/// Live events as server-sent events. Each has the log id as its SSE id and
/// its kind (`incident.created`, …) as the SSE event name; reconnect with
/// `Last-Event-ID` to get everything missed. An event named `resync` means
/// the gap was too large to replay: reload state, then continue.
#[utoipa::path(get, path = "/events", tag = "events", security(("bearer" = [])),
    params(EventsQuery, ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event id (wins over `after`)")),
    responses((status = 200, description = "text/event-stream of Event", content_type = "text/event-stream"), (status = 401, body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    _auth: Auth<Staff>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    // Subscribe before reading the log so nothing falls between the two.
    let mut rx = state.hub.subscribe();
    // Ids start at 1: anything below replays from the start (and cannot
    // overflow the distance to the head below).
    let start = match last_id.or(q.after) {
        Some(id) => id.max(0),
        None => state.store.last_event_id().await?,
    };
    let store = state.store.clone();
    let metrics = state.metrics.clone();
    let max_replay = state.config.max_replay;
    let stream = async_stream::stream! {
        let _guard = metrics.subscriber();
        let mut cursor = start;
        'outer: loop {
            // Catch up from the log.
            match store.last_event_id().await {
                Ok(head) if head.saturating_sub(cursor) > max_replay => {
                    cursor = head;
                    yield Ok(resync_event(head));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("event stream cannot read the log: {e}");
                    break 'outer;
                }
            }
            loop {
                match store.events_after(cursor, PAGE).await {
                    Ok(events) => {
                        let full = events.len() as i64 == PAGE;
                        for e in events {
                            cursor = e.id;
                            yield Ok(sse_event(&e));
                        }
                        if !full {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("event stream cannot read the log: {e}");
                        break 'outer;
                    }
                }
            }
            // Follow the broadcast.
            loop {
                match rx.recv().await {
                    Ok(e) if e.id > cursor => {
                        cursor = e.id;
                        yield Ok(sse_event(&e));
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        metrics.catchup();
                        continue 'outer;
                    }
                    Err(broadcast::error::RecvError::Closed) => break 'outer,
                }
            }
        }
    };
    let stream = stream.take_until(state.shutdown.clone().cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(state.config.keep_alive)))
}
