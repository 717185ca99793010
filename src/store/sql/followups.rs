//! Follow-ups (回访) and rectifications (整改): opened inside the
//! transaction that resolves a call or closes a referral, recorded by the
//! staff or a gateway, and the rectification a dissatisfied caller opens.

use super::*;

impl SqlStore {
    /// Opens the follow-up a call just dealt with is owed, inside `tx`,
    /// when the policy wants one and the caller can be reached.
    pub(super) async fn open_followup(
        &self,
        tx: &mut Tx,
        actor: &User,
        inc: &Incident,
        referral: Option<&Referral>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let priority = inc.effective_priority();
        if !model::followup_wanted(priority, inc.id, self.policy.followup_share) {
            return Ok(());
        }
        // Nobody to ask: a caller without a number (a web tip from an
        // anonymous account) is not followed up.
        let Some(phone) = callback_phone(inc) else {
            return Ok(());
        };
        let mut f = Followup {
            id: 0,
            incident_id: inc.id,
            referral_id: referral.map(|r| r.id),
            channel: model::followup_channel(inc.channel),
            status: FollowupStatus::Open,
            phone: Some(phone),
            category: inc.effective_category(),
            priority,
            unit_id: inc.unit_id,
            agency: referral.map(|r| r.agency),
            operator: inc.handled_by.clone(),
            created_at: now,
            outcome: None,
            reason: None,
            done_at: None,
            done_by: None,
        };
        let sql = "INSERT INTO followups (incident_id, referral_id, channel, status, phone, category, priority, \
                   unit_id, agency, operator_id, operator_name, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id";
        f.id = on_tx!(tx, |c| sqlx::query_scalar(sql)
            .bind(f.incident_id)
            .bind(f.referral_id)
            .bind(f.channel.as_str())
            .bind(f.status.as_str())
            .bind(f.phone.as_ref().map(|p| p.as_str()))
            .bind(f.category.map(|c| c.as_str()))
            .bind(f.priority.as_str())
            .bind(f.unit_id)
            .bind(f.agency.map(|a| a.as_str()))
            .bind(f.operator.as_ref().map(|o| o.id))
            .bind(f.operator.as_ref().map(|o| o.name.as_str()))
            .bind(ms(now))
            .fetch_one(c)
            .await
            .db()?);
        let ev = NewEvent {
            incident_id: Some(inc.id),
            referral_id: f.referral_id,
            after: to_json(&f)?,
            ..NewEvent::of(Some(actor), "followup.opened")
        };
        Self::append_event(tx, ev, now).await?;
        Ok(())
    }

    pub(super) async fn followups(&self, f: &FollowupFilter) -> Result<Vec<Followup>> {
        let mut q = Filtered::new(format!("SELECT {FOLLOWUP_COLS} FROM followups WHERE 1 = 1"));
        if f.open_only {
            q.and_eq("status", Value::Text(FollowupStatus::Open.as_str().to_owned()));
        }
        if let Some(c) = f.channel {
            q.and_eq("channel", Value::Text(c.as_str().to_owned()));
        }
        if let Some(i) = f.incident_id {
            q.and_eq("incident_id", Value::Int(i));
        }
        q.then("ORDER BY created_at, id", 2000);
        let rows: Vec<FollowupRow> = self.fetch(q).await?;
        rows.into_iter().map(FollowupRow::into_model).collect()
    }

