//! The console's real widgets, driven with egui_kittest against a real
//! in-process service on a temporary SQLite file.

use std::time::{Duration, Instant};

use egui::accesskit::Role as A11y;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use jiejing::client::ApiClient;
use jiejing::console::{ConsoleApp, Outbox};
use jiejing::model::{Agency, Role, Status, UnitStatus};
use serde_json::json;

use crate::helpers::{Api, Backend, PASSWORD, TestServer, spawn_server};

/// Everything one console test needs; the runtime outlives the harness.
pub struct Env {
    pub rt: tokio::runtime::Runtime,
    pub srv: TestServer,
    pub gateway: Api,
    pub lead: Api,
    _dir: tempfile::TempDir,
    outbox: std::path::PathBuf,
}

pub fn env() -> Env {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let srv = rt.block_on(spawn_server(Backend::Sqlite));
    let (gateway, lead) = rt.block_on(async {
        srv.user("ct", Role::CallTaker, None).await;
        (
            srv.user("gateway", Role::Gateway, None).await,
            srv.user("lead", Role::ShiftLead, None).await,
        )
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = dir.path().join("outbox.db");
    Env {
        rt,
        srv,
        gateway,
        lead,
        _dir: dir,
        outbox,
    }
}

/// The one harness factory: every GUI test gets the bundled Chinese font.
pub fn new_harness<'a, S: 'a>(app: impl FnMut(&mut egui::Ui, &mut S) + 'a, state: S) -> Harness<'a, S> {
    Harness::builder()
        .with_size([1400.0, 900.0])
        .with_context_setup(jiejing::console::install_fonts)
        .build_ui_state(app, state)
}

/// A console signed in as the call taker `ct`.
pub fn console(env: &Env) -> Harness<'static, Option<ConsoleApp>> {
    console_as(env, "ct")
}

/// A console signed in as `name`.
pub fn console_as(env: &Env, name: &str) -> Harness<'static, Option<ConsoleApp>> {
    let handle = env.rt.handle().clone();
    let url = format!("http://{}", env.srv.addr);
    let (client, me, outbox) = env.rt.block_on(async {
        let mut c = ApiClient::new(&url);
        c.login(name, PASSWORD).await.expect("login");
        let me = c.login_info().await.expect("me");
        (c, me, Outbox::open(&env.outbox).await.expect("outbox"))
    });
    let mut parts = Some((handle, client, me, outbox));
    new_harness(
        move |ui, slot: &mut Option<ConsoleApp>| {
            if slot.is_none()
                && let Some((rt, client, me, outbox)) = parts.take()
            {
                *slot = Some(ConsoleApp::new(
                    ui.ctx(),
                    rt,
                    client,
                    me,
                    outbox,
                    false,
                    Default::default(),
                ));
            }
            if let Some(app) = slot {
                app.frame(ui);
            }
        },
        None,
    )
}

/// Steps the UI until `cond` holds (background answers arrive on their own
/// threads), or fails after 15 s saying what it waited for.
#[track_caller]
pub fn step_until<S>(h: &mut Harness<'_, S>, what: &str, cond: impl Fn(&Harness<'_, S>) -> bool) {
    let start = Instant::now();
    loop {
        h.step();
        if cond(h) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A confirmed close or merge is sent after 300 ms instead of 8 s.
fn short_undo(h: &mut Harness<'static, Option<ConsoleApp>>) {
    h.state_mut().as_mut().expect("console started").state.desk.undo_window = Duration::from_millis(300);
}

fn app<'h>(h: &'h Harness<'_, Option<ConsoleApp>>) -> &'h ConsoleApp {
    h.state().as_ref().expect("console started")
}

fn post(env: &Env, body: serde_json::Value) -> i64 {
    env.rt.block_on(env.gateway.intake(body))["id"].as_i64().expect("id")
}

fn incident(env: &Env, id: i64) -> serde_json::Value {
    env.rt.block_on(env.lead.get(&format!("/incidents/{id}"))).1
}

#[test]
fn a_call_arriving_through_intake_appears_in_the_queue() {
    let env = env();
    let mut h = console(&env);
    step_until(&mut h, "queue loaded and live", |h| {
        h.query_by_label_contains("在线").is_some()
    });
    let id = post(
        &env,
        json!({"channel": "sms", "phone": "13804310001", "narrative": "有人在网吧门口打架"}),
    );
    step_until(&mut h, "the new call in the queue", |h| {
        h.query_by_label(&format!("接警 #{id}")).is_some()
    });
    assert!(app(&h).state.queue.calls.contains_key(&id));
}

fn take(env: &Env, h: &mut Harness<'static, Option<ConsoleApp>>, id: i64) {
    step_until(h, "the call in the queue", |h| {
        h.query_by_label(&format!("接警 #{id}")).is_some()
    });
    h.get_by_label(&format!("接警 #{id}")).click();
    step_until(h, "the call taken onto the form", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.draft.as_ref())
            .and_then(|d| d.incident_id)
            == Some(id)
    });
    step_until(h, "units recommended", |h| {
        h.state()
            .as_ref()
            .is_some_and(|a| a.state.desk.recommendation.is_some())
    });
    assert_eq!(incident(env, id)["holder"]["name"], "ct", "taking a call claims it");
}

