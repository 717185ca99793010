//! The console's panels: `*_ui` functions over [`ConsoleState`] that draw and
//! push [`Command`]s; none of them does I/O.

use crate::k;
use chrono::Utc;
use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, RichText, Ui};

use super::command::{Command, Then};
use super::i18n::{Lang, code_name, reason_text};
use super::state::{Conn, ConsoleState, Draft, View};
use crate::model::{
    Agency, Category, Channel, CloseReason, Coded, Incident, Priority, QueueEntry, Role, Status, Suggestion, Unit,
    UnitStatus,
};
use crate::triage::DANGER_TO_LIFE;

pub(super) const RED: Color32 = Color32::from_rgb(0xd6, 0x2d, 0x20);
pub(super) const AMBER: Color32 = Color32::from_rgb(0xe6, 0x9b, 0x00);
pub(super) const GREEN: Color32 = Color32::from_rgb(0x2e, 0x9d, 0x4f);
const HIGHLIGHT: Color32 = Color32::from_rgb(0xff, 0xe0, 0x8a);

pub fn priority_color(p: Priority) -> Color32 {
    match p {
        Priority::P1 => RED,
        Priority::P2 => AMBER,
        Priority::P3 => Color32::from_rgb(0x3b, 0x7d, 0xd8),
        Priority::P4 => Color32::GRAY,
    }
}

pub(super) fn wait_text(secs: i64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

/// The start of a call's narrative, or why there is none (a hang-up).
pub(super) fn first_words(lang: Lang, entry: &QueueEntry, chars: usize) -> String {
    if entry.summary.is_empty() {
        format!("[{}]", entry.disconnect.map_or("", |d| code_name(lang, d.as_str())))
    } else {
        entry.summary.chars().take(chars).collect()
    }
}

pub(super) fn priority_badge(ui: &mut Ui, p: Priority) {
    ui.label(
        RichText::new(p.as_str())
            .strong()
            .color(Color32::WHITE)
            .background_color(priority_color(p)),
    );
}

/// A waiting time, amber then red past the operator's thresholds.
pub(super) fn wait_label(ui: &mut Ui, secs: i64, amber: i64, red: i64) {
    let color = if secs >= red {
        RED
    } else if secs >= amber {
        AMBER
    } else {
        ui.visuals().text_color()
    };
    ui.label(RichText::new(wait_text(secs)).color(color).monospace());
}

/// Ends the shift at this desk: refused while a call would be lost or left
/// half-done, otherwise the calls still held go back to the queue.
fn sign_out(state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    if state.outbox_pending > 0 {
        return state.notice(lang.tr(k!("sign_out_outbox")), true);
    }
    if state
        .draft
        .as_ref()
        .is_some_and(|d| d.incident_id.is_none() && !d.narrative.trim().is_empty())
        || state.pending.is_some()
    {
        return state.notice(lang.tr(k!("sign_out_form")), true);
    }
    let me = state.me.id;
    let release = state
        .queue
        .values()
        .filter(|e| e.holder.as_ref().is_some_and(|h| h.id == me))
        .map(|e| e.id)
        .collect();
    cmds.push(Command::SignOut { release });
}

/// Operator, connection, pending writes, clock, language, sound, sign-out.
pub fn top_bar_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    ui.horizontal(|ui| {
        ui.heading(lang.tr(k!("app_title")));
        if state.demo {
            ui.label(
                RichText::new(lang.tr(k!("demo")))
                    .strong()
                    .color(Color32::WHITE)
                    .background_color(AMBER),
            );
        }
        ui.separator();
        ui.label(format!("{} · {}", state.me.name, state.me.role));
        ui.separator();
        let (text, color) = match &state.conn {
            Conn::Live => (lang.tr(k!("live")).to_owned(), GREEN),
            Conn::Connecting | Conn::Reconnecting(_) => (lang.tr(k!("reconnecting")).to_owned(), AMBER),
        };
        ui.label(RichText::new(format!("● {text}")).color(color));
        if state.outbox_pending > 0 {
            ui.label(
                RichText::new(format!(
                    "{} {} {}",
                    lang.tr(k!("offline")),
                    state.outbox_pending,
                    lang.tr(k!("pending_writes"))
                ))
                .color(RED),
            );
        }
        if state.me.is_lead() {
            ui.separator();
            ui.selectable_value(&mut state.view, View::Desk, lang.tr(k!("view_desk")));
            ui.selectable_value(&mut state.view, View::Lead, lang.tr(k!("view_lead")));
            let a = &state.lead.alerts;
            let n = a.waves.len() + a.long_waits.len() + a.stale_holds.len();
            if n > 0
                && ui
                    .button(
                        RichText::new(format!("{} {n}", lang.tr(k!("alerts"))))
                            .strong()
                            .color(Color32::WHITE)
                            .background_color(RED),
                    )
                    .clicked()
            {
                state.view = View::Lead;
                state.lead.tab = super::lead::LeadTab::Oversight;
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button(lang.tr(k!("sign_out"))).clicked() {
                sign_out(state, cmds);
            }
            if ui.button(lang.tr(k!("language"))).clicked() {
                state.prefs.lang = lang.toggled();
            }
            ui.checkbox(&mut state.prefs.alert_sound, lang.tr(k!("sound_on")));
            // The centre's clock, as on the lead's screens and in the
            // statistics, whatever zone this machine is set to.
            ui.label(crate::model::stats::local_time(Utc::now(), "%H:%M:%S"));
        });
    });
}

