//! `semper run` given a certificate and key serves HTTPS and says so in its banner, and
//! `semper try --ca` walks a newcomer through a withdrawal and a deposit over it.

use std::os::unix::fs::PermissionsExt;

use rcgen::{CertificateParams, KeyPair};

use crate::process;
use crate::{TempDir, overrides};

#[test]
fn semper_run_serves_https_with_a_certificate_and_semper_try_speaks_it() {
    let dir = TempDir::new("https");
    // A self-signed certificate for 127.0.0.1: `semper try` pins it as its only root.
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.0.join("http-cert.pem"), dir.0.join("http-key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut env = overrides(&dir.0);
    env.push((
        "SEMPER__HTTP__TLS_CERT".into(),
        cert_path.display().to_string(),
    ));
    env.push((
        "SEMPER__HTTP__TLS_KEY".into(),
        key_path.display().to_string(),
    ));

    let mut semper = process::start(&[], &env, &dir.0);
    let banner = semper.wait_for_line("health:").unwrap();
    assert!(banner.contains("https://"), "{banner}");
    let output = std::process::Command::new(process::binary())
        .args(["try", "--http", &semper.http.to_string(), "--coins", "2"])
        .arg("--ca")
        .arg(&cert_path)
        .envs(env.iter().map(|(name, value)| (name, value)))
        .current_dir(&dir.0)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("against https://"), "{stdout}");
    assert!(
        stdout.contains("ok: withdrawn, paid, deposited"),
        "{stdout}"
    );
    let (status, _) = process::terminate(semper);
    assert!(status.success());
}
