//! The key tool, through the `semper` binary: a bank's link identity that loads back, with an
//! owner-only key, and that is never overwritten.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use semper_link::Identity;
use semper_protocol::ids::BankId;
use semper_server::keytool::{LINK_CERTIFICATE_FILE, LINK_KEY_FILE};

fn identity_command(dir: &std::path::Path, bank: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_semper"))
        .args(["identity", "--bank", bank, "--days", "30", "--dir"])
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn the_key_tool_makes_a_loadable_identity_with_an_owner_only_key_and_never_replaces_it() {
    let dir = std::env::temp_dir().join(format!("semper-keytool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bank = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";

    let made = identity_command(&dir, bank);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (certificate, key) = (dir.join(LINK_CERTIFICATE_FILE), dir.join(LINK_KEY_FILE));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let identity = Identity::load(BankId([0x0b; 16]), &certificate, &key).unwrap();
    assert_eq!(identity.bank(), BankId([0x0b; 16]));
    // The key never shows in what the tool prints.
    let printed = String::from_utf8_lossy(&made.stdout);
    assert!(!printed.contains("PRIVATE KEY"), "{printed}");

    let before = std::fs::read(&key).unwrap();
    let again = identity_command(&dir, bank);
    assert!(
        !again.status.success(),
        "a second run must not replace the key"
    );
    assert_eq!(std::fs::read(&key).unwrap(), before);

    let bad = identity_command(&dir.join("other"), "not-hex");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("32 hex digits"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `semper identity rotate` on the one bank of `config`, with `extra` arguments.
fn rotate_command(config: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_semper"))
        .args(["identity", "rotate", "--config"])
        .arg(config)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_rotation_puts_both_certificates_on_the_card_then_the_next_one_alone() {
    use semper_server::config::{BankCard, CARD_FILE};

    let dir = std::env::temp_dir().join(format!("semper-rotate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("issuer.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\ndata_dir = {:?}\n\n[[banks]]\nname = \"issuer\"\n\
             id = \"01000000000000000000000000000001\"\nlink_listen = \"127.0.0.1:0\"\n\
             [banks.issuer]\ndenominations = [\"EUR:1.00\"]\n",
            dir.join("data")
        ),
    )
    .unwrap();
    let ok = |output: std::process::Output| {
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{printed}");
        printed
    };
    let keys = Command::new(env!("CARGO_BIN_EXE_semper"))
        .args(["keys", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    ok(keys);
    let card_path = dir.join("data/issuer").join(CARD_FILE);
    let card = || BankCard::read(&card_path, "card").unwrap();
    let first = card();
    assert_eq!(first.next_certificate, None);

    let printed = ok(rotate_command(&config, &[]));
    assert!(printed.contains("--finish"), "{printed}");
    let during = card();
    assert_eq!(during.certificate, first.certificate);
    let next = during.next_certificate.clone().unwrap();
    assert_ne!(next, first.certificate);
    // The next key is owner-only, like the current one.
    let next_key = dir.join("data/issuer/link-key.next.pem");
    assert_eq!(
        std::fs::metadata(&next_key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A second rotation cannot begin while one is under way.
    let again = rotate_command(&config, &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already under way"));

    ok(rotate_command(&config, &["--finish"]));
    let after = card();
    assert_eq!((after.certificate, after.next_certificate), (next, None));
    assert!(!next_key.exists());
    let finished_twice = rotate_command(&config, &["--finish"]);
    assert!(!finished_twice.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
