//! Key isolation (issue 22): the issuer with its signer in another process (`semper signer`),
//! reached over its Unix socket, withdraws and deposits; its memory (every readable mapping of
//! /proc/PID/mem) and its data files hold neither a denomination key's private exponent nor the
//! confirmation key's seed. The same search over the embedded default with its signer in process
//! finds them, so the search can fail.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use semper_actors::signer::client::COUNTS_REFRESH;
use semper_actors::signer::file::JOURNAL_FILE;
use semper_client::Api;
use semper_client::parties::{Merchant, Wallet, withdrawable};
use semper_protocol::amount::Currency;
use semper_protocol::ids::ContractHash;
use semper_server::keytool::parse_bank_id;

use super::factors::Moduli;
use super::memory::{any_chunk_of_process, files_under};
use super::process;
use super::{TOKEN, TempDir, all_accepted, now};

/// `semper signer run`, killed (by its PID) when dropped.
pub struct SignerProcess(pub Child);

impl SignerProcess {
    /// The file-backed signer of `dir`, serving `socket`.
    pub fn start(dir: &Path, socket: &Path) -> Self {
        Self::start_with(dir, socket, &[], &[])
    }

    /// The same with more arguments and environment (a token's).
    pub fn start_with(dir: &Path, socket: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(process::binary())
            .args(["signer", "run", "--dir"])
            .arg(dir)
            .arg("--socket")
            .arg(socket)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let signer = Self(child);
        assert!(line.starts_with("signer: serving"), "{line}");
        signer
    }
}

impl Drop for SignerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The private exponent of a PKCS#1 `RSAPrivateKey` (SEQUENCE of version, n, e, d, ...), as
/// big-endian bytes without leading zeros.
fn private_exponent(der: &[u8]) -> Vec<u8> {
    fn item(bytes: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = bytes[0];
        let (len, header) = match bytes[1] {
            short if short < 0x80 => (short as usize, 2),
            long => {
                let n = (long & 0x7f) as usize;
                let len = bytes[2..2 + n]
                    .iter()
                    .fold(0usize, |len, b| len << 8 | *b as usize);
                (len, 2 + n)
            }
        };
        (tag, &bytes[header..header + len], &bytes[header + len..])
    }
    let (tag, mut fields, _) = item(der);
    assert_eq!(tag, 0x30);
    let mut integers = Vec::new();
    for _ in 0..4 {
        let (tag, value, rest) = item(fields);
        assert_eq!(tag, 0x02);
        integers.push(value);
        fields = rest;
    }
    let d = integers[3];
    d[d.iter().take_while(|b| **b == 0).count()..].to_vec()
}

/// What to look for: each key's secret as it sits in a file and as it may sit in memory
/// (OpenSSL's numbers are little-endian words, so the reversed bytes too).
pub struct Needles {
    seeds: Vec<Vec<u8>>,
    exponents: Vec<Vec<u8>>,
}

impl Needles {
    /// The secrets of the key directory `keys`.
    pub fn of(keys: &Path) -> Self {
        let seeds = vec![std::fs::read(keys.join("confirmation.ed25519")).unwrap()];
        let mut exponents = Vec::new();
        for entry in std::fs::read_dir(keys.join("denominations")).unwrap() {
            let d = private_exponent(&std::fs::read(entry.unwrap().path()).unwrap());
            let mut little = d.clone();
            little.reverse();
            exponents.push(d[..32].to_vec());
            exponents.push(little[..32].to_vec());
        }
        assert_eq!(seeds[0].len(), 32);
        assert!(
            !exponents.is_empty(),
            "no denomination key in {}",
            keys.display()
        );
        Self { seeds, exponents }
    }

    /// Which of the two kinds of secret `haystack` holds: (a seed, an exponent). One pass: a
    /// needle is compared only where its first byte is.
    fn found_in(&self, haystack: &[u8]) -> (bool, bool) {
        let any = |needles: &[Vec<u8>]| {
            let mut first = [false; 256];
            for needle in needles {
                first[needle[0] as usize] = true;
            }
            haystack.iter().enumerate().any(|(at, byte)| {
                first[*byte as usize]
                    && needles
                        .iter()
                        .any(|needle| haystack[at..].starts_with(needle))
            })
        };
        (any(&self.seeds), any(&self.exponents))
    }
}

/// Searches every readable mapping of process `pid` (through /proc/PID/mem) and every file under
/// `data`: (a seed found, an exponent found).
pub fn search(pid: u32, data: &Path, needles: &Needles) -> (bool, bool) {
    let mut found = (false, false);
    let mut merge = |(seed, exponent): (bool, bool)| {
        found = (found.0 || seed, found.1 || exponent);
    };
    // Chunks overlap by a needle's length, so that nothing split across two is missed.
    any_chunk_of_process(pid, 32, |chunk| {
        merge(needles.found_in(chunk));
        false
    });
    for file in files_under(data) {
        if let Ok(bytes) = std::fs::read(&file) {
            merge(needles.found_in(&bytes));
        }
    }
    found
}

