//! The `jiejing` command: thin glue from flags and environment to the library.

use std::io::{BufRead as _, IsTerminal as _};
use std::net::SocketAddr;

mod demo;

use anyhow::{Context as _, bail};
use chrono::Utc;
use clap::{Parser, Subcommand};
use jiejing::model::{Agency, Role};
use jiejing::server::{self, auth};
use jiejing::store::{self, Store as _};

#[derive(Parser)]
#[command(
    name = "jiejing",
    version,
    about = "接警 — 110 operator console and incident service"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Demo only (no subcommand): sign in as the demo shift lead.
    #[arg(long)]
    lead: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Open the console on a running service (sign-in screen).
    Console {
        /// The service's root URL.
        #[arg(long, env = "JIEJING_SERVER", default_value = "http://127.0.0.1:8110")]
        server: String,
    },
    /// Run the incident service.
    Serve {
        /// Database URL: sqlite://PATH or postgres://… (default: a SQLite file in the user's data directory).
        #[arg(long, env = "JIEJING_DB")]
        db: Option<String>,
        /// Address to listen on.
        #[arg(long, env = "JIEJING_LISTEN", default_value = "127.0.0.1:8110")]
        listen: SocketAddr,
        /// Minutes an agency has to accept a referral before it is overdue.
        #[arg(long, env = "JIEJING_REFERRAL_ACCEPT_MINUTES", default_value_t = 30)]
        referral_accept_minutes: i64,
        /// Hours an agency has, once it accepted a referral, to give its first feedback.
        #[arg(long, env = "JIEJING_REFERRAL_FEEDBACK_HOURS", default_value_t = 24)]
        referral_feedback_hours: i64,
        /// Working days an agency has, once it accepted a referral, to close it.
        #[arg(long, env = "JIEJING_REFERRAL_CLOSE_WORKING_DAYS", default_value_t = 5)]
        referral_close_working_days: u32,
        /// The centre's own limits in seconds for statistics and call-quality review, e.g. "ack=20,out=600"
        /// (answer 15, dispatch 60, ack 30, out 300, feedback 1800, p1_dispatch 60, callback 600 unless given).
        #[arg(long, env = "JIEJING_THRESHOLDS", default_value = "", value_parser = jiejing::model::stats::Thresholds::with_overrides)]
        thresholds: jiejing::model::stats::Thresholds,
        /// Share (0 to 1) of P3 and P4 calls dealt with that get a follow-up (回访); P1 and P2 always do.
        #[arg(long, env = "JIEJING_FOLLOWUP_SHARE", default_value_t = 0.1, value_parser = share)]
        followup_share: f64,
        /// Working days to put right what a dissatisfied caller complained of.
        #[arg(long, env = "JIEJING_RECTIFY_WORKING_DAYS", default_value_t = 5)]
        rectify_working_days: u32,
        /// A triage rule file to use instead of the built-in one (reload with POST /api/v1/triage/reload).
        #[arg(long, env = "JIEJING_TRIAGE_RULES")]
        triage_rules: Option<std::path::PathBuf>,
        /// Retrain triage at start from the shipped corpus plus the labels this centre's operators confirmed in the last year.
        #[arg(long, env = "JIEJING_TRIAGE_LEARN")]
        triage_learn: bool,
        /// This centre's agency identifier in incidents exchanged with other systems (NENA EIDO):
        /// a domain the centre owns, e.g. 110.jl.gov.cn.
        #[arg(long, env = "JIEJING_CENTRE_ID", default_value = "110.jiejing.local")]
        centre_id: String,
    },
    /// Triage JSON Lines from stdin (one `{"id","channel","text"}` per line) to stdout,
    /// or score a labelled file with --eval.
    Triage {
        #[command(subcommand)]
        action: Option<TriageAction>,
        /// A rule file to use instead of the built-in one.
        #[arg(long)]
        rules: Option<std::path::PathBuf>,
        /// Score a labelled JSON Lines file (the format of dev.jsonl) and print the figures.
        #[arg(long)]
        eval: Option<std::path::PathBuf>,
        /// With --eval: also cross-validate the learned model in K folds
        /// (1: train without the whole file, to score a corpus batch).
        #[arg(long, value_name = "K")]
        folds: Option<usize>,
        /// With --eval: list the rows the engine got wrong.
        #[arg(long)]
        misses: bool,
    },
    /// Play the four channels' gateways against a running service; or, with
    /// --backfill, fill an empty database with made-up history for measuring.
    Simulate {
        /// The service's root URL.
        #[arg(long, default_value = "http://127.0.0.1:8110")]
        server: String,
        /// Instead of posting calls live, write this many calls of made-up
        /// history straight into the empty database --db (bulk, not over HTTP).
        #[arg(long, requires = "db")]
        backfill: Option<usize>,
        /// The days the backfilled calls span, ending now.
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3660))]
        days: u32,
        /// The database to backfill (sqlite://PATH or postgres://…).
        #[arg(long, env = "JIEJING_DB")]
        db: Option<String>,
        /// Calls per minute (random arrivals around this rate).
        #[arg(long, default_value_t = 6.0)]
        rate: f64,
        /// Stop after this many calls.
        #[arg(long)]
        count: Option<usize>,
        /// A `gateway` account; its password is read from JIEJING_SIM_PASSWORD or standard input.
        #[arg(long, default_value = "gateway")]
        name: String,
        #[arg(long, default_value_t = 110)]
        seed: u64,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Move the finished calls received before a date (China time), with
    /// their referrals, follow-ups and every audit event about them, out of
    /// the hot tables into tables named archive_YYYYMMDD_* in the same
    /// database. Nothing is deleted that was not copied first, in one
    /// transaction.
    Archive {
        #[arg(long, env = "JIEJING_DB")]
        db: String,
        /// The cutoff date, e.g. 2026-01-01: calls received before its
        /// midnight in China time go.
        #[arg(long)]
        before: chrono::NaiveDate,
    },
}