#[test]
fn taking_a_call_and_typing_changes_the_suggestion_then_dispatch_by_button() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310002", "location": "红旗街万达广场", "narrative": "有人吵架"}),
    );
    take(&env, &mut h, id);
    let before = app(&h).state.desk.suggestion.clone().expect("suggestion");
    assert_eq!(before.category, jiejing::model::Category::PublicOrder);

    let field = h.get_by_label("报警内容");
    field.focus();
    h.step();
    h.get_by_label("报警内容").type_text("，现在有人拿刀砍人了，地上好多血");
    step_until(&mut h, "the suggestion follows the narrative", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.suggestion.as_ref())
            .is_some_and(|s| s.priority == jiejing::model::Priority::P1)
    });
    let after = app(&h).state.desk.suggestion.clone().expect("suggestion");
    assert_ne!(
        before.priority, after.priority,
        "the suggestion changed as the operator typed"
    );
    assert!(
        after.reasons.iter().any(|r| r.keyword == "好多血" || r.keyword == "砍"),
        "{after:#?}"
    );
    assert!(h.query_by_label_contains("置信度").is_some(), "confidence shown");
    assert!(
        h.query_by_label_contains("可能危及生命").is_some(),
        "the detector's verdict is shown as a banner"
    );

    h.get_by_role_and_label(A11y::Button, "派警 (F2)").click();
    step_until(&mut h, "dispatched", |_| incident(&env, id)["status"] == "dispatched");
    let inc = incident(&env, id);
    let unit = inc["unit_id"].as_i64().expect("unit");
    let units = env.rt.block_on(env.lead.get("/units")).1;
    let u = units
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["id"] == unit)
        .cloned()
        .expect("unit");
    assert_eq!(u["status"], "assigned", "a dispatched unit waits to sign for the order");
    assert_eq!(
        u["jurisdiction"].as_str().map(|j| j.starts_with("CC-CY")),
        Some(true),
        "{u}"
    );
    step_until(&mut h, "the form moves on", |h| {
        h.state().as_ref().is_some_and(|a| a.state.desk.draft.is_none())
    });
}

#[test]
fn dispatch_with_f2() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310003", "location": "长春站", "narrative": "长春站北口有人打架"}),
    );
    take(&env, &mut h, id);
    h.key_press(egui::Key::F2);
    step_until(&mut h, "dispatched with F2", |_| {
        incident(&env, id)["status"] == "dispatched"
    });
}

#[test]
fn the_holder_resumes_their_call_after_a_restart() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310010", "narrative": "楼下有人吵架，摔东西"}),
    );
    take(&env, &mut h, id);
    // The console restarts: the service still has the call, held by ct.
    drop(h);
    let mut h = console(&env);
    step_until(&mut h, "the held call offered back", |h| {
        h.query_by_label(&format!("继续处理 #{id}")).is_some()
    });
    h.get_by_label(&format!("继续处理 #{id}")).click();
    step_until(&mut h, "the call back on the form", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.draft.as_ref())
            .and_then(|d| d.incident_id)
            == Some(id)
    });
    assert_eq!(
        app(&h).state.desk.draft.as_ref().map(|d| d.narrative.as_str()),
        Some("楼下有人吵架，摔东西")
    );
    step_until(&mut h, "its units recommended", |h| {
        h.state()
            .as_ref()
            .is_some_and(|a| a.state.desk.recommendation.is_some())
    });
}

#[test]
fn a_call_a_colleague_took_first_says_who_has_it() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310011", "narrative": "小区门口有人吵架"}),
    );
    step_until(&mut h, "the call in the queue", |h| {
        h.query_by_label(&format!("接警 #{id}")).is_some()
    });
    let ct2 = env.rt.block_on(env.srv.user("ct2", Role::CallTaker, None));
    let (s, b) = env.rt.block_on(ct2.post_empty(&format!("/incidents/{id}/claim")));
    assert_eq!(s, reqwest::StatusCode::OK, "{b}");
    step_until(&mut h, "the row follows the live feed", |h| {
        h.query_by_label(&format!("接警 #{id}")).is_none()
    });
    // The moment before the feed catches up: the row still offers the call.
    if let Some(app) = h.state_mut().as_mut()
        && let Some(row) = app.state.queue.calls.get_mut(&id)
    {
        row.holder = None;
    }
    h.step();
    h.get_by_label(&format!("接警 #{id}")).click();
    step_until(&mut h, "who took it", |h| {
        h.query_by_label_contains(&format!("#{id} 刚被同事接走：ct2")).is_some()
    });
}

#[test]
fn the_clock_shows_the_centres_time() {
    let env = env();
    let mut h = console(&env);
    step_until(&mut h, "live", |h| h.query_by_label_contains("在线").is_some());
    let before = jiejing::model::stats::local_time(chrono::Utc::now(), "%H:%M:%S");
    h.step();
    let after = jiejing::model::stats::local_time(chrono::Utc::now(), "%H:%M:%S");
    assert!(
        h.query_by_label(&before).is_some() || h.query_by_label(&after).is_some(),
        "the top bar shows China time ({before})"
    );
}

#[test]
fn f2_skips_a_recommended_unit_that_went_busy() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310008", "location": "长春站", "narrative": "长春站北口有人打架"}),
    );
    take(&env, &mut h, id);
    step_until(&mut h, "units recommended", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.recommendation.as_ref())
            .is_some_and(|r| r.units.len() >= 2)
    });
    // The best unit is sent elsewhere while the operator talks.
    let first = app(&h)
        .state
        .desk
        .recommendation
        .as_ref()
        .expect("recommendation")
        .units[0]
        .unit
        .id;
    let (s, b) = env.rt.block_on(
        env.lead
            .post(&format!("/units/{first}/status"), json!({"status": "en_route"})),
    );
    assert_eq!(s, reqwest::StatusCode::OK, "{b}");
    step_until(&mut h, "the board shows it busy", |h| {
        h.state().as_ref().is_some_and(|a| {
            a.state
                .units
                .iter()
                .any(|u| u.id == first && u.status == UnitStatus::EnRoute)
        })
    });
    h.key_press(egui::Key::F2);
    step_until(&mut h, "dispatched with F2", |_| {
        incident(&env, id)["status"] == "dispatched"
    });
    let sent = incident(&env, id)["unit_id"].as_i64().expect("unit");
    assert_ne!(sent, first, "F2 took the next available unit, not the busy one");
}

#[test]
fn refer_shows_the_work_order_number() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "sms", "phone": "13804310004", "narrative": "家里停水两天了 物业也不管"}),
    );
    take(&env, &mut h, id);
    h.get_by_role_and_label(A11y::Button, "分流 (F3)").click();
    step_until(&mut h, "referred", |_| incident(&env, id)["status"] == "referred");
    assert_eq!(incident(&env, id)["agency"], "utilities");
    step_until(&mut h, "work order shown", |h| {
        h.query_by_label_contains("分流单号: FL").is_some()
    });
    let r = app(&h).state.desk.last_referral.clone().expect("referral");
    assert_eq!(r.agency, Agency::Utilities);

    // The next call's form never shows the previous call's number.
    let next = post(
        &env,
        json!({"channel": "voice", "phone": "13804310009", "narrative": "楼下有人吵架"}),
    );
    take(&env, &mut h, next);
    h.step();
    assert!(
        h.query_by_label_contains("分流单号").is_none(),
        "a stale work-order number under call #{next}"
    );
}

