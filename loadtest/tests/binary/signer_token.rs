//! Key isolation with the keys in an HSM (issue 22, item 2): the issuer's signer as its own
//! process keeps every key in a SoftHSM2 token made for this test (its own SOFTHSM2_CONF, in a
//! temp directory), the issuer withdraws and deposits through it, and neither the issuer's
//! memory and files nor the signer's key directory hold a prime of any denomination key
//! ([`Moduli`]: the keys were made in the token, so no copy of them exists to search for). The
//! same search finds the primes of an issuer that signs in process (signer.rs), so it can fail.
//! The token's own files are SoftHSM's business and are not searched.

use semper_actors::signer::pkcs11::softhsm::{SOFTHSM_MODULE, SoftHsm};
use semper_client::Api;

use super::factors::Moduli;
use super::memory::files_under;
use super::process;
use super::signer::{SignerProcess, withdraw_and_deposit};
use super::{TOKEN, TempDir};

/// The signer's user PIN in these tests.
const PIN: &str = "4321";

/// A SoftHSM2 token under `dir`, and a signer process serving `socket` with its keys in it.
pub fn token_signer(dir: &std::path::Path, socket: &std::path::Path) -> (SoftHsm, SignerProcess) {
    let hsm = SoftHsm::init(&dir.join("hsm"), "semper-issuer", PIN).unwrap();
    let conf = hsm.conf().display().to_string();
    let signer = SignerProcess::start_with(
        &dir.join("signer"),
        socket,
        &[
            "--pkcs11-module",
            SOFTHSM_MODULE,
            "--token-label",
            hsm.label(),
        ],
        &[(SoftHsm::CONF_ENV, &conf), ("SEMPER_SIGNER_PIN", PIN)],
    );
    (hsm, signer)
}

#[test]
fn the_issuer_holds_no_prime_of_a_denomination_key_kept_in_a_softhsm_token() {
    let dir = TempDir::new("signer-token");
    let socket = dir.0.join("signer.sock");
    let (_hsm, signer) = token_signer(&dir.0, &socket);
    let mut env = super::overrides(&dir.0);
    env.push((
        "SEMPER__BANKS__0__ISSUER__SIGNER_SOCKET".into(),
        socket.display().to_string(),
    ));
    let semper = process::start(&[], &env, &dir.0);
    let mut api = Api::new(semper.http, Some(TOKEN.into()));
    withdraw_and_deposit(&mut api);

    // The signer's directory holds its journal and nothing else: the keys are in the token.
    let signer_files = files_under(&dir.0.join("signer"));
    assert_eq!(signer_files.len(), 1, "{signer_files:?}");
    assert!(signer_files[0].ends_with("signer.journal"));

    let moduli = Moduli::of(&api.denominations().unwrap());
    assert!(moduli.len() >= 1);
    assert!(
        !moduli.factor_in_process(semper.pid()),
        "the issuer's memory holds a prime"
    );
    assert!(
        !moduli.factor_in_files(&dir.0.join("data")),
        "the issuer's files hold a prime"
    );
    assert!(
        !moduli.factor_in_files(&dir.0.join("signer")),
        "the signer's files hold a prime"
    );
    // The signer process loads SoftHSM2 itself, which decrypts a key only for the length of
    // an operation (and wipes it): what its memory holds between operations is reported.
    let in_signer = moduli.factor_in_process(signer.0.id());
    eprintln!("signer process memory holds a prime between operations: {in_signer}");
    assert!(
        !in_signer,
        "the signer's memory holds a prime between operations"
    );
    let (status, _) = process::terminate(semper);
    assert!(status.success());
    drop(signer);
}

#[test]
fn a_wrong_pin_is_refused_and_never_printed() {
    let dir = TempDir::new("signer-pin");
    let hsm = SoftHsm::init(&dir.0.join("hsm"), "semper-pin", PIN).unwrap();
    let output = std::process::Command::new(process::binary())
        .args(["signer", "run", "--dir"])
        .arg(dir.0.join("signer"))
        .arg("--socket")
        .arg(dir.0.join("signer.sock"))
        .args([
            "--pkcs11-module",
            SOFTHSM_MODULE,
            "--token-label",
            hsm.label(),
        ])
        .env(SoftHsm::CONF_ENV, hsm.conf())
        .env("SEMPER_SIGNER_PIN", "97531")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("logging in"), "{said}");
    assert!(!said.contains("97531"), "the PIN was printed: {said}");
}
