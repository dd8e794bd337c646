//! The spend-check path: checks and batch verification on the pool, one atomic check-and-insert
//! that also records the batch's digest and what its confirmation will list (or, with a sharded
//! spent set, one insert per shard group and then that record: `semper_storage::spent_shards`
//! says why that is as safe), then the answer per coin and the signed confirmation, on the pool
//! again.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use semper_protocol::batch_verifier::EncodedPermissions;
use semper_protocol::crypto::hash::sha256;
use semper_protocol::denomination_book::DenominationRefusal;
use semper_protocol::ids::Digest;
use semper_protocol::issuer::{BatchRefusal, admissible, check_batch, confirmation};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::spend::{
    EarlierSpend, SignedSpendCheckBatch, SpendCheckResponse, SpendResult,
};
use semper_storage::schema::spent_key;
use semper_storage::spent::{
    BatchIdReused, CheckBatch, SpendBatch, SpendEntry, SpendOutcome, spent_by,
};
use semper_storage::spent_shards::BatchAnswer;

use super::error::IssuerError;
use super::state::IssuerState;
use crate::metrics::{ISSUER_SPEND_CHECK_COINS, ISSUER_SPEND_CHECK_VERIFY_SECONDS};

/// The refusal of a coin listed again in the same spend-check batch.
pub const SPEND_DUPLICATE_COIN: &str = "spend.duplicate_coin";

/// Runs a spend check; `reply` gets a result per coin and the confirmation once the spent set is
/// durable. Call it on the pool.
pub fn run(
    state: Arc<IssuerState>,
    batch: SignedSpendCheckBatch,
    reply: impl FnOnce(Result<SpendCheckResponse, IssuerError>) + Send + 'static,
) {
    let body = batch.body();
    let now = state.clock.now();
    let permissions: &[SignedDepositPermission] = &body.permissions;
    metrics::histogram!(ISSUER_SPEND_CHECK_COINS).record(permissions.len() as f64);
    let started = Instant::now();
    // The acquirer's signature is checked while each body is encoded and digested, once, for its
    // signature check, its digest and its stored form.
    let (checked, (encoded, body_digests)) = state.pool.install(|| {
        rayon::join(
            || check_batch(&batch, state.acquirers.get(&body.acquirer)),
            || {
                let encoded = EncodedPermissions::new(permissions);
                let digests: Vec<Digest> = (0..permissions.len())
                    .into_par_iter()
                    .map(|index| Digest(sha256(&[encoded.body(index)])))
                    .collect();
                (encoded, digests)
            },
        )
    });
    if let Err(refusal) = checked {
        return reply(Err(refusal.into()));
    }
    // Refusals by position; `None` for the coins that go on to the spent set.
    let mut refusals: Vec<Option<String>> = {
        let denominations = state.denominations();
        let admitted = admissible(
            state.id,
            body.acquirer,
            permissions,
            &denominations.book,
            now,
        );
        let verdicts = state.pool.verify_encoded(&encoded, &denominations.book);
        metrics::histogram!(ISSUER_SPEND_CHECK_VERIFY_SECONDS)
            .record(started.elapsed().as_secs_f64());
        admitted
            .into_iter()
            .zip(verdicts)
            .map(|(admitted, verdict)| match (admitted, verdict) {
                (Err(code), _) => Some(code.to_owned()),
                (Ok(()), Err(error)) => Some(error.code().to_owned()),
                (Ok(()), Ok(())) => None,
            })
            .collect()
    };
    refuse_repeated_coins(permissions, &mut refusals);
    let mut digests = vec![None; permissions.len()];
    let entries: Vec<SpendEntry> = permissions
        .iter()
        .enumerate()
        .zip(&refusals)
        .zip(digests.iter_mut())
        .filter(|((_, refusal), _)| refusal.is_none())
        .map(|(((index, permission), _), digest)| {
            let body = encoded.body(index);
            let permission_digest = body_digests[index];
            *digest = Some(permission_digest);
            // The stored form is the signed permission's encoding: body, then signature.
            let mut stored = Vec::with_capacity(body.len() + permission.signature().0.len());
            stored.extend_from_slice(body);
            stored.extend_from_slice(&permission.signature().0);
            SpendEntry {
                denomination: permission.body().coin.denomination,
                coin: *permission.body().coin.public_key.as_bytes(),
                permission_digest,
                permission: stored,
                amount: permission.body().amount,
            }
        })
        .collect();
    // The spends and what the confirmation will list go into one write: reconciliation later
    // checks settlement reports against exactly what was confirmed.
    let spend_batch = SpendBatch {
        acquirer: body.acquirer,
        batch: body.batch_id,
        // The permissions' digests, already taken, identify the batch's body: its acquirer
        // and id are the record's key.
        digest: Digest(sha256(
            &body_digests
                .iter()
                .map(|digest| digest.as_bytes().as_slice())
                .collect::<Vec<_>>(),
        )),
    };
    let committer_state = state.clone();
    let answered = move |result: BatchAnswer| {
        let outcomes = match result {
            Ok(Ok(outcomes)) => outcomes,
            Ok(Err(BatchIdReused)) => return reply(Err(BatchRefusal::BatchIdReused.into())),
            Err(error) => return reply(Err(error.into())),
        };
        // Decoding proofs and signing the confirmation is crypto: back to the pool with it.
        let pool_state = committer_state.clone();
        committer_state.pool.spawn(move || {
            let mut outcomes = outcomes.into_iter();
            let revoked = DenominationRefusal::Revoked.code();
            let results = refusals
                .iter_mut()
                .zip(batch.body().permissions.iter().zip(&body_digests))
                .map(|(refusal, (permission, digest))| match refusal.take() {
                    Some(code) if code == revoked => {
                        proof_of_earlier_spend(&pool_state, permission, digest)
                            .unwrap_or(SpendResult::Refused { code })
                    }
                    Some(code) => SpendResult::Refused { code },
                    None => to_result(outcomes.next()),
                })
                .collect::<Vec<_>>();
            reply(respond(&pool_state, &batch, results, &digests, now))
        });
    };
    match &state.spent_shards {
        None => state.committer.submit_or_reply(
            CheckBatch {
                batch: spend_batch,
                entries,
            },
            answered,
        ),
        Some(shards) => shards.check_batch(&state.committer, spend_batch, entries, answered),
    }
}

