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
