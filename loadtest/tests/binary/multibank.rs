//! The multi-bank example of `config/multibank/`: five `semper` processes (a clearing house, two
//! issuers, two acquirers), each from its own file, on free loopback ports, as
//! `semper_loadtest::multibank` sets them up (the multi-bank crash-kill soak starts them so too).
//! A wallet of one issuer pays a merchant of the other bank's acquirer, and the payment settles
//! by itself: the acquirer submits its outbox, the clearing house cuts the cycle and reports it.
//! The same again with the variant of `config/multibank-atm/`, whose acquirer–clearing links run
//! over emulated ATM.

use std::time::{Duration, Instant};

use semper_client::parties::{Merchant, Wallet, withdrawable};
use semper_loadtest::multibank::{self, BANKS, Carrier};
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::ids::ContractHash;
use semper_server::keytool::parse_bank_id;

use super::process::{self, Process};
use super::{TOKEN, TempDir, all_accepted, now};

/// The longest the test waits for a cycle to settle by itself.
const SETTLE_WAIT: Duration = Duration::from_secs(60);

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
    let deployment = multibank::deployment(&dir.0, carrier, TOKEN).unwrap();
    let mut processes: Vec<Process> = deployment
        .start(&process::binary(), &dir.0)
        .unwrap_or_else(|error| panic!("{error}"));
    let targets = &deployment.targets;
    let mut issuer = targets.issuers[0].api();
    let mut acquirer = targets.acquirers[1].api();
    let mut clearing = targets.clearing.api();

    // A wallet of issuer-1 withdraws two coins, and pays a merchant of acquirer-2 with them.
    let denomination = withdrawable(&issuer.denominations().unwrap(), now()).unwrap();
    let eur = Currency::new("EUR").unwrap();
    let wallet =
        Wallet::open(&mut issuer, eur, "EUR:50.00".parse().unwrap(), "transfer-1").unwrap();
    let coins = wallet
        .withdraw(&mut issuer, &denomination, 2)
        .unwrap()
        .coins;
    let acquirer_id = targets.acquirers[1].bank.unwrap();
    let merchant = Merchant::register(&mut acquirer, acquirer_id).unwrap();
    let deposit = merchant
        .deposit_of(&coins, ContractHash([9; 32]), now())
        .unwrap();
    let answer = merchant.deposit(&mut acquirer, &deposit).unwrap();
    assert!(all_accepted(answer.results()), "{answer:?}");

    // It settles by itself: the report of the cycle obliges issuer-1 to acquirer-2 for it.
    let paid = Amount::from_minor_units(eur, 2 * denomination.fields().value.minor_units());
    let issuer_id = parse_bank_id(BANKS[1].id).unwrap();
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
    for (bank, process) in BANKS.iter().map(|bank| bank.name).zip(processes.drain(..)) {
        let (status, output) = process::terminate(process);
        assert!(
            status.success(),
            "{bank}: {status:?}\n{}",
            output.join("\n")
        );
        let over_atm = output.iter().any(|line| line.contains("link: quic+atm://"));
        let atm_bank = carrier == Carrier::Atm && bank != "issuer-1" && bank != "issuer-2";
        assert_eq!(over_atm, atm_bank, "{bank}: {}", output.join("\n"));
    }
}
