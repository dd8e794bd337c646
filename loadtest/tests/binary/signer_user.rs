//! The multi-bank example's own script (`config/multibank/deploy.sh`), run on a copy of its
//! files moved onto free ports: each issuer's signer is a process of its own, and the issuer
//! holds no private key while a withdrawal at issuer-1 and its deposit at acquirer-2 go through
//! (its memory and its files are searched for the signer's key bytes, as in `signer.rs`). Run as
//! root, the script runs the signer as its own user: the test checks the signer's uid is
//! neither the issuer's nor root's, that the issuer's credentials can open none of the signer's
//! key files, and that only the issuer's credentials reach the signer's socket (an acquirer's
//! do not). Run as another user, it says that everything runs as that user.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use semper_client::Api;
use semper_client::parties::{Merchant, Wallet, withdrawable};
use semper_loadtest::multibank::{BANKS, config_dir};
use semper_protocol::amount::Currency;
use semper_protocol::ids::ContractHash;
use semper_server::keytool::parse_bank_id;

use super::memory::files_under;
use super::signer::{Needles, search};
use super::{TempDir, all_accepted, now, process};

/// The ports the copied example is moved onto are taken from here up (this engineer's range).
const PORTS: std::ops::Range<u16> = 36_100..36_999;

/// The copy of the example under a directory: its script, and its state once started.
struct Example {
    root: PathBuf,
    /// The binary under test, copied where the script's users may run it: the build's own may
    /// sit under a home only root can enter (CI's target directory is under /root).
    binary: PathBuf,
    started: bool,
}