fn filter_combo<T: Coded>(ui: &mut Ui, lang: Lang, id: &str, label: &str, value: &mut Option<T>, all: &[T]) {
    // Label first: "渠道 [全部]", not "[全部] 渠道" reading as the next box's.
    let l = ui.label(label);
    egui::ComboBox::from_id_salt(id)
        .selected_text(value.map_or(lang.tr(k!("all")), |v| code_name(lang, v.as_str())))
        .show_ui(ui, |ui| {
            ui.selectable_value(value, None, lang.tr(k!("all")));
            for v in all {
                ui.selectable_value(value, Some(*v), code_name(lang, v.as_str()));
            }
        })
        .response
        .labelled_by(l.id);
}

/// How long the queue stays still after the pointer last moved over it.
const QUEUE_FREEZE: std::time::Duration = std::time::Duration::from_secs(3);

/// The live queue of every open call, virtualised for thousands of rows.
pub fn queue_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    ui.horizontal(|ui| {
        ui.strong(lang.tr(k!("queue")));
        ui.label(format!("({})", state.queue.len()));
        filter_combo(
            ui,
            lang,
            "queue_channel",
            lang.tr(k!("channel")),
            &mut state.filter_channel,
            Channel::ALL,
        );
        filter_combo(
            ui,
            lang,
            "queue_status",
            lang.tr(k!("status")),
            &mut state.filter_status,
            &[Status::New, Status::InProgress],
        );
        filter_combo(
            ui,
            lang,
            "queue_category",
            lang.tr(k!("category")),
            &mut state.filter_category,
            Category::ALL,
        );
        if ui.button(lang.tr(k!("answer_next"))).clicked() {
            perform(state, Action::AnswerNext, cmds);
        }
        if ui.button(lang.tr(k!("new_call"))).clicked() {
            perform(state, Action::NewCall, cmds);
        }
    });
    // Frozen while the pointer is at work over the queue (moved in the last
    // moments, or a button down), from the rows as they were last drawn;
    // thawed — new calls in their place — when it leaves or comes to rest,
    // so a mouse parked over the list does not hide new calls.
    let over = ui.ui_contains_pointer();
    if over && ui.input(|i| i.pointer.delta() != egui::Vec2::ZERO || i.pointer.any_down()) {
        state.pointer_busy_at = Some(std::time::Instant::now());
    }
    let hovered = over && state.pointer_busy_at.is_some_and(|t| t.elapsed() < QUEUE_FREEZE);
    if hovered && state.frozen.is_none() {
        state.frozen = Some(state.shown.clone());
    } else if !hovered && state.frozen.is_some() {
        state.frozen = None;
        state.departed.clear();
    }
    let (channel, status, category) = (state.filter_channel, state.filter_status, state.filter_category);
    let visible = |i: &QueueEntry| {
        channel.is_none_or(|c| i.channel == c)
            && status.is_none_or(|s| i.status == s)
            && category.is_none_or(|c| i.category == Some(c))
    };
    let live: Vec<_> = state
        .sorted_ids()
        .to_vec()
        .into_iter()
        .filter(|id| state.queue.get(id).is_some_and(visible))
        .collect();
    let ids: Vec<_> = match &state.frozen {
        Some(frozen) => frozen
            .iter()
            .copied()
            .filter(|id| state.queue.get(id).is_some_and(visible) || state.departed.contains_key(id))
            .collect(),
        None => live.clone(),
    };
    // New calls wait above the frozen rows as a count, P1s in red.
    let arrived: Vec<_> = live.iter().filter(|id| !ids.contains(id)).copied().collect();
    if !arrived.is_empty() {
        let p1 = arrived
            .iter()
            .filter(|id| state.queue.get(id).is_some_and(|e| e.priority == Priority::P1))
            .count();
        let mut text = format!("↑ {} {}", arrived.len(), lang.tr(k!("new_calls")));
        if p1 > 0 {
            text = format!("{text} · P1 {p1}");
        }
        let color = if p1 > 0 { RED } else { AMBER };
        ui.label(
            RichText::new(text)
                .strong()
                .color(Color32::WHITE)
                .background_color(color),
        );
    }
    ui.separator();
    state.shown = ids.clone();
    let now = Utc::now();
    let (amber, red) = (state.prefs.amber_secs, state.prefs.red_secs);
    let me = state.me.id;
    let mut undo = false;
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 8.0;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, ids.len(), |ui, range| {
            for id in &ids[range] {
                if let Some(gone) = state.departed.get(id) {
                    ui.horizontal(|ui| {
                        ui.label(
                            RichText::new(format!(
                                "#{} {} · {}",
                                gone.id,
                                first_words(lang, gone, 18),
                                lang.tr(k!("left_queue"))
                            ))
                            .weak()
                            .strikethrough(),
                        );
                    });
                    continue;
                }
                let Some(inc) = state.queue.get(id) else { continue };
                let p = inc.priority;
                let wait = (now - inc.received_at).num_seconds().max(0);
                ui.horizontal(|ui| {
                    priority_badge(ui, p);
                    ui.label(code_name(lang, inc.channel.as_str()));
                    wait_label(ui, wait, amber, red);
                    ui.label(RichText::new(inc.caller.as_deref().unwrap_or_default()).monospace());
                    if let Some(c) = inc.category {
                        ui.label(code_name(lang, c.as_str()));
                    }
                    ui.label(first_words(lang, inc, 18));
                    match &inc.holder {
                        Some(h) if h.id == me => {
                            ui.label(RichText::new(format!("◀ {}", h.name)).color(GREEN));
                            let open = state.draft.as_ref().and_then(|d| d.incident_id) == Some(inc.id);
                            if state.pending.as_ref().and_then(|p| p.draft.incident_id) == Some(inc.id) {
                                // About to be closed: resuming it would race the
                                // pending close, taking it back is what is meant.
                                if ui.button(format!("{} #{}", lang.tr(k!("undo")), inc.id)).clicked() {
                                    undo = true;
                                }
                            } else if !open && ui.button(format!("{} #{}", lang.tr(k!("resume")), inc.id)).clicked() {
                                cmds.push(Command::Resume(inc.id));
                            }
                        }
                        Some(h) => {
                            ui.label(RichText::new(format!("{}: {}", lang.tr(k!("held_by")), h.name)).weak());
                        }
                        None => {
                            if ui.button(format!("{} #{}", lang.tr(k!("take")), inc.id)).clicked() {
                                cmds.push(Command::Claim(inc.id));
                            }
                        }
                    }
                });
            }
        });
    if undo {
        perform(state, Action::Undo, cmds);
    }
}