#[derive(Subcommand)]
enum TriageAction {
    /// Write the labels operators confirmed as JSON Lines (text, channel, the
    /// operator's category, agency and priority, and what triage suggested).
    Export {
        #[arg(long, env = "JIEJING_DB")]
        db: Option<String>,
        /// Only calls received on or after this date (YYYY-MM-DD, China time).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from standard input (or asked for), never from the command line.
    Add {
        #[arg(long, env = "JIEJING_DB")]
        db: Option<String>,
        #[arg(long)]
        name: String,
        /// call_taker, shift_lead, admin, gateway or agency.
        #[arg(long)]
        role: Role,
        /// For agency accounts: the agency code (e.g. 120, utilities).
        #[arg(long)]
        agency: Option<Agency>,
    },
}

fn default_db_url() -> anyhow::Result<String> {
    let dirs = directories::ProjectDirs::from("cn", "jiejing", "jiejing")
        .context("cannot find a data directory for this user; pass --db")?;
    let dir = dirs.data_dir();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(format!("sqlite://{}", dir.join("jiejing.db").display()))
}

/// Reads a password from the terminal (asking twice for a new one) or from
/// the first line of standard input.
fn read_password(new: bool) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        if new && first != rpassword::prompt_password("Repeat password: ")? {
            bail!("the two passwords differ");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,wgpu=warn,naga=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    match cli.command {
        // The window must own the main thread; async work runs on `rt`.
        None => demo::run(&rt, cli.lead),
        Some(Command::Console { server }) => {
            let dir = jiejing::console::data_dir().context("cannot find a data directory for the outbox")?;
            let options = jiejing::console::native_options("接警 jiejing");
            let handle = rt.handle().clone();
            eframe::run_native(
                "jiejing",
                options,
                Box::new(move |cc| {
                    jiejing::console::install_fonts(&cc.egui_ctx);
                    let prefs = jiejing::console::ConsoleApp::load_prefs(cc.storage);
                    Ok(Box::new(jiejing::console::Launcher::new(
                        handle,
                        server,
                        dir.join("outbox.db"),
                        prefs,
                    )))
                }),
            )
            .map_err(|e| anyhow::anyhow!("the console window failed: {e}"))
        }
        Some(command) => rt.block_on(run(command)),
    }
}

/// A share between 0 and 1, for clap.
fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a share between 0 and 1 (e.g. 0.1)")),
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve {
            db,
            listen,
            referral_accept_minutes,
            referral_feedback_hours,
            referral_close_working_days,
            thresholds,
            followup_share,
            rectify_working_days,
            triage_rules,
            triage_learn,
            centre_id,
        } => {
            let db = match db {
                Some(db) => db,
                None => default_db_url()?,
            };
            let mut config = server::Config::new(db);
            config.admin_password = std::env::var("JIEJING_ADMIN_PASSWORD").ok();
            config.policy.referral_accept_secs = referral_accept_minutes * 60;
            config.policy.referral_feedback_secs = referral_feedback_hours * 3600;
            config.policy.referral_close_working_days = referral_close_working_days;
            config.policy.thresholds = thresholds;
            config.policy.followup_share = followup_share;
            config.policy.rectify_working_days = rectify_working_days;
            config.triage_rules = triage_rules;
            config.triage_learn = triage_learn;
            config.centre_id = centre_id;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let server = server::Server::start(config, listener)
                .await
                .context("cannot start the service")?;
            let token = server.state.shutdown.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutting down");
                token.cancel();
            });
            server.wait().await.context("service failed")?;
        }
        Command::User {
            command: UserCommand::Add { db, name, role, agency },
        } => {
            let db = match db {
                Some(db) => db,
                None => default_db_url()?,
            };
            auth::check_new_account(&name, role, agency).map_err(|e| anyhow::anyhow!(e.message))?;
            let password = read_password(true)?;
            auth::check_new_password(&password).map_err(|e| anyhow::anyhow!(e.message))?;
            let store = store::open(&db, store::Policy::default())
                .await
                .context("cannot open the database")?;
            let hash = auth::hash_password(&password, auth::HashCost::default())?;
            let user = store.create_user(None, &name, role, agency, &hash, Utc::now()).await?;
            eprintln!("created {} ({}) with id {}", user.name, user.role, user.id);
        }
        Command::Triage {
            action: Some(TriageAction::Export { db, since }),
            ..
        } => {
            let db = match db {
                Some(db) => db,
                None => default_db_url()?,
            };
            triage_export(&db, since).await?;
        }
        Command::Triage {
            action: None,
            rules,
            eval,
            folds,
            misses,
        } => {
            let started = std::time::Instant::now();
            let engine = match &rules {
                Some(path) => jiejing::triage::Engine::with_rules_file(path)?,
                None => jiejing::triage::Engine::builtin(),
            };
            tracing::debug!(ms = started.elapsed().as_millis(), "triage engine loaded");
            match eval {
                Some(path) => triage_eval(&engine, &path, rules.as_deref(), folds, misses)?,
                None => triage_stream(&engine)?,
            }
        }
        Command::Simulate {
            backfill: Some(calls),
            days,
            db: Some(db),
            seed,
            ..
        } => {
            let store = open_db(&db).await?;
            let plan = jiejing::sim::history::HistoryPlan {
                calls,
                days,
                end: Utc::now(),
                seed,
            };
            let mut shown = 0;
            let loaded = jiejing::sim::history::backfill(&store, plan, |l| {
                if l.incidents >= shown + 100_000 {
                    shown = l.incidents;
                    eprintln!("{} calls, {} rows, {:.0} s", l.incidents, l.rows(), l.secs);
                }
            })
            .await?;
            eprintln!(
                "backfilled {} calls over {days} days ({} referrals, {} follow-ups, {} supplements, {} events): \
                 {} rows in {:.1} s, {:.0} rows/s",
                loaded.incidents,
                loaded.referrals,
                loaded.followups,
                loaded.supplements,
                loaded.events,
                loaded.rows(),
                loaded.secs,
                loaded.rows() as f64 / loaded.secs.max(1e-9)
            );
        }
        Command::Simulate {
            server,
            rate,
            count,
            name,
            seed,
            ..
        } => {
            let password = match std::env::var("JIEJING_SIM_PASSWORD") {
                Ok(p) => p,
                Err(_) => read_password(false)?,
            };
            let mut client = jiejing::client::ApiClient::new(&server);
            client
                .login(&name, &password)
                .await
                .with_context(|| format!("cannot sign in to {server} as {name}"))?;
            let cancel = tokio_util::sync::CancellationToken::new();
            let stop = cancel.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                stop.cancel();
            });
            let sent = jiejing::sim::run(&client, rate, count, seed, cancel).await?;
            eprintln!("simulated {sent} calls");
        }
        Command::Archive { db, before } => {
            let store = open_db(&db).await?;
            let cutoff = jiejing::model::stats::centre_midnight(before).context("--before is not a valid day")?;
            let done = store.archive_before(cutoff).await?;
            for (table, n) in &done.moved {
                eprintln!("{table}: {n} rows moved to {}{table}", done.prefix);
            }
        }
        Command::Console { .. } => bail!("the console runs on the main thread, not here"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                ctrl_c.await.ok();
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.ok();
}

