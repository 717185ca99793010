//! Small pieces every screen draws with: colours, badges, wait timers,
//! labelled fields and code combos, highlighted text, the notice line.

use crate::k;
use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, RichText, Ui};

use super::i18n::{Lang, code_name};
use super::state::ConsoleState;
use crate::model::{Coded, Priority, QueueEntry, UnitStatus};

/// Data on a panel is re-read when it is older than this while it is shown.
const STALE: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether a panel's data, last asked for at `asked`, is due again; if so
/// the time is reset (`None` forces a load).
pub(crate) fn due(asked: &mut Option<std::time::Instant>) -> bool {
    due_every(asked, STALE)
}

/// As [`due`], for data that is older only after `period`.
pub(crate) fn due_every(asked: &mut Option<std::time::Instant>, period: std::time::Duration) -> bool {
    if asked.is_some_and(|t| t.elapsed() < period) {
        return false;
    }
    *asked = Some(std::time::Instant::now());
    true
}

pub(crate) const RED: Color32 = Color32::from_rgb(0xd6, 0x2d, 0x20);
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

pub(crate) fn wait_text(secs: i64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

/// Time left (or past) in the largest units that matter: days and hours
/// for a closing deadline, h:mm:ss for the rest.
pub(crate) fn left_text(lang: Lang, secs: i64) -> String {
    if secs >= 86_400 {
        format!("{}{} {}h", secs / 86_400, lang.tr(k!("days_short")), secs / 3600 % 24)
    } else {
        wait_text(secs)
    }
}

/// The deadline of a referral's stage (accept, first feedback, close) with
/// the time left, red once past; until the agency accepts, 110 answers for
/// the call and the label says so.
pub(crate) fn referral_deadline_ui(
    ui: &mut Ui,
    lang: Lang,
    r: &crate::model::Referral,
    now: chrono::DateTime<chrono::Utc>,
) {
    use crate::model::ReferralStatus;
    let Some(due) = r.deadline() else {
        ui.label("—");
        return;
    };
    let stage = lang.tr(match r.status {
        ReferralStatus::Sent => k!("deadline_accept"),
        ReferralStatus::Accepted => k!("deadline_feedback"),
        _ => k!("deadline_close"),
    });
    let ours = if r.status.still_ours() {
        format!(" · {}", lang.tr(k!("still_ours")))
    } else {
        String::new()
    };
    let left = (due - now).num_seconds();
    let text = if left >= 0 {
        RichText::new(format!("{stage} {}{ours}", left_text(lang, left)))
    } else {
        RichText::new(format!(
            "{stage} {} +{}{ours}",
            lang.tr(k!("overdue")),
            left_text(lang, -left)
        ))
        .strong()
        .color(RED)
    };
    ui.label(text);
}

/// The start of a call's narrative, or why there is none (a hang-up).
pub(crate) fn first_words(lang: Lang, entry: &QueueEntry, chars: usize) -> String {
    if entry.summary.is_empty() {
        format!("[{}]", entry.disconnect.map_or("", |d| code_name(lang, d.as_str())))
    } else {
        entry.summary.chars().take(chars).collect()
    }
}

pub(crate) fn priority_badge(ui: &mut Ui, p: Priority) {
    ui.label(
        RichText::new(p.as_str())
            .strong()
            .color(Color32::WHITE)
            .background_color(priority_color(p)),
    );
}

/// A waiting time, amber then red past the operator's thresholds.
pub(crate) fn wait_label(ui: &mut Ui, secs: i64, amber: i64, red: i64) {
    let color = if secs >= red {
        RED
    } else if secs >= amber {
        AMBER
    } else {
        ui.visuals().text_color()
    };
    ui.label(RichText::new(wait_text(secs)).color(color).monospace());
}

pub(crate) fn filter_combo<T: Coded>(ui: &mut Ui, lang: Lang, id: &str, label: &str, value: &mut Option<T>, all: &[T]) {
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

/// A labelled text field. Its explicit id keeps the focus on it when
/// something appears above it mid-typing (egui's automatic ids would shift).
pub(crate) fn field(ui: &mut Ui, id: &str, label: &str, value: &mut String) -> egui::Response {
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

pub(crate) fn code_combo<T: Coded>(
    ui: &mut Ui,
    lang: Lang,
    id: &str,
    label: &str,
    value: &mut Option<T>,
    suggested: Option<T>,
) {
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

/// The outcome of the operator's last action, or what was wrong with it.
pub(crate) fn notice_ui(ui: &mut Ui, state: &ConsoleState) {
    if let Some(n) = &state.notice.current {
        ui.label(RichText::new(&n.text).color(if n.error { RED } else { GREEN }));
    }
}

/// The narrative with the cue phrases highlighted.
pub(crate) fn highlighted(ui: &Ui, text: &str, spans: &[(usize, usize)]) -> LayoutJob {
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

/// Available green, waiting to sign red, on the way amber, at the scene
/// blue, off duty grey.
pub(crate) fn unit_color(status: UnitStatus) -> Color32 {
    match status {
        UnitStatus::Available => GREEN,
        UnitStatus::Assigned => RED,
        UnitStatus::EnRoute => AMBER,
        UnitStatus::OnScene => Color32::from_rgb(0x3b, 0x7d, 0xd8),
        UnitStatus::OffDuty => Color32::GRAY,
    }
}