/// A labelled text field. Its explicit id keeps the focus on it when
/// something appears above it mid-typing (egui's automatic ids would shift).
fn field(ui: &mut Ui, id: &str, label: &str, value: &mut String) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        // As wide as the form allows, up to 320 px: a fixed width would push
        // the form under the triage panel when the window is narrow.
        let width = ui.available_width().clamp(80.0, 320.0);
        ui.add(egui::TextEdit::singleline(value).id_salt(id).desired_width(width))
            .labelled_by(l.id)
    })
    .inner
}

fn code_combo<T: Coded>(ui: &mut Ui, lang: Lang, id: &str, label: &str, value: &mut Option<T>, suggested: Option<T>) {
    ui.horizontal(|ui| {
        // The label stands before its box, as on every other field.
        let l = ui.label(label);
        let shown = value.or(suggested).map_or("—", |v| code_name(lang, v.as_str()));
        egui::ComboBox::from_id_salt(id)
            .selected_text(shown)
            .show_ui(ui, |ui| {
                for v in T::ALL {
                    ui.selectable_value(value, Some(*v), code_name(lang, v.as_str()));
                }
            })
            .response
            .labelled_by(l.id);
        if value.is_some() && ui.small_button("×").on_hover_text(lang.tr(k!("suggested"))).clicked() {
            *value = None;
        }
    });
}

/// The intake form: caller, location, narrative and the operator's codes,
/// prefilled from the suggestion and always overridable.
pub fn intake_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let suggestion = state.suggestion.clone();
    let focus_phone = std::mem::take(&mut state.focus_phone);
    undo_ui(ui, state, cmds);
    let Some(draft) = state.draft.as_mut() else {
        ui.label(lang.tr(k!("no_call")));
        // The outcome of the last action stays visible: the work-order number
        // is read to the caller after the form has moved on.
        outcome_ui(ui, state);
        return;
    };
    ui.horizontal(|ui| {
        ui.strong(lang.tr(k!("intake")));
        if let Some(id) = draft.incident_id {
            ui.label(format!("#{id}"));
        }
        if let Some(since) = draft.held_since {
            let secs = (Utc::now() - since).num_seconds().max(0);
            ui.label(format!("{} {}", lang.tr(k!("handling")), wait_text(secs)));
        }
    });
    if let Some(contact) = &draft.contact {
        // The only way back to a WeChat or web caller: shown, not editable.
        let label = match draft.channel {
            Some(Channel::Web) => lang.tr(k!("web_account")),
            _ => lang.tr(k!("wechat_id")),
        };
        ui.label(format!("{label}: {contact}"));
    }
    let before_phone = draft.phone.clone();
    let phone = field(ui, "draft_phone", lang.tr(k!("phone")), &mut draft.phone);
    if focus_phone {
        phone.request_focus();
    }
    field(ui, "draft_name", lang.tr(k!("name")), &mut draft.name);
    field(ui, "draft_callback", lang.tr(k!("callback")), &mut draft.callback);
    field(ui, "draft_location", lang.tr(k!("location")), &mut draft.location);
    if let Some(j) = &draft.jurisdiction {
        let name = crate::model::gazetteer::Gazetteer::shared()
            .station_name(j)
            .unwrap_or_else(|| j.clone());
        ui.label(RichText::new(format!("{}: {name}", lang.tr(k!("jurisdiction")))).weak());
    }
    code_combo(
        ui,
        lang,
        "draft_channel",
        lang.tr(k!("channel")),
        &mut draft.channel,
        None,
    );
    let l = ui.label(lang.tr(k!("narrative")));
    ui.add(
        egui::TextEdit::multiline(&mut draft.narrative)
            .id_salt("draft_narrative")
            .desired_rows(4)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(l.id);
    if let Some(id) = draft.incident_id {
        supplements_ui(ui, lang, id, &state.supplements, &mut state.supplement_text, cmds);
    }
    let Some(draft) = state.draft.as_mut() else { return };
    code_combo(
        ui,
        lang,
        "draft_category",
        lang.tr(k!("category")),
        &mut draft.category,
        suggestion.as_ref().map(|s| s.category),
    );
    code_combo(
        ui,
        lang,
        "draft_agency",
        lang.tr(k!("agency")),
        &mut draft.agency,
        suggestion.as_ref().map(|s| s.agency),
    );
    code_combo(
        ui,
        lang,
        "draft_priority",
        lang.tr(k!("priority")),
        &mut draft.priority,
        suggestion.as_ref().map(|s| s.priority),
    );
    if phone.lost_focus() && draft.phone != before_phone || phone.lost_focus() && state.history.is_none() {
        let p = draft.phone.trim().to_owned();
        if crate::model::CallerPhone::parse(&p).is_ok() {
            cmds.push(Command::History(p));
        }
    }
    ui.separator();
    actions_ui(ui, state, cmds);
}

