//! Incidents after intake: the lifecycle (`model::apply` in a
//! transaction), units, referrals, callbacks, supplements and the event log.

use super::*;

impl SqlStore {
    /// Changes a unit's status if it is still `from`; false when it changed meanwhile.
    pub(super) async fn move_unit(
        tx: &mut Tx,
        actor: &User,
        unit: &Unit,
        to: UnitStatus,
        incident: Option<IncidentId>,
        now: DateTime<Utc>,
    ) -> Result<Option<Unit>> {
        let sql = "UPDATE units SET status = $1, incident_id = $2, updated_at = $3 WHERE id = $4 AND status = $5";
        let n = on_tx!(tx, |c| sqlx::query(sql)
            .bind(to.as_str())
            .bind(incident)
            .bind(ms(now))
            .bind(unit.id)
            .bind(unit.status.as_str())
            .execute(c)
            .await
            .db()?
            .rows_affected());
        if n == 0 {
            return Ok(None);
        }
        let after = Unit {
            status: to,
            incident_id: incident,
            status_since: Some(now),
            ..unit.clone()
        };
        let ev = NewEvent {
            incident_id: incident.or(unit.incident_id),
            unit_id: Some(unit.id),
            before: to_json(unit)?,
            after: to_json(&after)?,
            ..NewEvent::of(Some(actor), "unit.status")
        };
        Self::append_event(tx, ev, now).await?;
        Ok(Some(after))
    }

    pub(super) async fn try_mutate(
        &self,
        actor: &User,
        id: IncidentId,
        expected_version: Option<i64>,
        op: IncidentOp,
        now: DateTime<Utc>,
    ) -> Result<Option<Mutation>> {
        // Times are kept to the millisecond: what a write returns must equal what a later read returns.
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let m = self
            .mutate_in(&mut tx, actor, id, expected_version, op, None, now)
            .await?;
        if m.is_some() {
            Self::commit(tx).await?;
        }
        Ok(m)
    }