impl Example {
    /// Copies `config/multibank/` (files and script) under `root`, every loopback port of the
    /// files replaced by one free for both TCP and UDP, consistently across the files.
    fn copy(root: &Path) -> Self {
        let from = config_dir().join("multibank");
        let to = root.join("config").join("multibank");
        std::fs::create_dir_all(&to).unwrap();
        let mut ports: Vec<(u16, u16)> = Vec::new();
        let mut next = PORTS.start;
        for entry in std::fs::read_dir(&from).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let text = if path.extension().is_some_and(|ext| ext == "toml") {
                rewrite_ports(&text, &mut ports, &mut next)
            } else {
                text
            };
            std::fs::write(to.join(name), text).unwrap();
        }
        let binary = root.join("bin").join("semper");
        std::fs::create_dir_all(binary.parent().unwrap()).unwrap();
        std::fs::copy(process::binary(), &binary).unwrap();
        Self {
            root: root.to_path_buf(),
            binary,
            started: false,
        }
    }

    /// Runs the copied script with `args`, on the binary under test.
    fn script(&self, args: &[&str]) -> Output {
        Command::new("bash")
            .arg(self.root.join("config/multibank/deploy.sh"))
            .args(args)
            .env("SEMPER_BIN", &self.binary)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    }

    /// `deploy.sh start`: what it printed.
    fn start(&mut self) -> String {
        self.started = true;
        let output = self.script(&["start"]);
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "deploy.sh start: {printed}");
        printed
    }

    fn state(&self) -> PathBuf {
        self.root.join("data").join("multibank")
    }

    /// The pid the script recorded for `what` (a bank, or `BANK-signer`).
    fn pid(&self, what: &str) -> u32 {
        let path = self.state().join("pids").join(what);
        std::fs::read_to_string(&path)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// The API of `bank`, on the port its copied file listens on, with its operator token.
    fn api(&self, bank: &str) -> Api {
        let file = self.root.join(format!("config/multibank/{bank}.toml"));
        let text = std::fs::read_to_string(file).unwrap();
        let listen = text
            .lines()
            .find_map(|line| line.strip_prefix("listen = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap();
        let addr: SocketAddr = listen.parse().unwrap();
        let token =
            std::fs::read_to_string(self.state().join(format!("{bank}.operator-token"))).unwrap();
        Api::new(addr, Some(token.trim().to_owned()))
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        if self.started {
            let _ = self.script(&["stop"]);
        }
    }
}

/// `text` with every `127.0.0.1:PORT` moved to the port `ports` maps it to (a new free one the
/// first time a port is seen).
fn rewrite_ports(text: &str, ports: &mut Vec<(u16, u16)>, next: &mut u16) -> String {
    const HOST: &str = "127.0.0.1:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(HOST) {
        let after = &rest[at + HOST.len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        out.push_str(&rest[..at + HOST.len()]);
        match after[..digits].parse::<u16>() {
            Ok(old) => {
                let new = match ports.iter().find(|(from, _)| *from == old) {
                    Some((_, to)) => *to,
                    None => {
                        let to = free_port(next);
                        ports.push((old, to));
                        to
                    }
                };
                out.push_str(&new.to_string());
            }
            Err(_) => out.push_str(&after[..digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// The next port of [`PORTS`] from `next` that is free on loopback for TCP and UDP now.
fn free_port(next: &mut u16) -> u16 {
    while *next < PORTS.end {
        let port = *next;
        *next += 1;
        if TcpListener::bind(("127.0.0.1", port)).is_ok()
            && UdpSocket::bind(("127.0.0.1", port)).is_ok()
        {
            return port;
        }
    }
    panic!("no free port left in {PORTS:?}");
}

/// Whether this test runs as root (the script then gives each signer a user of its own).
fn is_root() -> bool {
    // SAFETY: geteuid has no memory effects and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A process's credentials, from /proc/PID/status: (uid, gid, supplementary groups).
fn credentials(pid: u32) -> (u32, u32, Vec<u32>) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> Vec<u32> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap()
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect()
    };
    (field("Uid:")[0], field("Gid:")[0], field("Groups:"))
}

/// Runs `program args` with the credentials of process `pid` (through setpriv, as root; as
/// another user, the processes are all its own and it runs as itself).
fn run_with_credentials_of(pid: u32, program: &Path, args: &[&str]) -> Output {
    if !is_root() {
        return Command::new(program).args(args).output().unwrap();
    }
    let (uid, gid, groups) = credentials(pid);
    let groups = if groups.is_empty() {
        "--clear-groups".to_owned()
    } else {
        let list: Vec<String> = groups.iter().map(u32::to_string).collect();
        format!("--groups={}", list.join(","))
    };
    Command::new("setpriv")
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"))
        .arg(groups)
        .arg("--")
        .arg(program)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_multibank_script_keeps_each_signer_apart_from_its_issuer() {
    let dir = TempDir::new("signer-user");
    let mut example = Example::copy(&dir.0);
    let printed = example.start();
    let root = is_root();
    if root {
        assert!(
            printed.contains("every signer runs as semper-signer"),
            "{printed}"
        );
    } else {
        assert!(printed.contains("the invoking user"), "{printed}");
    }

    // A withdrawal at issuer-1, paid to a merchant of acquirer-2: blind signatures and the
    // spend confirmation both come from issuer-1's signer.
    let mut issuer = example.api("issuer-1");
    let mut acquirer = example.api("acquirer-2");
    let denomination = withdrawable(&issuer.denominations().unwrap(), now()).unwrap();
    let eur = Currency::new("EUR").unwrap();
    let wallet =
        Wallet::open(&mut issuer, eur, "EUR:50.00".parse().unwrap(), "transfer-1").unwrap();
    let coins = wallet
        .withdraw(&mut issuer, &denomination, 4)
        .unwrap()
        .coins;
    let acquirer_id = parse_bank_id(BANKS[4].id).unwrap();
    let merchant = Merchant::register(&mut acquirer, acquirer_id).unwrap();
    let deposit = merchant
        .deposit_of(&coins, ContractHash([6; 32]), now())
        .unwrap();
    let answer = merchant.deposit(&mut acquirer, &deposit).unwrap();
    assert!(all_accepted(answer.results()), "{answer:?}");

    // The issuer's memory and files hold none of its signer's keys.
    let state = example.state();
    let keys = state.join("issuer-1-signer");
    let (issuer_pid, signer_pid) = (example.pid("issuer-1"), example.pid("issuer-1-signer"));
    assert_eq!(
        search(issuer_pid, &state.join("issuer-1"), &Needles::of(&keys)),
        (false, false)
    );

    let (issuer_uid, ..) = credentials(issuer_pid);
    let (signer_uid, ..) = credentials(signer_pid);
    let socket = state.join("issuer-1-signer-socket").join("signer.sock");
    let binary = process::binary();
    let counts = ["signer", "counts", "--socket", socket.to_str().unwrap()];
    if root {
        // Users of their own, neither root.
        assert_ne!(signer_uid, issuer_uid);
        assert!(
            signer_uid != 0 && issuer_uid != 0,
            "{signer_uid} {issuer_uid}"
        );
        // The issuer's credentials open none of the key files, nor list the directory.
        let mut files = files_under(&keys);
        assert!(files.len() >= 3, "{files:?}");
        files.push(keys.clone());
        for file in &files {
            let cat =
                run_with_credentials_of(issuer_pid, Path::new("cat"), &[file.to_str().unwrap()]);
            let said = String::from_utf8_lossy(&cat.stderr);
            assert!(
                !cat.status.success() && said.contains("Permission denied"),
                "the issuer's user read {}: {said}",
                file.display()
            );
        }
        // Only the issuer reaches the socket: an acquirer, another user's process, does not.
        let refused = run_with_credentials_of(example.pid("acquirer-1"), &binary, &counts);
        assert!(!refused.status.success(), "an acquirer reached the signer");
    } else {
        assert_eq!(
            signer_uid, issuer_uid,
            "not root: both run as the invoking user"
        );
    }
    let read = run_with_credentials_of(issuer_pid, &binary, &counts);
    let table = String::from_utf8_lossy(&read.stdout);
    assert!(
        read.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert!(
        table
            .lines()
            .any(|line| line.split_whitespace().nth(1) == Some("4")),
        "{table}"
    );

    let stop = example.script(&["stop"]);
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    example.started = false;
}
