//! The shift lead's screens, driven with egui_kittest against a real
//! in-process service: reassigning a call, flagging a number, the statistics
//! panel, and exports that read back as what was exported.

use egui::accesskit::Role as A11y;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use jiejing::console::ConsoleApp;
use jiejing::console::export::{self, Table};
use jiejing::console::i18n::Lang;
use jiejing::model::{Incident, Role};
use serde_json::{Value, json};

use crate::console::{Env, console_as, env, step_until};
use crate::helpers::{Api, PASSWORD};

type H = Harness<'static, Option<ConsoleApp>>;

fn post(env: &Env, body: Value) -> i64 {
    env.rt.block_on(env.gateway.intake(body))["id"].as_i64().expect("id")
}

fn call_taker(env: &Env, name: &str) -> Api {
    env.rt.block_on(Api::login(env.srv.addr, name, PASSWORD))
}

fn ok(env: &Env, api: &Api, path: &str, body: Value) -> Value {
    let (status, v) = env.rt.block_on(api.post(path, body));
    assert!(status.is_success(), "{path}: {v}");
    v
}

/// The lead's console, switched to the lead view and showing `tab`.
fn lead_console(env: &Env, tab: &str) -> H {
    let mut h = console_as(env, "lead");
    step_until(&mut h, "the lead view toggle", |h| h.query_by_label("值班长").is_some());
    h.get_by_label("值班长").click();
    step_until(&mut h, "the lead tabs", |h| h.query_by_label(tab).is_some());
    h.get_by_label(tab).click();
    h.step();
    h
}

fn lead<'a>(h: &'a Harness<'_, Option<ConsoleApp>>) -> &'a jiejing::console::lead::LeadState {
    &h.state().as_ref().expect("console started").state.lead
}

/// Clicks a combo box, then the entry `option` in its popup.
fn choose(h: &mut H, combo: &str, option: &str) {
    step_until(h, "the combo box", |h| {
        h.query_by_role_and_label(A11y::ComboBox, combo).is_some()
    });
    h.get_by_role_and_label(A11y::ComboBox, combo).click();
    step_until(h, "the popup open", |h| h.query_all_by_label(option).count() > 0);
    h.query_all_by_label(option).last().expect("the option").click();
    h.step();
}

/// The file with extension `ext` in `dir`, once there is one.
fn written(dir: &std::path::Path, ext: &str) -> Option<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == ext))
}

fn type_into(h: &mut H, field: &str, text: &str) {
    h.get_by_label(field).focus();
    h.step();
    h.get_by_label(field).type_text(text);
    h.step();
}

