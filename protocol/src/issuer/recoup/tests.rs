use super::*;
use crate::codec::Decode;
use crate::crypto::ed25519::SigningKey;
use crate::denomination::Denomination;
use crate::ids::{AccountId, RequestId};
use crate::messages::recoup::{RecoupRequest, SignedRecoupRequest};
use crate::messages::spend::{EarlierSpend, SpendResult};
use crate::messages::withdraw::{SignedWithdrawRequest, WithdrawResponse};
use crate::signed::Signed;
use crate::test_keys::{self, ISSUER};
use crate::wallet::{self, WalletCoin};

/// A wallet's withdrawal of two coins of `denomination`, signed by `key`, and its coins.
fn withdraw(
    account_key: &SigningKey,
    denomination: &Denomination,
    key: &crate::crypto::blind_rsa::DenominationSecretKey,
) -> (SignedWithdrawRequest, Vec<WalletCoin>) {
    let id = RequestId([6; 16]);
    let wanted = vec![denomination.clone(); 2];
    let (request, planned) = wallet::prepare_withdraw(
        &mut rand::rng(),
        account_key,
        AccountId([3; 16]),
        id,
        &wanted,
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
    let coins = wallet::finalize_coins(id, planned, &response).unwrap();
    (request, coins)
}

/// `request` with its body changed by `edit`, signed again by `key`.
fn resigned(
    request: &SignedRecoupRequest,
    key: &SigningKey,
    edit: impl FnOnce(&mut RecoupRequest),
) -> SignedRecoupRequest {
    let mut body = request.body().clone();
    edit(&mut body);
    Signed::sign(body, key)
}

#[test]
fn a_withdrawn_coin_of_a_revoked_denomination_is_recouped_and_every_bad_input_has_its_code() {
    let key = test_keys::rsa_2048();
    let denomination = test_keys::denomination("EUR:1.00", key);
    let mut book = DenominationBook::new();
    book.add(denomination.clone());
    let account_key = SigningKey::generate(&mut rand::rng());
    let (withdrawal, coins) = withdraw(&account_key, &denomination, key);
    let recorded = withdrawal.body_digest();
    let request = wallet::prepare_recoup(&account_key, withdrawal.body(), 1, &coins[1]);
    let public = account_key.verifying_key();
    let check = |request: &SignedRecoupRequest, book: &DenominationBook| {
        check_recoup(request, public, Some(&recorded), ISSUER, book)
    };

    // Only a revoked denomination's coins are recouped.
    assert_eq!(
        check(&request, &book).unwrap_err().code(),
        "recoup.not_revoked"
    );
    book.revoke(denomination.id());
    let code = |request: &SignedRecoupRequest| check(request, &book).unwrap_err().code();
    let checked = check(&request, &book).unwrap();
    assert_eq!(checked.value, denomination.value());
    assert_eq!(checked.coin, CoinId::of(&coins[1].coin().public_key));
    assert_eq!(checked.request_digest, request.body_digest());
    assert_eq!(
        checked.permission_digest,
        request.body().permission.body_digest()
    );
    assert_eq!(
        SignedRecoupRequest::from_bytes(&request.to_bytes()),
        Ok(request.clone())
    );

    // Signed by another key than the account's.
    let stranger = SigningKey::generate(&mut rand::rng());
    let by_stranger = Signed::sign(request.body().clone(), &stranger);
    assert_eq!(code(&by_stranger), "recoup.invalid_account_signature");
    // The coin's consent for another account.
    let other_coin = wallet::prepare_recoup(&account_key, withdrawal.body(), 0, &coins[0]);
    let elsewhere = resigned(&request, &account_key, |body| {
        body.withdrawal.account = AccountId([4; 16]);
    });
    assert_eq!(code(&elsewhere), "recoup.wrong_account");
    // A coin key's signature over another coin's permission.
    let forged_consent = resigned(&request, &account_key, |body| {
        body.permission = Signed::from_parts(
            body.permission.body().clone(),
            *other_coin.body().permission.signature(),
        );
    });
    assert_eq!(code(&forged_consent), "recoup.invalid_coin_key_signature");
    // No withdrawal recorded, or another one than recorded.
    assert_eq!(
        check_recoup(&request, public, None, ISSUER, &book)
            .unwrap_err()
            .code(),
        "recoup.unknown_withdrawal"
    );
    let other_withdrawal = Digest([1; 32]);
    assert_eq!(
        check_recoup(&request, public, Some(&other_withdrawal), ISSUER, &book)
            .unwrap_err()
            .code(),
        "recoup.wrong_withdrawal"
    );
    // Past the withdrawal's coins.
    let past = resigned(&request, &account_key, |body| body.index = 2);
    assert_eq!(code(&past), "recoup.bad_index");
    // The other slot of the withdrawal: not this coin's blinded message.
    let wrong_slot = resigned(&request, &account_key, |body| body.index = 0);
    assert_eq!(code(&wrong_slot), "recoup.not_withdrawn");
    // Another coin's blinding secret.
    let wrong_secret = resigned(&request, &account_key, |body| {
        body.blinding = other_coin.body().blinding.clone();
    });
    assert_eq!(code(&wrong_secret), "recoup.not_withdrawn");
    // A secret of the wrong length.
    let short = resigned(&request, &account_key, |body| {
        body.blinding.0.truncate(10);
    });
    assert_eq!(code(&short), "rsa.wrong_length");
    // Another issuer's denomination, and one not known at all.
    let mut foreign_book = DenominationBook::new();
    let mut fields = denomination.fields().clone();
    fields.issuer = test_keys::ACQUIRER;
    let foreign = Denomination::new(fields).unwrap();
    foreign_book.add(foreign.clone());
    foreign_book.revoke(foreign.id());
    let (foreign_withdrawal, foreign_coins) = withdraw(&account_key, &foreign, key);
    let foreign_request = wallet::prepare_recoup(
        &account_key,
        foreign_withdrawal.body(),
        0,
        &foreign_coins[0],
    );
    let foreign_recorded = foreign_withdrawal.body_digest();
    assert_eq!(
        check_recoup(
            &foreign_request,
            public,
            Some(&foreign_recorded),
            ISSUER,
            &foreign_book
        )
        .unwrap_err()
        .code(),
        "recoup.wrong_issuer"
    );
    assert_eq!(
        check(&request, &DenominationBook::new())
            .unwrap_err()
            .code(),
        "denomination.unknown"
    );
    // A coin whose issuer signature does not verify.
    let bad_signature = resigned(&request, &account_key, |body| {
        let mut permission = body.permission.body().clone();
        permission.coin.signature = coins[0].coin().signature.clone();
        body.permission = Signed::sign(permission, coins[1].coin_key());
    });
    assert_eq!(code(&bad_signature), "rsa.invalid_signature");

    // A forged coin, signed with the (leaked) key but never withdrawn, put in a withdrawal's
    // slot with its own blinding secret: nothing.
    let forged = withdraw(&account_key, &denomination, key).1.remove(0);
    let forged_request = wallet::prepare_recoup(&account_key, withdrawal.body(), 1, &forged);
    assert_eq!(code(&forged_request), "recoup.not_withdrawn");

    // The recoup permission is the proof against a later deposit of the coin.
    let earlier = EarlierSpend::from_stored(&request.body().permission.to_bytes()).unwrap();
    let result = earlier.into_result();
    assert!(matches!(result, SpendResult::Recouped { .. }));
    assert_eq!(
        SpendResult::from_bytes(&result.to_bytes()),
        Ok(result.clone())
    );
    let json = serde_json::to_string(&result).unwrap();
    assert_eq!(serde_json::from_str::<SpendResult>(&json).unwrap(), result);
    let SpendResult::Recouped { earlier } = result else {
        unreachable!()
    };
    let deposit = &test_keys::permissions(&coins[1..])[0];
    assert!(crate::acquirer::proves_recouped(deposit, &earlier));
    let other = &test_keys::permissions(&coins[..1])[0];
    assert!(!crate::acquirer::proves_recouped(other, &earlier));
}

/// The bound docs/protocol.md §15 states: whoever holds the denomination's key can make a forged
/// coin re-blind to any blinded message the issuer signed (`blinding = sig' · S⁻¹ mod n`, with
/// `S` the blind signature of that message), so re-blinding cannot tell a forgery from the
/// withdrawn coin. What limits it is the slot: each withdrawn coin is recouped once (storage).
#[test]
fn with_the_leaked_key_a_forgery_re_blinds_to_a_slot_which_is_why_each_slot_pays_once() {
    use openssl::bn::{BigNum, BigNumContext};
    let key = test_keys::rsa_2048();
    let denomination = test_keys::denomination("EUR:1.00", key);
    let mut book = DenominationBook::new();
    book.add(denomination.clone());
    book.revoke(denomination.id());
    let account_key = SigningKey::generate(&mut rand::rng());
    let (withdrawal, _) = withdraw(&account_key, &denomination, key);
    let forged = withdraw(&account_key, &denomination, key).1.remove(0);
    let slot = &withdrawal.body().coins[0].blinded;
    let blind_signature = key.blind_sign(slot).unwrap();
    let rsa =
        openssl::rsa::Rsa::public_key_from_der_pkcs1(denomination.public_key().der()).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let mut inverse = BigNum::new().unwrap();
    inverse
        .mod_inverse(
            &BigNum::from_slice(&blind_signature.0).unwrap(),
            rsa.n(),
            &mut ctx,
        )
        .unwrap();
    let mut blinding = BigNum::new().unwrap();
    let signature = BigNum::from_slice(&forged.coin().signature.0).unwrap();
    blinding
        .mod_mul(&signature, &inverse, rsa.n(), &mut ctx)
        .unwrap();
    let honest = wallet::prepare_recoup(&account_key, withdrawal.body(), 0, &forged);
    let aimed = resigned(&honest, &account_key, |body| {
        body.blinding.0 = blinding.to_vec_padded(256).unwrap();
    });
    let recorded = withdrawal.body_digest();
    let public = account_key.verifying_key();
    assert_eq!(
        check_recoup(&honest, public, Some(&recorded), ISSUER, &book)
            .unwrap_err()
            .code(),
        "recoup.not_withdrawn"
    );
    assert!(check_recoup(&aimed, public, Some(&recorded), ISSUER, &book).is_ok());
}
