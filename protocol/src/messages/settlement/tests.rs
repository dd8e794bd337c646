use super::*;

const A: BankId = BankId([1; 16]);
const B: BankId = BankId([2; 16]);
const C: BankId = BankId([3; 16]);

fn owe(issuer: BankId, acquirer: BankId, amount: &str) -> Obligation {
    Obligation {
        issuer,
        acquirer,
        amount: amount.parse().unwrap(),
        confirmations: vec![BatchId([9; 16]), BatchId([4; 16])].try_into().unwrap(),
    }
}

fn position(report: &SettlementReport, bank: BankId, currency: &str) -> i64 {
    let currency = Currency::new(currency).unwrap();
    report
        .fields()
        .net_positions
        .iter()
        .find(|p| p.bank == bank && p.currency == currency)
        .map_or(0, |p| p.net_minor_units)
}

#[test]
fn net_positions_are_multilateral_and_sum_to_zero() {
    let report = SettlementReport::new(
        C,
        CycleId([0; 16]),
        1,
        Timestamp::from_unix_ms(1),
        vec![
            owe(A, B, "EUR:10.00"),
            owe(B, A, "EUR:4.00"),
            owe(B, C, "EUR:1.50"),
            owe(A, C, "USD:2.00"),
        ],
    )
    .unwrap();
    assert_eq!(position(&report, A, "EUR"), -600);
    assert_eq!(position(&report, B, "EUR"), 450);
    assert_eq!(position(&report, C, "EUR"), 150);
    assert_eq!(position(&report, A, "USD"), -200);
    assert_eq!(position(&report, C, "USD"), 200);
    assert_eq!(position(&report, B, "USD"), 0);
    let eur: i64 = report
        .fields()
        .net_positions
        .iter()
        .filter(|p| p.currency.code() == "EUR")
        .map(|p| p.net_minor_units)
        .sum();
    assert_eq!(eur, 0);
}

#[test]
fn positions_that_overflow_are_refused() {
    let huge = Amount::from_minor_units(Currency::new("EUR").unwrap(), u64::MAX);
    let obligations = vec![Obligation {
        issuer: A,
        acquirer: B,
        amount: huge,
        confirmations: BoundedVec::empty(),
    }];
    assert_eq!(
        net_positions(&obligations, &[]),
        Err(SettlementError::Overflow)
    );
}

#[test]
fn a_report_whose_positions_do_not_match_is_refused() {
    let report = SettlementReport::new(
        C,
        CycleId([0; 16]),
        1,
        Timestamp::from_unix_ms(1),
        vec![owe(A, B, "EUR:1.00")],
    )
    .unwrap();
    let mut fields = report.fields().clone();
    let mut positions = fields.net_positions.clone().into_vec();
    positions[0].net_minor_units -= 1;
    fields.net_positions = positions.try_into().unwrap();
    assert_eq!(
        SettlementReport::validate(fields.clone()),
        Err(SettlementError::PositionsMismatch)
    );
    let json = serde_json::to_string(&fields).unwrap();
    assert!(serde_json::from_str::<SettlementReport>(&json).is_err());
    let mut bytes = report.to_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(
        SettlementReport::from_bytes(&bytes).unwrap_err().code(),
        "decode.invalid"
    );
}

#[test]
fn obligations_must_be_sorted_and_unique() {
    let report = SettlementReport::new(
        C,
        CycleId([0; 16]),
        1,
        Timestamp::from_unix_ms(1),
        vec![owe(B, A, "EUR:1.00"), owe(A, B, "EUR:1.00")],
    )
    .unwrap();
    let mut fields = report.fields().clone();
    let mut obligations = fields.obligations.clone().into_vec();
    obligations.reverse();
    fields.obligations = obligations.clone().try_into().unwrap();
    assert_eq!(
        SettlementReport::validate(fields.clone()),
        Err(SettlementError::ObligationsNotCanonical)
    );
    obligations.reverse();
    obligations.push(obligations[1].clone());
    fields.obligations = obligations.clone().try_into().unwrap();
    assert_eq!(
        SettlementReport::validate(fields.clone()),
        Err(SettlementError::ObligationsNotCanonical)
    );
    obligations.pop();
    let mut confirmations = obligations[0].confirmations.clone().into_vec();
    confirmations.reverse();
    obligations[0].confirmations = confirmations.try_into().unwrap();
    fields.obligations = obligations.try_into().unwrap();
    assert_eq!(
        SettlementReport::validate(fields),
        Err(SettlementError::ObligationsNotCanonical)
    );
}

#[test]
fn new_reports_sort_each_obligations_confirmations() {
    let report = SettlementReport::new(
        C,
        CycleId([0; 16]),
        1,
        Timestamp::from_unix_ms(1),
        vec![owe(A, B, "EUR:1.00")],
    )
    .unwrap();
    let listed = &report.fields().obligations[0].confirmations;
    assert_eq!(**listed, [BatchId([4; 16]), BatchId([9; 16])]);
}

fn refunded(acquirer: BankId, issuer: BankId, amount: &str, fees: &str) -> RefundObligation {
    RefundObligation {
        acquirer,
        issuer,
        amount: amount.parse().unwrap(),
        fees: fees.parse().unwrap(),
        refunds: vec![Digest([7; 32]), Digest([2; 32])].try_into().unwrap(),
    }
}

#[test]
fn refunds_net_from_the_acquirer_to_the_issuer_and_their_fees_stay_out_of_the_netting() {
    let report = SettlementReport::with_refunds(
        C,
        CycleId([0; 16]),
        1,
        Timestamp::from_unix_ms(1),
        vec![owe(A, B, "EUR:10.00")],
        vec![refunded(B, A, "EUR:4.00", "EUR:0.20")],
    )
    .unwrap();
    assert_eq!(position(&report, A, "EUR"), -600);
    assert_eq!(position(&report, B, "EUR"), 600);
    let listed = &report.fields().refunds[0].refunds;
    assert_eq!(**listed, [Digest([2; 32]), Digest([7; 32])]);
    let bytes = report.to_bytes();
    assert_eq!(SettlementReport::from_bytes(&bytes).unwrap(), report);

    // Fees above the amount, or in another currency, are refused; so are unsorted refunds.
    for fees in ["EUR:4.01", "USD:0.01"] {
        let mut fields = report.fields().clone();
        fields.refunds = vec![refunded(B, A, "EUR:4.00", fees)].try_into().unwrap();
        let mut sorted = fields.refunds[0].refunds.clone().into_vec();
        sorted.sort_unstable();
        fields.refunds = vec![RefundObligation {
            refunds: sorted.try_into().unwrap(),
            ..fields.refunds[0].clone()
        }]
        .try_into()
        .unwrap();
        assert_eq!(
            SettlementReport::validate(fields),
            Err(SettlementError::BadFees)
        );
    }
    let mut fields = report.fields().clone();
    fields.refunds = vec![refunded(B, A, "EUR:4.00", "EUR:0.20")]
        .try_into()
        .unwrap();
    assert_eq!(
        SettlementReport::validate(fields),
        Err(SettlementError::ObligationsNotCanonical)
    );
}
