//! The master key ceremony end to end, through the `semper` binary: the master key made by
//! `semper offline init`, an issuer configured with its public half alone (three banks in one
//! process), the export, the offline signature and the upload; then a withdrawal, a deposit and
//! a settlement (`semper try`) work with the new set. A set signed by another key is refused with
//! `set.invalid_signature` and changes nothing, and so is a stale one. A revocation signed offline
//! is published: wallets see it, the issuer signs no more of it and the acquirer refuses its
//! coins. The wallet recoups its unspent coin of it: its account is credited once, a later deposit
//! of the coin is refused with the recoup as proof, and a coin forged with the leaked key, never
//! withdrawn, gets nothing.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use std::time::{SystemTime, UNIX_EPOCH};

use semper_client::api::Api;
use semper_client::parties::{Merchant, Wallet, Withdrawal, withdrawable};
use semper_protocol::amount::Currency;
use semper_protocol::crypto::blind_rsa::DenominationSecretKey;
use semper_protocol::denomination::Denomination;
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::ids::ContractHash;
use semper_protocol::ids::RequestId;
use semper_protocol::messages::merchant::DepositResult;
use semper_protocol::messages::withdraw::WithdrawResponse;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::{self, WalletCoin};
use semper_server::keytool::parse_bank_id;

/// This engineer's loopback ports: HTTP, then the three banks' links.
const HTTP_PORT: u16 = 32080;
const LINK_PORTS: [u16; 3] = [32001, 32002, 32003];
const TOKEN: &str = "offline-ceremony-operator-token";

/// The server process; killed (by its pid) when the test ends, passing or failing.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn semper(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_semper"))
        .args(args)
        .output()
        .unwrap()
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn ok(args: &[&str]) -> String {
    let output = semper(args);
    let text = printed(&output);
    assert!(output.status.success(), "semper {args:?} failed:\n{text}");
    text
}

fn refused(args: &[&str], code: &str) {
    let output = semper(args);
    let text = printed(&output);
    assert!(
        !output.status.success(),
        "semper {args:?} succeeded:\n{text}"
    );
    assert!(
        text.contains(code),
        "semper {args:?}: expected {code}:\n{text}"
    );
}

fn refused_upload(cfg: &str, file: &Path) {
    refused(
        &[
            "denominations",
            "--config",
            cfg,
            "publish",
            file.to_str().unwrap(),
        ],
        "set.not_newer",
    );
}

/// Exports the set to publish into `export`, has the master key in `wrong_dir` (not the issuer's)
/// sign it into `wrong_signed`, and checks that its upload is refused for its signature.
fn export_signed_by_the_wrong_key_refused(
    cfg: &str,
    wrong_dir: &Path,
    export: &Path,
    wrong_signed: &Path,
) {
    let text = |path: &Path| path.to_str().unwrap().to_owned();
    ok(&[
        "denominations",
        "--config",
        cfg,
        "export",
        "--out",
        &text(export),
    ]);
    ok(&[
        "offline",
        "sign",
        "--dir",
        &text(wrong_dir),
        "--set",
        &text(export),
        "--out",
        &text(wrong_signed),
    ]);
    refused(
        &[
            "denominations",
            "--config",
            cfg,
            "publish",
            &text(wrong_signed),
        ],
        "set.invalid_signature",
    );
}

fn config(dir: &Path, master_key: &str) -> PathBuf {
    let path = dir.join("bank.toml");
    let [issuer, acquirer, clearing] = LINK_PORTS;
    std::fs::write(
        &path,
        format!(
            "[node]\ndata_dir = {data:?}\nlog = \"warn\"\n\n\
             [http]\nlisten = \"127.0.0.1:{HTTP_PORT}\"\noperator_token = \"{TOKEN}\"\n\n\
             [[banks]]\nname = \"issuer\"\nid = \"01000000000000000000000000000001\"\n\
             link_listen = \"127.0.0.1:{issuer}\"\n\
             [banks.issuer]\ndenominations = [\"EUR:1.00\", \"EUR:10.00\"]\n\
             master_key = \"{master_key}\"\n\n\
             [[banks]]\nname = \"acquirer\"\nid = \"02000000000000000000000000000002\"\n\
             link_listen = \"127.0.0.1:{acquirer}\"\n[banks.acquirer]\n\
             denomination_refresh_ms = 3600000\n\n\
             [[banks]]\nname = \"clearing\"\nid = \"03000000000000000000000000000003\"\n\
             link_listen = \"127.0.0.1:{clearing}\"\n[banks.clearing]\n",
            data = dir.join("data"),
        ),
    )
    .unwrap();
    path
}

