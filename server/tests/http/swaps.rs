//! The swap (change) over HTTP, as a wallet of `semper-client` makes it: a plan that pays an
//! amount no coin held matches, its fees shown first; the swap, whose replay gets the same bytes
//! and whose request id is kept; a second spend of a swapped coin refused with the swap's
//! permission as proof (409 with the coin's index for a swap, `swapped` for a deposit); and a
//! coin paid, refunded in part and swapped once for what was refunded. All of it again with the
//! issuer's spent set split over two shard groups (docs/protocol.md §7.25).

use std::time::{Duration, Instant};

use semper_client::change::{ChangeError, plan_change};
use semper_client::parties::{Merchant, Wallet};
use semper_client::{Api, SwapError};
use semper_protocol::acquirer::proves_swapped;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::{ContractHash, RequestId};
use semper_protocol::messages::merchant::DepositResult;
use semper_protocol::messages::spend::EarlierSpend;
use semper_protocol::messages::swap::SwapResponse;
use semper_protocol::wallet::{self, WalletCoin};
use semper_server::config::SpentShardSection;
use semper_storage::schema::Column;
use semper_storage::{Role, Store};
use serde_json::Value;

use crate::world::{Embedded, now, run};

fn eur(text: &str) -> Amount {
    format!("EUR:{text}").parse().unwrap()
}

/// Sends `request` as it is, and answers the status and the body's JSON.
fn raw(api: &mut Api, request: &semper_protocol::messages::swap::SwapRequest) -> (u16, Value) {
    let body = serde_json::to_vec(request).unwrap();
    let response = api
        .send("POST", "/v1/issuer/swap", Some(&body), false)
        .unwrap();
    (
        response.status,
        serde_json::from_slice(&response.body).unwrap(),
    )
}

#[test]
fn http_swap_makes_change_replays_and_proves_double_spends() {
    run(async {
        let env = Embedded::start("swaps").await;
        change_over_http(&env).await;
        env.stop().await;
    });
}

/// The same with the issuer's spent set over two shard groups, each a RocksDB directory of its
/// own: the swaps' and deposits' coins are spent in the groups.
#[test]
fn http_swap_with_the_spent_set_sharded_makes_change_and_proves_double_spends() {
    run(async {
        let mut groups = Vec::new();
        let env = Embedded::start_configured("swaps-sharded", |config| {
            groups = (0..2)
                .map(|group| config.node.data_dir.join(format!("spent-shard-{group}")))
                .collect();
            let issuer = (config.banks.iter_mut())
                .find_map(|bank| bank.issuer.as_mut())
                .expect("the embedded default hosts an issuer");
            issuer.spent_shards = (groups.iter())
                .map(|dir| SpentShardSection {
                    rocksdb: Some(dir.clone()),
                    postgres: None,
                    buckets: Vec::new(),
                })
                .collect();
        })
        .await;
        change_over_http(&env).await;
        let spent: usize = (groups.iter())
            .map(|dir| {
                let group = Store::open_read_only(dir, Role::SpentShard).unwrap();
                group
                    .scan_prefix(Column::SpentCoins, &[], 1024)
                    .unwrap()
                    .len()
            })
            .sum();
        assert!(spent > 0, "no coin was spent in the shard groups");
        env.stop().await;
    });
}

/// [`change`] through `env`'s HTTP API, as the operator (who credits the wallets' accounts).
async fn change_over_http(env: &Embedded) {
    let addr = env.public.addr;
    let token = env.deployment.operator_token().expose().to_owned();
    let acquirer = env.acquirer_bank();
    actix_web::rt::task::spawn_blocking(move || change(Api::new(addr, Some(token)), acquirer))
        .await
        .unwrap();
}