/// The lines added to a call after its narrative, in order, and a field to
/// add one; what a merged duplicate's caller said shows with its call number.
fn supplements_ui(
    ui: &mut Ui,
    lang: Lang,
    id: crate::model::IncidentId,
    list: &[crate::model::Supplement],
    text: &mut String,
    cmds: &mut Vec<Command>,
) {
    for s in list {
        let when = crate::model::stats::local_time(s.at, "%H:%M");
        let who = match s.from_incident {
            Some(from) => format!("#{from} {}", lang.tr(k!("merged_caller"))),
            None => s.author.name.clone(),
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("{when} {who}：{}", s.text));
            // A merge found wrong is undone where its words show.
            if let Some(from) = s.from_incident
                && ui.small_button(format!("{} #{from}", lang.tr(k!("unlink")))).clicked()
            {
                cmds.push(Command::Act {
                    id: from,
                    then: Then::Unlink,
                });
            }
        });
    }
    let send = ui
        .horizontal(|ui| {
            let l = ui.label(lang.tr(k!("supplement")));
            let r = ui
                .add(
                    egui::TextEdit::singleline(text)
                        .id_salt("draft_supplement")
                        .desired_width((ui.available_width() - 110.0).clamp(80.0, 320.0)),
                )
                .labelled_by(l.id);
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.button(lang.tr(k!("add_supplement"))).clicked() || enter
        })
        .inner;
    if send && !text.trim().is_empty() {
        cmds.push(Command::Supplement {
            id,
            text: std::mem::take(text).trim().to_owned(),
        });
    }
}

/// Save, dispatch, refer, close, link, release — each also on a key (see [`shortcut`]).
pub fn actions_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    ui.horizontal_wrapped(|ui| {
        let mut pressed = None;
        for (key, action) in [
            (k!("save"), Action::Save),
            (k!("dispatch"), Action::Dispatch),
            (k!("refer"), Action::Refer),
            (k!("close_invalid"), Action::CloseInvalid),
            (k!("link_duplicate"), Action::Link),
            (k!("release"), Action::Release),
        ] {
            if ui.button(lang.tr(key)).clicked() {
                pressed = Some(action);
            }
        }
        if let Some(a) = pressed {
            perform(state, a, cmds);
        }
    });
    confirm_ui(ui, state, cmds);
    outcome_ui(ui, state);
}

/// The referral work order to read out, and the last action's result.
fn outcome_ui(ui: &mut Ui, state: &ConsoleState) {
    let lang = state.lang();
    if let Some(r) = &state.last_referral {
        ui.label(
            RichText::new(format!(
                "{}: {} ({}) — {}",
                lang.tr(k!("referral_number")),
                r.number,
                code_name(lang, r.agency.as_str()),
                lang.tr(k!("read_to_caller"))
            ))
            .strong()
            .color(if r.overdue { RED } else { GREEN }),
        );
        let mut status = code_name(lang, r.status.as_str()).to_owned();
        if r.overdue {
            status = format!("{status} · {}", lang.tr(k!("overdue")));
        }
        ui.label(RichText::new(status).color(if r.overdue { RED } else { ui.visuals().text_color() }));
        if let Some(f) = &r.feedback {
            ui.label(RichText::new(f).weak());
        }
    }
    notice_ui(ui, state);
}

