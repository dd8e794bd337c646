//! An issuer reconciling the clearing house's reports against its books: a true report agrees,
//! a false one signed by the clearing house is recorded with its discrepancies, and one signed by
//! anyone else is recorded as a bad report.

mod clearing_common;

use clearing_common::*;
use semper_actors::clearing::ClearingState;
use semper_actors::issuer::{DenominationSchedule, IssuerConfig, IssuerHandle, IssuerState};
use semper_protocol::bounded::BoundedVec;
use semper_protocol::clearing::cycle_id;
use semper_protocol::crypto::blind_rsa::RsaKeySize;
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::ids::{AccountId, BatchId, ContractHash, MerchantId, RequestId};
use semper_protocol::messages::receipt::ClaimResult;
use semper_protocol::messages::settlement::{Obligation, SettlementReport, SignedSettlementReport};
use semper_protocol::messages::spend::{SignedSpendConfirmation, SpendCheckBatch};
use semper_protocol::reconcile::DiscrepancyKind;
use semper_protocol::signed::Signed;
use semper_protocol::wallet;
use semper_storage::CommitConfig;

fn issuer_config(f: &Fixture, clearing_key: VerifyingKey) -> IssuerConfig {
    IssuerConfig {
        id: ISSUER_1,
        data_dir: f.dir.join("issuer"),
        store: None,
        signer: semper_actors::issuer::config::SignerChoice::InProcess(Default::default()),
        master: Default::default(),
        commit: CommitConfig::default(),
        pool_threads: 2,
        mailbox_capacity: 64,
        in_flight_max: 64,
        schedule: DenominationSchedule {
            values: vec![eur("1.00")],
            fees: Vec::new(),
            key_size: RsaKeySize::Bits2048,
            withdraw_period_ms: 24 * HOUR_MS,
            deposit_grace_ms: 24 * HOUR_MS,
            retention_ms: 24 * HOUR_MS,
            lookahead_ms: HOUR_MS,
            rotation_check_ms: HOUR_MS,
        },
        acquirers: vec![(ACQUIRER_1, *key(ACQUIRER_1).verifying_key())],
        clearing: Some((CLEARING, clearing_key)),
        spent_shards: Default::default(),
    }
}

/// Three coins withdrawn from the issuer and spent at the first acquirer in batch 1: its
/// confirmation.
async fn spent_batch(issuer: &IssuerHandle) -> SignedSpendConfirmation {
    let account_key = SigningKey::from_seed(&[7; 32]);
    let account = AccountId([7; 16]);
    let currency = eur("1.00").currency();
    issuer
        .open_account(account, *account_key.verifying_key(), currency)
        .await
        .unwrap();
    issuer
        .credit(account, "funding".into(), eur("10.00"))
        .await
        .unwrap();
    let denomination = issuer
        .denomination_set()
        .unwrap()
        .body()
        .fields()
        .denominations[0]
        .clone();
    let request_id = RequestId([1; 16]);
    let (request, planned) = wallet::prepare_withdraw(
        &mut rand::rng(),
        &account_key,
        account,
        request_id,
        &vec![denomination; 3],
    )
    .unwrap();
    let response = issuer.withdraw(request).await.unwrap();
    let coins = wallet::finalize_coins(request_id, planned, &response).unwrap();
    let permissions = coins
        .iter()
        .map(|coin| {
            wallet::sign_deposit_permission(
                coin,
                ContractHash([5; 32]),
                MerchantId([5; 16]),
                ACQUIRER_1,
                START,
            )
        })
        .collect();
    let batch = SpendCheckBatch {
        acquirer: ACQUIRER_1,
        batch_id: BatchId([1; 16]),
        permissions: BoundedVec::new(permissions).unwrap(),
    };
    let answer = issuer
        .spend_check(Signed::sign(batch, &key(ACQUIRER_1)))
        .await
        .unwrap();
    answer.confirmation.unwrap()
}

