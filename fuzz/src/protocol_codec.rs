//! Every decoder of the protocol's canonical codec, one per selector byte.

use semper_protocol::amount::{Amount, Currency};
use semper_protocol::clearing::claim::ClaimRef;
use semper_protocol::clearing::netting::{CycleClaim, CycleRefund};
use semper_protocol::crypto::blind_rsa::{
    BlindSignature, BlindedMessage, DenominationPublicKey, RsaSignature,
};
use semper_protocol::crypto::ed25519::{Signature, VerifyingKey};
use semper_protocol::denomination::{Denomination, DenominationSet, SignedDenominationSet};
use semper_protocol::ids::{
    AccountId, BankId, BatchId, CoinId, ContractHash, CycleId, DenominationId, Digest, MerchantId,
    RequestId, SubmissionId,
};
use semper_protocol::messages::account::{OpenAccountRequest, SignedOpenAccount};
use semper_protocol::messages::coin::{Coin, CoinMessage};
use semper_protocol::messages::deposit::{DepositPermission, SignedDepositPermission};
use semper_protocol::messages::deposit_answer::{DepositAnswer, SignedDepositAnswer};
use semper_protocol::messages::link::{LinkNotice, LinkRequest, LinkResponse};
use semper_protocol::messages::merchant::{DepositRequest, DepositResponse, SignedDepositRequest};
use semper_protocol::messages::read::{ReadRequest, SignedRead};
use semper_protocol::messages::receipt::{ClaimResult, SignedSubmissionReceipt, SubmissionReceipt};
use semper_protocol::messages::recoup::{
    RecoupPermission, RecoupRequest, RecoupResponse, SignedRecoupPermission, SignedRecoupRequest,
};
use semper_protocol::messages::refund::{
    RefundAnswer, RefundConfirmation, RefundNotice, RefundRequest, RefundResponse,
    SignedRefundConfirmation, SignedRefundNotice, SignedRefundRequest,
};
use semper_protocol::messages::settlement::{
    NetPosition, Obligation, RefundObligation, SettlementReport, SettlementReportFields,
    SettlementSubmission, SignedSettlementReport, SignedSettlementSubmission,
};
use semper_protocol::messages::spend::{
    ConfirmedSpend, SignedSpendCheckBatch, SignedSpendConfirmation, SpendCheckBatch,
    SpendCheckResponse, SpendConfirmation, SpendResult,
};
use semper_protocol::messages::swap::{
    SignedSwapPermission, SwapPermission, SwapRequest, SwapResponse,
};
use semper_protocol::messages::withdraw::{
    BlindedCoin, SignedWithdrawRequest, WithdrawRequest, WithdrawResponse,
};
use semper_protocol::reconcile::{Discrepancy, DiscrepancyKind};
use semper_protocol::time::Timestamp;

use crate::Target;
use crate::check::{canonical, canonical_json};
use crate::invariants;

/// A decoder whose values have no JSON form: the codec alone is checked.
macro_rules! codec_only {
    ($ty:ty) => {
        (stringify!($ty), |data: &[u8]| {
            canonical::<$ty>(data);
        })
    };
}

/// A decoder whose values also travel as JSON: both forms are checked.
macro_rules! with_json {
    ($ty:ty) => {
        (stringify!($ty), |data: &[u8]| {
            canonical_json::<$ty>(data);
        })
    };
    ($ty:ty, $then:expr) => {
        (stringify!($ty), |data: &[u8]| {
            if let Some(value) = canonical_json::<$ty>(data) {
                $then(&value);
            }
        })
    };
}

