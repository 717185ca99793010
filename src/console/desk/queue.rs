//! The live queue: filters, the frozen list under the pointer, F12's next call.

use super::*;

/// How long the queue stays still after the pointer last moved over it.
pub(crate) const QUEUE_FREEZE: std::time::Duration = std::time::Duration::from_secs(3);

/// The live queue of every open call, virtualised for thousands of rows.
pub fn queue_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    ui.horizontal(|ui| {
        ui.strong(lang.tr(k!("queue")));
        ui.label(format!("({})", state.queue.calls.len()));
        filter_combo(
            ui,
            lang,
            "queue_channel",
            lang.tr(k!("channel")),
            &mut state.queue.filter_channel,
            Channel::ALL,
        );
        filter_combo(
            ui,
            lang,
            "queue_status",
            lang.tr(k!("status")),
            &mut state.queue.filter_status,
            &[Status::New, Status::InProgress],
        );
        filter_combo(
            ui,
            lang,
            "queue_category",
            lang.tr(k!("category")),
            &mut state.queue.filter_category,
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
        state.queue.pointer_busy_at = Some(std::time::Instant::now());
    }
    let hovered = over && state.queue.pointer_busy_at.is_some_and(|t| t.elapsed() < QUEUE_FREEZE);
    if hovered && state.queue.frozen.is_none() {
        state.queue.frozen = Some(state.queue.shown.clone());
    } else if !hovered && state.queue.frozen.is_some() {
        state.queue.frozen = None;
        state.queue.departed.clear();
    }
    let (channel, status, category) = (
        state.queue.filter_channel,
        state.queue.filter_status,
        state.queue.filter_category,
    );
    let visible = |i: &QueueEntry| {
        channel.is_none_or(|c| i.channel == c)
            && status.is_none_or(|s| i.status == s)
            && category.is_none_or(|c| i.category == Some(c))
    };
    let live: Vec<_> = state
        .sorted_ids()
        .to_vec()
        .into_iter()
        .filter(|id| state.queue.calls.get(id).is_some_and(visible))
        .collect();
    let ids: Vec<_> = match &state.queue.frozen {
        Some(frozen) => frozen
            .iter()
            .copied()
            .filter(|id| state.queue.calls.get(id).is_some_and(visible) || state.queue.departed.contains_key(id))
            .collect(),
        None => live.clone(),
    };
    // New calls wait above the frozen rows as a count, P1s in red. Without
    // a freeze every live call is shown; with one, a set keeps this linear
    // (a scan of the shown rows per call was 50 M comparisons a frame at
    // 10,000 calls).
    let arrived: Vec<_> = if state.queue.frozen.is_some() {
        let shown: std::collections::HashSet<_> = ids.iter().copied().collect();
        live.iter().filter(|id| !shown.contains(id)).copied().collect()
    } else {
        Vec::new()
    };
    if !arrived.is_empty() {
        let p1 = arrived
            .iter()
            .filter(|id| state.queue.calls.get(id).is_some_and(|e| e.priority == Priority::P1))
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
    state.queue.shown = ids.clone();
    let now = Utc::now();
    let (amber, red) = (state.prefs.amber_secs, state.prefs.red_secs);
    let me = state.me.id;
    let mut undo = false;
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 8.0;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, ids.len(), |ui, range| {
            for id in &ids[range] {
                if let Some(gone) = state.queue.departed.get(id) {
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
                let Some(inc) = state.queue.calls.get(id) else { continue };
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
                            let open = state.desk.draft.as_ref().and_then(|d| d.incident_id) == Some(inc.id);
                            if state.desk.pending.as_ref().and_then(|p| p.draft.incident_id) == Some(inc.id) {
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

/// The call F12 answers: unclaimed, most urgent, waiting longest.
pub fn next_call(state: &mut ConsoleState) -> Option<crate::model::IncidentId> {
    let ids = state.sorted_ids().to_vec();
    ids.into_iter().find(|id| {
        state
            .queue
            .calls
            .get(id)
            .is_some_and(|e| e.holder.is_none() && e.status == Status::New)
    })
}

/// Whether a newly arrived incident deserves the P1 alert.
pub fn is_new_p1(inc: &Incident) -> bool {
    inc.status.is_queued() && inc.effective_priority() == Priority::P1
}
