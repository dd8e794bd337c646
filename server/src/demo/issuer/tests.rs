//! The demo issuer refuses bad requests without changing its state.

use semper_protocol::amount::Amount;
use semper_protocol::crypto::blind_rsa::RsaKeySize;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::{AccountId, BankId, BatchId, ContractHash, MerchantId, RequestId};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::spend::{SignedSpendCheckBatch, SpendCheckBatch};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::{self, WalletCoin};

use super::{DemoIssuer, IssuerError};

const ISSUER: BankId = BankId([1; 16]);
const ACQUIRER: BankId = BankId([2; 16]);
const ACCOUNT: AccountId = AccountId([3; 16]);
const NOW: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);

fn eur(text: &str) -> Amount {
    text.parse().unwrap()
}

/// An issuer with one EUR:1.00 denomination and `ACCOUNT` holding `balance`, opened for
/// `account_key`.
fn issuer(account_key: &SigningKey, balance: &str) -> DemoIssuer {
    let mut issuer = DemoIssuer::new(&mut rand::rng(), ISSUER, 1).unwrap();
    issuer
        .add_denomination(eur("EUR:1.00"), RsaKeySize::Bits2048, NOW)
        .unwrap();
    issuer.open_account(ACCOUNT, *account_key.verifying_key(), eur(balance));
    issuer
}

/// Withdraws `count` coins from `issuer`, signed by `account_key`.
fn withdraw(
    issuer: &mut DemoIssuer,
    account_key: &SigningKey,
    count: usize,
) -> Result<Vec<WalletCoin>, IssuerError> {
    let set = issuer.publish(1, NOW).unwrap();
    let denomination = set.body().fields().denominations[0].clone();
    let request_id = RequestId([4; 16]);
    let (request, planned) = wallet::prepare_withdraw(
        &mut rand::rng(),
        account_key,
        ACCOUNT,
        request_id,
        &vec![denomination; count],
    )
    .unwrap();
    let response = issuer.withdraw(&request, NOW)?;
    Ok(wallet::finalize_coins(request_id, planned, &response).unwrap())
}

fn permission(coin: &WalletCoin) -> SignedDepositPermission {
    wallet::sign_deposit_permission(
        coin,
        ContractHash([5; 32]),
        MerchantId([6; 16]),
        ACQUIRER,
        NOW,
    )
}

fn batch(key: &SigningKey, permissions: Vec<SignedDepositPermission>) -> SignedSpendCheckBatch {
    let batch = SpendCheckBatch {
        acquirer: ACQUIRER,
        batch_id: BatchId([7; 16]),
        permissions: permissions.try_into().unwrap(),
    };
    Signed::sign(batch, key)
}

#[test]
fn withdrawal_beyond_the_balance_is_refused_and_debits_nothing() {
    let account_key = SigningKey::generate(&mut rand::rng());
    let mut issuer = issuer(&account_key, "EUR:2.00");
    let error = withdraw(&mut issuer, &account_key, 3).unwrap_err();
    assert_eq!(error, IssuerError::InsufficientFunds);
    assert_eq!(error.code(), "withdraw.insufficient_funds");
    assert_eq!(issuer.balance(&ACCOUNT), Some(eur("EUR:2.00")));
    assert_eq!(withdraw(&mut issuer, &account_key, 2).unwrap().len(), 2);
    assert_eq!(issuer.balance(&ACCOUNT), Some(eur("EUR:0.00")));
}

#[test]
fn withdrawal_signed_by_another_key_is_refused() {
    let account_key = SigningKey::generate(&mut rand::rng());
    let mut issuer = issuer(&account_key, "EUR:5.00");
    let intruder = SigningKey::generate(&mut rand::rng());
    let error = withdraw(&mut issuer, &intruder, 1).unwrap_err();
    assert_eq!(error.code(), "withdraw.invalid_account_signature");
    assert_eq!(issuer.balance(&ACCOUNT), Some(eur("EUR:5.00")));
}

#[test]
fn batch_with_one_bad_permission_or_a_foreign_signature_spends_nothing() {
    let account_key = SigningKey::generate(&mut rand::rng());
    let mut issuer = issuer(&account_key, "EUR:5.00");
    let acquirer_key = SigningKey::generate(&mut rand::rng());
    issuer.trust_acquirer(ACQUIRER, *acquirer_key.verifying_key());
    let coins = withdraw(&mut issuer, &account_key, 2).unwrap();
    let good = permission(&coins[0]);
    // The second coin's permission, carrying the first one's signature.
    let forged = Signed::from_parts(permission(&coins[1]).body().clone(), *good.signature());

    let error = issuer
        .check_spends(&batch(&acquirer_key, vec![good.clone(), forged]), NOW)
        .unwrap_err();
    assert!(matches!(error, IssuerError::Permission { index: 1, .. }));
    assert_eq!(error.code(), "deposit.invalid_permission_signature");
    assert_eq!(issuer.spent_count(), 0);

    let stranger = SigningKey::generate(&mut rand::rng());
    let error = issuer
        .check_spends(&batch(&stranger, vec![good.clone()]), NOW)
        .unwrap_err();
    assert_eq!(error.code(), "spend.invalid_acquirer_signature");
    assert_eq!(issuer.spent_count(), 0);

    let answer = issuer
        .check_spends(&batch(&acquirer_key, vec![good]), NOW)
        .unwrap();
    assert_eq!(answer.results.len(), 1);
    assert_eq!(issuer.spent_count(), 1);
}
