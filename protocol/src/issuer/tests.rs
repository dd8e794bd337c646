use super::*;
use crate::crypto::blind_rsa::BlindedMessage;
use crate::denomination_book::DenominationBook;
use crate::ids::{AccountId, RequestId};
use crate::messages::withdraw::WithdrawRequest;
use crate::test_keys::{self, ACQUIRER, ISSUER, NOW};
use crate::wallet;

fn book() -> (DenominationBook, crate::denomination::Denomination) {
    let d = test_keys::denomination("EUR:2.00", test_keys::rsa_2048());
    let mut book = DenominationBook::new();
    book.add(d.clone());
    (book, d)
}

fn request(
    key: &SigningKey,
    denominations: &[crate::denomination::Denomination],
) -> SignedWithdrawRequest {
    wallet::prepare_withdraw(
        &mut rand::rng(),
        key,
        AccountId([1; 16]),
        RequestId([2; 16]),
        denominations,
    )
    .unwrap()
    .0
}

#[test]
fn a_good_request_costs_the_sum_of_its_coins_and_signs_every_coin() {
    let (book, d) = book();
    let key = SigningKey::from_seed(&[3; 32]);
    let request = request(&key, &[d.clone(), d.clone(), d.clone()]);
    let total = check_withdraw(&request, key.verifying_key(), &book, NOW).unwrap();
    assert_eq!(total, "EUR:6.00".parse().unwrap());
    let signatures =
        blind_sign_all(&request, |id| (*id == d.id()).then(test_keys::rsa_2048)).unwrap();
    assert_eq!(signatures.len(), 3);
    // RSASP1 is deterministic: signing again gives the same answer, which is what replays return.
    let again = blind_sign_all(&request, |_| Some(test_keys::rsa_2048())).unwrap();
    assert_eq!(signatures, again);
}

#[test]
fn bad_requests_are_refused_with_their_codes() {
    let (mut book, d) = book();
    let key = SigningKey::from_seed(&[3; 32]);
    let stranger = SigningKey::from_seed(&[4; 32]);
    let good = request(&key, std::slice::from_ref(&d));
    let code = |r: Result<Amount, WithdrawRefusal>| r.unwrap_err().code();
    assert_eq!(
        code(check_withdraw(&good, stranger.verifying_key(), &book, NOW)),
        "withdraw.invalid_account_signature"
    );
    let late = d.fields().withdraw_until;
    assert_eq!(
        code(check_withdraw(&good, key.verifying_key(), &book, late)),
        "denomination.withdraw_expired"
    );
    let empty = Signed::sign(
        WithdrawRequest {
            account: AccountId([1; 16]),
            request_id: RequestId([2; 16]),
            coins: crate::bounded::BoundedVec::empty(),
        },
        &key,
    );
    assert_eq!(
        code(check_withdraw(&empty, key.verifying_key(), &book, NOW)),
        "withdraw.no_coins"
    );
    let mut short = good.body().clone();
    short.coins = vec![crate::messages::withdraw::BlindedCoin {
        denomination: d.id(),
        blinded: BlindedMessage(vec![1; 10]),
    }]
    .try_into()
    .unwrap();
    let short = Signed::sign(short, &key);
    assert_eq!(
        code(check_withdraw(&short, key.verifying_key(), &book, NOW)),
        "rsa.wrong_length"
    );
    let yen = test_keys::denomination("JPY:100", test_keys::rsa_2048_other());
    book.add(yen.clone());
    let mixed = request(&key, &[d.clone(), yen]);
    assert_eq!(
        code(check_withdraw(&mixed, key.verifying_key(), &book, NOW)),
        "amount.currency_mismatch"
    );
    book.revoke(d.id());
    assert_eq!(
        code(check_withdraw(&good, key.verifying_key(), &book, NOW)),
        "denomination.revoked"
    );
}

#[test]
fn only_own_coins_in_their_deposit_window_for_the_batch_acquirer_are_admissible() {
    let (mut book, d) = book();
    let coins = test_keys::coins(&d, test_keys::rsa_2048(), 2);
    let permissions = test_keys::permissions(&coins);
    assert_eq!(
        admissible(ISSUER, ACQUIRER, &permissions, &book, NOW),
        vec![Ok(()), Ok(())]
    );
    assert_eq!(
        admissible(BankId([0x77; 16]), ACQUIRER, &permissions, &book, NOW),
        vec![Err("spend.wrong_issuer"); 2]
    );
    assert_eq!(
        admissible(ISSUER, BankId([0x77; 16]), &permissions, &book, NOW),
        vec![Err("spend.wrong_acquirer"); 2]
    );
    let late = d.fields().deposit_until;
    assert_eq!(
        admissible(ISSUER, ACQUIRER, &permissions, &book, late),
        vec![Err("denomination.deposit_expired"); 2]
    );
    // A permission dated before its denomination, or in the future, signed by the coin's key.
    let dated = |at: u64| {
        let body = permissions[0].body();
        let at = crate::time::Timestamp::from_unix_ms(at);
        wallet::sign_deposit_permission(&coins[0], body.contract_hash, body.merchant, ACQUIRER, at)
    };
    let future = NOW.plus_ms(crate::messages::deposit::PERMISSION_CLOCK_TOLERANCE_MS + 1);
    assert_eq!(
        admissible(
            ISSUER,
            ACQUIRER,
            &[dated(0), dated(future.unix_ms())],
            &book,
            NOW
        ),
        vec![Err("deposit.timestamp_out_of_window"); 2]
    );
    book.revoke(d.id());
    assert_eq!(
        admissible(ISSUER, ACQUIRER, &permissions, &book, NOW),
        vec![Err("denomination.revoked"); 2]
    );
}

#[test]
fn the_confirmation_covers_exactly_the_confirmed_coins_and_verifies() {
    let (_, d) = book();
    let coins = test_keys::coins(&d, test_keys::rsa_2048(), 3);
    let permissions = test_keys::permissions(&coins);
    let key = SigningKey::from_seed(&[9; 32]);
    assert!(confirm(ISSUER, ACQUIRER, BatchId([1; 16]), NOW, [], &key).is_none());
    let confirmed = permissions[1..].iter().map(|p| (p, p.body_digest()));
    let confirmation = confirm(ISSUER, ACQUIRER, BatchId([1; 16]), NOW, confirmed, &key).unwrap();
    assert_eq!(confirmation.verify(key.verifying_key()), Ok(()));
    let entries = &confirmation.body().entries;
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0].coin,
        crate::ids::CoinId::of(&permissions[1].body().coin.public_key)
    );
    assert_eq!(entries[1].permission, permissions[2].body_digest());
    assert_eq!(
        confirmation.total().unwrap(),
        Some("EUR:4.00".parse().unwrap())
    );
}
