//! The clearing house's books: the submissions it answered, the confirmations and coins claimed
//! and by whom, the open cycle with its claims, and the signed report of every cycle cut.
//!
//! Claiming is one transaction per submission, and cutting a cycle is one transaction that writes
//! its report and opens the next: the committer applies them one at a time, so among concurrent
//! submissions of one confirmation exactly one claims it, and every claim lands in exactly one
//! cycle; the cut also marks its report undelivered until its delivery ends (`delivery`).
//! Everything here is read back from the DB at start.

mod cycle;
mod delivery;
mod submit;

pub use cycle::{CutCycle, CutOutcome, OpenFirstCycle, ReportSigner};
pub use delivery::{ReportDelivered, undelivered};
pub use submit::{RecordSubmission, SubmissionOutcome, SubmissionRefused};

use semper_protocol::clearing::{CycleClaim, CycleRefund};
use semper_protocol::codec::Encode;
use semper_protocol::codec_struct;
use semper_protocol::ids::{BankId, CycleId, Digest, SubmissionId};
use semper_protocol::limits::REPORTS_AFTER_MAX;
use semper_protocol::messages::receipt::SubmissionReceipt;
use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::time::Timestamp;

use crate::commit::{GroupReader, WriteSet};
use crate::denominations::read_sequence;
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::{CYCLE_OPEN, CYCLE_OPEN_REFUNDS, Column, report_key, submission_key};
use crate::store::Store;

/// The open cycle, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenCycle {
    /// Its number: 1 for the first, one more each cut.
    pub sequence: u64,
    /// Its id.
    pub id: CycleId,
    /// When it opened: at the previous cycle's cut-off, or when the clearing house first started.
    pub opened_at: Timestamp,
    /// Submissions recorded in it.
    pub submissions: u64,
    /// Confirmations claimed in it, which are also the numbers of its next claim.
    pub confirmations: u64,
}

codec_struct!(OpenCycle {
    sequence,
    id,
    opened_at,
    submissions,
    confirmations
});

/// A submission as recorded: the digest its retries must match, and the receipt they get again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSubmission {
    /// SHA-256 of the signed submission's body.
    pub body_digest: Digest,
    /// The receipt, unsigned: signatures are deterministic, so signing it again gives the same.
    pub receipt: SubmissionReceipt,
}

codec_struct!(StoredSubmission {
    body_digest,
    receipt
});

/// Reads the open cycle inside a transaction; every clearing DB has one once it has started.
fn read_open_cycle(reader: &GroupReader<'_>) -> Result<OpenCycle, StorageError> {
    let bytes = reader
        .get(Column::Cycles, CYCLE_OPEN)?
        .ok_or_else(|| StorageError::Corrupt {
            column: "cycles",
            reason: "no open cycle".into(),
        })?;
    decode_record("cycles", &bytes)
}

/// Stages `cycle` as the open cycle.
fn write_open_cycle(writes: &mut WriteSet, cycle: &OpenCycle) {
    writes.put(Column::Cycles, CYCLE_OPEN.to_vec(), cycle.to_bytes());
}

/// Reads, inside a transaction, how many refunds the open cycle holds: kept beside the open
/// cycle's record (absent: none), so that the record's layout is that of clearing houses that
/// settled no refunds.
fn read_open_refunds(reader: &GroupReader<'_>) -> Result<u64, StorageError> {
    read_sequence(reader.get(Column::Cycles, CYCLE_OPEN_REFUNDS)?)
}

/// Stages the open cycle's count of refunds.
fn write_open_refunds(writes: &mut WriteSet, count: u64) {
    writes.put(
        Column::Cycles,
        CYCLE_OPEN_REFUNDS.to_vec(),
        count.to_be_bytes().to_vec(),
    );
}

/// Up to `limit` refunds of cycle `sequence`, in the order they were claimed.
pub fn cycle_refunds(
    store: &Store,
    sequence: u64,
    limit: usize,
) -> Result<Vec<CycleRefund>, StorageError> {
    store
        .scan_prefix(Column::CycleRefunds, &sequence.to_be_bytes(), limit)?
        .into_iter()
        .map(|(_, value)| decode_record("cycle_refunds", &value))
        .collect()
}

/// The open cycle; `None` before the clearing house first started.
pub fn open_cycle(store: &Store) -> Result<Option<OpenCycle>, StorageError> {
    store
        .get(Column::Cycles, CYCLE_OPEN)?
        .map(|bytes| decode_record("cycles", &bytes))
        .transpose()
}

/// The submission `acquirer` sent as `submission_id`, if it was recorded.
pub fn submission(
    store: &Store,
    acquirer: &BankId,
    submission_id: &SubmissionId,
) -> Result<Option<StoredSubmission>, StorageError> {
    store
        .get(
            Column::Submissions,
            &submission_key(acquirer, submission_id),
        )?
        .map(|bytes| decode_record("submissions", &bytes))
        .transpose()
}

/// Up to `limit` claims of cycle `sequence`, in the order they were claimed.
pub fn cycle_claims(
    store: &Store,
    sequence: u64,
    limit: usize,
) -> Result<Vec<CycleClaim>, StorageError> {
    store
        .scan_prefix(Column::CycleClaims, &sequence.to_be_bytes(), limit)?
        .into_iter()
        .map(|(_, value)| decode_record("cycle_claims", &value))
        .collect()
}

/// The signed report of cycle `sequence`, if it was cut.
pub fn report(
    store: &Store,
    sequence: u64,
) -> Result<Option<SignedSettlementReport>, StorageError> {
    store
        .get(Column::Reports, &report_key(sequence))?
        .map(|bytes| decode_record("reports", &bytes))
        .transpose()
}

/// The reports of cycles numbered above `after_sequence`, oldest first: at most `limit`, and
/// never more than [`REPORTS_AFTER_MAX`].
pub fn reports_after(
    store: &Store,
    after_sequence: u64,
    limit: usize,
) -> Result<Vec<SignedSettlementReport>, StorageError> {
    let Some(first) = after_sequence.checked_add(1) else {
        return Ok(Vec::new());
    };
    store
        .scan_from(
            Column::Reports,
            &report_key(first),
            limit.min(REPORTS_AFTER_MAX),
        )?
        .into_iter()
        .map(|(_, value)| decode_record("reports", &value))
        .collect()
}
