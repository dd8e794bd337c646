//! Settlement reports a participant received, and the discrepancies its reconciliation found in
//! them: the same books for an issuer and an acquirer.
//!
//! A verified report is recorded under its cycle number, once: a re-delivery changes nothing and
//! gets the discrepancies recorded the first time. The refunds it lists are indexed with its cycle,
//! so that a report of another cycle listing one again is found. A report that failed verification is never
//! applied; only its discrepancy is kept, once per distinct report, so a forged report cannot
//! take the place of the real one of its cycle.

use std::collections::HashMap;

use semper_protocol::codec::Encode;
use semper_protocol::codec_struct;
use semper_protocol::ids::Digest;
use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::reconcile::Discrepancy;
use semper_protocol::time::Timestamp;

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::{
    Column, META_DISCREPANCIES_LEN, META_REPORTS_APPLIED_THROUGH, META_REPORTS_LAST_SEQUENCE,
    discrepancy_key, received_report_key, refused_report_key,
};
use crate::store::Store;

/// Most discrepancies one query returns.
pub const DISCREPANCIES_PAGE_MAX: usize = 1024;

/// Where a report's discrepancies are: numbers `first` to `first + count - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscrepancyRange {
    /// The first one's number.
    pub first: u64,
    /// How many.
    pub count: u64,
}

codec_struct!(DiscrepancyRange { first, count });

/// A verified report as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedReport {
    /// The report.
    pub report: SignedSettlementReport,
    /// When it was received.
    pub received_at: Timestamp,
    /// Its discrepancies.
    pub discrepancies: DiscrepancyRange,
}

codec_struct!(ReceivedReport {
    report,
    received_at,
    discrepancies
});

/// What recording a report did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportOutcome {
    /// Recorded now, with these discrepancies.
    Recorded(Vec<Discrepancy>),
    /// Recorded before: nothing changed. The discrepancies recorded then.
    Duplicate(Vec<Discrepancy>),
    /// Another report of the same cycle was recorded before: nothing changed. The clearing house
    /// signed two reports of one cycle, which the caller records as a refused report.
    Conflicting,
}

/// Records a verified report and the discrepancies reconciliation found in it. If another report
/// of the same cycle was recorded before, that one is kept and nothing is written.
#[derive(Clone, Debug)]
pub struct RecordReport {
    /// The report, its signature checked.
    pub report: SignedSettlementReport,
    /// When it was received.
    pub received_at: Timestamp,
    /// What reconciliation found.
    pub discrepancies: Vec<Discrepancy>,
}

impl Transaction for RecordReport {
    type Output = ReportOutcome;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(ReportOutcome, WriteSet), StorageError> {
        let sequence = self.report.body().fields().sequence;
        let key = received_report_key(sequence);
        if let Some(bytes) = reader.get(Column::ReceivedReports, &key)? {
            let earlier: ReceivedReport = decode_record("received_reports", &bytes)?;
            if earlier.report.body_digest() == self.report.body_digest() {
                let found = read_range(reader, earlier.discrepancies)?;
                return Ok((ReportOutcome::Duplicate(found), WriteSet::new()));
            }
            return Ok((ReportOutcome::Conflicting, WriteSet::new()));
        }
        let mut writes = WriteSet::new();
        let range = append(reader, &mut writes, &self.discrepancies)?;
        let last = read_u64(reader, META_REPORTS_LAST_SEQUENCE)?;
        if last.is_none_or(|last| last < sequence) {
            writes.put(
                Column::Meta,
                META_REPORTS_LAST_SEQUENCE.to_vec(),
                sequence.to_be_bytes().to_vec(),
            );
        }
        advance_applied_through(reader, &mut writes, sequence)?;
        for obligation in self.report.body().fields().refunds.iter() {
            for refund in obligation.refunds.iter() {
                writes.put(
                    Column::ReportedRefunds,
                    refund.as_bytes().to_vec(),
                    sequence.to_be_bytes().to_vec(),
                );
            }
        }
        let record = ReceivedReport {
            report: self.report,
            received_at: self.received_at,
            discrepancies: range,
        };
        writes.put(Column::ReceivedReports, key.to_vec(), record.to_bytes());
        Ok((ReportOutcome::Recorded(self.discrepancies), writes))
    }
}

/// The cycle of the recorded report that listed each of `refunds`, for those one did: what tells
/// a refund listed again in another cycle.
pub fn listed_before(
    store: &Store,
    refunds: &[Digest],
) -> Result<HashMap<Digest, u64>, StorageError> {
    let refs: Vec<&[u8]> = refunds.iter().map(|r| r.as_bytes().as_slice()).collect();
    let mut found = HashMap::new();
    for (refund, value) in refunds
        .iter()
        .zip(store.multi_get(Column::ReportedRefunds, &refs)?)
    {
        if let Some(bytes) = value {
            let cycle = <[u8; 8]>::try_from(bytes.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| StorageError::Corrupt {
                    column: "reported_refunds",
                    reason: "value is not a cycle number".into(),
                })?;
            found.insert(*refund, cycle);
        }
    }
    Ok(found)
}

/// Records the discrepancy of a report that was not applied (its signature failed, or it
/// conflicts with the recorded report of its cycle), once per distinct report.
#[derive(Clone, Debug)]
pub struct RecordRefusedReport {
    /// SHA-256 of the refused report's body.
    pub digest: Digest,
    /// Why it was refused.
    pub discrepancy: Discrepancy,
}