/// The outcome of the operator's last action, or what was wrong with it.
pub(super) fn notice_ui(ui: &mut Ui, state: &ConsoleState) {
    if let Some(n) = &state.notice {
        ui.label(RichText::new(&n.text).color(if n.error { RED } else { GREEN }));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    NewCall,
    /// The most urgent, longest-waiting call nobody has taken.
    AnswerNext,
    Save,
    Dispatch,
    Refer,
    CloseInvalid,
    Link,
    Release,
    /// Answers the question a destructive action asked.
    Confirm,
    CancelConfirm,
    /// Takes back a confirmed close or merge while it is still pending.
    Undo,
}

/// The keyboard: F1 new call, F2 dispatch, F3 refer, F4 invalid, F5 link,
/// F12 answer next, Ctrl+S save, Esc release. While a question is open,
/// Enter confirms and Esc cancels; while a close or merge is pending, Ctrl+Z
/// undoes it; on the desk with no call and no field focused, Enter answers
/// the next call.
pub fn shortcut(ctx: &egui::Context, state: &ConsoleState) -> Option<Action> {
    use egui::{Key, Modifiers};
    const KEYS: [(Modifiers, Key, Action); 8] = [
        (Modifiers::NONE, Key::F1, Action::NewCall),
        (Modifiers::NONE, Key::F2, Action::Dispatch),
        (Modifiers::NONE, Key::F3, Action::Refer),
        (Modifiers::NONE, Key::F4, Action::CloseInvalid),
        (Modifiers::NONE, Key::F5, Action::Link),
        (Modifiers::NONE, Key::F12, Action::AnswerNext),
        (Modifiers::COMMAND, Key::S, Action::Save),
        (Modifiers::NONE, Key::Escape, Action::Release),
    ];
    if state.me.role == Role::Agency {
        return None;
    }
    let asking = state.confirm.is_some();
    let pending = state.pending.is_some();
    let idle = state.view == View::Desk && state.draft.is_none() && ctx.memory(|m| m.focused().is_none());
    ctx.input_mut(|i| {
        // Taken before any widget sees them: Enter in the narrative would
        // otherwise both start a new line and close the call.
        if asking {
            if i.consume_key(Modifiers::NONE, Key::Enter) {
                return Some(Action::Confirm);
            }
            if i.consume_key(Modifiers::NONE, Key::Escape) {
                return Some(Action::CancelConfirm);
            }
        }
        if pending && i.consume_key(Modifiers::COMMAND, Key::Z) {
            return Some(Action::Undo);
        }
        if idle && i.consume_key(Modifiers::NONE, Key::Enter) {
            return Some(Action::AnswerNext);
        }
        KEYS.iter().find(|(m, k, _)| i.consume_key(*m, *k)).map(|(_, _, a)| *a)
    })
}

/// The call F12 answers: unclaimed, most urgent, waiting longest.
pub fn next_call(state: &mut ConsoleState) -> Option<crate::model::IncidentId> {
    let ids = state.sorted_ids().to_vec();
    ids.into_iter().find(|id| {
        state
            .queue
            .get(id)
            .is_some_and(|e| e.holder.is_none() && e.status == Status::New)
    })
}

/// Sends a confirmed close or merge once its undo window has passed.
pub fn flush_pending(state: &mut ConsoleState, now: std::time::Instant, cmds: &mut Vec<Command>) {
    if state.pending.as_ref().is_some_and(|p| p.due <= now)
        && let Some(p) = state.pending.take()
    {
        cmds.push(p.command);
    }
}

/// Turns an action on the current call into commands, or a message saying
/// what is missing.
pub fn perform(state: &mut ConsoleState, action: Action, cmds: &mut Vec<Command>) {
    use super::state::{Confirm, Pending};
    let lang = state.lang();
    match action {
        Action::NewCall => {
            state.set_call(Some(Draft::new_call()));
            state.last_referral = None;
            state.focus_phone = true;
            return;
        }
        Action::AnswerNext => {
            if state
                .draft
                .as_ref()
                .is_some_and(|d| d.incident_id.is_some() || !d.narrative.trim().is_empty())
            {
                state.notice(lang.tr(k!("finish_call_first")), true);
            } else if let Some(id) = next_call(state) {
                cmds.push(Command::Claim(id));
            } else {
                state.notice(lang.tr(k!("queue_empty")), false);
            }
            return;
        }
        Action::Confirm => {
            if let Some(c) = state.confirm.take() {
                // One pending action at a time: an earlier one goes now.
                if let Some(p) = state.pending.take() {
                    cmds.push(p.command);
                }
                let done = match &c.command {
                    Command::Act {
                        then: Then::Link(_), ..
                    } => k!("will_link"),
                    _ => k!("will_close"),
                };
                state.pending = Some(Pending {
                    command: c.command,
                    draft: c.draft,
                    due: std::time::Instant::now() + state.undo_window,
                    done,
                });
                state.set_call(None);
                state.notice = None;
            }
            return;
        }
        Action::CancelConfirm => {
            state.confirm = None;
            return;
        }
        Action::Undo => {
            if let Some(p) = state.pending.take() {
                let (id, phone) = (p.draft.incident_id, p.draft.phone.trim().to_owned());
                state.set_call(Some(p.draft));
                if let Some(id) = id {
                    let phone = (!phone.is_empty()).then_some(phone);
                    cmds.push(Command::LoadContext { id, phone });
                }
                state.notice(lang.tr(k!("undone")), false);
            }
            return;
        }
        _ => {}
    }
    let Some(draft) = state.draft.clone() else {
        state.notice(lang.tr(k!("no_call")), true);
        return;
    };
    let suggestion = state.suggestion.as_ref();
    let then = match action {
        Action::Dispatch => match best_available(state) {
            Some(u) => Some(Then::Dispatch {
                unit_id: u.id,
                co_notify: co_notify(&draft, suggestion),
            }),
            None if draft.incident_id.is_none() => None,
            None => {
                state.notice(lang.tr(k!("no_units")), true);
                return;
            }
        },
        Action::Refer => {
            let agency = draft
                .agency
                .or(suggestion.map(|s| s.agency))
                .filter(|a| *a != Agency::None)
                .unwrap_or(Agency::Hotline12345);
            Some(Then::Refer(agency))
        }
        Action::CloseInvalid => Some(Then::Close(
            CloseReason::Invalid,
            Some(lang.tr(k!("reason_invalid")).to_owned()),
        )),
        Action::Link => match state.duplicates.first() {
            Some(d) => Some(Then::Link(d.incident.id)),
            None => {
                state.notice(lang.tr(k!("no_duplicates")), true);
                return;
            }
        },
        _ => None,
    };
    let command = match (draft.incident_id, action) {
        (Some(id), Action::Release) => Command::Release(id),
        (None, Action::Release) => {
            state.draft = None;
            return;
        }
        (Some(id), Action::Save) => match draft.to_patch(suggestion) {
            Ok(patch) => Command::Update {
                id,
                patch: Box::new(patch),
            },
            Err(e) => return state.notice(super::i18n::domain_error(lang, &e), true),
        },
        (Some(id), _) => match then {
            Some(then) => Command::Act { id, then },
            None => return,
        },
        (None, _) => match draft.to_intake(suggestion) {
            // A call logged by hand is saved first; the action follows on the
            // incident the service created.
            Ok(request) => Command::SubmitNew {
                request: Box::new(request),
                key: draft.key.clone(),
                then,
            },
            Err(e) => return state.notice(super::i18n::domain_error(lang, &e), true),
        },
    };
    let question = match action {
        Action::CloseInvalid => k!("confirm_invalid"),
        Action::Link => k!("confirm_link"),
        _ => {
            cmds.push(command);
            return;
        }
    };
    state.confirm = Some(Confirm {
        question,
        command,
        draft,
    });
}

/// A merge with a chosen candidate asks first, as F5 does.
fn ask_link(state: &mut ConsoleState, of: crate::model::IncidentId) {
    let Some(draft) = state.draft.clone() else { return };
    let Some(id) = draft.incident_id else { return };
    state.confirm = Some(super::state::Confirm {
        question: k!("confirm_link"),
        command: Command::Act {
            id,
            then: Then::Link(of),
        },
        draft,
    });
}

/// The question a close or merge asks before it goes ahead.
fn confirm_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let Some(c) = &state.confirm else { return };
    let target = match &c.command {
        Command::Act {
            then: Then::Link(of), ..
        } => format!(" #{of}"),
        _ => String::new(),
    };
    let question = format!("{}{target}", lang.tr(c.question));
    let mut answer = None;
    egui::Frame::new().fill(AMBER).inner_margin(6.0).show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.label(RichText::new(question).strong().color(Color32::BLACK));
            if ui.button(lang.tr(k!("confirm_key"))).clicked() {
                answer = Some(Action::Confirm);
            }
            if ui.button(lang.tr(k!("cancel_key"))).clicked() {
                answer = Some(Action::CancelConfirm);
            }
        });
    });
    if let Some(a) = answer {
        perform(state, a, cmds);
    }
}

