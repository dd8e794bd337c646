//! The multi-bank example of `config/multibank/`: five `semper` processes (a clearing house, two
//! issuers, two acquirers), each from its own file, on free loopback ports. A wallet of one issuer
//! pays a merchant of the other bank's acquirer, and the payment settles by itself: the acquirer
//! submits its outbox, the clearing house cuts the cycle and reports it. The same again with the
//! variant of `config/multibank-atm/`, whose acquirer–clearing links run over emulated ATM.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use semper_loadtest::client::Api;
use semper_loadtest::parties::{Merchant, Wallet, withdrawable};
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::ids::ContractHash;
use semper_server::keytool::parse_bank_id;

use super::process::{self, Process};
use super::{TOKEN, TempDir, all_accepted, now};

/// The banks in the order each file lists the others as peers.
const BANKS: [&str; 5] = [
    "clearing",
    "issuer-1",
    "issuer-2",
    "acquirer-1",
    "acquirer-2",
];
/// The longest the test waits for a cycle to settle by itself.
const SETTLE_WAIT: Duration = Duration::from_secs(60);

/// What the links between the acquirers and the clearing house run over.
#[derive(Clone, Copy, PartialEq)]
enum Carrier {
    Quic,
    Atm,
}

/// The file of `bank`: the ATM variant's, when asked for and it has one.
fn config_file(bank: &str, carrier: Carrier) -> PathBuf {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let atm = config.join("multibank-atm").join(format!("{bank}.toml"));
    if carrier == Carrier::Atm && atm.exists() {
        return atm;
    }
    config.join("multibank").join(format!("{bank}.toml"))
}

fn free_port_udp() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_port_tcp() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The overrides that move bank `index` onto the test's directory and ports.
fn overrides(index: usize, data: &Path, links: &[u16], https: &[u16]) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "SEMPER__NODE__DATA_DIR".to_owned(),
            data.display().to_string(),
        ),
        (
            "SEMPER__HTTP__LISTEN".to_owned(),
            format!("127.0.0.1:{}", https[index]),
        ),
        ("SEMPER__HTTP__OPERATOR_TOKEN".to_owned(), TOKEN.to_owned()),
        (
            "SEMPER__BANKS__0__LINK_LISTEN".to_owned(),
            format!("127.0.0.1:{}", links[index]),
        ),
    ];
    let peers = (0..BANKS.len()).filter(|peer| *peer != index);
    for (slot, peer) in peers.enumerate() {
        let card = data.join(BANKS[peer]).join("card.toml");
        env.push((
            format!("SEMPER__BANKS__0__PEERS__{slot}__CARD"),
            card.display().to_string(),
        ));
        env.push((
            format!("SEMPER__BANKS__0__PEERS__{slot}__ADDR"),
            format!("127.0.0.1:{}", links[peer]),
        ));
    }
    env
}

#[test]
fn five_processes_settle_a_cross_bank_payment() {
    settle_a_cross_bank_payment(Carrier::Quic);
}

#[test]
fn five_processes_settle_a_cross_bank_payment_over_emulated_atm() {
    settle_a_cross_bank_payment(Carrier::Atm);
}

fn settle_a_cross_bank_payment(carrier: Carrier) {
    let dir = TempDir::new("multibank");
    let data = dir.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let links: Vec<u16> = BANKS.iter().map(|_| free_port_udp()).collect();
    let https: Vec<u16> = BANKS.iter().map(|_| free_port_tcp()).collect();
    let envs: Vec<_> = (0..BANKS.len())
        .map(|index| overrides(index, &data, &links, &https))
        .collect();

    for (bank, env) in BANKS.iter().zip(&envs) {
        let status = Command::new(env!("CARGO_BIN_EXE_semper"))
            .args(["keys", "--config"])
            .arg(config_file(bank, carrier))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "warn")
            .status()
            .unwrap();
        assert!(status.success(), "semper keys failed for {bank}");
    }
    let mut processes: Vec<Process> = BANKS
        .iter()
        .zip(&envs)
        .map(|(bank, env)| {
            let file = config_file(bank, carrier).display().to_string();
            process::start(&["--config", &file], env, &dir.0)
        })
        .collect();
    let mut issuer = Api::new(processes[1].http, Some(TOKEN.into()));
    let mut acquirer = Api::new(processes[4].http, Some(TOKEN.into()));
    let mut clearing = Api::new(processes[0].http, Some(TOKEN.into()));

    // A wallet of issuer-1 withdraws two coins, and pays a merchant of acquirer-2 with them.
    let denomination = withdrawable(&issuer.denominations().unwrap(), now()).unwrap();
    let eur = Currency::new("EUR").unwrap();
    let wallet =
        Wallet::open(&mut issuer, eur, "EUR:50.00".parse().unwrap(), "transfer-1").unwrap();
    let coins = wallet
        .withdraw(&mut issuer, &denomination, 2)
        .unwrap()
        .coins;
    let acquirer_id = parse_bank_id("02000000000000000000000000000002").unwrap();
    let merchant = Merchant::register(&mut acquirer, acquirer_id).unwrap();
    let deposit = merchant
        .deposit_of(&coins, ContractHash([9; 32]), now())
        .unwrap();
    let answer = acquirer.deposit(&deposit).unwrap();
    assert!(all_accepted(&answer), "{answer:?}");

    // It settles by itself: the report of the cycle obliges issuer-1 to acquirer-2 for it.
    let paid = Amount::from_minor_units(eur, 2 * denomination.fields().value.minor_units());
    let issuer_id = parse_bank_id("01000000000000000000000000000001").unwrap();
    let deadline = Instant::now() + SETTLE_WAIT;
    let report =
        loop {
            let reports = clearing.reports(0).unwrap();
            let found =
                reports.into_iter().find(|report| {
                    report.body().fields().obligations.iter().any(|o| {
                        o.issuer == issuer_id && o.acquirer == acquirer_id && o.amount == paid
                    })
                });
            if let Some(report) = found {
                break report;
            }
            assert!(
                Instant::now() < deadline,
                "no report settled the payment in time"
            );
            std::thread::sleep(Duration::from_millis(250));
        };
    let positions = &report.body().fields().net_positions;
    assert!(!positions.is_empty());
    if carrier == Carrier::Atm {
        // The submission and the report crossed the circuits as cells, and the HEC saw them.
        for api in [&mut acquirer, &mut clearing] {
            let metrics = api.metrics().unwrap();
            let cells_received = metrics
                .lines()
                .filter(|line| line.starts_with("semper_atm_cells_received_total"))
                .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>();
            assert!(cells_received > 0.0, "no ATM cells received:\n{metrics}");
        }
    }

    // Every process stops cleanly on SIGTERM.
    for (bank, process) in BANKS.iter().zip(processes.drain(..)) {
        let (status, output) = process::terminate(process);
        assert!(
            status.success(),
            "{bank}: {status:?}\n{}",
            output.join("\n")
        );
        let over_atm = output.iter().any(|line| line.contains("link: quic+atm://"));
        let atm_bank = carrier == Carrier::Atm && *bank != "issuer-1" && *bank != "issuer-2";
        assert_eq!(over_atm, atm_bank, "{bank}: {}", output.join("\n"));
    }
}