#[test]
fn a_lead_reassigns_a_call_with_a_reason() {
    let env = env();
    let ct = call_taker(&env, "ct");
    env.rt.block_on(env.srv.user("ct2", Role::CallTaker, None));
    // ct3 signed out: not on shift, so not offered.
    let ct3 = env.rt.block_on(env.srv.user("ct3", Role::CallTaker, None));
    env.rt.block_on(ct3.post_empty("/auth/logout"));
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310001", "narrative": "楼上一直在砸东西"}),
    );
    ok(&env, &ct, &format!("/incidents/{id}/claim"), json!({}));

    let mut h = lead_console(&env, "队列监控");
    step_until(&mut h, "the held call in oversight", |h| {
        h.query_by_label(&format!("改派 #{id}")).is_some() && !lead(h).users.is_empty()
    });
    step_until(&mut h, "who is on shift", |h| {
        let l = lead(h);
        l.users.iter().any(|u| u.name == "ct2" && l.signed_in.contains(&u.id))
    });
    assert!(h.query_by_label_contains("在班接警员").is_some());
    assert_eq!(
        h.query_all_by_label_contains("ct3").count(),
        0,
        "ct3 signed out: not listed on shift"
    );
    h.get_by_label(&format!("改派 #{id}")).click();
    h.step();
    let combo = format!("改派给 #{id}");
    step_until(&mut h, "the combo box", |h| {
        h.query_by_role_and_label(A11y::ComboBox, &combo).is_some()
    });
    h.get_by_role_and_label(A11y::ComboBox, &combo).click();
    step_until(&mut h, "the popup open", |h| h.query_all_by_label("ct2").count() > 0);
    assert!(
        h.query_by_label("ct3").is_none(),
        "a signed-out operator is not offered"
    );
    h.query_all_by_label("ct2").last().expect("the option").click();
    h.step();
    // No reason, no reassignment.
    h.get_by_label("确定").click();
    h.step();
    assert!(lead(&h).editing.is_some(), "the form stays open without a reason");
    type_into(&mut h, "原因", "ct 交班");
    h.get_by_label("确定").click();
    step_until(&mut h, "reassigned on the service", |_| {
        env.rt.block_on(env.lead.get(&format!("/incidents/{id}"))).1["holder"]["name"] == "ct2"
    });
    let events = env
        .rt
        .block_on(
            env.lead
                .get(&format!("/audit?incident_id={id}&kind=incident.reassigned")),
        )
        .1;
    assert_eq!(events[0]["note"], "ct 交班");
    assert_eq!(events[0]["actor"]["name"], "lead");
    // The oversight table follows the live feed.
    step_until(&mut h, "the new holder shown", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.queue.calls.get(&id))
            .and_then(|i| i.holder.as_ref())
            .is_some_and(|u| u.name == "ct2")
    });

    // The audit viewer, filtered to this call and to reassignments.
    let other = post(
        &env,
        json!({"channel": "sms", "phone": "13804310002", "narrative": "另一起"}),
    );
    h.get_by_label("审计日志").click();
    step_until(&mut h, "the audit filters", |h| h.query_by_label("警情").is_some());
    type_into(&mut h, "警情", &id.to_string());
    type_into(&mut h, "操作", "incident.re");
    h.get_by_label("查询").click();
    step_until(&mut h, "the filtered trail", |h| {
        let a = &lead(h).audit;
        !a.is_empty()
            && a.iter()
                .all(|e| e.incident_id == Some(id) && e.kind.starts_with("incident.re"))
    });
    assert!(h.query_by_label("ct 交班").is_some(), "the reason is shown");
    assert!(lead(&h).audit.iter().all(|e| e.incident_id != Some(other)));
}

#[test]
fn a_lead_flags_a_nuisance_number_and_prints_its_dossier() {
    let env = env();
    let ct = call_taker(&env, "ct");
    let pest = "13900000007";
    let mut ids = vec![];
    for text in ["<script>alert(1)</script> 哈哈", "又是我，逗你玩"] {
        let id = post(&env, json!({"channel": "voice", "phone": pest, "narrative": text}));
        ok(&env, &ct, &format!("/incidents/{id}/claim"), json!({}));
        ok(
            &env,
            &ct,
            &format!("/incidents/{id}/close"),
            json!({"reason": "invalid"}),
        );
        ids.push(id);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = lead_console(&env, "骚扰号码");
    h.state_mut()
        .as_mut()
        .expect("console")
        .export_to(dir.path().to_path_buf());
    step_until(&mut h, "the number ranked", |h| h.query_by_label(pest).is_some());
    h.get_by_label(pest).click();
    step_until(&mut h, "its history loaded", |h| lead(h).history.is_some());

    choose(&mut h, "标记类型", "辱骂");
    type_into(&mut h, "备注", "两次谎报，辱骂接警员");
    h.get_by_label(&format!("标记 {pest}")).click();
    let history = || env.rt.block_on(env.lead.get(&format!("/callers/{pest}"))).1;
    step_until(&mut h, "the flag stored", |_| {
        let flag = &history()["flags"][0];
        flag["flag"] == "abusive" && flag["note"] == "两次谎报，辱骂接警员"
    });
    let flag_id = history()["flags"][0]["id"].as_i64().expect("flag id");
    step_until(&mut h, "the flag listed with an unflag button", |h| {
        h.query_by_label(&format!("取消标记 {flag_id}")).is_some()
    });

    h.get_by_label(&format!("打印档案 {pest}")).click();
    step_until(&mut h, "the dossier written", |_| written(dir.path(), "html").is_some());
    let html_path = written(dir.path(), "html").expect("html");
    let html = std::fs::read_to_string(&html_path).expect("read the dossier");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; 哈哈"),
        "caller text is escaped"
    );
    assert!(!html.contains("<script>"));
    assert!(html.contains("两次谎报，辱骂接警员"), "the flag note is in the dossier");
    for id in &ids {
        assert!(html.contains(&format!("<td>{id}</td>")), "call #{id} listed");
    }

    h.get_by_label(&format!("取消标记 {flag_id}")).click();
    step_until(&mut h, "the flag removed", |_| {
        env.rt.block_on(env.lead.get(&format!("/callers/{pest}"))).1["flags"] == json!([])
    });
}