#[test]
fn close_as_invalid_with_f4() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310005", "narrative": "在吗 陪我唠会嗑"}),
    );
    take(&env, &mut h, id);
    short_undo(&mut h);
    h.key_press(egui::Key::F4);
    h.step();
    assert!(
        h.query_by_label_contains("确认将此警情关闭为无效报警").is_some(),
        "F4 asks first"
    );
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "closed", |_| incident(&env, id)["status"] == "closed");
    assert_eq!(incident(&env, id)["close_reason"], "invalid");
    assert_eq!(
        incident(&env, id)["category"],
        "invalid",
        "the form's prefilled suggestion is not saved with a close"
    );
    step_until(&mut h, "gone from the queue", |h| {
        h.state()
            .as_ref()
            .is_some_and(|a| !a.state.queue.calls.contains_key(&id))
    });
}

#[test]
fn a_known_nuisance_caller_gets_a_red_banner_not_a_rejection() {
    let env = env();
    let nuisance = "13900000009";
    let (s, _) = env.rt.block_on(env.lead.post(
        &format!("/callers/{nuisance}/flags"),
        json!({"flag": "nuisance", "note": "反复无故拨打"}),
    ));
    assert_eq!(s, reqwest::StatusCode::CREATED);
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "voice", "phone": nuisance, "narrative": "有人拿刀在楼下砍人"}),
    );
    take(&env, &mut h, id);
    step_until(&mut h, "the banner", |h| {
        h.query_by_label_contains("骚扰来电预警").is_some()
    });
    // A warning, not a verdict: the call is still a P1 police matter.
    let s = app(&h).state.desk.suggestion.clone().expect("suggestion");
    assert_eq!(s.priority, jiejing::model::Priority::P1);
    assert!(h.query_by_role_and_label(A11y::Button, "派警 (F2)").is_some());
    // Marked read, which the call-quality review looks for.
    assert!(incident(&env, id)["warning_read_at"].is_null());
    h.get_by_role_and_label(A11y::Button, "已阅提示").click();
    step_until(&mut h, "the warning marked read", |h| {
        h.query_by_role_and_label(A11y::Button, "已阅提示").is_none()
            && app(h).state.desk.draft.as_ref().is_some_and(|d| d.warning_read)
    });
    assert!(incident(&env, id)["warning_read_at"].is_string());
    assert_eq!(
        app(&h).state.desk.draft.as_ref().map(|d| d.version),
        incident(&env, id)["version"].as_i64(),
        "the form keeps up with the call"
    );
}

#[test]
fn an_action_saves_what_the_operator_typed_and_the_unit_signs_on_the_board() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "sms", "phone": "13804310071", "location": "长春站", "narrative": "长春站北口有人打架"}),
    );
    take(&env, &mut h, id);
    // Typed but not saved: F2 must not drop it.
    h.get_by_label("地点").focus();
    h.step();
    h.get_by_label("地点").type_text("北口出租车候车区");
    h.step();
    h.key_press(egui::Key::F2);
    step_until(&mut h, "dispatched", |_| incident(&env, id)["status"] == "dispatched");
    let inc = incident(&env, id);
    assert_eq!(inc["location"]["text"], "长春站北口出租车候车区");
    assert!(
        inc["category_set_at"].is_string(),
        "the category on the form went with the unit: {inc}"
    );
    // The unit waits to sign; the board offers it, as the patrol answers the radio.
    step_until(&mut h, "the sign button on the board", |h| {
        h.query_by_role_and_label(A11y::Button, "签收").is_some()
    });
    h.get_by_role_and_label(A11y::Button, "签收").scroll_to_me();
    // The board is long (every unit of the province): the scroll there is
    // animated, so the button is clicked once it has come to rest.
    for _ in 0..60 {
        h.step();
    }
    h.get_by_role_and_label(A11y::Button, "签收").click();
    step_until(&mut h, "acknowledged", |_| {
        incident(&env, id)["acknowledged_at"].is_string()
    });
    step_until(&mut h, "the button gone once the unit is on its way", |h| {
        h.query_by_role_and_label(A11y::Button, "签收").is_none()
    });
}

#[test]
fn an_outbox_row_this_version_cannot_read_is_kept_and_reported() {
    let env = env();
    // A row written by some other console version: set aside, never lost.
    env.rt.block_on(async {
        drop(Outbox::open(&env.outbox).await.expect("outbox"));
        let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", env.outbox.display()))
            .await
            .expect("raw outbox");
        sqlx::query("INSERT INTO outbox (key, request, created_at) VALUES ('k-old', '{\"narrative\":7}', 1)")
            .execute(&raw)
            .await
            .expect("insert");
        raw.close().await;
    });
    let mut h = console(&env);
    step_until(&mut h, "the unreadable row reported", |h| {
        h.query_by_label_contains("本版本无法读取").is_some()
    });
    let (kept, pending) = env.rt.block_on(async {
        let o = Outbox::open(&env.outbox).await.expect("outbox");
        (o.kept().await.expect("kept"), o.pending().await.expect("pending"))
    });
    assert_eq!(kept, 1, "kept on disk, not deleted");
    assert!(
        pending.calls.is_empty() && pending.unreadable == 0,
        "and no longer retried"
    );
    assert_eq!(app(&h).state.connection.outbox_pending, 0);
}

