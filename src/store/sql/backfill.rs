//! Bulk loading of history (`jiejing simulate --backfill`): rows written
//! with `COPY … FROM STDIN` on PostgreSQL and multi-row `INSERT`s on
//! SQLite, a batch per transaction, ids as the batch gives them.
//!
//! Only into a database without calls: history made up for measurement
//! must never mix with a centre's real calls.

use super::*;
use crate::model::backfill::{Backfill, NextIds};

/// One value of a row being loaded.
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}
impl From<Option<i64>> for Cell {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Cell::Null, Cell::Int)
    }
}
impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Cell::Null, Cell::Real)
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Text(v)
    }
}
impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.to_owned())
    }
}
impl From<Option<String>> for Cell {
    fn from(v: Option<String>) -> Self {
        v.map_or(Cell::Null, Cell::Text)
    }
}
impl From<Option<&str>> for Cell {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Cell::Null, |s| Cell::Text(s.to_owned()))
    }
}
impl From<Option<DateTime<Utc>>> for Cell {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        v.map_or(Cell::Null, |t| Cell::Int(ms(t)))
    }
}
impl From<DateTime<Utc>> for Cell {
    fn from(t: DateTime<Utc>) -> Self {
        Cell::Int(ms(t))
    }
}

/// A table's rows, in the order of its column list.
struct Table {
    name: &'static str,
    cols: &'static str,
    rows: Vec<Vec<Cell>>,
}

const INCIDENT_LOAD_COLS: &str = "id, channel, phone, caller_name, wechat_id, web_account, callback_number, \
    location_text, lat, lon, jurisdiction, narrative, received_at, category, agency, priority, suggestion, \
    sugg_category, sugg_priority, status, holder_id, holder_name, claimed_at, dispatched_at, on_scene_at, \
    closed_at, close_reason, close_note, duplicate_of, unit_id, co_notify, disconnect, version, updated_at, \
    held_since, handled_by_id, handled_by_name, acknowledged_at, category_set_at, warning_read_at, location_source, \
    idem_key, created_by";

fn incidents(b: &Backfill, creator: i64) -> Result<Table> {
    let mut rows = Vec::with_capacity(b.incidents.len());
    for i in &b.incidents {
        let r = IncidentRow::from_model(i)?;
        rows.push(vec![
            r.id.into(),
            r.channel.into(),
            r.phone.into(),
            r.caller_name.into(),
            r.wechat_id.into(),
            r.web_account.into(),
            r.callback_number.into(),
            r.location_text.into(),
            r.lat.into(),
            r.lon.into(),
            r.jurisdiction.into(),
            r.narrative.into(),
            r.received_at.into(),
            r.category.into(),
            r.agency.into(),
            r.priority.into(),
            r.suggestion.into(),
            r.sugg_category.into(),
            r.sugg_priority.into(),
            r.status.into(),
            r.holder_id.into(),
            r.holder_name.into(),
            r.claimed_at.into(),
            r.dispatched_at.into(),
            r.on_scene_at.into(),
            r.closed_at.into(),
            r.close_reason.into(),
            r.close_note.into(),
            r.duplicate_of.into(),
            r.unit_id.into(),
            r.co_notify.into(),
            r.disconnect.into(),
            r.version.into(),
            r.updated_at.into(),
            r.held_since.into(),
            r.handled_by_id.into(),
            r.handled_by_name.into(),
            r.acknowledged_at.into(),
            r.category_set_at.into(),
            r.warning_read_at.into(),
            r.location_source.into(),
            // As a gateway's intake key would be (scoped by its account).
            format!("{creator}:backfill-{}", r.id).into(),
            creator.into(),
        ]);
    }
    Ok(Table {
        name: "incidents",
        cols: INCIDENT_LOAD_COLS,
        rows,
    })
}

fn referrals(b: &Backfill) -> Table {
    let rows = b
        .referrals
        .iter()
        .map(|r| {
            vec![
                r.id.into(),
                r.number.as_str().into(),
                r.incident_id.into(),
                r.agency.as_str().into(),
                r.status.as_str().into(),
                r.feedback.clone().into(),
                r.created_at.into(),
                r.due_at.into(),
                r.accepted_at.into(),
                r.feedback_at.into(),
                r.closed_at.into(),
                r.feedback_due_at.into(),
                r.close_due_at.into(),
            ]
        })
        .collect();
    Table {
        name: "referrals",
        cols: "id, number, incident_id, agency, status, feedback, created_at, due_at, accepted_at, feedback_at, \
               closed_at, feedback_due_at, close_due_at",
        rows,
    }
}

fn followups(b: &Backfill) -> Table {
    let rows = b
        .followups
        .iter()
        .map(|f| {
            vec![
                f.id.into(),
                f.incident_id.into(),
                f.referral_id.into(),
                f.channel.as_str().into(),
                f.status.as_str().into(),
                f.phone.as_ref().map(|p| p.as_str()).into(),
                f.category.map(|c| c.as_str()).into(),
                f.priority.as_str().into(),
                f.unit_id.into(),
                f.agency.map(|a| a.as_str()).into(),
                f.operator.as_ref().map(|o| o.id).into(),
                f.operator.as_ref().map(|o| o.name.as_str()).into(),
                f.created_at.into(),
                f.outcome.map(|o| o.as_str()).into(),
                f.done_at.into(),
                f.done_by.as_ref().map(|o| o.id).into(),
                f.done_by.as_ref().map(|o| o.name.as_str()).into(),
            ]
        })
        .collect();
    Table {
        name: "followups",
        cols: "id, incident_id, referral_id, channel, status, phone, category, priority, unit_id, agency, \
               operator_id, operator_name, created_at, outcome, done_at, done_by_id, done_by_name",
        rows,
    }
}

