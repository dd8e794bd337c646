//! The swap (change) path: checks and blind signatures on the pool, then one durable write that
//! spends every coin given in and records the signatures, and the answer only after it. With a
//! sharded spent set, each coin's own shard group spends it first, by this request, the signer
//! signs only once every coin was new or replayed there, and the write in the issuer's store
//! then records the swap (docs/protocol.md §7.25 says why the two steps are safe).

use std::sync::Arc;

use semper_protocol::amount::Amount;
use semper_protocol::codec::Encode;
use semper_protocol::ids::{CoinId, Digest};
use semper_protocol::issuer::swap::{SwapRefusal, check_swap_with_refunds, swap_digest};
use semper_protocol::messages::spend::EarlierSpend;
use semper_protocol::messages::swap::{SwapRequest, SwapResponse};
use semper_protocol::time::Timestamp;
use semper_storage::StorageError;
use semper_storage::issued::Issued;
use semper_storage::refund_allowances::refund_allowance;
use semper_storage::schema::spent_key;
use semper_storage::spent::{SpendEntry, SpendOutcome, spent_by};
use semper_storage::swap_groups::{SwapCoin, allowance_used_by};
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
    let spend = match prepare(&state, &request) {
        Ok(Prepared::Replay(record)) => return reply(Ok(response(&request, record))),
        Ok(Prepared::Spend(spend)) => spend,
        Err(error) => return reply(Err(error)),
    };
    let Some(shards) = &state.spent_shards else {
        // One write spends the coins and records the signatures.
        let signed = spent_before(&state, &spend).and_then(|()| sign(&state, &request, &spend));
        return match signed {
            Ok(record) => {
                let (coins, refunded) = (spend.coins, spend.refunded);
                store(&state, request, record, coins, refunded, reply)
            }
            Err(error) => reply(Err(error)),
        };
    };
    // Step one: each coin's group spends it (or uses its allowance) by this request's digest, so
    // that only this request's retry replays it; nothing is signed before every coin is new or
    // replayed (docs/protocol.md §7.25).
    let coins = spend
        .coins
        .iter()
        .enumerate()
        .map(|(index, entry)| SwapCoin {
            entry: SpendEntry {
                permission_digest: spend.request_digest,
                ..entry.clone()
            },
            refunded: spend.refunded.contains(&index),
        })
        .collect();
    let next = state.clone();
    shards.check_swap(spend.request_digest, coins, move |answer| {
        // On a group's committer thread: sign on the pool.
        let pool = next.clone();
        pool.pool.spawn(move || {
            let outcomes = match answer {
                Ok(outcomes) => outcomes,
                Err(error) => return reply(Err(error.into())),
            };
            // The first conflict, in the request's order: every retry gets the same one, since
            // a coin's record in its group never changes.
            let conflicted = outcomes
                .into_iter()
                .enumerate()
                .find_map(|(index, outcome)| match outcome {
                    SpendOutcome::Conflict { earlier } => Some((index, earlier)),
                    SpendOutcome::New | SpendOutcome::Replay => None,
                });
            if let Some((index, earlier)) = conflicted {
                return reply(Err(conflict(index, &earlier)));
            }
            // Step two: sign, and record in the issuer's store (spending nothing there).
            match sign(&next, &request, &spend) {
                Ok(record) => store(&next, request, record, Vec::new(), Vec::new(), reply),
                Err(error) => reply(Err(error)),
            }
        });
    });
}

