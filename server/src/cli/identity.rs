//! `semper identity`: makes one bank's link identity; `semper identity rotate` rotates the link
//! certificate of a bank of a config, in two steps (SECURITY.md, "Rotating a link certificate").

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Context;
use clap::{Args, Subcommand};
use semper_protocol::ids::BankId;
use semper_server::config::{BankSection, Config};
use semper_server::deployment;
use semper_server::keytool;

/// `semper identity`'s arguments: `--bank` and `--dir` make an identity, unless a subcommand is
/// given.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct IdentityArgs {
    #[command(subcommand)]
    command: Option<IdentityCommand>,
    /// The bank's id: 32 hex digits.
    #[arg(long, value_name = "HEX", value_parser = parse_bank, required = true)]
    bank: Option<BankId>,
    /// Where to write `link-cert.pem` and `link-key.pem`.
    #[arg(long, value_name = "DIR", required = true)]
    dir: Option<PathBuf>,
    /// Days the certificate is valid from now.
    #[arg(long, value_name = "N", default_value_t = 365)]
    days: u32,
}

#[derive(Subcommand)]
enum IdentityCommand {
    /// Rotate the link certificate of a bank of --config, in two steps. First (no --finish):
    /// make the next key and certificate beside the current ones, and write the bank's card
    /// with both certificates; then reload (SIGHUP) every bank that pins the card, and this one.
    /// Second (--finish): make the next identity current and drop the old one from the card;
    /// then reload this bank first, then the others.
    Rotate(RotateArgs),
}

#[derive(Args)]
struct RotateArgs {
    /// The config file of the bank's process.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The bank to rotate, by its name in the config [default: the config's only bank].
    #[arg(long, value_name = "NAME")]
    bank: Option<String>,
    /// The second step: the next identity becomes the current one.
    #[arg(long)]
    finish: bool,
    /// Days the next certificate is valid [default: the config's link.certificate_days].
    #[arg(long, value_name = "N")]
    days: Option<u32>,
}

fn parse_bank(text: &str) -> Result<BankId, String> {
    keytool::parse_bank_id(text).map_err(|error| error.to_string())
}

/// Runs `semper identity`.
pub fn identity(args: IdentityArgs) -> anyhow::Result<()> {
    match (args.command, args.bank, args.dir) {
        (Some(IdentityCommand::Rotate(rotate_args)), _, _) => rotate(rotate_args),
        (None, Some(bank), Some(dir)) => create(bank, &dir, args.days),
        // clap requires --bank and --dir without a subcommand.
        (None, _, _) => anyhow::bail!("give --bank and --dir, or a subcommand"),
    }
}

fn create(bank: BankId, dir: &std::path::Path, days: u32) -> anyhow::Result<()> {
    let files = keytool::create_link_identity(bank, dir, days)
        .with_context(|| format!("creating the link identity of bank {bank}"))?;
    println!("bank {bank}");
    println!(
        "certificate: {} (give it to the peer banks to pin)",
        files.certificate.display()
    );
    println!(
        "private key: {} (owner-only; keep it here)",
        files.key.display()
    );
    Ok(())
}

fn rotate(args: RotateArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let bank = chosen_bank(&config, args.bank.as_deref())?;
    let dir = config.bank_dir(bank);
    let files = if args.finish {
        keytool::finish_rotation(bank.id, &dir)
    } else {
        let days = args.days.unwrap_or(config.link.certificate_days);
        keytool::begin_rotation(bank.id, &dir, days)
    }
    .with_context(|| format!("rotating the link certificate of bank {}", bank.name))?;
    // The card is rewritten from the identity files, as at every start.
    let provisioned = deployment::provision(&config, bank)?;
    let card = provisioned.card_path.display();
    let config_file = args.config.display();
    let validity = files.load(bank.id)?.validity();
    let days_left = validity
        .not_after
        .duration_since(SystemTime::now())
        .map_or(0, |left| left.as_secs() / 86_400);
    if args.finish {
        println!(
            "bank {} ({}): rotation finished; its link certificate is now {} \
             (expires in {days_left} days)",
            bank.name,
            bank.id,
            files.certificate.display()
        );
        println!("card: {card} carries the new certificate alone");
        println!(
            "next: reload this bank first (SIGHUP), then every bank that pins its card: \
             they drop the old certificate"
        );
    } else {
        println!(
            "bank {} ({}): rotation begun; next certificate {} (expires in {days_left} days)",
            bank.name,
            bank.id,
            files.certificate.display()
        );
        println!("card: {card} carries the current and the next certificate");
        println!(
            "next: give the card to the peer banks, reload (SIGHUP) every bank that pins it and \
             this one, then run: semper identity rotate --config {config_file} --finish"
        );
    }
    Ok(())
}

/// The bank of `config` named `name`, or its only bank.
fn chosen_bank<'a>(config: &'a Config, name: Option<&str>) -> anyhow::Result<&'a BankSection> {
    match name {
        Some(name) => config
            .banks
            .iter()
            .find(|bank| bank.name == name)
            .with_context(|| format!("the config has no bank named {name:?}")),
        None => match config.banks.as_slice() {
            [bank] => Ok(bank),
            banks => anyhow::bail!(
                "the config runs {} banks: name the one to rotate with --bank",
                banks.len()
            ),
        },
    }
}
