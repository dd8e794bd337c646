//! Merchants' refunds at the acquirer: the request checked and the merchant debited in one
//! atomic write (with the signed notice for the coin's issuer queued in it), then the notices
//! passed to the issuers over the link, retried until each has its answer, which is recorded
//! once and, when it confirms, queued for settlement.

use std::sync::Arc;

use semper_protocol::ids::CoinId;
use semper_protocol::messages::refund::{
    RefundAnswer, RefundNotice, RefundResponse, SignedRefundNotice, SignedRefundRequest,
};
use semper_protocol::refund::{RefundRefusal, verify_request};
use semper_protocol::signed::Signed;
use semper_storage::acquirer::deposits::coin_credits;
use semper_storage::acquirer::merchants::{self, MerchantError};
use semper_storage::acquirer::refunds::{
    self, PendingRefund, RecordRefund, RecordRefundAnswer, RefundOutcome,
};
use semper_storage::schema::spent_key;

use super::error::AcquirerError;
use super::state::AcquirerState;
use crate::gateway::IssuerGateway;
use crate::retry::retry;

/// Refunds forwarded to issuers in one pass.
pub const FORWARD_PASS_MAX: usize = 64;

/// Checks a merchant's refund and debits it, durably; the answer of a retry is the stored one.
/// The coin's issuer is told afterwards, by [`forward`].
pub async fn record(
    state: Arc<AcquirerState>,
    request: SignedRefundRequest,
) -> Result<RefundResponse, AcquirerError> {
    let prepared = match state
        .on_pool(move |state| prepare(state, request))
        .await??
    {
        Prepared::Answered(response) => return Ok(response),
        Prepared::Record(prepared) => *prepared,
    };
    match state.commit(prepared).await?? {
        RefundOutcome::Recorded(response) | RefundOutcome::Replayed(response) => Ok(response),
    }
}

/// What the pool decided about a refund request.
enum Prepared {
    /// Recorded before, with the same body: its answer, whatever changed since (the clock past
    /// the deadline, the coin's denomination gone from the sets).
    Answered(RefundResponse),
    /// To record.
    Record(Box<RecordRefund>),
}

/// The signature, the stored answer of a refund id seen before, the coin's credit, its issuer,
/// and the notice signed from them: reads the store and does crypto, so run it on the pool.
/// What the write then checks is what counts.
fn prepare(state: &AcquirerState, request: SignedRefundRequest) -> Result<Prepared, AcquirerError> {
    let body = request.body().clone();
    let merchant =
        merchants::merchant(&state.store, &body.merchant)?.ok_or(MerchantError::UnknownMerchant)?;
    verify_request(&request, &merchant.public_key).map_err(refused)?;
    let request_digest = request.body_digest();
    if let Some(stored) = refunds::refund_record(&state.store, &body.merchant, &body.refund_id)? {
        return if stored.request_digest == request_digest {
            Ok(Prepared::Answered(stored.response))
        } else {
            Err(refused(RefundRefusal::IdReused))
        };
    }
    let coin = spent_key(&body.denomination, body.coin.as_bytes());
    let credit = coin_credits(&state.store, &[coin])?
        .pop()
        .flatten()
        .filter(|credit| credit.merchant == body.merchant)
        .ok_or_else(|| refused(RefundRefusal::UnknownCoin))?;
    let (issuer, fee) = state
        .denominations()
        .get(&body.denomination)
        .map(|denomination| (denomination.issuer(), denomination.fees().refund))
        // No trusted set lists the coin's denomination any more: no issuer to tell.
        .ok_or_else(|| refused(RefundRefusal::UnknownCoin))?;
    debug_assert_eq!(
        CoinId::of(&credit.permission.body().coin.public_key),
        body.coin
    );
    let notice: SignedRefundNotice = Signed::sign(
        RefundNotice {
            acquirer: state.id,
            refund: request_digest,
            denomination: body.denomination,
            coin: body.coin,
            permission: credit.permission_digest,
            amount: body.amount,
        },
        state.bank_key(),
    );
    Ok(Prepared::Record(Box::new(RecordRefund {
        merchant: body.merchant,
        refund_id: body.refund_id,
        request_digest,
        request: body,
        issuer,
        notice,
        fee,
        at: state.clock.now(),
    })))
}

fn refused(refusal: RefundRefusal) -> AcquirerError {
    AcquirerError::Refund(refusal.into())
}

/// Sends the oldest pending notices to their issuers, each retried as the spend checks are,
/// and records each answer: a confirmation that is the issuer's, for this notice, goes to
/// settlement; a refusal is kept as the refund's final answer. Returns how many were answered.
/// A notice whose issuer cannot be reached stays pending for the next pass: every notice is the
/// same bytes each time, and the issuer answers a retry as the first.
pub async fn forward(
    state: Arc<AcquirerState>,
    issuers: Arc<dyn IssuerGateway>,
) -> Result<usize, AcquirerError> {
    let pending = state
        .on_pool(|state| refunds::pending(&state.store, FORWARD_PASS_MAX))
        .await??;
    let mut answered = 0;
    for refund in pending {
        let issuer = refund.record.issuer;
        let notice = refund.record.notice.clone();
        let answer = retry(&state.config.spend_retry, "refund", || {
            issuers.refund(issuer, notice.clone())
        })
        .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(%issuer, code = %error.code, "refund notice unanswered");
                continue;
            }
        };
        if let Err(code) = check_answer(&state, &refund, &answer) {
            tracing::warn!(%issuer, code, "refund answer refused");
            continue;
        }
        if let RefundAnswer::Refused { code } = &answer {
            tracing::warn!(%issuer, code, "issuer refused a refund the merchant was debited for");
        }
        let recorded = state
            .commit(RecordRefundAnswer {
                sequence: refund.sequence,
                refund: refund.refund,
                answer,
            })
            .await?;
        answered += usize::from(recorded);
    }
    Ok(answered)
}

/// An issuer's confirmation must be signed by its confirmation key and confirm exactly the
/// notice sent, or it could not be claimed at the clearing house.
fn check_answer(
    state: &AcquirerState,
    refund: &PendingRefund,
    answer: &RefundAnswer,
) -> Result<(), &'static str> {
    let RefundAnswer::Confirmed { confirmation } = answer else {
        return Ok(());
    };
    let trusted = state
        .issuers
        .get(&refund.record.issuer)
        .ok_or("acquirer.unknown_issuer")?;
    confirmation
        .verify(&trusted.confirmation_key)
        .map_err(|_| "refund.invalid_confirmation_signature")?;
    let (body, notice) = (confirmation.body(), refund.record.notice.body());
    // The fee is the denomination's, which the acquirer knows too (while its book lists it): a
    // confirmation that keeps another would settle against figures the acquirer never agreed to.
    let fee = state
        .denominations()
        .get(&notice.denomination)
        .map(|denomination| denomination.fees().refund);
    let matches = body.issuer == refund.record.issuer
        && body.acquirer == notice.acquirer
        && body.refund == notice.refund
        && body.denomination == notice.denomination
        && body.coin == notice.coin
        && body.amount == notice.amount
        && fee.is_none_or(|fee| fee == body.fee);
    if matches {
        Ok(())
    } else {
        Err("refund.confirmation_mismatch")
    }
}
