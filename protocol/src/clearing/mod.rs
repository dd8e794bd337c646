//! The clearing house's decisions, as pure functions: which confirmations of a settlement
//! submission it may count, which it already counted, and the report a cycle's claims add up to.
//!
//! The clearing actor is the shell: it feeds these the submission, the registered participants
//! and what its DB says was claimed before, and writes what they decide.
//!
//! - [`participants`]: the banks the clearing house knows, with their roles and keys.
//! - [`check`]: the acquirer's signature on a submission, then each spend and refund
//!   confirmation on its own.
//! - [`claim`]: who claimed a confirmation or a coin first.
//! - [`netting`]: a cycle's claims as obligations, and its settlement report.

pub mod check;
pub mod claim;
pub mod netting;
pub mod participants;

pub use check::{
    Claimable, ConfirmationRefusal, RefundClaimable, RefundVerdict, SubmissionRefusal, Verdict,
    authenticate, check_confirmations, check_refunds,
};
pub use claim::{ClaimBook, ClaimRef, CoinKey, ConfirmationKey, RefundKey, decide, decide_refunds};
pub use netting::{CycleClaim, CycleRefund, obligations, refund_obligations, settle};
pub use participants::{Participant, ParticipantError, Participants};

use crate::crypto::hash::sha256;
use crate::ids::{BankId, CycleId};

/// The id of cycle number `sequence` of `clearing`: derived, so that it never needs to be
/// generated, and a cycle's id can be recomputed from its number.
pub fn cycle_id(clearing: BankId, sequence: u64) -> CycleId {
    let digest = sha256(&[
        b"semper/cycle-id",
        clearing.as_bytes(),
        &sequence.to_be_bytes(),
    ]);
    let mut id = [0u8; CycleId::LEN];
    id.copy_from_slice(&digest[..CycleId::LEN]);
    CycleId(id)
}

#[cfg(test)]
mod tests;
