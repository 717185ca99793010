//! Retention: moving the calls of past years out of the hot tables
//! (`jiejing archive --before DATE`) without losing any of their audit
//! trail.
//!
//! One transaction copies every finished call received before the cutoff,
//! with everything hanging off it (referrals, callbacks, follow-ups,
//! rectifications, reviews, supplements and every event about it), into
//! tables named for the cutoff (`archive_20260101_incidents`, …), then
//! deletes them from the hot tables. Events older than the cutoff that
//! belong to no call (accounts, units) go the same way. A call still being
//! worked, or with a referral, follow-up, rectification or callback still
//! open, stays hot whatever its age, and so does the last month. The service
//! may run meanwhile: on PostgreSQL the calls moved are locked (a change to
//! one waits, then finds it archived) and supplements wait for the commit;
//! on SQLite the archive holds the write lock. The archive tables are ordinary tables
//! of the same database: query them, `pg_dump` them to cold storage, and
//! drop them once stored.

use super::*;

/// What one archive run moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Archived {
    /// The tables' prefix, e.g. `archive_20260101_`.
    pub prefix: String,
    /// Rows moved per table, in the order deleted.
    pub moved: Vec<(&'static str, i64)>,
}

/// Days that are never archived.
pub const HOT_DAYS: i64 = 32;

/// The tables that hang off an incident, with the column naming it.
const CHILDREN: [(&str, &str); 6] = [
    ("rectifications", "incident_id"),
    ("followups", "incident_id"),
    ("qa_reviews", "incident_id"),
    ("callbacks", "incident_id"),
    ("referrals", "incident_id"),
    ("supplements", "incident_id"),
];

impl SqlStore {
    /// Archives the finished calls received before `before` (see the
    /// module's comment). Refused when this cutoff's tables already exist.
    pub async fn archive_before(&self, before: DateTime<Utc>) -> Result<Archived> {
        // Named for the cutoff's date where the centre is.
        let local = before.with_timezone(&model::stats::centre_tz());
        let prefix = format!("archive_{}_", local.format("%Y%m%d"));
        // The last month stays whole: the quality review reads up to 31
        // days back and a caller's warning counts the last 30.
        if before > Utc::now() - chrono::Duration::days(HOT_DAYS) {
            return Err(StoreError::Domain(model::DomainError::invalid(
                "before",
                format!("keep at least the last {HOT_DAYS} days: choose a date before then"),
            )));
        }
        let cutoff = ms(before);
        // SQLite: the write lock from the start, so no other writer commits
        // between what is read and what is moved.
        let mut tx = match &self.db {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await.db()?),
            Db::Pg(_) => self.begin().await?,
        };
        let exists = match &mut tx {
            Tx::Pg(t, _) => sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
                .bind(format!("{prefix}incidents"))
                .fetch_one(&mut **t)
                .await
                .db()?,
            Tx::Sqlite(t) => {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1")
                    .bind(format!("{prefix}incidents"))
                    .fetch_one(&mut **t)
                    .await
                    .db()?
                    > 0
            }
        };
        if exists {
            return Err(StoreError::Conflict(format!(
                "{prefix}incidents already exists: this cutoff was archived before; pick another date"
            )));
        }
        let pg = matches!(tx, Tx::Pg(..));
        if pg {
            // The service may run meanwhile. Supplements are the one thing
            // added to a call without touching its row: held off until the
            // archive commits (seconds; they wait, they are not lost).
            exec(&mut tx, "LOCK TABLE supplements IN SHARE ROW EXCLUSIVE MODE").await?;
        }
        // The calls that go: finished, and nothing about them still open.
        // On PostgreSQL their rows are locked, so no change to them (a
        // claim, an unlink, a review, a follow-up) commits before the move:
        // it waits, then finds the call archived.
        exec(&mut tx, "DROP TABLE IF EXISTS archive_moving").await?;
        exec(&mut tx, "CREATE TEMPORARY TABLE archive_moving (id BIGINT PRIMARY KEY)").await?;
        exec(
            &mut tx,
            &format!(
                "INSERT INTO archive_moving SELECT id FROM incidents i \
                 WHERE i.received_at < {cutoff} AND i.status IN ('resolved', 'referred', 'closed') \
                 AND NOT EXISTS (SELECT 1 FROM referrals r WHERE r.incident_id = i.id \
                     AND r.status NOT IN ('closed', 'withdrawn')) \
                 AND NOT EXISTS (SELECT 1 FROM followups f WHERE f.incident_id = i.id AND f.status = 'open') \
                 AND NOT EXISTS (SELECT 1 FROM rectifications x WHERE x.incident_id = i.id AND x.status = 'open') \
                 AND NOT EXISTS (SELECT 1 FROM callbacks b WHERE b.incident_id = i.id AND b.status = 'open'){}",
                if pg { " FOR UPDATE OF i" } else { "" }
            ),
        )
        .await?;
        let moving = "SELECT id FROM archive_moving";
        // Children before their parents: rectifications name follow-ups,
        // follow-ups name referrals, and all of them name the incident.
        let mut tables: Vec<(&'static str, String)> = CHILDREN
            .iter()
            .map(|(table, col)| (*table, format!("{col} IN ({moving})")))
            .collect();
        tables.push((
            "events",
            format!("incident_id IN ({moving}) OR (incident_id IS NULL AND at < {cutoff})"),
        ));
        tables.push(("incidents", format!("id IN ({moving})")));
        let mut moved = Vec::new();
        for (table, cond) in &tables {
            exec(
                &mut tx,
                &format!("CREATE TABLE {prefix}{table} AS SELECT * FROM {table} WHERE {cond}"),
            )
            .await?;
        }
        for (table, cond) in &tables {
            moved.push((
                *table,
                exec(&mut tx, &format!("DELETE FROM {table} WHERE {cond}")).await?,
            ));
        }
        exec(&mut tx, "DROP TABLE archive_moving").await?;
        Self::commit(tx).await?;
        Ok(Archived { prefix, moved })
    }
}

/// Runs one statement of the archive; the rows it touched.
async fn exec(tx: &mut Tx, sql: &str) -> Result<i64> {
    let n = on_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(c)
        .await
        .db()?
        .rows_affected());
    Ok(n as i64)
}