/// `report`'s body with its obligations replaced, signed by `signer`.
fn tampered(
    report: &SignedSettlementReport,
    obligations: Vec<Obligation>,
    signer: &SigningKey,
) -> SignedSettlementReport {
    let fields = report.body().fields();
    let body = SettlementReport::new(
        fields.clearing,
        cycle_id(CLEARING, 2),
        2,
        fields.cutoff_at,
        obligations,
    )
    .unwrap();
    Signed::sign(body, signer)
}

#[test]
fn the_issuer_finds_no_discrepancy_in_a_true_report_and_records_the_false_ones() {
    let mut f = Fixture::new("reconcile");
    // The clearing house's key is made at its first start; the issuer trusts it.
    let clearing_key = {
        let state = ClearingState::open(&f.config(), f.clock.clone()).unwrap();
        *state.key.verifying_key()
    };
    run(async {
        let issuer = IssuerHandle::start(
            IssuerState::open(&issuer_config(&f, clearing_key), f.clock.clone()).unwrap(),
            64,
        );
        let confirmation_key =
            semper_actors::keystore::KeyStore::open(&f.dir.join("issuer").join("keys"))
                .unwrap()
                .signing_key("confirmation", &mut rand::rng())
                .unwrap();
        f.issuer_keys = vec![(ISSUER_1, confirmation_key)];
        let (clearing, _delivered) = f.start(0);
        let confirmation = spent_batch(&issuer).await;
        let receipt = clearing
            .submit(submission(ACQUIRER_1, 1, vec![confirmation]))
            .await
            .unwrap();
        assert_eq!(claims(&receipt), vec![ClaimResult::Claimed]);
        let report = clearing.cut_cycle().await.unwrap();

        // The true report agrees with the books, delivered once or twice.
        assert_eq!(issuer.receive_report(report.clone()).await.unwrap(), vec![]);
        assert_eq!(issuer.receive_report(report.clone()).await.unwrap(), vec![]);
        assert_eq!(issuer.discrepancies(0, 100).unwrap(), vec![]);

        // A report signed by the clearing house listing an unknown batch, for a wrong amount.
        let owed = &report.body().fields().obligations[0];
        let inflated = Obligation {
            amount: eur("4.00"),
            confirmations: BoundedVec::new(vec![BatchId([1; 16]), BatchId([99; 16])]).unwrap(),
            ..owed.clone()
        };
        let false_report = tampered(&report, vec![inflated], &clearing.state().key);
        let found = issuer.receive_report(false_report).await.unwrap();
        let kinds: Vec<_> = found.iter().map(|d| (d.kind, d.batch)).collect();
        assert_eq!(
            kinds,
            vec![
                (
                    DiscrepancyKind::UnknownConfirmation,
                    Some(BatchId([99; 16]))
                ),
                (DiscrepancyKind::AmountMismatch, None),
                (DiscrepancyKind::NetPositionMismatch, None),
            ]
        );
        assert_eq!(
            (found[1].books_minor_units, found[1].report_minor_units),
            (300, 400)
        );
        assert_eq!(issuer.discrepancies(0, 100).unwrap(), found);

        // A report not signed by the clearing house: recorded as bad, not applied.
        let forged = tampered(&report, vec![owed.clone()], &key(ACQUIRER_1));
        let bad = issuer.receive_report(forged).await.unwrap();
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].kind, DiscrepancyKind::BadReport);
        assert_eq!(bad[0].counterparty, CLEARING);
        let recorded = issuer.discrepancies(0, 100).unwrap();
        assert_eq!(recorded.len(), 4);
        assert_eq!(recorded[3], bad[0]);
        let store = &issuer.state().store;
        let kept = semper_storage::reports::received_report(store, 2)
            .unwrap()
            .unwrap();
        assert_eq!(kept.discrepancies.count, 3);
        assert_eq!(
            semper_storage::reports::last_sequence(store).unwrap(),
            Some(2)
        );
    });
}
