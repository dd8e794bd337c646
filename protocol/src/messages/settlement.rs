//! Settlement: acquirers submit issuers' spend and refund confirmations; the clearing house nets
//! them per cycle and signs a report of gross obligations (issuers owe acquirers for spends,
//! acquirers owe issuers for refunds) and multilateral net positions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::amount::{Amount, Currency};
use crate::bounded::BoundedVec;
use crate::codec::{Decode, DecodeError, Encode, Message, Reader, Writer};
use crate::codec_struct;
use crate::ids::{BankId, BatchId, CycleId, Digest, SubmissionId};
use crate::limits::{
    OBLIGATION_CONFIRMATIONS_MAX, OBLIGATION_REFUNDS_MAX, REPORT_OBLIGATIONS_MAX,
    REPORT_POSITIONS_MAX, SUBMISSION_CONFIRMATIONS_MAX, SUBMISSION_REFUNDS_MAX,
};
use crate::messages::refund::SignedRefundConfirmation;
use crate::messages::spend::SignedSpendConfirmation;
use crate::signed::Signed;
use crate::time::Timestamp;

/// An acquirer's claim on issuers, signed by its bank key: see [`SignedSettlementSubmission`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementSubmission {
    /// The acquirer claiming.
    pub acquirer: BankId,
    /// The acquirer's idempotency key.
    pub submission_id: SubmissionId,
    /// When it was submitted.
    pub submitted_at: Timestamp,
    /// The issuers' spend confirmations claimed: the issuers owe the acquirer.
    pub confirmations: BoundedVec<SignedSpendConfirmation, SUBMISSION_CONFIRMATIONS_MAX>,
    /// The issuers' refund confirmations settled: the acquirer owes the issuers.
    pub refunds: BoundedVec<SignedRefundConfirmation, SUBMISSION_REFUNDS_MAX>,
}

codec_struct!(message "semper/settlement-submission" v 2, SettlementSubmission {
    acquirer,
    submission_id,
    submitted_at,
    confirmations,
    refunds
});

/// A settlement submission with the acquirer's signature.
pub type SignedSettlementSubmission = Signed<SettlementSubmission>;

/// Gross amount an issuer owes an acquirer in one cycle and currency, and the confirmations it
/// sums: each party reconciles the list against its own books.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligation {
    /// Who owes.
    pub issuer: BankId,
    /// Who is owed.
    pub acquirer: BankId,
    /// How much.
    pub amount: Amount,
    /// The spend-check batches whose confirmations were claimed, sorted and unique.
    pub confirmations: BoundedVec<BatchId, OBLIGATION_CONFIRMATIONS_MAX>,
}

codec_struct!(Obligation {
    issuer,
    acquirer,
    amount,
    confirmations
});

/// Gross amount an acquirer owes an issuer in one cycle and currency for the refunds it debited
/// its merchants, the refund fees the issuer kept from them, and the refunds it sums: each party
/// reconciles the list against its own books.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundObligation {
    /// Who owes: the acquirer that debited its merchants.
    pub acquirer: BankId,
    /// Who is owed: the coins' issuer.
    pub issuer: BankId,
    /// How much: the refunds' amounts summed. This is what nets.
    pub amount: Amount,
    /// The refund fees the issuer kept from them (deducted from what the coins may be swapped
    /// for), summed; in `amount`'s currency and not netted: the issuer keeps them out of what it
    /// is paid.
    pub fees: Amount,
    /// The refunds (their identities, §7.20), sorted and unique.
    pub refunds: BoundedVec<Digest, OBLIGATION_REFUNDS_MAX>,
}

codec_struct!(RefundObligation {
    acquirer,
    issuer,
    amount,
    fees,
    refunds
});

/// A bank's multilateral net position in one currency: positive receives, negative pays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetPosition {
    /// The bank.
    pub bank: BankId,
    /// The currency.
    pub currency: Currency,
    /// Net minor units.
    pub net_minor_units: i64,
}

codec_struct!(NetPosition {
    bank,
    currency,
    net_minor_units
});

