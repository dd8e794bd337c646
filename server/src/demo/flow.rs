//! The demo's story, step by step: publish, withdraw, pay, spend check, retry, double spend and
//! tampering. Each step checks the outcome the protocol promises and stops the demo if it differs.

use std::time::Instant;

use rand::Rng;
use semper_protocol::amount::Amount;
use semper_protocol::batch_verifier::PermissionError;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::crypto::hash::sha256;
use semper_protocol::denomination::{Denomination, SignedDenominationSet};
use semper_protocol::ids::{AccountId, BankId, BatchId, ContractHash, MerchantId, RequestId};
use semper_protocol::limits::WITHDRAW_COINS_MAX;
use semper_protocol::messages::deposit::{DepositPermission, SignedDepositPermission};
use semper_protocol::messages::spend::{SpendCheckResponse, SpendResult};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::{self, WalletCoin};

use super::acquirer::DemoAcquirer;
use super::issuer::DemoIssuer;
use super::report::{DemoReport, Timings};
use super::{DemoError, DemoOptions};

const ISSUER: BankId = BankId(*b"semper-issuer-01");
const ACQUIRER: BankId = BankId(*b"semper-acquirer1");
const ACCOUNT: AccountId = AccountId(*b"account-carol-01");
const ALICE: MerchantId = MerchantId(*b"merchant-alice-1");
const BOB: MerchantId = MerchantId(*b"merchant-bob-001");
/// The value of every coin in the demo.
const COIN_VALUE: &str = "EUR:1.00";
/// The wallet's account balance before it withdraws: enough for [`WITHDRAW_COINS_MAX`] coins.
const OPENING_BALANCE: &str = "EUR:1000.00";

/// Runs the whole demo. Every outcome is checked: an `Ok` report means each one was as promised.
pub fn run(options: &DemoOptions) -> Result<DemoReport, DemoError> {
    if options.coins == 0 || options.coins > WITHDRAW_COINS_MAX {
        return Err(DemoError::CoinCount(options.coins));
    }
    let now = options.now;
    let threads = options.verify_threads.max(1);
    let mut rng = rand::rng();
    let mut timings = Timings::default();

    // The issuer makes a denomination key and publishes its set, signed with its master key.
    let started = Instant::now();
    let mut issuer = DemoIssuer::new(&mut rng, ISSUER, threads)?;
    let coin_value: Amount = COIN_VALUE.parse()?;
    issuer.add_denomination(coin_value, options.rsa_size, now)?;
    timings.keygen = started.elapsed();
    let set = issuer.publish(1, now)?;

    // The wallet trusts the issuer's master key, and takes the denomination from the signed set.
    let denomination = pick_denomination(&set, &issuer, coin_value, now)?;

    // Withdraw: blind, blind-sign, unblind.
    let account_key = SigningKey::generate(&mut rng);
    let opening: Amount = OPENING_BALANCE.parse()?;
    issuer.open_account(ACCOUNT, *account_key.verifying_key(), opening);
    let request_id = RequestId(random_id(&mut rng));
    let wanted = vec![denomination; options.coins];
    let started = Instant::now();
    let (request, planned) =
        wallet::prepare_withdraw(&mut rng, &account_key, ACCOUNT, request_id, &wanted)?;
    timings.blind = started.elapsed();
    let started = Instant::now();
    let response = issuer.withdraw(&request, now)?;
    timings.blind_sign = started.elapsed();
    let started = Instant::now();
    let coins = wallet::finalize_coins(request_id, planned, &response)?;
    timings.finalize = started.elapsed();
    let withdrawn = coin_value.checked_mul(count(coins.len()))?;
    let balance_after = issuer.balance(&ACCOUNT);
    ensure(
        balance_after == Some(opening.checked_sub(withdrawn)?),
        || format!("balance after withdrawing {withdrawn} from {opening} is {balance_after:?}"),
    )?;

    // Pay Alice: a permission per coin, verified by the acquirer in one batch.
    let mut acquirer = DemoAcquirer::new(&mut rng, ACQUIRER, threads)?;
    acquirer
        .trust_issuer(
            &set,
            issuer.master_public_key(),
            *issuer.confirmation_public_key(),
        )
        .map_err(DemoError::DenominationSet)?;
    issuer.trust_acquirer(ACQUIRER, *acquirer.bank_public_key());
    let to_alice = contract("tea for alice");
    let permissions: Vec<SignedDepositPermission> = coins
        .iter()
        .map(|coin| wallet::sign_deposit_permission(coin, to_alice, ALICE, ACQUIRER, now))
        .collect();
    let started = Instant::now();
    let verdicts = acquirer.verify_deposits(&permissions);
    timings.deposit_verify = started.elapsed();
    for (index, verdict) in verdicts.iter().enumerate() {
        if let Err(error) = verdict {
            return Err(DemoError::CheckFailed(format!(
                "valid permission {index} refused: {error} ({})",
                error.code()
            )));
        }
    }

    // Spend check: the issuer records every coin as spent and confirms the batch.
    let batch = acquirer
        .spend_check_batch(BatchId(random_id(&mut rng)), permissions.clone())
        .map_err(|e| DemoError::CheckFailed(e.to_string()))?;
    let started = Instant::now();
    let answer = issuer.check_spends(&batch, now)?;
    timings.spend_check = started.elapsed();
    let accepted = tally(&answer, |r| matches!(r, SpendResult::Accepted));
    ensure(accepted == coins.len(), || {
        format!("{accepted} of {} fresh coins accepted", coins.len())
    })?;
    let confirmed = acquirer.settle(&batch, &answer)?;
    let merchant_credit = acquirer.credit(&ALICE);
    ensure(
        confirmed == Some(withdrawn) && merchant_credit == Some(withdrawn),
        || format!("confirmed {confirmed:?} and credited {merchant_credit:?} for {withdrawn}"),
    )?;

    // The acquirer sends the same batch again, as after a lost answer: every coin is a replay.
    let answer = issuer.check_spends(&batch, now)?;
    let replayed = tally(&answer, |r| matches!(r, SpendResult::Replay));
    let credited_again = acquirer.settle(&batch, &answer)?;
    ensure(replayed == coins.len() && credited_again.is_none(), || {
        format!("retry: {replayed} replays, credited {credited_again:?}")
    })?;
    ensure(acquirer.credit(&ALICE) == Some(withdrawn), || {
        "a retry changed the merchant's credit".into()
    })?;

    // The wallet pays Bob with a coin it already spent; someone redirects Alice's permission to
    // Bob. Both go in one batch: the tampered one fails alone, the double spend is valid.
    let double_spend = sign_again(&coins[0], contract("coffee for bob"), now);
    let tampered = redirect(&permissions[0], BOB);
    let verdicts = acquirer.verify_deposits(&[double_spend.clone(), tampered]);
    let tampered_error = match verdicts.as_slice() {
        [Ok(()), Err(error)] => error.clone(),
        other => {
            return Err(DemoError::CheckFailed(format!(
                "expected [valid, invalid], got {other:?}"
            )));
        }
    };
    ensure(
        tampered_error == PermissionError::PermissionSignature,
        || format!("tampered permission refused as {tampered_error}"),
    )?;

    // The double spend reaches the issuer, which answers with the first permission as proof.
    let batch = acquirer
        .spend_check_batch(BatchId(random_id(&mut rng)), vec![double_spend.clone()])
        .map_err(|e| DemoError::CheckFailed(e.to_string()))?;
    let answer = issuer.check_spends(&batch, now)?;
    let conflict_proof = match answer.results.first() {
        Some(SpendResult::Conflict { earlier }) => (**earlier).clone(),
        other => {
            return Err(DemoError::CheckFailed(format!(
                "double spend answered {other:?}"
            )));
        }
    };
    acquirer.check_conflict(&double_spend, &conflict_proof)?;
    ensure(conflict_proof == permissions[0], || {
        "the conflict's proof is not the first permission".into()
    })?;
    let credited_bob = acquirer.settle(&batch, &answer)?;
    ensure(
        credited_bob.is_none() && acquirer.credit(&BOB).is_none(),
        || "a double spend was credited".into(),
    )?;
    ensure(issuer.spent_count() == coins.len(), || {
        format!(
            "{} coins spent, {} withdrawn",
            issuer.spent_count(),
            coins.len()
        )
    })?;

    Ok(DemoReport {
        coins: coins.len(),
        rsa_bits: options.rsa_size.bits(),
        verify_threads: threads,
        coin_value,
        withdrawn,
        balance_after: opening.checked_sub(withdrawn)?,
        accepted,
        replayed,
        merchant_credit: withdrawn,
        spent_coins: issuer.spent_count(),
        first_permission: permissions[0].clone(),
        double_spend,
        conflict_proof,
        tampered_error,
        timings,
    })
}

