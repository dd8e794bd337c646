//! `bench-signer` (`make bench-signer`): withdrawal throughput end to end over HTTP with the
//! issuer's signer in three places, each against the in-process signer and against the raw
//! signing rate of its own backend, all measured in the same run on the same two cores:
//! 1. the references: OpenSSL's raw RSA-2048 private operation (what the file backend runs)
//!    and SoftHSM2's raw `C_Sign` with `CKM_RSA_X_509` (what the token backend runs), each on
//!    2 threads;
//! 2. closed-loop withdrawals (`semper-load`, every request blinded before the clock starts) on
//!    a fresh embedded default with its signer in process; then with `semper signer run` over
//!    key files, reached over its Unix socket; then with `semper signer run` over a SoftHSM2
//!    token made for the run in a temp directory;
//! 3. the references again; their mean is what the ratios divide by.
//!
//! It runs the `semper` release binary beside this one, and stops every process it starts.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use openssl::rsa::{Padding, Rsa};
use rayon::prelude::*;
use semper_actors::signer::backend::KeyBackend;
use semper_actors::signer::pkcs11::TokenKeys;
use semper_actors::signer::pkcs11::softhsm::{SOFTHSM_MODULE, SoftHsm};
use semper_bench::load_phase::{phase, rate_of, withdraw_config};
use semper_loadtest::process::{ServerProcess, embedded_overrides};
use semper_loadtest::target::{Endpoint, Targets};
use semper_protocol::crypto::blind_rsa::RsaKeySize;

const THREADS: usize = 2;
const TOKEN: &str = "bench-signer-operator-token";
/// Each reference runs this long.
const REFERENCE_TIME: Duration = Duration::from_secs(3);
/// Closed-loop workers (each a wallet), and the withdrawals each makes ready.
const WALLETS: usize = 8;
const WITHDRAWALS_PER_WALLET: usize = 96;
/// The test tokens' user PIN.
const PIN: &str = "bench-pin";

