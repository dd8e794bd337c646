//! bench-load's command line. Parsed strictly, before anything starts: `--help` prints the usage,
//! and an argument it does not know is refused, where a misspelt flag (or `--help`) used to start
//! the whole benchmark.

use anyhow::{Context, bail, ensure};

/// What `bench-load --help` prints.
pub const USAGE: &str = "\
bench-load: issue 7's targets on the embedded default, each against its reference in the same run
(`semper run` is the release binary beside this one; build it first with
`cargo build --release -p semper-server --bin semper`).

Usage: bench-load [OPTIONS]

Options:
  --overload         then withdrawals offered at ten times their closed-loop rate, between two
                     calm phases at half of it (issue 8's overload figures)
  --overload-only    only the closed-loop withdrawals, then the overload run
  --rss-minutes M    then the default mix in open loop for M minutes, the server's memory sampled
  --rss-rate R       the memory run's rate, operations a second (default: half the mix's
                     closed-loop rate)
  --rss-only         only the memory run
  -h, --help         print this and exit
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Print the usage and exit.
    Help,
    /// Run the benchmark so.
    Run(Options),
}

/// The runs a benchmark makes, from its flags.
#[derive(Debug, Default, PartialEq)]
pub struct Options {
    /// `--overload`: the overload run after the targets.
    pub overload: bool,
    /// `--overload-only`: only the closed-loop withdrawals and the overload run.
    pub overload_only: bool,
    /// `--rss-only`: only the memory run.
    pub rss_only: bool,
    /// `--rss-minutes`: the memory run's length (0: none).
    pub rss_minutes: f64,
    /// `--rss-rate`: the memory run's operations a second; `None`: half the closed-loop rate.
    pub rss_rate_per_s: Option<f64>,
}

/// Parses the arguments that follow the program's name.
pub fn parse(args: impl IntoIterator<Item = String>) -> anyhow::Result<Command> {
    let args: Vec<String> = args.into_iter().collect();
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        return Ok(Command::Help);
    }
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--overload" => options.overload = true,
            "--overload-only" => options.overload_only = true,
            "--rss-only" => options.rss_only = true,
            "--rss-minutes" => options.rss_minutes = number(&arg, args.next())?,
            "--rss-rate" => {
                let rate = number(&arg, args.next())?;
                ensure!(rate > 0.0, "--rss-rate must be above 0, not {rate}");
                options.rss_rate_per_s = Some(rate);
            }
            other => bail!("unknown argument {other:?} (bench-load --help lists them)"),
        }
    }
    ensure!(
        !(options.rss_only && options.overload_only),
        "--rss-only and --overload-only exclude each other"
    );
    Ok(Command::Run(options))
}

/// The value after `flag`: a finite number, 0 or more.
fn number(flag: &str, value: Option<String>) -> anyhow::Result<f64> {
    let value = value.with_context(|| format!("{flag} needs a number"))?;
    let number: f64 = value
        .parse()
        .with_context(|| format!("{flag} {value:?} is not a number"))?;
    ensure!(
        number.is_finite() && number >= 0.0,
        "{flag} must be a finite number, 0 or more, not {value}"
    );
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> anyhow::Result<Command> {
        parse(args.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn help_is_asked_for_whatever_follows_or_precedes() {
        for args in [
            &["--help"][..],
            &["-h"],
            &["--overload", "--help"],
            &["--bogus", "--help"],
        ] {
            assert_eq!(parsed(args).unwrap(), Command::Help, "{args:?}");
        }
    }

    #[test]
    fn no_argument_runs_the_targets_only() {
        assert_eq!(parsed(&[]).unwrap(), Command::Run(Options::default()));
    }

    #[test]
    fn every_flag_is_read() {
        let args = [
            "--overload",
            "--rss-minutes",
            "10",
            "--rss-rate",
            "250.5",
            "--rss-only",
        ];
        assert_eq!(
            parsed(&args).unwrap(),
            Command::Run(Options {
                overload: true,
                overload_only: false,
                rss_only: true,
                rss_minutes: 10.0,
                rss_rate_per_s: Some(250.5),
            })
        );
        let Command::Run(options) = parsed(&["--overload-only"]).unwrap() else {
            panic!("--overload-only is a run");
        };
        assert!(options.overload_only);
    }

    #[test]
    fn an_unknown_or_malformed_argument_is_refused() {
        for args in [
            &["--overlaod"][..],
            &["help"],
            &["--rss-minutes"],
            &["--rss-minutes", "ten"],
            &["--rss-minutes", "-1"],
            &["--rss-minutes", "inf"],
            &["--rss-rate", "0"],
            &["--rss-only", "--overload-only"],
        ] {
            assert!(parsed(args).is_err(), "{args:?} was accepted");
        }
    }
}
