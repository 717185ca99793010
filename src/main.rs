//! The `jiejing` command: thin glue from flags and environment to the library.

use std::io::{BufRead as _, IsTerminal as _};
use std::net::SocketAddr;

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
}

#[derive(Subcommand)]
enum Command {
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
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
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

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Repeat password: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve {
            db,
            listen,
            referral_accept_minutes,
        }) => {
            let db = match db {
                Some(db) => db,
                None => default_db_url()?,
            };
            let mut config = server::Config::new(db);
            config.admin_password = std::env::var("JIEJING_ADMIN_PASSWORD").ok();
            config.policy.referral_accept_secs = referral_accept_minutes * 60;
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
        Some(Command::User {
            command: UserCommand::Add { db, name, role, agency },
        }) => {
            let db = match db {
                Some(db) => db,
                None => default_db_url()?,
            };
            auth::check_new_account(&name, role, agency).map_err(|e| anyhow::anyhow!(e.message))?;
            let password = read_password()?;
            auth::check_new_password(&password).map_err(|e| anyhow::anyhow!(e.message))?;
            let store = store::open(&db, store::Policy::default())
                .await
                .context("cannot open the database")?;
            let hash = auth::hash_password(&password, auth::HashCost::default())?;
            let user = store.create_user(None, &name, role, agency, &hash, Utc::now()).await?;
            eprintln!("created {} ({}) with id {}", user.name, user.role, user.id);
        }
        None => {
            use clap::CommandFactory as _;
            Cli::command().print_help()?;
        }
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
