//! The `semper` binary itself: the embedded default started as a child process on free ports,
//! driven over HTTP through a withdrawal, a deposit and a settlement, stopped with SIGTERM, and
//! started again on the same data to show it resumes where it stopped; and, with the load
//! tester, the benchmarks' and soaks' short versions and multi-bank deployments.
//!
//! These tests live with the load tester so that the server does not depend on it; they run the
//! `semper` binary of the same target directory (see [`process::binary`]).

mod deployment;
mod factors;
mod https;
mod issued;
mod load;
mod memory;
mod multibank;
mod process;
mod rotation;
mod signer;
mod signer_kill;
mod signer_token;
mod signer_user;
mod soak;
// The server's test support (a temporary directory, the time now), shared rather than copied.
#[path = "../../../server/tests/support/mod.rs"]
mod support;

use semper_client::Api;
use semper_client::parties::{Merchant, Wallet, withdrawable};
use semper_client::views::DepositStatusView;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::ids::ContractHash;
use semper_server::keytool::parse_bank_id;
pub use support::{TempDir, all_accepted, now};

pub const TOKEN: &str = "binary-test-operator-token";
const COINS: usize = 8;

/// The embedded default on free ports under `dir`, with cycles and outbox passes left to the test.
fn overrides(dir: &std::path::Path) -> Vec<(String, String)> {
    semper_loadtest::process::embedded_overrides(dir, TOKEN)
}

#[test]
fn the_embedded_default_withdraws_deposits_settles_stops_on_sigterm_and_resumes() {
    let dir = TempDir::new("binary");
    let env = overrides(&dir.0);
    let semper = process::start(&[], &env, &dir.0);
    let mut api = Api::new(semper.http, Some(TOKEN.into()));

    // Withdraw: open an account, fund it, and withdraw coins of a denomination in force.
    let denomination = withdrawable(&api.denominations().unwrap(), now()).unwrap();
    let value = denomination.fields().value;
    let eur = Currency::new("EUR").unwrap();
    let funding: Amount = "EUR:100.00".parse().unwrap();
    let wallet = Wallet::open(&mut api, eur, funding, "transfer-1").unwrap();
    let account = wallet.account;
    let withdrawal = wallet.withdraw(&mut api, &denomination, COINS).unwrap();
    let spent = Amount::from_minor_units(eur, value.minor_units() * COINS as u64);
    let left = funding.checked_sub(spent).unwrap();
    assert_eq!(api.account(account).unwrap().balance, left);

    // Pay a merchant and deposit at the acquirer.
    let acquirer = parse_bank_id("02000000000000000000000000000002").unwrap();
    let merchant = Merchant::register(&mut api, acquirer).unwrap();
    let deposit = merchant
        .deposit_of(&withdrawal.coins, ContractHash([7; 32]), now())
        .unwrap();
    let deposit_id = deposit.body().deposit_id;
    // The merchant checks the acquirer's signed answer, and reads its own data with its key.
    let answer = merchant.deposit(&mut api, &deposit).unwrap();
    assert!(all_accepted(answer.results()), "{answer:?}");
    assert_eq!(answer.credited(), &[spent]);
    assert!(matches!(
        merchant.deposit_status(&mut api, deposit_id).unwrap(),
        DepositStatusView::Done { .. }
    ));
    assert_eq!(merchant.view(&mut api).unwrap().balances, [spent]);
    assert_eq!(wallet.account_view(&mut api).unwrap().balance, left);

    // Settle: submit the outbox, cut the cycle, fetch the report.
    let outbox = api.flush_outbox().unwrap();
    assert!(outbox.pending.is_empty(), "{outbox:?}");
    let report = api.cut_cycle().unwrap();
    let fields = report.body().fields();
    let owed: u64 = fields
        .obligations
        .iter()
        .map(|obligation| obligation.amount.minor_units())
        .sum();
    assert_eq!(owed, spent.minor_units(), "{fields:?}");
    let reports = api.reports(0).unwrap();
    assert!(reports.contains(&report));

    // Metrics of every layer are exposed, and those of the work just done have samples.
    let metrics = api.metrics().unwrap();
    let exercised = [
        "semper_http_requests_total{",
        "semper_http_request_duration_seconds_bucket{",
        "semper_acquirer_micro_batch_coins_bucket",
        "semper_acquirer_verify_seconds_bucket",
        "semper_issuer_spend_check_coins_bucket",
        "semper_issuer_spend_check_verify_seconds_bucket",
        "semper_issuer_withdraw_coins_bucket",
        "semper_link_request_seconds_bucket{",
        "semper_clearing_cycles_total",
        "semper_clearing_submissions_total",
        "semper_acquirer_submissions_total",
    ];
    let required = semper_server::telemetry::metrics::REQUIRED_SERIES;
    for series in required.iter().chain(&exercised) {
        assert!(metrics.contains(series), "/metrics lacks {series}");
    }

    // SIGTERM stops it cleanly, with exit status 0.
    let (status, output) = process::terminate(semper);
    assert!(status.success(), "exit {status:?}: {}", output.join("\n"));
    assert!(
        output.iter().any(|line| line.contains("stopped cleanly")),
        "{output:?}"
    );

    // A restart on the same data resumes where it stopped.
    let semper = process::start(&[], &env, &dir.0);
    let mut api = Api::new(semper.http, Some(TOKEN.into()));
    assert_eq!(api.account(account).unwrap().balance, left);
    assert_eq!(api.merchant(merchant.id).unwrap().balances, [spent]);
    assert!(matches!(
        merchant.deposit_status(&mut api, deposit_id).unwrap(),
        DepositStatusView::Done { .. }
    ));
    assert!(api.reports(0).unwrap().contains(&report));
    // A replayed withdrawal gets the same signatures and debits nothing.
    assert_eq!(
        api.withdraw(&withdrawal.request).unwrap(),
        withdrawal.response
    );
    assert_eq!(api.account(account).unwrap().balance, left);
    let (status, _) = process::terminate(semper);
    assert!(status.success());
}

/// `semper try`, the README's walkthrough, against the embedded default: every step holds (change
/// and a refund's swap included), and it names what it did; against nothing, it says what is
/// missing.
#[test]
fn semper_try_walks_a_newcomer_through_a_withdrawal_a_deposit_and_a_settlement() {
    let dir = TempDir::new("try");
    let env = overrides(&dir.0);
    let semper = process::start(&[], &env, &dir.0);
    let walkthrough = |http: std::net::SocketAddr| {
        std::process::Command::new(process::binary())
            .args(["try", "--http", &http.to_string(), "--coins", "5"])
            .envs(env.iter().map(|(name, value)| (name, value)))
            .current_dir(&dir.0)
            .output()
            .unwrap()
    };

    let output = walkthrough(semper.http);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for step in [
        "3. withdraw: 5 coins",
        "5 accepted",
        "(5 of 5 proofs check)",
        "7. change: to pay",
        "all accepted; the swapped coin is spent",
        "8. refund: the merchant refunded",
        "a second swap of it is refused, with proof",
        "owes acquirer 02000000000000000000000000000002",
        "acquirer 02000000000000000000000000000002 owes issuer",
        "ok: withdrawn, paid, deposited",
    ] {
        assert!(stdout.contains(step), "no `{step}` in:\n{stdout}");
    }
    let (status, _) = process::terminate(semper);
    assert!(status.success());

    let nobody = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = walkthrough(nobody);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is `make run` running?"), "{stderr}");
}