/// A withdrawal and a deposit of its coins through the HTTP API, every coin accepted.
pub fn withdraw_and_deposit(api: &mut Api) {
    let denomination = withdrawable(&api.denominations().unwrap(), now()).unwrap();
    let eur = Currency::new("EUR").unwrap();
    let wallet = Wallet::open(api, eur, "EUR:100.00".parse().unwrap(), "transfer-1").unwrap();
    let withdrawal = wallet.withdraw(api, &denomination, 8).unwrap();
    let acquirer = parse_bank_id("02000000000000000000000000000002").unwrap();
    let merchant = Merchant::register(api, acquirer).unwrap();
    let deposit = merchant
        .deposit_of(&withdrawal.coins, ContractHash([5; 32]), now())
        .unwrap();
    let answer = merchant.deposit(api, &deposit).unwrap();
    assert!(all_accepted(answer.results()), "{answer:?}");
}

#[test]
fn the_issuer_holds_no_private_key_with_its_signer_in_another_process() {
    let dir = TempDir::new("signer-out");
    let keys = dir.0.join("signer");
    let socket = dir.0.join("signer.sock");
    let signer = SignerProcess::start(&keys, &socket);
    let mode = std::fs::metadata(&socket).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    let mut env = super::overrides(&dir.0);
    env.push((
        "SEMPER__BANKS__0__ISSUER__SIGNER_SOCKET".into(),
        socket.display().to_string(),
    ));
    let semper = process::start(&[], &env, &dir.0);
    let mut api = Api::new(semper.http, Some(TOKEN.into()));
    withdraw_and_deposit(&mut api);

    // The keys are the signer's: the issuer's directory has none.
    let data = dir.0.join("data");
    let issuer_keys = data.join("issuer").join("issuer").join("keys");
    assert!(
        !issuer_keys.join("denominations").exists()
            && !issuer_keys.join("confirmation.ed25519").exists(),
        "the issuer made keys of its own"
    );
    let needles = Needles::of(&keys);
    assert_eq!(search(semper.pid(), &data, &needles), (false, false));

    // The signer counted the withdrawal's eight signatures, and says so to the operator.
    let counts = Command::new(process::binary())
        .args(["signer", "counts", "--socket"])
        .arg(&socket)
        .output()
        .unwrap();
    let counts = String::from_utf8_lossy(&counts.stdout);
    assert!(
        counts
            .lines()
            .any(|line| line.split_whitespace().nth(1) == Some("8")),
        "{counts}"
    );
    // The issuer's /metrics: each round trip to the signer, and the signer's own counts, read
    // every COUNTS_REFRESH.
    std::thread::sleep(COUNTS_REFRESH + std::time::Duration::from_secs(1));
    let metrics = api.metrics().unwrap();
    assert!(
        metrics.contains("semper_signer_round_trip_seconds_count{request=\"blind_sign\"}"),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|line| line.starts_with("semper_signer_signatures_total{")
            && line.ends_with(" 8")),
        "{metrics}"
    );
    let (status, _) = process::terminate(semper);
    assert!(status.success());
    drop(signer);
}

#[test]
fn the_same_search_finds_the_keys_of_an_issuer_that_signs_in_process() {
    let dir = TempDir::new("signer-in");
    let env = super::overrides(&dir.0);
    let semper = process::start(&[], &env, &dir.0);
    let mut api = Api::new(semper.http, Some(TOKEN.into()));
    withdraw_and_deposit(&mut api);
    let data = dir.0.join("data");
    let needles = Needles::of(&data.join("issuer").join("issuer").join("keys"));
    // Memory alone: the key files themselves are under the data directory.
    assert_eq!(
        search(semper.pid(), &dir.0.join("no-files"), &needles),
        (true, true)
    );
    // The search without needles (signer_token.rs) finds the primes too: little-endian limbs
    // in OpenSSL's memory, big-endian in the DER key files.
    let moduli = Moduli::of(&api.denominations().unwrap());
    assert!(moduli.factor_in_process(semper.pid()));
    assert!(moduli.factor_in_files(&data.join("issuer").join("issuer").join("keys")));
    // The operator reads the in-process signer's counts from its journal file: the withdrawal's
    // eight signatures.
    let journal = data.join("issuer/issuer/keys").join(JOURNAL_FILE);
    let counts = Command::new(process::binary())
        .args(["signer", "counts", "--journal"])
        .arg(&journal)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&counts.stdout);
    assert!(counts.status.success(), "{table}");
    assert!(
        table
            .lines()
            .any(|line| line.split_whitespace().nth(1) == Some("8")),
        "{table}"
    );
    let (status, _) = process::terminate(semper);
    assert!(status.success());
}