#[test]
fn the_statistics_panel_shows_the_services_numbers() {
    let env = env();
    let ct = call_taker(&env, "ct");
    let a = post(
        &env,
        json!({"channel": "voice", "phone": "13804310011", "narrative": "有人抢包", "category": "criminal"}),
    );
    let b = post(
        &env,
        json!({"channel": "sms", "phone": "13804310012", "narrative": "话费充值没到账", "category": "non_police"}),
    );
    let c = post(
        &env,
        json!({"channel": "voice", "phone": "13804310013", "narrative": "逗你玩"}),
    );
    post(
        &env,
        json!({"channel": "voice", "phone": "13804310014", "narrative": "邻居吵架", "category": "public_order"}),
    );
    for id in [a, b, c] {
        ok(&env, &ct, &format!("/incidents/{id}/claim"), json!({}));
    }
    let unit = env.rt.block_on(ct.get("/units")).1[0]["id"].clone();
    ok(&env, &ct, &format!("/incidents/{a}/dispatch"), json!({"unit_id": unit}));
    ok(
        &env,
        &ct,
        &format!("/incidents/{b}/refer"),
        json!({"agency": "telecom"}),
    );
    ok(
        &env,
        &ct,
        &format!("/incidents/{c}/close"),
        json!({"reason": "invalid"}),
    );

    let mut h = lead_console(&env, "统计");
    step_until(&mut h, "statistics loaded", |h| lead(h).stats.is_some());
    for label in [
        "来电总数: 4",
        "有效警情: 2 (50.0%)",
        "非警务（分流）: 1 (25.0%)",
        "无效: 1 (25.0%)",
        "电话: 3",
        "短信: 1",
        "排队数: 1 (1 未接)",
    ] {
        assert!(h.query_by_label(label).is_some(), "the panel shows {label:?}");
    }
    // The operator table: ct handled three calls and holds none.
    let stats = lead(&h).stats.clone().expect("stats");
    assert_eq!(stats.operators.len(), 1);
    assert_eq!((stats.operators[0].handled, stats.operators[0].holding), (3, 0));
    // How often operators kept triage's suggestion: the three calls ct
    // disposed of (closing the prank as invalid confirms it as invalid);
    // the quarrel still waits, so it is not counted.
    let confirmed: i64 = stats.triage_agreement.iter().map(|a| a.confirmed).sum();
    let kept: i64 = stats.triage_agreement.iter().map(|a| a.kept_category).sum();
    assert_eq!(confirmed, 3, "{:?}", stats.triage_agreement);
    let overall = format!("总体采纳 {kept}/3 ({:.0}%)", 100.0 * kept as f64 / 3.0);
    assert!(h.query_by_label(&overall).is_some(), "the panel shows {overall:?}");
    assert!(h.query_by_label("研判建议采纳率").is_some());
    // Durations in Chinese units, not "10 s".
    assert!(h.query_by_label_contains("达标率 ≤15秒").is_some());
    assert_eq!(h.query_all_by_label_contains(" s:").count(), 0);
    // A year at once: the same calls, in daily bars.
    choose(&mut h, "时间范围", "近一年");
    step_until(&mut h, "the year's statistics", |h| {
        lead(h).stats.as_ref().is_some_and(|s| s.bucket_hours == 24)
    });
    let year = lead(&h).stats.clone().expect("stats");
    // Calendar days: the first begins at the midnight before the range.
    assert_eq!(year.total, 4);
    assert!((365..=366).contains(&year.hourly.len()), "{}", year.hourly.len());
    let first = year.hourly[0].start.with_timezone(&jiejing::model::stats::centre_tz());
    assert_eq!(first.format("%H:%M").to_string(), "00:00");
    assert!(h.query_by_label("来电总数: 4").is_some());
    assert!(
        h.query_by_label("每日来电（按渠道）").is_some(),
        "the chart says its bars are days"
    );
    assert!(h.query_by_label("每小时来电（按渠道）").is_none());
    // Switching to English keeps the numbers.
    h.get_by_label("English").click();
    step_until(&mut h, "English labels", |h| h.query_by_label("Calls: 4").is_some());
    assert!(h.query_by_label("Police matters: 2 (50.0%)").is_some());
}

