//! One micro-batch, from verification to answers:
//! 1. on the pool: each deposit's stored answer, the batch verification of every coin, the
//!    denomination windows, the coin index, and one signed spend-check batch per issuer;
//! 2. the spend checks, one per issuer, concurrently, each retried with the same batch id;
//! 3. on the pool: each issuer's answer checked, and a result or an open question per coin;
//! 4. one atomic write of results, credits, coin index and confirmations; then the answers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use semper_protocol::acquirer::{CoinVerdict, bounded_code, check_answer, route};
use semper_protocol::amount::Amount;
use semper_protocol::batch_verifier::EncodedPermissions;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::crypto::hash::sha256;
use semper_protocol::denomination_book::DenominationBook;
use semper_protocol::ids::{BankId, BatchId, Digest, MerchantId, RequestId};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::merchant::{DepositResponse, DepositResult};
use semper_protocol::messages::spend::{
    SignedSpendCheckBatch, SpendCheckBatch, SpendCheckResponse,
};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_storage::acquirer::deposits::{
    self, CoinInput, DepositInput, DepositOutcome, RecordDeposits,
};
use semper_storage::acquirer::merchants::MerchantError;

use super::error::AcquirerError;
use super::intake::{Admitted, DepositKey};
use super::metrics;
use super::state::AcquirerState;
use crate::gateway::{GatewayError, IssuerGateway};
use crate::retry::retry;

/// The answer to each deposit of a micro-batch.
pub type Answers = Vec<(DepositKey, Result<DepositResponse, AcquirerError>)>;

/// Processes a micro-batch; every deposit gets an answer, whatever fails.
pub async fn run(
    state: Arc<AcquirerState>,
    issuers: Arc<dyn IssuerGateway>,
    deposits: Vec<Admitted>,
) -> Answers {
    let keys: Vec<DepositKey> = deposits.iter().map(Admitted::key).collect();
    match process(&state, &issuers, deposits).await {
        Ok(answers) => answers,
        Err(error) => {
            tracing::error!(code = error.code(), %error, "micro-batch failed");
            keys.into_iter()
                .map(|key| (key, Err(error.clone())))
                .collect()
        }
    }
}

async fn process(
    state: &Arc<AcquirerState>,
    issuers: &Arc<dyn IssuerGateway>,
    deposits: Vec<Admitted>,
) -> Result<Answers, AcquirerError> {
    let plan = state.on_pool(move |state| plan(state, deposits)).await??;
    let responses = ask_issuers(state, issuers, &plan.spend).await;
    let (record, mut answers) = state
        .on_pool(move |state| resolve(state, plan, responses))
        .await?;
    let keys: Vec<DepositKey> = record
        .deposits
        .iter()
        .map(|d| (d.merchant, d.deposit_id))
        .collect();
    let outcomes = state.commit(record).await?;
    for (key, outcome) in keys.into_iter().zip(outcomes) {
        let answer = match outcome {
            DepositOutcome::Recorded(response) => {
                metrics::deposit_answered("recorded", Some(&response));
                Ok(response)
            }
            DepositOutcome::Replayed(response) => {
                metrics::deposit_answered("replayed", None);
                Ok(response)
            }
            DepositOutcome::Incomplete { code } => {
                metrics::deposit_answered("incomplete", None);
                Err(AcquirerError::Incomplete { code })
            }
            DepositOutcome::Refused(error) => {
                metrics::deposit_answered("refused", None);
                Err(error.into())
            }
        };
        answers.push((key, answer));
    }
    Ok(answers)
}

/// One deposit to record, with each coin's input or its place in an issuer's batch.
struct PlannedDeposit {
    merchant: MerchantId,
    deposit_id: RequestId,
    digest: Digest,
    refund_deadline: Timestamp,
    coins: Vec<Planned>,
}

enum Planned {
    /// Known without asking an issuer.
    Input(CoinInput),
    /// Sent to an issuer: permission `position` of spend-check batch `batch`.
    Issuer { batch: usize, position: usize },
}

/// One issuer's spend-check batch, with the digest of each permission's body.
struct IssuerBatch {
    issuer: BankId,
    batch: SignedSpendCheckBatch,
    digests: Vec<Digest>,
}

struct Plan {
    /// Deposits answered from storage.
    answered: Answers,
    /// Deposits to record.
    deposits: Vec<PlannedDeposit>,
    /// One batch per issuer concerned.
    spend: Vec<IssuerBatch>,
}

