//! Cycles: the first one opened at start, and each cut off into its signed report while the next
//! opens, in one atomic write.

use semper_protocol::clearing::{CycleClaim, CycleRefund, cycle_id, settle};
use semper_protocol::codec::Encode;
use semper_protocol::ids::BankId;
use semper_protocol::messages::settlement::{
    SettlementError, SettlementReport, SignedSettlementReport,
};
use semper_protocol::time::Timestamp;

use super::delivery::mark_undelivered;
use super::{OpenCycle, read_open_cycle, read_open_refunds, write_open_cycle, write_open_refunds};
use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::lease::{self, Fence};
use crate::ledger::decode_record;
use crate::schema::{CYCLE_OPEN, Column, cycle_claim_key, report_key};

/// Signs a cycle's report: the clearing house's key stays with its caller. Shared, because a cut
/// applied again after a conflict signs its report again.
pub type ReportSigner =
    std::sync::Arc<dyn Fn(SettlementReport) -> SignedSettlementReport + Send + Sync>;

/// Opens cycle 1 if no cycle is open yet; otherwise changes nothing.
#[derive(Clone, Copy, Debug)]
pub struct OpenFirstCycle {
    /// The clearing house, from whose id cycle ids derive.
    pub clearing: BankId,
    /// Now.
    pub at: Timestamp,
}

impl Transaction for OpenFirstCycle {
    /// The open cycle: the one found, or the new first one.
    type Output = OpenCycle;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(OpenCycle, WriteSet), StorageError> {
        if reader.get(Column::Cycles, CYCLE_OPEN)?.is_some() {
            return Ok((read_open_cycle(reader)?, WriteSet::new()));
        }
        let first = fresh_cycle(self.clearing, 1, self.at);
        let mut writes = WriteSet::new();
        write_open_cycle(&mut writes, &first);
        Ok((first, writes))
    }
}

/// What cutting a cycle did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CutOutcome {
    /// Cut now: its signed report, and the cycle that opened.
    Cut {
        /// The cycle's report, stored.
        report: SignedSettlementReport,
        /// The next cycle, now open.
        next: OpenCycle,
    },
    /// The cycle asked for is no longer open (another cut came first): the one that is.
    NotOpen(OpenCycle),
    /// The fence's tenure no longer holds the cut-off lease: another process cuts now.
    NotHolder,
}

/// Cuts the open cycle (when `sequence` is given, only if that is still the one open): nets its
/// claims and refunds into a report, signs it, stores it, marks it undelivered and opens the next
/// cycle, in one write. A report
/// that cannot be made (a sum over its bounds) leaves the cycle open and is answered with the
/// reason.
#[derive(Clone)]
pub struct CutCycle {
    /// The clearing house.
    pub clearing: BankId,
    /// The cycle to cut; `None` cuts whichever is open.
    pub sequence: Option<u64>,
    /// The cut-off time; never before the cycle opened.
    pub cutoff_at: Timestamp,
    /// Signs the report.
    pub sign: ReportSigner,
    /// The cut-off lease's tenure this cut is made under, when several processes share the
    /// store: checked in the cut's own write, so a process that lost the lease cuts nothing.
    pub fence: Option<Fence>,
}

impl Transaction for CutCycle {
    type Output = Result<CutOutcome, SettlementError>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        if let Some(fence) = &self.fence
            && lease::check(reader, fence)?.is_err()
        {
            return Ok((Ok(CutOutcome::NotHolder), WriteSet::new()));
        }
        let open = read_open_cycle(reader)?;
        if self
            .sequence
            .is_some_and(|sequence| sequence != open.sequence)
        {
            return Ok((Ok(CutOutcome::NotOpen(open)), WriteSet::new()));
        }
        let claims: Vec<CycleClaim> = read_numbered(
            reader,
            Column::CycleClaims,
            "cycle_claims",
            open.sequence,
            open.confirmations,
        )?;
        let refunds: Vec<CycleRefund> = read_numbered(
            reader,
            Column::CycleRefunds,
            "cycle_refunds",
            open.sequence,
            read_open_refunds(reader)?,
        )?;
        let cutoff_at = self.cutoff_at.max(open.opened_at);
        let settled = settle(
            self.clearing,
            open.id,
            open.sequence,
            cutoff_at,
            &claims,
            &refunds,
        );
        let report = match settled {
            Ok(report) => report,
            Err(error) => return Ok((Err(error), WriteSet::new())),
        };
        let report = (self.sign)(report);
        let next = fresh_cycle(self.clearing, open.sequence.saturating_add(1), cutoff_at);
        let mut writes = WriteSet::new();
        writes.put(
            Column::Reports,
            report_key(open.sequence).to_vec(),
            report.to_bytes(),
        );
        mark_undelivered(&mut writes, open.sequence);
        write_open_cycle(&mut writes, &next);
        if !refunds.is_empty() {
            write_open_refunds(&mut writes, 0);
        }
        Ok((Ok(CutOutcome::Cut { report, next }), writes))
    }
}

/// Records number 0 to `count − 1` of cycle `sequence` in `column`: a cycle's claims, or its
/// refunds. Each must be there.
fn read_numbered<T: semper_protocol::codec::Decode>(
    reader: &GroupReader<'_>,
    column: Column,
    name: &'static str,
    sequence: u64,
    count: u64,
) -> Result<Vec<T>, StorageError> {
    let keys: Vec<[u8; 16]> = (0..count)
        .map(|index| cycle_claim_key(sequence, index))
        .collect();
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    reader
        .multi_get(column, &refs)?
        .into_iter()
        .map(|value| {
            let bytes = value.ok_or_else(|| StorageError::Corrupt {
                column: name,
                reason: format!("a record of cycle {sequence} is missing"),
            })?;
            decode_record::<T>(name, &bytes)
        })
        .collect()
}

fn fresh_cycle(clearing: BankId, sequence: u64, opened_at: Timestamp) -> OpenCycle {
    OpenCycle {
        sequence,
        id: cycle_id(clearing, sequence),
        opened_at,
        submissions: 0,
        confirmations: 0,
    }
}
