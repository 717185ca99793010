//! A centre with history: made-up years loaded in bulk (`simulate
//! --backfill`), read through the service, and the older calls archived out
//! of the hot tables with every audit event kept.

use chrono::{Duration, Utc};
use jiejing::model::Role;
use jiejing::sim::history::{DOSSIER_NUMBER, HistoryPlan, backfill};
use reqwest::StatusCode;

use crate::backend_tests;
use crate::helpers::{Backend, fresh_db, spawn_server};

backend_tests!(a_backfilled_history_reads_back_and_its_old_calls_archive_without_losing_events);

/// One number from the database behind the service.
async fn count(url: &str, sql: &str) -> i64 {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.expect("open SQLite");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&pool)
            .await
            .expect(sql);
        pool.close().await;
        n
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("open PostgreSQL");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&pool)
            .await
            .expect(sql);
        pool.close().await;
        n
    }
}

async fn a_backfilled_history_reads_back_and_its_old_calls_archive_without_losing_events(backend: Backend) {
    let server = spawn_server(backend).await;
    let lead = server.user("lead", Role::ShiftLead, None).await;
    let url = server.db_url().to_owned();
    let store = jiejing::store::open(&url, Default::default())
        .await
        .expect("open the store");
    let now = Utc::now();
    let loaded = backfill(
        &store,
        HistoryPlan {
            calls: 3000,
            days: 90,
            end: now,
            seed: 7,
        },
        |_| {},
    )
    .await
    .expect("backfill");
    assert_eq!(loaded.incidents, 3000);
    assert!(loaded.referrals > 500 && loaded.followups > 100, "{loaded:?}");
    assert!(loaded.events > 3 * loaded.incidents, "{loaded:?}");
    assert_eq!(count(&url, "SELECT COUNT(*) FROM incidents").await, 3000);

    // Made-up history never goes on top of calls.
    let again = backfill(
        &store,
        HistoryPlan {
            calls: 10,
            days: 1,
            end: now,
            seed: 8,
        },
        |_| {},
    )
    .await;
    assert!(
        matches!(again, Err(jiejing::store::StoreError::Conflict(_))),
        "{again:?}"
    );

    // Two months at once: daily bars, and the centre's mix.
    let iso = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, s) = lead
        .get(&format!(
            "/stats?from={}&to={}",
            iso(now - Duration::days(91)),
            iso(now + Duration::minutes(1))
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["total"], 3000);
    assert_eq!(s["bucket_hours"], 24);
    let bars = s["hourly"].as_array().expect("bars").len();
    assert!((92..=93).contains(&bars), "{bars} daily bars");
    let classes = &s["classes"];
    let not_police = (classes["invalid"].as_i64().unwrap_or(0) + classes["non_police"].as_i64().unwrap_or(0)) as f64;
    assert!((not_police / 3000.0 - 0.69).abs() < 0.04, "{classes}");
    let voice = s["by_channel"]["voice"].as_i64().unwrap_or(0) as f64;
    assert!(voice / 3000.0 > 0.78, "{}", s["by_channel"]);
    // A shift's statistics stay hourly.
    let (status, shift) = lead.get("/stats").await;
    assert_eq!(status, StatusCode::OK, "{shift}");
    assert_eq!(shift["bucket_hours"], 1);
    // A year is the most one request covers.
    let (status, _) = lead
        .get(&format!(
            "/stats?from={}&to={}",
            iso(now - Duration::days(400)),
            iso(now)
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The dossier case: 220 calls, 38 patrols sent for nothing.
    let (status, d) = lead.get(&format!("/callers/{DOSSIER_NUMBER}/dossier")).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["total_calls"], 220);
    assert_eq!(d["wasted_dispatches"], 38);
    assert_eq!(d["incidents"].as_array().map(Vec::len), Some(220));
    let (status, ranking) = lead.get("/callers/nuisance").await;
    assert_eq!(status, StatusCode::OK, "{ranking}");
    assert_eq!(ranking[0]["phone"], DOSSIER_NUMBER, "{ranking}");

    // An operator's page of the audit log.
    let (_, users) = lead.get("/users").await;
    let op = users
        .as_array()
        .and_then(|a| a.iter().find(|u| u["name"] == "backfill-op01"))
        .and_then(|u| u["id"].as_i64())
        .expect("the backfill's operators");
    let (status, page) = lead.get(&format!("/audit?actor_id={op}&limit=50")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let page = page.as_array().expect("events");
    assert_eq!(page.len(), 50);
    assert!(page.iter().all(|e| e["actor"]["id"] == op));
    assert!(page.windows(2).all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64()));

    // The log numbers the calls' events in the order they happened, across
    // the loader's batches too.
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(*) FROM events a JOIN events b ON b.id = a.id + 1 \
             WHERE a.incident_id IS NOT NULL AND b.incident_id IS NOT NULL AND b.at < a.at"
        )
        .await,
        0
    );

    // The last month is never archived.
    let recent = store.archive_before(now - Duration::days(20)).await;
    assert!(
        matches!(&recent, Err(jiejing::store::StoreError::Domain(e)) if e.to_string().contains("at least the last")),
        "{recent:?}"
    );
    // Archive what is older than 40 days.
    let cutoff = now - Duration::days(40);
    let cut = cutoff.timestamp_millis();
    let events_before = count(&url, "SELECT COUNT(*) FROM events").await;
    let old_final = count(
        &url,
        &format!(
            "SELECT COUNT(*) FROM incidents WHERE received_at < {cut} \
             AND status IN ('resolved', 'referred', 'closed')"
        ),
    )
    .await;
    let done = store.archive_before(cutoff).await.expect("archive");
    let prefix = done.prefix.clone();
    let moved = |t: &str| done.moved.iter().find(|(n, _)| *n == t).map_or(0, |(_, n)| *n);
    assert!(moved("incidents") > 1000, "{done:?}");
    assert!(moved("events") > 3 * moved("incidents"), "{done:?}");
    assert!(moved("referrals") > 0 && moved("followups") > 0, "{done:?}");
    // Every copied row is in its archive table, and nothing else left.
    for (table, n) in &done.moved {
        assert_eq!(
            count(&url, &format!("SELECT COUNT(*) FROM {prefix}{table}")).await,
            *n,
            "{table}"
        );
    }
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM incidents").await + moved("incidents"),
        3000
    );
    assert_eq!(
        count(&url, "SELECT COUNT(*) FROM events").await + moved("events"),
        events_before,
        "no event lost"
    );
    // Only old finished calls went, and those that stayed have work open.
    assert_eq!(
        count(
            &url,
            &format!("SELECT COUNT(*) FROM {prefix}incidents WHERE received_at >= {cut}")
        )
        .await,
        0
    );
    assert!(moved("incidents") <= old_final);
    assert_eq!(
        count(
            &url,
            &format!(
                "SELECT COUNT(*) FROM incidents i WHERE received_at < {cut} \
                 AND status IN ('resolved', 'referred', 'closed') \
                 AND NOT EXISTS (SELECT 1 FROM referrals r WHERE r.incident_id = i.id \
                   AND r.status NOT IN ('closed', 'withdrawn')) \
                 AND NOT EXISTS (SELECT 1 FROM followups f WHERE f.incident_id = i.id AND f.status = 'open')"
            )
        )
        .await,
        0
    );
    // An archived call's events all went with it.
    assert_eq!(
        count(
            &url,
            &format!("SELECT COUNT(*) FROM events WHERE incident_id IN (SELECT id FROM {prefix}incidents)")
        )
        .await,
        0
    );
    let archived_id = count(&url, &format!("SELECT MIN(id) FROM {prefix}incidents")).await;
    let (status, _) = lead.get(&format!("/incidents/{archived_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The service reads on: the last month is whole.
    let (status, s) = lead
        .get(&format!(
            "/stats?from={}&to={}",
            iso(cutoff),
            iso(now + Duration::minutes(1))
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(
        s["total"].as_i64(),
        Some(
            count(
                &url,
                &format!("SELECT COUNT(*) FROM incidents WHERE received_at >= {cut}")
            )
            .await
        )
    );
    let (status, _) = lead.get("/queue").await;
    assert_eq!(status, StatusCode::OK);
    // The same cutoff twice is refused; nothing moves.
    let twice = store.archive_before(cutoff).await;
    assert!(
        matches!(twice, Err(jiejing::store::StoreError::Conflict(_))),
        "{twice:?}"
    );
}

/// The two commands as an operator types them.
#[tokio::test]
async fn simulate_backfill_and_archive_work_from_the_command_line() {
    let (url, _dir) = fresh_db(Backend::Sqlite).await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_jiejing"))
            .args(args)
            .env_remove("JIEJING_DB")
            .output()
            .expect("run jiejing")
    };
    let out = run(&["simulate", "--backfill", "400", "--days", "60", "--db", &url]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("backfilled 400 calls over 60 days"), "{err}");
    let out = run(&["simulate", "--backfill", "400", "--days", "60", "--db", &url]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("already holds calls"), "{err}");
    let recent = (Utc::now() - Duration::days(10)).format("%Y-%m-%d").to_string();
    let out = run(&["archive", "--db", &url, "--before", &recent]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("keep at least the last 32 days"));
    let before = (Utc::now() - Duration::days(40)).format("%Y-%m-%d").to_string();
    let out = run(&["archive", "--db", &url, "--before", &before]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let tag = before.replace('-', "");
    assert!(err.contains(&format!("rows moved to archive_{tag}_incidents")), "{err}");
    let out = run(&["archive", "--db", &url, "--before", "yesterday"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--before"));
}
