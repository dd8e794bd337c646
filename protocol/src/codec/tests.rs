//! Property tests of every codec: round trips, canonical form, and no panic on any input.

use proptest::prelude::*;

use crate::amount::{Amount, Currency};
use crate::codec::{Decode, Encode};
use crate::crypto::blind_rsa::{BlindSignature, BlindedMessage, RsaSignature};
use crate::crypto::ed25519::{Signature, SigningKey, VerifyingKey};
use crate::denomination::{
    Denomination, DenominationFees, DenominationFields, DenominationSet, DenominationSetFields,
};
use crate::ids::*;
use crate::messages::account::{OpenAccountRequest, SignedOpenAccount};
use crate::messages::coin::Coin;
use crate::messages::deposit::{DepositPermission, SignedDepositPermission};
use crate::messages::deposit_answer::{DepositAnswer, SignedDepositAnswer};
use crate::messages::read::{ReadPath, ReadRequest, ReadSubject, SignedRead};
use crate::messages::settlement::{Obligation, SettlementReport, SettlementSubmission};
use crate::messages::spend::{
    ConfirmedSpend, SpendCheckBatch, SpendCheckResponse, SpendConfirmation, SpendResult,
};
use crate::messages::withdraw::{BlindedCoin, WithdrawRequest, WithdrawResponse};
use crate::signed::Signed;
use crate::test_keys;
use crate::time::Timestamp;

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["EUR", "USD", "JPY", "BHD", "CHF"])
        .prop_map(|c| Currency::new(c).unwrap())
}

fn amount() -> impl Strategy<Value = Amount> {
    (currency(), any::<u64>()).prop_map(|(c, units)| Amount::from_minor_units(c, units))
}

fn small_amount(c: Currency) -> impl Strategy<Value = Amount> {
    (1u64..1_000_000_000).prop_map(move |units| Amount::from_minor_units(c, units))
}

fn bank() -> impl Strategy<Value = BankId> {
    any::<[u8; 16]>().prop_map(BankId)
}

fn key() -> impl Strategy<Value = VerifyingKey> {
    any::<[u8; 32]>().prop_map(|seed| *SigningKey::from_seed(&seed).verifying_key())
}

fn signature() -> impl Strategy<Value = Signature> {
    (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(a, b)| {
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&a);
        bytes[32..].copy_from_slice(&b);
        Signature(bytes)
    })
}

fn rsa_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=512)
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    any::<u64>().prop_map(Timestamp::from_unix_ms)
}

fn denomination() -> impl Strategy<Value = Denomination> {
    (
        bank(),
        currency(),
        1u64..u64::MAX,
        prop::bool::ANY,
        prop::array::uniform4(any::<u64>()),
    )
        .prop_map(|(issuer, c, units, big, mut windows)| {
            windows.sort_unstable();
            windows[1] = windows[1].max(windows[0].saturating_add(1));
            windows[2] = windows[2].max(windows[1]);
            windows[3] = windows[3].max(windows[2]);
            let key = if big {
                test_keys::rsa_3072()
            } else {
                test_keys::rsa_2048()
            };
            Denomination::new(DenominationFields {
                issuer,
                value: Amount::from_minor_units(c, units),
                public_key: key.public_key().clone(),
                valid_from: Timestamp::from_unix_ms(windows[0].min(u64::MAX - 1)),
                withdraw_until: Timestamp::from_unix_ms(windows[1]),
                deposit_until: Timestamp::from_unix_ms(windows[2]),
                retain_until: Timestamp::from_unix_ms(windows[3]),
                fees: DenominationFees::zero(c),
            })
            .unwrap()
        })
}

fn denomination_set() -> impl Strategy<Value = DenominationSet> {
    (
        prop::collection::vec(denomination(), 0..3),
        prop::collection::vec(any::<[u8; 32]>().prop_map(DenominationId), 0..3),
        any::<u64>(),
        timestamp(),
    )
        .prop_map(|(denominations, revoked, sequence, issued_at)| {
            let issuer = denominations
                .first()
                .map_or(BankId([0; 16]), Denomination::issuer);
            let mut ids = std::collections::HashSet::new();
            let denominations: Vec<Denomination> = denominations
                .into_iter()
                .filter(|d| d.issuer() == issuer && ids.insert(d.id()))
                .collect();
            DenominationSet::new(DenominationSetFields {
                issuer,
                sequence,
                issued_at,
                denominations: denominations.try_into().unwrap(),
                revoked: revoked.try_into().unwrap(),
            })
            .unwrap()
        })
}

