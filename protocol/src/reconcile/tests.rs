//! The pieces every role's reconciliation shares, and the helpers their tests share.

use super::*;
use crate::bounded::BoundedVec;
use crate::crypto::ed25519::SigningKey;
use crate::ids::CycleId;
use crate::messages::settlement::Obligation;
use crate::signed::Signed;
use crate::time::Timestamp;

pub(crate) const ISSUER: BankId = BankId([1; 16]);
pub(crate) const ACQUIRER: BankId = BankId([2; 16]);
pub(crate) const OTHER: BankId = BankId([3; 16]);
pub(crate) const CLEARING: BankId = BankId([9; 16]);

/// What `issuer` owes `acquirer`, summing the batches numbered `batches`.
pub(crate) fn owe(issuer: BankId, acquirer: BankId, amount: &str, batches: &[u8]) -> Obligation {
    Obligation {
        issuer,
        acquirer,
        amount: amount.parse().unwrap(),
        confirmations: BoundedVec::new(batches.iter().map(|b| BatchId([*b; 16])).collect())
            .unwrap(),
    }
}

/// The clearing house's report of cycle 4 with these obligations.
pub(crate) fn report(obligations: Vec<Obligation>) -> SettlementReport {
    SettlementReport::new(
        CLEARING,
        CycleId([0; 16]),
        4,
        Timestamp::from_unix_ms(1),
        obligations,
    )
    .unwrap()
}

/// What each discrepancy says, in order: kind, batch, books and report minor units.
pub(crate) fn kinds(found: &[Discrepancy]) -> Vec<(DiscrepancyKind, Option<BatchId>, i64, i64)> {
    found
        .iter()
        .map(|d| (d.kind, d.batch, d.books_minor_units, d.report_minor_units))
        .collect()
}

#[test]
fn a_report_is_applied_only_from_the_trusted_clearing_house_under_its_key() {
    let key = SigningKey::from_seed(&[9; 32]);
    let other = SigningKey::from_seed(&[8; 32]);
    let signed = Signed::sign(report(vec![owe(ISSUER, ACQUIRER, "EUR:1.00", &[1])]), &key);
    assert!(signed_by(&signed, CLEARING, key.verifying_key()));
    assert!(!signed_by(&signed, CLEARING, other.verifying_key()));
    assert!(!signed_by(&signed, OTHER, key.verifying_key()));
}

#[test]
fn a_bad_report_is_filed_under_a_currency_it_names_or_the_fallback() {
    let key = SigningKey::from_seed(&[1; 32]);
    let usd = Currency::new("USD").unwrap();
    let named = Signed::sign(report(vec![owe(OTHER, ACQUIRER, "JPY:5", &[1])]), &key);
    let record = bad_report(ISSUER, CLEARING, &named, Some(usd)).unwrap();
    assert_eq!(record.kind, DiscrepancyKind::BadReport);
    assert_eq!(record.currency.code(), "JPY");
    assert_eq!(record.counterparty, CLEARING);
    assert_eq!(record.cycle_sequence, 4);
    let empty = Signed::sign(report(vec![]), &key);
    assert_eq!(
        bad_report(ISSUER, CLEARING, &empty, Some(usd))
            .unwrap()
            .currency,
        usd
    );
    assert_eq!(bad_report(ISSUER, CLEARING, &empty, None), None);
}

#[test]
fn amounts_beyond_64_bits_are_shown_at_the_bound() {
    assert_eq!(saturate(-5), -5);
    assert_eq!(saturate(i128::from(i64::MAX) + 1), i64::MAX);
    assert_eq!(saturate(i128::from(i64::MIN) - 1), i64::MIN);
}
