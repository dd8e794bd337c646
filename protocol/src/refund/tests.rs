use super::*;
use crate::crypto::ed25519::SigningKey;
use crate::ids::{ContractHash, MerchantId, RequestId};
use crate::messages::deposit::SignedDepositPermission;
use crate::messages::refund::{RefundNotice, RefundRequest};
use crate::signed::Signed;
use crate::test_keys::{self, ACQUIRER, ISSUER, NOW};

const MERCHANT: MerchantId = MerchantId([5; 16]);

fn paid() -> SignedDepositPermission {
    let d = test_keys::denomination("EUR:1.00", test_keys::rsa_2048());
    let coins = test_keys::coins(&d, test_keys::rsa_2048(), 1);
    test_keys::permissions(&coins).remove(0)
}

fn request(paid: &DepositPermission, amount: &str, key: &SigningKey) -> SignedRefundRequest {
    Signed::sign(
        RefundRequest {
            merchant: MERCHANT,
            refund_id: RequestId([9; 16]),
            contract_hash: paid.contract_hash,
            denomination: paid.coin.denomination,
            coin: CoinId::of(&paid.coin.public_key),
            amount: amount.parse().unwrap(),
        },
        key,
    )
}

fn amount(text: &str) -> Amount {
    text.parse().unwrap()
}

#[test]
fn the_acquirer_refunds_only_its_merchants_coin_in_time_and_within_what_it_paid() {
    let paid = paid();
    let paid = paid.body();
    let key = SigningKey::from_seed(&[5; 32]);
    let credited = |refunded: Option<&str>| CreditedCoin {
        permission: paid,
        refund_deadline: NOW.plus_ms(1_000),
        refunded: refunded.map(amount),
        fee: amount("EUR:0.00"),
    };
    let half = request(paid, "EUR:0.50", &key);
    assert_eq!(verify_request(&half, key.verifying_key()), Ok(()));
    assert_eq!(
        check_refund(half.body(), Some(credited(None)), NOW),
        Ok(amount("EUR:0.50"))
    );
    assert_eq!(
        check_refund(half.body(), Some(credited(Some("EUR:0.50"))), NOW),
        Ok(amount("EUR:1.00"))
    );
    let refusals = [
        (
            check_refund(half.body(), Some(credited(Some("EUR:0.51"))), NOW),
            "refund.over_paid",
        ),
        (
            check_refund(half.body(), Some(credited(None)), NOW.plus_ms(1_001)),
            "refund.deadline_passed",
        ),
        (check_refund(half.body(), None, NOW), "refund.unknown_coin"),
        (
            verify_request(&half, SigningKey::from_seed(&[6; 32]).verifying_key())
                .map(|()| amount("EUR:0.50")),
            "refund.invalid_signature",
        ),
        (
            check_refund(
                request(paid, "EUR:0.00", &key).body(),
                Some(credited(None)),
                NOW,
            ),
            "refund.bad_amount",
        ),
        (
            check_refund(
                request(paid, "USD:0.50", &key).body(),
                Some(credited(None)),
                NOW,
            ),
            "refund.bad_amount",
        ),
    ];
    for (outcome, code) in refusals {
        assert_eq!(outcome.map_err(|e| e.code()), Err(code));
    }
    // Another merchant's request, or another contract, for the same coin.
    let mut other = half.body().clone();
    other.merchant = MerchantId([7; 16]);
    let other = Signed::sign(other, &key);
    assert_eq!(
        check_refund(other.body(), Some(credited(None)), NOW).map_err(|e| e.code()),
        Err("refund.unknown_coin")
    );
    let mut contract = half.body().clone();
    contract.contract_hash = ContractHash([8; 32]);
    let contract = Signed::sign(contract, &key);
    assert_eq!(
        check_refund(contract.body(), Some(credited(None)), NOW).map_err(|e| e.code()),
        Err("refund.wrong_contract")
    );
}

