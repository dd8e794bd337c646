//! `semper-load`: drives a running semper deployment over its real APIs, then checks that it
//! kept every invariant.
//!
//! ```sh
//! # The embedded default (`semper run` in this directory: token in ./data/operator-token):
//! semper-load --url http://127.0.0.1:8080 --token-file data/operator-token \
//!     --workers 4 --duration 20 --report load.json --plot load.svg
//! ```
//!
//! Exit status: 0 when every invariant holds, 2 when one broke (each is named on stderr), 1 when
//! the run could not be made or its report or plot not written (the summary is printed all the
//! same). The directories of `--report` and `--plot` are made, and checked, before the run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use semper_loadtest::target::{EMBEDDED_ACQUIRER_ID, Targets, parse_endpoint, read_token_file};
use semper_loadtest::workload::{FUNDING_WITHDRAWALS, Mix, RETRY_ATTEMPTS_MAX, Stock, Workload};
use semper_loadtest::{
    DEFAULT_RECOUP_SHARE, DEFAULT_REFUND_SHARE, DEFAULT_SWAP_SHARE, LoadConfig, Mode, plot, run,
};

/// Where the embedded default answers, when no target is named.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";
/// Where the embedded default keeps its operator token, relative to where it runs.
const DEFAULT_TOKEN_FILE: &str = "data/operator-token";

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LoopKind {
    /// N workers, each running operations back to back.
    Closed,
    /// A target rate (--rate), latency measured from each operation's due time.
    Open,
}

/// Drive a semper deployment with simulated wallets and merchants, then check its invariants.
///
/// A target is `URL[,id=BANK][,token=T][,token-file=PATH][,ca=PATH]`: `id` is the bank id of an
/// acquirer (deposits name it; default the embedded default's 02000000000000000000000000000002),
/// `token` or `token-file` the node's operator token (default --token / --token-file), `ca` (with
/// an https:// URL) the PEM file of the CA, or the server's own certificate, to trust.
#[derive(Debug, Parser)]
#[command(name = "semper-load", version)]
struct Args {
    /// All roles at one node (the embedded default); default http://127.0.0.1:8080 when no
    /// --issuer, --acquirer or --clearing is given.
    #[arg(long, value_name = "TARGET")]
    url: Option<String>,
    /// An issuer (repeatable): wallets are spread over the issuers.
    #[arg(long, value_name = "TARGET")]
    issuer: Vec<String>,
    /// An acquirer (repeatable): merchants are spread over the acquirers.
    #[arg(long, value_name = "TARGET")]
    acquirer: Vec<String>,
    /// The clearing house.
    #[arg(long, value_name = "TARGET")]
    clearing: Option<String>,
    /// The operator token of every node without its own.
    #[arg(long, conflicts_with = "token_file")]
    token: Option<String>,
    /// A file holding the operator token of every node without its own; default
    /// data/operator-token when it exists.
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,

    /// Closed loop (fixed concurrency) or open loop (fixed rate).
    #[arg(long, value_enum, default_value = "closed")]
    mode: LoopKind,
    /// Worker threads: the concurrency of the closed loop, the most operations in flight in the
    /// open loop.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// The open loop's rate, operations a second.
    #[arg(long)]
    rate: Option<f64>,
    /// Stop starting operations after this many seconds (default 20 when --operations is not
    /// given either).
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// Stop after this many operations.
    #[arg(long)]
    operations: Option<u64>,

    /// Simulated wallets (at least one per worker).
    #[arg(long, default_value_t = 16)]
    wallets: usize,
    /// Simulated merchants.
    #[arg(long, default_value_t = 8)]
    merchants: usize,
    /// Coins in one payment.
    #[arg(long, default_value_t = 4)]
    coins_per_payment: usize,
    /// Coins in one withdrawal.
    #[arg(long, default_value_t = 16)]
    coins_per_withdraw: usize,
    /// Share of operations that are withdrawals (payments take what the shares leave).
    #[arg(long, default_value_t = 0.2)]
    withdraw_share: f64,
    /// Share that are double-spend attempts: a spent coin again, or one coin through two
    /// merchants at once (at two acquirers when there are two).
    #[arg(long, default_value_t = 0.05)]
    double_spend_share: f64,
    /// Share that replay an earlier withdrawal or deposit, which must get the identical answer.
    #[arg(long, default_value_t = 0.05)]
    replay_share: f64,
    /// Share that are refunds by a merchant of a coin it was paid with: whole, in part, a retry
    /// (the same answer, debited once), over what the coin paid (refused), or after a contract's
    /// short refund deadline (refused).
    #[arg(long, default_value_t = DEFAULT_REFUND_SHARE)]
    refund_share: f64,
    /// Share that are swaps by a wallet: coins for change (less the swap fee), a refunded coin
    /// for its allowance, the last swap again (the same answer), or a coin given in spent again
    /// (refused with the swap as proof). The fresh coins are spent like the others.
    #[arg(long, default_value_t = DEFAULT_SWAP_SHARE)]
    swap_share: f64,
    /// Share that are recoups of coins of a denomination revoked before the run, the last
    /// recoup again (the same answer, credited once), or a recouped coin deposited (refused).
    /// Only at an issuer named with `master-key=DIR` (its master key's directory, which
    /// `semper offline revoke` signs the revocation with); elsewhere they become payments.
    #[arg(long, default_value_t = DEFAULT_RECOUP_SHARE)]
    recoup_share: f64,
    /// The `semper` binary that revokes for the recoups [default: the one beside this program].
    #[arg(long, value_name = "PATH")]
    semper: Option<PathBuf>,
    /// Payments each wallet makes ready before the timed phase: coins withdrawn, permissions
    /// and deposit requests signed, so that the load tester's own cryptography stays out of the
    /// measured window (see loadtest/README.md).
    #[arg(long, value_name = "PAYMENTS", default_value_t = 0)]
    stock_payments: usize,
    /// Withdrawal requests each wallet blinds and signs before the timed phase; their coins are
    /// unblinded and checked after it.
    #[arg(long, value_name = "WITHDRAWALS", default_value_t = 0)]
    stock_withdrawals: usize,
    /// Only the stock is run: a worker whose wallets have no ready work left stops, rather than
    /// make more during the timed phase.
    #[arg(long)]
    stock_only: bool,

