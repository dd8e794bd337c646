//! The demo does the real work: its flow's outcomes, and the `semper` binary's exit status.

use std::process::Command;

use semper_protocol::batch_verifier::PermissionError;
use semper_protocol::crypto::blind_rsa::RsaKeySize;
use semper_protocol::time::Timestamp;
use semper_server::demo::{self, DemoError, DemoOptions};

fn options(coins: usize) -> DemoOptions {
    DemoOptions {
        coins,
        rsa_size: RsaKeySize::Bits2048,
        verify_threads: 2,
        now: Timestamp::from_unix_ms(1_800_000_000_000),
    }
}

#[test]
fn demo_spends_each_coin_once_and_catches_the_double_spend_and_the_forgery() {
    let report = demo::run(&options(3)).unwrap();

    assert_eq!(report.coins, 3);
    assert_eq!(report.withdrawn.to_string(), "EUR:3.00");
    assert_eq!(report.balance_after.to_string(), "EUR:997.00");
    assert_eq!(report.accepted, 3);
    assert_eq!(report.merchant_credit.to_string(), "EUR:3.00");
    assert_eq!(report.replayed, 3);
    assert_eq!(report.spent_coins, 3);

    // The issuer's proof of the double spend is the permission that first spent the coin.
    assert_eq!(report.conflict_proof, report.first_permission);
    assert_ne!(report.double_spend, report.first_permission);
    assert_eq!(
        report.double_spend.body().coin,
        report.first_permission.body().coin
    );

    assert_eq!(report.tampered_error, PermissionError::PermissionSignature);
    assert_eq!(
        report.tampered_error.code(),
        "deposit.invalid_permission_signature"
    );
}

#[test]
fn demo_refuses_coin_counts_outside_one_withdrawal() {
    assert!(matches!(
        demo::run(&options(0)),
        Err(DemoError::CoinCount(0))
    ));
    assert!(matches!(
        demo::run(&options(257)),
        Err(DemoError::CoinCount(257))
    ));
}

#[test]
fn semper_demo_binary_succeeds() {
    let output = Command::new(env!("CARGO_BIN_EXE_semper"))
        .args(["demo", "--coins", "4"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "semper demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("4 accepted"), "{stdout}");
    assert!(stdout.contains("ok: every check held"), "{stdout}");
}

#[test]
fn semper_run_with_a_bad_config_fails_at_start_naming_the_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_semper"))
        .args(["run"])
        .env("SEMPER__HTTP__WORKERS", "0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`http.workers`"), "{stderr}");
    assert!(stderr.contains("expected 1 to 64, got 0"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_semper"))
        .args(["run", "--config", "/nonexistent/semper.toml"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/semper.toml"), "{stderr}");
}

#[test]
fn semper_binary_rejects_too_many_coins() {
    let output = Command::new(env!("CARGO_BIN_EXE_semper"))
        .args(["demo", "--coins", "257"])
        .output()
        .unwrap();
    assert!(!output.status.success());
}