/// The decoders, by selector byte: the input's first byte picks one, the rest is what it decodes.
///
/// Append only: the committed corpus names its decoder by position.
pub const DECODERS: &[(&str, Target)] = &[
    // Leaves.
    with_json!(BankId),
    with_json!(AccountId),
    with_json!(MerchantId),
    with_json!(RequestId),
    with_json!(BatchId),
    with_json!(SubmissionId),
    with_json!(CycleId),
    with_json!(ContractHash),
    with_json!(DenominationId),
    with_json!(Digest),
    with_json!(CoinId),
    with_json!(Currency),
    with_json!(Amount),
    with_json!(Timestamp),
    with_json!(VerifyingKey),
    with_json!(Signature),
    with_json!(BlindedMessage),
    with_json!(BlindSignature),
    with_json!(RsaSignature),
    with_json!(DenominationPublicKey),
    // Denominations.
    with_json!(Denomination, invariants::denomination),
    with_json!(DenominationSet, invariants::denomination_set),
    with_json!(SignedDenominationSet, |set: &SignedDenominationSet| {
        invariants::signed(set);
        invariants::denomination_set(set.body());
    }),
    // Coins, withdrawals, deposits.
    with_json!(Coin),
    codec_only!(CoinMessage),
    with_json!(BlindedCoin),
    with_json!(WithdrawRequest),
    with_json!(SignedWithdrawRequest, invariants::signed),
    with_json!(WithdrawResponse),
    with_json!(DepositPermission),
    with_json!(
        SignedDepositPermission,
        |permission: &SignedDepositPermission| {
            let _ = permission.verify_coin_key();
            invariants::signed(permission);
        }
    ),
    with_json!(DepositRequest),
    with_json!(SignedDepositRequest, invariants::signed),
    with_json!(DepositResponse),
    // Spend checks.
    with_json!(SpendCheckBatch),
    with_json!(SignedSpendCheckBatch, invariants::signed),
    with_json!(SpendResult),
    with_json!(ConfirmedSpend),
    with_json!(SpendConfirmation),
    with_json!(SignedSpendConfirmation, invariants::spend_confirmation),
    with_json!(SpendCheckResponse),
    // Settlement.
    with_json!(SettlementSubmission),
    with_json!(SignedSettlementSubmission, invariants::signed),
    with_json!(Obligation),
    with_json!(NetPosition),
    with_json!(SettlementReportFields),
    with_json!(SettlementReport, invariants::settlement_report),
    with_json!(SignedSettlementReport, invariants::signed_settlement_report),
    with_json!(ClaimResult),
    with_json!(SubmissionReceipt),
    with_json!(SignedSubmissionReceipt, invariants::signed),
    // The link's messages.
    codec_only!(LinkRequest),
    (stringify!(LinkResponse), |data: &[u8]| {
        if let Some(response) = canonical::<LinkResponse>(data) {
            invariants::link_response(&response);
        }
    }),
    codec_only!(LinkNotice),
    // Clearing and reconciliation.
    codec_only!(CycleClaim),
    with_json!(ClaimRef),
    with_json!(DiscrepancyKind),
    with_json!(Discrepancy),
    // Generic codecs.
    codec_only!(Option<Amount>),
    codec_only!(u64),
    codec_only!(i64),
    // The acquirer's signed deposit answer, signed reads and account openings.
    with_json!(DepositAnswer),
    with_json!(SignedDepositAnswer, invariants::signed),
    with_json!(ReadRequest),
    with_json!(SignedRead, invariants::signed),
    with_json!(OpenAccountRequest),
    with_json!(SignedOpenAccount, |opening: &SignedOpenAccount| {
        let _ = opening.verify_own_key();
        invariants::signed(opening);
    }),
    // Refunds.
    with_json!(RefundRequest),
    with_json!(SignedRefundRequest, invariants::signed),
    with_json!(RefundNotice),
    with_json!(SignedRefundNotice, invariants::signed),
    with_json!(RefundConfirmation),
    with_json!(SignedRefundConfirmation, invariants::signed),
    with_json!(RefundAnswer),
    with_json!(RefundResponse),
    // Swaps (change).
    with_json!(SwapPermission),
    with_json!(SignedSwapPermission, |permission: &SignedSwapPermission| {
        let _ = permission.verify_coin_key();
        invariants::signed(permission);
    }),
    with_json!(SwapRequest),
    with_json!(SwapResponse),
    // Recoups.
    with_json!(RecoupPermission),
    with_json!(
        SignedRecoupPermission,
        |permission: &SignedRecoupPermission| {
            let _ = permission.verify_coin_key();
            invariants::signed(permission);
        }
    ),
    with_json!(RecoupRequest),
    with_json!(SignedRecoupRequest, invariants::signed),
    with_json!(RecoupResponse),
    // Refunds in settlement.
    with_json!(RefundObligation),
    codec_only!(CycleRefund),
];

/// Decodes the input with the decoder its first byte picks, and checks what it decoded.
pub fn protocol_codec(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if let Some((_, decode)) = DECODERS.get(usize::from(selector)) {
        decode(rest);
    }
}