#[test]
fn a_call_logged_offline_arrives_exactly_once() {
    let mut env = env();
    let mut h = console(&env);
    step_until(&mut h, "live", |h| h.query_by_label_contains("在线").is_some());
    env.rt.block_on(env.srv.stop());

    let opened = chrono::Utc::now();
    h.key_press(egui::Key::F1);
    h.step();
    h.get_by_label("报警电话").focus();
    h.step();
    h.get_by_label("报警电话").type_text("13804310006");
    h.get_by_label("地点").focus();
    h.step();
    h.get_by_label("地点").type_text("人民广场");
    h.get_by_label("报警内容").focus();
    h.step();
    h.get_by_label("报警内容").type_text("停电了，整栋楼都黑了");
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    step_until(&mut h, "kept in the outbox", |h| {
        h.state()
            .as_ref()
            .is_some_and(|a| a.state.connection.outbox_pending == 1)
    });
    assert!(
        app(&h).state.desk.suggestion.is_none(),
        "the saved call's suggestion left the panel with its form"
    );
    assert!(
        h.query_by_label_contains("1 待发送").is_some(),
        "the pending count is shown"
    );

    // The service comes back; the outbox is sent by itself.
    std::thread::sleep(Duration::from_millis(1500));
    let back = chrono::Utc::now();
    env.rt.block_on(env.srv.restart());
    step_until(&mut h, "outbox emptied", |h| {
        h.state()
            .as_ref()
            .is_some_and(|a| a.state.connection.outbox_pending == 0)
    });
    std::thread::sleep(Duration::from_millis(2500));
    h.step();
    let all = env.rt.block_on(env.lead.get("/incidents")).1;
    let matching: Vec<_> = all
        .as_array()
        .expect("list")
        .iter()
        .filter(|i| i["narrative"] == "停电了，整栋楼都黑了")
        .collect();
    assert_eq!(matching.len(), 1, "exactly once: {all}");
    assert_eq!(matching[0]["location"]["jurisdiction"], "CC-NG-RM");
    // It is in this console's live queue, ready to resume, and the warning
    // that it waited in the outbox is gone.
    let id = matching[0]["id"].as_i64().expect("id");
    step_until(&mut h, "the delivered call in the queue", |h| {
        h.query_by_label(&format!("继续处理 #{id}")).is_some()
    });
    assert!(h.query_by_label_contains("服务不可达").is_none(), "a stale warning");
    let received: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(matching[0]["received_at"].clone()).expect("received_at");
    assert!(
        opened - chrono::Duration::seconds(1) <= received && received < back,
        "the call's time is when it was logged ({opened}), not when the outbox sent it: {received}"
    );
    assert_eq!(
        matching[0]["status"],
        Status::InProgress.as_str(),
        "held by the operator who logged it"
    );
}

#[test]
fn ime_composition_reaches_the_narrative() {
    let env = env();
    let mut h = console(&env);
    h.key_press(egui::Key::F1);
    h.step();
    h.get_by_label("报警内容").focus();
    h.step();
    h.event(egui::Event::Ime(egui::ImeEvent::Preedit {
        text: "you ren".into(),
        active_range_chars: None,
    }));
    h.step();
    h.event(egui::Event::Ime(egui::ImeEvent::Commit("有人落水了".into())));
    step_until(&mut h, "committed text in the field", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.draft.as_ref())
            .is_some_and(|d| d.narrative == "有人落水了")
    });
    step_until(&mut h, "triaged", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.suggestion.as_ref())
            .is_some_and(|s| s.priority == jiejing::model::Priority::P1)
    });
}

#[test]
fn typing_keeps_its_field_when_a_line_appears_above_it() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "sms", "phone": "13804310031", "narrative": "有人"}),
    );
    take(&env, &mut h, id);
    assert!(
        app(&h)
            .state
            .desk
            .draft
            .as_ref()
            .is_some_and(|d| d.jurisdiction.is_none())
    );
    h.get_by_label("报警内容").focus();
    h.step();
    h.get_by_label("报警内容").type_text("落水");
    h.step();
    // A colleague's edit resolves the location: a jurisdiction line appears
    // above the narrative while the operator is still typing.
    let ct = env.rt.block_on(Api::login(env.srv.addr, "ct", PASSWORD));
    let version = incident(&env, id)["version"].clone();
    let (status, body) = env.rt.block_on(ct.patch(
        &format!("/incidents/{id}"),
        json!({"version": version, "location": "红旗街万达广场"}),
    ));
    assert!(status.is_success(), "{body}");
    step_until(&mut h, "the jurisdiction shown", |h| {
        h.query_by_label_contains("管辖").is_some()
    });
    h.event(egui::Event::Text("了".into()));
    step_until(&mut h, "the typing kept", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.draft.as_ref())
            .is_some_and(|d| d.narrative.ends_with("落水了"))
    });
    let draft = app(&h).state.desk.draft.clone().expect("the call on the form");
    assert_eq!(
        draft.location, "红旗街万达广场",
        "a field the operator did not touch follows the colleague's edit"
    );
    // What the operator typed goes with their next action, on top of it.
    assert_eq!(
        draft
            .unsaved(app(&h).state.desk.suggestion.as_ref())
            .expect("valid")
            .and_then(|p| p.narrative),
        Some("有人落水了".to_owned())
    );
}

#[test]
fn english_is_one_click_away() {
    let env = env();
    let mut h = console(&env);
    h.step();
    // A notice given in Chinese does not follow the operator into English
    // (the empty form says the same words once of its own).
    h.key_press(egui::Key::F4);
    h.step();
    assert_eq!(
        h.query_all_by_label_contains("从左侧队列接警").count(),
        2,
        "the notice is shown beside the empty form's hint"
    );
    h.get_by_role_and_label(A11y::Button, "English").click();
    h.step();
    h.step();
    assert!(h.query_by_role_and_label(A11y::Button, "New call (F1)").is_some());
    assert!(h.query_by_role_and_label(A11y::Button, "中文").is_some());
    assert_eq!(
        h.query_all_by_label_contains("Take a call from the queue").count(),
        1,
        "only the form's hint"
    );
    assert_eq!(
        h.query_all_by_label_contains("从左侧队列接警").count(),
        0,
        "the old screen's notice is gone"
    );
}

