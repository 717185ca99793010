//! Users, sessions and caller flags.

use super::*;

impl SqlStore {
    pub(super) async fn user_count(&self) -> Result<i64> {
        on_read!(self, |c| sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(c)
            .await
            .db())
    }

    pub(super) async fn create_user(
        &self,
        actor: Option<&User>,
        name: &str,
        role: Role,
        agency: Option<Agency>,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let sql = "INSERT INTO users (name, role, agency, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(sql)
            .bind(name)
            .bind(role.as_str())
            .bind(agency.map(|a| a.as_str()))
            .bind(password_hash)
            .bind(ms(now))
            .fetch_one(c)
            .await
            .map_err(|e| match map_err(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("a user named {name:?} already exists")),
                other => other,
            })?);
        let user = User {
            id,
            name: name.to_owned(),
            role,
            agency,
        };
        let ev = NewEvent {
            after: to_json(&user)?,
            ..NewEvent::of(actor, "user.created")
        };
        Self::append_event(&mut tx, ev, now).await?;
        Self::commit(tx).await?;
        Ok(user)
    }

    pub(super) async fn credentials(&self, name: &str) -> Result<Option<(User, String)>> {
        let sql = "SELECT id, name, role, agency, password_hash FROM users WHERE name = $1";
        let row: Option<UserRow> = on_read!(self, |c| sqlx::query_as(sql).bind(name).fetch_optional(c).await.db()?);
        row.map(UserRow::into_model).transpose()
    }

    pub(super) async fn users(&self) -> Result<Vec<User>> {
        let sql = "SELECT id, name, role, agency, password_hash FROM users ORDER BY id";
        let rows: Vec<UserRow> = on_read!(self, |c| sqlx::query_as(sql).fetch_all(c).await.db()?);
        rows.into_iter().map(|r| r.into_model().map(|(u, _)| u)).collect()
    }

    pub(super) async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        // Sweep expired sessions on the way; sign-ins are rare enough.
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(ms(now))
            .execute(c)
            .await
            .map(drop)
            .db()?);
        let sql = "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
        on_tx!(&mut tx, |c| sqlx::query(sql)
            .bind(token_hash)
            .bind(user)
            .bind(ms(now))
            .bind(ms(expires))
            .execute(c)
            .await
            .map(drop)
            .db()?);
        Self::commit(tx).await
    }

    pub(super) async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let sql = "SELECT u.id, u.name, u.role, u.agency, u.password_hash FROM sessions s \
                   JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2";
        let row: Option<UserRow> = on_read!(self, |c| sqlx::query_as(sql)
            .bind(token_hash)
            .bind(ms(now))
            .fetch_optional(c)
            .await
            .db()?);
        Ok(row.map(UserRow::into_model).transpose()?.map(|(u, _)| u))
    }

    pub(super) async fn signed_in(&self, now: DateTime<Utc>) -> Result<Vec<UserId>> {
        let rows: Vec<(i64,)> = self
            .rows(
                "SELECT DISTINCT user_id FROM sessions WHERE expires_at >= $1 ORDER BY user_id".into(),
                &[ms(now)],
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    pub(super) async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(c)
            .await
            .map(drop)
            .db()?);
        Self::commit(tx).await
    }

    pub(super) async fn add_flag(
        &self,
        actor: &User,
        phone: &CallerPhone,
        flag: CallerFlagKind,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<CallerFlag> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let sql = "INSERT INTO caller_flags (phone, flag, note, created_by_id, created_by_name, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(sql)
            .bind(phone.as_str())
            .bind(flag.as_str())
            .bind(note)
            .bind(actor.id)
            .bind(&actor.name)
            .bind(ms(now))
            .fetch_one(c)
            .await
            .db()?);
        let f = CallerFlag {
            id,
            phone: phone.clone(),
            flag,
            note: note.to_owned(),
            created_by: actor.as_ref(),
            created_at: now,
        };
        let ev = NewEvent {
            after: to_json(&f)?,
            ..NewEvent::of(Some(actor), "caller.flagged")
        };
        Self::append_event(&mut tx, ev, now).await?;
        Self::commit(tx).await?;
        Ok(f)
    }

    pub(super) async fn remove_flag(&self, actor: &User, id: i64, now: DateTime<Utc>) -> Result<()> {
        let now = at_ms(now);
        let mut tx = self.begin().await?;
        let sql = "SELECT id, phone, flag, note, created_by_id, created_by_name, created_at FROM caller_flags \
                   WHERE id = $1 AND removed_at IS NULL";
        let row: Option<FlagRow> = on_tx!(&mut tx, |c| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(c)
            .await
            .db()?);
        let flag = row.or_not_found(|| format!("caller flag {id}"))?.into_model()?;
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE caller_flags SET removed_at = $1, removed_by_id = $2 WHERE id = $3"
        )
        .bind(ms(now))
        .bind(actor.id)
        .bind(id)
        .execute(c)
        .await
        .map(drop)
        .db()?);
        let ev = NewEvent {
            before: to_json(&flag)?,
            ..NewEvent::of(Some(actor), "caller.unflagged")
        };
        Self::append_event(&mut tx, ev, now).await?;
        Self::commit(tx).await
    }
}
