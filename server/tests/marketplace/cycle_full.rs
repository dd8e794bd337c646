//! A clearing house whose open cycle is full refuses a submission with `clearing.cycle_full`,
//! which it marks retryable: over QUIC, the acquirer's outbox keeps the submission pending, sends
//! it again once the cycle is cut, and it settles in the next cycle.

use std::time::{Duration, Instant};

use semper_protocol::clearing::{CycleClaim, cycle_id};
use semper_protocol::codec::{Decode, Encode};
use semper_protocol::ids::BatchId;
use semper_protocol::limits::CYCLE_CONFIRMATIONS_MAX;
use semper_protocol::messages::spend::SpendResult;
use semper_storage::StorageError;
use semper_storage::clearing::{OpenCycle, open_cycle};
use semper_storage::commit::{GroupReader, Transaction, WriteSet};
use semper_storage::schema::{CYCLE_OPEN, Column, cycle_claim_key};

use crate::world::*;

/// Fills the open cycle to [`CYCLE_CONFIRMATIONS_MAX`] with claims of `ISSUER_2` to `ACQUIRER_2`,
/// one cent each, as that many earlier submissions would have: the cycle can be cut, and has no
/// room for one more confirmation.
#[derive(Clone)]
struct FillOpenCycle;

impl Transaction for FillOpenCycle {
    type Output = u64;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(u64, WriteSet), StorageError> {
        let bytes = reader
            .get(Column::Cycles, CYCLE_OPEN)?
            .expect("a cycle is open");
        let mut cycle = OpenCycle::from_bytes(&bytes).expect("the open cycle decodes");
        assert_eq!(cycle.id, cycle_id(CLEARING, cycle.sequence));
        let mut writes = WriteSet::new();
        for index in cycle.confirmations..CYCLE_CONFIRMATIONS_MAX as u64 {
            let claim = CycleClaim {
                issuer: ISSUER_2,
                acquirer: ACQUIRER_2,
                batch_id: BatchId(rand::random()),
                amount: eur("0.01"),
            };
            writes.put(
                Column::CycleClaims,
                cycle_claim_key(cycle.sequence, index).to_vec(),
                claim.to_bytes(),
            );
        }
        cycle.confirmations = CYCLE_CONFIRMATIONS_MAX as u64;
        writes.put(Column::Cycles, CYCLE_OPEN.to_vec(), cycle.to_bytes());
        Ok((cycle.sequence, writes))
    }
}

#[test]
fn a_full_cycle_refusal_over_quic_is_retried_after_the_cut_and_settles() {
    run(async {
        let mut world = World::new("cycle-full");
        let market = world.start_all();
        market.refresh_all().await;
        let merchant = market.merchant_at(ACQUIRER_1, 9).await;
        let coins = market.coins(ISSUER_1, 2).await;
        let answer = market
            .acquirer(ACQUIRER_1)
            .deposit(merchant.deposit(coins.iter().map(|c| merchant.paid(c, ACQUIRER_1)).collect()))
            .await
            .unwrap();
        assert_eq!(
            answer.results.to_vec(),
            [SpendResult::Accepted, SpendResult::Accepted]
        );

        let full = market
            .clearing()
            .state()
            .commit(FillOpenCycle)
            .await
            .unwrap();
        // The first answer is `clearing.cycle_full`; the clearing house then cuts the full cycle
        // by itself, and the outbox's own retries may already find room in the next one.
        let first = market.acquirer(ACQUIRER_1).flush_outbox().await;
        match &first {
            Ok(status) => assert!(status.refused.is_empty(), "{status:?}"),
            Err(error) => assert!(
                error.to_string().contains("clearing.cycle_full"),
                "the full cycle's refusal, not {error}"
            ),
        }
        let store = &market.clearing().state().store;
        let deadline = Instant::now() + WAIT;
        while open_cycle(store).unwrap().map(|cycle| cycle.sequence) == Some(full) {
            assert!(Instant::now() < deadline, "the full cycle was never cut");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let status = market.acquirer(ACQUIRER_1).flush_outbox().await.unwrap();
        assert_eq!((status.queued, status.pending.len()), (0, 0), "{status:?}");
        let report = market.clearing().cut_cycle().await.unwrap();
        assert_eq!(
            report.body().fields().sequence,
            full + 1,
            "settled in the cycle after the full one"
        );
        let value = eur(coin_value(ISSUER_1)).minor_units();
        let owed: u64 = (report.body().fields().obligations.iter())
            .filter(|o| o.issuer == ISSUER_1 && o.acquirer == ACQUIRER_1)
            .map(|o| o.amount.minor_units())
            .sum();
        assert_eq!(owed, 2 * value, "the submission settled, once");
    });
}