#[test]
fn an_idle_console_only_ticks_once_a_second() {
    let env = env();
    let mut h = console(&env);
    step_until(&mut h, "live", |h| h.query_by_label_contains("在线").is_some());
    // Let the start-up answers (queue, units, outbox) settle.
    for _ in 0..20 {
        h.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    h.step();
    let delay = h
        .output()
        .viewport_output
        .get(&egui::ViewportId::ROOT)
        .map(|v| v.repaint_delay)
        .expect("root viewport");
    assert!(
        delay >= Duration::from_millis(900) && delay <= Duration::from_secs(1),
        "idle repaint delay {delay:?}"
    );
}

#[test]
fn an_agency_account_works_its_referral_inbox() {
    let env = env();
    // A call taker refers a call to the utilities.
    let id = post(
        &env,
        json!({"channel": "sms", "phone": "13804310007", "narrative": "整栋楼停电了"}),
    );
    let number = env.rt.block_on(async {
        let ct = Api::login(env.srv.addr, "ct", PASSWORD).await;
        ct.post_empty(&format!("/incidents/{id}/claim")).await;
        let (_, r) = ct
            .post(&format!("/incidents/{id}/refer"), json!({"agency": "utilities"}))
            .await;
        env.srv.user("power", Role::Agency, Some(Agency::Utilities)).await;
        r["referral"]["number"].as_str().expect("number").to_owned()
    });
    let mut h = console_as(&env, "power");
    let referral = |env: &Env| env.rt.block_on(env.lead.get(&format!("/referrals?incident_id={id}"))).1[0].clone();
    step_until(&mut h, "the inbox lists the work order", |h| {
        h.query_by_label(&format!("受理 {number}")).is_some()
    });
    h.get_by_label(&format!("受理 {number}")).click();
    step_until(&mut h, "accepted", |_| referral(&env)["status"] == "accepted");
    step_until(&mut h, "feedback field", |h| {
        h.query_by_label(&format!("提交反馈 {number}")).is_some()
    });
    h.get_by_label(&format!("反馈 {number}")).focus();
    h.step();
    h.get_by_label(&format!("反馈 {number}"))
        .type_text("抢修队已到场，恢复供电");
    h.step();
    h.get_by_label(&format!("提交反馈 {number}")).click();
    step_until(&mut h, "feedback stored", |_| {
        referral(&env)["feedback"] == "抢修队已到场，恢复供电"
    });
    // Click only once the inbox shows the feedback: the row's layout has settled.
    step_until(&mut h, "feedback shown in the inbox", |h| {
        h.query_by_label("抢修队已到场，恢复供电").is_some()
    });
    h.get_by_label(&format!("办结 {number}")).click();
    step_until(&mut h, "closed", |_| referral(&env)["status"] == "closed");
}

#[test]
fn the_sign_in_screen_opens_the_console() {
    let env = env();
    let launcher = jiejing::console::Launcher::new(
        env.rt.handle().clone(),
        format!("http://{}", env.srv.addr),
        env.outbox.clone(),
        Default::default(),
    );
    let mut h = new_harness(|ui, app: &mut jiejing::console::Launcher| app.frame(ui), launcher);
    h.step();
    h.get_by_label("用户名").focus();
    h.step();
    h.get_by_label("用户名").type_text("ct");
    h.get_by_label("密码").focus();
    h.step();
    h.get_by_label("密码").type_text("wrong-password");
    h.get_by_role_and_label(A11y::Button, "登录").click();
    step_until(&mut h, "a readable refusal, in Chinese", |h| {
        h.query_by_label("用户名或密码错误").is_some()
    });
    assert!(
        h.query_by_label_contains("jiejing user add").is_some(),
        "a first start says where accounts come from"
    );
    // The sign-in screen has the language switch, and the refusal follows it.
    h.get_by_role_and_label(A11y::Button, "English").click();
    h.step();
    h.step();
    assert!(h.query_by_label("wrong user name or password").is_some());
    h.get_by_role_and_label(A11y::Button, "中文").click();
    h.step();
    h.step();
    h.get_by_label("密码").focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("密码").type_text(PASSWORD);
    h.get_by_role_and_label(A11y::Button, "登录").click();
    step_until(&mut h, "the console", |h| {
        h.query_by_label_contains("警情队列").is_some()
    });

    // Signing out hands back the call still held and ends the session.
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310061", "narrative": "楼下有人吵架"}),
    );
    step_until(&mut h, "the call in the queue", |h| {
        h.query_by_label(&format!("接警 #{id}")).is_some()
    });
    h.get_by_label(&format!("接警 #{id}")).click();
    step_until(&mut h, "taken", |_| incident(&env, id)["holder"]["name"] == "ct");
    h.get_by_role_and_label(A11y::Button, "退出登录").click();
    step_until(&mut h, "back at the sign-in screen", |h| {
        h.query_by_label("已退出登录，本人持有的警情已退回队列").is_some()
    });
    let after = incident(&env, id);
    assert_eq!(
        (&after["status"], &after["holder"]),
        (&json!("new"), &serde_json::Value::Null)
    );
}

#[test]
fn the_referral_state_follows_the_agency() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "sms", "phone": "13804310008", "narrative": "家里停水两天了 物业也不管"}),
    );
    take(&env, &mut h, id);
    h.key_press(egui::Key::F3);
    step_until(&mut h, "work order shown", |h| {
        h.query_by_label_contains("分流单号: FL").is_some()
    });
    let rid = app(&h)
        .state
        .desk
        .last_referral
        .as_ref()
        .map(|r| r.id)
        .expect("referral");
    env.rt.block_on(async {
        env.srv.user("water", Role::Agency, Some(Agency::Utilities)).await;
        let water = Api::login(env.srv.addr, "water", PASSWORD).await;
        let (s, _) = water.post_empty(&format!("/referrals/{rid}/accept")).await;
        assert_eq!(s, reqwest::StatusCode::OK);
    });
    step_until(&mut h, "accepted shown to the call taker", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.last_referral.as_ref())
            .is_some_and(|r| r.status == jiejing::model::ReferralStatus::Accepted)
    });
    h.step();
    assert!(
        h.query_by_label("已受理").is_some(),
        "the state is shown next to the work order"
    );
}

