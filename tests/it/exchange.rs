//! Talking to other systems: an incident out as a NENA EIDO, checked
//! against the project's own JSON Schema of the subset it writes, taken in
//! by a second service, and exported again equal but for its ids.

use jiejing::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, spawn_server};

backend_tests!(an_incident_goes_out_as_an_eido_and_comes_back_the_same);

fn schema() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(include_str!("../../assets/eido/eido-subset.schema.json")).expect("schema");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

fn assert_valid(v: &jsonschema::Validator, eido: &Value) {
    let errors: Vec<String> = v
        .iter_errors(eido)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{eido:#}");
}

/// The EIDO with every identifier replaced by its order of first
/// appearance and the update times dropped: what must survive a trip
/// through another system.
fn modulo_ids(v: &Value) -> Value {
    fn id(ids: &mut Vec<String>, s: &str) -> Value {
        let n = ids.iter().position(|x| x == s).unwrap_or_else(|| {
            ids.push(s.to_owned());
            ids.len() - 1
        });
        Value::String(format!("id#{n}"))
    }
    fn walk(v: &Value, ids: &mut Vec<String>) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| k.as_str() != "lastUpdateTimeStamp")
                    .map(|(k, x)| {
                        let x = match (k.as_str(), x) {
                            (
                                "$id"
                                | "$ref"
                                | "internalIncidentId"
                                | "incidentTrackingIdentifier"
                                | "activeOnIncidentId",
                                Value::String(s),
                            ) => id(ids, s),
                            ("callIdentifier", Value::Array(a)) => {
                                Value::Array(a.iter().map(|s| id(ids, s.as_str().unwrap_or_default())).collect())
                            }
                            _ => walk(x, ids),
                        };
                        (k.clone(), x)
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, ids)).collect()),
            other => other.clone(),
        }
    }
    walk(v, &mut Vec::new())
}

async fn an_incident_goes_out_as_an_eido_and_comes_back_the_same(backend: Backend) {
    let here = spawn_server(backend).await;
    let there = spawn_server(backend).await;
    let gateway = here.user("gw", Role::Gateway, None).await;
    let ct = here.user("ct", Role::CallTaker, None).await;
    let peer = there.user("peer", Role::Gateway, None).await;
    let reader = there.user("reader", Role::CallTaker, None).await;
    let validator = schema();

    let inc = gateway
        .intake(json!({
            "channel": "voice", "phone": "13804310001", "caller_name": "王先生",
            "location": "延吉西站北广场", "lat": 42.8973, "lon": 129.4078,
            "narrative": "有人拿刀<威胁>路人 & 抢包，往东跑了", "category": "criminal", "priority": "P1"
        }))
        .await;
    let id = inc["id"].as_i64().expect("id");
    let (s, out) = ct.get(&format!("/incidents/{id}/eido")).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_valid(&validator, &out);
    assert_eq!(out["eidoVersion"], "1.0");
    assert_eq!(out["incidentComponent"]["incidentTypeInternalCode"], "criminal");
    assert_eq!(out["incidentComponent"]["incidentCommonPriorityNumber"], 1);
    assert_eq!(out["callComponent"][0]["priorityIdentifier"], "highest");
    assert_eq!(
        out["callbackComponent"][0]["callBackInformationUri"][0],
        "tel:13804310001"
    );
    assert!(
        out["locationComponent"][0]["locationByValue"]
            .as_str()
            .is_some_and(|x| x.contains("<gml:pos>42.897300 129.407800</gml:pos>")),
        "{out}"
    );
    assert_eq!(
        out["notesComponent"][0]["notesActionComments"],
        "有人拿刀&lt;威胁&gt;路人 &amp; 抢包，往东跑了"
    );

    // Taken in elsewhere, once however often it is sent.
    let (s, taken) = peer.post("/intake/eido", out.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{taken}");
    let (s, again) = peer.post("/intake/eido", out.clone()).await;
    assert_eq!(s, StatusCode::OK, "a retry returns the first incident");
    assert_eq!(again["id"], taken["id"]);
    assert_eq!(taken["narrative"], "有人拿刀<威胁>路人 & 抢包，往东跑了");
    assert_eq!(taken["location"]["source"], "caller");
    let (_, back) = reader.get(&format!("/incidents/{}/eido", taken["id"])).await;
    assert_valid(&validator, &back);
    assert_eq!(
        modulo_ids(&back),
        modulo_ids(&out),
        "the round trip keeps everything but ids"
    );

    // Worked on: the operator, a line added, a unit sent. Still valid.
    ct.post(&format!("/incidents/{id}/claim"), json!({})).await;
    let (s, _) = ct
        .post(
            &format!("/incidents/{id}/supplements"),
            json!({"text": "嫌疑人穿黑色外套"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, rec) = ct.get(&format!("/incidents/{id}/units")).await;
    let unit = rec["units"][0]["id"].clone();
    let (s, d) = ct
        .post(
            &format!("/incidents/{id}/dispatch"),
            json!({"unit_id": unit, "co_notify": []}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let (_, worked) = ct.get(&format!("/incidents/{id}/eido")).await;
    assert_valid(&validator, &worked);
    assert_eq!(worked["notesComponent"][1]["notesActionComments"], "嫌疑人穿黑色外套");
    assert_eq!(
        worked["emergencyResourceComponent"][0]["primaryUnitStatusRegistryText"],
        "Dispatched"
    );
    assert_eq!(worked["agentComponent"][0]["agentRoleRegistryText"][0], "Call Taking");
    assert_eq!(worked["callComponent"][0]["callStateRegistryText"], "callEnd");

    // What a peer gets wrong is named by its component.
    let mut no_notes = out.clone();
    no_notes["$id"] = json!("urn:emergency:uid:incidentid:x:other.example");
    no_notes.as_object_mut().expect("object").remove("notesComponent");
    let (s, e) = peer.post("/intake/eido", no_notes).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["field"], "notesComponent", "{e}");
    let mut old = out.clone();
    old["eidoVersion"] = json!("0.9");
    let (s, e) = peer.post("/intake/eido", old).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["field"], "eidoVersion", "{e}");
    let mut no_start = out.clone();
    no_start["callComponent"][0]
        .as_object_mut()
        .expect("call")
        .remove("callStartTimestamp");
    let (s, e) = peer.post("/intake/eido", no_start).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        e["error"]["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("callComponent")),
        "{e}"
    );
    let mut bad_place = out.clone();
    bad_place["locationComponent"][0]["locationByValue"] = json!("<gml:pos>north</gml:pos>");
    bad_place["$id"] = json!("urn:emergency:uid:incidentid:y:other.example");
    let (s, e) = peer.post("/intake/eido", bad_place).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["field"], "locationComponent[0].locationByValue", "{e}");
}
