//! The outbox: issuer confirmations (of spends, and of refunds in an outbox of their own)
//! waiting for settlement, oldest first, and their move into a submission, which is stored
//! before it is ever sent.

use semper_protocol::codec::Encode;
use semper_protocol::limits::{
    SUBMISSION_CONFIRMATIONS_MAX, SUBMISSION_ENTRIES_MAX, SUBMISSION_REFUNDS_MAX,
};
use semper_protocol::messages::refund::SignedRefundConfirmation;
use semper_protocol::messages::settlement::SignedSettlementSubmission;
use semper_protocol::messages::spend::SignedSpendConfirmation;

use super::lanes::{OUTBOX, REFUND_OUTBOX};
use super::submissions::{SubmissionRecord, SubmissionState};
use super::{sequence_of, take_sequences};
use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::lease::{self, Fence};
use crate::ledger::decode_record;
use crate::schema::{Column, META_SUBMISSION_NEXT, sequence_key};
use crate::store::Store;

/// Why the outbox refused a change. Nothing was written. Each has a stable
/// [`OutboxError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    /// The confirmations to move are no longer the outbox's oldest, as read.
    #[error("the outbox changed since it was read")]
    OutboxChanged,
    /// A submission with this id exists already.
    #[error("submission id already in use")]
    SubmissionExists,
    /// No such submission.
    #[error("unknown submission")]
    UnknownSubmission,
    /// The outbox lease's tenure the submission was made under has ended: another process of
    /// the acquirer runs the outbox now.
    #[error("another process runs the outbox")]
    NotLeader,
}

impl OutboxError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::OutboxChanged => "outbox.changed",
            Self::SubmissionExists => "outbox.submission_exists",
            Self::UnknownSubmission => "outbox.unknown_submission",
            Self::NotLeader => "outbox.not_leader",
        }
    }
}

/// Appends confirmations to the outbox, in order.
pub(crate) fn enqueue(
    reader: &GroupReader<'_>,
    writes: &mut WriteSet,
    confirmations: Vec<SignedSpendConfirmation>,
) -> Result<(), StorageError> {
    if confirmations.is_empty() {
        return Ok(());
    }
    let first = OUTBOX
        .lanes
        .take(reader, writes, confirmations.len() as u64)?;
    for (sequence, confirmation) in (first..).zip(confirmations) {
        writes.put(
            Column::Outbox,
            sequence_key(sequence).to_vec(),
            confirmation.to_bytes(),
        );
    }
    Ok(())
}

/// Appends an issuer's refund confirmation to the refund outbox, which settlement submissions
/// take from beside the outbox of spend confirmations.
pub(crate) fn enqueue_refund(
    reader: &GroupReader<'_>,
    writes: &mut WriteSet,
    confirmation: SignedRefundConfirmation,
) -> Result<(), StorageError> {
    let sequence = REFUND_OUTBOX.lanes.take(reader, writes, 1)?;
    writes.put(
        Column::RefundOutbox,
        sequence_key(sequence).to_vec(),
        confirmation.to_bytes(),
    );
    Ok(())
}

/// The oldest waiting refund confirmations with their sequence numbers, at most `limit` (and
/// no more than one submission may carry).
pub fn oldest_refunds(
    store: &Store,
    limit: usize,
) -> Result<Vec<(u64, SignedRefundConfirmation)>, StorageError> {
    store
        .scan_prefix(Column::RefundOutbox, &[], limit.min(SUBMISSION_REFUNDS_MAX))?
        .into_iter()
        .map(|(key, value)| {
            Ok((
                sequence_of(&key, "refund_outbox")?,
                decode_record("refund_outbox", &value)?,
            ))
        })
        .collect()
}

/// The oldest waiting confirmations with their sequence numbers: at most `max_confirmations`, and
/// no more entries in all than one submission may carry.
pub fn oldest(
    store: &Store,
    max_confirmations: usize,
) -> Result<Vec<(u64, SignedSpendConfirmation)>, StorageError> {
    let limit = max_confirmations.clamp(1, SUBMISSION_CONFIRMATIONS_MAX);
    let mut entries = 0;
    let mut taken = Vec::new();
    for (key, value) in store.scan_prefix(Column::Outbox, &[], limit)? {
        let confirmation: SignedSpendConfirmation = decode_record("outbox", &value)?;
        entries += confirmation.body().entries.len();
        // One confirmation alone always fits: it has fewer entries than a submission may carry.
        if entries > SUBMISSION_ENTRIES_MAX && !taken.is_empty() {
            break;
        }
        taken.push((sequence_of(&key, "outbox")?, confirmation));
    }
    Ok(taken)
}

