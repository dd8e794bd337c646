//! The embedded default as the end-to-end benchmarks over HTTP run it (`bench-refund`,
//! `bench-swap`): `semper run`, the release binary beside the benchmark's own, on a fresh data
//! directory and loopback ports of its own, stopped and removed after; their command lines of
//! counts; and their tables of timed phases.

use std::path::Path;

use anyhow::{Context, bail, ensure};
use semper_loadtest::http_rate::PhaseRate;
use semper_loadtest::process::{ServerProcess, embedded_overrides};
use semper_loadtest::target::{Endpoint, Targets};

/// The operator token of the server started for a run.
const TOKEN: &str = "bench-embedded-operator-token";
/// Attempts a patient client makes before it gives up (it should never need them all).
pub const PATIENT_ATTEMPTS: u32 = 10_000;

/// Reads `--name value` pairs of `words` into the counts named in `knobs`; anything else is
/// refused with `usage`.
pub fn parse_counts(
    mut words: impl Iterator<Item = String>,
    knobs: &mut [(&str, &mut usize)],
    usage: &str,
) -> anyhow::Result<()> {
    while let Some(word) = words.next() {
        let Some((_, slot)) = knobs.iter_mut().find(|(name, _)| *name == word) else {
            bail!("unknown argument {word}: {usage}");
        };
        let value = words
            .next()
            .with_context(|| format!("{word} needs a number"))?;
        **slot = value
            .parse()
            .with_context(|| format!("{word} {value}: not a number"))?;
    }
    Ok(())
}

/// Starts the embedded default for benchmark `name`, runs `bench` against it, and stops it and
/// removes its data, whatever `bench` answered. HTTP listens on `port_base` and the three banks'
/// links on the three ports after it, or on free ports when `port_base` is 0.
pub fn with_embedded<T>(
    name: &str,
    port_base: usize,
    bench: impl FnOnce(Targets) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let semper = std::env::current_exe()?.with_file_name("semper");
    ensure!(
        semper.exists(),
        "{} is missing: build it with `cargo build --release -p semper-server --bin semper`",
        semper.display()
    );
    let ports = match port_base {
        0 => None,
        base => Some(
            u16::try_from(base)
                .ok()
                .filter(|base| base.checked_add(3).is_some())
                .with_context(|| format!("port base {base} out of range"))?,
        ),
    };
    let dir = std::env::temp_dir().join(format!("semper-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let result = run(&semper, &dir, ports, bench);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run<T>(
    semper: &Path,
    dir: &Path,
    port_base: Option<u16>,
    bench: impl FnOnce(Targets) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut env = embedded_overrides(dir, TOKEN);
    if let Some(base) = port_base {
        // Later entries win: these replace the free ports of the overrides.
        env.extend(port_overrides(base));
    }
    let server = ServerProcess::start(semper, &[], &env, dir)?;
    println!("semper run: pid {}, {}", server.pid(), server.http);
    let measured = bench(Targets::single(Endpoint::new(
        server.http,
        Some(TOKEN.into()),
    )));
    let stopped = server.terminate();
    let measured = measured?;
    stopped?;
    Ok(measured)
}

/// The environment that puts an embedded default's HTTP on `base` and its three banks' links on
/// the next three ports, in place of free ones (a run's own port range).
pub fn port_overrides(base: u16) -> Vec<(String, String)> {
    let mut env = vec![("SEMPER__HTTP__LISTEN".into(), format!("127.0.0.1:{base}"))];
    for bank in 0..3u16 {
        env.push((
            format!("SEMPER__BANKS__{bank}__LINK_LISTEN"),
            format!("127.0.0.1:{}", base + 1 + bank),
        ));
    }
    env
}

/// Prints `rows` (a name and its phase) as a Markdown table.
pub fn print_phases(rows: &[(&str, &PhaseRate)]) {
    println!("\n| measure | requests | coins | seconds | coins/s | p50 ms | p99 ms |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (name, phase) in rows {
        println!(
            "| {name} | {} | {} | {:.2} | {:.0} | {:.2} | {:.2} |",
            phase.requests,
            phase.coins,
            phase.seconds,
            phase.coins_per_s,
            phase.p50_ms,
            phase.p99_ms
        );
    }
}
