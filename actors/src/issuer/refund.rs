//! The refund path: an acquirer's notice that it debited a refund of one of this issuer's coins.
//! The notice's signature is checked and the confirmation signed on the pool; the check against
//! the coin's spent-set record and the allowance it raises are one atomic write, in the store
//! that holds the coin (the main store, or the coin's shard group).

use std::sync::Arc;

use semper_protocol::issuer::BatchRefusal;
use semper_protocol::messages::refund::{RefundAnswer, SignedRefundNotice};
use semper_protocol::refund::{RefundRefusal, confirmation, verify_notice};
use semper_storage::commit::Committer;
use semper_storage::refund_allowances::RecordRefundNotice;
use semper_storage::schema::spent_key;

use super::error::IssuerError;
use super::state::IssuerState;

/// Runs a refund notice; `reply` gets the issuer's answer once it is durable: a confirmation
/// (the same one to every retry), or a refusal with nothing recorded. Call it on the pool.
pub fn run(
    state: Arc<IssuerState>,
    notice: SignedRefundNotice,
    reply: impl FnOnce(Result<RefundAnswer, IssuerError>) + Send + 'static,
) {
    let body = notice.body();
    let Some(key) = state.acquirers.get(&body.acquirer) else {
        return reply(Err(BatchRefusal::UnknownAcquirer.into()));
    };
    if let Err(refusal) = verify_notice(&notice, key) {
        return reply(Ok(refused(refusal.code())));
    }
    // The customer pays the refund fee: the issuer keeps its denomination's `fees.refund` out of
    // what the coin may be swapped for. A denomination it does not know has no coin it spent.
    let fee = state
        .denominations()
        .book
        .get(&body.denomination)
        .map(|denomination| denomination.fees().refund);
    let Some(fee) = fee else {
        return reply(Ok(refused(RefundRefusal::UnknownCoin.code())));
    };
    // Signed before the write, so that the write is what answers: a notice refused there
    // leaves this confirmation unused.
    let unsigned = confirmation(state.id, body, fee, state.clock.now());
    let signed = match state.signer.sign_refund_confirmation(unsigned) {
        Ok(signed) => signed,
        Err(error) => return reply(Err(error.into())),
    };
    let transaction = RecordRefundNotice {
        notice,
        confirmation: signed,
    };
    coin_committer(&state, &transaction).submit_or_reply(transaction, move |result| {
        reply(match result {
            Ok(Ok(confirmation)) => Ok(RefundAnswer::Confirmed {
                confirmation: Box::new(confirmation),
            }),
            Ok(Err(refusal)) => Ok(refused(refusal.code())),
            Err(error) => Err(error.into()),
        })
    });
}

/// The committer of the store that holds the notice's coin in the spent set.
fn coin_committer<'s>(state: &'s IssuerState, transaction: &RecordRefundNotice) -> &'s Committer {
    let body = transaction.notice.body();
    let key = spent_key(&body.denomination, body.coin.as_bytes());
    state
        .spent_shards
        .as_ref()
        .and_then(|shards| shards.committer(shards.map().group_of(&key)))
        .unwrap_or(state.committer.as_ref())
}

fn refused(code: &str) -> RefundAnswer {
    RefundAnswer::Refused {
        code: code.to_owned(),
    }
}
