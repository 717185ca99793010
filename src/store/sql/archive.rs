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
//! open, stays hot whatever its age. The archive tables are ordinary tables
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
        let cutoff = ms(before);
        let mut tx = self.begin().await?;
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
        // The calls that go: finished, and nothing about them still open.
        exec(&mut tx, "DROP TABLE IF EXISTS archive_moving").await?;
        exec(
            &mut tx,
            &format!(
                "CREATE TEMPORARY TABLE archive_moving AS SELECT id FROM incidents i \
                 WHERE i.received_at < {cutoff} AND i.status IN ('resolved', 'referred', 'closed') \
                 AND NOT EXISTS (SELECT 1 FROM referrals r WHERE r.incident_id = i.id \
                     AND r.status NOT IN ('closed', 'withdrawn')) \
                 AND NOT EXISTS (SELECT 1 FROM followups f WHERE f.incident_id = i.id AND f.status = 'open') \
                 AND NOT EXISTS (SELECT 1 FROM rectifications x WHERE x.incident_id = i.id AND x.status = 'open') \
                 AND NOT EXISTS (SELECT 1 FROM callbacks b WHERE b.incident_id = i.id AND b.status = 'open')"
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
