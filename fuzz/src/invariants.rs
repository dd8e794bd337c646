//! What must hold of a decoded protocol value beyond its codec: the invariants its type promises,
//! and the checks the roles run on it, which must answer rather than panic.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use semper_protocol::acquirer::totals_by_currency;
use semper_protocol::amount::Currency;
use semper_protocol::codec::{Encode, Message};
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::denomination::{Denomination, DenominationSet};
use semper_protocol::ids::BankId;
use semper_protocol::messages::link::LinkResponse;
use semper_protocol::messages::refund::RefundAnswer;
use semper_protocol::messages::settlement::{SettlementReport, SignedSettlementReport};
use semper_protocol::messages::spend::SignedSpendConfirmation;
use semper_protocol::reconcile;
use semper_protocol::signed::Signed;

/// A key that signed none of the inputs: verifying against it runs every step of a verification
/// on whatever signature the input carries.
pub fn stranger_key() -> &'static VerifyingKey {
    static KEY: OnceLock<VerifyingKey> = OnceLock::new();
    KEY.get_or_init(|| *SigningKey::from_seed(&[0x5e; 32]).verifying_key())
}

/// A signed value: verifying it against any key answers, and its digest is its body's.
pub fn signed<T: Message + Encode>(value: &Signed<T>) {
    let _ = value.verify(stranger_key());
    let _ = value.body_digest();
}

/// A denomination's id is the digest of its fields: rebuilding it from them gives it back.
pub fn denomination(value: &Denomination) {
    assert_eq!(
        Denomination::new(value.fields().clone()).as_ref(),
        Ok(value),
        "a decoded denomination is not what its fields make"
    );
}

/// A denomination set is valid as a whole: validating its fields again gives it back.
pub fn denomination_set(value: &DenominationSet) {
    assert_eq!(
        DenominationSet::new(value.fields().clone()).as_ref(),
        Ok(value),
        "a decoded denomination set does not validate"
    );
    for denomination in value.fields().denominations.iter() {
        self::denomination(denomination);
    }
}

/// A settlement report is consistent: its positions are the netting of its obligations and
/// refund obligations and sum to zero per currency, each refund obligation's fees are within its
/// amount, and the clearing house would build the very same report from them.
pub fn settlement_report(value: &SettlementReport) {
    let fields = value.fields();
    let mut sums: BTreeMap<Currency, i128> = BTreeMap::new();
    for position in fields.net_positions.iter() {
        *sums.entry(position.currency).or_default() += i128::from(position.net_minor_units);
    }
    assert!(
        sums.values().all(|sum| *sum == 0),
        "net positions of a decoded report do not sum to zero: {sums:?}"
    );
    for refunds in fields.refunds.iter() {
        assert_eq!(refunds.fees.currency(), refunds.amount.currency());
        assert!(refunds.fees.minor_units() <= refunds.amount.minor_units());
    }
    let rebuilt = SettlementReport::with_refunds(
        fields.clearing,
        fields.cycle,
        fields.sequence,
        fields.cutoff_at,
        fields.obligations.to_vec(),
        fields.refunds.to_vec(),
    );
    assert_eq!(
        rebuilt.as_ref(),
        Ok(value),
        "a decoded report is not the report of its own obligations"
    );
}

/// A signed report: consistent, and the check every participant runs on it answers.
pub fn signed_settlement_report(value: &SignedSettlementReport) {
    signed(value);
    settlement_report(value.body());
    let clearing = value.body().fields().clearing;
    let _ = reconcile::signed_by(value, clearing, stranger_key());
    let _ = reconcile::bad_report(BankId([0; 16]), clearing, value, None);
    // Reconciling it against empty books, at both ends of every obligation, answers.
    for bank in value
        .body()
        .fields()
        .refunds
        .iter()
        .flat_map(|r| [r.acquirer, r.issuer])
        .take(4)
    {
        let books = reconcile::refunds::RefundBooks::default();
        let _ = reconcile::acquirer::reconcile_with_refunds(
            bank,
            value.body(),
            &Default::default(),
            &books,
        );
        let batches: std::collections::HashMap<_, Vec<_>> = std::collections::HashMap::new();
        let _ = reconcile::issuer::reconcile_with_refunds(bank, value.body(), &batches, &books);
    }
}

/// A confirmation's total agrees with its totals per currency, as the acquirer and the clearing
/// house each compute them.
pub fn spend_confirmation(value: &SignedSpendConfirmation) {
    signed(value);
    let per_currency = totals_by_currency(value.body());
    match value.total() {
        Ok(Some(total)) => assert_eq!(per_currency, Ok(vec![total])),
        Ok(None) => assert_eq!(per_currency, Ok(vec![])),
        Err(_) => {}
    }
}

/// Each report a link response carries is consistent.
pub fn link_response(value: &LinkResponse) {
    match value {
        LinkResponse::DenominationSet(set) => {
            signed(set.as_ref());
            denomination_set(set.body());
        }
        LinkResponse::SpendCheck(response) => {
            if let Some(confirmation) = &response.confirmation {
                spend_confirmation(confirmation);
            }
        }
        LinkResponse::Receipt(receipt) => signed(receipt.as_ref()),
        LinkResponse::Reports(reports) => reports.iter().for_each(signed_settlement_report),
        LinkResponse::Refund(answer) => {
            if let RefundAnswer::Confirmed { confirmation } = answer.as_ref() {
                signed(confirmation.as_ref());
            }
        }
    }
}
