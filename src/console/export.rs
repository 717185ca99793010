//! Files a shift lead takes away: incidents of a time range as CSV, and a
//! caller's dossier as CSV or as a printable HTML document.
//!
//! Owns: turning model values into tables and bytes, and asking where to save
//! them. Must not touch: the network (the backend fetches the data) or egui.

use crate::k;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::i18n::{Lang, code_name};
use crate::model::stats::{Dossier, local_time};
use crate::model::{Coded, Incident, Status};

/// UTF-8 byte-order mark: without it spreadsheet software on Chinese Windows
/// reads the file as GBK and shows mojibake.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A header and rows of text, as written to CSV and shown in HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("cannot read the CSV: {0}")]
    Csv(#[from] csv::Error),
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| local_time(t, "%Y-%m-%d %H:%M:%S")).unwrap_or_default()
}

fn name<T: Coded>(lang: Lang, v: Option<T>) -> String {
    v.map(|v| code_name(lang, v.as_str()).to_owned()).unwrap_or_default()
}

/// What became of a call, in words a reader outside the centre follows.
pub fn outcome(lang: Lang, i: &Incident) -> String {
    let status = code_name(lang, i.status.as_str());
    match i.status {
        Status::New | Status::InProgress => lang.tr(k!("open")).to_owned(),
        Status::Referred => format!("{status}: {}", name(lang, i.agency)),
        Status::Closed => {
            let mut s = format!("{status}: {}", name(lang, i.close_reason));
            if let Some(n) = &i.close_note {
                s.push_str(&format!(" ({n})"));
            }
            s
        }
        _ => match i.unit_id {
            Some(u) => format!("{status} #{u}"),
            None => status.to_owned(),
        },
    }
}

/// One row per incident, the columns a centre's records need.
/// The call-quality review: one row per call, each check as passed (1),
/// failed (0) or not applicable (empty), and the score.
pub fn qa_table(lang: Lang, calls: &[crate::model::QaCall]) -> Table {
    use crate::model::QaCheck;
    let mut header: Vec<String> = [
        k!("id"),
        k!("received"),
        k!("channel"),
        k!("priority"),
        k!("status"),
        k!("operator"),
    ]
    .iter()
    .map(|key| lang.tr(*key).to_owned())
    .collect();
    header.extend(QaCheck::ALL.iter().map(|c| code_name(lang, c.as_str()).to_owned()));
    header.push(lang.tr(k!("qa_score")).to_owned());
    let rows = calls
        .iter()
        .map(|c| {
            let mut row = vec![
                c.incident_id.to_string(),
                time(Some(c.received_at)),
                name(lang, Some(c.channel)),
                name(lang, Some(c.priority)),
                name(lang, Some(c.status)),
                c.operator.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
            ];
            row.extend(
                QaCheck::ALL
                    .iter()
                    .map(|k| match c.checks.iter().find(|r| r.check == *k) {
                        Some(r) => if r.passed { "1" } else { "0" }.to_owned(),
                        None => String::new(),
                    }),
            );
            row.push(c.score.map(|s| format!("{s:.0}")).unwrap_or_default());
            row
        })
        .collect();
    Table { header, rows }
}

pub fn incidents_table(lang: Lang, incidents: &[Incident]) -> Table {
    let header = [
        k!("id"),
        k!("received"),
        k!("channel"),
        k!("phone"),
        k!("name"),
        k!("location"),
        k!("jurisdiction"),
        k!("narrative"),
        k!("category"),
        k!("agency"),
        k!("priority"),
        k!("status"),
        k!("outcome"),
        k!("operator"),
    ]
    .iter()
    .map(|key| lang.tr(*key).to_owned())
    .collect();
    let rows = incidents
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                time(Some(i.received_at)),
                name(lang, Some(i.channel)),
                i.caller.phone.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                i.caller.name.clone().unwrap_or_default(),
                i.location.text.clone(),
                i.location.jurisdiction.clone().unwrap_or_default(),
                i.narrative.clone(),
                name(lang, i.effective_category()),
                name(lang, i.agency),
                name(lang, Some(i.effective_priority())),
                name(lang, Some(i.status)),
                outcome(lang, i),
                i.handled_by
                    .as_ref()
                    .or(i.holder.as_ref())
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    Table { header, rows }
}