#[test]
fn answer_next_takes_the_most_urgent_call_nobody_holds() {
    let env = env();
    let mut h = console(&env);
    let routine = post(
        &env,
        json!({"channel": "voice", "phone": "13804310031", "narrative": "我家楼下的路灯坏了好几天了"}),
    );
    let held = post(
        &env,
        json!({"channel": "voice", "phone": "13804310032", "narrative": "有人拿刀砍人，地上全是血"}),
    );
    let urgent = post(
        &env,
        json!({"channel": "sms", "phone": "13804310033", "narrative": "有人拿刀砍人了，快来，人倒在地上流血"}),
    );
    let (s, b) = env
        .rt
        .block_on(env.lead.post_empty(&format!("/incidents/{held}/claim")));
    assert_eq!(s, reqwest::StatusCode::OK, "{b}");
    step_until(&mut h, "three calls in the queue, one held", |h| {
        h.state().as_ref().is_some_and(|a| {
            a.state.queue.calls.len() == 3 && a.state.queue.calls.get(&held).is_some_and(|e| e.holder.is_some())
        })
    });
    h.key_press(egui::Key::F12);
    step_until(&mut h, "the P1 nobody holds on the form", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.draft.as_ref())
            .and_then(|d| d.incident_id)
            == Some(urgent)
    });
    assert_eq!(incident(&env, urgent)["holder"]["name"], "ct");
    // With a call on the form, answering another is refused, not stacked.
    h.key_press(egui::Key::F12);
    h.step();
    assert!(h.query_by_label_contains("请先处理完表单上的警情").is_some());
    assert_eq!(incident(&env, routine)["status"], "new");
    // Released, the form is empty: Enter alone answers the next call.
    h.key_press(egui::Key::Escape);
    step_until(&mut h, "released", |h| {
        h.state().as_ref().is_some_and(|a| a.state.desk.draft.is_none())
    });
    step_until(&mut h, "the release reached the queue", |h| {
        h.state()
            .as_ref()
            .is_some_and(|a| a.state.queue.calls.get(&urgent).is_some_and(|e| e.holder.is_none()))
    });
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "Enter answered the P1 again", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.draft.as_ref())
            .and_then(|d| d.incident_id)
            == Some(urgent)
    });
}

#[test]
fn f1_puts_the_cursor_in_the_phone_field() {
    let env = env();
    let mut h = console(&env);
    h.step();
    h.key_press(egui::Key::F1);
    h.step();
    h.step();
    h.get_by_label("报警电话").type_text("13804310040");
    h.step();
    assert_eq!(
        app(&h).state.desk.draft.as_ref().map(|d| d.phone.as_str()),
        Some("13804310040"),
        "typing right after F1 fills the phone"
    );
    assert_eq!(
        h.query_all_by_role_and_label(A11y::ComboBox, "渠道").count(),
        2,
        "the queue's filter and the form's channel box both carry their label"
    );
}

#[test]
fn closing_as_invalid_asks_and_can_be_undone() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310041", "narrative": "喂喂，没事，打着玩的"}),
    );
    take(&env, &mut h, id);
    // Esc answers the question, it does not release the call.
    h.key_press(egui::Key::F4);
    h.step();
    h.key_press(egui::Key::Escape);
    h.step();
    assert!(h.query_by_label_contains("确认将此警情关闭为无效报警").is_none());
    assert_eq!(app(&h).state.desk.draft.as_ref().and_then(|d| d.incident_id), Some(id));
    // Confirmed, then taken back inside the window: nothing was sent.
    h.key_press(egui::Key::F4);
    h.step();
    h.key_press(egui::Key::Enter);
    h.step();
    assert!(app(&h).state.desk.draft.is_none(), "the form moves on at once");
    assert!(h.query_by_label_contains("即将关闭为无效").is_some());
    h.get_by_role_and_label(A11y::Button, "撤销 (Ctrl+Z)").click();
    h.step();
    assert_eq!(
        app(&h)
            .state
            .desk
            .draft
            .as_ref()
            .map(|d| (d.incident_id, d.narrative.as_str())),
        Some((Some(id), "喂喂，没事，打着玩的")),
        "the call is back on the form as it was"
    );
    std::thread::sleep(Duration::from_millis(200));
    h.step();
    assert_eq!(incident(&env, id)["status"], "in_progress", "undone before it was sent");
    // Confirmed and left alone, it closes once the window has passed,
    // with what the operator typed while the question was open.
    short_undo(&mut h);
    h.key_press(egui::Key::F4);
    h.step();
    h.get_by_label("地点").focus();
    h.step();
    h.get_by_label("地点").type_text("人民广场");
    h.step();
    h.get_by_role_and_label(A11y::Button, "确认 (Enter)").click();
    step_until(&mut h, "closed after the window", |_| {
        incident(&env, id)["status"] == "closed"
    });
    assert_eq!(incident(&env, id)["location"]["text"], "人民广场");
}

#[test]
fn the_queue_stands_still_under_the_pointer() {
    let env = env();
    let mut h = console(&env);
    let first = post(
        &env,
        json!({"channel": "voice", "phone": "13804310042", "narrative": "小区里有人乱停车堵门"}),
    );
    step_until(&mut h, "the call in the queue", |h| {
        h.query_by_label(&format!("接警 #{first}")).is_some()
    });
    // The pointer comes from the form and comes to rest on the row.
    h.get_by_label_contains("从左侧队列接警").hover();
    h.step();
    h.get_by_label(&format!("接警 #{first}")).hover();
    h.step();
    let urgent = post(
        &env,
        json!({"channel": "voice", "phone": "13804310043", "narrative": "有人拿刀砍人，地上全是血"}),
    );
    step_until(&mut h, "the P1 arrived", |h| {
        h.state()
            .as_ref()
            .is_some_and(|a| a.state.queue.calls.contains_key(&urgent))
    });
    h.step();
    assert_eq!(
        app(&h).state.queue.shown,
        [first],
        "the row under the pointer did not move"
    );
    assert!(
        h.query_by_label_contains("1 条新警情 · P1 1").is_some(),
        "the new call is announced"
    );
    // The pointer leaves: the P1 takes its place at the top.
    h.get_by_label_contains("从左侧队列接警").hover();
    h.step();
    h.step();
    assert_eq!(app(&h).state.queue.shown, [urgent, first]);
    // A pointer parked over the queue does not hide new calls for long.
    h.get_by_label(&format!("接警 #{first}")).hover();
    h.step();
    let third = post(
        &env,
        json!({"channel": "voice", "phone": "13804310044", "narrative": "小区门口有人打架"}),
    );
    step_until(&mut h, "the resting pointer lets the new call in", |h| {
        h.state().as_ref().is_some_and(|a| a.state.queue.shown.contains(&third))
    });
}

