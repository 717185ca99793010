//! The intake path: replay by idempotency key, one intake in a
//! transaction, the PostgreSQL batch insert, and the group commit that lets
//! one fsync acknowledge many calls.

use super::*;

/// The incident an intake creates (its id still unset), and its replay key.
pub(super) fn intake_incident(
    actor: &User,
    key: Option<&str>,
    new: &NewIncident,
    now: DateTime<Utc>,
) -> (Option<String>, Incident) {
    // Keys are scoped per account so two gateways cannot collide.
    let key = key.map(|k| format!("{}:{k}", actor.id));
    // An operator logging a call works it at once; gateway calls queue.
    let held = Role::STAFF.contains(&actor.role);
    (key, Incident::taken_in(new, held.then(|| actor.as_ref()), now))
}

/// Where a dropped call is called back: the number the caller gave, else the
/// number they called from.
pub(super) fn callback_phone(inc: &Incident) -> Option<CallerPhone> {
    inc.caller.callback_number.clone().or(inc.caller.phone.clone())
}

pub(super) fn open_callback(id: i64, inc: &Incident, reason: model::Disconnect, now: DateTime<Utc>) -> Callback {
    Callback {
        id,
        incident_id: inc.id,
        phone: callback_phone(inc),
        reason,
        status: CallbackStatus::Open,
        outcome: None,
        created_at: now,
        closed_at: None,
        closed_by: None,
    }
}

/// Binds one array per listed field of `$rows`, in the order given.
macro_rules! bind_arrays {
    ($q:expr, $rows:expr, $($f:ident),+ $(,)?) => {
        $q$(.bind($rows.iter().map(|r| r.$f.clone()).collect::<Vec<_>>()))+
    };
}

/// The batch insert: a row per array element, the replay check in the same
/// statement. `RETURNING id` names the rows inserted; a missing id is a key
/// already used.
pub(super) static PG_INSERT_INCIDENTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let cols = INCIDENT_COLS.split(',').count() + 2;
    let arrays = (1..=cols).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
    format!(
        "INSERT INTO incidents ({INCIDENT_COLS}, idem_key, created_by) SELECT * FROM UNNEST({arrays}) \
         ON CONFLICT (idem_key) DO NOTHING RETURNING id"
    )
});

/// Group commit: intakes that arrive while a commit is on its way to disk
/// share the next transaction, so one fsync acknowledges many calls. Nobody
/// is answered before the commit returns.
pub(super) async fn group_commit(db: Db, mut jobs: tokio::sync::mpsc::Receiver<IntakeJob>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Intakes rarely fail (a key raced on another instance, bad luck);
        // then the batch is rolled back and each one runs on its own, so one
        // failure never takes the others down.
        let mut results = Vec::new();
        let together = async {
            let mut tx = db.begin().await?;
            results = SqlStore::intake_batch(&mut tx, &batch).await?;
            SqlStore::commit(tx).await
        }
        .await;
        match together {
            Ok(()) => {
                for (job, r) in batch.into_iter().zip(results) {
                    job.reply.send(Ok(r)).ok();
                }
            }
            Err(_) => {
                for job in batch {
                    let alone = async {
                        let mut tx = db.begin().await?;
                        let r = SqlStore::intake_in(&mut tx, &job.actor, job.key.as_deref(), &job.new, job.now).await?;
                        SqlStore::commit(tx).await?;
                        Ok(r)
                    };
                    job.reply.send(alone.await).ok();
                }
            }
        }
    }
}

impl SqlStore {
    pub(super) async fn find_by_key(tx: &mut Tx, key: &str) -> Result<Option<IncidentId>> {
        on_tx!(tx, |c| sqlx::query_scalar(
            "SELECT id FROM incidents WHERE idem_key = $1"
        )
        .bind(key)
        .fetch_optional(c)
        .await
        .db())
    }

    /// The answer to an intake whose key inserted nothing: the incident that
    /// key made first.
    pub(super) async fn replay(tx: &mut Tx, key: Option<&str>) -> Result<IntakeOutcome> {
        let first = match key {
            Some(k) => Self::find_by_key(tx, k).await?,
            None => None,
        };
        let id = first.ok_or_else(|| StoreError::Internal("an intake without a key was not stored".into()))?;
        Ok(IntakeOutcome {
            incident: Self::load_incident(tx, id).await?,
            replayed: true,
            callback: None,
        })
    }

