//! Where calls are: addresses read across the whole province, positions on
//! calls and units over HTTP, units offered by distance, and the map's feed.

use jiejing::model::Role;
use jiejing::model::gazetteer::Gazetteer;
use jiejing::model::geo::GeoData;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, spawn_server};

backend_tests!(calls_across_the_province_get_their_division_and_the_nearest_units);

/// Calls from ten county-level divisions of eight prefectures, most far from
/// the demo cities, in the styles callers use.
const CALLS: [(&str, &str); 10] = [
    ("延吉市河南街道附近，有人打架", "222401"),
    ("吉林省通化市东昌区新华大街", "220502"),
    ("白山市浑江区这边", "220602"),
    ("松原宁江区", "220702"),
    ("四平市铁西区英雄大街", "220302"),
    ("白城市洮北区", "220802"),
    ("辽源市龙山区", "220402"),
    ("敦化那边的国道上", "222403"),
    ("梅河口市", "220581"),
    ("前郭县查干湖", "220721"),
];

/// The county-level division a station code belongs to, by the gazetteer.
fn county_of_station(code: &str) -> Option<String> {
    Gazetteer::shared()
        .stations()
        .find(|(_, _, s)| s.code == code)
        .and_then(|(_, d, _)| d.adcode.clone())
}

fn distances(rec: &Value) -> Vec<f64> {
    rec["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| u["distance_m"].as_f64().expect("every offer has a distance"))
        .collect()
}

async fn calls_across_the_province_get_their_division_and_the_nearest_units(backend: Backend) {
    let srv = spawn_server(backend).await;
    let gateway = srv.user("gw", Role::Gateway, None).await;
    let ct = srv.user("ct", Role::CallTaker, None).await;
    let lead = srv.user("lead", Role::ShiftLead, None).await;
    for (text, county) in CALLS {
        let inc = gateway
            .intake(
                json!({"channel": "voice", "phone": "13904310000", "location": text, "narrative": "有人受伤了，快来"}),
            )
            .await;
        let id = inc["id"].as_i64().expect("id");
        let station = inc["location"]["jurisdiction"].as_str().expect("a station area");
        assert_eq!(county_of_station(station).as_deref(), Some(county), "{text}: {station}");
        assert_eq!(inc["location"]["source"], "place", "{text}");
        let at = jiejing::model::geo::GeoPoint::new(
            inc["location"]["lat"].as_f64().expect("lat"),
            inc["location"]["lon"].as_f64().expect("lon"),
        );
        assert_eq!(
            GeoData::shared().county_at(at).map(|d| d.code.as_str()),
            Some(county),
            "{text}: the point lies in the county"
        );
        let (s, rec) = ct.get(&format!("/incidents/{id}/units")).await;
        assert_eq!(s, StatusCode::OK, "{rec}");
        assert_eq!(rec["place"]["county"]["code"], county, "{text}: {rec}");
        let d = distances(&rec);
        assert!(!d.is_empty(), "{text}: units offered");
        // Not a road accident: traffic police come last, everyone else by
        // distance.
        let police: Vec<f64> = rec["units"]
            .as_array()
            .expect("units")
            .iter()
            .filter(|u| u["kind"] != "traffic")
            .map(|u| u["distance_m"].as_f64().expect("distance"))
            .collect();
        assert!(
            police.windows(2).all(|w| w[0] <= w[1] + 100.0),
            "{text}: nearest first {police:?}"
        );
        assert!(d[0] < 60_000.0, "{text}: the first unit is near, {} m", d[0]);
    }

    // A WeChat share places the call by its position, whatever the text says.
    let share = gateway
        .intake(
            json!({"channel": "wechat", "wechat_id": "wx_share", "location": "[位置] 不清楚",
            "lat": 42.9048, "lon": 129.5139, "narrative": "有人晕倒了"}),
        )
        .await;
    assert_eq!(share["location"]["source"], "caller");
    let station = share["location"]["jurisdiction"].as_str().expect("station");
    assert_eq!(
        county_of_station(station).as_deref(),
        Some("222401"),
        "延吉 by position"
    );
    let id = share["id"].as_i64().expect("id");
    let (_, rec) = ct.get(&format!("/incidents/{id}/units")).await;
    assert_eq!(rec["place"]["how"], "coordinates");
    let first = rec["units"][0].clone();
    let second = rec["units"][1].clone();
    assert!(first["distance_m"].as_f64() <= second["distance_m"].as_f64(), "{rec}");

    // A unit reports a position next to the caller: it is offered first,
    // the report is in the log, and the unit carries it.
    let (s, moved) = ct
        .post(
            &format!("/units/{}/position", second["id"]),
            json!({"lat": 42.9050, "lon": 129.5140}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    assert!((moved["at"]["lat"].as_f64().expect("lat") - 42.905).abs() < 1e-9);
    let (_, rec) = ct.get(&format!("/incidents/{id}/units")).await;
    assert_eq!(
        rec["units"][0]["id"], second["id"],
        "the unit now nearest is first: {rec}"
    );
    assert!(rec["units"][0]["distance_m"].as_f64().expect("d") < 50.0);
    let (_, log) = lead.get("/audit?kind=unit.position").await;
    assert!(
        log.as_array()
            .is_some_and(|l| l.iter().any(|e| e["unit_id"] == second["id"])),
        "{log}"
    );
    let (s, bad) = ct
        .post(
            &format!("/units/{}/position", second["id"]),
            json!({"lat": 91.0, "lon": 0.0}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad["error"]["field"], "lat", "{bad}");

    // The operator moves the pin: the call follows the map, and a new
    // place name no longer moves it.
    let taken = ct.post(&format!("/incidents/{id}/claim"), json!({})).await.1;
    let (s, pinned) = ct
        .patch(
            &format!("/incidents/{id}"),
            json!({"version": taken["version"], "lat": 43.8868, "lon": 125.3245}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{pinned}");
    assert_eq!(pinned["location"]["source"], "map");
    let station = pinned["location"]["jurisdiction"].as_str().expect("station");
    assert!(
        county_of_station(station).is_some_and(|c| c.starts_with("2201")),
        "长春: {station}"
    );
    let (_, renamed) = ct
        .patch(
            &format!("/incidents/{id}"),
            json!({"version": pinned["version"], "location": "延吉西站"}),
        )
        .await;
    assert_eq!(renamed["location"]["lat"], pinned["location"]["lat"], "{renamed}");

    // The map's feed: every open call with a position.
    let (s, map) = ct.get("/map?hours=24").await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<i64> = map
        .as_array()
        .expect("map")
        .iter()
        .filter_map(|i| i["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), CALLS.len() + 1, "{map}");
    let (s, _) = ct.get("/map?hours=0").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

/// One labelled address of `tests/data/addresses.jsonl`, written from the
/// division list alone by a writer who never saw the resolver.
#[derive(serde::Deserialize)]
struct Labelled {
    text: String,
    county: Option<String>,
    prefecture: Option<String>,
    style: String,
}

#[test]
fn addresses_written_blind_resolve_to_their_division() {
    let rows: Vec<Labelled> = include_str!("../data/addresses.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a labelled address"))
        .collect();
    assert!(rows.len() >= 200, "{} rows", rows.len());
    let g = Gazetteer::shared();
    let (mut county_ok, mut county_n, mut pref_ok, mut pref_n, mut none_ok, mut none_n) = (0, 0, 0, 0, 0, 0);
    let mut wrong = Vec::new();
    for r in &rows {
        let got = g.locate(&r.text, None);
        let got_county = got.as_ref().and_then(|p| p.county.as_ref()).map(|c| c.code.clone());
        let got_pref = got.as_ref().and_then(|p| p.prefecture.as_ref()).map(|c| c.code.clone());
        match (&r.county, &r.prefecture) {
            (Some(c), _) => {
                county_n += 1;
                if got_county.as_ref() == Some(c) {
                    county_ok += 1;
                } else {
                    wrong.push(format!("{} [{}] want {c} got {got_county:?}", r.text, r.style));
                }
            }
            (None, Some(_)) => {}
            (None, None) => {
                none_n += 1;
                if got.is_none() {
                    none_ok += 1;
                } else {
                    wrong.push(format!("{} [{}] want none got {got_county:?}", r.text, r.style));
                }
            }
        }
        if let Some(p) = &r.prefecture {
            pref_n += 1;
            if got_pref.as_ref() == Some(p) {
                pref_ok += 1;
            }
        }
    }
    let rate = |ok: i32, n: i32| f64::from(ok) / f64::from(n.max(1));
    eprintln!(
        "addresses: county {county_ok}/{county_n} ({:.3}), prefecture {pref_ok}/{pref_n} ({:.3}), \
         not in Jilin {none_ok}/{none_n}\n{}",
        rate(county_ok, county_n),
        rate(pref_ok, pref_n),
        wrong.join("\n")
    );
    assert!(rate(county_ok, county_n) >= 0.95, "county accuracy");
    assert!(rate(pref_ok, pref_n) >= 0.97, "prefecture accuracy");
    assert!(rate(none_ok, none_n) >= 0.90, "places outside Jilin left unplaced");
}