/// A confirmed close or merge, with the time left to take it back.
fn undo_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let Some(p) = &state.pending else { return };
    let left = p.due.saturating_duration_since(std::time::Instant::now()).as_secs() + 1;
    let id = p.draft.incident_id.map_or_else(String::new, |id| format!(" #{id}"));
    let mut undo = false;
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!(
                "{}{id} · {left}{}",
                lang.tr(p.done),
                lang.tr(k!("seconds_unit"))
            ))
            .strong(),
        );
        undo = ui.button(lang.tr(k!("undo"))).clicked();
    });
    if undo {
        perform(state, Action::Undo, cmds);
    }
}

/// The narrative with the cue phrases highlighted.
fn highlighted(ui: &Ui, text: &str, spans: &[(usize, usize)]) -> LayoutJob {
    let mut job = LayoutJob::default();
    let normal = TextFormat {
        color: ui.visuals().text_color(),
        ..Default::default()
    };
    let marked = TextFormat {
        color: Color32::BLACK,
        background: HIGHLIGHT,
        ..Default::default()
    };
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let hit = spans.iter().find(|(a, b)| *a <= i && i < *b);
        let end = match hit {
            Some((_, b)) => (*b).min(chars.len()),
            None => spans
                .iter()
                .filter(|(a, _)| *a > i)
                .map(|(a, _)| *a)
                .min()
                .unwrap_or(chars.len())
                .min(chars.len()),
        };
        let piece: String = chars[i..end.max(i + 1)].iter().collect();
        job.append(&piece, 0.0, if hit.is_some() { marked.clone() } else { normal.clone() });
        i = end.max(i + 1);
    }
    job
}