fn coin() -> impl Strategy<Value = Coin> {
    (any::<[u8; 32]>(), key(), rsa_bytes()).prop_map(|(d, public_key, sig)| Coin {
        denomination: DenominationId(d),
        public_key,
        signature: RsaSignature(sig),
    })
}

fn permission() -> impl Strategy<Value = SignedDepositPermission> {
    (
        coin(),
        any::<[u8; 32]>(),
        any::<[u8; 16]>(),
        bank(),
        amount(),
        timestamp(),
        signature(),
    )
        .prop_map(
            |(coin, contract, merchant, acquirer, amount, timestamp, signature)| {
                Signed::from_parts(
                    DepositPermission {
                        coin,
                        contract_hash: ContractHash(contract),
                        merchant: MerchantId(merchant),
                        acquirer,
                        amount,
                        timestamp,
                    },
                    signature,
                )
            },
        )
}

fn withdraw_request() -> impl Strategy<Value = Signed<WithdrawRequest>> {
    (
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        prop::collection::vec((any::<[u8; 32]>(), rsa_bytes()), 0..4),
        signature(),
    )
        .prop_map(|(account, request, coins, signature)| {
            let coins: Vec<BlindedCoin> = coins
                .into_iter()
                .map(|(d, b)| BlindedCoin {
                    denomination: DenominationId(d),
                    blinded: BlindedMessage(b),
                })
                .collect();
            Signed::from_parts(
                WithdrawRequest {
                    account: AccountId(account),
                    request_id: RequestId(request),
                    coins: coins.try_into().unwrap(),
                },
                signature,
            )
        })
}

fn withdraw_response() -> impl Strategy<Value = WithdrawResponse> {
    (any::<[u8; 16]>(), prop::collection::vec(rsa_bytes(), 0..4)).prop_map(|(request, sigs)| {
        WithdrawResponse {
            request_id: RequestId(request),
            blind_signatures: sigs
                .into_iter()
                .map(BlindSignature)
                .collect::<Vec<_>>()
                .try_into()
                .unwrap(),
        }
    })
}

fn spend_batch() -> impl Strategy<Value = Signed<SpendCheckBatch>> {
    (
        bank(),
        any::<[u8; 16]>(),
        prop::collection::vec(permission(), 0..3),
        signature(),
    )
        .prop_map(|(acquirer, batch, permissions, signature)| {
            Signed::from_parts(
                SpendCheckBatch {
                    acquirer,
                    batch_id: BatchId(batch),
                    permissions: permissions.try_into().unwrap(),
                },
                signature,
            )
        })
}

fn spend_result() -> impl Strategy<Value = SpendResult> {
    prop_oneof![
        Just(SpendResult::Accepted),
        Just(SpendResult::Replay),
        permission().prop_map(|earlier| SpendResult::Conflict {
            earlier: Box::new(earlier)
        }),
    ]
}

fn confirmation() -> impl Strategy<Value = Signed<SpendConfirmation>> {
    (
        bank(),
        bank(),
        any::<[u8; 16]>(),
        timestamp(),
        prop::collection::vec(
            (key(), any::<[u8; 32]>(), amount(), any::<[u8; 32]>()),
            0..4,
        ),
        signature(),
    )
        .prop_map(|(issuer, acquirer, batch, at, entries, signature)| {
            let entries: Vec<ConfirmedSpend> = entries
                .into_iter()
                .map(|(coin, d, amount, p)| ConfirmedSpend {
                    coin: CoinId::of(&coin),
                    denomination: DenominationId(d),
                    amount,
                    permission: Digest(p),
                })
                .collect();
            Signed::from_parts(
                SpendConfirmation {
                    issuer,
                    acquirer,
                    batch_id: BatchId(batch),
                    confirmed_at: at,
                    entries: entries.try_into().unwrap(),
                },
                signature,
            )
        })
}