    /// The body of [`Self::try_mutate`] inside a caller's transaction, so
    /// a referral review changes the order and the incident together.
    /// `replaces` is the withdrawn order a new referral re-routes. `None`
    /// when a concurrent writer won; the caller rolls back and retries.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn mutate_in(
        &self,
        tx: &mut Tx,
        actor: &User,
        id: IncidentId,
        expected_version: Option<i64>,
        op: IncidentOp,
        replaces: Option<ReferralId>,
        now: DateTime<Utc>,
    ) -> Result<Option<Mutation>> {
        let mut inc = Self::load_incident(tx, id).await?;
        if let Some(v) = expected_version
            && v != inc.version
        {
            return Err(StoreError::Domain(model::DomainError::conflict(
                "stale_version",
                format!(
                    "incident #{id} was changed by someone else (now version {}, yours {v}): reload it and try again",
                    inc.version
                ),
            )));
        }
        let unit = match &op {
            IncidentOp::Dispatch { unit_id, .. } => Some(Self::load_unit(tx, *unit_id).await?),
            _ => None,
        };
        let merged_into = match &op {
            IncidentOp::LinkDuplicate { of } => Some(Self::load_incident(tx, *of).await?.id),
            _ => None,
        };
        let kind = op.event_kind();
        let reason = op.reason().map(|r| r.trim().to_owned());
        let before = inc.clone();
        let effects = model::apply(&mut inc, op, actor, now, unit.as_ref())?;
        let row = IncidentRow::from_model(&inc)?;
        let updated = on_tx!(tx, |c| bind_incident!(sqlx::query(UPDATE_INCIDENT), row)
            .bind(id)
            .bind(before.version)
            .execute(c)
            .await
            .db()?
            .rows_affected());
        if updated == 0 {
            return Ok(None);
        }
        if let Some((unit_id, to)) = effects.unit_status {
            let (current, dispatched) = match unit {
                Some(u) => (u, true),
                None => (Self::load_unit(tx, unit_id).await?, false),
            };
            // A signature, arrival or clearance moves the unit only while it
            // is still on this call: one a lead freed and sent elsewhere
            // stays where it is.
            if dispatched || current.incident_id == Some(id) {
                let working = (to != UnitStatus::Available).then_some(id);
                if Self::move_unit(tx, actor, &current, to, working, now).await?.is_none() {
                    return Ok(None);
                }
            }
        }
        let mut referral = None;
        if let Some(agency) = effects.referral {
            // The incident id and the order's ordinal (a re-routed call has
            // several) make the work-order number unique; the incident row
            // was just updated, so concurrent referrals of it are serialised.
            let earlier: i64 = on_tx!(tx, |c| sqlx::query_scalar(
                "SELECT COUNT(*) FROM referrals WHERE incident_id = $1"
            )
            .bind(id)
            .fetch_one(c)
            .await
            .db()?);
            let number = model::referral_number(id, earlier + 1, now);
            let due = ms(now) + self.policy.referral_accept_secs * 1000;
            let sql = "INSERT INTO referrals (number, incident_id, agency, status, created_at, due_at, replaces) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
            let rid: i64 = on_tx!(tx, |c| sqlx::query_scalar(sql)
                .bind(&number)
                .bind(id)
                .bind(agency.as_str())
                .bind(ReferralStatus::Sent.as_str())
                .bind(ms(now))
                .bind(due)
                .bind(replaces)
                .fetch_one(c)
                .await
                .db()?);
            let r = Referral {
                replaces,
                ..Referral::sent(rid, number, id, agency, now, read_ts(due)?)
            };
            let ev = NewEvent {
                incident_id: Some(id),
                referral_id: Some(rid),
                after: to_json(&r)?,
                ..NewEvent::of(Some(actor), "referral.sent")
            };
            Self::append_event(tx, ev, now).await?;
            referral = Some(r);
        }
        let ev = NewEvent {
            incident_id: Some(id),
            referral_id: referral.as_ref().map(|r| r.id),
            unit_id: inc.unit_id,
            before: to_json(&before)?,
            after: to_json(&inc)?,
            note: reason.as_deref(),
            ..NewEvent::of(Some(actor), kind)
        };
        Self::append_event(tx, ev, now).await?;
        if inc.status == Status::Resolved && before.status != Status::Resolved {
            self.open_followup(tx, actor, &inc, None, now).await?;
        }
        // What the later caller said is kept on the call it duplicates.
        if let Some(of) = merged_into
            && !inc.narrative.trim().is_empty()
        {
            Self::insert_supplement(tx, actor, of, &inc.narrative, Some(id), now).await?;
        }
        Ok(Some(Mutation {
            incident: inc,
            referral,
        }))
    }

    /// Appends a supplement and its audit event inside `tx`.
    pub(super) async fn insert_supplement(
        tx: &mut Tx,
        actor: &User,
        incident_id: IncidentId,
        text: &str,
        from_incident: Option<IncidentId>,
        now: DateTime<Utc>,
    ) -> Result<Supplement> {
        let sql = "INSERT INTO supplements (incident_id, at, author_id, author_name, text, from_incident) \
                   VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        let id: i64 = on_tx!(tx, |c| sqlx::query_scalar(sql)
            .bind(incident_id)
            .bind(ms(now))
            .bind(actor.id)
            .bind(&actor.name)
            .bind(text)
            .bind(from_incident)
            .fetch_one(c)
            .await
            .db()?);
        let s = Supplement {
            id,
            incident_id,
            at: now,
            author: actor.as_ref(),
            text: text.to_owned(),
            from_incident,
        };
        let ev = NewEvent {
            incident_id: Some(incident_id),
            after: to_json(&s)?,
            ..NewEvent::of(Some(actor), "incident.supplemented")
        };
        Self::append_event(tx, ev, now).await?;
        Ok(s)
    }

    pub(super) async fn seed_units(&self, seeds: &[UnitSeed], now: DateTime<Utc>) -> Result<usize> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        // Missing units are added (a gazetteer that grew reaches an old
        // database), and a unit without a position gets its station's; a
        // unit's status, call and reported position are never touched.
        let insert = "INSERT INTO units (code, name, kind, jurisdiction, status, updated_at, lat, lon) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (code) DO NOTHING";
        let place = "UPDATE units SET lat = $1, lon = $2 WHERE code = $3 AND lat IS NULL";
        let mut added = 0;
        for s in seeds {
            let (lat, lon) = (s.at.map(|p| p.lat), s.at.map(|p| p.lon));
            added += on_tx!(&mut tx, |c| sqlx::query(insert)
                .bind(&s.code)
                .bind(&s.name)
                .bind(s.kind.as_str())
                .bind(&s.jurisdiction)
                .bind(UnitStatus::Available.as_str())
                .bind(ms(now))
                .bind(lat)
                .bind(lon)
                .execute(c)
                .await
                .db()?
                .rows_affected()) as usize;
            if lat.is_some() {
                on_tx!(&mut tx, |c| sqlx::query(place)
                    .bind(lat)
                    .bind(lon)
                    .bind(&s.code)
                    .execute(c)
                    .await
                    .map(drop)
                    .db()?);
            }
        }
        Self::commit(tx).await?;
        Ok(added)
    }

    /// Records where a unit is (its terminal's report). The status and the
    /// call stay as they are; the event carries the unit for the live map.
    pub(super) async fn set_unit_position(
        &self,
        actor: &User,
        id: UnitId,
        at: GeoPoint,
        now: DateTime<Utc>,
    ) -> Result<Unit> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let unit = Self::load_unit(&mut tx, id).await?;
        let sql = "UPDATE units SET lat = $1, lon = $2, position_at = $3 WHERE id = $4";
        on_tx!(&mut tx, |c| sqlx::query(sql)
            .bind(at.lat)
            .bind(at.lon)
            .bind(ms(now))
            .bind(id)
            .execute(c)
            .await
            .map(drop)
            .db()?);
        let after = Unit {
            at: Some(at),
            position_at: Some(now),
            ..unit.clone()
        };
        let ev = NewEvent {
            incident_id: unit.incident_id,
            unit_id: Some(unit.id),
            before: to_json(&unit)?,
            after: to_json(&after)?,
            ..NewEvent::of(Some(actor), "unit.position")
        };
        Self::append_event(&mut tx, ev, now).await?;
        Self::commit(tx).await?;
        Ok(after)
    }

    pub(super) async fn units(&self) -> Result<Vec<Unit>> {
        let sql = SELECT_UNITS;
        let rows: Vec<UnitRow> = on_read!(self, |c| sqlx::query_as(sql).fetch_all(c).await.db()?);
        rows.into_iter().map(UnitRow::into_model).collect()
    }

    pub(super) async fn set_unit_status(
        &self,
        actor: &User,
        id: UnitId,
        status: UnitStatus,
        now: DateTime<Utc>,
    ) -> Result<Unit> {
        let now = at_ms(now);
        for _ in 0..RACE_RETRIES {
            let mut tx = self.begin().await?;
            let unit = Self::load_unit(&mut tx, id).await?;
            if unit.status == status {
                return Ok(unit);
            }
            // Going available or off duty ends the unit's assignment.
            let incident = match status {
                UnitStatus::Available | UnitStatus::OffDuty => None,
                _ => unit.incident_id,
            };
            if let Some(after) = Self::move_unit(&mut tx, actor, &unit, status, incident, now).await? {
                Self::commit(tx).await?;
                return Ok(after);
            }
        }
        Err(StoreError::Conflict(format!(
            "unit {id} is changing too often; try again"
        )))
    }

    pub(super) async fn incident(&self, id: IncidentId) -> Result<Incident> {
        let sql = format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = $1");
        let row: Option<IncidentRow> = self.rows(sql, &[id]).await?.pop();
        row.or_not_found(|| format!("incident #{id}"))?.into_model()
    }

    pub(super) async fn map_incidents(&self, since: DateTime<Utc>) -> Result<Vec<MapIncident>> {
        let sql = format!(
            "SELECT id, lat, lon, COALESCE(priority, sugg_priority, 'P3') AS shown_priority, \
             COALESCE(category, sugg_category) AS shown_category, status, received_at \
             FROM incidents WHERE lat IS NOT NULL AND lon IS NOT NULL \
             AND (status IN ('new', 'in_progress', 'dispatched', 'on_scene') OR received_at >= $1) \
             ORDER BY id DESC LIMIT {MAP_LIMIT}"
        );
        let rows: Vec<MapRow> = self.rows(sql, &[ms(at_ms(since))]).await?;
        rows.into_iter().map(MapRow::into_model).collect()
    }

    pub(super) async fn queue_snapshot(&self) -> Result<(EventId, Vec<QueueEntry>)> {
        // Only what a queue row shows: the suggestion's JSON and the rest of
        // the record stay in the database.
        let sql = format!(
            "SELECT id, channel, COALESCE(phone, wechat_id, web_account) AS shown_caller, received_at, \
             COALESCE(priority, sugg_priority, 'P3') AS shown_priority, \
             COALESCE(category, sugg_category) AS shown_category, status, holder_id, holder_name, held_since, \
             disconnect, SUBSTR(narrative, 1, {QUEUE_SUMMARY_CHARS}) AS summary, version, lat, lon \
             FROM incidents WHERE {open} \
             ORDER BY shown_priority, received_at, id",
            open = cond::OPEN
        );
        let head = "SELECT COALESCE(MAX(id), 0) FROM events";
        // One read transaction: the rows and the log's head from the same
        // snapshot (WAL in SQLite, REPEATABLE READ in PostgreSQL). Events
        // are appended in the transaction of the change they record.
        macro_rules! snapshot {
            ($tx:expr) => {{
                let head = sqlx::query_scalar(head).fetch_one(&mut *$tx).await.db()?;
                let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut *$tx)
                    .await
                    .db()?;
                $tx.commit().await.db()?;
                (head, rows)
            }};
        }
        let (head, rows): (i64, Vec<QueueRow>) = match &self.db {
            Db::Sqlite { read, .. } => {
                let mut tx = read.begin().await.db()?;
                snapshot!(tx)
            }
            Db::Pg(p) => {
                let mut tx = p.begin().await.db()?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .execute(&mut *tx)
                    .await
                    .db()?;
                snapshot!(tx)
            }
        };
        Ok((head, rows.into_iter().map(QueueRow::into_model).collect::<Result<_>>()?))
    }

    pub(super) async fn incidents(&self, f: &IncidentFilter) -> Result<Vec<Incident>> {
        let mut q = Filtered::new(format!(
            "SELECT {INCIDENT_COLS} FROM incidents WHERE received_at >= $1 AND received_at <= $2"
        ));
        q.int(f.since.map_or(i64::MIN, ms));
        q.int(f.until.map_or(i64::MAX, ms));
        q.and_in("status", &f.statuses);
        q.then(
            "ORDER BY received_at DESC, id DESC",
            if f.limit > 0 { f.limit } else { 1000 },
        );
        let rows: Vec<IncidentRow> = self.fetch(q).await?;
        rows.into_iter().map(IncidentRow::into_model).collect()
    }

    pub(super) async fn mutate(
        &self,
        actor: &User,
        id: IncidentId,
        expected_version: Option<i64>,
        op: IncidentOp,
        now: DateTime<Utc>,
    ) -> Result<Mutation> {
        for _ in 0..RACE_RETRIES {
            match self.try_mutate(actor, id, expected_version, op.clone(), now).await? {
                Some(m) => return Ok(m),
                None if expected_version.is_some() => {
                    return Err(StoreError::Conflict(format!(
                        "incident #{id} was changed by someone else: reload it and try again"
                    )));
                }
                None => continue,
            }
        }
        Err(StoreError::Conflict(format!(
            "incident #{id} is changing too often; try again"
        )))
    }

    pub(super) async fn referrals(&self, f: &ReferralFilter, now: DateTime<Utc>) -> Result<Vec<Referral>> {
        let mut q = Filtered::new(format!("SELECT {REFERRAL_COLS} FROM referrals WHERE 1 = 1"));
        if let Some(a) = f.agency {
            q.and_eq("agency", Value::Text(a.as_str().to_owned()));
        }
        q.and_in("status", &f.statuses);
        if let Some(i) = f.incident_id {
            q.and_eq("incident_id", Value::Int(i));
        }
        q.then("ORDER BY due_at, id", 2000);
        let rows: Vec<ReferralRow> = self.fetch(q).await?;
        let mut out: Vec<Referral> = rows.into_iter().map(|r| r.into_model(now)).collect::<Result<_>>()?;
        // Overdue first, then oldest.
        out.sort_by_key(|r| (!r.overdue, r.created_at));
        Ok(out)
    }

    pub(super) async fn referral_step(
        &self,
        actor: &User,
        id: ReferralId,
        step: ReferralStep,
        now: DateTime<Utc>,
    ) -> Result<Referral> {
        let now = at_ms(now);
        for _ in 0..RACE_RETRIES {
            let mut tx = self.begin().await?;
            let limits = model::ReferralLimits {
                feedback_within: chrono::Duration::seconds(self.policy.referral_feedback_secs),
                close_working_days: self.policy.referral_close_working_days,
            };
            let change = |r: &mut Referral| model::apply_referral(r, step.clone(), actor, now, limits);
            // The agency's reason goes into the audit log with a return.
            let note = |r: &Referral| r.return_note.clone().filter(|_| r.status == ReferralStatus::Returned);
            let Some(r) = Self::change_referral(&mut tx, actor, id, step.event_kind(), change, note, now).await? else {
                continue;
            };
            if r.status == ReferralStatus::Closed {
                let inc = Self::load_incident(&mut tx, r.incident_id).await?;
                self.open_followup(&mut tx, actor, &inc, Some(&r), now).await?;
            }
            Self::commit(tx).await?;
            return Ok(r);
        }
        Err(StoreError::Conflict(format!(
            "referral {id} is changing too often; try again"
        )))
    }

    async fn load_referral(tx: &mut Tx, id: ReferralId, now: DateTime<Utc>) -> Result<Referral> {
        let row: ReferralRow = row_by_id(tx, REFERRAL_COLS, "referrals", id, "referral").await?;
        row.into_model(now)
    }

    /// Records a three-way call on a referral.
    pub(super) async fn record_three_way(
        &self,
        actor: &User,
        id: ReferralId,
        parties: &str,
        now: DateTime<Utc>,
    ) -> Result<Referral> {
        let now = at_ms(now);
        for _ in 0..RACE_RETRIES {
            let mut tx = self.begin().await?;
            let change = |r: &mut Referral| model::record_three_way(r, parties, actor, now);
            let note = |r: &Referral| r.three_way_parties.clone();
            let Some(r) = Self::change_referral(&mut tx, actor, id, "referral.three_way", change, note, now).await?
            else {
                continue;
            };
            Self::commit(tx).await?;
            return Ok(r);
        }
        Err(StoreError::Conflict(format!(
            "referral {id} is changing too often; try again"
        )))
    }

    /// One change to a referral inside `tx`: load it, apply `change` (the
    /// domain rule), save it if nobody moved it meanwhile and log `kind`
    /// with `note`. `None` when a concurrent change won: the caller rolls
    /// back and retries.
    async fn change_referral(
        tx: &mut Tx,
        actor: &User,
        id: ReferralId,
        kind: &str,
        change: impl FnOnce(&mut Referral) -> std::result::Result<(), model::DomainError>,
        note: impl FnOnce(&Referral) -> Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Option<Referral>> {
        let before = Self::load_referral(tx, id, now).await?;
        let mut r = before.clone();
        change(&mut r)?;
        if !Self::save_referral(tx, &r, before.status).await? {
            return Ok(None);
        }
        let note = note(&r);
        let ev = NewEvent {
            incident_id: Some(r.incident_id),
            referral_id: Some(id),
            before: to_json(&before)?,
            after: to_json(&r)?,
            note: note.as_deref(),
            ..NewEvent::of(Some(actor), kind)
        };
        Self::append_event(tx, ev, now).await?;
        Ok(Some(r))
    }

    /// Writes a referral's mutable columns if it is still in `was`; false
    /// when a concurrent step moved it first.
    async fn save_referral(tx: &mut Tx, r: &Referral, was: ReferralStatus) -> Result<bool> {
        let sql = "UPDATE referrals SET status = $1, feedback = $2, accepted_at = $3, feedback_at = $4, \
                   closed_at = $5, due_at = $6, return_reason = $7, return_note = $8, returned_at = $9, \
                   review_note = $10, reviewed_at = $11, three_way_parties = $12, three_way_at = $13, \
                   feedback_due_at = $14, close_due_at = $15 WHERE id = $16 AND status = $17";
        let n = on_tx!(tx, |c| sqlx::query(sql)
            .bind(r.status.as_str())
            .bind(&r.feedback)
            .bind(r.accepted_at.map(ms))
            .bind(r.feedback_at.map(ms))
            .bind(r.closed_at.map(ms))
            .bind(ms(r.due_at))
            .bind(r.return_reason.map(|x| x.as_str()))
            .bind(&r.return_note)
            .bind(r.returned_at.map(ms))
            .bind(&r.review_note)
            .bind(r.reviewed_at.map(ms))
            .bind(&r.three_way_parties)
            .bind(r.three_way_at.map(ms))
            .bind(r.feedback_due_at.map(ms))
            .bind(r.close_due_at.map(ms))
            .bind(r.id)
            .bind(was.as_str())
            .execute(c)
            .await
            .db()?
            .rows_affected());
        Ok(n == 1)
    }

    /// A shift lead's decision on a returned referral, in one transaction
    /// with what it does to the incident (re-route: a new order to another
    /// agency; take back: the call is queued again).
    pub(super) async fn review_referral(
        &self,
        actor: &User,
        id: ReferralId,
        review: &ReferralReview,
        now: DateTime<Utc>,
    ) -> Result<ReviewOutcome> {
        let now = at_ms(now);
        let accept_within = chrono::Duration::seconds(self.policy.referral_accept_secs);
        for _ in 0..RACE_RETRIES {
            let mut tx = self.begin().await?;
            let change = |r: &mut Referral| model::review_referral(r, review, actor, now, accept_within);
            let note = |r: &Referral| r.review_note.clone();
            let Some(r) = Self::change_referral(&mut tx, actor, id, review.event_kind(), change, note, now).await?
            else {
                continue;
            };
            let reason = r.review_note.clone().unwrap_or_default();
            let op = match review {
                ReferralReview::Insist { .. } => None,
                ReferralReview::Reroute { agency, .. } => Some(IncidentOp::Reroute {
                    agency: *agency,
                    reason,
                }),
                ReferralReview::TakeBack { .. } => Some(IncidentOp::TakeBack { reason }),
            };
            let outcome = match op {
                None => ReviewOutcome {
                    incident: Self::load_incident(&mut tx, r.incident_id).await?,
                    referral: r,
                    rerouted: None,
                },
                Some(op) => {
                    let Some(m) = self
                        .mutate_in(&mut tx, actor, r.incident_id, None, op, Some(id), now)
                        .await?
                    else {
                        continue;
                    };
                    ReviewOutcome {
                        referral: r,
                        rerouted: m.referral,
                        incident: m.incident,
                    }
                }
            };
            Self::commit(tx).await?;
            return Ok(outcome);
        }
        Err(StoreError::Conflict(format!(
            "referral {id} is changing too often; try again"
        )))
    }

    pub(super) async fn callbacks(&self, open_only: bool) -> Result<Vec<Callback>> {
        let sql = if open_only {
            format!("SELECT {CALLBACK_COLS} FROM callbacks WHERE status = 'open' ORDER BY created_at, id")
        } else {
            format!("SELECT {CALLBACK_COLS} FROM callbacks ORDER BY created_at DESC, id DESC LIMIT 2000")
        };
        let rows: Vec<CallbackRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(c)
            .await
            .db()?);
        rows.into_iter().map(CallbackRow::into_model).collect()
    }

    pub(super) async fn close_callback(
        &self,
        actor: &User,
        id: i64,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<Callback> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let row: CallbackRow = row_by_id(&mut tx, CALLBACK_COLS, "callbacks", id, "callback").await?;
        let before = row.into_model()?;
        if before.status == CallbackStatus::Closed {
            return Err(StoreError::Conflict(format!("callback {id} is already closed")));
        }
        let after = Callback {
            status: CallbackStatus::Closed,
            outcome: Some(outcome.to_owned()),
            closed_at: Some(now),
            closed_by: Some(actor.as_ref()),
            ..before.clone()
        };
        let sql = "UPDATE callbacks SET status = 'closed', outcome = $1, closed_at = $2, closed_by_id = $3, \
                   closed_by_name = $4 WHERE id = $5 AND status = 'open'";
        let n = on_tx!(&mut tx, |c| sqlx::query(sql)
            .bind(outcome)
            .bind(ms(now))
            .bind(actor.id)
            .bind(&actor.name)
            .bind(id)
            .execute(c)
            .await
            .db()?
            .rows_affected());
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "callback {id} was closed by someone else"
            )));
        }
        let ev = NewEvent {
            incident_id: Some(before.incident_id),
            before: to_json(&before)?,
            after: to_json(&after)?,
            ..NewEvent::of(Some(actor), "callback.closed")
        };
        Self::append_event(&mut tx, ev, now).await?;
        Self::commit(tx).await?;
        Ok(after)
    }

    pub(super) async fn events_after(&self, after: EventId, limit: i64) -> Result<Vec<Event>> {
        let sql = format!("SELECT {EVENT_COLS} FROM events WHERE id > $1 ORDER BY id LIMIT $2");
        let rows: Vec<EventRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(limit)
            .fetch_all(c)
            .await
            .db()?);
        rows.into_iter().map(EventRow::into_model).collect()
    }

    pub(super) async fn last_event_id(&self) -> Result<EventId> {
        on_read!(self, |c| sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events")
            .fetch_one(c)
            .await
            .db())
    }

    pub(super) async fn add_supplement(
        &self,
        actor: &User,
        id: IncidentId,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Supplement> {
        let text = model::parse_supplement(text)?;
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        Self::load_incident(&mut tx, id).await?;
        let s = Self::insert_supplement(&mut tx, actor, id, &text, None, now).await?;
        Self::commit(tx).await?;
        Ok(s)
    }

    pub(super) async fn supplements(&self, id: IncidentId) -> Result<Vec<Supplement>> {
        let sql = format!("SELECT {SUPPLEMENT_COLS} FROM supplements WHERE incident_id = $1 ORDER BY id");
        let rows: Vec<SupplementRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_all(c)
            .await
            .db()?);
        rows.into_iter().map(SupplementRow::into_model).collect()
    }
}
