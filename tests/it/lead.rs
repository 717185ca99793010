//! The shift lead's endpoints: exact statistics over a known mix of calls,
//! overrides with reasons, alerts, the nuisance ranking and dossiers, and a
//! 403 for everyone else on every one of them.

use chrono::{DateTime, Duration, DurationRound, Utc};
use jiejing::model::{
    Agency, Category, CloseReason, IncidentId, IncidentOp, IncidentPatch, IntakeRequest, Role, Unit, UnitStatus, User,
    stats::{Dossier, ShiftStats, Thresholds},
};
use jiejing::store::{self, Policy, SqlStore, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestServer, assert_error, spawn_server};

backend_tests!(
    stats_are_exact_for_a_known_mix,
    lead_endpoints_refuse_everyone_else,
    reassign_reprioritise_and_release_are_audited,
    alerts_nuisance_ranking_and_dossier,
    qa_scores_are_exact_for_scripted_calls,
    acknowledgement_warning_and_referral_deadlines,
);

/// The service's own database, to write history with chosen clocks: delays
/// measured by the server's clock could not be asserted exactly.
struct History {
    store: SqlStore,
    users: Vec<User>,
    units: Vec<Unit>,
}

impl History {
    async fn open(srv: &TestServer) -> History {
        let store = store::open(srv.db_url(), Policy::default())
            .await
            .expect("open the store");
        let users = store.users().await.expect("users");
        let units = store.units().await.expect("units");
        History { store, users, units }
    }

    fn user(&self, name: &str) -> &User {
        self.users.iter().find(|u| u.name == name).expect("user exists")
    }

    fn unit(&self, n: usize) -> i64 {
        self.units
            .iter()
            .filter(|u| u.status == UnitStatus::Available)
            .nth(n)
            .expect("an available unit")
            .id
    }

    async fn call(&self, at: DateTime<Utc>, body: Value) -> IncidentId {
        let mut body = body;
        body["received_at"] = json!(at);
        let req: IntakeRequest = serde_json::from_value(body).expect("intake request");
        let new = req.parse(at).expect("valid intake");
        let gateway = self.user("gateway");
        self.store
            .intake(gateway, None, new, at)
            .await
            .expect("intake")
            .incident
            .id
    }

    async fn op(&self, who: &str, id: IncidentId, op: IncidentOp, at: DateTime<Utc>) {
        self.store
            .mutate(self.user(who), id, None, op, at)
            .await
            .unwrap_or_else(|e| panic!("{who} on #{id}: {e}"));
    }
}

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

