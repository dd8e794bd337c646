//! `semper run` and `semper keys`: the server's lifecycle in the shell around the library.
//!
//! `run` starts the deployment, prints what it started and where, then waits for SIGTERM or
//! SIGINT. Stopping takes intake down first (the HTTP API lets requests under way finish), then
//! each bank's node; everything acknowledged was already durable when it was acknowledged, and
//! the DBs close as the process ends. A second signal while stopping exits at once. SIGHUP
//! reloads the banks' link identities and the peers' cards (a certificate rotation) and prints
//! whether it did.

mod identity;
mod issuer;
mod offline;
mod signer;
mod walkthrough;

pub use identity::{IdentityArgs, identity};
pub use issuer::{IssuerArgs, issuer};
pub use offline::{DenominationsArgs, OfflineArgs, denominations, offline};
pub use signer::{SignerArgs, signer};
pub use walkthrough::{WalkthroughOptions, trust, walkthrough};

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use semper_actors::clock::SystemClock;
use semper_server::config::Config;
use semper_server::deployment::{self, Deployment, TokenSource};
use semper_server::telemetry;
use tracing_subscriber::EnvFilter;

/// Runs the deployment of `config` until SIGTERM or SIGINT.
pub fn run(config: &Config) -> anyhow::Result<()> {
    init_logging(&config.node.log)?;
    let exporter = telemetry::metrics::install().context("installing the metrics recorder")?;
    let render: semper_server::http::MetricsRender = Arc::new(move || exporter.render());
    let grace = Duration::from_millis(config.node.shutdown_grace_ms);
    let system = actix::System::new();
    system.block_on(async move {
        let deployment = Deployment::start(config, Arc::new(SystemClock), render)
            .await
            .context("semper did not start")?;
        // Listening before the summary: a caller that signals once it reads the summary must
        // not meet the default action (SIGHUP's ends the process).
        let signals = Signals::listen()?;
        print_summary(config, &deployment);
        let signal = serve_until_stopped(&deployment, signals).await?;
        tracing::info!(signal, "stopping: intake first, then the banks");
        println!("{signal}: stopping (intake first, then each bank)...");
        match tokio::time::timeout(grace, deployment.stop()).await {
            Ok(()) => println!("stopped cleanly"),
            Err(_) => println!(
                "work under way took longer than node.shutdown_grace_ms ({} ms); exiting: \
                 everything acknowledged is durable",
                grace.as_millis()
            ),
        }
        Ok::<(), anyhow::Error>(())
    })
}

/// Provisions every bank of `config` (identity, role keys, denomination keys, card) and prints
/// where each card is.
pub fn provision_keys(config: &Config) -> anyhow::Result<()> {
    let system = actix::System::new();
    system.block_on(async {
        for bank in &config.banks {
            let provisioned = deployment::provision(config, bank)?;
            if let Some(issuer) = &bank.issuer {
                deployment::make_denomination_keys(config, bank, issuer, Arc::new(SystemClock))?;
            }
            println!(
                "bank {} ({}): card {}",
                bank.name,
                bank.id,
                provisioned.card_path.display()
            );
        }
        Ok(())
    })
}

/// actix-http's HTTP/1 dispatcher logs every connection a client breaks (a request line or head
/// that does not parse, too many headers, a timeout) at ERROR, one line per connection, with no
/// way to lower it: a client could flood the log. The client gets its 400, 408 or 431 anyway, so
/// the line is dropped unless a filter names the target itself.
const QUIET_DISPATCHER: &str = "actix_http::h1::dispatcher=off";

/// Logs go to stderr, filtered by `RUST_LOG` when set and by the config's `node.log` otherwise,
/// with [`QUIET_DISPATCHER`] unless the filter names actix_http.
fn init_logging(filter: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(text) if !text.is_empty() => log_filter(&text).context("RUST_LOG")?,
        _ => log_filter(filter).context("config key `node.log`")?,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|error| anyhow::anyhow!("installing the logger: {error}"))
}

/// `text` as a filter, with [`QUIET_DISPATCHER`] added unless `text` names actix_http.
fn log_filter(text: &str) -> anyhow::Result<EnvFilter> {
    if text.contains("actix_http") {
        return Ok(EnvFilter::try_new(text)?);
    }
    let quiet = QUIET_DISPATCHER.parse()?;
    Ok(EnvFilter::try_new(text)?.add_directive(quiet))
}

/// The signals `run` handles.
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts listening for SIGTERM, SIGINT and SIGHUP.
    fn listen() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
            interrupt: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
            hangup: signal(SignalKind::hangup()).context("listening for SIGHUP")?,
        })
    }
}

/// Reloads on each SIGHUP until SIGTERM or SIGINT, and names the signal that stops it.
async fn serve_until_stopped(
    deployment: &Deployment,
    signals: Signals,
) -> anyhow::Result<&'static str> {
    let Signals {
        mut terminate,
        mut interrupt,
        mut hangup,
    } = signals;
    let name = loop {
        tokio::select! {
            _ = terminate.recv() => break "SIGTERM",
            _ = interrupt.recv() => break "SIGINT",
            _ = hangup.recv() => match deployment.reload() {
                Ok(pinned) => println!(
                    "SIGHUP: reloaded the link identities and the peers' cards \
                     ({pinned} certificates pinned)"
                ),
                Err(error) => {
                    tracing::error!(%error, "reload refused; the identities and trust list in force stay");
                    println!("SIGHUP: reload failed, nothing changed: {error}");
                }
            },
        }
    };
    // A second signal while stopping: exit at once. Acknowledged work is already durable.
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
        eprintln!("second signal: exiting now");
        std::process::exit(130);
    });
    Ok(name)
}

fn print_summary(config: &Config, deployment: &Deployment) {
    println!("semper is running");
    println!("  data directory: {}", config.node.data_dir.display());
    if let (Some(addr), Some(scheme)) = (deployment.http_addr(), deployment.http_scheme()) {
        let tls = match scheme {
            "https" => "TLS",
            _ => "plain text, no TLS",
        };
        println!("  HTTP API:       {scheme}://{addr}  ({tls})");
        println!("    health:       {scheme}://{addr}/health");
        println!("    metrics:      {scheme}://{addr}/metrics");
        println!("    OpenAPI:      {scheme}://{addr}/openapi.json");
    }
    match deployment.token_source() {
        TokenSource::File(path) => println!("  operator token: in {}", path.display()),
        TokenSource::Config => println!("  operator token: from the config"),
    }
    for bank in deployment.banks() {
        println!(
            "  bank {:<10} {}  roles: {:<24} link: {}://{}  card: {}",
            bank.name,
            bank.id,
            bank.roles.join(", "),
            match bank.carrier {
                semper_server::config::Carrier::Quic => "quic",
                semper_server::config::Carrier::Atm => "quic+atm",
            },
            bank.link_addr,
            bank.card.display()
        );
    }
    let now = std::time::SystemTime::now();
    for expiry in deployment.warn_of_expiries() {
        println!(
            "  WARNING: the link certificate of {} {} expires in {} days: rotate it \
             (SECURITY.md, \"Rotating a link certificate\")",
            if expiry.own { "bank" } else { "peer bank" },
            expiry.bank,
            expiry.days_left(now)
        );
    }
    println!("Stop with Ctrl-C or SIGTERM; reload link certificates with SIGHUP.");
}

#[cfg(test)]
mod tests;