fn spend_response() -> impl Strategy<Value = SpendCheckResponse> {
    (
        any::<[u8; 16]>(),
        prop::collection::vec(spend_result(), 0..4),
        prop::option::of(confirmation()),
    )
        .prop_map(|(batch, results, confirmation)| SpendCheckResponse {
            batch_id: BatchId(batch),
            results: results.try_into().unwrap(),
            confirmation,
        })
}

fn submission() -> impl Strategy<Value = Signed<SettlementSubmission>> {
    (
        bank(),
        any::<[u8; 16]>(),
        timestamp(),
        prop::collection::vec(confirmation(), 0..3),
        signature(),
    )
        .prop_map(|(acquirer, id, at, confirmations, signature)| {
            Signed::from_parts(
                SettlementSubmission {
                    acquirer,
                    submission_id: SubmissionId(id),
                    submitted_at: at,
                    confirmations: confirmations.try_into().unwrap(),
                    refunds: crate::bounded::BoundedVec::empty(),
                },
                signature,
            )
        })
}

fn report() -> impl Strategy<Value = Signed<SettlementReport>> {
    let banks = prop::collection::vec(bank(), 2..5);
    (
        banks,
        currency(),
        any::<[u8; 16]>(),
        timestamp(),
        signature(),
    )
        .prop_flat_map(|(banks, c, cycle, at, signature)| {
            let n = banks.len();
            let obligations = prop::collection::btree_map((0..n, 0..n), small_amount(c), 0..6);
            (
                Just(banks),
                obligations,
                Just(cycle),
                Just(at),
                Just(signature),
            )
        })
        .prop_map(|(banks, obligations, cycle, at, signature)| {
            let obligations = obligations
                .into_iter()
                .map(|((i, a), amount)| Obligation {
                    issuer: banks[i],
                    acquirer: banks[a],
                    amount,
                    confirmations: vec![BatchId([i as u8; 16]), BatchId([100 + a as u8; 16])]
                        .try_into()
                        .unwrap(),
                })
                .collect();
            let report =
                SettlementReport::new(banks[0], CycleId(cycle), 7, at, obligations).unwrap();
            Signed::from_parts(report, signature)
        })
}

fn deposit_answer() -> impl Strategy<Value = SignedDepositAnswer> {
    (
        bank(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<[u8; 32]>(),
        prop::collection::vec(spend_result(), 0..4),
        signature(),
    )
        .prop_map(
            |(acquirer, merchant, deposit_id, digest, results, signature)| {
                Signed::from_parts(
                    DepositAnswer {
                        acquirer,
                        merchant: MerchantId(merchant),
                        deposit_id: RequestId(deposit_id),
                        request_digest: Digest(digest),
                        results: results.try_into().unwrap(),
                    },
                    signature,
                )
            },
        )
}

fn signed_read() -> impl Strategy<Value = SignedRead> {
    (
        any::<bool>(),
        any::<[u8; 16]>(),
        "[ -~]{0,64}",
        timestamp(),
        signature(),
    )
        .prop_map(|(account, id, path, at, signature)| {
            let subject = if account {
                ReadSubject::Account(AccountId(id))
            } else {
                ReadSubject::Merchant(MerchantId(id))
            };
            Signed::from_parts(
                ReadRequest {
                    subject,
                    path: ReadPath::new(&path).unwrap(),
                    at,
                },
                signature,
            )
        })
}

fn open_account() -> impl Strategy<Value = SignedOpenAccount> {
    (any::<[u8; 16]>(), key(), currency(), signature()).prop_map(
        |(account, public_key, currency, signature)| {
            Signed::from_parts(
                OpenAccountRequest {
                    account: AccountId(account),
                    public_key,
                    currency,
                },
                signature,
            )
        },
    )
}

/// A decoder must never panic, and whatever it accepts must re-encode to the same bytes.
fn check_any_bytes<T: Decode + Encode>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(value) = T::from_bytes(bytes) {
        prop_assert_eq!(value.to_bytes(), bytes, "accepted a non-canonical encoding");
    }
    Ok(())
}