#[test]
fn an_exported_csv_reads_back_as_the_same_rows() {
    let env = env();
    let awkward = "他说\"快来\"，地址是 A栋,3单元\n然后挂了";
    for (phone, text) in [
        ("13804310021", awkward),
        ("13804310022", "商场着火了"),
        ("13804310023", "'; DROP TABLE incidents; --"),
    ] {
        post(
            &env,
            json!({"channel": "web", "phone": phone, "web_account": "u", "narrative": text}),
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = lead_console(&env, "统计");
    h.state_mut()
        .as_mut()
        .expect("console")
        .export_to(dir.path().to_path_buf());
    step_until(&mut h, "statistics loaded", |h| lead(h).stats.is_some());
    h.get_by_label("导出CSV").click();
    step_until(&mut h, "the export written", |h| {
        h.query_by_label_contains("已导出").is_some()
    });
    let path = written(dir.path(), "csv").expect("csv");
    let bytes = std::fs::read(&path).expect("read the export");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with BOM");
    let parsed = export::parse_csv(&bytes).expect("the export parses");

    let (_, list) = env.rt.block_on(env.lead.get("/incidents?limit=100"));
    let mut incidents: Vec<Incident> = serde_json::from_value(list).expect("incidents");
    incidents.sort_by_key(|i| (i.received_at, i.id));
    let expected: Table = export::incidents_table(Lang::Zh, &incidents);
    assert_eq!(parsed, expected);
    assert_eq!(parsed.rows.len(), 3);
    let narrative = parsed
        .header
        .iter()
        .position(|c| c == "报警内容")
        .expect("narrative column");
    assert_eq!(parsed.rows[0][narrative], awkward);
    assert_eq!(parsed.rows[2][narrative], "'; DROP TABLE incidents; --");
}

#[test]
fn without_a_file_dialog_the_dossier_is_saved_and_said_where_and_readable_on_screen() {
    let env = env();
    let ct = call_taker(&env, "ct");
    let pest = "13900000008";
    let id = post(
        &env,
        json!({"channel": "voice", "phone": pest, "narrative": "打着玩的"}),
    );
    ok(&env, &ct, &format!("/incidents/{id}/claim"), json!({}));
    ok(
        &env,
        &ct,
        &format!("/incidents/{id}/supplements"),
        json!({"text": "又打来一次，仍是玩笑"}),
    );
    ok(
        &env,
        &ct,
        &format!("/incidents/{id}/close"),
        json!({"reason": "invalid"}),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = lead_console(&env, "骚扰号码");
    h.state_mut()
        .as_mut()
        .expect("console")
        .export_without_dialog(dir.path().to_path_buf());
    step_until(&mut h, "the number ranked", |h| h.query_by_label(pest).is_some());
    h.get_by_label(pest).click();
    step_until(&mut h, "its history loaded", |h| lead(h).history.is_some());
    h.get_by_label(&format!("打印档案 {pest}")).click();
    step_until(&mut h, "the dossier written to the fallback folder", |_| {
        written(dir.path(), "html").is_some()
    });
    let path = written(dir.path(), "html").expect("html");
    step_until(&mut h, "the lead is told where", |h| {
        h.query_by_label_contains("无法打开保存对话框，已保存到").is_some()
            && h.query_by_label_contains(&path.display().to_string()).is_some()
    });
    assert!(
        std::fs::read_to_string(&path)
            .expect("read")
            .contains("又打来一次，仍是玩笑")
    );
    // The same dossier, read inside the console.
    h.get_by_label(&format!("查看档案 {pest}")).click();
    step_until(&mut h, "the dossier on screen with its supplement", |h| {
        h.query_by_label_contains("打着玩的").is_some()
            && h.query_by_label_contains("ct：又打来一次，仍是玩笑").is_some()
    });
}

#[test]
fn freeing_a_colleagues_call_asks_for_a_reason() {
    let env = env();
    let ct = call_taker(&env, "ct");
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310002", "narrative": "邻居家一直有人哭喊"}),
    );
    ok(&env, &ct, &format!("/incidents/{id}/claim"), json!({}));
    let mut h = lead_console(&env, "队列监控");
    step_until(&mut h, "the held call in oversight", |h| {
        h.query_by_label(&format!("强制退回 #{id}")).is_some()
    });
    h.get_by_label(&format!("强制退回 #{id}")).click();
    step_until(&mut h, "the reason form", |h| h.query_by_label("确定").is_some());
    h.get_by_label("确定").click();
    h.step();
    assert!(lead(&h).editing.is_some(), "no reason, no release");
    assert_eq!(
        env.rt.block_on(env.lead.get(&format!("/incidents/{id}"))).1["holder"]["name"],
        "ct"
    );
    type_into(&mut h, "原因", "ct 离开工位十分钟");
    h.get_by_label("确定").click();
    step_until(&mut h, "released on the service", |_| {
        env.rt.block_on(env.lead.get(&format!("/incidents/{id}"))).1["status"] == "new"
    });
    let events = env
        .rt
        .block_on(env.lead.get(&format!("/audit?incident_id={id}&kind=incident.released")))
        .1;
    assert_eq!(events[0]["note"], "ct 离开工位十分钟");
}

/// The 12345–110 linkage on screen: the agency hands an order back from its
/// inbox with a reason; the shift lead reads it and re-routes the call.
#[test]
fn an_agency_returns_an_order_and_the_lead_reroutes_it() {
    let env = env();
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310021", "narrative": "楼道里水管冻裂了，水漫到一楼"}),
    );
    let ct = call_taker(&env, "ct");
    ok(&env, &ct, &format!("/incidents/{id}/claim"), json!({}));
    let r = ok(
        &env,
        &ct,
        &format!("/incidents/{id}/refer"),
        json!({"agency": "telecom"}),
    );
    let number = r["referral"]["number"].as_str().expect("number").to_owned();
    env.rt.block_on(
        env.srv
            .user("telecom", Role::Agency, Some(jiejing::model::Agency::Telecom)),
    );
    let orders = |env: &Env| {
        env.rt
            .block_on(env.lead.get(&format!("/referrals?incident_id={id}")))
            .1
            .as_array()
            .cloned()
            .unwrap_or_default()
    };

    let mut h = console_as(&env, "telecom");
    let note_field = format!("退回说明 {number}");
    step_until(&mut h, "the return form", |h| h.query_by_label(&note_field).is_some());
    let button = format!("退回 {number}");
    assert!(
        h.get_by_label(&button).accesskit_node().is_disabled(),
        "no return without a note"
    );
    choose(&mut h, "退回原因", "需公安先处置");
    type_into(&mut h, &note_field, "不是通信故障，是供水管道");
    h.get_by_label(&button).click();
    step_until(&mut h, "returned", |_| orders(&env)[0]["status"] == "returned");
    assert_eq!(orders(&env)[0]["return_reason"], "police_first");
    assert_eq!(orders(&env)[0]["return_note"], "不是通信故障，是供水管道");
    drop(h);

    let mut h = lead_console(&env, "分流跟踪");
    let note_field = format!("审核意见 {number}");
    step_until(&mut h, "the returned order in review", |h| {
        h.query_by_label(&note_field).is_some() && h.query_by_label("不是通信故障，是供水管道").is_some()
    });
    // Whose is it? Settled in a three-way call, recorded before deciding.
    type_into(&mut h, &format!("三方通话参与方 {number}"), "来电人、110、12345");
    h.get_by_label(&format!("记录三方通话 {number}")).click();
    step_until(&mut h, "the three-way call recorded", |h| {
        orders(&env)[0]["three_way_parties"] == "来电人、110、12345"
            && h.query_by_label_contains("三方通话: 来电人、110、12345").is_some()
    });
    type_into(&mut h, &note_field, "供水管道归水务");
    choose(&mut h, "改派至", "水电气暖");
    h.get_by_label(&format!("确认改派 {number}")).click();
    step_until(&mut h, "re-routed", |_| orders(&env).len() == 2);
    let all = orders(&env);
    let old = all.iter().find(|o| o["number"] == number.as_str()).expect("old order");
    let new = all.iter().find(|o| o["number"] != number.as_str()).expect("new order");
    assert_eq!(
        (&old["status"], &old["review_note"]),
        (&json!("withdrawn"), &json!("供水管道归水务"))
    );
    assert_eq!((&new["agency"], &new["status"]), (&json!("utilities"), &json!("sent")));
    step_until(&mut h, "the review queue empties", |h| {
        h.query_by_label(&note_field).is_none()
    });
}

/// 回访 on screen: the call taker records a dissatisfied caller from the
/// desk's follow-up list; the lead sees the rectification it opened and
/// closes it with what was done.
#[test]
fn a_dissatisfied_follow_up_opens_a_rectification_the_lead_closes() {
    let env = env();
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310041", "location": "红旗街万达广场门口", "narrative": "两辆车追尾，有人受伤流血"}),
    );
    let ct = call_taker(&env, "ct");
    ok(&env, &ct, &format!("/incidents/{id}/claim"), json!({}));
    let units = env.rt.block_on(ct.get(&format!("/incidents/{id}/units"))).1;
    let unit_id = units["units"][0]["id"].as_i64().expect("a unit");
    ok(
        &env,
        &ct,
        &format!("/incidents/{id}/dispatch"),
        json!({"unit_id": unit_id}),
    );
    ok(&env, &ct, &format!("/incidents/{id}/on-scene"), json!({}));
    ok(&env, &ct, &format!("/incidents/{id}/resolve"), json!({}));
    let followups = env.rt.block_on(ct.get(&format!("/followups?incident_id={id}"))).1;
    let fid = followups[0]["id"].as_i64().expect("a P1 call gets a follow-up");

    let mut h = console_as(&env, "ct");
    let reason_field = format!("不满意原因 #{fid}");
    step_until(&mut h, "the follow-up on the desk", |h| {
        h.query_by_label(&reason_field).is_some()
    });
    let button = format!("不满意 #{fid}");
    assert!(
        h.get_by_label(&button).accesskit_node().is_disabled(),
        "no dissatisfied without a reason"
    );
    // The list sits below the unit board: scroll to it, as a person would.
    h.get_by_label(&reason_field).scroll_to_me();
    h.step();
    type_into(&mut h, &reason_field, "民警四十分钟才到");
    h.get_by_label(&button).click();
    let rectifications = |env: &Env| env.rt.block_on(env.lead.get("/rectifications")).1;
    step_until(&mut h, "the rectification opened", |_| {
        rectifications(&env).as_array().is_some_and(|a| a.len() == 1)
    });
    step_until(&mut h, "the follow-up leaves the desk", |h| {
        h.query_by_label(&reason_field).is_none()
    });
    drop(h);

    let rid = rectifications(&env)[0]["id"].as_i64().expect("rid");
    let mut h = lead_console(&env, "回访整改");
    let note_field = format!("整改情况 #{rid}");
    step_until(&mut h, "the rectification with its reason", |h| {
        h.query_by_label(&note_field).is_some() && h.query_by_label("民警四十分钟才到").is_some()
    });
    type_into(&mut h, &note_field, "已约谈出警民警，向来电人致歉");
    h.get_by_label(&format!("整改完成 #{rid}")).click();
    step_until(&mut h, "closed", |_| {
        rectifications(&env).as_array().is_some_and(|a| a.is_empty())
    });
    let closed = env.rt.block_on(env.lead.get("/rectifications?open=false")).1;
    assert_eq!(closed[0]["note"], "已约谈出警民警，向来电人致歉");
}