    pub(super) async fn record_followup(
        &self,
        actor: &User,
        id: i64,
        outcome: Satisfaction,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<FollowupOutcome> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let row: FollowupRow = row_by_id(&mut tx, FOLLOWUP_COLS, "followups", id, "follow-up").await?;
        let mut f = row.into_model()?;
        model::record_followup(&mut f, outcome, reason, actor, now)?;
        let sql = "UPDATE followups SET status = $1, outcome = $2, reason = $3, done_at = $4, done_by_id = $5, \
                   done_by_name = $6 WHERE id = $7 AND status = 'open'";
        let n = on_tx!(&mut tx, |c| sqlx::query(sql)
            .bind(f.status.as_str())
            .bind(f.outcome.map(|o| o.as_str()))
            .bind(&f.reason)
            .bind(f.done_at.map(ms))
            .bind(actor.id)
            .bind(&actor.name)
            .bind(id)
            .execute(c)
            .await
            .db()?
            .rows_affected());
        if n == 0 {
            return Err(StoreError::Domain(model::DomainError::conflict(
                "wrong_state",
                "this follow-up was recorded by someone else meanwhile",
            )));
        }
        let ev = NewEvent {
            incident_id: Some(f.incident_id),
            referral_id: f.referral_id,
            after: to_json(&f)?,
            note: f.reason.as_deref(),
            ..NewEvent::of(Some(actor), "followup.done")
        };
        Self::append_event(&mut tx, ev, now).await?;
        let mut rectification = model::rectification_for(&f, self.policy.rectify_working_days, now);
        if let Some(r) = &mut rectification {
            let sql = "INSERT INTO rectifications (followup_id, incident_id, unit_id, agency, reason, created_at, \
                       due_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
            r.id = on_tx!(&mut tx, |c| sqlx::query_scalar(sql)
                .bind(r.followup_id)
                .bind(r.incident_id)
                .bind(r.unit_id)
                .bind(r.agency.map(|a| a.as_str()))
                .bind(&r.reason)
                .bind(ms(r.created_at))
                .bind(ms(r.due_at))
                .bind(r.status.as_str())
                .fetch_one(c)
                .await
                .db()?);
            let ev = NewEvent {
                incident_id: Some(r.incident_id),
                unit_id: r.unit_id,
                after: to_json(&*r)?,
                note: Some(&r.reason),
                ..NewEvent::of(Some(actor), "rectification.opened")
            };
            Self::append_event(&mut tx, ev, now).await?;
        }
        Self::commit(tx).await?;
        Ok(FollowupOutcome {
            followup: f,
            rectification,
        })
    }

    pub(super) async fn rectifications(
        &self,
        open_only: bool,
        agency: Option<Agency>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Rectification>> {
        let mut q = Filtered::new(format!("SELECT {RECTIFICATION_COLS} FROM rectifications WHERE 1 = 1"));
        if open_only {
            q.and_eq("status", Value::Text(RectificationStatus::Open.as_str().to_owned()));
        }
        if let Some(a) = agency {
            q.and_eq("agency", Value::Text(a.as_str().to_owned()));
        }
        q.then("ORDER BY due_at, id", 2000);
        let rows: Vec<RectificationRow> = self.fetch(q).await?;
        rows.into_iter().map(|r| r.into_model(now)).collect()
    }

    pub(super) async fn close_rectification(
        &self,
        actor: &User,
        id: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Rectification> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let row: RectificationRow =
            row_by_id(&mut tx, RECTIFICATION_COLS, "rectifications", id, "rectification").await?;
        let before = row.into_model(now)?;
        let mut r = before.clone();
        model::close_rectification(&mut r, note, actor, now)?;
        let sql = "UPDATE rectifications SET status = $1, note = $2, closed_at = $3, closed_by_id = $4, \
                   closed_by_name = $5 WHERE id = $6 AND status = 'open'";
        let n = on_tx!(&mut tx, |c| sqlx::query(sql)
            .bind(r.status.as_str())
            .bind(&r.note)
            .bind(r.closed_at.map(ms))
            .bind(actor.id)
            .bind(&actor.name)
            .bind(id)
            .execute(c)
            .await
            .db()?
            .rows_affected());
        if n == 0 {
            return Err(StoreError::Domain(model::DomainError::conflict(
                "wrong_state",
                "this rectification was closed by someone else meanwhile",
            )));
        }
        let ev = NewEvent {
            incident_id: Some(r.incident_id),
            unit_id: r.unit_id,
            before: to_json(&before)?,
            after: to_json(&r)?,
            note: r.note.as_deref(),
            ..NewEvent::of(Some(actor), "rectification.closed")
        };
        Self::append_event(&mut tx, ev, now).await?;
        Self::commit(tx).await?;
        Ok(r)
    }
}
