//! `semper issuer issued`: the issuer's books of coins issued, read from its store without the
//! server (SECURITY.md, "The signer"): the operator's or an auditor's read, to hold against the
//! signer's counts (`semper signer counts`).
//!
//! - `--data DIR`: the issuer's directory (`node.data_dir/<bank>/issuer`, which holds `db/`),
//!   its RocksDB opened read only, the issuer running or not.
//! - `--postgres CONNINFO`: the issuer's PostgreSQL database (every issuer process's books).
//!
//! With `--journal PATH` (the signer's journal file, or a copy) each line also gives the
//! signer's count of the denomination's key, and the difference.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use semper_actors::signer::journal;
use semper_protocol::ids::DenominationId;
use semper_storage::issued::issued;
use semper_storage::{Location, Role, Store};

/// `semper issuer`'s commands.
#[derive(Args)]
pub struct IssuerArgs {
    #[command(subcommand)]
    command: IssuerCommand,
}

#[derive(Subcommand)]
enum IssuerCommand {
    /// Print the coins the issuer blind-signed per denomination, as its books count them.
    Issued(IssuedArgs),
}

#[derive(Args)]
struct IssuedArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The signer's journal (`signer.journal`, or a copy): its counts beside the books'.
    #[arg(long, value_name = "PATH")]
    journal: Option<PathBuf>,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct StoreArgs {
    /// The issuer's directory (holding `db/`): its RocksDB, read only.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The issuer's PostgreSQL database, by libpq connection string.
    #[arg(long, value_name = "CONNINFO")]
    postgres: Option<String>,
}

impl StoreArgs {
    fn open(&self) -> anyhow::Result<Store> {
        match (&self.data, &self.postgres) {
            (Some(dir), _) => {
                let db = dir.join("db");
                Store::open_read_only(&db, Role::Issuer)
                    .with_context(|| format!("opening the issuer's store {}", db.display()))
            }
            (None, Some(conninfo)) => Ok(Location::postgres(conninfo.as_str())?
                .open(Role::Issuer)
                .context("opening the issuer's PostgreSQL store")?),
            (None, None) => anyhow::bail!("give --data or --postgres"),
        }
    }
}

/// Runs `semper issuer`.
pub fn issuer(args: IssuerArgs) -> anyhow::Result<()> {
    match args.command {
        IssuerCommand::Issued(args) => print_issued(args),
    }
}

fn print_issued(args: IssuedArgs) -> anyhow::Result<()> {
    let store = args.store.open()?;
    let mut rows: BTreeMap<DenominationId, (u64, Option<u64>)> = issued(&store)?
        .into_iter()
        .map(|count| (count.denomination, (count.coins, None)))
        .collect();
    let Some(path) = &args.journal else {
        println!("{:<64}  {:>10}", "denomination", "issued");
        for (denomination, (coins, _)) in rows {
            println!("{denomination}  {coins:>10}");
        }
        return Ok(());
    };
    let signed = journal::counts(path)
        .with_context(|| format!("reading the signer's journal {}", path.display()))?;
    for count in signed {
        rows.entry(count.denomination).or_insert((0, None)).1 = Some(count.signatures);
    }
    println!(
        "{:<64}  {:>10}  {:>10}  {:>13}",
        "denomination", "issued", "signed", "signed-issued"
    );
    for (denomination, (coins, signed)) in rows {
        // A key the journal does not know signed nothing this journal counts.
        let signed = signed.unwrap_or(0);
        let gap = i128::from(signed) - i128::from(coins);
        println!("{denomination}  {coins:>10}  {signed:>10}  {gap:>13}");
    }
    Ok(())
}