/// 质检 on screen: a P1 dispatched late shows against its operator and in
/// the failed list, and the export reads back as the service's review.
#[test]
fn the_quality_tab_shows_a_late_p1_and_exports_the_review() {
    let env = env();
    // Received five minutes ago (a gateway's timestamp), still without a unit.
    let five_ago = chrono::Utc::now() - chrono::Duration::minutes(5);
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310061", "location": "红旗街万达广场门口", "narrative": "有人持刀伤人", "priority": "P1", "received_at": five_ago}),
    );
    let ct = call_taker(&env, "ct");
    ok(&env, &ct, &format!("/incidents/{id}/claim"), json!({}));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = lead_console(&env, "质检");
    let app = h.state_mut().as_mut().expect("console");
    app.export_to(dir.path().to_path_buf());
    // Not the current shift: one may have begun less than five minutes ago.
    app.state.lead.range = jiejing::console::lead::RangePreset::Last24h;
    app.state.lead.qa_asked = None;
    step_until(&mut h, "the late P1 listed", |h| {
        // In the failed list, and in the hand-review list above it.
        h.query_all_by_label(&format!("#{id}")).count() == 2 && h.query_all_by_label("P1按时派警").count() == 2
    });
    // A late P1 is always drawn for a hand review: the lead coaches.
    type_into(&mut h, &format!("辅导意见 #{id}"), "先派警再核实细节");
    h.get_by_label(&format!("保存评分 #{id}")).click();
    step_until(&mut h, "the reviewed call leaves the list", |h| {
        h.query_by_label(&format!("保存评分 #{id}")).is_none()
    });
    h.get_by_label("导出质检CSV").click();
    step_until(&mut h, "the export written", |h| {
        h.query_by_label_contains("已导出").is_some()
    });
    let bytes = std::fs::read(written(dir.path(), "csv").expect("csv")).expect("read");
    let parsed = export::parse_csv(&bytes).expect("the export parses");
    let (from, to) = (chrono::Utc::now() - chrono::Duration::hours(24), chrono::Utc::now());
    let (_, calls) = env.rt.block_on(env.lead.get(&format!(
        "/qa/calls?from={}&to={}",
        from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )));
    let calls: Vec<jiejing::model::QaCall> = serde_json::from_value(calls).expect("calls");
    assert_eq!(parsed, export::qa_table(Lang::Zh, &calls));
    let mine = calls.iter().find(|c| c.incident_id == id).expect("the call");
    assert_eq!(
        mine.review.as_ref().map(|r| (r.score, r.note.as_str())),
        Some((0, "先派警再核实细节")),
        "the slider starts at the automatic score (0: the only check failed)"
    );
    let row = parsed
        .rows
        .iter()
        .find(|r| r[0] == id.to_string())
        .expect("the call's row");
    let p1 = parsed.header.iter().position(|c| c == "P1按时派警").expect("P1 column");
    assert_eq!((row[p1].as_str(), row.last().map(String::as_str)), ("0", Some("0")));
}