/// For a coin of a revoked denomination: the proof that it was spent before by another
/// permission, if it was (a recoup, most often), which tells the merchant more than the
/// revocation; `None` (refused as revoked) otherwise, or when the spent set cannot be read.
fn proof_of_earlier_spend(
    state: &IssuerState,
    permission: &SignedDepositPermission,
    digest: &Digest,
) -> Option<SpendResult> {
    let coin = &permission.body().coin;
    let key = spent_key(&coin.denomination, coin.public_key.as_bytes());
    let store = match &state.spent_shards {
        None => &state.store,
        Some(shards) => shards.store(shards.map().group_of(&key))?,
    };
    let (earlier_digest, earlier) = spent_by(store, &key).ok()??;
    if earlier_digest == *digest {
        // Spent by this very permission before the revocation: not a double spend.
        return None;
    }
    EarlierSpend::from_stored(&earlier)
        .ok()
        .map(EarlierSpend::into_result)
}

/// Refuses every listing of a coin after its first one that may be spent: the acquirer should
/// never send a coin twice in one batch, and a confirmation that listed it twice would be refused
/// whole by the clearing house (`confirmation.duplicate_coin`), and counted twice in the totals
/// kept for reconciliation.
fn refuse_repeated_coins(permissions: &[SignedDepositPermission], refusals: &mut [Option<String>]) {
    let mut listed = HashSet::with_capacity(permissions.len());
    for (permission, refusal) in permissions.iter().zip(refusals.iter_mut()) {
        let coin = &permission.body().coin;
        if refusal.is_none() && !listed.insert((coin.denomination, *coin.public_key.as_bytes())) {
            *refusal = Some(SPEND_DUPLICATE_COIN.to_owned());
        }
    }
}

fn to_result(outcome: Option<SpendOutcome>) -> SpendResult {
    match outcome {
        Some(SpendOutcome::New) => SpendResult::Accepted,
        Some(SpendOutcome::Replay) => SpendResult::Replay,
        Some(SpendOutcome::Conflict { earlier }) => match EarlierSpend::from_stored(&earlier) {
            Ok(earlier) => earlier.into_result(),
            // The spent set only ever stores permissions it encoded itself.
            Err(_) => SpendResult::Refused {
                code: "storage.corrupt".to_owned(),
            },
        },
        None => SpendResult::Refused {
            code: "storage.missing_outcome".to_owned(),
        },
    }
}

fn respond(
    state: &IssuerState,
    batch: &SignedSpendCheckBatch,
    results: Vec<SpendResult>,
    digests: &[Option<Digest>],
    now: semper_protocol::time::Timestamp,
) -> Result<SpendCheckResponse, IssuerError> {
    let body = batch.body();
    let confirmed = body
        .permissions
        .iter()
        .zip(&results)
        .zip(digests)
        .filter(|((_, result), _)| matches!(result, SpendResult::Accepted | SpendResult::Replay))
        .filter_map(|((permission, _), digest)| digest.map(|digest| (permission, digest)));
    // Signed by the signer, which holds the confirmation key.
    let confirmation = confirmation(state.id, body.acquirer, body.batch_id, now, confirmed)
        .map(|confirmation| state.signer.sign_confirmation(confirmation))
        .transpose()?;
    Ok(SpendCheckResponse {
        batch_id: body.batch_id,
        // One result per permission of a bounded batch: always within the bound.
        results: results.try_into().map_err(|_| IssuerError::Stopped)?,
        confirmation,
    })
}
