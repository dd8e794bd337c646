//! The recoup path: the checks on the pool (the account's key, the recorded withdrawal, the coin
//! blinded again), then one durable write that credits the account, spends the coin and records
//! the withdrawal slot, and the answer only after it. With a sharded spent set, the coin's own
//! shard group spends it first, by this request, and the write in the issuer's store then
//! credits and records (docs/protocol.md §7.26 says why the two steps are safe).
//!
//! Fees: a recoup credits the coin's whole value and charges nothing (the issuer revoked the
//! denomination, not the wallet); the withdraw fee paid for the coin is not refunded (the issuer
//! did sign it).

use std::sync::Arc;

use semper_protocol::codec::Encode;
use semper_protocol::issuer::recoup::check_recoup;
use semper_protocol::messages::recoup::{RecoupResponse, SignedRecoupRequest};
use semper_protocol::messages::spend::EarlierSpend;
use semper_storage::ledger::{self, LedgerError};
use semper_storage::recoups::{self, RecordRecoup, RecoupOutcome, RecoupRecord};
use semper_storage::spent::{SpendEntry, SpendOutcome};
use semper_storage::withdrawals;

use super::error::IssuerError;
use super::state::IssuerState;

/// Runs a recoup; `reply` gets the credit once it is durable. Call it on the pool: it verifies
/// in place.
pub fn run(
    state: Arc<IssuerState>,
    request: SignedRecoupRequest,
    reply: impl FnOnce(Result<RecoupResponse, IssuerError>) + Send + 'static,
) {
    let (mut transaction, coin) = match prepare(&state, &request) {
        Ok(Prepared::Replay(record)) => return reply(Ok(response(&request, &record))),
        Ok(Prepared::Record(transaction, coin)) => (transaction, coin),
        Err(error) => return reply(Err(error)),
    };
    let Some(shards) = &state.spent_shards else {
        transaction.coin = Some(coin);
        return credit(&state, *transaction, request, reply);
    };
    // The coin's group decides it, by this request's digest: a retry after a crash before the
    // credit replays here and goes on to credit once; any other spend is refused with proof.
    let entry = SpendEntry {
        permission_digest: transaction.record.request_digest,
        ..coin
    };
    let next = state.clone();
    shards.check_coin(entry, move |outcome| match outcome {
        Ok(SpendOutcome::New | SpendOutcome::Replay) => credit(&next, *transaction, request, reply),
        Ok(SpendOutcome::Conflict { earlier }) => reply(Err(coin_spent(&earlier))),
        Err(error) => reply(Err(error.into())),
    });
}

/// Credits the account and records the recoup (spending the coin too when `transaction` carries
/// it) in one durable write; `reply` gets the answer after it.
fn credit(
    state: &IssuerState,
    transaction: RecordRecoup,
    request: SignedRecoupRequest,
    reply: impl FnOnce(Result<RecoupResponse, IssuerError>) + Send + 'static,
) {
    state.committer.submit_or_reply(transaction, move |result| {
        reply(match result {
            Ok(RecoupOutcome::Recorded(record) | RecoupOutcome::Replayed(record)) => {
                Ok(response(&request, &record))
            }
            Ok(RecoupOutcome::SlotRecouped) => Err(IssuerError::RecoupSlotRecouped),
            Ok(RecoupOutcome::CoinSpent { earlier }) => Err(coin_spent(&earlier)),
            Ok(RecoupOutcome::Ledger(error)) => Err(error.into()),
            Err(error) => Err(error.into()),
        })
    });
}

enum Prepared {
    /// The same request was recorded before: answer from the record.
    Replay(RecoupRecord),
    /// Checked: credit and record this (its coin not yet set), and spend this coin, by its
    /// recoup permission.
    Record(Box<RecordRecoup>, SpendEntry),
}

fn prepare(state: &IssuerState, request: &SignedRecoupRequest) -> Result<Prepared, IssuerError> {
    let body = request.body();
    let (account_id, request_id) = (body.account(), body.request_id());
    let account = ledger::account(&state.store, &account_id)?.ok_or(LedgerError::UnknownAccount)?;
    let recorded = withdrawals::withdrawal(&state.store, &account_id, &request_id)?;
    let checked = {
        let denominations = state.denominations();
        check_recoup(
            request,
            &account.public_key,
            recorded.as_ref().map(|record| &record.request_digest),
            state.id,
            &denominations.book,
        )?
    };
    if let Some(record) = recoups::recoup(&state.store, &account_id, &request_id, body.index)? {
        return if record.request_digest == checked.request_digest {
            Ok(Prepared::Replay(record))
        } else {
            Err(IssuerError::RecoupSlotRecouped)
        };
    }
    let coin = SpendEntry {
        denomination: checked.denomination,
        coin: checked.coin.0,
        permission_digest: checked.permission_digest,
        permission: body.permission.to_bytes(),
        amount: checked.value,
    };
    let transaction = RecordRecoup {
        account: account_id,
        request_id,
        index: body.index,
        record: RecoupRecord {
            request_digest: checked.request_digest,
            denomination: checked.denomination,
            coin: checked.coin,
            credited: checked.value,
            at: state.clock.now(),
        },
        coin: None,
    };
    Ok(Prepared::Record(Box::new(transaction), coin))
}

/// The answer to a recoup of a coin spent before, by its earlier permission.
fn coin_spent(earlier: &[u8]) -> IssuerError {
    match EarlierSpend::from_stored(earlier) {
        Ok(earlier) => IssuerError::RecoupCoinSpent {
            earlier: Box::new(earlier),
        },
        // The spent set only ever stores permissions it encoded itself.
        Err(_) => IssuerError::Storage(semper_storage::StorageError::Corrupt {
            column: "spent_coins",
            reason: "an undecodable permission".to_owned(),
        }),
    }
}

fn response(request: &SignedRecoupRequest, record: &RecoupRecord) -> RecoupResponse {
    RecoupResponse {
        account: request.body().account(),
        coin: record.coin,
        credited: record.credited,
    }
}