/// The suggestion, the caller's history, duplicates and units.
pub fn triage_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    if let Some(h) = &state.history {
        if h.nuisance_warning().is_some() {
            egui::Frame::new().fill(RED).inner_margin(6.0).show(ui, |ui| {
                ui.label(
                    RichText::new(lang.tr(k!("nuisance_banner")))
                        .strong()
                        .color(Color32::WHITE),
                );
                if let Some(f) = h.flags.first() {
                    ui.label(
                        RichText::new(format!("{}: {}", code_name(lang, f.flag.as_str()), f.note))
                            .color(Color32::WHITE),
                    );
                }
            });
        }
        ui.label(format!(
            "{}: {} {} · {} {}",
            lang.tr(k!("history")),
            h.total_calls,
            lang.tr(k!("calls")),
            h.invalid_calls,
            lang.tr(k!("invalid_calls"))
        ));
    }
    ui.strong(lang.tr(k!("triage")));
    match &state.suggestion {
        None => {
            ui.label("—");
        }
        Some(s) => {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(s.priority.as_str())
                        .strong()
                        .color(Color32::WHITE)
                        .background_color(priority_color(s.priority)),
                );
                ui.label(RichText::new(code_name(lang, s.category.as_str())).strong());
                // Never "100%": the model's probability, floored, is what the
                // reliability table calibrates; certainty it is not.
                let pct = (s.confidence * 100.0).floor().clamp(0.0, 99.0);
                ui.label(format!("{} {pct:.0}%", lang.tr(k!("confidence"))));
                ui.label(format!("→ {}", code_name(lang, s.agency.as_str())));
                if let Some(r) = s.runner_up {
                    ui.label(
                        RichText::new(format!("{}: {}", lang.tr(k!("runner_up")), code_name(lang, r.as_str()))).weak(),
                    );
                }
            });
            // The detector's verdict stands out: a call taker must not read a
            // life threat as a routine referral.
            if let Some(r) = s.reasons.iter().find(|r| r.rule.starts_with(DANGER_TO_LIFE)) {
                // The phrases that fired, or (from the model alone) the
                // engine's own words after the marker.
                let why = if r.keyword.is_empty() {
                    // From the model alone: its words, translated, after the
                    // marker the banner already says.
                    let full = reason_text(lang, r);
                    full.split_once('：')
                        .or_else(|| full.split_once(": "))
                        .map_or(full.clone(), |(_, why)| why.to_owned())
                } else {
                    r.keyword.replace('+', " · ")
                };
                ui.label(
                    RichText::new(format!("{} {why}", lang.tr(k!("danger_to_life"))))
                        .strong()
                        .color(Color32::WHITE)
                        .background_color(RED),
                );
            }
            if let Some(d) = &state.draft {
                let spans: Vec<(usize, usize)> = s
                    .reasons
                    .iter()
                    .filter(|r| {
                        ["cue", "danger", DANGER_TO_LIFE, "model"]
                            .iter()
                            .any(|p| r.rule.starts_with(p))
                    })
                    .filter_map(|r| r.span)
                    .chain(danger_spans(&d.narrative, &s.reasons))
                    .collect();
                ui.label(highlighted(ui, &d.narrative, &spans));
            }
            ui.collapsing(lang.tr(k!("reasons")), |ui| {
                for r in &s.reasons {
                    ui.label(reason_text(lang, r));
                }
            });
        }
    }
    if !state.duplicates.is_empty() {
        ui.separator();
        ui.strong(lang.tr(k!("duplicates")));
        let mut link = None;
        for (n, d) in state.duplicates.iter().take(5).enumerate() {
            // "同一地点 · 12 分钟前 · 同类": why the operator should look.
            let mut why: Vec<String> = d
                .evidence
                .reasons
                .iter()
                .map(|r| code_name(lang, r.as_str()).to_owned())
                .collect();
            why.insert(
                1.min(why.len()),
                format!("{} {}", d.evidence.minutes_apart, lang.tr(k!("minutes_ago"))),
            );
            if let Some(m) = d.evidence.metres {
                why.push(format!("{m:.0} {}", lang.tr(k!("metres"))));
            }
            ui.horizontal(|ui| {
                priority_badge(ui, d.incident.effective_priority());
                ui.label(format!(
                    "#{} {}",
                    d.incident.id,
                    d.incident.narrative.chars().take(16).collect::<String>()
                ));
            });
            ui.horizontal(|ui| {
                ui.label(RichText::new(why.join(" · ")).weak());
                if state.draft.as_ref().and_then(|x| x.incident_id).is_some() {
                    let label = if n == 0 {
                        format!("{} #{}", lang.tr(k!("link_duplicate")), d.incident.id)
                    } else {
                        format!("{} #{}", lang.tr(k!("link_to")), d.incident.id)
                    };
                    if ui.small_button(label).clicked() {
                        link = Some(d.incident.id);
                    }
                }
            });
        }
        if let Some(of) = link {
            ask_link(state, of);
        }
    }
    let co = state
        .draft
        .as_ref()
        .map(|d| co_notify(d, state.suggestion.as_ref()))
        .unwrap_or_default();
    if state.recommendation.is_some() && state.draft.as_ref().and_then(|x| x.incident_id).is_some() {
        ui.separator();
        co_notify_ui(ui, state, &co);
    }
    if let Some(rec) = &state.recommendation {
        ui.strong(lang.tr(k!("units")));
        if let Some(j) = &rec.jurisdiction {
            ui.label(RichText::new(format!("{} {} · {}", j.district, j.station, j.matched)).weak());
        }
        if rec.units.is_empty() {
            ui.label(lang.tr(k!("no_units")));
        }
        let id = state.draft.as_ref().and_then(|x| x.incident_id);
        let best = best_available(state).map(|u| u.id);
        for u in rec.units.iter().take(6) {
            let status = live_status(state, u);
            ui.horizontal(|ui| {
                ui.label(format!("{} · {}", u.name, code_name(lang, u.kind.as_str())));
                if status != UnitStatus::Available {
                    // Shown so the operator knows it is near, not offered.
                    ui.label(RichText::new(code_name(lang, status.as_str())).color(unit_color(status)));
                } else if let Some(id) = id {
                    let plus: String = co.iter().map(|a| format!(" + {}", a.as_str())).collect();
                    let label = if best == Some(u.id) {
                        format!("{} {}{plus}", lang.tr(k!("dispatch")), u.name)
                    } else {
                        format!("{} {}{plus}", lang.tr(k!("dispatch_unit")), u.name)
                    };
                    if ui.small_button(label).clicked() {
                        cmds.push(Command::Act {
                            id,
                            then: Then::Dispatch {
                                unit_id: u.id,
                                co_notify: co.clone(),
                            },
                        });
                    }
                }
            });
        }
    }
}

/// Every phrase the danger detector combined ("棍子+拿着+流血"), located in
/// the narrative: the reason carries one span, the operator should see all.
fn danger_spans(narrative: &str, reasons: &[crate::model::Reason]) -> Vec<(usize, usize)> {
    let chars: Vec<char> = narrative.chars().collect();
    reasons
        .iter()
        .filter(|r| r.rule.starts_with(DANGER_TO_LIFE))
        .flat_map(|r| r.keyword.split('+'))
        .filter_map(|word| {
            let start = crate::triage::find_chars(&chars, word)?;
            Some((start, start + word.chars().count()))
        })
        .collect()
}

/// A unit's status on the live board; a recommendation is made when the
/// call is opened, and units move on while the operator talks.
fn live_status(state: &ConsoleState, unit: &Unit) -> UnitStatus {
    state
        .units
        .iter()
        .find(|x| x.id == unit.id)
        .map_or(unit.status, |x| x.status)
}

/// The best recommended unit that is still available: what F2 dispatches.
fn best_available(state: &ConsoleState) -> Option<&Unit> {
    let rec = state.recommendation.as_ref()?;
    rec.units
        .iter()
        .find(|u| live_status(state, u) == UnitStatus::Available)
}

/// 119 or 120 notified with the patrol when the call (or its suggestion)
/// names them: one action for a fire with people trapped.
fn co_notify(draft: &Draft, suggestion: Option<&Suggestion>) -> Vec<Agency> {
    if let Some(chosen) = &draft.co_notify {
        return chosen.clone();
    }
    draft
        .agency
        .or(suggestion.map(|s| s.agency))
        .filter(|a| matches!(a, Agency::Fire | Agency::Ambulance))
        .into_iter()
        .collect()
}