/// Round trip through the binary and JSON forms; every strict prefix is refused; mutations of the
/// encoding never panic the decoder.
fn check_codec<T>(value: &T, flips: &[(usize, u8)]) -> Result<(), TestCaseError>
where
    T: Decode
        + Encode
        + PartialEq
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    let bytes = value.to_bytes();
    prop_assert_eq!(&T::from_bytes(&bytes).unwrap(), value);
    let json = serde_json::to_string(value).unwrap();
    prop_assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value);
    for len in 0..bytes.len() {
        prop_assert!(
            T::from_bytes(&bytes[..len]).is_err(),
            "prefix of {} bytes accepted",
            len
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    prop_assert_eq!(
        T::from_bytes(&longer).unwrap_err().code(),
        "decode.trailing_bytes"
    );
    for &(position, mask) in flips {
        let mut mutated = bytes.clone();
        mutated[position % bytes.len()] ^= mask.max(1);
        check_any_bytes::<T>(&mutated)?;
    }
    Ok(())
}

fn flips() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>()), 0..16)
}

macro_rules! codec_properties {
    ($($name:ident: $ty:ty = $strategy:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]
            $(
                #[test]
                fn $name(value in $strategy, flips in flips(), noise in prop::collection::vec(any::<u8>(), 0..300)) {
                    check_codec::<$ty>(&value, &flips)?;
                    check_any_bytes::<$ty>(&noise)?;
                }
            )*
        }
    };
}

codec_properties! {
    amount_codec: Amount = amount();
    denomination_codec: Denomination = denomination();
    denomination_set_codec: Signed<DenominationSet> = (denomination_set(), signature()).prop_map(|(s, sig)| Signed::from_parts(s, sig));
    coin_codec: Coin = coin();
    deposit_permission_codec: SignedDepositPermission = permission();
    withdraw_request_codec: Signed<WithdrawRequest> = withdraw_request();
    withdraw_response_codec: WithdrawResponse = withdraw_response();
    spend_batch_codec: Signed<SpendCheckBatch> = spend_batch();
    spend_result_codec: SpendResult = spend_result();
    spend_confirmation_codec: Signed<SpendConfirmation> = confirmation();
    spend_response_codec: SpendCheckResponse = spend_response();
    settlement_submission_codec: Signed<SettlementSubmission> = submission();
    settlement_report_codec: Signed<SettlementReport> = report();
    deposit_answer_codec: SignedDepositAnswer = deposit_answer();
    signed_read_codec: SignedRead = signed_read();
    open_account_codec: SignedOpenAccount = open_account();
}

#[test]
fn unknown_versions_and_wrong_domains_get_typed_errors() {
    let f = test_keys::denomination("EUR:1.00", test_keys::rsa_2048());
    let bytes = f.to_bytes();
    let tag_len = usize::from(bytes[0]);
    let mut newer = bytes.clone();
    newer[1 + tag_len] = 3;
    assert_eq!(
        Denomination::from_bytes(&newer).unwrap_err().code(),
        "decode.unknown_version"
    );
    // A denomination is not a deposit permission, even though both are well-formed messages.
    assert_eq!(
        SignedDepositPermission::from_bytes(&bytes)
            .unwrap_err()
            .code(),
        "decode.wrong_domain"
    );
}

#[test]
fn oversized_lists_are_refused_before_allocation() {
    let mut bytes = WithdrawResponse {
        request_id: RequestId([0; 16]),
        blind_signatures: crate::bounded::BoundedVec::empty(),
    }
    .to_bytes();
    let count_at = bytes.len() - 4;
    bytes[count_at..].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        WithdrawResponse::from_bytes(&bytes).unwrap_err().code(),
        "decode.too_large"
    );
    let json = format!(
        "{{\"request_id\":\"{}\",\"blind_signatures\":[{}]}}",
        "00".repeat(16),
        vec!["\"00\""; crate::limits::WITHDRAW_COINS_MAX + 1].join(",")
    );
    assert!(serde_json::from_str::<WithdrawResponse>(&json).is_err());
}
