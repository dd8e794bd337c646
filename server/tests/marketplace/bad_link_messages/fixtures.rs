//! What the cases start from: two coins spent at ISSUER_1 and confirmed for ACQUIRER_1, who
//! claimed them; one confirmed for ACQUIRER_2, not claimed; coins of ISSUER_1 still unspent, one
//! with its coin key; ISSUER_2's denomination revoked, with a coin of it; and cycle 1 cut and
//! reported to every participant.

use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use semper_protocol::amount::Currency;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::ids::{AccountId, BankId, RequestId};
use semper_protocol::messages::link::{LinkRequest, LinkResponse};
use semper_protocol::messages::receipt::{ClaimResult, SignedSubmissionReceipt};
use semper_protocol::messages::settlement::{SignedSettlementReport, SignedSettlementSubmission};
use semper_protocol::messages::spend::{
    SignedSpendCheckBatch, SignedSpendConfirmation, SpendCheckResponse, SpendResult,
};
use semper_protocol::wallet::{self, WalletCoin};
use semper_storage::reports;

use super::messages::{batch, pay, submission};
use super::table::Bench;
use crate::world::*;

pub struct Fixtures {
    /// The acquirers' bank keys, and a key no one knows.
    pub key_1: SigningKey,
    pub key_2: SigningKey,
    pub stranger_key: SigningKey,
    /// The issuers' confirmation keys, and the clearing house's report key.
    pub issuer_1_key: SigningKey,
    pub issuer_2_key: SigningKey,
    pub clearing_key: SigningKey,
    /// ISSUER_1's denomination set as published.
    pub denomination_set: SignedDenominationSet,
    /// The two coins spent, by the batch `checked`, confirmed by `confirmed`.
    pub spent: Vec<WalletCoin>,
    pub checked: SignedSpendCheckBatch,
    pub confirmed: SignedSpendConfirmation,
    /// ISSUER_1's confirmation of a coin for ACQUIRER_2.
    pub owed_to_2: SignedSpendConfirmation,
    /// ACQUIRER_1's submission of `confirmed`, and its receipt.
    pub claimed: SignedSettlementSubmission,
    pub receipt: Box<SignedSubmissionReceipt>,
    /// An unspent coin of ISSUER_1 and its coin key; another, unspent too.
    pub fresh: WalletCoin,
    pub fresh_key: SigningKey,
    pub twice: WalletCoin,
    /// A coin of ISSUER_2's revoked denomination.
    pub revoked: WalletCoin,
    /// The report of cycle 1.
    pub report: SignedSettlementReport,
}

impl Fixtures {
    pub async fn set_up(world: &World, market: &Market, bench: &mut Bench<'_>) -> Self {
        let key_1 = world.acquirer_signing_key(ACQUIRER_1);
        let key_2 = world.acquirer_signing_key(ACQUIRER_2);
        let spent = market.coins(ISSUER_1, 2).await;
        let permissions = spent.iter().map(|coin| pay(coin, ACQUIRER_1)).collect();
        let checked = batch(ACQUIRER_1, &key_1, permissions);
        let request = LinkRequest::SpendCheck(Box::new(checked.clone()));
        let first = spend_check_answer(bench.answer(ACQUIRER_1, ISSUER_1, request).await);
        assert_eq!(first.results.to_vec(), vec![SpendResult::Accepted; 2]);
        let confirmed = first.confirmation.unwrap();

        let theirs = market.coins(ISSUER_1, 1).await;
        let request = LinkRequest::SpendCheck(Box::new(batch(
            ACQUIRER_2,
            &key_2,
            vec![pay(&theirs[0], ACQUIRER_2)],
        )));
        let theirs = spend_check_answer(bench.answer(ACQUIRER_2, ISSUER_1, request).await);
        let owed_to_2 = theirs.confirmation.unwrap();

        let claimed = submission(ACQUIRER_1, &key_1, vec![confirmed.clone()]);
        let request = LinkRequest::Submit(Box::new(claimed.clone()));
        let LinkResponse::Receipt(receipt) = bench.answer(ACQUIRER_1, CLEARING, request).await
        else {
            panic!("not a receipt");
        };
        assert_eq!(receipt.body().claims.to_vec(), vec![ClaimResult::Claimed]);

        let (fresh, fresh_key) = coin_with_key(market, ISSUER_1, 2).await;
        let twice = market.coins(ISSUER_1, 1).await.remove(0);
        let revoked = market.coins(ISSUER_2, 1).await.remove(0);
        let denomination = revoked.coin().denomination;
        market.issuer(ISSUER_2).revoke(denomination).await.unwrap();
        let report = market.clearing().cut_cycle().await.unwrap();
        reported_everywhere(market, report.body().fields().sequence).await;

        Self {
            key_1,
            key_2,
            stranger_key: SigningKey::generate(&mut rand::rng()),
            issuer_1_key: market.issuer_confirmation_key(ISSUER_1),
            issuer_2_key: market.issuer_confirmation_key(ISSUER_2),
            clearing_key: market.clearing().state().key.clone(),
            denomination_set: (*market.issuer(ISSUER_1).denomination_set().unwrap()).clone(),
            spent,
            checked,
            confirmed,
            owed_to_2,
            claimed,
            receipt,
            fresh,
            fresh_key,
            twice,
            revoked,
            report,
        }
    }
}

fn spend_check_answer(answer: LinkResponse) -> Box<SpendCheckResponse> {
    match answer {
        LinkResponse::SpendCheck(answer) => answer,
        other => panic!("not a spend-check answer: {other:?}"),
    }
}

/// One coin of `issuer` withdrawn from a fresh account, with its coin key, so that a test can sign
/// permissions that say what the wallet would not. The wallet draws the first coin's key first
/// from the generator, so the same seed gives it back.
async fn coin_with_key(market: &Market, issuer: BankId, seed: u64) -> (WalletCoin, SigningKey) {
    let handle = market.issuer(issuer);
    let account_key = SigningKey::generate(&mut rand::rng());
    let account = AccountId(rand::random());
    let currency = Currency::new("EUR").unwrap();
    let opened = handle.open_account(account, *account_key.verifying_key(), currency);
    opened.await.unwrap();
    let funding = format!("funding-{account}");
    handle
        .credit(account, funding, eur("100.00"))
        .await
        .unwrap();
    let denomination = handle
        .denomination_set()
        .unwrap()
        .body()
        .fields()
        .denominations[0]
        .clone();
    let request_id = RequestId(rand::random());
    let (request, planned) = wallet::prepare_withdraw(
        &mut StdRng::seed_from_u64(seed),
        &account_key,
        account,
        request_id,
        &[denomination],
    )
    .unwrap();
    let response = handle.withdraw(request).await.unwrap();
    let mut coins = wallet::finalize_coins(request_id, planned, &response).unwrap();
    let key = SigningKey::generate(&mut StdRng::seed_from_u64(seed));
    assert_eq!(key.verifying_key(), &coins[0].coin().public_key);
    (coins.remove(0), key)
}

/// Waits until every participant has recorded the report of cycle `sequence`.
async fn reported_everywhere(market: &Market, sequence: u64) {
    let deadline = Instant::now() + WAIT;
    let issuers = ISSUERS
        .iter()
        .map(|bank| &market.issuer(*bank).state().store);
    let acquirers = ACQUIRERS
        .iter()
        .map(|bank| &market.acquirer(*bank).state().store);
    for store in issuers.chain(acquirers) {
        while reports::last_sequence(store).unwrap() < Some(sequence) {
            assert!(Instant::now() < deadline, "report {sequence} never arrived");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
