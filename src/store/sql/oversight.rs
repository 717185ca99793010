//! What a shift lead reads: caller history and counts, shift statistics,
//! alerts, the nuisance ranking, a caller's dossier and the audit log.

use super::*;

impl SqlStore {
    /// Runs `read` once one of the statistics' connections is free.
    async fn scan<T>(&self, read: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        let _turn = self
            .scans
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("the store is shutting down".into()))?;
        read.await
    }

    /// The p50 and p90 of `spec`'s delay over the `count` calls that have
    /// it, on SQLite (which has no percentile aggregate): each the row at
    /// its nearest rank.
    async fn percentiles(&self, range: [i64; 2], spec: &TimingSpec, count: i64) -> Result<[Option<i64>; 2]> {
        let mut pct = [None, None];
        if count > 0 {
            for (slot, p) in pct.iter_mut().zip([50, 90]) {
                let sql = format!(
                    "SELECT {} FROM incidents WHERE received_at >= $1 AND received_at < $2 AND {} \
                     ORDER BY 1 LIMIT 1 OFFSET $3",
                    spec.delay, spec.measured
                );
                let (d,): (i64,) = self.row(sql, &[range[0], range[1], nearest_rank(p, count) - 1]).await?;
                *slot = Some(d);
            }
        }
        Ok(pct)
    }

    pub(super) async fn caller_counts(&self, phone: &CallerPhone, now: DateTime<Utc>) -> Result<CallerCounts> {
        let month_ago = ms(now) - 30 * 24 * 3600 * 1000;
        let invalid = cond::CONFIRMED_INVALID;
        let sql = format!(
            "SELECT COUNT(*), \
             COALESCE(SUM(CASE WHEN {invalid} THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN {invalid} AND received_at >= $2 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN {invalid} AND dispatched_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
             (SELECT COUNT(*) FROM caller_flags WHERE phone = $1 AND removed_at IS NULL) \
             FROM incidents WHERE phone = $1"
        );
        let (total_calls, invalid_calls, invalid_last_30d, wasted_dispatches, active_flags): (i64, i64, i64, i64, i64) =
            on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(phone.as_str())
                .bind(month_ago)
                .fetch_one(c)
                .await
                .db()?);
        Ok(CallerCounts {
            total_calls,
            invalid_calls,
            invalid_last_30d,
            wasted_dispatches,
            active_flags,
        })
    }

    pub(super) async fn caller_history(&self, phone: &CallerPhone, now: DateTime<Utc>) -> Result<CallerHistory> {
        let p = phone.as_str();
        let counts = self.caller_counts(phone, now).await?;
        let sql = format!("SELECT {INCIDENT_COLS} FROM incidents WHERE phone = $1 ORDER BY received_at DESC LIMIT 200");
        let rows: Vec<IncidentRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(p)
            .fetch_all(c)
            .await
            .db()?);
        let incidents = rows
            .into_iter()
            .map(|r| {
                r.into_model().map(|i| IncidentSummary {
                    id: i.id,
                    channel: i.channel,
                    received_at: i.received_at,
                    status: i.status,
                    category: i.effective_category(),
                    close_reason: i.close_reason,
                    narrative: i.narrative,
                })
            })
            .collect::<Result<_>>()?;
        let sql = "SELECT id, phone, flag, note, created_by_id, created_by_name, created_at FROM caller_flags \
                   WHERE phone = $1 AND removed_at IS NULL ORDER BY created_at DESC";
        let flags: Vec<FlagRow> = on_read!(self, |c| sqlx::query_as(sql).bind(p).fetch_all(c).await.db()?);
        Ok(CallerHistory {
            phone: phone.clone(),
            total_calls: counts.total_calls,
            invalid_calls: counts.invalid_calls,
            invalid_last_30d: counts.invalid_last_30d,
            wasted_dispatches: counts.wasted_dispatches,
            flags: flags.into_iter().map(FlagRow::into_model).collect::<Result<_>>()?,
            incidents,
        })
    }

    pub(super) async fn stats(&self, q: &StatsQuery, now: DateTime<Utc>) -> Result<ShiftStats> {
        const HOUR_MS: i64 = 3_600_000;
        let range = [ms(q.from), ms(q.to)];
        let now_ms = ms(now);
        let within = "FROM incidents WHERE received_at >= $1 AND received_at < $2";
        let eff_category = "COALESCE(category, sugg_category, '')";
        let invalid = format!("(COALESCE(close_reason, '') = 'invalid' OR {eff_category} = 'invalid')");
        let non_police = format!("(status = 'referred' OR {eff_category} = 'non_police')");

        // One pass over the range for every count and delay distribution
        // (a month of a province is 360,000 calls; each pass costs).
        let t =
            |delay: &'static str, measured: &'static str, missed: Option<&'static str>, secs: Option<i64>| TimingSpec {
                delay,
                measured,
                missed,
                threshold_ms: secs.map(|s| s * 1000),
            };
        let specs = [
            t(
                "(claimed_at - received_at)",
                "claimed_at IS NOT NULL",
                Some("(COALESCE(dispatched_at, closed_at, $3) - received_at) > {th}"),
                Some(q.answer_secs),
            ),
            t(
                "(dispatched_at - received_at)",
                "dispatched_at IS NOT NULL",
                None,
                Some(q.dispatch_secs),
            ),
            // A call still without a unit past the limit has failed it, as
            // for dispatch; a unit still out past the feedback limit has
            // too. Out is when the unit set off: it signed for the order,
            // or (its signature lost) it reached the scene.
            t(
                "(COALESCE(acknowledged_at, on_scene_at) - received_at)",
                "COALESCE(acknowledged_at, on_scene_at) IS NOT NULL",
                Some(
                    "(status IN ('new', 'in_progress') OR (status = 'dispatched' AND acknowledged_at IS NULL)) \
                     AND ($3 - received_at) > {th}",
                ),
                Some(q.out_secs),
            ),
            t(
                "(acknowledged_at - dispatched_at)",
                "acknowledged_at IS NOT NULL AND dispatched_at IS NOT NULL",
                Some("status = 'dispatched' AND acknowledged_at IS NULL AND ($3 - dispatched_at) > {th}"),
                Some(q.ack_secs),
            ),
            t(
                "(closed_at - dispatched_at)",
                "dispatched_at IS NOT NULL AND status = 'resolved'",
                Some(
                    "dispatched_at IS NOT NULL AND status IN ('dispatched', 'on_scene') AND ($3 - dispatched_at) > {th}",
                ),
                Some(q.feedback_secs),
            ),
            t(
                "(on_scene_at - dispatched_at)",
                "on_scene_at IS NOT NULL AND dispatched_at IS NOT NULL",
                None,
                None,
            ),
        ];
        let pg = matches!(self.db, Db::Pg(_));
        let mut cols = vec![
            format!("COUNT(CASE WHEN {invalid} THEN 1 END)"),
            format!("COUNT(CASE WHEN NOT {invalid} AND {non_police} THEN 1 END)"),
            format!("COUNT(CASE WHEN NOT {invalid} AND NOT {non_police} AND {eff_category} <> '' THEN 1 END)"),
            "COUNT(*)".to_owned(),
        ];
        for spec in &specs {
            cols.extend(spec.columns(pg));
        }
        let sql = format!("SELECT {} {within}", cols.join(", "));
        let pass = async {
            on_read!(self, |c| {
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(range[0])
                    .bind(range[1])
                    .bind(now_ms)
                    .fetch_one(c)
                    .await
                    .db()?;
                split_pass(&row, &specs, pg)
            })
        };

        // Categories, referrals by agency and triage agreement in one pass.
        // Agreement counts the calls an operator disposed of (as `triage
        // export` counts them); non-police and invalid calls carry no
        // operator priority: P4.
        type Kinds = (Option<String>, Option<String>, Option<String>, i64, i64, i64);
        let kinds = self.rows::<Kinds>(
            format!(
                "SELECT {eff_category}, CASE WHEN status = 'referred' THEN agency END, \
                 CASE WHEN handled_by_id IS NOT NULL AND category IS NOT NULL THEN sugg_category END, \
                 COUNT(*), COUNT(CASE WHEN category = sugg_category THEN 1 END), \
                 COUNT(CASE WHEN category = sugg_category \
                   AND COALESCE(priority, 'P4') = COALESCE(sugg_priority, 'P4') THEN 1 END) \
                 {within} GROUP BY 1, 2, 3"
            ),
            &range,
        );
        let queue_now = self.row::<(i64, i64, Option<i64>)>(
            format!(
                "SELECT COUNT(*), COUNT(CASE WHEN status = 'new' THEN 1 END), \
                 MIN(CASE WHEN status = 'new' THEN received_at END) FROM incidents WHERE {}",
                cond::OPEN
            ),
            &[],
        );
        let handled = self.rows::<(i64, Option<String>, i64, Option<f64>)>(
            format!(
                "SELECT handled_by_id, MAX(handled_by_name), COUNT(*), \
                 CAST(AVG(CASE WHEN claimed_at IS NOT NULL \
                      THEN COALESCE(dispatched_at, closed_at) - claimed_at END) AS DOUBLE PRECISION) \
                 {within} AND handled_by_id IS NOT NULL GROUP BY handled_by_id"
            ),
            &range,
        );
        let holding = self.rows::<(i64, Option<String>, i64)>(
            format!(
                "SELECT holder_id, MAX(holder_name), COUNT(*) FROM incidents \
                 WHERE {} AND holder_id IS NOT NULL GROUP BY holder_id",
                cond::OPEN
            ),
            &[],
        );
        // Hours of the range up to now (days, past a month), with arrivals
        // by channel and the open queue at each one's end: the depth when the
        // range began, plus arrivals, minus calls that left the queue
        // (dispatched or closed).
        let left = "COALESCE(dispatched_at, closed_at)";
        let bucket_hours = model::stats::bucket_hours(q.to - q.from);
        let bucket_ms = bucket_hours * HOUR_MS;
        // Days are the centre's calendar days (the first one partly before
        // the range); hours count from the range's start.
        let origin = ms(model::stats::bucket_origin(q.from, bucket_hours));
        let bucketed = [range[0], range[1], origin];
        let arrivals = self.rows::<(i64, String, i64)>(
            format!("SELECT (received_at - $3) / {bucket_ms}, channel, COUNT(*) {within} GROUP BY 1, 2"),
            &bucketed,
        );
        let departures = self.rows::<(i64, i64)>(
            format!(
                "SELECT ({left} - $3) / {bucket_ms}, COUNT(*) FROM incidents \
                 WHERE {left} >= $1 AND {left} < $2 GROUP BY 1"
            ),
            &bucketed,
        );
        let initial = self.row::<(i64,)>(
            format!("SELECT COUNT(*) FROM incidents WHERE received_at < $1 AND ({left} IS NULL OR {left} >= $1)"),
            &range[..1],
        );
        type WorkRow = (String, i64, i64, i64, i64, i64, Option<f64>, Option<f64>);
        let bounds = [range[0], range[1], now_ms];
        let work = self.rows::<WorkRow>(
            "SELECT agency, COUNT(*), COUNT(accepted_at), COUNT(returned_at), \
             COUNT(CASE WHEN status = 'closed' THEN 1 END), \
             COUNT(CASE WHEN (status = 'sent' AND due_at < $3) \
               OR (status = 'accepted' AND feedback_due_at < $3) \
               OR (status = 'feedback' AND close_due_at < $3) THEN 1 END), \
             CAST(AVG(accepted_at - created_at) AS DOUBLE PRECISION), \
             CAST(AVG(CASE WHEN status = 'closed' THEN closed_at - created_at END) AS DOUBLE PRECISION) \
             FROM referrals WHERE created_at >= $1 AND created_at < $2 GROUP BY agency ORDER BY agency"
                .to_owned(),
            &bounds,
        );
        let followups = self.followup_stats(range, now_ms);
        // The passes run side by side on the pool: a month is a few hundred
        // milliseconds of scanning each, and the database has the cores.
        let (
            (ints, pcts),
            kinds,
            (depth, unclaimed, oldest),
            handled,
            holding,
            arrivals,
            departures,
            (initial,),
            work,
            followups,
        ) = tokio::try_join!(
            self.scan(pass),
            self.scan(kinds),
            self.scan(queue_now),
            self.scan(handled),
            self.scan(holding),
            self.scan(arrivals),
            self.scan(departures),
            self.scan(initial),
            self.scan(work),
            self.scan(followups)
        )?;

        let [invalid_n, non_police_n, police_n, total] = [ints[0], ints[1], ints[2], ints[3]];
        let mut timings = Vec::with_capacity(specs.len());
        for (k, spec) in specs.iter().enumerate() {
            let [count, within, missed] = [ints[4 + 3 * k], ints[5 + 3 * k], ints[6 + 3 * k]];
            let pct = if pg {
                [pcts[2 * k], pcts[2 * k + 1]]
            } else {
                self.percentiles(range, spec, count).await?
            };
            timings.push(Timing {
                count,
                p50_secs: pct[0].map(|d| d as f64 / 1000.0),
                p90_secs: pct[1].map(|d| d as f64 / 1000.0),
                threshold_secs: spec.threshold_ms.map(|m| m / 1000),
                within: if spec.threshold_ms.is_some() { within } else { 0 },
                judged: if spec.threshold_ms.is_some() { count + missed } else { 0 },
            });
        }
        let [claim, dispatch, out, ack, feedback, on_scene]: [Timing; 6] = timings
            .try_into()
            .map_err(|_| StoreError::Internal("a delay is missing".into()))?;

        let mut by_category: std::collections::BTreeMap<model::Category, i64> = Default::default();
        let mut by_agency: std::collections::BTreeMap<Agency, i64> = Default::default();
        let mut agreement: std::collections::BTreeMap<model::Category, (i64, i64, i64)> = Default::default();
        for (eff, agency, judged, n, kept_category, kept_priority) in kinds {
            if let Some(c) = eff.filter(|c| !c.is_empty()) {
                *by_category.entry(parse("category", &c)?).or_default() += n;
            }
            if let Some(a) = agency {
                *by_agency.entry(parse("agency", &a)?).or_default() += n;
            }
            if let Some(c) = judged {
                let e = agreement.entry(parse("category", &c)?).or_default();
                e.0 += n;
                e.1 += kept_category;
                e.2 += kept_priority;
            }
        }

        let queue = QueueNow {
            depth,
            unclaimed,
            oldest_received_at: oldest.map(read_ts).transpose()?,
            oldest_wait_secs: oldest.map(|o| (now_ms - o).max(0) / 1000),
        };
        let mut operators: Vec<OperatorStats> = handled
            .into_iter()
            .map(|(id, name, n, avg)| OperatorStats {
                operator: UserRef {
                    id,
                    name: name.unwrap_or_default(),
                },
                handled: n,
                avg_handling_secs: avg.map(|a| a / 1000.0),
                holding: 0,
            })
            .collect();
        for (id, name, n) in holding {
            match operators.iter_mut().find(|o| o.operator.id == id) {
                Some(o) => o.holding = n,
                None => operators.push(OperatorStats {
                    operator: UserRef {
                        id,
                        name: name.unwrap_or_default(),
                    },
                    handled: 0,
                    avg_handling_secs: None,
                    holding: n,
                }),
            }
        }
        operators.sort_by(|a, b| b.handled.cmp(&a.handled).then(a.operator.name.cmp(&b.operator.name)));

        let span_end = range[1].min(now_ms.max(range[0]));
        let hours = ((span_end - origin + bucket_ms - 1) / bucket_ms).max(1) as usize;
        let mut hourly: Vec<HourBucket> = (0..hours)
            .map(|h| {
                Ok(HourBucket {
                    start: read_ts(origin + h as i64 * bucket_ms)?,
                    by_channel: Default::default(),
                    queue_depth: 0,
                })
            })
            .collect::<Result<_>>()?;
        let mut delta = vec![0i64; hours];
        let mut by_channel = std::collections::BTreeMap::new();
        for (h, channel, n) in arrivals {
            let channel: model::Channel = parse("channel", &channel)?;
            *by_channel.entry(channel).or_default() += n;
            if let Some(b) = hourly.get_mut(h as usize) {
                *b.by_channel.entry(channel).or_default() += n;
                delta[h as usize] += n;
            }
        }
        for (h, n) in departures {
            if let Some(d) = delta.get_mut(h as usize) {
                *d -= n;
            }
        }
        let mut depth_at = initial;
        for (b, d) in hourly.iter_mut().zip(delta) {
            depth_at += d;
            b.queue_depth = depth_at;
        }

        // In the taxonomy's order, police categories first.
        let triage_agreement: Vec<_> = agreement
            .into_iter()
            .map(
                |(suggested, (confirmed, kept_category, kept_priority))| crate::model::stats::TriageAgreement {
                    suggested,
                    confirmed,
                    kept_category,
                    kept_priority,
                },
            )
            .collect();

        let agency_work = work
            .into_iter()
            .map(|(a, sent, accepted, returned, closed, overdue, accept_ms, close_ms)| {
                Ok(crate::model::stats::AgencyWork {
                    agency: parse("agency", &a)?,
                    sent,
                    accepted,
                    returned,
                    closed,
                    overdue,
                    avg_accept_secs: accept_ms.map(|m| m / 1000.0),
                    avg_close_secs: close_ms.map(|m| m / 1000.0),
                })
            })
            .collect::<Result<Vec<_>>>()?;

        Ok(ShiftStats {
            from: q.from,
            to: q.to,
            generated_at: now,
            total,
            by_channel,
            classes: Classes {
                police: police_n,
                non_police: non_police_n,
                invalid: invalid_n,
                unclassified: total - police_n - non_police_n - invalid_n,
            },
            by_category,
            by_agency,
            claim,
            dispatch,
            on_scene,
            queue,
            operators,
            hourly,
            bucket_hours,
            triage_agreement,
            agency_work,
            followups,
            kpis: crate::model::stats::Kpis { ack, out, feedback },
        })
    }

    /// Follow-ups opened in `range`, by outcome and per unit, agency,
    /// operator and category; rectifications open now.
    async fn followup_stats(&self, range: [i64; 2], now_ms: i64) -> Result<crate::model::stats::FollowupStats> {
        use crate::model::stats::FollowupStats;
        let (within, counts) = (FOLLOWUPS_WITHIN, FOLLOWUP_COUNTS);
        let (opened, done, satisfied, dissatisfied, unreachable): (i64, i64, i64, i64, i64) = self
            .row(
                format!("SELECT COUNT(*), COUNT(CASE WHEN f.status = 'done' THEN 1 END), {counts} {within}"),
                &range,
            )
            .await?;
        let (rectifications_open, rectifications_overdue): (i64, i64) = self
            .row(
                "SELECT COUNT(*), COUNT(CASE WHEN due_at < $1 THEN 1 END) FROM rectifications WHERE status = 'open'"
                    .to_owned(),
                &[now_ms],
            )
            .await?;
        Ok(FollowupStats {
            opened,
            done,
            satisfied,
            dissatisfied,
            unreachable,
            rectifications_open,
            rectifications_overdue,
            by_unit: self.satisfaction_by("u.name", range).await?,
            by_agency: self.satisfaction_by("f.agency", range).await?,
            by_operator: self.satisfaction_by("f.operator_name", range).await?,
            by_category: self.satisfaction_by("f.category", range).await?,
        })
    }

    /// Follow-ups done in `range` grouped by `key` (a column of `followups
    /// f` or `units u`).
    async fn satisfaction_by(&self, key: &str, range: [i64; 2]) -> Result<Vec<crate::model::stats::SatisfactionRow>> {
        let rows: Vec<(String, i64, i64, i64, i64)> = self
            .rows(
                format!(
                    "SELECT {key}, COUNT(*), {FOLLOWUP_COUNTS} {FOLLOWUPS_WITHIN} AND f.status = 'done' \
                     AND {key} IS NOT NULL GROUP BY {key} ORDER BY {key}"
                ),
                &range,
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(key, done, satisfied, dissatisfied, unreachable)| crate::model::stats::SatisfactionRow {
                    key,
                    done,
                    satisfied,
                    dissatisfied,
                    unreachable,
                },
            )
            .collect())
    }

    pub(super) async fn alerts(&self, q: &AlertQuery, now: DateTime<Utc>) -> Result<Alerts> {
        let now_ms = ms(now);
        let waves: Vec<(String, i64, i64, i64)> = self
            .rows(
                "SELECT phone, COUNT(*), MIN(received_at), MAX(received_at) FROM incidents \
                 WHERE phone IS NOT NULL AND received_at >= $1 GROUP BY phone HAVING COUNT(*) >= $2 \
                 ORDER BY COUNT(*) DESC, phone LIMIT 50"
                    .into(),
                &[now_ms - q.wave_mins * 60_000, q.wave_calls],
            )
            .await?;
        let waits: Vec<(i64, Option<String>, i64)> = self
            .rows(
                "SELECT id, COALESCE(priority, sugg_priority), received_at FROM incidents \
                 WHERE status = 'new' AND received_at <= $1 ORDER BY received_at, id LIMIT 200"
                    .into(),
                &[now_ms - q.wait_secs * 1000],
            )
            .await?;
        let holds: Vec<(i64, i64, Option<String>, i64)> = self
            .rows(
                "SELECT id, holder_id, holder_name, held_since FROM incidents \
                 WHERE status = 'in_progress' AND holder_id IS NOT NULL AND held_since <= $1 \
                 ORDER BY held_since, id LIMIT 200"
                    .into(),
                &[now_ms - q.hold_mins * 60_000],
            )
            .await?;
        Ok(Alerts {
            waves: waves
                .into_iter()
                .map(|(p, calls, first, last)| {
                    Ok(WaveAlert {
                        phone: CallerPhone::parse(&p).map_err(|e| corrupt("phone number", e))?,
                        calls,
                        first_at: read_ts(first)?,
                        last_at: read_ts(last)?,
                    })
                })
                .collect::<Result<_>>()?,
            long_waits: waits
                .into_iter()
                .map(|(id, p, at)| {
                    Ok(WaitAlert {
                        incident_id: id,
                        priority: parse_opt("priority", p.as_deref())?.unwrap_or(model::Priority::P3),
                        received_at: read_ts(at)?,
                        wait_secs: (now_ms - at) / 1000,
                    })
                })
                .collect::<Result<_>>()?,
            stale_holds: holds
                .into_iter()
                .map(|(id, holder, name, since)| {
                    Ok(HoldAlert {
                        incident_id: id,
                        holder: UserRef {
                            id: holder,
                            name: name.unwrap_or_default(),
                        },
                        held_since: read_ts(since)?,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    pub(super) async fn nuisance_ranking(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<NuisanceCaller>> {
        // Only what an operator confirmed counts against a caller, as in caller history.
        let invalid = cond::CONFIRMED_INVALID;
        // The ranking first, from the range's index alone; the flags only
        // of the numbers that made it (a month has 100,000 numbers).
        let sql = format!(
            "SELECT r.phone, r.total, r.invalid, r.wasted, \
             (SELECT COUNT(*) FROM caller_flags f WHERE f.phone = r.phone AND f.removed_at IS NULL), r.last \
             FROM (SELECT phone, COUNT(*) AS total, COUNT(CASE WHEN {invalid} THEN 1 END) AS invalid, \
                 COUNT(CASE WHEN {invalid} AND dispatched_at IS NOT NULL THEN 1 END) AS wasted, \
                 MAX(received_at) AS last \
                 FROM incidents WHERE phone IS NOT NULL AND received_at >= $1 AND received_at < $2 \
                 GROUP BY phone HAVING COUNT(CASE WHEN {invalid} THEN 1 END) > 0 \
                 ORDER BY 3 DESC, 4 DESC, 2 DESC, phone LIMIT $3) AS r \
             ORDER BY r.invalid DESC, r.wasted DESC, r.total DESC, r.phone"
        );
        let rows: Vec<(String, i64, i64, i64, i64, i64)> =
            self.rows(sql, &[ms(from), ms(to), limit.clamp(1, 1000)]).await?;
        rows.into_iter()
            .map(|(p, total, invalid, wasted, flags, last)| {
                Ok(NuisanceCaller {
                    phone: CallerPhone::parse(&p).map_err(|e| corrupt("phone number", e))?,
                    total_calls: total,
                    invalid_calls: invalid,
                    wasted_dispatches: wasted,
                    active_flags: flags,
                    last_call_at: read_ts(last)?,
                })
            })
            .collect()
    }

    pub(super) async fn dossier(&self, phone: &CallerPhone, now: DateTime<Utc>) -> Result<Dossier> {
        let history = self.caller_history(phone, now).await?;
        let sql = format!(
            "SELECT {INCIDENT_COLS} FROM incidents WHERE phone = $1 \
             ORDER BY received_at, id LIMIT 10000"
        );
        let rows: Vec<IncidentRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(phone.as_str())
            .fetch_all(c)
            .await
            .db()?);
        let incidents: Vec<Incident> = rows.into_iter().map(IncidentRow::into_model).collect::<Result<_>>()?;
        let sql = format!(
            "SELECT {SUPPLEMENT_COLS} FROM supplements WHERE incident_id IN \
             (SELECT id FROM incidents WHERE phone = $1) ORDER BY id LIMIT 10000"
        );
        let supplements: Vec<SupplementRow> = on_read!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(phone.as_str())
            .fetch_all(c)
            .await
            .db()?);
        Ok(Dossier {
            phone: phone.clone(),
            generated_at: now,
            total_calls: history.total_calls,
            invalid_calls: history.invalid_calls,
            wasted_dispatches: history.wasted_dispatches,
            flags: history.flags,
            incidents,
            supplements: supplements
                .into_iter()
                .map(SupplementRow::into_model)
                .collect::<Result<_>>()?,
        })
    }

    pub(super) async fn audit(&self, f: &AuditFilter) -> Result<Vec<Event>> {
        let mut q = Filtered::new(format!("SELECT {EVENT_COLS} FROM events WHERE at >= $1 AND at <= $2"));
        q.int(f.since.map_or(i64::MIN, ms));
        q.int(f.until.map_or(i64::MAX, ms));
        if let Some(a) = f.actor_id {
            q.and_eq("actor_id", Value::Int(a));
        }
        if let Some(i) = f.incident_id {
            q.and_eq("incident_id", Value::Int(i));
        }
        if let Some(k) = &f.kind_prefix {
            q.and_starts_with("kind", k);
        }
        q.then("ORDER BY id DESC", if f.limit > 0 { f.limit.min(5000) } else { 500 });
        let rows: Vec<EventRow> = self.fetch(q).await?;
        rows.into_iter().map(EventRow::into_model).collect()
    }
}

/// A delay distribution over the calls received in the range: `delay` is
/// an SQL expression in milliseconds, `measured` says which calls have one,
/// `missed` which calls without one have already failed the threshold
/// (`{th}` the threshold in ms, `$3` now).
struct TimingSpec {
    delay: &'static str,
    measured: &'static str,
    missed: Option<&'static str>,
    threshold_ms: Option<i64>,
}

impl TimingSpec {
    /// Its columns in the one-pass query: measured, within and missed
    /// counts, then on PostgreSQL the p50 and p90 (nearest rank, as
    /// `percentile_disc` takes them).
    fn columns(&self, pg: bool) -> Vec<String> {
        let (delay, measured) = (self.delay, self.measured);
        // A threshold is a number the service checked, never the caller's text.
        let th = self.threshold_ms.unwrap_or(i64::MAX);
        let mut cols = vec![
            format!("COUNT(CASE WHEN {measured} THEN 1 END)"),
            format!("COUNT(CASE WHEN {measured} AND {delay} <= {th} THEN 1 END)"),
            match (self.missed, self.threshold_ms) {
                (Some(cond), Some(_)) => format!(
                    "COUNT(CASE WHEN NOT ({measured}) AND {} THEN 1 END)",
                    cond.replace("{th}", &th.to_string())
                ),
                _ => "COUNT(CASE WHEN 1 = 0 THEN 1 END)".to_owned(),
            },
        ];
        if pg {
            for p in ["0.5", "0.9"] {
                cols.push(format!(
                    "percentile_disc({p}) WITHIN GROUP (ORDER BY {delay}) FILTER (WHERE {measured})"
                ));
            }
        }
        cols
    }
}

/// The one-pass row read back: its counts, and its percentiles when the
/// database computed them.
fn split_pass<R: sqlx::Row>(row: &R, specs: &[TimingSpec], pg: bool) -> Result<(Vec<i64>, Vec<Option<i64>>)>
where
    usize: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut ints = Vec::new();
    let mut pcts = Vec::new();
    let mut col = 0;
    let int = |col: &mut usize| -> Result<i64> {
        let v = row.try_get::<i64, _>(*col).db()?;
        *col += 1;
        Ok(v)
    };
    for _ in 0..4 {
        ints.push(int(&mut col)?);
    }
    for _ in specs {
        for _ in 0..3 {
            ints.push(int(&mut col)?);
        }
        if pg {
            for _ in 0..2 {
                pcts.push(row.try_get::<Option<i64>, _>(col).db()?);
                col += 1;
            }
        }
    }
    Ok((ints, pcts))
}

/// Follow-ups opened in the range `$1..$2`, with the unit each is about.
const FOLLOWUPS_WITHIN: &str =
    "FROM followups f LEFT JOIN units u ON u.id = f.unit_id WHERE f.created_at >= $1 AND f.created_at < $2";
/// Satisfied, dissatisfied and unreachable among them.
const FOLLOWUP_COUNTS: &str = "COUNT(CASE WHEN f.outcome = 'satisfied' THEN 1 END), \
     COUNT(CASE WHEN f.outcome = 'dissatisfied' THEN 1 END), \
     COUNT(CASE WHEN f.outcome = 'unreachable' THEN 1 END)";

/// At most this many calls are reviewed per request: a month of a busy
/// provincial centre fits; a year is asked in months.
const QA_MAX_CALLS: i64 = 200_000;

impl SqlStore {
    /// Reviews every call received in `from..to` (see `model::review_call`).
    pub(super) async fn qa_calls(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limits: &model::QaLimits,
        now: DateTime<Utc>,
    ) -> Result<Vec<model::QaCall>> {
        let range = [ms(from), ms(to)];
        let rows: Vec<IncidentRow> = self
            .rows(
                format!(
                    "SELECT {INCIDENT_COLS} FROM incidents WHERE received_at >= $1 AND received_at < $2 \
                     ORDER BY received_at, id LIMIT {QA_MAX_CALLS}"
                ),
                &range,
            )
            .await?;
        let in_range = "incident_id IN (SELECT id FROM incidents WHERE received_at >= $1 AND received_at < $2)";
        let callbacks: Vec<(i64, i64, Option<i64>)> = self
            .rows(
                format!("SELECT incident_id, created_at, closed_at FROM callbacks WHERE {in_range}"),
                &range,
            )
            .await?;
        // The order in force: the latest one not withdrawn.
        let referrals: Vec<(i64, i64, Option<i64>)> = self
            .rows(
                format!(
                    "SELECT incident_id, due_at, accepted_at FROM referrals WHERE {in_range} \
                     AND status <> 'withdrawn' ORDER BY id"
                ),
                &range,
            )
            .await?;
        let mut facts: std::collections::HashMap<i64, model::QaFacts> = std::collections::HashMap::new();
        for (id, opened, closed) in callbacks {
            facts.entry(id).or_default().callback = Some((read_ts(opened)?, closed.map(read_ts).transpose()?));
        }
        for (id, due, accepted) in referrals {
            facts.entry(id).or_default().referral = Some((read_ts(due)?, accepted.map(read_ts).transpose()?));
        }
        type ReviewRow = (i64, i64, String, i64, String, i64);
        let reviews: Vec<ReviewRow> = self
            .rows(
                format!(
                    "SELECT incident_id, score, note, reviewer_id, reviewer_name, at FROM qa_reviews WHERE {in_range}"
                ),
                &range,
            )
            .await?;
        let mut reviews: std::collections::HashMap<i64, model::QaReview> = reviews
            .into_iter()
            .map(|(id, score, note, reviewer_id, reviewer_name, at)| {
                Ok((
                    id,
                    model::QaReview {
                        score,
                        note,
                        reviewer: UserRef {
                            id: reviewer_id,
                            name: reviewer_name,
                        },
                        at: read_ts(at)?,
                    },
                ))
            })
            .collect::<Result<_>>()?;
        let none = model::QaFacts::default();
        rows.into_iter()
            .map(|r| {
                let inc = r.into_model()?;
                let mut call = model::review_call(&inc, facts.get(&inc.id).unwrap_or(&none), limits, now);
                call.sampled = model::sampled_for_review(&call);
                call.review = reviews.remove(&inc.id);
                Ok(call)
            })
            .collect()
    }

    /// Stores a lead's hand review of a call, replacing an earlier one.
    pub(super) async fn review_call(
        &self,
        actor: &User,
        id: IncidentId,
        score: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<model::QaReview> {
        let now = at_ms(now);
        let review = model::checked_review(score, note, actor, now)?;
        let mut tx = self.begin().await?;
        let inc = Self::load_incident(&mut tx, id).await?;
        let sql = "INSERT INTO qa_reviews (incident_id, score, note, reviewer_id, reviewer_name, at) \
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (incident_id) DO UPDATE SET score = excluded.score, \
                   note = excluded.note, reviewer_id = excluded.reviewer_id, reviewer_name = excluded.reviewer_name, \
                   at = excluded.at";
        on_tx!(&mut tx, |c| sqlx::query(sql)
            .bind(inc.id)
            .bind(review.score)
            .bind(&review.note)
            .bind(actor.id)
            .bind(&actor.name)
            .bind(ms(now))
            .execute(c)
            .await
            .db()?
            .rows_affected());
        let ev = NewEvent {
            incident_id: Some(inc.id),
            after: to_json(&review)?,
            note: Some(&review.note),
            ..NewEvent::of(Some(actor), "qa.reviewed")
        };
        Self::append_event(&mut tx, ev, now).await?;
        Self::commit(tx).await?;
        Ok(review)
    }
}
