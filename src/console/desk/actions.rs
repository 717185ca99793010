//! What the operator does with a call: the buttons, their keys, the
//! confirm-and-undo of closing and merging.

use super::*;

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
pub(crate) fn outcome_ui(ui: &mut Ui, state: &ConsoleState) {
    let lang = state.lang();
    if let Some(r) = &state.desk.last_referral {
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
    let asking = state.desk.confirm.is_some();
    let pending = state.desk.pending.is_some();
    let idle = state.view == View::Desk && state.desk.draft.is_none() && ctx.memory(|m| m.focused().is_none());
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

/// Sends a confirmed close or merge once its undo window has passed.
pub fn flush_pending(state: &mut ConsoleState, now: std::time::Instant, cmds: &mut Vec<Command>) {
    if state.desk.pending.as_ref().is_some_and(|p| p.due <= now)
        && let Some(p) = state.desk.pending.take()
    {
        cmds.push(p.command);
    }
}

/// Turns an action on the current call into commands, or a message saying
/// what is missing.
pub fn perform(state: &mut ConsoleState, action: Action, cmds: &mut Vec<Command>) {
    use crate::console::state::{Confirm, Pending};
    let lang = state.lang();
    match action {
        Action::NewCall => {
            state.set_call(Some(Draft::new_call()));
            state.desk.last_referral = None;
            state.desk.focus_phone = true;
            return;
        }
        Action::AnswerNext => {
            if state
                .desk
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
            if let Some(mut c) = state.desk.confirm.take() {
                // What the operator typed while the question was open goes
                // with the action, and comes back with an undo.
                if let Command::Act { id, then, .. } = &c.command
                    && let Some(now) = state.desk.draft.clone().filter(|d| d.incident_id == Some(*id))
                {
                    match act(state, *id, then.clone()) {
                        Ok(command) => {
                            c.command = command;
                            c.draft = now;
                        }
                        Err(e) => {
                            state.desk.confirm = Some(c);
                            return state.notice(crate::console::i18n::domain_error(lang, &e), true);
                        }
                    }
                }
                // One pending action at a time: an earlier one goes now.
                if let Some(p) = state.desk.pending.take() {
                    cmds.push(p.command);
                }
                let done = match &c.command {
                    Command::Act {
                        then: Then::Link(_), ..
                    } => k!("will_link"),
                    _ => k!("will_close"),
                };
                state.desk.pending = Some(Pending {
                    command: c.command,
                    draft: c.draft,
                    due: std::time::Instant::now() + state.desk.undo_window,
                    done,
                });
                state.set_call(None);
                state.notice.current = None;
            }
            return;
        }
        Action::CancelConfirm => {
            state.desk.confirm = None;
            return;
        }
        Action::Undo => {
            if let Some(p) = state.desk.pending.take() {
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
    let Some(draft) = state.desk.draft.clone() else {
        state.notice(lang.tr(k!("no_call")), true);
        return;
    };
    let suggestion = state.desk.suggestion.as_ref();
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
        Action::Link => match state.desk.duplicates.first() {
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
            state.desk.draft = None;
            return;
        }
        (Some(id), Action::Save) => match draft.to_patch(suggestion) {
            Ok(patch) => Command::Update {
                id,
                patch: Box::new(patch),
            },
            Err(e) => return state.notice(crate::console::i18n::domain_error(lang, &e), true),
        },
        (Some(id), _) => match then.map(|then| act(state, id, then)) {
            Some(Ok(command)) => command,
            Some(Err(e)) => return state.notice(crate::console::i18n::domain_error(lang, &e), true),
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
            Err(e) => return state.notice(crate::console::i18n::domain_error(lang, &e), true),
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
    state.desk.confirm = Some(Confirm {
        question,
        command,
        draft,
    });
}

/// A merge with a chosen candidate asks first, as F5 does.
pub(crate) fn ask_link(state: &mut ConsoleState, of: crate::model::IncidentId) {
    let Some(draft) = state.desk.draft.clone() else { return };
    let Some(id) = draft.incident_id else { return };
    let command = match act(state, id, Then::Link(of)) {
        Ok(c) => c,
        Err(e) => {
            let lang = state.lang();
            return state.notice(crate::console::i18n::domain_error(lang, &e), true);
        }
    };
    state.desk.confirm = Some(crate::console::state::Confirm {
        question: k!("confirm_link"),
        command,
        draft,
    });
}

/// An action on the call on the form, carrying the form's unsaved edits
/// (checked as Save checks them) so they are stored before it.
pub(crate) fn act(
    state: &ConsoleState,
    id: crate::model::IncidentId,
    then: Then,
) -> Result<Command, crate::model::DomainError> {
    // Only a dispatch takes the codes the form prefills from the
    // suggestion; a close or a referral sets its own.
    let codes_from = state
        .desk
        .suggestion
        .as_ref()
        .filter(|_| matches!(then, Then::Dispatch { .. }));
    let edits = match state.desk.draft.as_ref().filter(|d| d.incident_id == Some(id)) {
        Some(d) => d.unsaved(codes_from)?.map(Box::new),
        None => None,
    };
    Ok(Command::Act { id, then, edits })
}

/// The question a close or merge asks before it goes ahead.
pub(crate) fn confirm_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let Some(c) = &state.desk.confirm else { return };
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
pub(crate) fn undo_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let Some(p) = &state.desk.pending else { return };
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