/// 119 and 120 to tick beside the dispatch: preset from the call, changed
/// with one click, sent in the same action as the patrol.
fn co_notify_ui(ui: &mut Ui, state: &mut ConsoleState, current: &[Agency]) {
    let lang = state.lang();
    let Some(draft) = state.draft.as_mut() else { return };
    const BOXES: [Agency; 2] = [Agency::Fire, Agency::Ambulance];
    ui.horizontal(|ui| {
        ui.label(lang.tr(k!("co_notify")));
        for agency in BOXES {
            let mut on = current.contains(&agency);
            if ui.checkbox(&mut on, code_name(lang, agency.as_str())).changed() {
                let mut chosen: Vec<Agency> = current.iter().copied().filter(|a| *a != agency).collect();
                if on {
                    chosen.push(agency);
                    chosen.sort_by_key(|a| BOXES.iter().position(|b| b == a));
                }
                draft.co_notify = Some(chosen);
            }
        }
    });
}

/// Available green, on the way amber, at the scene blue, off duty grey.
pub(super) fn unit_color(status: UnitStatus) -> Color32 {
    match status {
        UnitStatus::Available => GREEN,
        UnitStatus::EnRoute => AMBER,
        UnitStatus::OnScene => Color32::from_rgb(0x3b, 0x7d, 0xd8),
        UnitStatus::OffDuty => Color32::GRAY,
    }
}

/// The unit board: every unit with its status, its call and how long it has
/// been so. A shift lead moves any unit; a call taker only the units on the
/// calls they dispatched (the rest they see, so they know who is free).
pub fn units_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let now = Utc::now();
    ui.strong(lang.tr(k!("unit_board")));
    egui::ScrollArea::vertical().id_salt("units").show(ui, |ui| {
        for u in &state.units {
            ui.horizontal(|ui| {
                let color = unit_color(u.status);
                ui.label(RichText::new("●").color(color));
                let may_move = state.me.is_lead() || u.incident_id.is_some_and(|i| state.dispatched_by_me.contains(&i));
                if may_move {
                    let mut status = u.status;
                    let l = ui.label(&u.name);
                    egui::ComboBox::from_id_salt(("unit", u.id))
                        .selected_text(RichText::new(code_name(lang, status.as_str())).color(color))
                        .show_ui(ui, |ui| {
                            for s in UnitStatus::ALL {
                                ui.selectable_value(&mut status, *s, code_name(lang, s.as_str()));
                            }
                        })
                        .response
                        .labelled_by(l.id);
                    if status != u.status {
                        cmds.push(Command::SetUnitStatus(u.id, status));
                    }
                } else {
                    ui.label(&u.name);
                    ui.label(RichText::new(code_name(lang, u.status.as_str())).color(color));
                }
                if let Some(i) = u.incident_id {
                    ui.label(format!("#{i}"));
                }
                if let Some(since) = u.status_since
                    && u.status != UnitStatus::Available
                {
                    ui.label(
                        RichText::new(wait_text((now - since).num_seconds().max(0)))
                            .monospace()
                            .weak(),
                    );
                }
            });
        }
    });
}

/// Whether a newly arrived incident deserves the P1 alert.
pub fn is_new_p1(inc: &Incident) -> bool {
    inc.status.is_queued() && inc.effective_priority() == Priority::P1
}

/// An agency account's referral inbox: accept, write feedback, close.
pub fn inbox_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    use crate::model::{ReferralStatus, ReferralStep};
    let lang = state.lang();
    ui.heading(lang.tr(k!("inbox")));
    outcome_ui(ui, state);
    let referrals = state.referrals.clone();
    egui::ScrollArea::vertical().show(ui, |ui| {
        for r in &referrals {
            ui.separator();
            ui.horizontal(|ui| {
                ui.strong(&r.number);
                ui.label(code_name(lang, r.status.as_str()));
                if r.overdue {
                    ui.label(RichText::new(lang.tr(k!("overdue"))).strong().color(RED));
                }
                ui.label(RichText::new(crate::model::stats::local_time(r.created_at, "%m-%d %H:%M")).weak());
            });
            if let Some(f) = &r.feedback {
                ui.label(RichText::new(f).weak());
            }
            ui.horizontal(|ui| match r.status {
                ReferralStatus::Sent => {
                    if ui.button(format!("{} {}", lang.tr(k!("accept")), r.number)).clicked() {
                        cmds.push(Command::ReferralStep(r.id, ReferralStep::Accept));
                    }
                }
                ReferralStatus::Accepted | ReferralStatus::Feedback => {
                    let text = state.feedback.entry(r.id).or_default();
                    let l = ui.label(format!("{} {}", lang.tr(k!("feedback")), r.number));
                    ui.add(
                        egui::TextEdit::singleline(text)
                            .id_salt(("feedback", r.id))
                            .desired_width(320.0),
                    )
                    .labelled_by(l.id);
                    if ui
                        .button(format!("{} {}", lang.tr(k!("send_feedback")), r.number))
                        .clicked()
                        && !text.trim().is_empty()
                    {
                        cmds.push(Command::ReferralStep(
                            r.id,
                            ReferralStep::Feedback(std::mem::take(text)),
                        ));
                    }
                    if ui.button(format!("{} {}", lang.tr(k!("close")), r.number)).clicked() {
                        cmds.push(Command::ReferralStep(r.id, ReferralStep::Close));
                    }
                }
                ReferralStatus::Closed => {}
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_of_a_danger_reason_is_highlighted() {
        let reasons = vec![crate::model::Reason {
            keyword: "棍子+拿着+流血".into(),
            span: Some((8, 10)),
            rule: format!("{DANGER_TO_LIFE}: a weapon used and blood"),
        }];
        let text = "村口有人打架，手里拿着棍子，已经有人流血了";
        let spans = danger_spans(text, &reasons);
        let words: Vec<String> = spans
            .iter()
            .map(|(a, b)| text.chars().skip(*a).take(b - a).collect())
            .collect();
        assert_eq!(words, ["棍子", "拿着", "流血"]);
        assert!(danger_spans("短", &reasons).is_empty());
    }
}