/// Why a report was refused. Each variant has a stable [`SettlementError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementError {
    /// Obligations must be sorted by (issuer, acquirer, currency), each pair listed once, and
    /// the confirmations of each sorted and unique.
    #[error("obligations are not sorted and unique")]
    ObligationsNotCanonical,
    /// A net position does not fit in 64 bits.
    #[error("net position overflows")]
    Overflow,
    /// The report's net positions are not the netting of its obligations.
    #[error("net positions do not match the obligations")]
    PositionsMismatch,
    /// Too many obligations or positions.
    #[error("report too large")]
    TooLarge,
    /// A refund obligation's fees are in another currency than its amount, or above it.
    #[error("refund fees not in the amount's currency or above it")]
    BadFees,
}

impl SettlementError {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ObligationsNotCanonical => "settlement.obligations_not_canonical",
            Self::Overflow => "settlement.overflow",
            Self::PositionsMismatch => "settlement.positions_mismatch",
            Self::TooLarge => "settlement.too_large",
            Self::BadFees => "settlement.bad_fees",
        }
    }
}

/// Multilateral net positions of `obligations` and `refunds`, sorted by (bank, currency), zeros
/// left out.
///
/// Every obligation moves value from its issuer to its acquirer, and every refund obligation from
/// its acquirer to its issuer, so the positions of each currency sum to zero; that is asserted
/// before they are returned.
pub fn net_positions(
    obligations: &[Obligation],
    refunds: &[RefundObligation],
) -> Result<Vec<NetPosition>, SettlementError> {
    let mut positions: BTreeMap<(BankId, Currency), i128> = BTreeMap::new();
    let moves = obligations
        .iter()
        .map(|o| (o.issuer, o.acquirer, o.amount))
        .chain(refunds.iter().map(|r| (r.acquirer, r.issuer, r.amount)));
    for (payer, payee, amount) in moves {
        let currency = amount.currency();
        let amount = i128::from(amount.minor_units());
        *positions.entry((payer, currency)).or_default() -= amount;
        *positions.entry((payee, currency)).or_default() += amount;
    }
    let mut sums: BTreeMap<Currency, i128> = BTreeMap::new();
    let mut out = Vec::with_capacity(positions.len());
    for ((bank, currency), net) in positions {
        *sums.entry(currency).or_default() += net;
        if net == 0 {
            continue;
        }
        let net_minor_units = i64::try_from(net).map_err(|_| SettlementError::Overflow)?;
        out.push(NetPosition {
            bank,
            currency,
            net_minor_units,
        });
    }
    assert!(
        sums.values().all(|sum| *sum == 0),
        "net positions must sum to zero in every currency"
    );
    Ok(out)
}

/// A cycle's settlement: gross obligations and the net positions they imply. A value of this type
/// is consistent: its positions are the netting of its obligations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SettlementReportFields", into = "SettlementReportFields")]
pub struct SettlementReport {
    fields: SettlementReportFields,
}

/// The fields of a settlement report, before validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementReportFields {
    /// The clearing house.
    pub clearing: BankId,
    /// The cycle.
    pub cycle: CycleId,
    /// The cycle's number: 1 for the clearing house's first, then one more each cycle.
    pub sequence: u64,
    /// When the cycle was cut off.
    pub cutoff_at: Timestamp,
    /// Gross obligations, sorted by (issuer, acquirer, currency).
    pub obligations: BoundedVec<Obligation, REPORT_OBLIGATIONS_MAX>,
    /// Gross refund obligations, sorted by (acquirer, issuer, currency).
    pub refunds: BoundedVec<RefundObligation, REPORT_OBLIGATIONS_MAX>,
    /// Net positions, sorted by (bank, currency).
    pub net_positions: BoundedVec<NetPosition, REPORT_POSITIONS_MAX>,
}

/// A settlement report with the clearing house's signature.
pub type SignedSettlementReport = Signed<SettlementReport>;

impl Message for SettlementReport {
    const DOMAIN: &'static str = "semper/settlement-report";
    const VERSION: u8 = 2;
}

impl SettlementReport {
    /// Builds the report of `obligations` alone (a cycle without refunds), sorting them and their
    /// confirmations, and computing the net positions.
    pub fn new(
        clearing: BankId,
        cycle: CycleId,
        sequence: u64,
        cutoff_at: Timestamp,
        obligations: Vec<Obligation>,
    ) -> Result<Self, SettlementError> {
        Self::with_refunds(
            clearing,
            cycle,
            sequence,
            cutoff_at,
            obligations,
            Vec::new(),
        )
    }