#[test]
fn a_duplicate_says_why_the_merge_asks_and_a_lead_can_undo_it() {
    let env = env();
    let mut h = console(&env);
    let first = post(
        &env,
        json!({"channel": "voice", "phone": "13804310051", "location": "长春站北口", "narrative": "长春站北口有人打架，好几个人"}),
    );
    // Same district, other place and other words: not offered.
    post(
        &env,
        json!({"channel": "voice", "phone": "13804310052", "location": "长春站南广场", "narrative": "出租车在广场上把行人刮倒了"}),
    );
    let second = post(
        &env,
        json!({"channel": "wechat", "wechat_id": "wx-51", "location": "长春站北口", "narrative": "火车站北口这边打起来了"}),
    );
    take(&env, &mut h, second);
    step_until(&mut h, "the candidate with its reasons", |h| {
        h.query_by_label_contains("同一地点 · 0 分钟前 · 同类").is_some()
    });
    assert_eq!(
        app(&h)
            .state
            .desk
            .duplicates
            .iter()
            .map(|d| d.incident.id)
            .collect::<Vec<_>>(),
        [first],
        "only the same fight is offered"
    );
    short_undo(&mut h);
    h.key_press(egui::Key::F5);
    h.step();
    assert!(
        h.query_by_label_contains(&format!("确认作为重复警情并入 #{first}"))
            .is_some(),
        "F5 names the call it merges into and asks"
    );
    assert_eq!(incident(&env, second)["status"], "in_progress");
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "linked", |_| incident(&env, second)["status"] == "closed");
    assert_eq!(incident(&env, second)["duplicate_of"], first);

    // The shift lead finds the merge in the audit log and undoes it.
    let mut l = console_as(&env, "lead");
    step_until(&mut l, "the lead's view", |h| h.query_by_label("值班长").is_some());
    l.get_by_label("值班长").click();
    step_until(&mut l, "the tabs", |h| h.query_by_label("审计日志").is_some());
    l.get_by_label("审计日志").click();
    let undo = format!("撤销合并 #{second}");
    step_until(&mut l, "the merge in the audit log, translated", |h| {
        h.query_by_label(&undo).is_some() && h.query_by_label("合并重复").is_some()
    });
    l.get_by_label(&undo).click();
    step_until(&mut l, "open again", |_| {
        incident(&env, second)["status"] == "in_progress"
    });
    assert_eq!(incident(&env, second)["holder"]["name"], "lead");
}

#[test]
fn a_fire_with_people_trapped_dispatches_and_notifies_in_one_step() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "wechat", "wechat_id": "wx-fire-77", "location": "红旗街万达广场", "narrative": "万达广场三楼着火了，好多烟，有人被困在里面出不来"}),
    );
    take(&env, &mut h, id);
    assert!(
        h.query_by_label("微信号: wx-fire-77").is_some(),
        "the WeChat id is on the form"
    );
    assert!(
        h.query_by_label("管辖: 朝阳区 红旗街派出所").is_some(),
        "the station by name, not its code"
    );
    assert!(h.query_by_label_contains("处理用时").is_some(), "a handling timer");
    // The suggestion presets 119 beside the dispatch; 120 is one click more.
    step_until(&mut h, "119 preset on the dispatch", |h| {
        h.query_all_by_label_contains("+ 119").next().is_some()
    });
    let ambulance = jiejing::console::i18n::code_name(jiejing::console::i18n::Lang::Zh, "120");
    h.get_by_role_and_label(A11y::CheckBox, ambulance).click();
    h.step();
    h.key_press(egui::Key::F2);
    step_until(&mut h, "dispatched", |_| incident(&env, id)["status"] == "dispatched");
    let inc = incident(&env, id);
    assert_eq!(inc["co_notify"], json!(["119", "120"]), "one action, three services");
    let events = env
        .rt
        .block_on(
            env.lead
                .get(&format!("/audit?incident_id={id}&kind=incident.dispatched")),
        )
        .1;
    assert_eq!(events[0]["after"]["co_notify"], json!(["119", "120"]), "{events}");
    step_until(&mut h, "the notice names who else was told", |h| {
        h.query_by_label_contains(&format!(
            "已派警 · 同时通知 {} {ambulance}",
            jiejing::console::i18n::code_name(jiejing::console::i18n::Lang::Zh, "119")
        ))
        .is_some()
    });
    // The unit the operator sent is theirs to move on; the others they only see.
    let unit = inc["unit_id"].as_i64().expect("unit");
    step_until(&mut h, "the board follows", |h| {
        h.state()
            .as_ref()
            .is_some_and(|a| a.state.units.iter().any(|u| u.id == unit && u.incident_id == Some(id)))
    });
    let units = app(&h).state.units.clone();
    let mine = units.iter().find(|u| u.id == unit).expect("unit");
    let other = units.iter().find(|u| u.id != unit).expect("another unit");
    h.step();
    assert!(h.query_by_role_and_label(A11y::ComboBox, &mine.name).is_some());
    assert!(h.query_by_role_and_label(A11y::ComboBox, &other.name).is_none());
    assert!(
        h.query_by_label(&format!("#{id}")).is_some(),
        "the unit's call on its row"
    );
}

