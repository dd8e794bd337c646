//! Netting: a cycle's claims grouped into gross obligations per (issuer, acquirer, currency), its
//! refunds into refund obligations per (acquirer, issuer, currency), and the settlement report of
//! the cycle, whose net positions sum to zero in every currency.

use std::collections::BTreeMap;

use crate::amount::{Amount, Currency};
use crate::bounded::BoundedVec;
use crate::codec_struct;
use crate::ids::{BankId, BatchId, CycleId, Digest};
use crate::messages::settlement::{
    Obligation, RefundObligation, SettlementError, SettlementReport,
};
use crate::time::Timestamp;

use super::check::{Claimable, RefundClaimable};

/// One confirmation counted in a cycle: who owes whom how much, for which batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CycleClaim {
    /// The issuer, who owes.
    pub issuer: BankId,
    /// The acquirer, who is owed.
    pub acquirer: BankId,
    /// The spend-check batch confirmed.
    pub batch_id: BatchId,
    /// The confirmation's total.
    pub amount: Amount,
}

codec_struct!(CycleClaim {
    issuer,
    acquirer,
    batch_id,
    amount
});

impl CycleClaim {
    /// The claim that counting `candidate` adds to a cycle.
    pub fn of(candidate: &Claimable) -> Self {
        Self {
            issuer: candidate.key.issuer,
            acquirer: candidate.key.acquirer,
            batch_id: candidate.key.batch_id,
            amount: candidate.amount,
        }
    }
}

/// One refund counted in a cycle: the acquirer owes the issuer its amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CycleRefund {
    /// The acquirer, who owes.
    pub acquirer: BankId,
    /// The issuer, who is owed.
    pub issuer: BankId,
    /// The refund.
    pub refund: Digest,
    /// What is owed.
    pub amount: Amount,
    /// The refund fee the issuer kept.
    pub fee: Amount,
}

codec_struct!(CycleRefund {
    acquirer,
    issuer,
    refund,
    amount,
    fee
});

impl CycleRefund {
    /// The refund that counting `candidate` adds to a cycle.
    pub fn of(candidate: &RefundClaimable) -> Self {
        Self {
            acquirer: candidate.acquirer,
            issuer: candidate.key.issuer,
            refund: candidate.key.refund,
            amount: candidate.amount,
            fee: candidate.fee,
        }
    }
}

/// The refund obligations of `refunds`: one per (acquirer, issuer, currency), with the amounts
/// and fees summed and the refunds it lists, sorted.
pub fn refund_obligations(
    refunds: &[CycleRefund],
) -> Result<Vec<RefundObligation>, SettlementError> {
    type Sums = (Amount, Amount, Vec<Digest>);
    let mut grouped: BTreeMap<(BankId, BankId, Currency), Sums> = BTreeMap::new();
    for refund in refunds {
        let currency = refund.amount.currency();
        let (sum, fees, listed) = grouped
            .entry((refund.acquirer, refund.issuer, currency))
            .or_insert_with(|| (Amount::zero(currency), Amount::zero(currency), Vec::new()));
        let overflow = |_| SettlementError::Overflow;
        *sum = sum.checked_add(refund.amount).map_err(overflow)?;
        // A fee in another currency is refused when the confirmation is claimed.
        *fees = fees
            .checked_add(refund.fee)
            .map_err(|_| SettlementError::BadFees)?;
        listed.push(refund.refund);
    }
    grouped
        .into_iter()
        .map(|((acquirer, issuer, _), (amount, fees, mut listed))| {
            listed.sort_unstable();
            Ok(RefundObligation {
                acquirer,
                issuer,
                amount,
                fees,
                refunds: BoundedVec::new(listed).map_err(|_| SettlementError::TooLarge)?,
            })
        })
        .collect()
}

/// The gross obligations of `claims`: one per (issuer, acquirer, currency), with the batches it
/// sums, sorted.
pub fn obligations(claims: &[CycleClaim]) -> Result<Vec<Obligation>, SettlementError> {
    let mut grouped: BTreeMap<(BankId, BankId, Currency), (Amount, Vec<BatchId>)> = BTreeMap::new();
    for claim in claims {
        let currency = claim.amount.currency();
        let (sum, batches) = grouped
            .entry((claim.issuer, claim.acquirer, currency))
            .or_insert_with(|| (Amount::zero(currency), Vec::new()));
        *sum = sum
            .checked_add(claim.amount)
            .map_err(|_| SettlementError::Overflow)?;
        batches.push(claim.batch_id);
    }
    grouped
        .into_iter()
        .map(|((issuer, acquirer, _), (amount, mut batches))| {
            batches.sort_unstable();
            Ok(Obligation {
                issuer,
                acquirer,
                amount,
                confirmations: BoundedVec::new(batches).map_err(|_| SettlementError::TooLarge)?,
            })
        })
        .collect()
}