/// A dissatisfied caller's complaint about a referral reaches the agency's
/// own inbox, which closes it with what was done.
#[test]
fn an_agency_closes_the_rectification_owed_by_it() {
    let env = env();
    // P2, so the call is followed up whatever the sampling share.
    let id = post(
        &env,
        json!({"channel": "sms", "phone": "13804310071", "narrative": "小区停暖三天了，老人冻得受不了", "priority": "P2"}),
    );
    let ct = call_taker(&env, "ct");
    ok(&env, &ct, &format!("/incidents/{id}/claim"), json!({}));
    let r = ok(
        &env,
        &ct,
        &format!("/incidents/{id}/refer"),
        json!({"agency": "utilities"}),
    );
    let rid = r["referral"]["id"].as_i64().expect("rid");
    env.rt.block_on(
        env.srv
            .user("heat", Role::Agency, Some(jiejing::model::Agency::Utilities)),
    );
    let heat = call_taker(&env, "heat");
    ok(&env, &heat, &format!("/referrals/{rid}/accept"), json!({}));
    ok(
        &env,
        &heat,
        &format!("/referrals/{rid}/feedback"),
        json!({"text": "已派人检修"}),
    );
    ok(&env, &heat, &format!("/referrals/{rid}/close"), json!({}));
    let f = env.rt.block_on(ct.get(&format!("/followups?incident_id={id}"))).1;
    let fid = f[0]["id"].as_i64().expect("a P2 referral gets a follow-up");
    let out = ok(
        &env,
        &ct,
        &format!("/followups/{fid}/outcome"),
        json!({"outcome": "dissatisfied", "reason": "说是修好了，暖气还是凉的"}),
    );
    let rect = out["rectification"]["id"].as_i64().expect("a rectification");
    assert_eq!(out["rectification"]["agency"], "utilities");

    let mut h = console_as(&env, "heat");
    let note = format!("整改情况 #{rect}");
    step_until(&mut h, "the complaint in the agency's inbox", |h| {
        h.query_by_label(&note).is_some() && h.query_by_label("说是修好了，暖气还是凉的").is_some()
    });
    type_into(&mut h, &note, "已更换循环泵，回访确认室温达标");
    h.get_by_label(&format!("整改完成 #{rect}")).click();
    step_until(&mut h, "closed", |_| {
        env.rt
            .block_on(env.lead.get("/rectifications?open=false"))
            .1
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["id"] == rect && r["status"] == "closed"))
    });
}
