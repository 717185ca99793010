//! Abuse: thousands of random and malformed requests against every endpoint
//! the OpenAPI document lists, with every role's token and none; injection
//! and script strings in every text field; each role's token against the
//! endpoints of the others.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiejing::model::{Agency, Role};
use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::{Config as PropConfig, RngAlgorithm, TestRng, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Api, Backend, spawn_server};

backend_tests!(
    random_requests_never_get_a_5xx,
    injection_and_script_strings_come_back_verbatim,
    each_role_reaches_only_its_own_endpoints,
);

const SQLI: &str = "'; DROP TABLE incidents; --";
const SCRIPT: &str = "<script>alert('x')</script>";

fn requests() -> usize {
    if std::env::var_os("JIEJING_FAULT_LONG").is_some() {
        100_000
    } else {
        10_000
    }
}

fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(SQLI.to_owned()),
        Just(SCRIPT.to_owned()),
        Just(String::new()),
        Just("\u{0}\u{7}\u{202e}".to_owned()),
        Just("9".repeat(40)),
        Just("-1".to_owned()),
        Just("P1".to_owned()),
        Just("voice".to_owned()),
        Just("13804310001".to_owned()),
        Just("2026-11-30T00:00:00Z".to_owned()),
        Just("有人打架".repeat(3000)),
        "\\PC{0,30}",
    ]
}

const FIELDS: &[&str] = &[
    "channel",
    "phone",
    "narrative",
    "location",
    "caller_name",
    "version",
    "priority",
    "category",
    "reason",
    "to",
    "agency",
    "unit_id",
    "co_notify",
    "status",
    "flag",
    "note",
    "text",
    "of",
    "name",
    "role",
    "password",
    "received_at",
    "lat",
    "lon",
    "disconnect",
    "outcome",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (0i64..60).prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        let key = prop_oneof![
            3 => proptest::sample::select(FIELDS).prop_map(str::to_owned),
            1 => nasty_string(),
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..7).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Bytes(Vec<u8>),
    WrongType(String),
    Huge,
}

#[derive(Debug, Clone)]
struct Req {
    method: Method,
    path: String,
    token: usize,
    body: Body,
    idempotency_key: Option<String>,
}

fn path_param() -> impl Strategy<Value = String> {
    prop_oneof![
        (1i64..40).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("13804310001".to_owned()),
        Just("99999999999999999999999".to_owned()),
        // Short enough for a URL (the long strings go into bodies).
        nasty_string().prop_map(|s| urlencode(&s.chars().take(200).collect::<String>())),
    ]
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn request(ops: Arc<Vec<(Method, String)>>, tokens: usize) -> impl Strategy<Value = Req> {
    let n = ops.len();
    let methods = vec![Method::GET, Method::POST, Method::PATCH, Method::DELETE, Method::PUT];
    (
        0..n,
        proptest::sample::select(methods),
        prop::bool::weighted(0.85),
        proptest::collection::vec(path_param(), 3),
        0..tokens + 2,
        prop_oneof![
            1 => Just(Body::None),
            6 => json_value().prop_map(Body::Json),
            1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(Body::Bytes),
            1 => nasty_string().prop_map(Body::WrongType),
            1 => Just(Body::Huge),
        ],
        proptest::option::of(nasty_string()),
        proptest::option::of(prop_oneof![
            "[a-z_]{1,12}=[a-z0-9:.-]{0,20}(&[a-z_]{1,12}=[a-z0-9]{0,8}){0,3}",
            nasty_string().prop_map(|s| format!("kind={}", urlencode(&s.chars().take(200).collect::<String>()))),
        ]),
    )
        .prop_map(move |(op, other, documented, params, token, body, key, query)| {
            let (m, template) = &ops[op];
            let mut path = template.clone();
            for p in &params {
                if let (Some(a), Some(b)) = (path.find('{'), path.find('}')) {
                    path.replace_range(a..=b, p);
                }
            }
            if let Some(q) = query {
                path.push('?');
                path.push_str(&q);
            }
            Req {
                method: if documented { m.clone() } else { other },
                path,
                token,
                body,
                idempotency_key: key,
            }
        })
}

/// The documented operations, from the service's own OpenAPI document.
async fn operations(admin: &Api) -> Vec<(Method, String)> {
    let (status, doc) = admin.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        // Signing out would only turn the rest of the run into 401s.
        if path.ends_with("/auth/logout") {
            continue;
        }
        for method in item.as_object().expect("path item").keys() {
            let m: Method = method.to_uppercase().parse().expect("method");
            ops.push((m, path.clone()));
        }
    }
    ops.push((Method::GET, "/api/v1/no/such/path".into()));
    ops.push((Method::GET, "/healthz".into()));
    ops
}