async fn stats_are_exact_for_a_known_mix(backend: Backend) {
    // This centre signs for orders within 25 s, not the usual 30.
    let srv = crate::helpers::spawn_server_with(backend, |c| {
        c.policy.thresholds = Thresholds::with_overrides("ack=25").expect("valid thresholds")
    })
    .await;
    for (name, role) in [
        ("gateway", Role::Gateway),
        ("ct1", Role::CallTaker),
        ("ct2", Role::CallTaker),
    ] {
        srv.user(name, role, None).await;
    }
    let lead = srv.user("lead", Role::ShiftLead, None).await;
    let h = History::open(&srv).await;
    let t0 = Utc::now().duration_trunc(Duration::hours(1)).expect("truncate") - Duration::hours(3);
    let voice = |cat: Option<&str>| json!({ "channel": "voice", "phone": "13804310001", "location": "红旗街", "narrative": "有人打架", "category": cat });

    // Before the range and still waiting: only the queue depth sees it.
    h.call(t0 - secs(600), voice(Some("criminal"))).await;
    // Hour 0: a robbery dispatched and reached; a top-up referred to telecom.
    let a = h.call(t0, voice(Some("criminal"))).await;
    h.op("ct1", a, IncidentOp::Claim, t0 + secs(10)).await;
    let dispatch = |u| IncidentOp::Dispatch {
        unit_id: h.unit(u),
        co_notify: vec![],
    };
    h.op("ct1", a, dispatch(0), t0 + secs(50)).await;
    h.op("ct1", a, IncidentOp::Acknowledge, t0 + secs(70)).await;
    h.op("ct1", a, IncidentOp::OnScene, t0 + secs(650)).await;
    let b = h
        .call(
            t0 + secs(60),
            json!({ "channel": "sms", "phone": "13804310002", "narrative": "话费充值没到账", "category": "non_police" }),
        )
        .await;
    h.op("ct1", b, IncidentOp::Claim, t0 + secs(80)).await;
    h.op(
        "ct1",
        b,
        IncidentOp::Refer {
            agency: Agency::Telecom,
        },
        t0 + secs(140),
    )
    .await;
    // Hour 1: a prank closed as invalid; a fight dispatched slowly.
    let hour = secs(3600);
    let c = h
        .call(
            t0 + hour,
            json!({ "channel": "wechat", "wechat_id": "wx_1", "narrative": "哈哈 逗你玩" }),
        )
        .await;
    h.op("ct2", c, IncidentOp::Claim, t0 + hour + secs(5)).await;
    h.op(
        "ct2",
        c,
        IncidentOp::Close {
            reason: CloseReason::Invalid,
            note: None,
        },
        t0 + hour + secs(35),
    )
    .await;
    let d = h.call(t0 + hour + secs(100), voice(Some("public_order"))).await;
    h.op("ct2", d, IncidentOp::Claim, t0 + hour + secs(130)).await;
    h.op("ct2", d, dispatch(1), t0 + hour + secs(230)).await;
    h.op("ct2", d, IncidentOp::Acknowledge, t0 + hour + secs(260)).await;
    // Hour 2: two calls nobody took (one a silent hang-up) and one being worked.
    let two = secs(7200);
    h.call(
        t0 + two,
        json!({ "channel": "web", "web_account": "u1", "narrative": "山上起火了", "category": "disaster_accident" }),
    )
    .await;
    h.call(
        t0 + two + secs(10),
        json!({ "channel": "voice", "phone": "13804310003", "disconnect": "hangup" }),
    )
    .await;
    let g = h
        .call(
            t0 + two + secs(20),
            json!({ "channel": "sms", "phone": "13804310004", "narrative": "广场上很多人聚集", "category": "mass_incident" }),
        )
        .await;
    h.op("ct1", g, IncidentOp::Claim, t0 + two + secs(25)).await;

    let range = format!(
        "from={}&to={}",
        t0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (t0 + secs(3 * 3600)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let (status, body) = lead.get(&format!("/stats?{range}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s: ShiftStats = serde_json::from_value(body.clone()).expect("stats shape");

    assert_eq!(s.total, 7);
    let by_channel: Vec<(String, i64)> = s.by_channel.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(
        by_channel,
        [("voice", 3), ("sms", 2), ("wechat", 1), ("web", 1)].map(|(k, v)| (k.to_owned(), v))
    );
    assert_eq!(
        (
            s.classes.police,
            s.classes.non_police,
            s.classes.invalid,
            s.classes.unclassified
        ),
        (4, 1, 1, 1)
    );
    assert_eq!(s.classes.share(s.classes.non_police + s.classes.invalid), 2.0 / 7.0);
    let by_category: Vec<(String, i64)> = s.by_category.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(
        by_category,
        [
            ("criminal", 1),
            ("public_order", 1),
            ("mass_incident", 1),
            ("disaster_accident", 1),
            ("non_police", 1),
            ("invalid", 1)
        ]
        .map(|(k, v)| (k.to_owned(), v))
    );
    assert_eq!(body["by_agency"], json!({ "telecom": 1 }));

    // Claim delays 10, 20, 5, 30, 5 s; two calls are still unclaimed well past 15 s.
    assert_eq!(
        (s.claim.count, s.claim.p50_secs, s.claim.p90_secs),
        (5, Some(10.0), Some(30.0))
    );
    assert_eq!((s.claim.within, s.claim.judged), (3, 7));
    // Intake to dispatch 50 s and 130 s against 60 s.
    assert_eq!(
        (s.dispatch.count, s.dispatch.p50_secs, s.dispatch.p90_secs),
        (2, Some(50.0), Some(130.0))
    );
    assert_eq!((s.dispatch.within, s.dispatch.judged), (1, 2));
    assert_eq!(s.dispatch.share_within(), Some(0.5));
    assert_eq!(
        (s.on_scene.count, s.on_scene.p50_secs, s.on_scene.p90_secs),
        (1, Some(600.0), Some(600.0))
    );

    // Orders signed for within the centre's 25 s of dispatch: a in 20 s
    // did, d in 30 s did not.
    assert_eq!(
        (
            s.kpis.ack.count,
            s.kpis.ack.within,
            s.kpis.ack.judged,
            s.kpis.ack.p50_secs
        ),
        (2, 1, 2, Some(20.0))
    );
    // Police out (the unit signed and set off) within 5 minutes: a (70 s)
    // and d (160 s) did; the two calls nobody took and the one still
    // being worked have failed it.
    assert_eq!(
        (
            s.kpis.out.count,
            s.kpis.out.within,
            s.kpis.out.judged,
            s.kpis.out.p50_secs
        ),
        (2, 2, 5, Some(70.0))
    );
    // Feedback within 30 minutes of dispatch: neither a (on scene) nor d
    // (still en route) has resolved, both long past it.
    assert_eq!(
        (s.kpis.feedback.count, s.kpis.feedback.within, s.kpis.feedback.judged),
        (0, 0, 2)
    );
    let (_, own) = lead
        .get(&format!("/stats?{range}&ack_secs=30&out_secs=100&feedback_secs=86400"))
        .await;
    assert_eq!(
        (&own["kpis"]["ack"]["within"], &own["kpis"]["ack"]["judged"]),
        (&json!(2), &json!(2)),
        "a request's own limit wins"
    );
    assert_eq!(
        (&own["kpis"]["out"]["within"], &own["kpis"]["out"]["judged"]),
        (&json!(1), &json!(5))
    );
    assert_eq!(own["kpis"]["feedback"]["judged"], 0, "nobody is a day late yet");

    // The queue now: the call from before the range, the two unclaimed, and
    // the one ct1 is working.
    assert_eq!((s.queue.depth, s.queue.unclaimed), (4, 3));
    assert_eq!(s.queue.oldest_received_at, Some(t0 - secs(600)));

    let ops: Vec<(String, i64, Option<f64>, i64)> = s
        .operators
        .iter()
        .map(|o| (o.operator.name.clone(), o.handled, o.avg_handling_secs, o.holding))
        .collect();
    assert_eq!(
        ops,
        vec![
            ("ct1".to_owned(), 2, Some(50.0), 1),
            ("ct2".to_owned(), 2, Some(65.0), 0)
        ]
    );

    let hours: Vec<(DateTime<Utc>, i64, i64)> = s.hourly.iter().map(|b| (b.start, b.total(), b.queue_depth)).collect();
    assert_eq!(hours, vec![(t0, 2, 1), (t0 + hour, 2, 1), (t0 + two, 3, 4)]);
    assert_eq!(
        serde_json::to_value(&s.hourly[2].by_channel).expect("json"),
        json!({ "voice": 1, "sms": 1, "web": 1 })
    );

    // A narrower threshold changes only what it should.
    let (_, strict) = lead
        .get(&format!("/stats?{range}&answer_secs=5&dispatch_secs=200"))
        .await;
    assert_eq!(strict["claim"]["within"], 2);
    assert_eq!(strict["dispatch"]["within"], 2);
    // Without a range: the current shift, which holds none of these calls
    // unless the shift began more than three hours ago.
    let (status, shift) = lead.get("/stats").await;
    assert_eq!(status, StatusCode::OK, "{shift}");
    assert!(shift["total"].as_i64().is_some_and(|n| n <= 8));

    for (query, field) in [
        ("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        ("from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "to"),
        ("answer_secs=0", "answer_secs"),
        ("from=yesterday", "from"),
    ] {
        let (status, body) = lead.get(&format!("/stats?{query}")).await;
        let err = assert_error(status, &body, StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains(field), "{query}: {err}");
    }
}

async fn lead_endpoints_refuse_everyone_else(backend: Backend) {
    let srv = spawn_server(backend).await;
    let gw = srv.user("gateway", Role::Gateway, None).await;
    let ct = srv.user("ct", Role::CallTaker, None).await;
    let agency = srv.user("telecom", Role::Agency, Some(Agency::Telecom)).await;
    let lead = srv.user("lead", Role::ShiftLead, None).await;
    let inc = gw
        .intake(json!({ "channel": "voice", "phone": "13804310001", "narrative": "有人打架" }))
        .await;
    let id = inc["id"].as_i64().expect("id");
    let ct_id = ct.get("/auth/me").await.1["id"].as_i64().expect("id");
    let (_, flag) = lead
        .post(
            "/callers/13804310001/flags",
            json!({ "flag": "nuisance", "note": "test" }),
        )
        .await;
    let flag_id = flag["id"].as_i64().expect("flag id");

    let gets = [
        "/stats".to_owned(),
        "/alerts".to_owned(),
        "/callers/nuisance".to_owned(),
        "/callers/13804310001/dossier".to_owned(),
        "/users".to_owned(),
        "/audit".to_owned(),
    ];
    for who in [&ct, &gw, &agency] {
        for path in &gets {
            let (status, body) = who.get(path).await;
            assert_error(status, &body, StatusCode::FORBIDDEN);
        }
        for (path, body) in [
            (
                format!("/incidents/{id}/reassign"),
                json!({ "to": ct_id, "reason": "r" }),
            ),
            (
                format!("/incidents/{id}/priority"),
                json!({ "priority": "P1", "reason": "r" }),
            ),
            (
                "/callers/13804310001/flags".to_owned(),
                json!({ "flag": "nuisance", "note": "n" }),
            ),
        ] {
            let (status, body) = who.post(&path, body).await;
            assert_error(status, &body, StatusCode::FORBIDDEN);
        }
        let (status, body) = who.delete(&format!("/callers/flags/{flag_id}")).await;
        assert_error(status, &body, StatusCode::FORBIDDEN);
    }
    // Nothing changed, and the lead gets every one.
    let (_, after) = lead.get(&format!("/incidents/{id}")).await;
    assert_eq!(
        (after["holder"].clone(), after["priority"].clone()),
        (Value::Null, Value::Null)
    );
    for path in &gets {
        let (status, body) = lead.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}

async fn reassign_reprioritise_and_release_are_audited(backend: Backend) {
    let srv = spawn_server(backend).await;
    let gw = srv.user("gateway", Role::Gateway, None).await;
    let ct1 = srv.user("ct1", Role::CallTaker, None).await;
    let ct2 = srv.user("ct2", Role::CallTaker, None).await;
    let lead = srv.user("lead", Role::ShiftLead, None).await;
    let ct2_id = ct2.get("/auth/me").await.1["id"].as_i64().expect("id");
    let gw_id = gw.get("/auth/me").await.1["id"].as_i64().expect("id");
    let inc = gw
        .intake(json!({ "channel": "voice", "phone": "13804310001", "narrative": "邻居家一直有争吵声" }))
        .await;
    let id = inc["id"].as_i64().expect("id");
    let (status, held) = ct1.post_empty(&format!("/incidents/{id}/claim")).await;
    assert_eq!(status, StatusCode::OK, "{held}");
    assert!(held["held_since"].is_string());

    // Refusals say what is wrong and change nothing.
    for (body, field, expected) in [
        (
            json!({ "to": ct2_id, "reason": "  " }),
            "reason",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "to": gw_id, "reason": "ct1 left" }),
            "to",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "to": 99999, "reason": "ct1 left" }),
            "to",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, err) = lead.post(&format!("/incidents/{id}/reassign"), body).await;
        let err = assert_error(status, &err, expected);
        assert_eq!(err["field"], field, "{err}");
    }
    // Only to someone on shift: an operator who signed out is refused.
    let ct3 = srv.user("ct3", Role::CallTaker, None).await;
    let ct3_id = ct3.get("/auth/me").await.1["id"].as_i64().expect("id");
    let (status, _) = ct3.post_empty("/auth/logout").await;
    assert!(status.is_success(), "{status}");
    let (status, on_shift) = lead.get("/users/signed-in").await;
    assert_eq!(status, StatusCode::OK, "{on_shift}");
    let on_shift: Vec<i64> = serde_json::from_value(on_shift).expect("ids");
    assert!(
        on_shift.contains(&ct2_id) && !on_shift.contains(&ct3_id),
        "{on_shift:?}"
    );
    let (status, err) = lead
        .post(
            &format!("/incidents/{id}/reassign"),
            json!({ "to": ct3_id, "reason": "ct1 left" }),
        )
        .await;
    let err = assert_error(status, &err, StatusCode::CONFLICT);
    assert!(err["message"].as_str().is_some_and(|m| m.contains("ct3")), "{err}");
    let (status, _) = ct1.get("/users/signed-in").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "leads only");
    let (status, moved) = lead
        .post(
            &format!("/incidents/{id}/reassign"),
            json!({ "to": ct2_id, "reason": "ct1 went on a break" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["holder"]["name"], "ct2");
    assert_eq!(moved["status"], "in_progress");
    assert_eq!(moved["claimed_at"], held["claimed_at"], "first pick-up is kept");
    // ct1 no longer holds it; ct2 works it.
    let (status, body) = ct1.post_empty(&format!("/incidents/{id}/release")).await;
    assert_error(status, &body, StatusCode::CONFLICT);

    let (status, up) = lead
        .post(
            &format!("/incidents/{id}/priority"),
            json!({ "priority": "P1", "reason": "caller heard a child crying" }),
        )
        .await;
    assert_eq!((status, up["priority"].as_str()), (StatusCode::OK, Some("P1")));
    let (status, body) = lead
        .post(
            &format!("/incidents/{id}/priority"),
            json!({ "priority": "P0", "reason": "x" }),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);

    // The lead frees a call from an operator who went away.
    let (status, freed) = lead
        .post(
            &format!("/incidents/{id}/release"),
            json!({ "reason": "ct2 left the desk" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{freed}");
    assert_eq!(
        (freed["holder"].clone(), freed["status"].as_str()),
        (Value::Null, Some("new"))
    );
    assert_eq!(freed["held_since"], Value::Null);

    let (_, events) = lead.get(&format!("/audit?incident_id={id}")).await;
    let trail: Vec<(String, Option<String>, Option<String>)> = events
        .as_array()
        .expect("events")
        .iter()
        .rev()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_owned(),
                e["actor"]["name"].as_str().map(str::to_owned),
                e["note"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        trail,
        vec![
            ("incident.created".into(), s("gateway"), None),
            ("incident.claimed".into(), s("ct1"), None),
            ("incident.reassigned".into(), s("lead"), s("ct1 went on a break")),
            (
                "incident.reprioritised".into(),
                s("lead"),
                s("caller heard a child crying")
            ),
            ("incident.released".into(), s("lead"), s("ct2 left the desk")),
        ]
    );

    // A call that left the queue cannot be reassigned.
    ct1.post_empty(&format!("/incidents/{id}/claim")).await;
    ct1.post(&format!("/incidents/{id}/close"), json!({ "reason": "advice" }))
        .await;
    let (status, body) = lead
        .post(
            &format!("/incidents/{id}/reassign"),
            json!({ "to": ct2_id, "reason": "late" }),
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT);
}

async fn alerts_nuisance_ranking_and_dossier(backend: Backend) {
    let srv = spawn_server(backend).await;
    let gw = srv.user("gateway", Role::Gateway, None).await;
    let ct = srv.user("ct", Role::CallTaker, None).await;
    let lead = srv.user("lead", Role::ShiftLead, None).await;
    let pest = "13900000001";
    let now = Utc::now();

    // A harassment wave: three calls from one number within minutes.
    let mut ids = vec![];
    for text in ["你们警察都是废物", "哈哈哈又是我", "我就是打着玩"] {
        ids.push(
            gw.intake(json!({ "channel": "voice", "phone": pest, "narrative": text }))
                .await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    // A call waiting two minutes already.
    let waiting = gw
        .intake(json!({ "channel": "voice", "phone": "13804310009", "narrative": "家里被盗了", "received_at": now - secs(120) }))
        .await["id"]
        .as_i64()
        .expect("id");
    // A call held for twenty minutes by someone (history with its own clock).
    let h = History::open(&srv).await;
    let stale = h
        .call(
            now - secs(1500),
            json!({ "channel": "voice", "phone": "13804310010", "narrative": "车被划了" }),
        )
        .await;
    h.op("ct", stale, IncidentOp::Claim, now - secs(1200)).await;

    let (status, alerts) = lead.get("/alerts").await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    assert_eq!(alerts["waves"].as_array().map(Vec::len), Some(1), "{alerts}");
    assert_eq!(
        (
            alerts["waves"][0]["phone"].as_str(),
            alerts["waves"][0]["calls"].as_i64()
        ),
        (Some(pest), Some(3))
    );
    let waits: Vec<i64> = alerts["long_waits"]
        .as_array()
        .expect("waits")
        .iter()
        .map(|w| w["incident_id"].as_i64().expect("id"))
        .collect();
    assert_eq!(waits, vec![waiting], "the fresh calls have not waited a minute");
    assert!(alerts["long_waits"][0]["wait_secs"].as_i64().is_some_and(|s| s >= 120));
    assert_eq!(alerts["stale_holds"][0]["incident_id"], stale);
    assert_eq!(alerts["stale_holds"][0]["holder"]["name"], "ct");
    // Limits are the lead's to set, within reason.
    let (_, quiet) = lead.get("/alerts?wave_calls=4&wait_secs=600&hold_mins=30").await;
    assert_eq!(quiet, json!({ "waves": [], "long_waits": [], "stale_holds": [] }));
    let (status, body) = lead.get("/alerts?wave_calls=1").await;
    assert_eq!(
        assert_error(status, &body, StatusCode::BAD_REQUEST)["field"],
        "wave_calls"
    );

    // Two of the pest's calls closed invalid; one sent a patrol for nothing.
    for &id in &ids[..2] {
        ct.post_empty(&format!("/incidents/{id}/claim")).await;
        let (status, body) = ct
            .post(&format!("/incidents/{id}/close"), json!({ "reason": "invalid" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let unit = ct.get("/units").await.1[0]["id"].as_i64().expect("unit");
    ct.post_empty(&format!("/incidents/{}/claim", ids[2])).await;
    let (status, sent) = ct
        .post(&format!("/incidents/{}/dispatch", ids[2]), json!({ "unit_id": unit }))
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let (status, body) = lead
        .patch(
            &format!("/incidents/{}", ids[2]),
            json!({ "version": sent["version"], "category": "invalid" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Another number with one invalid call ranks below.
    let other = gw
        .intake(json!({ "channel": "sms", "phone": "13900000002", "narrative": "无聊" }))
        .await["id"]
        .as_i64()
        .expect("id");
    ct.post_empty(&format!("/incidents/{other}/claim")).await;
    ct.post(&format!("/incidents/{other}/close"), json!({ "reason": "invalid" }))
        .await;
    let (_, flagged) = lead
        .post(
            &format!("/callers/{pest}/flags"),
            json!({ "flag": "abusive", "note": "辱骂接警员，多次骚扰" }),
        )
        .await;

    let (status, ranking) = lead.get("/callers/nuisance").await;
    assert_eq!(status, StatusCode::OK, "{ranking}");
    let rows: Vec<(String, i64, i64, i64, i64)> = ranking
        .as_array()
        .expect("ranking")
        .iter()
        .map(|r| {
            (
                r["phone"].as_str().unwrap_or_default().to_owned(),
                r["total_calls"].as_i64().unwrap_or(-1),
                r["invalid_calls"].as_i64().unwrap_or(-1),
                r["wasted_dispatches"].as_i64().unwrap_or(-1),
                r["active_flags"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![(pest.to_owned(), 3, 3, 1, 1), ("13900000002".to_owned(), 1, 1, 0, 0)]
    );

    let (status, body) = lead.get(&format!("/callers/{pest}/dossier")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let d: Dossier = serde_json::from_value(body).expect("dossier shape");
    assert_eq!((d.total_calls, d.invalid_calls, d.wasted_dispatches), (3, 3, 1));
    assert_eq!(d.incidents.iter().map(|i| i.id).collect::<Vec<_>>(), ids);
    assert_eq!(d.flags.len(), 1);
    assert_eq!(d.flags[0].id, flagged["id"].as_i64().expect("id"));
    assert!(
        d.incidents
            .iter()
            .all(|i| i.handled_by.as_ref().is_some_and(|u| u.name == "ct"))
    );
    let (status, body) = lead.get("/callers/not-a-number/dossier").await;
    assert_eq!(assert_error(status, &body, StatusCode::NOT_FOUND)["field"], "phone");
}

/// 质检: each call's automatic checks and score, and the sum per operator,
/// exact for a scripted set of calls with chosen clocks.
async fn qa_scores_are_exact_for_scripted_calls(backend: Backend) {
    let srv = spawn_server(backend).await;
    for (name, role) in [
        ("gateway", Role::Gateway),
        ("ct1", Role::CallTaker),
        ("ct2", Role::CallTaker),
    ] {
        srv.user(name, role, None).await;
    }
    srv.user("power", Role::Agency, Some(Agency::Utilities)).await;
    let lead = srv.user("lead", Role::ShiftLead, None).await;
    let h = History::open(&srv).await;
    let t0 = Utc::now().duration_trunc(Duration::hours(1)).expect("truncate") - Duration::hours(3);
    let p1 = |place: &str| json!({ "channel": "voice", "phone": "13804310051", "location": place, "narrative": "有人持刀伤人", "priority": "P1" });
    let dispatch = |u| IncidentOp::Dispatch {
        unit_id: h.unit(u),
        co_notify: vec![],
    };

    // a: a P1 with its place, its category set by ct1, dispatched in 30 s: 3 of 3.
    let a = h.call(t0, p1("红旗街万达广场")).await;
    h.op("ct1", a, IncidentOp::Claim, t0 + secs(5)).await;
    let confirm = IncidentPatch {
        category: Some(Category::Criminal),
        ..Default::default()
    };
    let patch = Box::new(confirm.parse().expect("a valid patch"));
    h.op("ct1", a, IncidentOp::Update { patch }, t0 + secs(20)).await;
    h.op("ct1", a, dispatch(0), t0 + secs(30)).await;
    // b: a P1 with no place, dispatched after 90 s on the suggestion alone
    // (ct1): 0 of 3.
    let tb = t0 + secs(600);
    let b = h.call(tb, p1("")).await;
    h.op("ct1", b, IncidentOp::Claim, tb + secs(10)).await;
    h.op("ct1", b, dispatch(1), tb + secs(90)).await;
    // c: a hang-up called back within 5 minutes (ct2): 1 of 1.
    let tc = t0 + secs(1200);
    let c = h
        .call(
            tc,
            json!({ "channel": "voice", "phone": "13804310052", "narrative": "", "disconnect": "hangup" }),
        )
        .await;
    h.op("ct2", c, IncidentOp::Claim, tc + secs(20)).await;
    h.op(
        "ct2",
        c,
        IncidentOp::Close {
            reason: CloseReason::Invalid,
            note: None,
        },
        tc + secs(60),
    )
    .await;
    let callback = h
        .store
        .callbacks(true)
        .await
        .expect("callbacks")
        .into_iter()
        .find(|cb| cb.incident_id == c)
        .expect("a hang-up opens a callback");
    h.store
        .close_callback(h.user("ct2"), callback.id, "误拨，无需帮助", tc + secs(300))
        .await
        .expect("close the callback");
    // d: a referral the agency accepted 31 minutes on, past its 30 (ct2): 0 of 1.
    let td = t0 + secs(1800);
    let d = h
        .call(td, json!({ "channel": "voice", "phone": "13804310053", "location": "红旗街", "narrative": "小区停水两天了", "category": "non_police" }))
        .await;
    h.op("ct2", d, IncidentOp::Claim, td + secs(10)).await;
    h.op(
        "ct2",
        d,
        IncidentOp::Refer {
            agency: Agency::Utilities,
        },
        td + secs(40),
    )
    .await;
    let order = h
        .store
        .referrals(
            &store::ReferralFilter {
                incident_id: Some(d),
                ..Default::default()
            },
            td,
        )
        .await
        .expect("referrals")
        .remove(0);
    let power = h
        .store
        .users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.name == "power")
        .expect("power");
    h.store
        .referral_step(
            &power,
            order.id,
            jiejing::model::ReferralStep::Accept,
            td + secs(40 + 31 * 60),
        )
        .await
        .expect("accept");
    // e: advice given on a P3 question (ct2): nothing applies.
    let te = t0 + secs(2400);
    let e = h
        .call(te, json!({ "channel": "voice", "phone": "13804310054", "location": "红旗街", "narrative": "身份证丢了怎么补办", "priority": "P3" }))
        .await;
    h.op("ct2", e, IncidentOp::Claim, te + secs(10)).await;
    h.op(
        "ct2",
        e,
        IncidentOp::Close {
            reason: CloseReason::Advice,
            note: None,
        },
        te + secs(30),
    )
    .await;

    let range = format!(
        "from={}&to={}",
        (t0 - secs(60)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (t0 + secs(7200)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let (s, calls) = lead.get(&format!("/qa/calls?{range}")).await;
    assert_eq!(s, StatusCode::OK, "{calls}");
    type Reviewed = (i64, String, Vec<(String, bool)>, Value);
    let got: Vec<Reviewed> = calls
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| {
            (
                c["incident_id"].as_i64().expect("id"),
                c["operator"]["name"].as_str().unwrap_or_default().to_owned(),
                c["checks"]
                    .as_array()
                    .expect("checks")
                    .iter()
                    .map(|k| (k["check"].as_str().expect("check").to_owned(), k["passed"] == true))
                    .collect(),
                c["score"].clone(),
            )
        })
        .collect();
    let check = |name: &str, passed: bool| (name.to_owned(), passed);
    assert_eq!(
        got,
        vec![
            (
                a,
                "ct1".into(),
                vec![
                    check("location_recorded", true),
                    check("category_chosen", true),
                    check("p1_dispatched_in_time", true)
                ],
                json!(100.0)
            ),
            (
                b,
                "ct1".into(),
                vec![
                    check("location_recorded", false),
                    check("category_chosen", false),
                    check("p1_dispatched_in_time", false)
                ],
                json!(0.0)
            ),
            (c, "ct2".into(), vec![check("callback_in_time", true)], json!(100.0)),
            (
                d,
                "ct2".into(),
                vec![check("referral_accepted_in_time", false)],
                json!(0.0)
            ),
            (e, "ct2".into(), vec![], Value::Null),
        ]
    );
    let (_, failed) = lead.get(&format!("/qa/calls?{range}&failed=true")).await;
    let failed: Vec<i64> = failed
        .as_array()
        .expect("failed")
        .iter()
        .map(|c| c["incident_id"].as_i64().expect("id"))
        .collect();
    assert_eq!(failed, vec![b, d]);
    // A stricter centre: 20 s for a P1 fails a as well.
    let (_, strict) = lead
        .get(&format!("/qa/calls?{range}&failed=true&p1_dispatch_secs=20"))
        .await;
    assert_eq!(strict.as_array().map(Vec::len), Some(3), "{strict}");

    let (s, ops) = lead.get(&format!("/qa/operators?{range}")).await;
    assert_eq!(s, StatusCode::OK, "{ops}");
    let ops: Vec<(String, i64, i64, i64, f64, i64)> = ops
        .as_array()
        .expect("operators")
        .iter()
        .map(|o| {
            (
                o["operator"]["name"].as_str().expect("name").to_owned(),
                o["calls"].as_i64().expect("calls"),
                o["checks"].as_i64().expect("checks"),
                o["passed"].as_i64().expect("passed"),
                o["score"].as_f64().expect("score"),
                o["p1_late"].as_i64().expect("p1_late"),
            )
        })
        .collect();
    assert_eq!(
        ops,
        vec![("ct1".into(), 2, 6, 3, 50.0, 1), ("ct2".into(), 3, 2, 1, 50.0, 0)]
    );

    // The hand review: a late P1 is always drawn; a lead scores it.
    let (_, drawn) = lead.get(&format!("/qa/calls?{range}&sampled=true")).await;
    let drawn = drawn.as_array().expect("drawn").clone();
    assert!(drawn.iter().any(|c| c["incident_id"] == b), "{drawn:?}");
    assert!(drawn.iter().all(|c| c["sampled"] == true && c["review"].is_null()));
    let review = format!("/qa/calls/{b}/review");
    for (body, field) in [
        (json!({"score": 101, "note": "x"}), "score"),
        (json!({"score": 60, "note": " "}), "note"),
    ] {
        let (s, e) = lead.post(&review, body).await;
        assert_eq!(assert_error(s, &e, StatusCode::BAD_REQUEST)["field"], field);
    }
    let (s, e) = lead
        .post("/qa/calls/999999/review", json!({"score": 60, "note": "x"}))
        .await;
    assert_error(s, &e, StatusCode::NOT_FOUND);
    let (s, r) = lead
        .post(&review, json!({"score": 60, "note": "地点未核实就派警，且超过一分钟"}))
        .await;
    assert_eq!(
        (s, &r["score"], &r["reviewer"]["name"]),
        (StatusCode::OK, &json!(60), &json!("lead"))
    );
    lead.post(&review, json!({"score": 70, "note": "复核：派警前已电话核实地点"}))
        .await;
    let (_, after) = lead.get(&format!("/qa/calls?{range}&sampled=true")).await;
    let mine = after
        .as_array()
        .expect("drawn")
        .iter()
        .find(|c| c["incident_id"] == b)
        .expect("b")
        .clone();
    assert_eq!(
        (&mine["review"]["score"], &mine["review"]["note"]),
        (&json!(70), &json!("复核：派警前已电话核实地点"))
    );

    // Leads only, and a range that makes sense.
    let ct = crate::helpers::Api::login(srv.addr, "ct1", crate::helpers::PASSWORD).await;
    let (s, e) = ct.post(&review, json!({"score": 100, "note": "自评"})).await;
    assert_error(s, &e, StatusCode::FORBIDDEN);
    let (s, b) = ct.get(&format!("/qa/calls?{range}")).await;
    assert_error(s, &b, StatusCode::FORBIDDEN);
    let wide = format!(
        "from={}&to={}",
        (t0 - Duration::days(40)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        t0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let (s, b) = lead.get(&format!("/qa/operators?{wide}")).await;
    assert_eq!(assert_error(s, &b, StatusCode::BAD_REQUEST)["field"], "to");
}

/// Over HTTP with the service's own clock: a unit signs for its order
/// (assigned → en route, once); the nuisance warning a call carries is
/// marked read, and the call-quality review judges a close as invalid by
/// it; the category a unit goes out on is the operator's or not; an
/// accepted referral gets its feedback and closing deadlines.
async fn acknowledgement_warning_and_referral_deadlines(backend: Backend) {
    // An agency of this centre gives its first feedback within a second.
    let srv = crate::helpers::spawn_server_with(backend, |c| c.policy.referral_feedback_secs = 1).await;
    let ct = srv.user("ct1", Role::CallTaker, None).await;
    let lead = srv.user("lead", Role::ShiftLead, None).await;
    let power = srv.user("power", Role::Agency, Some(Agency::Utilities)).await;
    let gw = srv.user("gateway", Role::Gateway, None).await;
    let started = Utc::now() - Duration::seconds(5);

    // A unit dispatched waits to sign; signing sets it off, and only once.
    let call = ct
        .intake(json!({"channel": "voice", "phone": "13804310061", "location": "红旗街", "narrative": "有人打架", "category": "public_order"}))
        .await;
    let id = call["id"].as_i64().expect("id");
    let unit = ct.get(&format!("/incidents/{id}/units")).await.1["units"][0]["id"].clone();
    let (s, d) = ct
        .post(&format!("/incidents/{id}/dispatch"), json!({"unit_id": unit}))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert!(d["acknowledged_at"].is_null());
    let status_of = |units: &Value| {
        units
            .as_array()
            .expect("units")
            .iter()
            .find(|u| u["id"] == unit)
            .expect("unit")["status"]
            .clone()
    };
    assert_eq!(status_of(&ct.get("/units").await.1), "assigned");
    let (s, a) = ct.post_empty(&format!("/incidents/{id}/acknowledge")).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert!(a["acknowledged_at"].is_string(), "{a}");
    assert_eq!(status_of(&ct.get("/units").await.1), "en_route");
    let (s, e) = ct.post_empty(&format!("/incidents/{id}/acknowledge")).await;
    assert_eq!(
        assert_error(s, &e, StatusCode::CONFLICT)["code"],
        "already_acknowledged"
    );
    let (s, e) = ct.post_empty("/incidents/999999/acknowledge").await;
    assert_error(s, &e, StatusCode::NOT_FOUND);
    // Only a dispatch assigns a unit.
    let (s, e) = lead
        .post(&format!("/units/{unit}/status"), json!({"status": "assigned"}))
        .await;
    assert_eq!(assert_error(s, &e, StatusCode::BAD_REQUEST)["field"], "status");

    // Moving an assigned unit en route on the board is its signature.
    let second = ct
        .intake(json!({"channel": "voice", "phone": "13804310065", "location": "红旗街", "narrative": "有人打架", "category": "public_order"}))
        .await;
    let second = second["id"].as_i64().expect("id");
    let unit_b = ct.get(&format!("/incidents/{second}/units")).await.1["units"][0]["id"].clone();
    ct.post(&format!("/incidents/{second}/dispatch"), json!({"unit_id": unit_b}))
        .await;
    let (s, u) = ct
        .post(&format!("/units/{unit_b}/status"), json!({"status": "en_route"}))
        .await;
    assert_eq!((s, &u["status"]), (StatusCode::OK, &json!("en_route")), "{u}");
    assert!(ct.get(&format!("/incidents/{second}")).await.1["acknowledged_at"].is_string());

    // A unit freed by a lead and sent to another call stays with that call
    // when the first call's late signature comes in.
    let third = ct
        .intake(json!({"channel": "voice", "phone": "13804310066", "location": "红旗街", "narrative": "有人打架", "category": "public_order"}))
        .await;
    let third = third["id"].as_i64().expect("id");
    let unit_c = ct.get(&format!("/incidents/{third}/units")).await.1["units"][0]["id"].clone();
    ct.post(&format!("/incidents/{third}/dispatch"), json!({"unit_id": unit_c}))
        .await;
    lead.post(&format!("/units/{unit_c}/status"), json!({"status": "available"}))
        .await;
    let fourth = ct
        .intake(json!({"channel": "voice", "phone": "13804310067", "location": "红旗街", "narrative": "有人打架", "category": "public_order"}))
        .await;
    let fourth = fourth["id"].as_i64().expect("id");
    let (s, d4) = ct
        .post(&format!("/incidents/{fourth}/dispatch"), json!({"unit_id": unit_c}))
        .await;
    assert_eq!(s, StatusCode::OK, "{d4}");
    let (s, a3) = ct.post_empty(&format!("/incidents/{third}/acknowledge")).await;
    assert_eq!(s, StatusCode::OK, "{a3}");
    let units = ct.get("/units").await.1;
    let c = units
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["id"] == unit_c)
        .expect("unit")
        .clone();
    assert_eq!(
        (&c["status"], &c["incident_id"]),
        (&json!("assigned"), &json!(fourth)),
        "{c}"
    );

    // A call from a flagged number carries the warning in its suggestion.
    lead.post(
        "/callers/13804310062/flags",
        json!({"flag": "nuisance", "note": "三个月内虚假报警12次"}),
    )
    .await;
    let warned = |narrative: &str| json!({"channel": "voice", "phone": "13804310062", "narrative": narrative});
    let unread = gateway_call(&gw, warned("喂喂，没事，打错了")).await;
    let read = gateway_call(&gw, warned("我就是想聊聊天")).await;
    for id in [unread, read] {
        let (s, i) = ct.post_empty(&format!("/incidents/{id}/claim")).await;
        assert_eq!(s, StatusCode::OK, "{i}");
        assert!(i["suggestion"]["nuisance_warning"].is_string(), "{i}");
    }
    // Only the holder marks it read.
    let (s, e) = lead.post_empty(&format!("/incidents/{read}/warning-read")).await;
    assert_eq!(s, StatusCode::OK, "a lead may act on any call: {e}");
    let other = srv.user("ct2", Role::CallTaker, None).await;
    let (s, e) = other.post_empty(&format!("/incidents/{read}/warning-read")).await;
    assert_eq!(assert_error(s, &e, StatusCode::CONFLICT)["code"], "held_by_other");
    for id in [unread, read] {
        let (s, b) = ct
            .post(&format!("/incidents/{id}/close"), json!({"reason": "invalid"}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (s, e) = ct.post_empty(&format!("/incidents/{read}/warning-read")).await;
    assert_eq!(assert_error(s, &e, StatusCode::CONFLICT)["code"], "wrong_state");

    // A call dispatched on the suggestion alone, without the operator's category.
    let bare = gateway_call(
        &gw,
        json!({"channel": "sms", "phone": "13804310063", "narrative": "红旗街有人打架，快来"}),
    )
    .await;
    ct.post_empty(&format!("/incidents/{bare}/claim")).await;
    let unit2 = ct.get(&format!("/incidents/{bare}/units")).await.1["units"][0]["id"].clone();
    let (s, b) = ct
        .post(&format!("/incidents/{bare}/dispatch"), json!({"unit_id": unit2}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(
        b["category_set_at"].is_null() && b["category"].is_string(),
        "the service filled it in: {b}"
    );

    let range = format!(
        "from={}&to={}",
        started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (Utc::now() + Duration::seconds(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let (s, calls) = lead.get(&format!("/qa/calls?{range}")).await;
    assert_eq!(s, StatusCode::OK, "{calls}");
    let result = |id: i64, check: &str| {
        calls
            .as_array()
            .expect("calls")
            .iter()
            .find(|c| c["incident_id"] == id)
            .expect("call")["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["check"] == check)
            .map(|c| c["passed"] == true)
    };
    assert_eq!(
        result(id, "category_chosen"),
        Some(true),
        "the operator's intake set it"
    );
    assert_eq!(result(bare, "category_chosen"), Some(false));
    assert_eq!(result(unread, "warning_read"), Some(false));
    assert_eq!(result(read, "warning_read"), Some(true));
    assert_eq!(result(id, "warning_read"), None, "no warning, no check");
    let (_, stats) = lead.get(&format!("/stats?{range}")).await;
    assert_eq!(
        (&stats["kpis"]["ack"]["count"], &stats["kpis"]["ack"]["within"]),
        (&json!(3), &json!(3)),
        "{}",
        stats["kpis"]
    );

    // An accepted referral works to its feedback deadline, then its closing one.
    let water = ct
        .intake(json!({"channel": "voice", "phone": "13804310064", "location": "红旗街", "narrative": "小区停水两天了", "category": "non_police"}))
        .await;
    let (s, r) = ct
        .post(
            &format!("/incidents/{}/refer", water["id"]),
            json!({"agency": "utilities"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let rid = r["referral"]["id"].as_i64().expect("referral id");
    assert!(r["referral"]["feedback_due_at"].is_null());
    let (s, acc) = power.post_empty(&format!("/referrals/{rid}/accept")).await;
    assert_eq!(s, StatusCode::OK, "{acc}");
    let at = |v: &Value| {
        DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
            .expect("rfc3339")
            .to_utc()
    };
    let accepted = at(&acc["accepted_at"]);
    assert_eq!(at(&acc["feedback_due_at"]) - accepted, Duration::seconds(1));
    assert_eq!(
        at(&acc["close_due_at"]),
        jiejing::model::working_days_after(accepted, 5),
        "{acc}"
    );
    assert_eq!(acc["overdue"], false);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let (_, orders) = lead.get(&format!("/referrals?incident_id={}", water["id"])).await;
    assert_eq!(orders[0]["overdue"], true, "no feedback in time: {orders}");
    let range = format!(
        "from={}&to={}",
        started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (Utc::now() + Duration::seconds(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let (_, stats) = lead.get(&format!("/stats?{range}")).await;
    let utilities = stats["agency_work"]
        .as_array()
        .expect("agency work")
        .iter()
        .find(|w| w["agency"] == "utilities")
        .cloned()
        .expect("utilities");
    assert_eq!(
        (&utilities["accepted"], &utilities["overdue"]),
        (&json!(1), &json!(1)),
        "{utilities}"
    );
}

/// An intake through a channel gateway: queued for any operator.
async fn gateway_call(gw: &crate::helpers::Api, body: Value) -> IncidentId {
    gw.intake(body).await["id"].as_i64().expect("id")
}