#[test]
fn the_issuer_takes_a_notice_only_from_the_acquirer_the_coin_was_spent_at() {
    let signed_paid = paid();
    let paid = signed_paid.body();
    let acquirer_key = SigningKey::from_seed(&[2; 32]);
    let notice = |acquirer, permission, amount_text: &str| {
        Signed::sign(
            RefundNotice {
                acquirer,
                refund: Digest([3; 32]),
                denomination: paid.coin.denomination,
                coin: CoinId::of(&paid.coin.public_key),
                permission,
                amount: amount(amount_text),
            },
            &acquirer_key,
        )
    };
    let spent = |refunded: Option<&str>| SpentCoin {
        permission_digest: signed_paid.body_digest(),
        permission: paid,
        refunded: refunded.map(amount),
        fee: amount("EUR:0.00"),
    };
    let good = notice(ACQUIRER, signed_paid.body_digest(), "EUR:1.00");
    assert_eq!(verify_notice(&good, acquirer_key.verifying_key()), Ok(()));
    assert_eq!(
        check_notice(good.body(), Some(spent(None))),
        Ok(amount("EUR:1.00"))
    );
    let cases = [
        (
            check_notice(good.body(), Some(spent(Some("EUR:0.01")))),
            "refund.over_paid",
        ),
        (check_notice(good.body(), None), "refund.unknown_coin"),
        (
            check_notice(
                notice(ISSUER, signed_paid.body_digest(), "EUR:1.00").body(),
                Some(spent(None)),
            ),
            "refund.unknown_coin",
        ),
        (
            check_notice(
                notice(ACQUIRER, Digest([0; 32]), "EUR:1.00").body(),
                Some(spent(None)),
            ),
            "refund.wrong_permission",
        ),
        (
            verify_notice(&good, SigningKey::from_seed(&[9; 32]).verifying_key())
                .map(|()| amount("EUR:1.00")),
            "refund.invalid_signature",
        ),
    ];
    for (outcome, code) in cases {
        assert_eq!(outcome.map_err(|e| e.code()), Err(code));
    }
    let confirmed = confirmation(ISSUER, good.body(), amount("EUR:0.05"), NOW);
    assert_eq!(
        (confirmed.acquirer, confirmed.amount, confirmed.fee),
        (ACQUIRER, amount("EUR:1.00"), amount("EUR:0.05"))
    );
}

#[test]
fn a_refund_must_be_above_the_coins_refund_fee_at_both_banks() {
    let signed_paid = paid();
    let paid = signed_paid.body();
    let key = SigningKey::from_seed(&[5; 32]);
    let credited = |fee: &str| CreditedCoin {
        permission: paid,
        refund_deadline: NOW.plus_ms(1_000),
        refunded: None,
        fee: amount(fee),
    };
    let small = request(paid, "EUR:0.10", &key);
    let code = |outcome: Result<Amount, RefundRefusal>| outcome.map_err(|e| e.code());
    assert_eq!(
        code(check_refund(small.body(), Some(credited("EUR:0.10")), NOW)),
        Err("refund.below_fee")
    );
    assert_eq!(
        code(check_refund(small.body(), Some(credited("EUR:0.09")), NOW)),
        Ok(amount("EUR:0.10"))
    );
    let notice = RefundNotice {
        acquirer: paid.acquirer,
        refund: Digest([3; 32]),
        denomination: paid.coin.denomination,
        coin: CoinId::of(&paid.coin.public_key),
        permission: signed_paid.body_digest(),
        amount: amount("EUR:0.10"),
    };
    let spent = |fee: &str| SpentCoin {
        permission_digest: signed_paid.body_digest(),
        permission: paid,
        refunded: None,
        fee: amount(fee),
    };
    assert_eq!(
        code(check_notice(&notice, Some(spent("EUR:0.10")))),
        Err("refund.below_fee")
    );
    assert_eq!(
        code(check_notice(&notice, Some(spent("EUR:0.01")))),
        Ok(amount("EUR:0.10"))
    );
}