    /// Flush the outboxes and cut a cycle every this many seconds (0: only at the end).
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    settle_interval: f64,
    /// After the final cut, how long reports may take to reach every participant, ms.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    settle_wait_ms: u64,
    /// Attempts of a request answered busy, timed out or unanswered (first included), each
    /// after the server's Retry-After; then the operation fails.
    #[arg(long, value_name = "N", default_value_t = RETRY_ATTEMPTS_MAX)]
    retry_attempts: u32,

    /// Write the JSON report here.
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,
    /// Write the SVG plot of throughput and latency over time here.
    #[arg(long, value_name = "PATH")]
    plot: Option<PathBuf>,
    /// No live progress line.
    #[arg(long)]
    quiet: bool,
}

fn seconds(value: f64, name: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).with_context(|| format!("--{name} {value}"))
}

fn targets(args: &Args) -> anyhow::Result<Targets> {
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(path)) => Some(read_token_file(path)?),
        (None, None) => {
            let path = PathBuf::from(DEFAULT_TOKEN_FILE);
            path.exists().then(|| read_token_file(&path)).transpose()?
        }
    };
    let token = token.as_deref();
    let split = !args.issuer.is_empty() || !args.acquirer.is_empty() || args.clearing.is_some();
    if !split {
        let url = args.url.as_deref().unwrap_or(DEFAULT_URL);
        return Ok(Targets::single(parse_endpoint(url, token, None)?));
    }
    let single = args
        .url
        .as_deref()
        .map(|url| parse_endpoint(url, token, None))
        .transpose()?;
    let issuers = args
        .issuer
        .iter()
        .map(|spec| parse_endpoint(spec, token, None))
        .collect::<Result<Vec<_>, _>>()?;
    let acquirers = args
        .acquirer
        .iter()
        .map(|spec| parse_endpoint(spec, token, Some(EMBEDDED_ACQUIRER_ID)))
        .collect::<Result<Vec<_>, _>>()?;
    let clearing = args
        .clearing
        .as_deref()
        .map(|spec| parse_endpoint(spec, token, None))
        .transpose()?;
    let fallback = single.map(Targets::single);
    let pick = |given: Vec<_>, from: fn(&Targets) -> Vec<_>, role: &str| {
        if !given.is_empty() {
            Ok(given)
        } else if let Some(targets) = &fallback {
            Ok(from(targets))
        } else {
            bail!("no {role}: give --{role} or --url")
        }
    };
    Ok(Targets {
        issuers: pick(issuers, |t| t.issuers.clone(), "issuer")?,
        acquirers: pick(acquirers, |t| t.acquirers.clone(), "acquirer")?,
        clearing: match (clearing, &fallback) {
            (Some(clearing), _) => clearing,
            (None, Some(targets)) => targets.clearing.clone(),
            (None, None) => bail!("no clearing: give --clearing or --url"),
        },
        clearing_others: Vec::new(),
    })
}

