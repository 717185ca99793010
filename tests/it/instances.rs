//! Several service instances on one PostgreSQL database behave as one.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::StreamExt as _;
use jiejing::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, Backend, PASSWORD, pg_url, spawn_server};

async fn next_data(
    stream: &mut (impl futures_util::Stream<Item = Result<eventsource_stream::Event, impl std::fmt::Debug>> + Unpin),
) -> (String, Value) {
    let e = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("event within 5 s")
        .expect("stream open")
        .expect("event");
    (e.id, serde_json::from_str(&e.data).expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_queue_events_and_claims() {
    if pg_url().is_none() {
        return;
    }
    let srv = spawn_server(Backend::Postgres).await;
    srv.user("gateway", Role::Gateway, None).await;
    for n in 0..10 {
        srv.user(&format!("op{n}"), Role::CallTaker, None).await;
    }
    let b = srv.another_instance().await;
    let gw_a = Api::login(srv.addr, "gateway", PASSWORD).await;
    let op_b = Api::login(b.addr, "op0", PASSWORD).await;

    // A console on B sees an intake taken on A.
    let mut on_b = op_b.events(None).await;
    let first = gw_a
        .intake(json!({"channel": "voice", "phone": "13804310001", "narrative": "有人打架"}))
        .await;
    let (last_id, data) = next_data(&mut on_b).await;
    // B's queue (its in-memory view of the log) has A's call at once, and
    // a claim on B shows on A's queue.
    let queue_on = |api: Api| async move {
        let (status, q) = api.get("/queue").await;
        assert_eq!(status, StatusCode::OK, "{q}");
        q.as_array().expect("queue").clone()
    };
    let q_b = queue_on(op_b.clone()).await;
    assert!(q_b.iter().any(|e| e["id"] == first["id"]), "A's intake is in B's queue");
    let op_a = Api::login(srv.addr, "op1", PASSWORD).await;
    queue_on(op_a.clone()).await;
    let (status, _) = op_b.post_empty(&format!("/incidents/{}/claim", first["id"])).await;
    assert_eq!(status, StatusCode::OK);
    let q_a = queue_on(op_a.clone()).await;
    let seen = q_a.iter().find(|e| e["id"] == first["id"]).expect("still queued");
    assert_eq!(seen["holder"]["name"], "op0", "A's queue shows B's claim");
    op_b.post_empty(&format!("/incidents/{}/release", first["id"])).await;
    assert_eq!(data["after"]["id"], first["id"]);
    drop(on_b);

    // Claims stay exclusive across instances: five operators on each.
    let id = first["id"].as_i64().expect("id");
    let mut ops = Vec::new();
    for n in 0..10 {
        let addr = if n % 2 == 0 { srv.addr } else { b.addr };
        ops.push(Api::login(addr, &format!("op{n}"), PASSWORD).await);
    }
    let path = format!("/incidents/{id}/claim");
    let results = futures_util::future::join_all(ops.iter().map(|op| op.post_empty(&path))).await;
    assert_eq!(
        results.iter().filter(|(s, _)| *s == StatusCode::OK).count(),
        1,
        "{results:?}"
    );
    assert_eq!(results.iter().filter(|(s, _)| *s == StatusCode::CONFLICT).count(), 9);

    // While the console is away, more happens on both instances; reconnecting
    // to A with the Last-Event-ID it had from B misses nothing.
    let gw_b = Api::login(b.addr, "gateway", PASSWORD).await;
    let mut expected = Vec::new();
    for n in 0..6 {
        let gw = if n % 2 == 0 { &gw_a } else { &gw_b };
        let inc = gw
            .intake(json!({"channel": "sms", "phone": "13804310002", "narrative": format!("第{n}条短信报警")}))
            .await;
        expected.push(inc["id"].as_i64().expect("id"));
    }
    let op_a = Api::login(srv.addr, "op0", PASSWORD).await;
    let mut on_a = op_a.events(Some(&last_id)).await;
    let mut created = Vec::new();
    let mut ids = Vec::new();
    // Claims, a release and 6 intakes happened since.
    while created.len() < expected.len() {
        let (eid, data) = next_data(&mut on_a).await;
        ids.push(eid.parse::<i64>().expect("id"));
        if data["kind"] == "incident.created" {
            created.push(data["incident_id"].as_i64().expect("incident id"));
        }
    }
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "in log order: {ids:?}");
    assert_eq!(
        created.iter().copied().collect::<HashSet<_>>(),
        expected.iter().copied().collect::<HashSet<_>>()
    );
    b.stop().await.expect("stop B");
}