/// Step 1, on the pool. The deposits' ids and coins are all in flight at the actor, so no other
/// attempt of them in this gateway is between its reads and its write. Another gateway sharing
/// the store may record them meanwhile: the write reads them again, and decides on what it reads
/// then (see `RecordDeposits`).
fn plan(state: &AcquirerState, deposits: Vec<Admitted>) -> Result<Plan, AcquirerError> {
    let now = state.clock.now();
    let mut answered = Vec::new();
    let mut kept = Vec::with_capacity(deposits.len());
    for deposit in deposits {
        let key = deposit.key();
        match deposits::deposit(&state.store, &key.0, &key.1)? {
            Some(stored) if stored.request_digest != deposit.digest => {
                answered.push((key, Err(MerchantError::DepositIdReused.into())));
            }
            Some(deposits::DepositRecord {
                response: Some(response),
                ..
            }) => answered.push((key, Ok(response))),
            _ => kept.push(deposit),
        }
    }
    let permissions: Vec<SignedDepositPermission> = kept
        .iter()
        .flat_map(|d| d.request.body().permissions.iter().cloned())
        .collect();
    let coin_keys: Vec<[u8; 64]> = kept.iter().flat_map(|d| d.coins.iter().copied()).collect();
    metrics::micro_batch(permissions.len());

    let book = state.denominations();
    let started = Instant::now();
    let encoded = EncodedPermissions::new(&permissions);
    let verdicts = state.pool.verify_encoded(&encoded, &*book);
    metrics::verified(started.elapsed().as_secs_f64());
    let digests: Vec<Digest> = (0..permissions.len())
        .map(|i| Digest(sha256(&[encoded.body(i)])))
        .collect();
    let routes = route(&permissions, &book, now);

    // Only coins that could go to an issuer need the coin index.
    let candidates: Vec<usize> = (0..permissions.len())
        .filter(|i| verdicts[*i].is_ok() && routes[*i].is_ok())
        .collect();
    let candidate_keys: Vec<[u8; 64]> = candidates.iter().map(|i| coin_keys[*i]).collect();
    let mut credited = vec![false; permissions.len()];
    for (i, credit) in candidates
        .into_iter()
        .zip(deposits::coin_credits(&state.store, &candidate_keys)?)
    {
        credited[i] = credit.is_some();
    }

    let mut groups: Vec<(BankId, Vec<SignedDepositPermission>, Vec<Digest>)> = Vec::new();
    let mut group_of: HashMap<BankId, usize> = HashMap::new();
    let mut planned = Vec::with_capacity(permissions.len());
    for (i, permission) in permissions.into_iter().enumerate() {
        let refused = |code: &str| {
            Planned::Input(CoinInput::Settled(DepositResult::Refused {
                code: code.into(),
            }))
        };
        planned.push(match (&routes[i], &verdicts[i]) {
            (Err(refusal), _) => refused(refusal.code()),
            (_, Err(error)) => refused(error.code()),
            _ if credited[i] => Planned::Input(CoinInput::Known {
                digest: digests[i],
                coin: coin_keys[i],
            }),
            (Ok(issuer), Ok(())) => {
                let batch = *group_of.entry(*issuer).or_insert_with(|| {
                    groups.push((*issuer, Vec::new(), Vec::new()));
                    groups.len() - 1
                });
                let group = &mut groups[batch];
                group.1.push(permission);
                group.2.push(digests[i]);
                Planned::Issuer {
                    batch,
                    position: group.1.len() - 1,
                }
            }
        });
    }

    let mut planned = planned.into_iter();
    let deposits = kept
        .iter()
        .map(|deposit| {
            let body = deposit.request.body();
            PlannedDeposit {
                merchant: body.merchant,
                deposit_id: body.deposit_id,
                digest: deposit.digest,
                refund_deadline: body.refund_deadline,
                coins: planned.by_ref().take(body.permissions.len()).collect(),
            }
        })
        .collect();
    let spend = groups
        .into_iter()
        .map(|(issuer, permissions, digests)| {
            let body = SpendCheckBatch {
                acquirer: state.id,
                // Fresh per micro-batch and issuer; every retry of this check reuses it.
                batch_id: BatchId(rand::random()),
                permissions: BoundedVec::new(permissions).map_err(|e| {
                    AcquirerError::Config(format!("micro-batch over the spend-check bound: {e}"))
                })?,
            };
            Ok(IssuerBatch {
                issuer,
                batch: Signed::sign(body, state.bank_key()),
                digests,
            })
        })
        .collect::<Result<_, AcquirerError>>()?;
    Ok(Plan {
        answered,
        deposits,
        spend,
    })
}

