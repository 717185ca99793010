//! `jiejing` with no subcommand: the whole centre on one machine for a demo —
//! the incident service on a local SQLite file, demo accounts, the simulated
//! channel gateways, two simulated colleagues working the queue, simulated
//! linked agencies working (and sometimes returning) their referrals,
//! callers answering follow-ups, the units' terminals signing for their
//! orders, and the console signed in as a call taker (or, with `--lead`, as the shift lead).

use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use jiejing::client::ApiClient;
use jiejing::model::{Agency, Role};
use jiejing::server::{Config, Server, auth};
use tokio_util::sync::CancellationToken;

/// Demo accounts exist only in the demo database, on 127.0.0.1.
const DEMO_PASSWORD: &str = "demo-password";
const CALL_TAKER: &str = "演示接警员";
const LEAD: &str = "演示值班长";
const COLLEAGUES: [&str; 2] = ["演示同事甲", "演示同事乙"];
const GATEWAY: &str = "demo-gateway";
/// Calls posted at start so the queue is not empty, then the steady rate.
const BACKFILL: usize = 24;
const CALLS_PER_MINUTE: f64 = 12.0;

async fn signed_in(url: &str, name: &str) -> anyhow::Result<ApiClient> {
    let mut c = ApiClient::new(url);
    c.login(name, DEMO_PASSWORD).await?;
    Ok(c)
}

struct Demo {
    server: Server,
    operator: ApiClient,
    gateway: ApiClient,
    /// The same gateway account, relaying callers' answers to follow-up SMS.
    sms_gateway: ApiClient,
    colleagues: Vec<ApiClient>,
    agencies: Vec<ApiClient>,
}

/// The demo account of a linked agency.
fn agency_account(a: Agency) -> String {
    format!("demo-{}", a.as_str())
}

async fn start(lead: bool) -> anyhow::Result<Demo> {
    let dir = jiejing::console::data_dir().context("cannot find a data directory")?;
    let mut config = Config::new(format!("sqlite://{}", dir.join("jiejing-demo.db").display()));
    config.hash_cost = auth::HashCost::CHEAP;
    config.creates_own_accounts = true;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = Server::start(config, listener)
        .await
        .context("cannot start the demo service")?;
    let store = server.state.store.clone();
    let accounts = [
        (CALL_TAKER, Role::CallTaker),
        (LEAD, Role::ShiftLead),
        (GATEWAY, Role::Gateway),
    ]
    .into_iter()
    .chain(COLLEAGUES.map(|c| (c, Role::CallTaker)));
    let linked = Agency::ALL.iter().copied().filter(|a| *a != Agency::None);
    let accounts = accounts
        .map(|(name, role)| (name.to_owned(), role, None))
        .chain(linked.clone().map(|a| (agency_account(a), Role::Agency, Some(a))));
    for (name, role, agency) in accounts {
        if store.credentials(&name).await?.is_none() {
            let hash = auth::hash_password(DEMO_PASSWORD, auth::HashCost::CHEAP)?;
            store.create_user(None, &name, role, agency, &hash, Utc::now()).await?;
        }
    }
    let url = format!("http://{}", server.addr);
    let operator = signed_in(&url, if lead { LEAD } else { CALL_TAKER }).await?;
    let gateway = signed_in(&url, GATEWAY).await?;
    let sms_gateway = signed_in(&url, GATEWAY).await?;
    let mut colleagues = Vec::new();
    for name in COLLEAGUES {
        colleagues.push(signed_in(&url, name).await?);
    }
    let mut agencies = Vec::new();
    for a in linked {
        agencies.push(signed_in(&url, &agency_account(a)).await?);
    }
    Ok(Demo {
        server,
        operator,
        gateway,
        sms_gateway,
        colleagues,
        agencies,
    })
}

/// The console, reporting once how long it took to show a filled queue.
struct DemoApp {
    inner: jiejing::console::ConsoleApp,
    started: Instant,
    reported: bool,
}

impl eframe::App for DemoApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.inner.frame(ui);
        if !self.reported && !self.inner.state.queue.calls.is_empty() {
            self.reported = true;
            tracing::info!(
                calls = self.inner.state.queue.calls.len(),
                ms = self.started.elapsed().as_millis() as u64,
                "demo console showing the queue"
            );
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::App::save(&mut self.inner, storage);
    }
}

pub fn run(rt: &tokio::runtime::Runtime, lead: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let Demo {
        server,
        operator,
        gateway,
        sms_gateway,
        colleagues,
        agencies,
    } = rt.block_on(start(lead))?;
    let me = rt.block_on(async { operator.login_info().await })?;
    let cancel = CancellationToken::new();
    let sim_cancel = cancel.clone();
    let queued = rt.block_on(operator.queue()).map(|q| q.len()).unwrap_or(0);
    rt.spawn(async move {
        let seed = rand::random();
        if queued < BACKFILL {
            jiejing::sim::run(&gateway, 60_000.0, Some(BACKFILL - queued), seed, sim_cancel.clone())
                .await
                .ok();
        }
        if let Err(e) = jiejing::sim::run(&gateway, CALLS_PER_MINUTE, None, seed ^ 1, sim_cancel).await {
            tracing::warn!("demo simulator stopped: {e}");
        }
    });
    // Callers answer follow-ups: SMS replies through the gateway, and a
    // colleague's calls back between calls.
    for (client, channel) in [
        (sms_gateway, jiejing::model::FollowupChannel::Sms),
        (colleagues[0].clone(), jiejing::model::FollowupChannel::Phone),
    ] {
        rt.spawn(jiejing::sim::followup_replies(
            client,
            channel,
            (30.0, 180.0),
            rand::random(),
            cancel.clone(),
        ));
    }
    rt.spawn(jiejing::sim::terminals(
        colleagues[1].clone(),
        (4.0, 25.0),
        0.06,
        rand::random(),
        cancel.clone(),
    ));
    for (i, c) in colleagues.into_iter().enumerate() {
        rt.spawn(jiejing::sim::colleague(
            c,
            jiejing::sim::Pace::default(),
            rand::random::<u64>() ^ i as u64,
            cancel.clone(),
        ));
    }
    rt.spawn(jiejing::sim::agencies(
        agencies,
        jiejing::sim::AgencyPace::default(),
        rand::random(),
        cancel.clone(),
    ));
    let dir = jiejing::console::data_dir().context("cannot find a data directory")?;
    let outbox = rt.block_on(jiejing::console::Outbox::open(&dir.join("outbox-demo.db")))?;
    let handle = rt.handle().clone();
    let result = eframe::run_native(
        "jiejing-demo",
        jiejing::console::native_options("接警 jiejing — DEMO 演示"),
        Box::new(move |cc| {
            jiejing::console::install_fonts(&cc.egui_ctx);
            let prefs = jiejing::console::ConsoleApp::load_prefs(cc.storage);
            let inner = jiejing::console::ConsoleApp::new(&cc.egui_ctx, handle, operator, me, outbox, true, prefs);
            Ok(Box::new(DemoApp {
                inner,
                started,
                reported: false,
            }))
        }),
    );
    cancel.cancel();
    rt.block_on(server.stop()).ok();
    result.map_err(|e| anyhow::anyhow!("the console window failed: {e}"))
}