/// Where the issuer's signer runs.
#[derive(Clone, Copy)]
enum Placement {
    InProcess,
    Files,
    Token,
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("semper-bench-signer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    // SoftHSM2 reads its config once, when this process first initialises it: the reference
    // token's, set before any other thread starts.
    let reference = SoftHsm::init(&dir.join("reference-hsm"), "bench-reference", PIN)?;
    // SAFETY: no other thread exists yet.
    unsafe { std::env::set_var(SoftHsm::CONF_ENV, reference.conf()) };
    let result = bench(&sibling("semper")?, &dir, &reference);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn bench(semper: &Path, dir: &Path, reference: &SoftHsm) -> anyhow::Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()?;
    let openssl_key = Rsa::generate(2048)?;
    let token = TokenKeys::open(&reference.token_config())?;
    let (_, token_key) = token.generate(RsaKeySize::Bits2048)?;
    let input = raw_input();
    let openssl_raw = || {
        rate(&pool, || {
            let mut out = vec![0u8; 256];
            openssl_key
                .private_decrypt(&input, &mut out, Padding::NONE)
                .map(|_| ())
                .map_err(anyhow::Error::from)
        })
    };
    let token_raw = || {
        rate(&pool, || {
            token
                .raw_sign(&token_key, &input)
                .map(|_| ())
                .map_err(anyhow::Error::from)
        })
    };
    let (openssl_before, token_before) = (openssl_raw()?, token_raw()?);
    println!(
        "references: OpenSSL raw RSA-2048 {openssl_before:.0} /s, SoftHSM2 C_Sign RSA_X_509 \
         {token_before:.0} /s ({THREADS} threads each)"
    );
    let in_process = withdrawals(semper, &dir.join("in-process"), Placement::InProcess)?;
    let files = withdrawals(semper, &dir.join("files"), Placement::Files)?;
    let tokens = withdrawals(semper, &dir.join("token"), Placement::Token)?;
    let (openssl_after, token_after) = (openssl_raw()?, token_raw()?);
    println!(
        "references: OpenSSL raw RSA-2048 {openssl_after:.0} /s, SoftHSM2 C_Sign RSA_X_509 \
         {token_after:.0} /s ({THREADS} threads each)"
    );
    let openssl = (openssl_before + openssl_after) / 2.0;
    let softhsm = (token_before + token_after) / 2.0;

    println!();
    println!(
        "withdrawals end to end over HTTP ({THREADS} cores, {WALLETS} clients, 64 coins each)"
    );
    println!(
        "{:<34} {:>10} {:>12} {:>26} {:>10}",
        "signer", "coins/s", "/ in-process", "raw rate of its backend", "/ raw"
    );
    for (name, coins, raw_name, raw) in [
        ("in process, key files", in_process, "OpenSSL", openssl),
        ("own process, key files", files, "OpenSSL", openssl),
        (
            "own process, SoftHSM2 token",
            tokens,
            "SoftHSM2 C_Sign",
            softhsm,
        ),
    ] {
        println!(
            "{name:<34} {coins:>10.0} {:>12.2} {:>26} {:>10.2}",
            coins / in_process,
            format!("{raw_name} {raw:.0} /s"),
            coins / raw
        );
    }
    Ok(())
}

/// A raw RSA input below any 2048-bit modulus.
fn raw_input() -> Vec<u8> {
    let mut input: Vec<u8> = (0..256).map(|_| rand::random::<u8>()).collect();
    input[0] = 0;
    input
}

/// Operations a second of `op` on the pool's threads, for [`REFERENCE_TIME`].
fn rate(
    pool: &rayon::ThreadPool,
    op: impl Fn() -> anyhow::Result<()> + Sync,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut done = 0usize;
    while started.elapsed() < REFERENCE_TIME {
        pool.install(|| (0..64).into_par_iter().try_for_each(|_| op()))?;
        done += 64;
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

/// Closed-loop withdrawals on a fresh embedded default under `dir` with its signer placed so:
/// coins a second.
fn withdrawals(semper: &Path, dir: &Path, placement: Placement) -> anyhow::Result<f64> {
    std::fs::create_dir_all(dir)?;
    let socket = dir.join("signer.sock");
    let mut env = embedded_overrides(dir, TOKEN);
    let _signer = match placement {
        Placement::InProcess => None,
        Placement::Files => Some(SignerProcess::start(semper, dir, &socket, None)?),
        Placement::Token => {
            let hsm = SoftHsm::init(&dir.join("hsm"), "bench-issuer", PIN)?;
            Some(SignerProcess::start(semper, dir, &socket, Some(&hsm))?)
        }
    };
    if !matches!(placement, Placement::InProcess) {
        env.push((
            "SEMPER__BANKS__0__ISSUER__SIGNER_SOCKET".into(),
            socket.display().to_string(),
        ));
    }
    let server = ServerProcess::start(semper, &[], &env, dir)?;
    let target = Targets::single(Endpoint::new(server.http, Some(TOKEN.into())));
    let name = match placement {
        Placement::InProcess => "withdraw, signer in process",
        Placement::Files => "withdraw, signer in its own process over key files",
        Placement::Token => "withdraw, signer in its own process over a SoftHSM2 token",
    };
    let report = phase(
        name,
        withdraw_config(&target, WALLETS, WITHDRAWALS_PER_WALLET),
    )?;
    server.terminate()?;
    rate_of(&report, "withdraw")
}

/// `semper signer run`, killed (by its PID) when dropped.
struct SignerProcess(Child);

impl SignerProcess {
    fn start(
        semper: &Path,
        dir: &Path,
        socket: &Path,
        token: Option<&SoftHsm>,
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(semper);
        command
            .args(["signer", "run", "--dir"])
            .arg(dir.join("signer"))
            .arg("--socket")
            .arg(socket)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(hsm) = token {
            command
                .args([
                    "--pkcs11-module",
                    SOFTHSM_MODULE,
                    "--token-label",
                    hsm.label(),
                ])
                .env(SoftHsm::CONF_ENV, hsm.conf())
                .env("SEMPER_SIGNER_PIN", hsm.pin());
        }
        let mut child = command.spawn().context("starting semper signer")?;
        let stdout = child.stdout.take().context("the signer's stdout")?;
        let signer = Self(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        ensure!(
            line.starts_with("signer: serving"),
            "the signer said {line:?}"
        );
        Ok(signer)
    }
}

impl Drop for SignerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary `name` beside this one, as `cargo build --release` leaves it.
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::current_exe()?.with_file_name(name);
    ensure!(
        path.exists(),
        "{} is missing: build it with `cargo build --release -p semper-server --bin semper`",
        path.display()
    );
    Ok(path)
}