async fn random_requests_never_get_a_5xx(backend: Backend) {
    let srv = spawn_server(backend).await;
    let mut tokens = vec![srv.admin.clone()];
    for (name, role, agency) in [
        ("ct", Role::CallTaker, None),
        ("lead", Role::ShiftLead, None),
        ("gateway", Role::Gateway, None),
        ("power", Role::Agency, Some(Agency::Utilities)),
    ] {
        tokens.push(srv.user(name, role, agency).await);
    }
    // Something to act on.
    for i in 0..10 {
        tokens[3]
            .intake(json!({ "channel": "voice", "phone": "13804310001", "narrative": format!("第{i}起 有人打架") }))
            .await;
    }
    let ops = Arc::new(operations(&srv.admin).await);
    let anon = srv.anonymous();
    let garbage = Api {
        token: Some("not-a-token".into()),
        ..srv.anonymous()
    };
    tokens.push(anon);
    tokens.push(garbage);
    let strategy = request(ops, tokens.len() - 2);
    let mut runner = TestRunner::new_with_rng(PropConfig::default(), TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let reqs: Vec<Req> = (0..requests())
        .map(|_| strategy.new_tree(&mut runner).expect("generate").current())
        .collect();
    // A fresh connection per request: a server that answers 401 before
    // reading a body closes the connection, and a pooled client would then
    // race it on the next request (a transport error, not the server's).
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let tokens: Arc<Vec<Api>> = Arc::new(
        tokens
            .into_iter()
            .map(|a| Api {
                http: fresh.clone(),
                ..a
            })
            .collect(),
    );
    let statuses: Arc<std::sync::Mutex<BTreeMap<u16, usize>>> = Arc::default();
    let chunks: Vec<Vec<Req>> = reqs.chunks(reqs.len().div_ceil(8)).map(<[Req]>::to_vec).collect();
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let (tokens, statuses) = (tokens.clone(), statuses.clone());
            tokio::spawn(async move {
                for r in chunk {
                    let api = &tokens[r.token];
                    let mut rb = api
                        .request(r.method.clone(), &r.path)
                        .timeout(std::time::Duration::from_secs(20));
                    if let Some(k) = &r.idempotency_key
                        && let Ok(v) = reqwest::header::HeaderValue::from_str(k)
                    {
                        rb = rb.header("Idempotency-Key", v);
                    }
                    rb = match &r.body {
                        Body::None => rb,
                        Body::Json(v) => rb.json(v),
                        Body::Bytes(b) => rb.header("content-type", "application/json").body(b.clone()),
                        Body::WrongType(s) => rb.header("content-type", "text/plain").body(s.clone()),
                        Body::Huge => rb
                            .header("content-type", "application/json")
                            .body(format!("{{\"narrative\": \"{}\"}}", "x".repeat(2_000_000))),
                    };
                    let res = match rb.send().await {
                        Ok(res) => res,
                        // Refused while the client was still writing 2 MB: the
                        // server closed the connection after its 413.
                        Err(e) if matches!(r.body, Body::Huge) && e.is_request() => continue,
                        Err(e) => panic!("{r:?}: {e:?}"),
                    };
                    let status = res.status();
                    assert!(!status.is_server_error(), "{status} for {r:?}");
                    *statuses.lock().expect("lock").entry(status.as_u16()).or_default() += 1;
                    // An event stream stays open; its headers were the answer.
                    drop(res);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("no request got a 5xx");
    }
    let seen = statuses.lock().expect("lock").clone();
    eprintln!("statuses of {} random requests: {seen:?}", requests());
    assert!(
        seen.get(&200).is_some_and(|n| *n > 100),
        "many requests got through: {seen:?}"
    );
    assert!(
        seen.contains_key(&400) && seen.contains_key(&403) && seen.contains_key(&401),
        "{seen:?}"
    );
    let (status, _) = srv.anonymous().get("/healthz").await;
    assert_eq!(status, StatusCode::OK, "the service is still healthy");
}

async fn injection_and_script_strings_come_back_verbatim(backend: Backend) {
    let srv = spawn_server(backend).await;
    let gw = srv.user("gateway", Role::Gateway, None).await;
    let ct = srv.user("ct", Role::CallTaker, None).await;
    let lead = srv.user("lead", Role::ShiftLead, None).await;
    let agency = srv.user("power", Role::Agency, Some(Agency::Utilities)).await;
    let mixed = format!("{SQLI} {SCRIPT} \\ \" % _ 报警");

    let inc = gw
        .intake(json!({ "channel": "voice", "phone": "13804310001", "caller_name": SQLI, "location": SCRIPT, "narrative": mixed }))
        .await;
    let id = inc["id"].as_i64().expect("id");
    let (_, got) = ct.get(&format!("/incidents/{id}")).await;
    assert_eq!(got["caller"]["name"], SQLI);
    assert_eq!(got["location"]["text"], SCRIPT);
    assert_eq!(got["narrative"], mixed.as_str());
    for (channel, field, value) in [("wechat", "wechat_id", SQLI), ("web", "web_account", SCRIPT)] {
        let i = gw
            .intake(json!({ "channel": channel, field: value, "narrative": "有人打架" }))
            .await;
        assert_eq!(i["caller"][field], value);
    }

    // Edited, then closed with a note.
    let (_, claimed) = ct.post_empty(&format!("/incidents/{id}/claim")).await;
    let (status, edited) = ct
        .patch(
            &format!("/incidents/{id}"),
            json!({ "version": claimed["version"], "narrative": SCRIPT, "location": SQLI, "caller_name": SCRIPT }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (edited["narrative"].as_str(), edited["location"]["text"].as_str()),
        (Some(SCRIPT), Some(SQLI))
    );
    let (_, closed) = ct
        .post(
            &format!("/incidents/{id}/close"),
            json!({ "reason": "advice", "note": mixed }),
        )
        .await;
    assert_eq!(closed["close_note"], mixed.as_str());
    assert_eq!(
        ct.get(&format!("/incidents/{id}")).await.1["close_note"],
        mixed.as_str()
    );

    // A flag note, a referral's feedback, a callback's outcome, a lead's reason.
    let (_, flag) = lead
        .post(
            "/callers/13804310001/flags",
            json!({ "flag": "nuisance", "note": mixed }),
        )
        .await;
    assert_eq!(flag["note"], mixed.as_str());
    assert_eq!(
        ct.get("/callers/13804310001").await.1["flags"][0]["note"],
        mixed.as_str()
    );
    let r = gw
        .intake(json!({ "channel": "sms", "phone": "13804310002", "narrative": "家里停电了" }))
        .await;
    let rid = r["id"].as_i64().expect("id");
    ct.post_empty(&format!("/incidents/{rid}/claim")).await;
    let (_, referred) = ct
        .post(&format!("/incidents/{rid}/refer"), json!({ "agency": "utilities" }))
        .await;
    let work_order = referred["referral"]["id"].as_i64().expect("referral");
    agency.post_empty(&format!("/referrals/{work_order}/accept")).await;
    let (status, fb) = agency
        .post(&format!("/referrals/{work_order}/feedback"), json!({ "text": mixed }))
        .await;
    assert_eq!(
        (status, fb["feedback"].as_str()),
        (StatusCode::OK, Some(mixed.as_str()))
    );
    let h = gw
        .intake(json!({ "channel": "voice", "phone": "13804310003", "disconnect": "hangup" }))
        .await;
    let (_, callbacks) = ct.get("/callbacks").await;
    let cb = callbacks
        .as_array()
        .expect("callbacks")
        .iter()
        .find(|c| c["incident_id"] == h["id"])
        .expect("callback task")["id"]
        .as_i64()
        .expect("id");
    let (_, done) = ct
        .post(&format!("/callbacks/{cb}/close"), json!({ "outcome": mixed }))
        .await;
    assert_eq!(done["outcome"], mixed.as_str());
    let q = gw
        .intake(json!({ "channel": "voice", "phone": "13804310004", "narrative": "有人打架" }))
        .await;
    let ct_id = ct.get("/auth/me").await.1["id"].as_i64().expect("id");
    let (status, _) = lead
        .post(
            &format!("/incidents/{}/reassign", q["id"]),
            json!({ "to": ct_id, "reason": mixed }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, events) = lead
        .get(&format!("/audit?incident_id={}&kind=incident.reassigned", q["id"]))
        .await;
    assert_eq!(events[0]["note"], mixed.as_str());

    // A NUL character, which PostgreSQL cannot store in text (the long
    // random run found it in the audit filter) and SQLite would: refused
    // with a 400 naming it on both backends, and nothing stored.
    let nul = "有人\u{0}打架";
    let before = lead.get("/audit").await.1.as_array().map(Vec::len);
    for (status, body, field) in [
        {
            let (s, b) = lead.get(&format!("/audit?kind={}", urlencode(nul))).await;
            (s, b, "query")
        },
        {
            let body = json!({ "channel": "sms", "phone": "13804310005", "narrative": nul });
            let (s, b) = gw.post("/intake", body).await;
            (s, b, "narrative")
        },
        {
            let body = json!({ "channel": "web", "web_account": "u", "narrative": "x", "caller_name": nul });
            let (s, b) = gw.post("/intake", body).await;
            (s, b, "caller_name")
        },
        {
            let body = json!({ "to": ct_id, "reason": nul });
            let (s, b) = lead.post(&format!("/incidents/{}/reassign", q["id"]), body).await;
            (s, b, "reason")
        },
    ] {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| m.contains("NUL")),
            "{body}"
        );
    }
    assert_eq!(
        lead.get("/audit").await.1.as_array().map(Vec::len),
        before,
        "nothing was stored"
    );

    // Injection in sign-in and in filters is just an unknown name or kind.
    let (status, _) = Api::send(
        srv.anonymous()
            .request(Method::POST, "/auth/login")
            .json(&json!({ "name": SQLI, "password": SQLI })),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, none) = lead.get(&format!("/audit?kind={}", urlencode(SQLI))).await;
    assert_eq!((status, none), (StatusCode::OK, json!([])));
    // And the tables are all still there.
    assert_eq!(ct.get(&format!("/incidents/{id}")).await.0, StatusCode::OK);
}

/// Which roles may call what: everyone else gets 403, whatever the body.
async fn each_role_reaches_only_its_own_endpoints(backend: Backend) {
    use Role::*;
    let srv = spawn_server(backend).await;
    let mut api = BTreeMap::new();
    api.insert(Admin.as_str(), srv.admin.clone());
    for (name, role, agency) in [
        ("ct", CallTaker, None),
        ("lead", ShiftLead, None),
        ("gateway", Gateway, None),
        ("power", Agency, Some(jiejing::model::Agency::Utilities)),
    ] {
        api.insert(role.as_str(), srv.user(name, role, agency).await);
    }
    let inc = api["gateway"]
        .intake(json!({ "channel": "voice", "phone": "13804310001", "narrative": "有人打架" }))
        .await;
    let id = inc["id"].as_i64().expect("id");
    let ct_id = api["call_taker"].get("/auth/me").await.1["id"].clone();
    let staff: &[Role] = &[CallTaker, ShiftLead, Admin];
    let leads: &[Role] = &[ShiftLead, Admin];
    let none = json!({});
    // Valid bodies, so that the role alone decides.
    let table: Vec<(Method, String, Value, &[Role])> = vec![
        (
            Method::POST,
            "/intake".into(),
            json!({ "channel": "voice", "phone": "13804310001", "narrative": "有人打架" }),
            &[Gateway, CallTaker, ShiftLead, Admin],
        ),
        (Method::GET, "/queue".into(), none.clone(), staff),
        (Method::GET, "/incidents".into(), none.clone(), staff),
        (Method::GET, format!("/incidents/{id}"), none.clone(), staff),
        (Method::POST, format!("/incidents/{id}/claim"), none.clone(), staff),
        (Method::GET, format!("/incidents/{id}/units"), none.clone(), staff),
        (Method::GET, "/units".into(), none.clone(), staff),
        (Method::GET, "/callers/13804310001".into(), none.clone(), staff),
        (Method::GET, "/callbacks".into(), none.clone(), staff),
        (Method::GET, "/events".into(), none.clone(), staff),
        (
            Method::GET,
            "/referrals".into(),
            none.clone(),
            &[CallTaker, ShiftLead, Admin, Agency],
        ),
        (Method::GET, "/stats".into(), none.clone(), leads),
        (Method::GET, "/alerts".into(), none.clone(), leads),
        (Method::GET, "/callers/nuisance".into(), none.clone(), leads),
        (Method::GET, "/callers/13804310001/dossier".into(), none.clone(), leads),
        (
            Method::POST,
            format!("/incidents/{id}/priority"),
            json!({ "priority": "P2", "reason": "check" }),
            leads,
        ),
        (
            Method::POST,
            format!("/incidents/{id}/reassign"),
            json!({ "to": ct_id, "reason": "check" }),
            leads,
        ),
        (
            Method::POST,
            "/callers/13804310001/flags".into(),
            json!({ "flag": "nuisance", "note": "check" }),
            leads,
        ),
        (Method::GET, "/users".into(), none.clone(), leads),
        (Method::GET, "/audit".into(), none.clone(), leads),
        (
            Method::POST,
            "/users".into(),
            json!({ "name": "new_user", "role": "call_taker", "password": "long-enough-password" }),
            &[Admin],
        ),
        (Method::POST, "/triage/reload".into(), none.clone(), &[Admin]),
    ];
    for (method, path, body, allowed) in &table {
        for role in Role::ALL {
            let res = api[role.as_str()]
                .request(method.clone(), path)
                .json(body)
                .send()
                .await
                .expect("request");
            let status = res.status();
            drop(res);
            if allowed.contains(role) {
                assert_ne!(status, StatusCode::FORBIDDEN, "{role} may {method} {path}");
                assert!(!status.is_server_error(), "{role} {method} {path}: {status}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} may not {method} {path}");
                // The role is checked before anything else is read: a bad
                // path parameter, query or body still answers 403, so the
                // route's validation tells another role nothing.
                let junk_path = format!(
                    "{}?status=bogus&from=bogus&limit=bogus",
                    path.replace(&id.to_string(), "x")
                );
                let res = api[role.as_str()]
                    .request(method.clone(), &junk_path)
                    .header("content-type", "application/json")
                    .body("{\"bogus\":")
                    .send()
                    .await
                    .expect("request");
                assert_eq!(
                    res.status(),
                    StatusCode::FORBIDDEN,
                    "{role} {method} {junk_path} with a broken body"
                );
            }
        }
    }
}
