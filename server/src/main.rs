//! `semper`: the payment and clearing server's command line.
//!
//! - `run`: the server. With `--config FILE`, the banks the file names; without, the embedded
//!   default (an issuer, an acquirer and a clearing house in one process, data under `./data`).
//! - `keys`: provisions the banks of a config without starting them: link identities, role keys,
//!   denomination keys, and each bank's public card for its peers.
//! - `try`: a withdrawal, a deposit, a refused double spend and a settlement against a running
//!   deployment, over HTTP, printed step by step.
//! - `identity`: creates one bank's link identity; `identity rotate` rotates a bank's link
//!   certificate in two steps.
//! - `signer`: an issuer's signer as its own process, and the read of its signature counts.
//! - `issuer issued`: the issuer's books of coins issued per denomination, read from its store.
//! - `offline`: the master key on an offline machine: made, signing denomination sets and
//!   revocations; `denominations`: the issuer's export of the set to sign, and the upload of the
//!   signed one.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use semper_protocol::limits::WITHDRAW_COINS_MAX;
use semper_protocol::time::Timestamp;
use semper_server::config::Config;

mod cli;

/// Coins `semper try` withdraws and pays with unless told otherwise.
const TRY_COINS: usize = 8;

/// semper: a payment and clearing server for Chaumian e-cash.
#[derive(Parser)]
#[command(name = "semper", version)]
struct Cli {
    /// With no command, `run` runs the embedded default.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: the banks of --config, or the embedded default (an issuer, an acquirer
    /// and a clearing house in one process, RocksDB under ./data, HTTP on 127.0.0.1:8080).
    /// Stops cleanly on SIGTERM or SIGINT.
    Run(RunArgs),
    /// Provision the banks of a config without starting them: each bank's link identity, its
    /// role keys and denomination keys, and its public card (card.toml) for its peers.
    Keys(KeysArgs),
    /// Try a running deployment (by default `semper run`'s embedded default): open and fund an
    /// account, withdraw coins, pay a merchant who deposits them, see a double spend refused
    /// with proof, and settle; each step over the HTTP API, printed as it happens.
    Try(TryArgs),
    /// Create a bank's link identity: a TLS key (owner-only file) and a self-signed certificate
    /// for the peer banks to pin in their trust lists. Never replaces an existing key; `identity
    /// rotate` makes the next one beside it.
    Identity(cli::IdentityArgs),
    /// An issuer's signer as its own process: `signer run` serves its keys on a Unix socket
    /// (the issuer's `signer_socket`), `signer counts` reads its signature counts.
    Signer(cli::SignerArgs),
    /// Reads of an issuer's store without the server: `issuer issued` prints the coins it
    /// blind-signed per denomination, to hold against `signer counts`.
    Issuer(cli::IssuerArgs),
    /// The issuer's master key, on a machine with no network: `offline init` makes it,
    /// `offline sign` signs an exported denomination set, `offline revoke` a revocation.
    Offline(cli::OfflineArgs),
    /// The online half of the master key ceremony, against a running issuer: `denominations
    /// export` fetches the set to sign, `denominations publish` uploads the signed set.
    Denominations(cli::DenominationsArgs),
}

#[derive(Args)]
struct RunArgs {
    /// The config file [default: the embedded default, config/embedded.toml, built in].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct KeysArgs {
    /// The config file whose banks to provision [default: the embedded default].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct TryArgs {
    /// The config the deployment runs: its HTTP address, operator token and acquirer
    /// [default: the embedded default].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The HTTP API to try, instead of the config's.
    #[arg(long, value_name = "ADDR")]
    http: Option<std::net::SocketAddr>,
    /// Speak HTTPS, trusting this CA (or the server's certificate), PEM [default: the config's
    /// `http.tls_cert` when it has one].
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// The name the server's certificate must carry [default: the address's IP].
    #[arg(long, value_name = "NAME", requires = "ca")]
    server_name: Option<String>,
    /// Coins to withdraw and pay with (1 to 256).
    #[arg(long, value_name = "N", default_value_t = TRY_COINS, value_parser = parse_coins)]
    coins: usize,
}

fn parse_coins(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=WITHDRAW_COINS_MAX).contains(&n) => Ok(n),
        _ => Err(format!("expected 1 to {WITHDRAW_COINS_MAX}")),
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli
        .command
        .unwrap_or(Command::Run(RunArgs { config: None }))
    {
        Command::Run(args) => cli::run(&load_config(args.config.as_deref())?),
        Command::Keys(args) => cli::provision_keys(&load_config(args.config.as_deref())?),
        Command::Try(args) => try_deployment(args),
        Command::Identity(args) => cli::identity(args),
        Command::Signer(args) => cli::signer(args),
        Command::Issuer(args) => cli::issuer(args),
        Command::Offline(args) => cli::offline(args, now()?),
        Command::Denominations(args) => {
            let config = load_config(args.config())?;
            cli::denominations(args, &config)
        }
    }
}

/// The config of `path`, or the embedded default; with the environment's overrides either way.
fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    Ok(match path {
        Some(path) => Config::load(path)?,
        None => Config::embedded()?,
    })
}

fn try_deployment(args: TryArgs) -> anyhow::Result<()> {
    let config = load_config(args.config.as_deref())?;
    let mut options = cli::WalkthroughOptions::from_config(&config, args.coins, now()?)?;
    if let Some(http) = args.http {
        options.http = http;
    }
    if let Some(ca) = &args.ca {
        let name = (args.server_name.clone()).unwrap_or_else(|| options.http.ip().to_string());
        options.tls = Some(cli::trust(ca, &name)?);
    }
    cli::walkthrough(&options)
}

/// The system clock, read here in the shell: the protocol core never reads one.
fn now() -> anyhow::Result<Timestamp> {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    let unix_ms = u64::try_from(since_epoch.as_millis()).context("the system clock overflows")?;
    Ok(Timestamp::from_unix_ms(unix_ms))
}