    /// Builds the report of `obligations` and `refunds`, sorting them and the batches and
    /// refunds they list, and computing the net positions.
    pub fn with_refunds(
        clearing: BankId,
        cycle: CycleId,
        sequence: u64,
        cutoff_at: Timestamp,
        mut obligations: Vec<Obligation>,
        mut refunds: Vec<RefundObligation>,
    ) -> Result<Self, SettlementError> {
        obligations.sort_by_key(obligation_key);
        for obligation in &mut obligations {
            let mut confirmations = std::mem::take(&mut obligation.confirmations).into_vec();
            confirmations.sort_unstable();
            obligation.confirmations =
                BoundedVec::new(confirmations).map_err(|_| SettlementError::TooLarge)?;
        }
        refunds.sort_by_key(refund_key);
        for obligation in &mut refunds {
            let mut listed = std::mem::take(&mut obligation.refunds).into_vec();
            listed.sort_unstable();
            obligation.refunds = BoundedVec::new(listed).map_err(|_| SettlementError::TooLarge)?;
        }
        let positions = net_positions(&obligations, &refunds)?;
        let too_large = |_| SettlementError::TooLarge;
        Self::validate(SettlementReportFields {
            clearing,
            cycle,
            sequence,
            cutoff_at,
            obligations: BoundedVec::new(obligations).map_err(too_large)?,
            refunds: BoundedVec::new(refunds).map_err(too_large)?,
            net_positions: BoundedVec::new(positions).map_err(too_large)?,
        })
    }

    /// Checks that obligations and refund obligations are canonical, each refund obligation's
    /// fees in its currency and within its amount, and the positions their netting.
    pub fn validate(fields: SettlementReportFields) -> Result<Self, SettlementError> {
        let canonical = fields
            .obligations
            .windows(2)
            .all(|pair| obligation_key(&pair[0]) < obligation_key(&pair[1]))
            && fields
                .obligations
                .iter()
                .all(|o| o.confirmations.windows(2).all(|pair| pair[0] < pair[1]))
            && fields
                .refunds
                .windows(2)
                .all(|pair| refund_key(&pair[0]) < refund_key(&pair[1]))
            && fields
                .refunds
                .iter()
                .all(|r| r.refunds.windows(2).all(|pair| pair[0] < pair[1]));
        if !canonical {
            return Err(SettlementError::ObligationsNotCanonical);
        }
        let fees_fit = fields.refunds.iter().all(|r| {
            r.fees.currency() == r.amount.currency()
                && r.fees.minor_units() <= r.amount.minor_units()
        });
        if !fees_fit {
            return Err(SettlementError::BadFees);
        }
        if net_positions(&fields.obligations, &fields.refunds)? != *fields.net_positions {
            return Err(SettlementError::PositionsMismatch);
        }
        Ok(Self { fields })
    }

    /// The fields.
    pub fn fields(&self) -> &SettlementReportFields {
        &self.fields
    }
}

fn obligation_key(obligation: &Obligation) -> (BankId, BankId, Currency) {
    (
        obligation.issuer,
        obligation.acquirer,
        obligation.amount.currency(),
    )
}

fn refund_key(obligation: &RefundObligation) -> (BankId, BankId, Currency) {
    (
        obligation.acquirer,
        obligation.issuer,
        obligation.amount.currency(),
    )
}

impl TryFrom<SettlementReportFields> for SettlementReport {
    type Error = SettlementError;

    fn try_from(fields: SettlementReportFields) -> Result<Self, Self::Error> {
        Self::validate(fields)
    }
}

impl From<SettlementReport> for SettlementReportFields {
    fn from(report: SettlementReport) -> Self {
        report.fields
    }
}

codec_struct!(SettlementReportFields {
    clearing,
    cycle,
    sequence,
    cutoff_at,
    obligations,
    refunds,
    net_positions
});

impl Encode for SettlementReport {
    fn encode_to(&self, writer: &mut Writer) {
        writer.domain::<Self>();
        self.fields.encode_to(writer);
    }
}

impl Decode for SettlementReport {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.domain::<Self>()?;
        let fields = SettlementReportFields::decode_from(reader)?;
        Self::validate(fields).map_err(|e| DecodeError::invalid("settlement report", e))
    }
}

#[cfg(test)]
mod tests;
