//! The swap (change) path: checks and blind signatures on the pool, then one durable write that
//! spends every coin given in and records the signatures, and the answer only after it.

use std::sync::Arc;

use semper_protocol::amount::Amount;
use semper_protocol::codec::Encode;
use semper_protocol::ids::{CoinId, Digest};
use semper_protocol::issuer::swap::{SwapRefusal, check_swap_with_refunds, swap_digest};
use semper_protocol::messages::spend::EarlierSpend;
use semper_protocol::messages::swap::{SwapRequest, SwapResponse};
use semper_storage::issued::Issued;
use semper_storage::refund_allowances::refund_allowance;
use semper_storage::schema::spent_key;
use semper_storage::spent::{SpendEntry, spent_by};
use semper_storage::swaps::{self, RecordSwap, SwapOutcome, SwapRecord};

use super::error::IssuerError;
use super::state::IssuerState;
use crate::signer::SignerError;

/// Runs a swap; `reply` gets the blind signatures once the coins are durably spent. Call it on
/// the pool: it verifies and signs in place.
pub fn run(
    state: Arc<IssuerState>,
    request: SwapRequest,
    reply: impl FnOnce(Result<SwapResponse, IssuerError>) + Send + 'static,
) {
    let (record, coins, refunded) = match prepare(&state, &request) {
        Ok(Prepared::Replay(record)) => return reply(Ok(response(&request, record))),
        Ok(Prepared::Record(record, coins, refunded)) => (record, coins, refunded),
        Err(error) => return reply(Err(error)),
    };
    let transaction = RecordSwap {
        request_id: request.request_id,
        record,
        coins,
        refunded,
        issued: Issued::of(request.outputs.iter().map(|coin| &coin.denomination)),
    };
    state.committer.submit_or_reply(transaction, move |result| {
        reply(match result {
            Ok(SwapOutcome::Recorded(record) | SwapOutcome::Replayed(record)) => {
                Ok(response(&request, record))
            }
            Ok(SwapOutcome::RequestIdReused) => Err(IssuerError::SwapRequestIdReused),
            Ok(SwapOutcome::Conflict { index, earlier }) => Err(conflict(index, &earlier)),
            Err(error) => Err(error.into()),
        })
    });
}

enum Prepared {
    /// The same request was recorded before: answer from the record.
    Replay(SwapRecord),
    /// Checked and signed: spend these coins (those at the positions listed for their refund
    /// allowance) and record this.
    Record(SwapRecord, Vec<SpendEntry>, Vec<usize>),
}

fn prepare(state: &IssuerState, request: &SwapRequest) -> Result<Prepared, IssuerError> {
    // A sharded spent set has no write that spans the coins' groups and the swap's record.
    if state.spent_shards.is_some() {
        return Err(IssuerError::SwapUnavailable);
    }
    // A retry first: once a refunded coin's allowance is used, the request would no longer
    // balance, yet its retry must get its answer.
    if let Some(record) = swaps::swap(&state.store, &request.request_id)? {
        return if record.request_digest == swap_digest(request) {
            Ok(Prepared::Replay(record))
        } else {
            Err(IssuerError::SwapRequestIdReused)
        };
    }
    let refunded = refund_allowances(state, request)?;
    let now = state.clock.now();
    let checked = {
        let denominations = state.denominations();
        check_swap_with_refunds(request, state.id, &denominations.book, now, &refunded)?
    };
    spent_before(state, request, &checked.permissions, &refunded)?;
    let outputs: Vec<_> = request
        .outputs
        .iter()
        .map(|coin| (coin.denomination, &coin.blinded))
        .collect();
    let signatures = state
        .signer
        .blind_sign(&outputs)
        .map_err(|error| match error {
            SignerError::BadBlindedMessage { index, error } => {
                IssuerError::from(SwapRefusal::BlindedCoin {
                    index: index as usize,
                    error,
                })
            }
            other => other.into(),
        })?;
    let coins = request
        .coins
        .iter()
        .zip(checked.permissions)
        .zip(checked.values)
        .map(|((permission, permission_digest), amount)| SpendEntry {
            denomination: permission.body().coin.denomination,
            coin: *permission.body().coin.public_key.as_bytes(),
            permission_digest,
            permission: permission.to_bytes(),
            amount,
        })
        .collect();
    Ok(Prepared::Record(
        SwapRecord {
            request_digest: checked.request_digest,
            // The request held at most SWAP_OUTPUTS_MAX outputs, so this always fits.
            blind_signatures: signatures.try_into().map_err(|_| SwapRefusal::NoCoins)?,
            at: now,
        },
        coins,
        refunded
            .iter()
            .enumerate()
            .filter_map(|(index, allowance)| allowance.map(|_| index))
            .collect(),
    ))
}

/// Each coin's refund allowance left, where it has one: a coin deposited and then refunded is
/// given in for what was refunded on it, once (docs/protocol.md §7.21).
fn refund_allowances(
    state: &IssuerState,
    request: &SwapRequest,
) -> Result<Vec<Option<Amount>>, IssuerError> {
    request
        .coins
        .iter()
        .map(|permission| {
            let coin = &permission.body().coin;
            let left = refund_allowance(
                &state.store,
                &coin.denomination,
                &CoinId::of(&coin.public_key),
            )?;
            Ok(left.filter(|amount| amount.minor_units() > 0))
        })
        .collect()
}

/// Refuses a swap with a coin spent before by another permission before its outputs are signed:
/// signatures that no recorded swap carries would widen the gap an auditor finds between the
/// signer's counts and the issuer's books (SECURITY.md, "The signer"). The write checks again,
/// which is what counts; a coin given in for its refund allowance is checked there only.
fn spent_before(
    state: &IssuerState,
    request: &SwapRequest,
    digests: &[Digest],
    refunded: &[Option<Amount>],
) -> Result<(), IssuerError> {
    let coins = request.coins.iter().zip(digests).zip(refunded);
    for (index, ((permission, digest), allowance)) in coins.enumerate() {
        if allowance.is_some() {
            continue;
        }
        let coin = &permission.body().coin;
        let key = spent_key(&coin.denomination, coin.public_key.as_bytes());
        if let Some((earlier_digest, earlier)) = spent_by(&state.store, &key)?
            && earlier_digest != *digest
        {
            return Err(conflict(index, &earlier));
        }
    }
    Ok(())
}

/// The answer to a swap with a coin spent before by another permission.
fn conflict(index: usize, earlier: &[u8]) -> IssuerError {
    match EarlierSpend::from_stored(earlier) {
        Ok(earlier) => IssuerError::SwapConflict {
            index,
            earlier: Box::new(earlier),
        },
        // The spent set only ever stores permissions it encoded itself.
        Err(_) => IssuerError::Storage(semper_storage::StorageError::Corrupt {
            column: "spent_coins",
            reason: "an undecodable permission".to_owned(),
        }),
    }
}

fn response(request: &SwapRequest, record: SwapRecord) -> SwapResponse {
    SwapResponse {
        request_id: request.request_id,
        blind_signatures: record.blind_signatures,
    }
}