/// Step 2: one spend check per issuer, concurrently, each retried on retryable failures with the
/// same signed batch, which the issuer answers idempotently.
async fn ask_issuers(
    state: &AcquirerState,
    issuers: &Arc<dyn IssuerGateway>,
    batches: &[IssuerBatch],
) -> Vec<Result<SpendCheckResponse, GatewayError>> {
    let config = state.config.spend_retry;
    let tasks: Vec<_> = batches
        .iter()
        .map(|b| {
            let issuers = issuers.clone();
            let (issuer, batch) = (b.issuer, b.batch.clone());
            actix::spawn(async move {
                retry(&config, "spend check", || {
                    issuers.spend_check(issuer, batch.clone())
                })
                .await
            })
        })
        .collect();
    let mut responses = Vec::with_capacity(tasks.len());
    for task in tasks {
        responses.push(task.await.unwrap_or_else(|error| {
            Err(GatewayError::retryable(
                "acquirer.task_failed",
                error.to_string(),
            ))
        }));
    }
    responses
}

/// Step 3, on the pool: checks each issuer's answer and turns the plan into the batch's write.
/// An answer that does not hold leaves its coins open, never credited.
fn resolve(
    state: &AcquirerState,
    plan: Plan,
    responses: Vec<Result<SpendCheckResponse, GatewayError>>,
) -> (RecordDeposits, Answers) {
    let mut confirmations = Vec::new();
    let verdicts: Vec<Result<Vec<CoinVerdict>, String>> = plan
        .spend
        .iter()
        .zip(responses)
        .map(|(batch, response)| {
            let body = batch.batch.body();
            let response = response.map_err(|error| {
                tracing::warn!(issuer = %batch.issuer, code = %error.code, %error, "spend check failed");
                if error.retryable {
                    "deposit.issuer_unavailable".to_owned()
                } else {
                    "deposit.issuer_refused".to_owned()
                }
            })?;
            let trusted = state
                .issuers
                .get(&batch.issuer)
                .ok_or_else(|| "acquirer.unknown_issuer".to_owned())?;
            let checked = check_answer(
                batch.issuer,
                state.id,
                &trusted.confirmation_key,
                body.batch_id,
                &body.permissions,
                &batch.digests,
                &response,
            );
            match checked {
                Ok(verdicts) => {
                    confirmations.extend(response.confirmation);
                    Ok(verdicts)
                }
                Err(error) => {
                    tracing::warn!(issuer = %batch.issuer, code = error.code(), "issuer answer refused");
                    Err(error.code().to_owned())
                }
            }
        })
        .collect();
    let book = state.denominations();
    let deposits = plan
        .deposits
        .into_iter()
        .map(|deposit| DepositInput {
            merchant: deposit.merchant,
            deposit_id: deposit.deposit_id,
            request_digest: deposit.digest,
            refund_deadline: deposit.refund_deadline,
            coins: deposit
                .coins
                .into_iter()
                .map(|coin| match coin {
                    Planned::Input(input) => input,
                    Planned::Issuer { batch, position } => {
                        coin_input(&plan.spend[batch], &verdicts[batch], position, &book)
                    }
                })
                .collect(),
        })
        .collect();
    let record = RecordDeposits {
        deposits,
        confirmations,
        at: state.clock.now(),
    };
    (record, plan.answered)
}

/// The deposit fee the acquirer keeps from `permission`'s coin, as its issuer's set says. The coin
/// was checked against the same book before it was sent, so its denomination is there; one
/// dropped by a refresh meanwhile charges nothing rather than holding the credit back.
fn deposit_fee(book: &DenominationBook, permission: &SignedDepositPermission) -> Amount {
    let body = permission.body();
    book.get(&body.coin.denomination)
        .map(|denomination| denomination.fees().deposit)
        .unwrap_or_else(|| Amount::zero(body.amount.currency()))
}

/// What the issuer's checked answer says about permission `position` of its batch.
fn coin_input(
    batch: &IssuerBatch,
    verdicts: &Result<Vec<CoinVerdict>, String>,
    position: usize,
    book: &DenominationBook,
) -> CoinInput {
    let body = batch.batch.body();
    let verdict = match verdicts {
        Ok(verdicts) => verdicts.get(position),
        Err(code) => {
            return CoinInput::Unresolved {
                code: bounded_code(code),
            };
        }
    };
    match (
        verdict,
        body.permissions.get(position),
        batch.digests.get(position),
    ) {
        (Some(CoinVerdict::Spent), Some(permission), Some(digest)) => CoinInput::Confirmed {
            batch_id: body.batch_id,
            digest: *digest,
            permission: Box::new(permission.clone()),
            fee: deposit_fee(book, permission),
        },
        (Some(CoinVerdict::Conflict(earlier)), _, _) => {
            CoinInput::Settled((**earlier).clone().into_result())
        }
        (Some(CoinVerdict::Refused(code)), _, _) => {
            CoinInput::Settled(DepositResult::Refused { code: code.clone() })
        }
        // Positions come from the plan, and the answer was checked to have one per permission.
        _ => CoinInput::Unresolved {
            code: "spend.wrong_count".into(),
        },
    }
}
