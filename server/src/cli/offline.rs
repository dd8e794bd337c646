//! `semper offline`: the master key, on a machine with no network (README, "The master key
//! ceremony"); and `semper denominations`, the online half of the ceremony, which the operator
//! runs against the issuer's HTTP API.
//!
//! - `semper offline init --dir DIR`: makes the master key (owner-only) and prints its public half,
//!   for the issuer's `banks.issuer.master_key` and its card.
//! - `semper offline sign --dir DIR --set FILE --out FILE`: shows the exported set, checks that it
//!   may follow the last set signed, signs it and writes the signed set.
//! - `semper offline revoke --dir DIR --denomination ID --out FILE`: signs the last set signed
//!   again, with the denomination revoked.
//! - `semper denominations export --out FILE` / `publish FILE`: fetch the set to sign from the
//!   issuer, and upload the signed one, with the operator token of the config.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use semper_actors::offline::{OfflineError, OfflineKey};
use semper_client::api::Api;
use semper_client::http::HttpClient;
use semper_protocol::denomination::{DenominationSet, SignedDenominationSet};
use semper_protocol::ids::DenominationId;
use semper_protocol::time::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::walkthrough::trust;

/// The largest set file read: a set of the most denominations is well under it.
const SET_FILE_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// `semper offline`'s commands.
#[derive(Args)]
pub struct OfflineArgs {
    #[command(subcommand)]
    command: OfflineCommand,
}

#[derive(Subcommand)]
enum OfflineCommand {
    /// Make the master key in DIR (owner-only; never replaced) and print its public half.
    Init(DirArgs),
    /// Check an exported denomination set, sign it with the master key, and write the signed set.
    Sign(SignArgs),
    /// Sign the last set signed again with a denomination revoked, and write it.
    Revoke(RevokeArgs),
    /// Print the master key's public half.
    Show(DirArgs),
}

#[derive(Args)]
struct DirArgs {
    /// The master key's directory.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
}