/// The denomination of `value` that the wallet may withdraw at `now`, from `set` as the wallet
/// checks it: signed by the issuer's master key, and not revoked.
fn pick_denomination(
    set: &SignedDenominationSet,
    issuer: &DemoIssuer,
    value: Amount,
    now: Timestamp,
) -> Result<Denomination, DemoError> {
    set.verify(issuer.master_public_key())
        .map_err(DemoError::DenominationSet)?;
    let set = set.body();
    set.fields()
        .denominations
        .iter()
        .find(|d| d.value() == value && d.can_withdraw(now) && !set.is_revoked(&d.id()))
        .cloned()
        .ok_or_else(|| DemoError::CheckFailed(format!("no {value} denomination to withdraw")))
}

/// A second permission for `coin`, to Bob: what a double-spending wallet signs.
fn sign_again(
    coin: &WalletCoin,
    contract: ContractHash,
    now: Timestamp,
) -> SignedDepositPermission {
    wallet::sign_deposit_permission(coin, contract, BOB, ACQUIRER, now)
}

/// `permission` with its merchant changed and its signature kept: a forgery.
fn redirect(permission: &SignedDepositPermission, merchant: MerchantId) -> SignedDepositPermission {
    let body = DepositPermission {
        merchant,
        ..permission.body().clone()
    };
    Signed::from_parts(body, *permission.signature())
}

/// The hash of a merchant's contract text.
fn contract(text: &str) -> ContractHash {
    ContractHash(sha256(&[b"semper demo contract: ", text.as_bytes()]))
}

/// How many results of `answer` match `which`.
fn tally(answer: &SpendCheckResponse, which: impl Fn(&SpendResult) -> bool) -> usize {
    answer.results.iter().filter(|r| which(r)).count()
}

fn random_id<const N: usize>(rng: &mut impl Rng) -> [u8; N] {
    let mut id = [0u8; N];
    rng.fill_bytes(&mut id);
    id
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn ensure(holds: bool, what: impl FnOnce() -> String) -> Result<(), DemoError> {
    if holds {
        Ok(())
    } else {
        Err(DemoError::CheckFailed(what()))
    }
}