fn change(mut api: Api, acquirer: semper_protocol::ids::BankId) {
    let api = &mut api;
    let at = now();
    let set = api.denominations().unwrap();
    let of = |value: &str| -> Denomination {
        let found = (set.body().fields().denominations.iter())
            .find(|d| d.value() == eur(value) && d.can_withdraw(at));
        found.unwrap().clone()
    };
    let (tenth, one) = (of("0.10"), of("1.00"));
    let currency = Currency::new("EUR").unwrap();
    let wallet = Wallet::open(api, currency, eur("50.00"), "swap-funding").unwrap();
    let held = wallet.withdraw(api, &one, 3).unwrap().coins;
    let balance = wallet.account_view(api).unwrap().balance;
    assert_eq!(balance, eur("47.00"));
    let merchant = Merchant::register(api, acquirer).unwrap();

    // The plan: one coin pays as it is, the other is swapped for three tenths that pay and seven
    // kept; nothing swapped for an amount the coins match; more than they hold refused.
    let plan = plan_change(&held, eur("1.30"), &set, at).unwrap();
    assert_eq!((plan.pay.len(), plan.give.len()), (1, 1), "{plan:?}");
    assert_eq!(plan.wanted, vec![tenth.clone(); 10]);
    assert_eq!((plan.wanted_paying, plan.swap_fees), (3, eur("0.00")));
    assert!(!plan_change(&held, eur("2.00"), &set, at).unwrap().swaps());
    assert!(matches!(
        plan_change(&held, eur("3.10"), &set, at),
        Err(ChangeError::NotEnough { .. })
    ));

    // The swap, sent as it is: a replay gets the same bytes and spends nothing more.
    let given = held[plan.give[0]].clone();
    let request_id = RequestId(rand::random());
    let (request, planned) = wallet::prepare_swap(
        &mut rand::rng(),
        request_id,
        std::slice::from_ref(&given),
        &plan.wanted,
    )
    .unwrap();
    let (status, first) = raw(api, &request);
    assert_eq!(status, 200, "{first}");
    assert_eq!(raw(api, &request), (200, first.clone()));
    let response: SwapResponse = serde_json::from_value(first).unwrap();
    let fresh = wallet::finalize_swap(request_id, planned, &response).unwrap();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|coin| coin.value() == eur("0.10")));
    assert_eq!(wallet.account_view(api).unwrap().balance, balance);
    // Its id with another body.
    let (other, _) = wallet::prepare_swap(
        &mut rand::rng(),
        request_id,
        std::slice::from_ref(&fresh[9]),
        std::slice::from_ref(&tenth),
    )
    .unwrap();
    let (status, body) = raw(api, &other);
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("swap.request_id_reused"))
    );

    // The swapped coin again: 409 with its index and the swap's permission, which proves it.
    let again = wallet.swap(
        api,
        &[fresh[8].clone(), given.clone()],
        &vec![tenth.clone(); 11],
    );
    match again {
        Err(ChangeError::Conflict {
            index: 1,
            earlier,
            proven: true,
        }) => assert!(matches!(*earlier, EarlierSpend::Swap(_)), "{earlier:?}"),
        other => panic!("a second swap of a swapped coin: {other:?}"),
    }
    // A deposit of it: `swapped`, with the same proof.
    let deposit = merchant
        .deposit_of(std::slice::from_ref(&given), ContractHash([4; 32]), at)
        .unwrap();
    let answer = merchant.deposit(api, &deposit).unwrap();
    match answer.results() {
        [DepositResult::Swapped { earlier }] => {
            assert!(proves_swapped(&deposit.body().permissions[0], earlier))
        }
        other => panic!("a deposit of a swapped coin: {other:?}"),
    }

    // The plan's coin was swapped above: carried out now, its swap is a double spend, with proof.
    let change = wallet.make_change(api, &held, &plan);
    assert!(matches!(
        change,
        Err(ChangeError::Conflict { proven: true, .. })
    ));
    // The coins held but that one: pay 1.30 with one as it is and three fresh from the other.
    let rest: Vec<WalletCoin> = (held.iter())
        .filter(|coin| coin.coin() != given.coin())
        .cloned()
        .collect();
    let plan = plan_change(&rest, eur("1.30"), &set, at).unwrap();
    let change = wallet.make_change(api, &rest, &plan).unwrap();
    assert_eq!((change.pay.len(), change.kept.len()), (4, 7));
    let pay = change.pay;
    let contract = ContractHash([5; 32]);
    let deposit = merchant.deposit_of(&pay, contract, at).unwrap();
    let answer = merchant.deposit(api, &deposit).unwrap();
    assert_eq!(answer.credited(), &[eur("1.30")]);

    // Refund half of the paid 1.00 coin; once the issuer has it, the coin swaps once for 0.50.
    let paid = &pay[0];
    let refund = merchant.refund_of(paid, contract, eur("0.50"));
    let refunded = merchant.refund(api, &refund).unwrap();
    assert_eq!(refunded.coin_refunded, eur("0.50"));
    let given = paid.refunded(eur("0.50"));
    // Asking for its whole value is unbalanced once the issuer knows; before, a double spend.
    let whole = swap_once(api, &given, &vec![tenth.clone(); 10]);
    assert_eq!(whole.code(), Some("swap.unbalanced"), "{whole:?}");
    let request_id = RequestId(rand::random());
    let (request, planned) = wallet::prepare_swap(
        &mut rand::rng(),
        request_id,
        std::slice::from_ref(&given),
        &vec![tenth.clone(); 5],
    )
    .unwrap();
    let response = api.swap(&request).unwrap();
    let coins = wallet::finalize_swap(request_id, planned, &response).unwrap();
    assert_eq!(coins.len(), 5);
    assert_eq!(api.swap(&request).unwrap(), response, "its replay");
    // The allowance used, the coin counts at its whole value again, and is spent: the deposit
    // is the proof.
    let once_more = wallet.swap(api, std::slice::from_ref(paid), &vec![tenth.clone(); 10]);
    match once_more {
        Err(ChangeError::Conflict {
            earlier,
            proven: true,
            ..
        }) => assert_eq!(
            *earlier,
            EarlierSpend::Deposit(deposit.body().permissions[0].clone())
        ),
        other => panic!("a second swap of a refunded coin: {other:?}"),
    }
    // The fresh coins pay.
    let deposit = merchant
        .deposit_of(&coins, ContractHash([6; 32]), at)
        .unwrap();
    let answer = merchant.deposit(api, &deposit).unwrap();
    assert_eq!(answer.credited(), &[eur("0.50")]);
}

/// The refunded coin's swap for `wanted`, sent until its issuer has the refund (the acquirer
/// tells it over the link after answering the merchant): the first answer that is not a
/// double spend.
fn swap_once(api: &mut Api, given: &WalletCoin, wanted: &[Denomination]) -> SwapError {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let request_id = RequestId(rand::random());
        let (request, _) = wallet::prepare_swap(
            &mut rand::rng(),
            request_id,
            std::slice::from_ref(given),
            wanted,
        )
        .unwrap();
        match api.swap(&request) {
            Err(SwapError::Conflict { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(error) => return error,
            Ok(response) => panic!("swapped for more than was refunded: {response:?}"),
        }
    }
}
