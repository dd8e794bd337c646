//! Reconciliation: what an issuer or an acquirer records when a settlement report disagrees with
//! its own books. The checks themselves live beside each role's books (`issuer`, `acquirer`
//! submodules); this module holds the record they produce, how it is built, and the check every
//! report passes before it is applied.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::amount::Currency;
use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::codec_struct;
use crate::crypto::ed25519::VerifyingKey;
use crate::ids::{BankId, BatchId, Digest};
use crate::messages::settlement::{
    SettlementReport, SettlementReportFields, SignedSettlementReport,
};

pub mod acquirer;
pub mod issuer;
pub mod refunds;

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
    /// The report lists a refund the books do not hold (for this cycle, at an acquirer), or hold
    /// for another counterparty or currency.
    UnknownRefund,
    /// The books hold a refund settled in this cycle that the report does not list.
    MissingRefund,
    /// The report lists a refund twice, or one that a report of another cycle listed before.
    DuplicateRefund,
    /// The report's refund fees differ from the sum of the books' fees of the refunds it lists.
    FeeMismatch,
}

impl DiscrepancyKind {
    // New kinds go at the end: a kind's tag is its place here.
    const ALL: [Self; 9] = [
        Self::UnknownConfirmation,
        Self::MissingConfirmation,
        Self::AmountMismatch,
        Self::NetPositionMismatch,
        Self::BadReport,
        Self::UnknownRefund,
        Self::MissingRefund,
        Self::DuplicateRefund,
        Self::FeeMismatch,
    ];

    /// The stable code that metrics, logs and the HTTP API report.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownConfirmation => "reconcile.unknown_confirmation",
            Self::MissingConfirmation => "reconcile.missing_confirmation",
            Self::AmountMismatch => "reconcile.amount_mismatch",
            Self::NetPositionMismatch => "reconcile.net_position_mismatch",
            Self::BadReport => "reconcile.bad_report",
            Self::UnknownRefund => "reconcile.unknown_refund",
            Self::MissingRefund => "reconcile.missing_refund",
            Self::DuplicateRefund => "reconcile.duplicate_refund",
            Self::FeeMismatch => "reconcile.fee_mismatch",
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
    /// The refund concerned, when there is one.
    pub refund: Option<Digest>,
    /// What disagrees.
    pub kind: DiscrepancyKind,
    /// What the books say, in minor units (signed: net positions can be negative).
    pub books_minor_units: i64,
    /// What the report says, in minor units.
    pub report_minor_units: i64,
}

codec_struct!(message "semper/discrepancy" v 2, Discrepancy {
    cycle_sequence,
    bank,
    counterparty,
    currency,
    batch,
    refund,
    kind,
    books_minor_units,
    report_minor_units
});

/// Whether `report` names `clearing` as its clearing house and carries its signature by `key`:
/// the check a report passes before any bank applies it.
pub fn signed_by(report: &SignedSettlementReport, clearing: BankId, key: &VerifyingKey) -> bool {
    report.body().fields().clearing == clearing && report.verify(key).is_ok()
}

/// The record of a report that failed verification, filed under `bank`: not applied, only kept.
/// It is filed under the first currency the report names, else under `fallback`; `None` when
/// there is neither.
pub fn bad_report(
    bank: BankId,
    clearing: BankId,
    report: &SignedSettlementReport,
    fallback: Option<Currency>,
) -> Option<Discrepancy> {
    let fields = report.body().fields();
    let named = fields
        .obligations
        .iter()
        .map(|o| o.amount.currency())
        .chain(fields.net_positions.iter().map(|p| p.currency))
        .next();
    Some(Discrepancy {
        cycle_sequence: fields.sequence,
        bank,
        counterparty: clearing,
        currency: named.or(fallback)?,
        batch: None,
        refund: None,
        kind: DiscrepancyKind::BadReport,
        books_minor_units: 0,
        report_minor_units: 0,
    })
}

/// The discrepancies one bank finds in one report, in the order found.
pub(crate) struct Findings<'a> {
    bank: BankId,
    fields: &'a SettlementReportFields,
    found: Vec<Discrepancy>,
}

impl<'a> Findings<'a> {
    /// None yet, for `bank` reconciling `report`.
    pub(crate) fn new(bank: BankId, report: &'a SettlementReport) -> Self {
        Self {
            bank,
            fields: report.fields(),
            found: Vec::new(),
        }
    }

    /// Records a disagreement; amounts are summed in 128 bits and shown saturated to 64.
    pub(crate) fn push(
        &mut self,
        counterparty: BankId,
        currency: Currency,
        batch: Option<BatchId>,
        kind: DiscrepancyKind,
        books: i128,
        report: i128,
    ) {
        self.found.push(Discrepancy {
            cycle_sequence: self.fields.sequence,
            bank: self.bank,
            counterparty,
            currency,
            batch,
            refund: None,
            kind,
            books_minor_units: saturate(books),
            report_minor_units: saturate(report),
        });
    }

    /// Records a disagreement about the refund `refund`, or about a refund obligation (`None`).
    pub(crate) fn push_refund(
        &mut self,
        counterparty: BankId,
        currency: Currency,
        refund: Option<Digest>,
        kind: DiscrepancyKind,
        books: i128,
        report: i128,
    ) {
        self.push(counterparty, currency, None, kind, books, report);
        if let Some(last) = self.found.last_mut() {
            last.refund = refund;
        }
    }

    /// The bank reconciling.
    pub(crate) fn bank(&self) -> BankId {
        self.bank
    }

    /// The report's fields.
    pub(crate) fn fields(&self) -> &'a SettlementReportFields {
        self.fields
    }

    /// Ends with the bank's net position in each currency, `books_net` as its books make it,
    /// checked against the report's (a currency either names), and returns what was found.
    pub(crate) fn with_net_positions(
        mut self,
        mut books_net: BTreeMap<Currency, i128>,
    ) -> Vec<Discrepancy> {
        let (bank, fields) = (self.bank, self.fields);
        let reported = |currency| {
            fields
                .net_positions
                .iter()
                .find(|p| p.bank == bank && p.currency == currency)
                .map_or(0, |p| i128::from(p.net_minor_units))
        };
        for position in fields.net_positions.iter().filter(|p| p.bank == bank) {
            books_net.entry(position.currency).or_default();
        }
        for (currency, books) in books_net {
            let report = reported(currency);
            if books != report {
                self.push(
                    fields.clearing,
                    currency,
                    None,
                    DiscrepancyKind::NetPositionMismatch,
                    books,
                    report,
                );
            }
        }
        self.found
    }
}

/// Minor units as a discrepancy records them: sums beyond 64 bits are shown at the bound.
fn saturate(units: i128) -> i64 {
    i64::try_from(units).unwrap_or(if units < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
pub(crate) mod tests;