impl Transaction for RecordRefusedReport {
    type Output = ReportOutcome;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(ReportOutcome, WriteSet), StorageError> {
        let key = refused_report_key(&self.digest);
        if let Some(bytes) = reader.get(Column::ReceivedReports, &key)? {
            let range: DiscrepancyRange = decode_record("received_reports", &bytes)?;
            let found = read_range(reader, range)?;
            return Ok((ReportOutcome::Duplicate(found), WriteSet::new()));
        }
        let mut writes = WriteSet::new();
        let found = vec![self.discrepancy];
        let range = append(reader, &mut writes, &found)?;
        writes.put(Column::ReceivedReports, key.to_vec(), range.to_bytes());
        Ok((ReportOutcome::Recorded(found), writes))
    }
}

/// Moves the applied-through mark past `sequence`, being applied now, and past every report after
/// it applied before (delivered out of order), when `sequence` is the first one missing.
fn advance_applied_through(
    reader: &GroupReader<'_>,
    writes: &mut WriteSet,
    sequence: u64,
) -> Result<(), StorageError> {
    let through = read_u64(reader, META_REPORTS_APPLIED_THROUGH)?.unwrap_or(0);
    if through.checked_add(1) != Some(sequence) {
        return Ok(());
    }
    let mut through = sequence;
    // Each step reads one report recorded before: bounded by how many are.
    while let Some(next) = through.checked_add(1) {
        if reader
            .get(Column::ReceivedReports, &received_report_key(next))?
            .is_none()
        {
            break;
        }
        through = next;
    }
    writes.put(
        Column::Meta,
        META_REPORTS_APPLIED_THROUGH.to_vec(),
        through.to_be_bytes().to_vec(),
    );
    Ok(())
}

/// Stages `discrepancies` after the ones recorded, and returns where they went.
fn append(
    reader: &GroupReader<'_>,
    writes: &mut WriteSet,
    discrepancies: &[Discrepancy],
) -> Result<DiscrepancyRange, StorageError> {
    let first = read_u64(reader, META_DISCREPANCIES_LEN)?.unwrap_or(0);
    for (index, discrepancy) in (first..).zip(discrepancies) {
        writes.put(
            Column::Discrepancies,
            discrepancy_key(index).to_vec(),
            discrepancy.to_bytes(),
        );
    }
    let count = discrepancies.len() as u64;
    if count > 0 {
        writes.put(
            Column::Meta,
            META_DISCREPANCIES_LEN.to_vec(),
            (first + count).to_be_bytes().to_vec(),
        );
    }
    Ok(DiscrepancyRange { first, count })
}

fn read_range(
    reader: &GroupReader<'_>,
    range: DiscrepancyRange,
) -> Result<Vec<Discrepancy>, StorageError> {
    let keys: Vec<[u8; 8]> = (range.first..range.first.saturating_add(range.count))
        .map(discrepancy_key)
        .collect();
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    reader
        .multi_get(Column::Discrepancies, &refs)?
        .into_iter()
        .map(|value| {
            let bytes = value.ok_or_else(|| StorageError::Corrupt {
                column: "discrepancies",
                reason: "a recorded discrepancy is missing".into(),
            })?;
            decode_record("discrepancies", &bytes)
        })
        .collect()
}

fn read_u64(reader: &GroupReader<'_>, key: &[u8]) -> Result<Option<u64>, StorageError> {
    decode_u64(reader.get(Column::Meta, key)?)
}

fn decode_u64(bytes: Option<Vec<u8>>) -> Result<Option<u64>, StorageError> {
    bytes
        .map(|bytes| {
            <[u8; 8]>::try_from(bytes.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| StorageError::Corrupt {
                    column: "meta",
                    reason: "counter is not 8 bytes".into(),
                })
        })
        .transpose()
}

/// The highest cycle number of the reports recorded; `None` before the first.
pub fn last_sequence(store: &Store) -> Result<Option<u64>, StorageError> {
    decode_u64(store.get(Column::Meta, META_REPORTS_LAST_SEQUENCE)?)
}

/// The highest cycle number N such that the reports of cycles 1 to N are all applied (0 before
/// the first): a participant catching up asks for the reports after it, so one missed while
/// later ones arrived is still fetched.
pub fn applied_through(store: &Store) -> Result<u64, StorageError> {
    Ok(decode_u64(store.get(Column::Meta, META_REPORTS_APPLIED_THROUGH)?)?.unwrap_or(0))
}

/// The recorded report of cycle `sequence`, if any.
pub fn received_report(
    store: &Store,
    sequence: u64,
) -> Result<Option<ReceivedReport>, StorageError> {
    store
        .get(Column::ReceivedReports, &received_report_key(sequence))?
        .map(|bytes| decode_record("received_reports", &bytes))
        .transpose()
}

/// Discrepancies from number `from` on, in the order found: at most `limit`, and never more than
/// [`DISCREPANCIES_PAGE_MAX`].
pub fn discrepancies(
    store: &Store,
    from: u64,
    limit: usize,
) -> Result<Vec<Discrepancy>, StorageError> {
    store
        .scan_from(
            Column::Discrepancies,
            &discrepancy_key(from),
            limit.min(DISCREPANCIES_PAGE_MAX),
        )?
        .into_iter()
        .map(|(_, value)| decode_record("discrepancies", &value))
        .collect()
}