/// Starts `semper run` and waits for its start-up summary.
fn start(config: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_semper"))
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let addr = format!("127.0.0.1:{HTTP_PORT}").parse().unwrap();
    loop {
        assert!(Instant::now() < deadline, "semper did not start in time");
        while receiver.try_recv().is_ok() {}
        if Api::new(addr, None)
            .get::<serde_json::Value>("/health")
            .is_ok()
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn api() -> Api {
    Api::new(
        format!("127.0.0.1:{HTTP_PORT}").parse().unwrap(),
        Some(TOKEN.into()),
    )
}

/// The secret of `denomination` as its issuer's signer keeps it, found under `dir`: the leak a
/// revocation answers.
fn leaked_key(dir: &Path, denomination: &Denomination) -> DenominationSecretKey {
    let name = format!("{}.rsa.der", denomination.id());
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name().and_then(|n| n.to_str()) == Some(name.as_str()) {
                return DenominationSecretKey::from_der(&std::fs::read(&path).unwrap()).unwrap();
            }
        }
    }
    panic!("no key file {name} under {}", dir.display());
}

/// A coin of `denomination` signed with its leaked `key`, which no withdrawal paid for.
fn forged(denomination: &Denomination, key: &DenominationSecretKey) -> WalletCoin {
    let id = RequestId([9; 16]);
    let anyone = semper_protocol::crypto::ed25519::SigningKey::generate(&mut rand::rng());
    let (request, planned) = wallet::prepare_withdraw(
        &mut rand::rng(),
        &anyone,
        semper_protocol::ids::AccountId([9; 16]),
        id,
        std::slice::from_ref(denomination),
    )
    .unwrap();
    let signatures: Vec<_> = request
        .body()
        .coins
        .iter()
        .map(|coin| key.blind_sign(&coin.blinded).unwrap())
        .collect();
    let response = WithdrawResponse {
        request_id: id,
        blind_signatures: signatures.try_into().unwrap(),
    };
    wallet::finalize_coins(id, planned, &response)
        .unwrap()
        .remove(0)
}

fn public_key(init_output: &str) -> String {
    init_output
        .lines()
        .find_map(|line| line.strip_prefix("public key: "))
        .unwrap()
        .trim()
        .to_owned()
}

/// The wallet recoups coin 0 of `withdrawal` (of the revoked `leaked`): credited its value once,
/// the same request again answered the same; coin 2, spent before the revocation, is refused
/// (`recoup.coin_spent`), and `forgery` in coin 1's slot too (`recoup.not_withdrawn`), both
/// crediting nothing.
fn recoup_pays_withdrawn_coins_only(
    api: &mut Api,
    wallet: &Wallet,
    withdrawal: &Withdrawal,
    forgery: WalletCoin,
    leaked: &Denomination,
) {
    let before = wallet.account_view(api).unwrap().balance;
    let request = &withdrawal.request;
    let coins = &withdrawal.coins;
    let recouped = wallet.recoup(api, request, 0, &coins[0]).unwrap();
    assert_eq!(recouped.credited, leaked.value());
    assert_eq!(wallet.recoup(api, request, 0, &coins[0]).unwrap(), recouped);
    let credited = before.checked_add(leaked.value()).unwrap();
    assert_eq!(wallet.account_view(api).unwrap().balance, credited);
    let spent = wallet.recoup(api, request, 2, &coins[2]).err().unwrap();
    let spent = spent.to_string();
    assert!(spent.contains("recoup.coin_spent"), "{spent}");
    let forged = wallet.recoup(api, request, 1, &forgery).err().unwrap();
    let forged = forged.to_string();
    assert!(forged.contains("recoup.not_withdrawn"), "{forged}");
    assert_eq!(wallet.account_view(api).unwrap().balance, credited);
}

