//! The console's HTTP client and the simulator, against the real service.

use std::time::Duration;

use jiejing::client::{ApiClient, FeedItem};
use jiejing::model::{Channel, IntakeRequest, Role};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::helpers::{Backend, PASSWORD, spawn_server};

fn voice(narrative: &str) -> IntakeRequest {
    serde_json::from_value(
        serde_json::json!({ "channel": Channel::Voice, "phone": "13804310001", "narrative": narrative }),
    )
    .expect("intake request")
}

async fn signed_in(addr: std::net::SocketAddr, name: &str) -> ApiClient {
    let mut c = ApiClient::new(&format!("http://{addr}"));
    c.login(name, PASSWORD).await.expect("login");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_posts_a_realistic_mix() {
    let srv = spawn_server(Backend::Sqlite).await;
    srv.user("gateway", Role::Gateway, None).await;
    srv.user("ct", Role::CallTaker, None).await;
    let gw = signed_in(srv.addr, "gateway").await;
    let n = 60;
    let sent = jiejing::sim::run(&gw, 600_000.0, Some(n), 3, CancellationToken::new())
        .await
        .expect("simulate");
    assert_eq!(sent, n);
    let ct = signed_in(srv.addr, "ct").await;
    let queue = ct.queue().await.expect("queue");
    assert_eq!(queue.len(), n, "every acknowledged call is in the queue");
    let suggested: Vec<_> = queue.iter().filter_map(|i| i.category).collect();
    let non_police = suggested.iter().filter(|c| !c.is_police()).count() as f64 / suggested.len() as f64;
    assert!(
        non_police > 0.5,
        "most simulated calls are not police business: {non_police:.2}"
    );
    let channels: std::collections::HashSet<Channel> = queue.iter().map(|i| i.channel).collect();
    assert!(channels.len() >= 3, "several channels: {channels:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_colleague_works_calls_as_triage_suggests() {
    let srv = spawn_server(Backend::Sqlite).await;
    srv.user("gateway", Role::Gateway, None).await;
    srv.user("colleague", Role::CallTaker, None).await;
    let gw = signed_in(srv.addr, "gateway").await;
    let mut ids = vec![];
    for (n, text) in [
        "红旗街万达广场有人持刀抢劫",
        "我家宽带坏了 帮我报修一下",
        "哈哈 逗你玩的",
    ]
    .into_iter()
    .enumerate()
    {
        let mut req = voice(text);
        req.location = Some("红旗街万达广场".into());
        ids.push(gw.intake(&req, &format!("call-{n}")).await.expect("intake").incident.id);
    }
    // Units an earlier demo left on their way: the colleague clears the one
    // it dispatched itself at start, and leaves another operator's alone.
    srv.user("other", Role::CallTaker, None).await;
    let colleague = signed_in(srv.addr, "colleague").await;
    let other = signed_in(srv.addr, "other").await;
    let units = srv.admin.get("/units").await.1;
    let unit = |i: usize| units[i]["id"].as_i64().expect("unit");
    let mut left = vec![];
    for (n, (who, u)) in [(&colleague, unit(0)), (&other, unit(1))].into_iter().enumerate() {
        let inc = gw
            .intake(&voice("有人打架"), &format!("left-{n}"))
            .await
            .expect("intake")
            .incident;
        who.claim(inc.id).await.expect("claim");
        who.dispatch(inc.id, u, &[]).await.expect("dispatch");
        left.push(inc.id);
    }
    let pace = jiejing::sim::Pace {
        patience: 0,
        between: (0.01, 0.02),
        work: (0.01, 0.02),
        travel: (0.01, 0.02),
        clear: (0.01, 0.02),
    };
    let cancel = CancellationToken::new();
    let worker = tokio::spawn(jiejing::sim::colleague(colleague, pace, 7, cancel.clone()));
    let statuses = || async {
        let mut out = vec![];
        for id in &ids {
            out.push(gw_status(&srv, *id).await);
        }
        out
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = statuses().await;
        if s == ["resolved", "referred", "closed"] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "colleague left the calls at {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cancel.cancel();
    worker.await.expect("colleague stops on cancel");
    let (_, robbery) = srv.admin.get(&format!("/incidents/{}", ids[0])).await;
    assert_eq!(robbery["handled_by"]["name"], "colleague");
    let (_, units) = srv.admin.get("/units").await;
    let status = |id: i64| {
        units
            .as_array()
            .expect("units")
            .iter()
            .find(|u| u["id"] == id)
            .map(|u| u["status"].clone())
    };
    assert_eq!(status(unit(0)), Some("available".into()), "its own unit cleared");
    assert_eq!(
        status(unit(1)),
        Some("assigned".into()),
        "another operator's dispatch left alone"
    );
    assert_eq!(gw_status(&srv, left[1]).await, "dispatched");
}

async fn gw_status(srv: &crate::helpers::TestServer, id: i64) -> String {
    srv.admin.get(&format!("/incidents/{id}")).await.1["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The next event from the feed, skipping connection notices.
async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<FeedItem>,
) -> Result<jiejing::model::Event, tokio::time::error::Elapsed> {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match rx.recv().await {
                Some(FeedItem::Event(e)) => return *e,
                Some(_) => {}
                None => panic!("feed ended"),
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_resumes_after_the_service_restarts() {
    let mut srv = spawn_server(Backend::Sqlite).await;
    srv.user("ct", Role::CallTaker, None).await;
    let ct = signed_in(srv.addr, "ct").await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let feed = ct.spawn_feed(None, cancel.clone(), move |item| {
        tx.send(item).ok();
    });
    assert!(matches!(
        tokio::time::timeout(Duration::from_secs(10), rx.recv()).await,
        Ok(Some(FeedItem::Connected))
    ));
    let a = ct.intake(&voice("有人打架"), "k1").await.expect("intake a");
    let ev = next_event(&mut rx).await.expect("event a");
    assert_eq!(ev.incident_id, Some(a.incident.id));

    // The service goes away: a retried intake fails as retryable, then
    // succeeds exactly once after the restart.
    srv.stop().await;
    let down = ct.intake(&voice("有人偷车"), "k2").await.expect_err("service is down");
    assert!(down.is_retryable(), "{down}");
    srv.restart().await;
    let b = ct.intake(&voice("有人偷车"), "k2").await.expect("intake b");
    let again = ct.intake(&voice("有人偷车"), "k2").await.expect("replay b");
    assert!(again.replayed && again.incident.id == b.incident.id);

    // The feed reconnects by itself and replays what it missed, once.
    let ev = next_event(&mut rx).await.expect("event b after reconnect");
    assert_eq!(ev.incident_id, Some(b.incident.id));
    let c = ct.intake(&voice("有人落水"), "k3").await.expect("intake c");
    let ev = next_event(&mut rx).await.expect("event c");
    assert_eq!(ev.incident_id, Some(c.incident.id), "no duplicate of b in between");
    cancel.cancel();
    feed.await.expect("feed task ends on cancel");
}

/// The simulated agencies work their inboxes: most orders are accepted,
/// answered and closed; some are handed back, and an order the lead sent
/// again after a return is accepted, not returned twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_agencies_accept_answer_close_and_return() {
    use jiejing::model::{Agency, ReferralReview, ReferralStatus};
    let srv = spawn_server(Backend::Sqlite).await;
    srv.user("ct", Role::CallTaker, None).await;
    srv.user("lead", Role::ShiftLead, None).await;
    srv.user("water", Role::Agency, Some(Agency::Utilities)).await;
    let ct = signed_in(srv.addr, "ct").await;
    let lead = signed_in(srv.addr, "lead").await;
    let mut ids = vec![];
    for n in 0..16 {
        let inc = ct
            .intake(&voice(&format!("{n}号楼停水了")), &format!("water-{n}"))
            .await
            .expect("intake")
            .incident;
        ids.push(ct.refer(inc.id, Agency::Utilities).await.expect("refer").1.id);
    }
    let pace = jiejing::sim::AgencyPace {
        between: 0.05,
        accept: (0.01, 0.05),
        feedback: (0.01, 0.05),
        close: (0.01, 0.05),
        returns: 0.3,
        late: 0.0,
    };
    let cancel = CancellationToken::new();
    let water = signed_in(srv.addr, "water").await;
    let sim = tokio::spawn(jiejing::sim::agencies(vec![water], pace, 11, cancel.clone()));
    let settled = |orders: &[jiejing::model::Referral]| {
        orders
            .iter()
            .all(|r| matches!(r.status, ReferralStatus::Closed | ReferralStatus::Returned))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let all = || async {
        let (_, v) = srv.admin.get("/referrals").await;
        serde_json::from_value::<Vec<jiejing::model::Referral>>(v).expect("orders")
    };
    let mut orders = all().await;
    while !settled(&orders) {
        assert!(tokio::time::Instant::now() < deadline, "agency left {orders:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        orders = all().await;
    }
    let returned: Vec<_> = orders.iter().filter(|r| r.status == ReferralStatus::Returned).collect();
    let closed = orders.iter().filter(|r| r.status == ReferralStatus::Closed).count();
    assert_eq!(orders.len(), ids.len());
    assert!(
        !returned.is_empty() && closed > returned.len(),
        "{returned:?}, {closed} closed"
    );
    assert!(
        orders
            .iter()
            .filter(|r| r.status == ReferralStatus::Closed)
            .all(|r| r.feedback.is_some())
    );
    assert!(
        returned
            .iter()
            .all(|r| r.return_note.as_deref().is_some_and(|n| !n.is_empty()))
    );
    // Sent again after review: the agency accepts and closes it this time.
    let again = returned[0].id;
    lead.review_referral(
        again,
        &ReferralReview::Insist {
            note: "供水归你们管".into(),
        },
    )
    .await
    .expect("insist");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = all().await.into_iter().find(|r| r.id == again).expect("order");
        if r.status == ReferralStatus::Closed {
            break;
        }
        assert_ne!(r.status, ReferralStatus::Returned, "returned twice");
        assert!(tokio::time::Instant::now() < deadline, "left at {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cancel.cancel();
    sim.await.expect("agencies stop on cancel");
}

/// Simulated callers answer the follow-up SMS a gateway relays: every one
/// gets an answer, and a dissatisfied one says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_callers_answer_follow_ups() {
    use jiejing::model::{Agency, FollowupChannel, Satisfaction};
    let srv = crate::helpers::spawn_server_with(Backend::Sqlite, |c| c.policy.followup_share = 1.0).await;
    srv.user("ct", Role::CallTaker, None).await;
    srv.user("gateway", Role::Gateway, None).await;
    srv.user("water", Role::Agency, Some(Agency::Utilities)).await;
    let ct = signed_in(srv.addr, "ct").await;
    let water = signed_in(srv.addr, "water").await;
    for n in 0..40 {
        let req: IntakeRequest = serde_json::from_value(serde_json::json!({
            "channel": "sms", "phone": format!("138043100{n:02}"), "narrative": "小区停水了"
        }))
        .expect("intake request");
        let inc = ct.intake(&req, &format!("sms-{n}")).await.expect("intake").incident;
        let order = ct.refer(inc.id, Agency::Utilities).await.expect("refer").1;
        for step in [
            jiejing::model::ReferralStep::Accept,
            jiejing::model::ReferralStep::Feedback("已恢复".into()),
            jiejing::model::ReferralStep::Close,
        ] {
            water.referral_step(order.id, &step).await.expect("step");
        }
    }
    let cancel = CancellationToken::new();
    let gateway = signed_in(srv.addr, "gateway").await;
    let sim = tokio::spawn(jiejing::sim::followup_replies(
        gateway,
        FollowupChannel::Sms,
        (0.0, 0.2),
        5,
        cancel.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        let (_, all) = srv.admin.get("/followups?open=false").await;
        let all: Vec<jiejing::model::Followup> = serde_json::from_value(all).expect("followups");
        if all.len() == 40 && all.iter().all(|f| f.outcome.is_some()) {
            break all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} answered",
            all.iter().filter(|f| f.outcome.is_some()).count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    cancel.cancel();
    sim.await.expect("stops on cancel");
    let count = |o: Satisfaction| done.iter().filter(|f| f.outcome == Some(o)).count();
    assert!(count(Satisfaction::Satisfied) > count(Satisfaction::Dissatisfied) + count(Satisfaction::Unreachable));
    assert!(
        done.iter()
            .filter(|f| f.outcome == Some(Satisfaction::Dissatisfied))
            .all(|f| f.reason.as_deref().is_some_and(|r| !r.is_empty()))
    );
}

/// The units' terminals sign for every order dispatched, within their span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_terminals_sign_for_dispatched_orders() {
    let srv = spawn_server(Backend::Sqlite).await;
    srv.user("gw", Role::Gateway, None).await;
    srv.user("ct", Role::CallTaker, None).await;
    let gw = signed_in(srv.addr, "gw").await;
    let ct = signed_in(srv.addr, "ct").await;
    let inc = gw.intake(&voice("有人打架"), "fight").await.expect("intake").incident;
    ct.claim(inc.id).await.expect("claim");
    let unit = ct.units().await.expect("units")[0].id;
    let sent = ct.dispatch(inc.id, unit, &[]).await.expect("dispatch");
    assert!(sent.acknowledged_at.is_none());
    let cancel = CancellationToken::new();
    let terminals = tokio::spawn(jiejing::sim::terminals(
        ct.clone(),
        (0.01, 0.02),
        0.0,
        3,
        cancel.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let now = ct.incident(inc.id).await.expect("incident");
        if now.acknowledged_at.is_some() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the order was never signed for");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cancel.cancel();
    terminals.await.expect("terminals stop on cancel");
    let units = ct.units().await.expect("units");
    let u = units.iter().find(|u| u.id == unit).expect("unit");
    assert_eq!(u.status, jiejing::model::UnitStatus::EnRoute);
}
