//! The console for call takers and shift leads: a native egui/eframe desktop app.
//!
//! Owns: drawing, keyboard shortcuts, the operator's preferences and the
//! outbox of calls not yet acknowledged. Must not touch: SQL of the service,
//! HTTP beyond [`crate::client`], or blocking I/O on the UI thread — panels
//! emit [`command::Command`]s that [`backend::Backend`] runs on tokio, and
//! answers come back as [`command::Msg`]s that wake the UI.

pub mod alert;
pub mod app;
pub mod backend;
pub mod command;
pub mod desk;
pub mod export;
pub mod i18n;
pub mod inbox;
pub mod lead;
pub mod map;
pub mod state;
pub mod widgets;

use crate::k;
use std::path::PathBuf;

use egui::RichText;

pub use app::ConsoleApp;
pub use backend::Outbox;

/// The bundled Simplified Chinese font (GB2312 subset of Noto Sans CJK SC, OFL).
pub const CJK_FONT: &[u8] = include_bytes!("../../assets/fonts/JiejingSansSC-GB2312.otf");

/// Adds the Chinese font after egui's own fonts, so Latin text keeps egui's
/// look and any glyph the subset lacks still falls back to the system.
pub fn install_fonts(ctx: &egui::Context) {
    use egui::epaint::text::{FontInsert, FontPriority, InsertFontFamily};
    ctx.add_font(FontInsert::new(
        "jiejing-sans-sc",
        egui::FontData::from_static(CJK_FONT),
        vec![
            InsertFontFamily {
                family: egui::FontFamily::Proportional,
                priority: FontPriority::Lowest,
            },
            InsertFontFamily {
                family: egui::FontFamily::Monospace,
                priority: FontPriority::Lowest,
            },
        ],
    ));
}

/// Where the console keeps its outbox and the demo its database.
pub fn data_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("cn", "jiejing", "jiejing")?;
    let dir = dirs.data_dir().to_path_buf();
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

type SignedIn = (crate::client::ApiClient, crate::model::User, Outbox);

/// Why signing in did not work, worded when shown (the language can change).
#[derive(Debug)]
enum SignInError {
    Service(crate::client::ClientError),
    Outbox(String),
}

/// What the window shows: the sign-in screen until a session exists, then
/// the console.
pub struct Launcher {
    rt: tokio::runtime::Handle,
    server: String,
    name: String,
    password: String,
    error: Option<SignInError>,
    /// Shown after a sign-out.
    farewell: bool,
    pending: Option<std::sync::mpsc::Receiver<Result<SignedIn, SignInError>>>,
    console: Option<Box<ConsoleApp>>,
    prefs: state::Prefs,
    outbox: PathBuf,
}

impl Launcher {
    pub fn new(rt: tokio::runtime::Handle, server: String, outbox: PathBuf, prefs: state::Prefs) -> Self {
        // The console triages locally as the operator types; its models are
        // trained while the operator signs in, not on the first keystroke.
        crate::triage::warm_up();
        Launcher {
            rt,
            server,
            name: String::new(),
            password: String::new(),
            error: None,
            farewell: false,
            pending: None,
            console: None,
            prefs,
            outbox,
        }
    }

    fn sign_in_ui(&mut self, ui: &mut egui::Ui) {
        let lang = self.prefs.lang;
        if let Some(rx) = &self.pending
            && let Ok(result) = rx.try_recv()
        {
            self.pending = None;
            match result {
                Ok((client, me, outbox)) => {
                    self.farewell = false;
                    let app = ConsoleApp::new(ui.ctx(), self.rt.clone(), client, me, outbox, false, self.prefs.clone());
                    self.console = Some(Box::new(app));
                    return;
                }
                Err(e) => self.error = Some(e),
            }
        }
        egui::CentralPanel::default_margins().show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading(lang.tr(k!("app_title")));
                if ui.button(lang.tr(k!("language"))).clicked() {
                    self.prefs.lang = lang.toggled();
                }
            });
            ui.label(&self.server);
            if self.farewell {
                ui.label(RichText::new(lang.tr(k!("signed_out"))).color(widgets::GREEN));
            }
            let l = ui.label(lang.tr(k!("user")));
            ui.text_edit_singleline(&mut self.name).labelled_by(l.id);
            let l = ui.label(lang.tr(k!("password")));
            ui.add(egui::TextEdit::singleline(&mut self.password).password(true))
                .labelled_by(l.id);
            let go = ui.button(lang.tr(k!("sign_in"))).clicked() || ui.input(|i| i.key_pressed(egui::Key::Enter));
            if go && self.pending.is_none() {
                let (tx, rx) = std::sync::mpsc::channel();
                let (server, name, password, ctx) = (
                    self.server.clone(),
                    self.name.clone(),
                    self.password.clone(),
                    ui.ctx().clone(),
                );
                let outbox_path = self.outbox.clone();
                self.rt.spawn(async move {
                    let mut client = crate::client::ApiClient::new(&server);
                    let r = async {
                        let session = client.login(&name, &password).await.map_err(SignInError::Service)?;
                        // Opened here, not on the UI thread: it is disk I/O.
                        let outbox = Outbox::open(&outbox_path)
                            .await
                            .map_err(|e| SignInError::Outbox(e.to_string()))?;
                        Ok((client, session.user, outbox))
                    }
                    .await;
                    tx.send(r).ok();
                    ctx.request_repaint();
                });
                self.pending = Some(rx);
            }
            if let Some(e) = &self.error {
                let text = match e {
                    SignInError::Service(e) => i18n::client_error(lang, e),
                    SignInError::Outbox(e) => format!("{}: {e}", lang.tr(k!("disk_failed"))),
                };
                ui.colored_label(egui::Color32::RED, text);
                // A new centre's first question: where do accounts come from.
                if matches!(e, SignInError::Service(c) if c.status() == Some(401)) {
                    ui.label(RichText::new(lang.tr(k!("first_start"))).weak());
                }
            }
        });
    }
}

impl Launcher {
    /// One frame: the sign-in screen, or the console once signed in.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        match &mut self.console {
            Some(app) if app.state.signed_out => {
                // The console keeps the language the operator last chose.
                self.prefs = app.state.prefs.clone();
                self.console = None;
                self.password.clear();
                self.farewell = true;
                self.error = None;
                ui.ctx().request_repaint();
            }
            Some(app) => app.frame(ui),
            None => self.sign_in_ui(ui),
        }
    }
}

impl eframe::App for Launcher {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if let Some(app) = &mut self.console {
            eframe::App::save(app.as_mut(), storage);
        }
    }
}

/// Window options shared by the demo and a real console.
pub fn native_options(title: &str) -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size([1400.0, 860.0]),
        ..Default::default()
    }
}