/// The table as CSV bytes, with the byte-order mark.
pub fn csv_bytes(table: &Table) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(BOM.to_vec());
    // Writing to a Vec cannot fail.
    w.write_record(&table.header).ok();
    for r in &table.rows {
        w.write_record(r).ok();
    }
    w.into_inner().unwrap_or_default()
}

/// Reads a file written by [`csv_bytes`] back (tests, and checking an export).
pub fn parse_csv(bytes: &[u8]) -> Result<Table, ExportError> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header = r.headers()?.iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|rec| rec.map(|r| r.iter().map(str::to_owned).collect()))
        .collect::<Result<_, _>>()?;
    Ok(Table { header, rows })
}

/// The dossier as CSV: every call, then the totals after a blank line.
pub fn dossier_csv(lang: Lang, d: &Dossier) -> Vec<u8> {
    let mut t = dossier_table(lang, d);
    let width = t.header.len();
    let line = |cells: &[String]| {
        let mut v = cells.to_vec();
        v.resize(width, String::new());
        v
    };
    t.rows.push(line(&[]));
    for (k, v) in dossier_totals(lang, d) {
        t.rows.push(line(&[k, v]));
    }
    csv_bytes(&t)
}

/// The dossier's calls, each narrative followed by the lines added to it
/// later, in order ("+ 10:32 张三：…").
fn dossier_table(lang: Lang, d: &Dossier) -> Table {
    const NARRATIVE: usize = 7;
    let mut t = incidents_table(lang, &d.incidents);
    for (row, inc) in t.rows.iter_mut().zip(&d.incidents) {
        for s in d.supplements.iter().filter(|s| s.incident_id == inc.id) {
            let who = match s.from_incident {
                Some(from) => format!("#{from} {}", lang.tr(k!("merged_caller"))),
                None => s.author.name.clone(),
            };
            row[NARRATIVE].push_str(&format!("\n+ {} {who}：{}", time(Some(s.at)), s.text));
        }
    }
    t
}