fn triage_stream(engine: &jiejing::triage::Engine) -> anyhow::Result<()> {
    use jiejing::triage::{HistoryStats, TriageInput};
    use std::io::Write as _;

    #[derive(serde::Deserialize)]
    struct In {
        id: serde_json::Value,
        channel: jiejing::model::Channel,
        text: String,
        #[serde(default)]
        invalid_calls_30d: Option<i64>,
        #[serde(default)]
        flagged: Option<bool>,
    }
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (n, line) in stdin.split(b'\n').enumerate() {
        let line = line.context("cannot read standard input")?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // Each input line gets exactly one output line, in order: an error
        // line when it cannot be read, so the caller can match them up.
        let value = match std::str::from_utf8(line) {
            Err(e) => serde_json::json!({ "id": null, "line": n + 1, "error": format!("line is not UTF-8: {e}") }),
            Ok(text) => match serde_json::from_str::<In>(text) {
                Err(e) => {
                    let id = serde_json::from_str::<serde_json::Value>(text)
                        .ok()
                        .and_then(|v| v.get("id").cloned());
                    serde_json::json!({ "id": id, "line": n + 1, "error": e.to_string() })
                }
                Ok(input) => {
                    let history =
                        (input.invalid_calls_30d.is_some() || input.flagged.is_some()).then(|| HistoryStats {
                            total_calls: 0,
                            invalid_last_30d: input.invalid_calls_30d.unwrap_or(0),
                            flagged: input.flagged.unwrap_or(false),
                        });
                    let s = engine.triage(&TriageInput {
                        channel: input.channel,
                        text: &input.text,
                        history,
                    });
                    let mut v = serde_json::to_value(&s)?;
                    if let Some(obj) = v.as_object_mut() {
                        obj.insert("id".to_owned(), input.id);
                    }
                    v
                }
            },
        };
        serde_json::to_writer(&mut out, &value)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// The store at `db`, its migrations run; an error names the database
/// (its password hidden).
async fn open_db(db: &str) -> anyhow::Result<store::SqlStore> {
    store::open(db, store::Policy::default())
        .await
        .with_context(|| format!("cannot open the database {}", store::redact_url(db)))
}

async fn triage_export(db: &str, since: Option<chrono::NaiveDate>) -> anyhow::Result<()> {
    use jiejing::triage::learn::ConfirmedLabel;
    use std::io::Write as _;

    let store = open_db(db).await?;
    let since = match since {
        Some(day) => Some(jiejing::model::stats::centre_midnight(day).context("--since is not a valid day")?),
        None => None,
    };
    let mut incidents = store
        .incidents(&store::IncidentFilter {
            since,
            limit: i64::MAX,
            ..Default::default()
        })
        .await
        .context("cannot read the incidents")?;
    // Oldest first, so a later export appends to an earlier one in order.
    incidents.sort_by_key(|i| (i.received_at, i.id));
    let labels: Vec<ConfirmedLabel> = incidents.iter().filter_map(ConfirmedLabel::from_incident).collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let n = labels.len();
    for label in &labels {
        serde_json::to_writer(&mut out, label)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!("{n} confirmed labels of {} calls", incidents.len());
    Ok(())
}

fn triage_eval(
    engine: &jiejing::triage::Engine,
    path: &std::path::Path,
    rules: Option<&std::path::Path>,
    folds: Option<usize>,
    misses: bool,
) -> anyhow::Result<()> {
    use jiejing::triage::eval;
    use std::io::Write as _;

    let source = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let rows = eval::parse_labelled(&source).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let report = eval::evaluate(engine, &rows);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}: as shipped", path.display())?;
    writeln!(out, "{report}")?;
    if misses {
        for m in &report.misses {
            writeln!(out, "{}\texpected {:?}\tgot {:?}\t{}", m.id, m.expected, m.got, m.text)?;
        }
    }
    if let Some(k) = folds {
        let rules_source = match rules {
            Some(p) => std::fs::read_to_string(p)?,
            None => jiejing::triage::rules::BUILTIN_RULES.to_owned(),
        };
        let corpus = jiejing::triage::learn::builtin_rows().map_err(|e| anyhow::anyhow!(e))?;
        let cv = eval::cross_validate(&rules_source, &corpus, &rows, k).map_err(|e| anyhow::anyhow!(e))?;
        writeln!(
            out,
            "\n{k}-fold cross-validation (model never scores a row it was trained on)"
        )?;
        writeln!(out, "{cv}")?;
        if misses {
            for m in &cv.misses {
                writeln!(out, "{}\texpected {:?}\tgot {:?}\t{}", m.id, m.expected, m.got, m.text)?;
            }
        }
    }
    Ok(())
}