    /// Stores one intake inside `tx` (replay check, incident, callback task,
    /// event), without committing.
    pub(super) async fn intake_in(
        tx: &mut Tx,
        actor: &User,
        key: Option<&str>,
        new: &NewIncident,
        now: DateTime<Utc>,
    ) -> Result<IntakeOutcome> {
        let (key, mut inc) = intake_incident(actor, key, new, now);
        let row = IncidentRow::from_model(&inc)?;
        // The insert is the replay check: a key already used inserts nothing
        // (one round trip fewer per intake than looking first).
        let inserted: Option<i64> = on_tx!(tx, |c| bind_incident!(sqlx::query_scalar(INSERT_INCIDENT), row)
            .bind(&key)
            .bind(actor.id)
            .fetch_optional(c)
            .await
            .db()?);
        let Some(id) = inserted else {
            return Self::replay(tx, key.as_deref()).await;
        };
        inc.id = id;
        let mut callback = None;
        if let Some(reason) = new.disconnect {
            let sql = "INSERT INTO callbacks (incident_id, phone, reason, status, created_at) \
                       VALUES ($1, $2, $3, $4, $5) RETURNING id";
            let phone = callback_phone(&inc);
            let cid: i64 = on_tx!(tx, |c| sqlx::query_scalar(sql)
                .bind(inc.id)
                .bind(phone.as_ref().map(|p| p.as_str().to_owned()))
                .bind(reason.as_str())
                .bind(CallbackStatus::Open.as_str())
                .bind(ms(now))
                .fetch_one(c)
                .await
                .db()?);
            callback = Some(open_callback(cid, &inc, reason, now));
        }
        let ev = NewEvent {
            incident_id: Some(inc.id),
            after: to_json(&inc)?,
            ..NewEvent::of(Some(actor), "incident.created")
        };
        Self::append_event(tx, ev, now).await?;
        Ok(IntakeOutcome {
            incident: inc,
            replayed: false,
            callback,
        })
    }

    /// Stores a group commit's intakes inside `tx`, without committing.
    ///
    /// PostgreSQL: a fixed handful of statements for the whole batch (ids,
    /// incidents, callbacks, events) instead of two per call. The batch runs
    /// on one connection while every other intake waits for it, so its
    /// round trips, not the disk, were what set the tail latency under load.
    /// SQLite runs in-process, where a statement costs no round trip, so it
    /// keeps the per-call path, and so does a lone call (the batch path's
    /// extra statement for ids would make it slower).
    pub(super) async fn intake_batch(tx: &mut Tx, batch: &[IntakeJob]) -> Result<Vec<IntakeOutcome>> {
        let (Tx::Pg(t, locked), 2..) = (&mut *tx, batch.len()) else {
            let mut out = Vec::with_capacity(batch.len());
            for job in batch {
                out.push(Self::intake_in(tx, &job.actor, job.key.as_deref(), &job.new, job.now).await?);
            }
            return Ok(out);
        };
        // Ids drawn first, so each call's event can carry its incident.
        // A replayed call wastes its id; identity columns have gaps anyway.
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, $1)")
                .bind(batch.len() as i64)
                .fetch_all(&mut **t)
                .await
                .db()?;
        let mut keys = Vec::with_capacity(batch.len());
        let mut incs = Vec::with_capacity(batch.len());
        for (job, id) in batch.iter().zip(ids) {
            let (key, mut inc) = intake_incident(&job.actor, job.key.as_deref(), &job.new, job.now);
            inc.id = id;
            keys.push(key);
            incs.push(inc);
        }
        let rows: Vec<IncidentRow> = incs.iter().map(IncidentRow::from_model).collect::<Result<_>>()?;
        let q = bind_arrays!(
            sqlx::query_scalar(sqlx::AssertSqlSafe(PG_INSERT_INCIDENTS.as_str())),
            rows,
            id,
            channel,
            phone,
            caller_name,
            wechat_id,
            web_account,
            callback_number,
            location_text,
            lat,
            lon,
            jurisdiction,
            narrative,
            received_at,
            category,
            agency,
            priority,
            suggestion,
            sugg_category,
            sugg_priority,
            status,
            holder_id,
            holder_name,
            claimed_at,
            dispatched_at,
            on_scene_at,
            closed_at,
            close_reason,
            close_note,
            duplicate_of,
            unit_id,
            co_notify,
            disconnect,
            version,
            updated_at,
            held_since,
            handled_by_id,
            handled_by_name,
            acknowledged_at,
            category_set_at,
            warning_read_at,
            location_source,
        );
        let creators: Vec<i64> = batch.iter().map(|j| j.actor.id).collect();
        let inserted: std::collections::HashSet<i64> = q
            .bind(&keys)
            .bind(creators)
            .fetch_all(&mut **t)
            .await
            .db()?
            .into_iter()
            .collect();
        let fresh: Vec<usize> = (0..batch.len()).filter(|&i| inserted.contains(&incs[i].id)).collect();