/// The settlement report of cycle `sequence`, whose claims are `claims` and whose refunds are
/// `refunds`.
pub fn settle(
    clearing: BankId,
    cycle: CycleId,
    sequence: u64,
    cutoff_at: Timestamp,
    claims: &[CycleClaim],
    refunds: &[CycleRefund],
) -> Result<SettlementReport, SettlementError> {
    SettlementReport::with_refunds(
        clearing,
        cycle,
        sequence,
        cutoff_at,
        obligations(claims)?,
        refund_obligations(refunds)?,
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn claim(issuer: u8, acquirer: u8, batch: u8, amount: &str) -> CycleClaim {
        CycleClaim {
            issuer: BankId([issuer; 16]),
            acquirer: BankId([acquirer; 16]),
            batch_id: BatchId([batch; 16]),
            amount: amount.parse().unwrap(),
        }
    }

    #[test]
    fn claims_group_into_obligations_with_their_batches() {
        let claims = [
            claim(1, 2, 9, "EUR:1.00"),
            claim(1, 2, 3, "EUR:2.50"),
            claim(1, 2, 4, "USD:1.00"),
            claim(3, 2, 5, "EUR:0.10"),
        ];
        let obligations = obligations(&claims).unwrap();
        assert_eq!(obligations.len(), 3);
        assert_eq!(obligations[0].amount, "EUR:3.50".parse().unwrap());
        assert_eq!(
            *obligations[0].confirmations,
            [BatchId([3; 16]), BatchId([9; 16])]
        );
        assert_eq!(obligations[1].amount, "USD:1.00".parse().unwrap());
        assert_eq!(obligations[2].issuer, BankId([3; 16]));
    }

    #[test]
    fn overflowing_and_duplicate_claims_are_refused_not_reported() {
        let huge = CycleClaim {
            amount: Amount::from_minor_units(Currency::new("EUR").unwrap(), u64::MAX),
            ..claim(1, 2, 1, "EUR:0.00")
        };
        let more = claim(1, 2, 2, "EUR:0.01");
        assert_eq!(obligations(&[huge, more]), Err(SettlementError::Overflow));
        let twice = [claim(1, 2, 1, "EUR:1.00"), claim(1, 2, 1, "EUR:1.00")];
        let report = settle(
            BankId([0; 16]),
            CycleId([0; 16]),
            1,
            Timestamp::from_unix_ms(0),
            &twice,
            &[],
        );
        assert_eq!(report, Err(SettlementError::ObligationsNotCanonical));
    }

    #[test]
    fn refunds_group_into_obligations_owed_by_the_acquirer_and_net_against_spends() {
        let refund = |acquirer: u8, issuer: u8, id: u8, amount: &str, fee: &str| CycleRefund {
            acquirer: BankId([acquirer; 16]),
            issuer: BankId([issuer; 16]),
            refund: Digest([id; 32]),
            amount: amount.parse().unwrap(),
            fee: fee.parse().unwrap(),
        };
        let refunds = [
            refund(2, 1, 9, "EUR:0.40", "EUR:0.01"),
            refund(2, 1, 3, "EUR:0.60", "EUR:0.01"),
            refund(2, 3, 4, "EUR:0.10", "EUR:0.00"),
        ];
        let report = settle(
            BankId([0; 16]),
            CycleId([0; 16]),
            1,
            Timestamp::from_unix_ms(0),
            &[claim(1, 2, 1, "EUR:5.00")],
            &refunds,
        )
        .unwrap();
        let listed = &report.fields().refunds;
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].amount, "EUR:1.00".parse().unwrap());
        assert_eq!(listed[0].fees, "EUR:0.02".parse().unwrap());
        assert_eq!(*listed[0].refunds, [Digest([3; 32]), Digest([9; 32])]);
        let net = |bank: u8| {
            report
                .fields()
                .net_positions
                .iter()
                .find(|p| p.bank == BankId([bank; 16]))
                .map_or(0, |p| p.net_minor_units)
        };
        // The issuer owes 5.00 for the spend and is owed 1.00 back; the other issuer 0.10.
        assert_eq!((net(1), net(2), net(3)), (-400, 390, 10));
    }

    proptest! {
        #[test]
        fn net_positions_sum_to_zero_and_net_each_banks_claims(
            raw in prop::collection::vec((0u8..4, 0u8..4, 0usize..3, 0u64..1 << 40), 0..60)
        ) {
            let currencies = ["EUR", "USD", "JPY"].map(|c| Currency::new(c).unwrap());
            let claims: Vec<CycleClaim> = raw
                .iter()
                .enumerate()
                .map(|(i, (issuer, acquirer, currency, units))| CycleClaim {
                    issuer: BankId([*issuer; 16]),
                    acquirer: BankId([*acquirer; 16]),
                    batch_id: BatchId([i as u8; 16]),
                    amount: Amount::from_minor_units(currencies[*currency], *units),
                })
                .collect();
            let report = settle(BankId([9; 16]), CycleId([1; 16]), 1, Timestamp::from_unix_ms(5), &claims, &[])
                .unwrap();
            let positions = &report.fields().net_positions;
            for currency in currencies {
                let sum: i128 = positions
                    .iter()
                    .filter(|p| p.currency == currency)
                    .map(|p| i128::from(p.net_minor_units))
                    .sum();
                prop_assert_eq!(sum, 0);
                for bank in 0u8..4 {
                    let bank = BankId([bank; 16]);
                    let expected: i128 = claims
                        .iter()
                        .filter(|c| c.amount.currency() == currency)
                        .map(|c| {
                            let units = i128::from(c.amount.minor_units());
                            i128::from(c.acquirer == bank) * units - i128::from(c.issuer == bank) * units
                        })
                        .sum();
                    let reported = positions
                        .iter()
                        .find(|p| p.bank == bank && p.currency == currency)
                        .map_or(0, |p| i128::from(p.net_minor_units));
                    prop_assert_eq!(reported, expected);
                }
            }
        }
    }
}