/// Makes the directory of each file the run will write (`--report`, `--plot`) and checks that a
/// file can be made there, so that a bad path fails now rather than after the whole run.
fn prepare_outputs(args: &Args) -> anyhow::Result<()> {
    for path in [&args.report, &args.plot].into_iter().flatten() {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating {}, for {}", dir.display(), path.display()))?;
        if path.is_dir() {
            bail!("{} is a directory, not a file to write", path.display());
        }
        let probe = dir.join(format!(".semper-load-probe-{}", std::process::id()));
        std::fs::File::create(&probe).with_context(|| {
            format!("{} cannot be written in {}", path.display(), dir.display())
        })?;
        let _ = std::fs::remove_file(&probe);
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    prepare_outputs(&args)?;
    let targets = targets(&args)?;
    let duration = match (args.duration, args.operations) {
        (None, None) => Some(Duration::from_secs(20)),
        (duration, _) => duration.map(|d| seconds(d, "duration")).transpose()?,
    };
    let mode = match (args.mode, args.rate) {
        (LoopKind::Closed, None) => Mode::Closed {
            workers: args.workers,
        },
        (LoopKind::Closed, Some(_)) => bail!("--rate is for --mode open"),
        (LoopKind::Open, Some(rate_per_s)) => Mode::Open {
            rate_per_s,
            workers: args.workers,
        },
        (LoopKind::Open, None) => bail!("--mode open needs --rate"),
    };
    let config = LoadConfig {
        targets,
        workload: Workload {
            wallets: args.wallets,
            merchants: args.merchants,
            coins_per_payment: args.coins_per_payment,
            coins_per_withdraw: args.coins_per_withdraw,
            funding_withdrawals: FUNDING_WITHDRAWALS,
            mix: Mix {
                withdraw: args.withdraw_share,
                double_spend: args.double_spend_share,
                replay: args.replay_share,
                refund: args.refund_share,
                swap: args.swap_share,
                recoup: args.recoup_share,
            },
            stock: Stock {
                payments: args.stock_payments,
                withdrawals: args.stock_withdrawals,
                only: args.stock_only,
            },
        },
        mode,
        duration,
        operations: args.operations,
        settle_interval: (args.settle_interval > 0.0)
            .then(|| seconds(args.settle_interval, "settle-interval"))
            .transpose()?,
        settle_wait: Duration::from_millis(args.settle_wait_ms),
        progress: !args.quiet,
        tolerate_outages: false,
        retry_attempts_max: args.retry_attempts,
        phase: None,
        offline_tool: args.semper.clone(),
    };
    let report = run(config)?;
    // Files first, so that a closed stdout (`| head`) loses none of them; a file that cannot be
    // written after all is reported after the summary, so that the run's figures are not lost.
    let mut written = Vec::new();
    let mut unwritten = Vec::new();
    let mut write = |what: &str, path: &Path, contents: String| match std::fs::write(path, contents)
    {
        Ok(()) => written.push(format!("  {what}: {}", path.display())),
        Err(error) => unwritten.push(format!("writing the {what} to {}: {error}", path.display())),
    };
    if let Some(path) = &args.report {
        write("report", path, report.to_json());
    }
    if let Some(path) = &args.plot {
        let title = format!(
            "semper-load: {} loop, {} workers{}",
            report.mode,
            report.workers,
            report
                .rate_per_s
                .map(|r| format!(", {r} ops/s offered"))
                .unwrap_or_default()
        );
        write("plot", path, plot::svg(&report.series, &title));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = write!(stdout, "{}", report.summary());
    for line in written {
        let _ = writeln!(stdout, "{line}");
    }
    let _ = stdout.flush();
    for line in &unwritten {
        eprintln!("semper-load: {line}");
    }
    if !report.ok() {
        for verdict in report.broken() {
            eprintln!(
                "semper-load: INVARIANT BROKEN: {}: {}",
                verdict.name, verdict.statement
            );
            for line in &verdict.details {
                eprintln!("semper-load:   {line}");
            }
        }
        std::process::exit(2);
    }
    if !unwritten.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary one, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("semper-load-test-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn args_writing(report: &Path, plot: &Path) -> Args {
        Args::try_parse_from([
            "semper-load".as_ref(),
            "--report".as_ref(),
            report.as_os_str(),
            "--plot".as_ref(),
            plot.as_os_str(),
        ])
        .unwrap()
    }

    #[test]
    fn missing_output_directories_are_made_before_the_run() {
        let scratch = Scratch::new("missing");
        let report = scratch.0.join("reports/today/load.json");
        let plot = scratch.0.join("plots/load.svg");
        prepare_outputs(&args_writing(&report, &plot)).unwrap();
        assert!(report.parent().unwrap().is_dir());
        assert!(plot.parent().unwrap().is_dir());
        assert!(
            !report.exists(),
            "only the directory is made before the run"
        );
        assert_eq!(
            std::fs::read_dir(scratch.0.join("plots")).unwrap().count(),
            0
        );
    }

    #[test]
    fn an_output_path_that_cannot_be_written_fails_before_the_run() {
        let scratch = Scratch::new("unwritable");
        let file = scratch.0.join("a-file");
        std::fs::write(&file, b"").unwrap();
        let under_a_file = file.join("load.json");
        let ok = scratch.0.join("load.svg");
        let error = prepare_outputs(&args_writing(&under_a_file, &ok)).unwrap_err();
        assert!(format!("{error:#}").contains("creating"), "{error:#}");
        let error = prepare_outputs(&args_writing(&scratch.0, &ok)).unwrap_err();
        assert!(format!("{error:#}").contains("is a directory"), "{error:#}");
    }
}
