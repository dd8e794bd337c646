//! HTTPS: a deployment given a certificate and key serves the API over TLS only. A wallet and a
//! merchant withdraw and deposit over https, trusting the CA by its file; a plain-HTTP client
//! gets no answer; a key file others can read is refused at start, naming the file; and plain
//! HTTP on an address other than loopback is refused unless the config says so.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use semper_actors::clock::SystemClock;
use semper_client::parties::{Merchant, Wallet, withdrawable};
use semper_client::{Api, HttpClient, Tls};
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::ids::ContractHash;
use semper_server::config::{Config, EMBEDDED_TOML};
use semper_server::deployment::Deployment;

use crate::support::{TempDir, all_accepted, now};
use crate::world::{Embedded, metrics_render, run};

/// A test CA and a server certificate it signed for `localhost` and 127.0.0.1, as PEM files.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = TempDir::new("http-tls-pki");
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "semper test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&server_key, &issuer)
            .unwrap();
        let pki = Self { dir };
        std::fs::write(pki.ca(), ca_cert.pem()).unwrap();
        std::fs::write(pki.cert(), server.pem()).unwrap();
        std::fs::write(pki.key(), server_key.serialize_pem()).unwrap();
        std::fs::set_permissions(pki.key(), std::fs::Permissions::from_mode(0o600)).unwrap();
        pki
    }

    fn ca(&self) -> PathBuf {
        self.dir.0.join("ca.pem")
    }

    fn cert(&self) -> PathBuf {
        self.dir.0.join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.0.join("key.pem")
    }

    /// Serves `config`'s API with this certificate and key.
    fn serve_with(&self, config: &mut Config) {
        config.http.tls_cert = Some(self.cert());
        config.http.tls_key = Some(self.key());
    }
}

#[test]
fn http_over_tls_a_wallet_withdraws_and_a_merchant_deposits_and_plain_http_gets_no_answer() {
    let pki = Pki::new();
    run(async {
        let world = Embedded::start_configured("http-tls", |config| pki.serve_with(config)).await;
        let addr = world.deployment.http_addr().unwrap();
        assert_eq!(world.deployment.http_scheme(), Some("https"));
        let token = world.deployment.operator_token().expose().to_owned();
        let acquirer = world.acquirer_bank();
        let tls = Tls::from_ca_file(&pki.ca(), "localhost").unwrap();
        actix_web::rt::task::spawn_blocking(move || {
            let mut api = Api::over(HttpClient::with_tls(addr, tls), Some(token));
            let denomination = withdrawable(&api.denominations().unwrap(), now()).unwrap();
            let eur = Currency::new("EUR").unwrap();
            let funding: Amount = "EUR:10.00".parse().unwrap();
            let wallet = Wallet::open(&mut api, eur, funding, "tls-funding").unwrap();
            let withdrawal = wallet.withdraw(&mut api, &denomination, 2).unwrap();
            assert_eq!(withdrawal.coins.len(), 2);
            let merchant = Merchant::register(&mut api, acquirer).unwrap();
            let deposit = merchant
                .deposit_of(&withdrawal.coins, ContractHash([3; 32]), now())
                .unwrap();
            let answer = merchant.deposit(&mut api, &deposit).unwrap();
            assert!(all_accepted(answer.results()), "{answer:?}");

            // Plain HTTP to the TLS port: no HTTP answer at all.
            let plain = HttpClient::new(addr).request("GET", "/health", &[], None);
            assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
        })
        .await
        .unwrap();
        world.stop().await;
    });
}

#[test]
fn http_tls_refuses_a_key_file_others_can_read_and_plain_http_beyond_loopback() {
    let pki = Pki::new();
    std::fs::set_permissions(pki.key(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let dir = TempDir::new("http-tls-open-key");
    let mut config = Config::embedded_for_tests(&dir.0);
    pki.serve_with(&mut config);
    let refused = run(async {
        match Deployment::start(&config, Arc::new(SystemClock), metrics_render()).await {
            Ok(deployment) => {
                deployment.stop().await;
                None
            }
            Err(error) => Some(error.to_string()),
        }
    })
    .expect("a key file readable by others was used");
    assert!(
        refused.contains(&pki.key().display().to_string()) && refused.contains("mode 644"),
        "{refused}"
    );

    let plain_beyond_loopback = [("SEMPER__HTTP__LISTEN".to_owned(), "0.0.0.0:0".to_owned())];
    let error = Config::parse(
        EMBEDDED_TOML,
        Path::new("<embedded>"),
        Path::new("."),
        plain_beyond_loopback.clone(),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("`http.allow_plain_non_loopback`"), "{error}");
    let allowed = plain_beyond_loopback.into_iter().chain([(
        "SEMPER__HTTP__ALLOW_PLAIN_NON_LOOPBACK".to_owned(),
        "true".to_owned(),
    )]);
    Config::parse(EMBEDDED_TOML, Path::new("<e>"), Path::new("."), allowed).unwrap();
}
