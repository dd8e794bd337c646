//! The records each role keeps in RocksDB, as `semper-storage` reads them back: a corrupt record
//! must come back as an error, never a panic, and a good one has one encoding.

use semper_protocol::clearing::claim::ClaimRef;
use semper_protocol::clearing::netting::{CycleClaim, CycleRefund};
use semper_protocol::denomination::{Denomination, SignedDenominationSet};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::spend::SignedSpendConfirmation;
use semper_storage::acquirer::deposits::{CoinCredit, DepositRecord};
use semper_storage::acquirer::merchants::{MerchantJournalEntry, MerchantRecord};
use semper_storage::acquirer::refunds::RefundRecord;
use semper_storage::acquirer::submissions::{
    ClaimedConfirmation, ClaimedRefund, RefusedClaim, RefusedRefund, SubmissionRecord,
    SubmissionState,
};
use semper_storage::clearing::{OpenCycle, StoredSubmission};
use semper_storage::confirmed_batches::BatchTotals;
use semper_storage::ledger::{AccountRecord, JournalEntry, JournalReason};
use semper_storage::recoups::RecoupRecord;
use semper_storage::refund_allowances::{IssuerRefund, RefundAllowance};
use semper_storage::reports::{DiscrepancyRange, ReceivedReport};
use semper_storage::withdrawals::WithdrawalRecord;

use crate::Target;
use crate::check::canonical;
use crate::invariants;

/// A record type: only its codec is checked.
macro_rules! record {
    ($ty:ty) => {
        (stringify!($ty), |data: &[u8]| {
            canonical::<$ty>(data);
        })
    };
    ($ty:ty, $then:expr) => {
        (stringify!($ty), |data: &[u8]| {
            if let Some(value) = canonical::<$ty>(data) {
                $then(&value);
            }
        })
    };
}

/// The record decoders, by selector byte, as [`crate::protocol_codec`] has them. Append only.
pub const RECORDS: &[(&str, Target)] = &[
    // Issuer: ledger, withdrawals, spent set, denominations.
    record!(AccountRecord),
    record!(JournalReason),
    record!(JournalEntry),
    record!(WithdrawalRecord),
    record!(SignedDepositPermission),
    ("StoredDenomination", stored_denomination),
    // Acquirer: merchants, deposits, issuers' sets, the outbox and its submissions.
    record!(MerchantRecord),
    record!(MerchantJournalEntry),
    record!(DepositRecord),
    record!(CoinCredit),
    record!(SignedDenominationSet, |set: &SignedDenominationSet| {
        invariants::denomination_set(set.body())
    }),
    record!(SignedSpendConfirmation, invariants::spend_confirmation),
    record!(SubmissionState),
    record!(SubmissionRecord),
    record!(ClaimedConfirmation),
    record!(RefusedClaim),
    record!(BatchTotals),
    // Clearing house: cycles, submissions, claims.
    record!(OpenCycle),
    record!(StoredSubmission),
    record!(CycleClaim),
    record!(ClaimRef),
    // Every participant: received reports and their discrepancy ranges.
    record!(ReceivedReport, |record: &ReceivedReport| {
        invariants::signed_settlement_report(&record.report)
    }),
    record!(DiscrepancyRange),
    // Refunds: the acquirer's record, the issuer's record and a coin's allowance.
    record!(RefundRecord),
    record!(IssuerRefund),
    record!(RefundAllowance),
    // Recoups.
    record!(RecoupRecord),
    // Refunds in settlement: the clearing house's, and the acquirer's filed by cycle or refused.
    record!(CycleRefund),
    record!(ClaimedRefund),
    record!(RefusedRefund),
];

/// An issuer's stored denomination: the denomination's encoding, then a revoked flag byte, as
/// `semper_storage::denominations` writes and reads it.
fn stored_denomination(data: &[u8]) {
    let Some((_flag, encoded)) = data.split_last() else {
        return;
    };
    if let Some(denomination) = canonical::<Denomination>(encoded) {
        invariants::denomination(&denomination);
    }
}

/// Decodes the input with the record decoder its first byte picks, and checks what it decoded.
pub fn storage_values(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if let Some((_, decode)) = RECORDS.get(usize::from(selector)) {
        decode(rest);
    }
}
