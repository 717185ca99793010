//! The OpenAPI document against the wire: every documented operation is
//! served, every error it gives is documented, and the codes are published
//! as the wire spells them. (schemathesis, run by `.ci/schemathesis.sh`,
//! fuzzes the same document.)

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Api, Backend, spawn_server};

fn operations(doc: &Value) -> Vec<(Method, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if let Ok(m) = method.to_uppercase().parse::<Method>() {
                out.push((m, path.clone(), op.clone()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served_and_its_errors_documented() {
    let srv = spawn_server(Backend::Sqlite).await;
    let (status, doc) = srv.admin.get("/api/openapi.json").await;
    assert!(status.is_success(), "{doc}");
    let ops = operations(&doc);
    assert!(ops.len() >= 45, "{} operations", ops.len());
    for (method, path, op) in &ops {
        // Every path parameter is declared.
        let declared: Vec<&str> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        for seg in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
            assert!(declared.contains(&seg), "{method} {path}: {{{seg}}} not declared");
        }
        // The route exists: never the router's own 404 or 405, whatever the
        // handler makes of an empty request.
        let concrete = path.replace("{id}", "1").replace("{phone}", "13800000000");
        if path.ends_with("/auth/logout") || path.ends_with("/events") {
            continue;
        }
        let mut rb = srv.admin.request(method.clone(), &concrete);
        if op.get("requestBody").is_some() {
            rb = rb.json(&serde_json::json!({}));
        }
        let (status, body) = Api::send(rb).await;
        assert_ne!(
            status,
            reqwest::StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {body}"
        );
        assert!(
            !body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("no such endpoint")),
            "{method} {path} is documented but not served"
        );
        // Whatever it answered is documented.
        let code = status.as_u16().to_string();
        assert!(
            op["responses"].get(&code).is_some(),
            "{method} {path} answered {code}, which the document does not list: {body}"
        );
    }
    // Lists link to their records' operations (the first record's id), so a
    // fuzzer walks from a list to the steps; signed in as an agency, from
    // its inbox to a work order's.
    let families: [(&str, &[&str]); 3] = [
        ("/api/v1/referrals", &["accept", "feedback", "close", "return"]),
        ("/api/v1/followups", &["followup"]),
        ("/api/v1/rectifications", &["rectification"]),
    ];
    for (list, steps) in families {
        let links = &doc["paths"][list]["get"]["responses"]["200"]["links"];
        for step in steps {
            let link = links.as_object().and_then(|links| {
                links
                    .values()
                    .find(|l| l["operationId"].as_str().is_some_and(|o| o.contains(step)))
            });
            assert_eq!(
                link.map(|l| &l["parameters"]["id"]),
                Some(&serde_json::json!("$response.body#/0/id")),
                "GET {list} does not link to {step}: {links}"
            );
        }
    }
    // Enums carry their wire values.
    let agency = &doc["components"]["schemas"]["Agency"]["enum"];
    assert!(
        agency.as_array().is_some_and(|a| a.contains(&Value::from("120"))),
        "{agency}"
    );
    let role = &doc["components"]["schemas"]["Role"]["enum"];
    assert!(
        role.as_array().is_some_and(|a| a.contains(&Value::from("call_taker"))),
        "{role}"
    );
    // Optional request fields are not required; nullable ones say so.
    let before = &doc["components"]["schemas"]["Event"]["properties"]["before"];
    assert!(
        before.to_string().contains("null"),
        "Event.before is nullable: {before}"
    );
}

/// The only routes outside the document are the document itself, health
/// and metrics: an API route added with a plain `.route(` would escape it.
#[test]
fn api_routes_are_only_added_through_the_documented_router() {
    let src = std::fs::read_to_string("src/server/mod.rs").expect("source");
    let routes: Vec<String> = src
        .split(".route(")
        .skip(1)
        .map(|rest| rest.split_whitespace().next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        routes,
        ["\"/api/openapi.json\",", "\"/healthz\",", "\"/metrics\","],
        "a route outside the documented router"
    );
}