#[derive(Args)]
struct SignArgs {
    /// The master key's directory.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The set the issuer exported (`semper denominations export`), JSON.
    #[arg(long, value_name = "FILE")]
    set: PathBuf,
    /// Where to write the signed set, JSON, for `semper denominations publish`.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Args)]
struct RevokeArgs {
    /// The master key's directory.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The denomination to revoke (64 hex digits, as the set lists it).
    #[arg(long, value_name = "ID", value_parser = parse_denomination)]
    denomination: DenominationId,
    /// Where to write the signed set, JSON, for `semper denominations publish`.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

fn parse_denomination(text: &str) -> Result<DenominationId, String> {
    let bytes = hex::decode(text).map_err(|_| format!("not hex: {text:?}"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "a denomination id is 64 hex digits".to_owned())?;
    Ok(DenominationId(bytes))
}

/// An offline tool's failure, with its stable code first.
fn coded(error: OfflineError) -> anyhow::Error {
    anyhow::anyhow!("{}: {error}", error.code())
}

/// Runs `semper offline`.
pub fn offline(args: OfflineArgs, now: Timestamp) -> anyhow::Result<()> {
    match args.command {
        OfflineCommand::Init(args) => {
            let key = OfflineKey::init(&args.dir).map_err(coded)?;
            println!(
                "master key made in {} (owner-only; back it up offline)",
                args.dir.display()
            );
            println!("public key: {}", hex::encode(key.public_key().as_bytes()));
            println!("give it to the issuer: banks.issuer.master_key = \"<public key>\"");
        }
        OfflineCommand::Show(args) => {
            let key = OfflineKey::open(&args.dir).map_err(coded)?;
            println!("public key: {}", hex::encode(key.public_key().as_bytes()));
        }
        OfflineCommand::Sign(args) => {
            let key = OfflineKey::open(&args.dir).map_err(coded)?;
            let set: DenominationSet = read_json(&args.set)?;
            describe(&set);
            let signed = key.sign(set).map_err(coded).context("not signed")?;
            write_json(&args.out, &signed)?;
            println!(
                "signed set {} written to {}: upload it with `semper denominations publish`",
                signed.body().fields().sequence,
                args.out.display()
            );
        }
        OfflineCommand::Revoke(args) => {
            let key = OfflineKey::open(&args.dir).map_err(coded)?;
            let signed = key
                .revoke(args.denomination, now)
                .map_err(coded)
                .context("not revoked")?;
            describe(signed.body());
            write_json(&args.out, &signed)?;
            println!(
                "set {} revoking {} written to {}: upload it with `semper denominations publish`",
                signed.body().fields().sequence,
                args.denomination,
                args.out.display()
            );
        }
    }
    Ok(())
}

/// Shows what is about to be signed: the operator compares it with what the bank decided.
fn describe(set: &DenominationSet) {
    let fields = set.fields();
    println!(
        "issuer {} set {} issued at {} ms: {} denominations, {} revoked",
        fields.issuer,
        fields.sequence,
        fields.issued_at.unix_ms(),
        fields.denominations.len(),
        fields.revoked.len()
    );
    for denomination in fields.denominations.iter() {
        let d = denomination.fields();
        let state = if set.is_revoked(&denomination.id()) {
            "  REVOKED"
        } else {
            ""
        };
        println!(
            "  {} {:>12} withdraw {}..{} deposit until {}{state}",
            denomination.id(),
            d.value.to_string(),
            d.valid_from.unix_ms(),
            d.withdraw_until.unix_ms(),
            d.deposit_until.unix_ms()
        );
    }
}

/// `semper denominations`' commands.
#[derive(Args)]
pub struct DenominationsArgs {
    /// The config the issuer runs: its HTTP address and operator token [default: the embedded
    /// default].
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: DenominationsCommand,
}

#[derive(Subcommand)]
enum DenominationsCommand {
    /// Fetch the set the issuer wants signed (every denomination made) into a file, for
    /// `semper offline sign`.
    Export {
        /// Where to write it, JSON.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Upload a set the master key signed; the issuer publishes it or refuses it.
    Publish {
        /// The signed set `semper offline sign` (or `revoke`) wrote.
        file: PathBuf,
    },
}

impl DenominationsArgs {
    /// The config file named, if any.
    pub fn config(&self) -> Option<&Path> {
        self.config.as_deref()
    }
}

/// Runs `semper denominations` against the issuer of `config`.
pub fn denominations(
    args: DenominationsArgs,
    config: &semper_server::config::Config,
) -> anyhow::Result<()> {
    let token = semper_server::deployment::configured_operator_token(config)?;
    let http = match &config.http.tls_cert {
        Some(cert) => HttpClient::with_tls(
            config.http.listen,
            trust(
                &config.node.data_dir.join(cert),
                &config.http.listen.ip().to_string(),
            )?,
        ),
        None => HttpClient::new(config.http.listen),
    };
    let mut api = Api::over(http, Some(token));
    match args.command {
        DenominationsCommand::Export { out } => {
            let set = api
                .export_denominations()
                .context("exporting the denomination set")?;
            describe(&set);
            write_json(&out, &set)?;
            println!(
                "written to {}: carry it to the offline machine",
                out.display()
            );
        }
        DenominationsCommand::Publish { file } => {
            let set: SignedDenominationSet = read_json(&file)?;
            let published = api
                .publish_denominations(&set)
                .context("the issuer refused the set")?;
            println!(
                "published set {}: {} denominations, {} revoked",
                published.body().fields().sequence,
                published.body().fields().denominations.len(),
                published.body().fields().revoked.len()
            );
        }
    }
    Ok(())
}

fn read_json<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let mut text = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(SET_FILE_MAX_BYTES + 1).read_to_end(&mut text))
        .with_context(|| format!("reading {}", path.display()))?;
    anyhow::ensure!(
        text.len() as u64 <= SET_FILE_MAX_BYTES,
        "{} is larger than {SET_FILE_MAX_BYTES} bytes",
        path.display()
    );
    serde_json::from_slice(&text).with_context(|| format!("{} is not a set", path.display()))
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}
