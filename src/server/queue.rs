//! The live queue as a projection of the event log, kept in memory per
//! instance: `GET /queue` answers from it instead of reading and decoding
//! every open row, which is what keeps ten thousand open calls fast.
//!
//! It starts from one consistent snapshot (the rows and the log's head read
//! together) and, before every answer, replays the log after its head — so
//! an answer includes every change committed before the request, by this
//! instance or any other on the same database.

use std::collections::HashMap;

use tokio::sync::Mutex;

use crate::model::{EventId, Incident, IncidentId, QueueEntry};
use crate::store::{Result, Store, StoreError};

/// Log rows read per query while catching up.
const PAGE: i64 = 500;

#[derive(Default)]
pub struct QueueView {
    state: Mutex<Option<View>>,
}

struct View {
    head: EventId,
    entries: HashMap<IncidentId, QueueEntry>,
}

impl View {
    fn apply(&mut self, kind: &str, after: Option<&serde_json::Value>) {
        // Every incident event carries the incident as it is after the change.
        if !kind.starts_with("incident.") {
            return;
        }
        let Some(inc) = after.and_then(|a| serde_json::from_value::<Incident>(a.clone()).ok()) else {
            return;
        };
        if inc.status.is_queued() {
            self.entries.insert(inc.id, QueueEntry::from(&inc));
        } else {
            self.entries.remove(&inc.id);
        }
    }
}

impl QueueView {
    /// The open calls, by priority then waiting time, up to date with the log.
    pub async fn current(&self, store: &dyn Store) -> Result<Vec<QueueEntry>> {
        let mut guard = self.state.lock().await;
        if guard.is_none() {
            let (head, list) = store.queue_snapshot().await?;
            *guard = Some(View {
                head,
                entries: list.into_iter().map(|e| (e.id, e)).collect(),
            });
        }
        let Some(view) = guard.as_mut() else {
            return Err(StoreError::Internal("the queue view was not loaded".into()));
        };
        loop {
            let events = store.events_after(view.head, PAGE).await?;
            let full = events.len() as i64 == PAGE;
            for e in events {
                view.head = e.id;
                view.apply(&e.kind, e.after.as_ref());
            }
            if !full {
                break;
            }
        }
        let mut list: Vec<QueueEntry> = view.entries.values().cloned().collect();
        list.sort_by_key(|e| (e.priority, e.received_at, e.id));
        Ok(list)
    }
}
