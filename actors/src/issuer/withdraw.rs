//! The withdraw path: checks and blind signatures on the pool, then one durable write of debit,
//! journal and record, and the answer only after it.

use std::sync::Arc;
use std::time::Instant;

use semper_protocol::amount::AmountError;
use semper_protocol::issuer::{WithdrawRefusal, check_withdraw};
use semper_protocol::messages::withdraw::{SignedWithdrawRequest, WithdrawResponse};
use semper_storage::issued::Issued;
use semper_storage::ledger::{self, LedgerError};
use semper_storage::withdrawals::{self, RecordWithdrawal, WithdrawalRecord};

use super::error::{IssuerError, ledger_outcome};
use super::state::IssuerState;
use crate::metrics::{ISSUER_BLIND_SIGN_SECONDS, ISSUER_WITHDRAW_COINS};
use crate::signer::SignerError;

/// Runs a withdrawal; `reply` gets the blind signatures once the debit is durable. Call it on the
/// pool: it verifies and signs in place.
pub fn run(
    state: Arc<IssuerState>,
    request: SignedWithdrawRequest,
    reply: impl FnOnce(Result<WithdrawResponse, IssuerError>) + Send + 'static,
) {
    let prepared = match prepare(&state, &request) {
        Ok(Prepared::Replay(record)) => return reply(Ok(response(&request, record))),
        Ok(Prepared::Record(record)) => record,
        Err(error) => return reply(Err(error)),
    };
    let body = request.body();
    let transaction = RecordWithdrawal {
        account: body.account,
        request_id: body.request_id,
        record: prepared,
        issued: Issued::of(body.coins.iter().map(|coin| &coin.denomination)),
    };
    state.committer.submit_or_reply(transaction, move |result| {
        let outcome = ledger_outcome(result);
        reply(outcome.map(|outcome| response(&request, outcome.record().clone())))
    });
}

enum Prepared {
    /// The same request was recorded before: answer from the record.
    Replay(WithdrawalRecord),
    /// Checked and signed: record this.
    Record(WithdrawalRecord),
}

fn prepare(state: &IssuerState, request: &SignedWithdrawRequest) -> Result<Prepared, IssuerError> {
    let body = request.body();
    let digest = request.body_digest();
    let account =
        ledger::account(&state.store, &body.account)?.ok_or(LedgerError::UnknownAccount)?;
    if let Some(record) = withdrawals::withdrawal(&state.store, &body.account, &body.request_id)? {
        // A replay is checked as the first request was: only the account's key gets the
        // signatures again, or learns that the request id is taken.
        request
            .verify(&account.public_key)
            .map_err(WithdrawRefusal::AccountSignature)?;
        return if record.request_digest == digest {
            Ok(Prepared::Replay(record))
        } else {
            Err(LedgerError::RequestIdReused.into())
        };
    }
    let now = state.clock.now();
    let denominations = state.denominations();
    let total = check_withdraw(request, &account.public_key, &denominations.book, now)?;
    // Refuse early what the ledger would refuse, before spending RSA work on it. The ledger
    // checks again in the write, which is what counts.
    match account.balance.checked_sub(total) {
        Ok(_) => {}
        Err(AmountError::Negative) => {
            let needed = total;
            return Err(LedgerError::InsufficientFunds {
                balance: account.balance,
                needed,
            }
            .into());
        }
        Err(other) => return Err(LedgerError::from(other).into()),
    }
    let started = Instant::now();
    drop(denominations);
    // One call for the whole withdrawal: one round trip when the signer is another process.
    let coins: Vec<_> = body
        .coins
        .iter()
        .map(|coin| (coin.denomination, &coin.blinded))
        .collect();
    let signatures = state
        .signer
        .blind_sign(&coins)
        .map_err(|error| match error {
            // The wallet's fault, answered as before the signer existed.
            SignerError::BadBlindedMessage { index, error } => {
                IssuerError::from(WithdrawRefusal::BlindedCoin {
                    index: index as usize,
                    error,
                })
            }
            other => other.into(),
        })?;
    metrics::histogram!(ISSUER_BLIND_SIGN_SECONDS).record(started.elapsed().as_secs_f64());
    metrics::histogram!(ISSUER_WITHDRAW_COINS).record(signatures.len() as f64);
    Ok(Prepared::Record(WithdrawalRecord {
        request_digest: digest,
        total,
        // The request held at most WITHDRAW_COINS_MAX coins, so this always fits.
        blind_signatures: signatures
            .try_into()
            .map_err(|_| WithdrawRefusal::NoCoins)?,
        at: now,
    }))
}

fn response(request: &SignedWithdrawRequest, record: WithdrawalRecord) -> WithdrawResponse {
    WithdrawResponse {
        request_id: request.body().request_id,
        blind_signatures: record.blind_signatures,
    }
}