        let mut callbacks = std::collections::HashMap::new();
        let dropped: Vec<usize> = fresh
            .iter()
            .copied()
            .filter(|&i| batch[i].new.disconnect.is_some())
            .collect();
        if !dropped.is_empty() {
            let cols = |f: &dyn Fn(usize) -> Option<String>| dropped.iter().map(|&i| f(i)).collect::<Vec<_>>();
            let made: Vec<(i64, i64)> = sqlx::query_as(
                "INSERT INTO callbacks (incident_id, phone, reason, status, created_at) \
                 SELECT i, p, r, $4, c FROM UNNEST($1::bigint[], $2::text[], $3::text[], $5::bigint[]) AS u(i, p, r, c) \
                 RETURNING id, incident_id",
            )
            .bind(dropped.iter().map(|&i| incs[i].id).collect::<Vec<_>>())
            .bind(cols(&|i| callback_phone(&incs[i]).map(|p| p.as_str().to_owned())))
            .bind(cols(&|i| batch[i].new.disconnect.map(|d| d.as_str().to_owned())))
            .bind(CallbackStatus::Open.as_str())
            .bind(dropped.iter().map(|&i| ms(batch[i].now)).collect::<Vec<_>>())
            .fetch_all(&mut **t)
            .await
            .db()?;
            callbacks.extend(made.into_iter().map(|(id, incident)| (incident, id)));
        }

        if !fresh.is_empty() {
            hold_event_log(t, locked).await?;
            // Only the calls this batch created get an event: replays have theirs.
            let after: Vec<Option<String>> = fresh.iter().map(|&i| to_json(&incs[i])).collect::<Result<_>>()?;
            let col = |f: &dyn Fn(usize) -> Option<String>| fresh.iter().map(|&i| f(i)).collect::<Vec<_>>();
            sqlx::query(
                "INSERT INTO events (at, actor_id, actor_name, kind, incident_id, after_json) \
                 SELECT a, w, n, $4, i, j FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $5::bigint[], $6::text[]) \
                 AS u(a, w, n, i, j)",
            )
            .bind(fresh.iter().map(|&i| ms(batch[i].now)).collect::<Vec<_>>())
            .bind(fresh.iter().map(|&i| batch[i].actor.id).collect::<Vec<_>>())
            .bind(col(&|i| Some(batch[i].actor.name.clone())))
            .bind("incident.created")
            .bind(fresh.iter().map(|&i| incs[i].id).collect::<Vec<_>>())
            .bind(after)
            .execute(&mut **t)
            .await
            .db()?;
        }

        let mut out = Vec::with_capacity(batch.len());
        for ((job, inc), key) in batch.iter().zip(incs).zip(keys) {
            if inserted.contains(&inc.id) {
                let callback = callbacks
                    .get(&inc.id)
                    .zip(job.new.disconnect)
                    .map(|(&id, reason)| open_callback(id, &inc, reason, job.now));
                out.push(IntakeOutcome {
                    incident: inc,
                    replayed: false,
                    callback,
                });
                continue;
            }
            // The key was used before (or earlier in this batch).
            out.push(Self::replay(tx, key.as_deref()).await?);
        }
        Ok(out)
    }

    pub(super) async fn intake(
        &self,
        actor: &User,
        key: Option<&str>,
        new: NewIncident,
        now: DateTime<Utc>,
    ) -> Result<IntakeOutcome> {
        let now = at_ms(now);
        let mut new = new;
        new.received_at = at_ms(new.received_at);
        let (reply, outcome) = tokio::sync::oneshot::channel();
        let job = IntakeJob {
            actor: actor.clone(),
            key: key.map(str::to_owned),
            new: new.clone(),
            now,
            reply,
        };
        // Two requests with one key racing (two instances) need no retry: the
        // insert's ON CONFLICT waits for the first and the second replays it.
        match self.intakes.send(job).await {
            Ok(()) => outcome
                .await
                .unwrap_or_else(|_| Err(StoreError::Unavailable("the intake writer stopped".into()))),
            Err(_) => Err(StoreError::Unavailable("the intake writer stopped".into())),
        }
    }
}
