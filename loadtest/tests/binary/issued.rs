//! The issuer's books against its signer's journal (issue 22): withdrawals (each sent three
//! times, the same request) and a swap (sent twice) against an issuer whose signer is a separate
//! process; then the books (`GET /v1/issuer/issued`, and `semper issuer issued` reading the
//! store read only while the issuer runs) count per denomination exactly the coins the wallet
//! got, and so does the signer's journal (`semper signer counts`): a second swap of a swapped
//! coin, refused, is refused before its outputs are signed.

use std::collections::BTreeMap;
use std::process::Command;

use semper_actors::signer::file::JOURNAL_FILE;
use semper_actors::signer::{Signer, SocketSigner};
use semper_client::Api;
use semper_client::change::ChangeError;
use semper_client::parties::Wallet;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::{DenominationId, RequestId};
use semper_protocol::wallet::{self, WalletCoin};

use super::signer::SignerProcess;
use super::{TOKEN, TempDir, now, process};

fn eur(text: &str) -> Amount {
    format!("EUR:{text}").parse().unwrap()
}

/// Coins per denomination.
type Counts = BTreeMap<DenominationId, u64>;

fn add(counts: &mut Counts, coins: &[WalletCoin]) {
    for coin in coins {
        *counts.entry(coin.coin().denomination).or_insert(0) += 1;
    }
}

/// The books, as the HTTP API answers them.
fn books(api: &mut Api) -> Counts {
    let view = api.issued().unwrap();
    view.denominations
        .iter()
        .map(|count| (count.denomination, count.coins))
        .collect()
}

/// The signer's journal, as its running process answers it (keys that signed nothing left out).
fn journal(socket: &std::path::Path) -> Counts {
    let counts = SocketSigner::new(socket).counts().unwrap();
    counts
        .into_iter()
        .filter(|count| count.signatures > 0)
        .map(|count| (count.denomination, count.signatures))
        .collect()
}

/// `semper issuer issued --data DIR --journal PATH`: each line's denomination and its issued,
/// signed and signed-issued columns (keys that signed nothing, which it lists too, left out).
fn printed(dir: &std::path::Path, journal: &std::path::Path) -> BTreeMap<String, [i128; 3]> {
    let output = Command::new(process::binary())
        .args(["issuer", "issued", "--data"])
        .arg(dir)
        .arg("--journal")
        .arg(journal)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    table
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let number = |i: usize| fields[i].parse::<i128>().unwrap();
            (fields[0].to_owned(), [number(1), number(2), number(3)])
        })
        .filter(|(_, counts)| counts != &[0, 0, 0])
        .collect()
}

#[test]
fn the_books_count_what_the_signer_signed_once_per_recorded_request() {
    let dir = TempDir::new("issued");
    let keys = dir.0.join("signer");
    let socket = dir.0.join("signer.sock");
    let signer = SignerProcess::start(&keys, &socket);
    let mut env = super::overrides(&dir.0);
    env.push((
        "SEMPER__BANKS__0__ISSUER__SIGNER_SOCKET".into(),
        socket.display().to_string(),
    ));
    let semper = process::start(&[], &env, &dir.0);
    let api = &mut Api::new(semper.http, Some(TOKEN.into()));
    assert!(books(api).is_empty());

    let set = api.denominations().unwrap();
    let of = |value: &str| -> Denomination {
        let found = (set.body().fields().denominations.iter())
            .find(|d| d.value() == eur(value) && d.can_withdraw(now()));
        found.unwrap().clone()
    };
    let (tenth, one) = (of("0.10"), of("1.00"));
    let wallet =
        Wallet::open(api, Currency::new("EUR").unwrap(), eur("20.00"), "issued-1").unwrap();
    let mut got = Counts::new();
    let mut sent = Vec::new();

    // Two withdrawals, each sent three times: answered the same, debited and counted once.
    for (denomination, coins) in [(&one, 3), (&tenth, 5)] {
        let (request, planned) = wallet.prepare_withdraw(denomination, coins).unwrap();
        let response = api.withdraw(&request).unwrap();
        for _ in 0..2 {
            assert_eq!(api.withdraw(&request).unwrap(), response);
        }
        let request_id = request.body().request_id;
        let coins = wallet::finalize_coins(request_id, planned, &response).unwrap();
        add(&mut got, &coins);
        sent.push((request, response));
        if denomination.id() == one.id() {
            // A swap, sent twice: one 1.00 coin for ten tenths, counted once.
            let given = std::slice::from_ref(&coins[0]);
            let request_id = RequestId(rand::random());
            let wanted = vec![tenth.clone(); 10];
            let (request, planned) =
                wallet::prepare_swap(&mut rand::rng(), request_id, given, &wanted).unwrap();
            let response = api.swap(&request).unwrap();
            assert_eq!(api.swap(&request).unwrap(), response);
            add(
                &mut got,
                &wallet::finalize_swap(request_id, planned, &response).unwrap(),
            );
            // The swapped coin again: refused, its outputs neither signed nor counted.
            let again = wallet.swap(api, given, &wanted);
            assert!(
                matches!(again, Err(ChangeError::Conflict { proven: true, .. })),
                "{again:?}"
            );
        }
    }
    assert_eq!(wallet.account_view(api).unwrap().balance, eur("16.50"));
    assert_eq!(got.values().sum::<u64>(), 18);

    // The books and the signer's journal hold exactly the coins the wallet got.
    assert_eq!(books(api), got);
    assert_eq!(journal(&socket), got);
    // The same from the store read only, the issuer running, beside the journal file.
    let table = printed(&dir.0.join("data/issuer/issuer"), &keys.join(JOURNAL_FILE));
    let expected: BTreeMap<String, [i128; 3]> = got
        .iter()
        .map(|(denomination, coins)| {
            (
                denomination.to_string(),
                [*coins as i128, *coins as i128, 0],
            )
        })
        .collect();
    assert_eq!(table, expected);

    // Replays after a restart count nothing either.
    let (status, _) = process::terminate(semper);
    assert!(status.success());
    let semper = process::start(&[], &env, &dir.0);
    let api = &mut Api::new(semper.http, Some(TOKEN.into()));
    for (request, response) in &sent {
        assert_eq!(&api.withdraw(request).unwrap(), response);
    }
    assert_eq!(books(api), got);
    let (status, _) = process::terminate(semper);
    assert!(status.success());
    drop(signer);
}