#[test]
fn an_offline_master_key_signs_the_set_the_issuer_publishes_and_a_wrong_key_changes_nothing() {
    let dir = std::env::temp_dir().join(format!("semper-offline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = |path: &Path| path.to_str().unwrap().to_owned();
    let (master, wrong) = (dir.join("master"), dir.join("wrong"));

    // The offline machine: the master key, owner-only, never replaced.
    let key = public_key(&ok(&["offline", "init", "--dir", &text(&master)]));
    let mode = std::fs::metadata(master.join("master.ed25519"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    refused(
        &["offline", "init", "--dir", &text(&master)],
        "never replaced",
    );
    public_key(&ok(&["offline", "init", "--dir", &text(&wrong)]));

    // The online issuer, with the public key alone: no set until the ceremony.
    let config = config(&dir, &key);
    let cfg = text(&config);
    let _server = start(&config);
    assert!(!dir.join("data/issuer/issuer/offline").exists());
    let unpublished = api().denominations().unwrap_err();
    assert_eq!(unpublished.code(), Some("set.unpublished"));

    // Export; a set signed by the wrong key is refused, and nothing is published.
    let (export, signed, wrong_signed) = (
        dir.join("export.json"),
        dir.join("signed.json"),
        dir.join("wrong.json"),
    );
    export_signed_by_the_wrong_key_refused(&cfg, &wrong, &export, &wrong_signed);
    assert_eq!(
        api().denominations().unwrap_err().code(),
        Some("set.unpublished")
    );

    // Signed by the master key, uploaded, published.
    ok(&[
        "offline",
        "sign",
        "--dir",
        &text(&master),
        "--set",
        &text(&export),
        "--out",
        &text(&signed),
    ]);
    // The offline tool signs each sequence once: the same export again is stale.
    refused(
        &[
            "offline",
            "sign",
            "--dir",
            &text(&master),
            "--set",
            &text(&export),
            "--out",
            &text(&dir.join("again.json")),
        ],
        "set.not_newer",
    );
    ok(&["denominations", "--config", &cfg, "publish", &text(&signed)]);
    let published: SignedDenominationSet = api().denominations().unwrap();
    let verifying = semper_protocol::crypto::ed25519::VerifyingKey::from_bytes(
        &hex::decode(&key).unwrap().try_into().unwrap(),
    )
    .unwrap();
    published.verify(&verifying).unwrap();
    // Both values, each with its next key made ahead (`lookahead_ms`).
    assert_eq!(published.body().fields().denominations.len(), 4);

    // The acquirer takes it; a withdrawal, a deposit and a settlement work with it.
    api()
        .post::<_, serde_json::Value>("/v1/acquirer/denominations/refresh", &(), true)
        .unwrap();
    ok(&["try", "--config", &cfg, "--coins", "2"]);

    // After it: the same upload again is stale, a wrong key's next set is refused, and the
    // published set is unchanged.
    refused(
        &["denominations", "--config", &cfg, "publish", &text(&signed)],
        "set.not_newer",
    );
    export_signed_by_the_wrong_key_refused(&cfg, &wrong, &export, &wrong_signed);
    assert_eq!(api().denominations().unwrap(), published);

    // Revocation: a wallet holds coins of a denomination; the master key revokes it offline, the
    // upload publishes it; the wallet learns it, the issuer signs no more of it, the acquirer
    // refuses its coins once it has refreshed.
    let now = Timestamp::from_unix_ms(
        u64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap(),
    );
    let mut api = api();
    let eur = Currency::new("EUR").unwrap();
    let wallet = Wallet::open(&mut api, eur, "EUR:20.00".parse().unwrap(), "revoke-1").unwrap();
    let leaked = withdrawable(&published, now).unwrap();
    let withdrawal = wallet.withdraw(&mut api, &leaked, 3).unwrap();
    let coins = withdrawal.coins.clone();
    let acquirer = parse_bank_id("02000000000000000000000000000002").unwrap();
    let merchant = Merchant::register(&mut api, acquirer).unwrap();
    // Coin 2 is spent before the revocation.
    let paid = merchant
        .deposit_of(&coins[2..], ContractHash([4; 32]), now)
        .unwrap();
    let answer = merchant.deposit(&mut api, &paid).unwrap();
    assert_eq!(answer.results(), [DepositResult::Accepted]);
    // The key leaks before it is revoked: its holder can sign coins no withdrawal paid for.
    let forgery = forged(&leaked, &leaked_key(&dir.join("data"), &leaked));
    let revoke = dir.join("revoke.json");
    let id = leaked.id().to_string();
    ok(&[
        "offline",
        "revoke",
        "--dir",
        &text(&master),
        "--denomination",
        &id,
        "--out",
        &text(&revoke),
    ]);
    ok(&["denominations", "--config", &cfg, "publish", &text(&revoke)]);
    let learned = api.denominations().unwrap();
    assert!(learned.body().is_revoked(&leaked.id()));
    assert_ne!(
        withdrawable(&learned, now).map(|d| d.id()),
        Some(leaked.id())
    );
    let refused = wallet
        .withdraw(&mut api, &leaked, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("denomination.revoked"), "{refused}");

    // Recoup: coin 0 back to the account, once; the spent coin 2 and the forgery get nothing.
    recoup_pays_withdrawn_coins_only(&mut api, &wallet, &withdrawal, forgery, &leaked);
    // A deposit of the recouped coin, at the acquirer that has not refreshed since: the issuer
    // refuses it with the recoup, signed by the coin's key, as proof.
    let again = merchant
        .deposit_of(&coins[..1], ContractHash([6; 32]), now)
        .unwrap();
    let answer = merchant.deposit(&mut api, &again).unwrap();
    let [DepositResult::Recouped { earlier }] = answer.results() else {
        panic!("{:?}", answer.results());
    };
    assert_eq!(earlier.body().coin, *coins[0].coin());
    earlier.verify_coin_key().unwrap();

    api.post::<_, serde_json::Value>("/v1/acquirer/denominations/refresh", &(), true)
        .unwrap();
    let request = merchant
        .deposit_of(&coins[..2], ContractHash([5; 32]), now)
        .unwrap();
    let answer = merchant.deposit(&mut api, &request).unwrap();
    let results = serde_json::to_string(answer.results()).unwrap();
    assert_eq!(
        results.matches("denomination.revoked").count(),
        2,
        "{results}"
    );
    // The same revocation again is stale; the revocation stays.
    refused_upload(&cfg, &revoke);

    let _ = std::fs::remove_dir_all(&dir);
}