/// How many confirmations wait (see [`super::lanes`] for how they are counted).
pub fn depth(store: &Store) -> Result<u64, StorageError> {
    OUTBOX.depth(store)
}

/// How many refund confirmations wait, counted as [`depth`] counts.
pub fn refund_depth(store: &Store) -> Result<u64, StorageError> {
    REFUND_OUTBOX.depth(store)
}

/// Moves confirmations from the outbox, and refund confirmations from the refund outbox, into a
/// new pending submission, in one write. The submission is signed already: what is stored is
/// exactly what is sent, every time.
#[derive(Clone, Debug)]
pub struct CreateSubmission {
    /// The signed submission, listing the confirmations in outbox order.
    pub submission: SignedSettlementSubmission,
    /// The outbox sequence numbers of its confirmations, in the same order.
    pub outbox_sequences: Vec<u64>,
    /// The refund outbox sequence numbers of its refund confirmations, in the same order.
    pub refund_sequences: Vec<u64>,
    /// The outbox lease's tenure it is made under, when several processes share the store:
    /// checked in this write, so only the outbox's one runner moves confirmations.
    pub fence: Option<Fence>,
}

impl Transaction for CreateSubmission {
    type Output = Result<SubmissionRecord, OutboxError>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let refuse = |error| Ok((Err(error), WriteSet::new()));
        if let Some(fence) = &self.fence
            && lease::check(reader, fence)?.is_err()
        {
            return refuse(OutboxError::NotLeader);
        }
        let id = self.submission.body().submission_id;
        if reader
            .get(Column::OutboxSubmissions, id.as_bytes())?
            .is_some()
        {
            return refuse(OutboxError::SubmissionExists);
        }
        let body = self.submission.body();
        let mut writes = WriteSet::new();
        let moved = take_queued(
            reader,
            &mut writes,
            Column::Outbox,
            &self.outbox_sequences,
            body.confirmations.iter().map(|c| c.to_bytes()),
            body.confirmations.len(),
        )? && take_queued(
            reader,
            &mut writes,
            Column::RefundOutbox,
            &self.refund_sequences,
            body.refunds.iter().map(|c| c.to_bytes()),
            body.refunds.len(),
        )?;
        if !moved {
            return refuse(OutboxError::OutboxChanged);
        }
        OUTBOX.count_taken(reader, &mut writes, &self.outbox_sequences)?;
        REFUND_OUTBOX.count_taken(reader, &mut writes, &self.refund_sequences)?;
        let sequence = take_sequences(reader, &mut writes, META_SUBMISSION_NEXT, 1)?;
        let record = SubmissionRecord {
            sequence,
            submission: self.submission,
            state: SubmissionState::Pending,
        };
        writes.put(
            Column::OutboxSubmissions,
            id.as_bytes().to_vec(),
            record.to_bytes(),
        );
        writes.put(
            Column::OutboxPending,
            sequence_key(sequence).to_vec(),
            id.as_bytes().to_vec(),
        );
        Ok((Ok(record), writes))
    }
}

/// Stages the deletion of the queued entries `sequences` of `column`, if they hold exactly
/// `expected` (`count` of them): `false`, with nothing to keep staged, when they do not.
fn take_queued(
    reader: &GroupReader<'_>,
    writes: &mut WriteSet,
    column: Column,
    sequences: &[u64],
    expected: impl Iterator<Item = Vec<u8>>,
    count: usize,
) -> Result<bool, StorageError> {
    if sequences.len() != count {
        return Ok(false);
    }
    for (sequence, bytes) in sequences.iter().zip(expected) {
        let key = sequence_key(*sequence);
        if reader.get(column, &key)?.as_deref() != Some(bytes.as_slice()) {
            return Ok(false);
        }
        writes.delete(column, key.to_vec());
    }
    Ok(true)
}
