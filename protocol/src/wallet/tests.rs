use super::*;
use crate::messages::withdraw::WithdrawResponse;
use crate::test_keys::{self, NOW};

#[test]
fn withdraw_finalize_and_pay_make_coins_the_issuer_accepts() {
    let key = test_keys::rsa_2048();
    let d = test_keys::denomination("EUR:0.50", key);
    let coins = test_keys::coins(&d, key, 3);
    assert_eq!(coins.len(), 3);
    for coin in &coins {
        assert_eq!(coin.coin().verify(&d), Ok(()));
        assert_eq!(coin.value(), d.value());
    }
    let keys: std::collections::HashSet<_> = coins.iter().map(|c| c.coin().public_key).collect();
    assert_eq!(keys.len(), 3, "every coin has its own key");
    for permission in test_keys::permissions(&coins) {
        assert_eq!(permission.verify_coin_key(), Ok(()));
        assert_eq!(permission.body().amount, d.value());
        assert_eq!(permission.body().timestamp, NOW);
    }
}

#[test]
fn the_account_key_signs_the_request_and_the_issuer_never_sees_coin_keys() {
    let key = test_keys::rsa_2048();
    let d = test_keys::denomination("EUR:1.00", key);
    let account_key = SigningKey::from_seed(&[5; 32]);
    let (request, planned) = prepare_withdraw(
        &mut rand::rng(),
        &account_key,
        AccountId([1; 16]),
        RequestId([2; 16]),
        std::slice::from_ref(&d),
    )
    .unwrap();
    assert_eq!(request.verify(account_key.verifying_key()), Ok(()));
    let coin_key = planned[0].coin_key.verifying_key().as_bytes().to_vec();
    let sent = serde_json::to_string(&request).unwrap();
    assert!(!sent.contains(&hex::encode(&coin_key)));
}

#[test]
fn bad_issuer_answers_are_refused() {
    let key = test_keys::rsa_2048();
    let d = test_keys::denomination("EUR:1.00", key);
    let account_key = SigningKey::from_seed(&[5; 32]);
    let request_id = RequestId([2; 16]);
    let prepare = || {
        prepare_withdraw(
            &mut rand::rng(),
            &account_key,
            AccountId([1; 16]),
            request_id,
            &[d.clone(), d.clone()],
        )
        .unwrap()
    };
    let sign_all = |request: &SignedWithdrawRequest| -> Vec<_> {
        request
            .body()
            .coins
            .iter()
            .map(|c| key.blind_sign(&c.blinded).unwrap())
            .collect()
    };

    let (request, planned) = prepare();
    let mut signatures = sign_all(&request);
    let wrong_id = WithdrawResponse {
        request_id: RequestId([3; 16]),
        blind_signatures: signatures.clone().try_into().unwrap(),
    };
    assert_eq!(
        finalize_coins(request_id, planned, &wrong_id).unwrap_err(),
        WalletError::WrongRequest
    );

    let (_, planned) = prepare();
    let short = WithdrawResponse {
        request_id,
        blind_signatures: signatures[..1].to_vec().try_into().unwrap(),
    };
    assert_eq!(
        finalize_coins(request_id, planned, &short)
            .unwrap_err()
            .code(),
        "wallet.wrong_count"
    );

    // Signatures for another request's blinded coins do not finalize.
    let (_, planned) = prepare();
    signatures.swap(0, 1);
    let swapped = WithdrawResponse {
        request_id,
        blind_signatures: signatures.try_into().unwrap(),
    };
    let error = finalize_coins(request_id, planned, &swapped).unwrap_err();
    assert_eq!(error.code(), "rsa.invalid_signature");
}
