//! The live queue as a projection of the event log, kept in memory per
//! instance: `GET /queue` answers from it instead of reading and decoding
//! every open row, which is what keeps ten thousand open calls fast.
//!
//! It starts from one consistent snapshot (the rows and the log's head read
//! together) and, before every answer, replays the log after its head — so
//! an answer includes every change committed before the request, by this
//! instance or any other on the same database.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Deserialize as _;
use tokio::sync::Mutex;

use crate::model::{EventId, Incident, IncidentId, Priority, QueueEntry};
use crate::store::{Result, Store, StoreError};

/// Log rows read per query while catching up.
const PAGE: i64 = 500;

#[derive(Default)]
pub struct QueueView {
    state: Mutex<Option<View>>,
}

/// [`QueueEntry::display_order`].
type Order = (Priority, DateTime<Utc>, IncidentId);

struct View {
    head: EventId,
    /// Kept in display order, so an answer is a walk, not a sort.
    entries: BTreeMap<Order, QueueEntry>,
    keys: HashMap<IncidentId, Order>,
}

impl View {
    fn apply(&mut self, kind: &str, after: Option<&serde_json::Value>) {
        // Every incident event carries the incident as it is after the change.
        if !kind.starts_with("incident.") {
            return;
        }
        let Some(inc) = after.and_then(|a| Incident::deserialize(a).ok()) else {
            return;
        };
        if let Some(old) = self.keys.remove(&inc.id) {
            self.entries.remove(&old);
        }
        if inc.status.is_queued() {
            self.insert(QueueEntry::from(&inc));
        }
    }

    fn insert(&mut self, e: QueueEntry) {
        let key = e.display_order();
        self.keys.insert(e.id, key);
        self.entries.insert(key, e);
    }
}

impl QueueView {
    /// The open calls that pass `keep`, by priority then waiting time, up to
    /// date with the log, as the JSON array `GET /queue` sends (written
    /// straight from the view: ten thousand rows are not copied first).
    pub async fn current_json(&self, store: &dyn Store, keep: impl Fn(&QueueEntry) -> bool) -> Result<Vec<u8>> {
        let mut guard = self.state.lock().await;
        if guard.is_none() {
            let (head, list) = store.queue_snapshot().await?;
            let mut view = View {
                head,
                entries: BTreeMap::new(),
                keys: HashMap::new(),
            };
            for e in list {
                view.insert(e);
            }
            *guard = Some(view);
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
        let rows: Vec<&QueueEntry> = view.entries.values().filter(|e| keep(e)).collect();
        serde_json::to_vec(&rows).map_err(|e| StoreError::Internal(format!("cannot encode the queue: {e}")))
    }
}