/// Records the swap (spending `coins`, those at the `refunded` positions for their allowance)
/// in one durable write; `reply` gets the answer after it, from the record on a replay.
fn store(
    state: &IssuerState,
    request: SwapRequest,
    record: SwapRecord,
    coins: Vec<SpendEntry>,
    refunded: Vec<usize>,
    reply: impl FnOnce(Result<SwapResponse, IssuerError>) + Send + 'static,
) {
    let transaction = RecordSwap {
        request_id: request.request_id,
        issued: Issued::of(request.outputs.iter().map(|coin| &coin.denomination)),
        record,
        coins,
        refunded,
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
    /// Checked: sign, spend and record this.
    Spend(Spend),
}

/// A checked swap, not yet signed.
struct Spend {
    request_digest: Digest,
    at: Timestamp,
    /// The coins given in, each with its swap permission and the value it is given in for.
    coins: Vec<SpendEntry>,
    /// The positions of the coins given in for their refund allowance.
    refunded: Vec<usize>,
}

fn prepare(state: &IssuerState, request: &SwapRequest) -> Result<Prepared, IssuerError> {
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
    Ok(Prepared::Spend(Spend {
        request_digest: checked.request_digest,
        at: now,
        coins,
        refunded: refunded
            .iter()
            .enumerate()
            .filter_map(|(index, allowance)| allowance.map(|_| index))
            .collect(),
    }))
}

/// Refuses a swap with a coin spent before by another permission before its outputs are signed:
/// signatures that no recorded swap carries would widen the gap an auditor finds between the
/// signer's counts and the issuer's books (SECURITY.md, "The signer"). The write checks again,
/// which is what counts; a coin given in for its refund allowance is checked there only. (With a
/// sharded spent set, step one in the coins' groups comes before any signature instead.)
fn spent_before(state: &IssuerState, spend: &Spend) -> Result<(), IssuerError> {
    for (index, entry) in spend.coins.iter().enumerate() {
        if spend.refunded.contains(&index) {
            continue;
        }
        let key = spent_key(&entry.denomination, &entry.coin);
        if let Some((earlier_digest, earlier)) = spent_by(&state.store, &key)?
            && earlier_digest != entry.permission_digest
        {
            return Err(conflict(index, &earlier));
        }
    }
    Ok(())
}

/// Blind-signs the request's outputs: the record to store.
fn sign(
    state: &IssuerState,
    request: &SwapRequest,
    spend: &Spend,
) -> Result<SwapRecord, IssuerError> {
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
    Ok(SwapRecord {
        request_digest: spend.request_digest,
        // The request held at most SWAP_OUTPUTS_MAX outputs, so this always fits.
        blind_signatures: signatures.try_into().map_err(|_| SwapRefusal::NoCoins)?,
        at: spend.at,
    })
}

/// Each coin's refund allowance left, where it has one: a coin deposited and then refunded is
/// given in for what was refunded on it, once (docs/protocol.md §7.21). The allowance lives
/// with the coin's spent-set record: in its shard group when the spent set is sharded, where
/// the part this very request used already (a retry after a crash before its record) counts
/// as left for it.
fn refund_allowances(
    state: &IssuerState,
    request: &SwapRequest,
) -> Result<Vec<Option<Amount>>, IssuerError> {
    let digest = swap_digest(request);
    request
        .coins
        .iter()
        .map(|permission| {
            let coin = &permission.body().coin;
            let id = CoinId::of(&coin.public_key);
            let store = match &state.spent_shards {
                None => &state.store,
                Some(shards) => {
                    let key = spent_key(&coin.denomination, coin.public_key.as_bytes());
                    let store = shards.store_of(&key).ok_or_else(|| {
                        StorageError::ShardMismatch("the map placed a coin in no group".into())
                    })?;
                    if let Some(used) = allowance_used_by(store, &digest, &coin.denomination, &id)?
                    {
                        return Ok(Some(used));
                    }
                    store
                }
            };
            let left = refund_allowance(store, &coin.denomination, &id)?;
            Ok(left.filter(|amount| amount.minor_units() > 0))
        })
        .collect()
}

/// The answer to a swap with a coin spent before by another permission.
fn conflict(index: usize, earlier: &[u8]) -> IssuerError {
    match EarlierSpend::from_stored(earlier) {
        Ok(earlier) => IssuerError::SwapConflict {
            index,
            earlier: Box::new(earlier),
        },
        // The spent set only ever stores permissions it encoded itself.
        Err(_) => IssuerError::Storage(StorageError::Corrupt {
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