fn dossier_totals(lang: Lang, d: &Dossier) -> Vec<(String, String)> {
    let mut out = vec![
        (lang.tr(k!("phone")).to_owned(), d.phone.to_string()),
        (lang.tr(k!("total_calls")).to_owned(), d.total_calls.to_string()),
        (lang.tr(k!("invalid_share")).to_owned(), d.invalid_calls.to_string()),
        (lang.tr(k!("wasted")).to_owned(), d.wasted_dispatches.to_string()),
        (lang.tr(k!("generated")).to_owned(), time(Some(d.generated_at))),
    ];
    for f in &d.flags {
        out.push((
            format!("{} ({})", lang.tr(k!("flags")), name(lang, Some(f.flag))),
            format!("{} · {} · {}", f.note, f.created_by.name, time(Some(f.created_at))),
        ));
    }
    out
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A self-contained document to print or hand over: totals, flags and every call.
pub fn dossier_html(lang: Lang, d: &Dossier) -> String {
    let title = format!("{} {}", lang.tr(k!("dossier_title")), d.phone);
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"");
    h.push_str(if lang == Lang::Zh { "zh-CN" } else { "en" });
    h.push_str("\"><head><meta charset=\"utf-8\"><title>");
    h.push_str(&escape(&title));
    h.push_str(
        "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}\
         th,td{border:1px solid #888;padding:4px 6px;text-align:left;vertical-align:top;font-size:10pt;white-space:pre-wrap}\
         th{background:#eee}dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}\
         @media print{body{margin:0}}</style></head><body>\n<h1>",
    );
    h.push_str(&escape(&title));
    h.push_str("</h1>\n<dl>\n");
    for (k, v) in dossier_totals(lang, d) {
        h.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", escape(&k), escape(&v)));
    }
    h.push_str("</dl>\n<table>\n<thead><tr>");
    let t = dossier_table(lang, d);
    for c in &t.header {
        h.push_str(&format!("<th>{}</th>", escape(c)));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        h.push_str("<tr>");
        for c in r {
            h.push_str(&format!("<td>{}</td>", escape(c)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n</body></html>\n");
    h
}

/// Where exports go: a save dialog for people, a fixed folder for tests.
#[derive(Debug, Clone)]
pub enum SaveTarget {
    /// Ask with a save dialog; where none could be shown, save into
    /// `fallback` and say so.
    Dialog { fallback: PathBuf },
    /// This desktop cannot show a dialog (no portal, no zenity): straight
    /// into `fallback`, and say so.
    NoDialog { fallback: PathBuf },
    /// Always here, without asking (tests; a kiosk set-up).
    Dir(PathBuf),
}

/// Where a file went.
#[derive(Debug, Clone, PartialEq)]
pub enum Picked {
    /// Where the operator chose.
    Chosen(PathBuf),
    /// No dialog could be shown: the documents (or data) folder.
    Fallback(PathBuf),
    Cancelled,
}

/// A dialog that answers faster than a person can cancel one was never shown.
const NO_DIALOG_WITHIN: std::time::Duration = std::time::Duration::from_millis(400);

impl SaveTarget {
    /// A dialog where this desktop can show one: on Linux rfd needs the
    /// desktop portal (over the session bus) or zenity; without either it
    /// returns at once as if cancelled, and the export would vanish.
    pub fn detect() -> SaveTarget {
        let fallback = fallback_dir();
        let possible = !cfg!(target_os = "linux")
            || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty())
            || std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("zenity").is_file()));
        if possible {
            SaveTarget::Dialog { fallback }
        } else {
            SaveTarget::NoDialog { fallback }
        }
    }

    /// Asks where to save `file_name`. The dialog is async (xdg portal), so
    /// the UI keeps running meanwhile.
    pub async fn pick(&self, file_name: &str, extension: &str) -> Picked {
        match self {
            SaveTarget::Dir(dir) => Picked::Chosen(dir.join(file_name)),
            SaveTarget::NoDialog { fallback } => Picked::Fallback(fallback.join(file_name)),
            SaveTarget::Dialog { fallback } => {
                let asked = std::time::Instant::now();
                let chosen = rfd::AsyncFileDialog::new()
                    .set_file_name(file_name)
                    .add_filter(extension.to_uppercase(), &[extension])
                    .save_file()
                    .await;
                match chosen {
                    Some(h) => Picked::Chosen(h.path().to_path_buf()),
                    None if asked.elapsed() < NO_DIALOG_WITHIN => Picked::Fallback(fallback.join(file_name)),
                    None => Picked::Cancelled,
                }
            }
        }
    }
}

/// The documents folder, else the console's data folder: where an export
/// goes when no dialog can ask.
pub fn fallback_dir() -> PathBuf {
    let dir = directories::UserDirs::new()
        .and_then(|u| u.document_dir().map(Path::to_path_buf))
        .or_else(|| super::data_dir().map(|d| d.join("exports")))
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir).ok();
    dir
}

pub async fn write(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    tokio::fs::write(path, bytes)
        .await
        .map_err(|source| ExportError::Write {
            path: path.display().to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_awkward_text() {
        let t = Table {
            header: vec!["编号".into(), "内容".into()],
            rows: vec![
                vec!["1".into(), "他说\"快来\"，然后\n挂了".into()],
                vec!["2".into(), "'; DROP TABLE incidents; --".into()],
            ],
        };
        let bytes = csv_bytes(&t);
        assert!(bytes.starts_with(BOM));
        assert_eq!(parse_csv(&bytes).unwrap(), t);
    }

    #[test]
    fn html_escapes_caller_text() {
        assert_eq!(
            escape("<script>alert('x')</script> & \""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;"
        );
    }
}
