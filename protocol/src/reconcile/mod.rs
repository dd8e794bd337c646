//! Reconciliation: what an issuer or an acquirer records when a settlement report disagrees with
//! its own books. The checks themselves live beside each role's books (`issuer`, `acquirer`
//! submodules); this module holds the record they produce.

use serde::{Deserialize, Serialize};

use crate::amount::Currency;
use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::codec_struct;
use crate::ids::{BankId, BatchId};

pub mod issuer;

/// What kind of disagreement a [`Discrepancy`] records. Each has a stable [`DiscrepancyKind::code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyKind {
    /// The report lists a confirmation the books do not know (or know for another counterparty).
    UnknownConfirmation,
    /// The books hold a confirmation for this cycle that the report does not list.
    MissingConfirmation,
    /// The report's amount differs from the sum of the books' confirmations it lists.
    AmountMismatch,
    /// The report's net position for this bank differs from the books' net of the cycle.
    NetPositionMismatch,
    /// The report is not signed by the clearing house the books trust, or does not validate.
    BadReport,
}

impl DiscrepancyKind {
    const ALL: [Self; 5] = [
        Self::UnknownConfirmation,
        Self::MissingConfirmation,
        Self::AmountMismatch,
        Self::NetPositionMismatch,
        Self::BadReport,
    ];

    /// The stable code that metrics, logs and the HTTP API report.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownConfirmation => "reconcile.unknown_confirmation",
            Self::MissingConfirmation => "reconcile.missing_confirmation",
            Self::AmountMismatch => "reconcile.amount_mismatch",
            Self::NetPositionMismatch => "reconcile.net_position_mismatch",
            Self::BadReport => "reconcile.bad_report",
        }
    }
}

impl Encode for DiscrepancyKind {
    fn encode_to(&self, writer: &mut Writer) {
        let index = Self::ALL.iter().position(|k| k == self).unwrap_or(0);
        writer.u8(index as u8);
    }
}

impl Decode for DiscrepancyKind {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = reader.u8("discrepancy kind")?;
        Self::ALL
            .get(usize::from(tag))
            .copied()
            .ok_or_else(|| DecodeError::invalid("discrepancy kind", format!("unknown tag {tag}")))
    }
}

/// One disagreement between a settlement report and a bank's books, kept queryable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancy {
    /// The report's cycle number.
    pub cycle_sequence: u64,
    /// The bank whose books disagree.
    pub bank: BankId,
    /// The other bank of the obligation (the clearing house for net positions and bad reports).
    pub counterparty: BankId,
    /// The currency concerned.
    pub currency: Currency,
    /// The confirmation concerned, when there is one.
    pub batch: Option<BatchId>,
    /// What disagrees.
    pub kind: DiscrepancyKind,
    /// What the books say, in minor units (signed: net positions can be negative).
    pub books_minor_units: i64,
    /// What the report says, in minor units.
    pub report_minor_units: i64,
}

codec_struct!(message "semper/discrepancy" v 1, Discrepancy {
    cycle_sequence,
    bank,
    counterparty,
    currency,
    batch,
    kind,
    books_minor_units,
    report_minor_units
});