fn supplements(b: &Backfill) -> Table {
    let rows = b
        .supplements
        .iter()
        .map(|s| {
            vec![
                s.id.into(),
                s.incident_id.into(),
                s.at.into(),
                s.author.id.into(),
                s.author.name.as_str().into(),
                s.text.as_str().into(),
                s.from_incident.into(),
            ]
        })
        .collect();
    Table {
        name: "supplements",
        cols: "id, incident_id, at, author_id, author_name, text, from_incident",
        rows,
    }
}

fn events(b: &Backfill) -> Result<Table> {
    let mut rows = Vec::with_capacity(b.events.len());
    for e in &b.events {
        rows.push(vec![
            e.id.into(),
            e.at.into(),
            e.actor.as_ref().map(|a| a.id).into(),
            e.actor.as_ref().map(|a| a.name.as_str()).into(),
            e.kind.as_str().into(),
            e.incident_id.into(),
            e.referral_id.into(),
            e.unit_id.into(),
            e.before.as_ref().map(to_json).transpose()?.flatten().into(),
            e.after.as_ref().map(to_json).transpose()?.flatten().into(),
            e.note.clone().into(),
        ]);
    }
    Ok(Table {
        name: "events",
        cols: "id, at, actor_id, actor_name, kind, incident_id, referral_id, unit_id, before_json, after_json, note",
        rows,
    })
}

/// `s` in PostgreSQL's COPY text format: backslash, tab, newline and
/// carriage return escaped.
fn copy_text(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

impl Table {
    fn copy_data(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.rows.len() * 256);
        for row in &self.rows {
            for (n, cell) in row.iter().enumerate() {
                if n > 0 {
                    out.push(b'\t');
                }
                match cell {
                    Cell::Null => out.extend_from_slice(b"\\N"),
                    Cell::Int(v) => out.extend_from_slice(v.to_string().as_bytes()),
                    Cell::Real(v) => out.extend_from_slice(format!("{v:?}").as_bytes()),
                    Cell::Text(s) => copy_text(&mut out, s),
                }
            }
            out.push(b'\n');
        }
        out
    }

    async fn write(&self, tx: &mut Tx) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        match tx {
            Tx::Pg(t, _) => {
                let sql = format!("COPY {} ({}) FROM STDIN", self.name, self.cols);
                let mut copy = t.copy_in_raw(&sql).await.db()?;
                copy.send(self.copy_data()).await.db()?;
                copy.finish().await.db()?;
            }
            Tx::Sqlite(t) => {
                // SQLite binds at most 32,766 values per statement.
                let per = 32_000 / self.rows[0].len();
                for chunk in self.rows.chunks(per) {
                    let mut q: sqlx::QueryBuilder<Sqlite> =
                        sqlx::QueryBuilder::new(format!("INSERT INTO {} ({}) ", self.name, self.cols));
                    q.push_values(chunk, |mut b, row| {
                        for cell in row {
                            match cell {
                                Cell::Null => b.push_bind(None::<i64>),
                                Cell::Int(v) => b.push_bind(*v),
                                Cell::Real(v) => b.push_bind(*v),
                                Cell::Text(s) => b.push_bind(s.clone()),
                            };
                        }
                    });
                    q.build().execute(&mut **t).await.db()?;
                }
            }
        }
        Ok(())
    }
}

impl SqlStore {
    /// The ids a backfill starts from; refused when the database already
    /// holds calls.
    pub async fn backfill_start(&self) -> Result<NextIds> {
        let (calls,): (i64,) = self
            .row(
                "SELECT COUNT(*) FROM (SELECT 1 FROM incidents LIMIT 1) AS x".into(),
                &[],
            )
            .await?;
        if calls > 0 {
            return Err(StoreError::Conflict(
                "this database already holds calls; made-up history goes only into an empty one".into(),
            ));
        }
        let next = |table: &'static str| async move {
            let (n,): (i64,) = self
                .row(format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"), &[])
                .await?;
            Ok::<i64, StoreError>(n)
        };
        Ok(NextIds {
            incident: 1,
            referral: next("referrals").await?,
            followup: next("followups").await?,
            supplement: next("supplements").await?,
            event: next("events").await?,
        })
    }

    /// One batch in one transaction, parents before children; `creator` is
    /// the gateway account the calls came in through.
    pub async fn backfill(&self, b: &Backfill, creator: i64) -> Result<()> {
        let tables = [
            incidents(b, creator)?,
            referrals(b),
            followups(b),
            supplements(b),
            events(b)?,
        ];
        let mut tx = self.begin().await?;
        for t in &tables {
            t.write(&mut tx).await?;
        }
        if let Tx::Pg(t, _) = &mut tx {
            // Sequences past every id loaded, batch by batch: a load that
            // stops half-way leaves a database the service can write to.
            for table in ["incidents", "referrals", "followups", "supplements", "events"] {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut **t).await.db()?;
            }
        }
        Self::commit(tx).await
    }

    /// After the last batch: PostgreSQL's visibility map set, and both
    /// planners told what the tables now hold.
    pub async fn backfill_done(&self) -> Result<()> {
        match &self.db {
            Db::Pg(p) => {
                // VACUUM too: it marks the loaded pages all-visible, as
                // autovacuum would in time, so range scans stay in the index.
                sqlx::query("VACUUM ANALYZE").execute(p).await.db()?;
            }
            Db::Sqlite { write, .. } => {
                sqlx::query("ANALYZE").execute(write).await.db()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_would_end_a_field_or_a_row() {
        let mut out = Vec::new();
        copy_text(&mut out, "a\tb\nc\\d\re 报警");
        assert_eq!(String::from_utf8_lossy(&out), "a\\tb\\nc\\\\d\\re 报警");
    }
}