#[test]
fn supplements_are_added_in_order_without_touching_the_narrative() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310081", "location": "红旗街万达广场", "narrative": "万达门口有人打架"}),
    );
    take(&env, &mut h, id);
    h.get_by_label("补充").focus();
    h.step();
    h.get_by_label("补充").type_text("对方跑了，往工农大路方向");
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "the line on the form", |h| {
        h.query_by_label_contains("ct：对方跑了，往工农大路方向").is_some()
    });
    // A colleague's line arrives live, after it.
    let lead = &env.lead;
    let (s, b) = env
        .rt
        .block_on(lead.post(&format!("/incidents/{id}/supplements"), json!({"text": "120 已到场"})));
    assert_eq!(s, reqwest::StatusCode::CREATED, "{b}");
    step_until(&mut h, "the colleague's line", |h| {
        h.query_by_label_contains("lead：120 已到场").is_some()
    });
    let texts: Vec<String> = app(&h).state.desk.supplements.iter().map(|s| s.text.clone()).collect();
    assert_eq!(texts, ["对方跑了，往工农大路方向", "120 已到场"]);
    assert_eq!(incident(&env, id)["narrative"], "万达门口有人打架");
    assert_eq!(
        app(&h).state.desk.draft.as_ref().map(|d| d.narrative.as_str()),
        Some("万达门口有人打架")
    );
}

#[test]
fn the_operator_undoes_a_merge_from_the_call_it_went_into() {
    let env = env();
    let mut h = console(&env);
    let first = post(
        &env,
        json!({"channel": "voice", "phone": "13804310091", "location": "长春站北口", "narrative": "长春站北口有人打架"}),
    );
    let second = post(
        &env,
        json!({"channel": "sms", "phone": "13804310092", "location": "长春站北口", "narrative": "北口有人打起来了"}),
    );
    take(&env, &mut h, second);
    step_until(&mut h, "the candidate", |h| {
        h.state().as_ref().is_some_and(|a| !a.state.desk.duplicates.is_empty())
    });
    short_undo(&mut h);
    h.key_press(egui::Key::F5);
    h.step();
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "linked", |_| incident(&env, second)["status"] == "closed");
    // The call it went into carries the later caller's words, with the way back.
    take(&env, &mut h, first);
    step_until(&mut h, "the merged words on the form", |h| {
        h.query_by_label_contains(&format!("#{second} 重复来电：北口有人打起来了"))
            .is_some()
    });
    h.get_by_label(&format!("撤销合并 #{second}")).click();
    step_until(&mut h, "open again", |_| {
        incident(&env, second)["status"] == "in_progress"
    });
    assert_eq!(incident(&env, second)["holder"]["name"], "ct");
}

#[test]
fn clicking_the_map_sets_the_calls_location() {
    use jiejing::model::geo::GeoData;
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310077", "narrative": "有人晕倒了，叫不醒"}),
    );
    take(&env, &mut h, id);
    assert!(
        h.query_by_label_contains("地址未识别").is_some(),
        "a call without a place says so"
    );
    let yanji = GeoData::shared().division("222401").expect("延吉市").centre;
    step_until(&mut h, "the map drawn", |h| {
        h.state().as_ref().is_some_and(|a| a.state.map.rect.is_some())
    });
    let pos = app(&h).state.map.screen_pos(yanji).expect("on screen");
    assert!(
        app(&h).state.map.rect.is_some_and(|r| r.contains(pos)),
        "延吉 is on the map"
    );
    for pressed in [true, false] {
        h.input_mut().events.push(egui::Event::PointerMoved(pos));
        h.input_mut().events.push(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    step_until(&mut h, "the pin set", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.draft.as_ref())
            .is_some_and(|d| d.pin.is_some())
    });
    let draft = app(&h).state.desk.draft.clone().expect("draft");
    let pin = draft.pin.expect("pin");
    assert_eq!(
        GeoData::shared().county_at(pin).map(|d| d.code.as_str()),
        Some("222401")
    );
    assert!(draft.location.starts_with("延吉市"), "{}", draft.location);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    step_until(&mut h, "saved with its position", |_| {
        incident(&env, id)["location"]["source"] == "map"
    });
    let inc = incident(&env, id);
    assert!((inc["location"]["lat"].as_f64().expect("lat") - pin.lat).abs() < 1e-9);
    let station = inc["location"]["jurisdiction"].as_str().expect("a station");
    let county = jiejing::model::gazetteer::Gazetteer::shared()
        .stations()
        .find(|(_, _, s)| s.code == station)
        .and_then(|(_, d, _)| d.adcode.clone());
    assert_eq!(county.as_deref(), Some("222401"), "a station of 延吉: {station}");
    step_until(&mut h, "the pin is the stored point", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.draft.as_ref())
            .is_some_and(|d| d.pin.is_none() && d.at == Some(pin))
    });
}

#[test]
fn the_location_field_offers_place_names_as_the_operator_types() {
    let env = env();
    let mut h = console(&env);
    let id = post(
        &env,
        json!({"channel": "voice", "phone": "13804310078", "narrative": "有人在车站门口打架"}),
    );
    take(&env, &mut h, id);
    h.get_by_label("地点").focus();
    h.step();
    h.get_by_label("地点").type_text("延吉西");
    step_until(&mut h, "the place names offered", |h| {
        h.query_by_label_contains("延吉西站 ·").is_some()
    });
    assert!(
        h.query_all_by_label_contains("延边朝鲜族自治州 延吉市")
            .next()
            .is_some(),
        "each name says where it is"
    );
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "the name put in", |h| {
        h.state()
            .as_ref()
            .and_then(|a| a.state.desk.draft.as_ref())
            .is_some_and(|d| d.location == "延吉西站")
    });
    assert!(h.query_by_label_contains("延吉西站 ·").is_none(), "the list closes");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    step_until(&mut h, "saved", |_| {
        incident(&env, id)["location"]["text"] == "延吉西站"
    });
    let station = incident(&env, id)["location"]["jurisdiction"].clone();
    let county = jiejing::model::gazetteer::Gazetteer::shared()
        .stations()
        .find(|(_, _, s)| station == s.code.as_str())
        .and_then(|(_, d, _)| d.adcode.clone());
    assert_eq!(county.as_deref(), Some("222401"), "{station}");
}
