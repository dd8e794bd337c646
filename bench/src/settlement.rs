//! The settlement benchmarks' market: a clearing house, two acquirers and two issuers, their
//! keys, the submissions the acquirers send, and the checks on every receipt and report.
//!
//! A deposit is one coin an issuer confirmed: one entry of a confirmation. Each submission holds
//! [`SUBMISSION_DEPOSITS`] of them, in confirmations of [`CONFIRMATION_COINS`] coins alternately
//! from two issuers, signed with the issuer confirmation keys the clearing house is configured
//! with, so no RSA work is needed.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use rayon::prelude::*;
use semper_actors::clearing::ClearingConfig;
use semper_actors::clock::{Clock as _, SystemClock};
use semper_actors::retry::RetryConfig;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::bounded::BoundedVec;
use semper_protocol::clearing::Participant;
use semper_protocol::codec::{Decode, Encode};
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::ids::{BankId, BatchId, CoinId, DenominationId, Digest, SubmissionId};
use semper_protocol::messages::link::{LinkRequest, LinkResponse};
use semper_protocol::messages::receipt::{ClaimResult, SignedSubmissionReceipt};
use semper_protocol::messages::settlement::{
    SettlementSubmission, SignedSettlementReport, SignedSettlementSubmission,
};
use semper_protocol::messages::spend::{
    ConfirmedSpend, SignedSpendConfirmation, SpendConfirmation,
};
use semper_protocol::signed::Signed;
use semper_storage::CommitConfig;

/// Deposits in one submission.
pub const SUBMISSION_DEPOSITS: usize = 10_000;
/// Coins in one issuer confirmation: about one micro-batch's share of one issuer.
pub const CONFIRMATION_COINS: usize = 250;
/// Confirmations in one submission.
pub const SUBMISSION_CONFIRMATIONS: usize = SUBMISSION_DEPOSITS / CONFIRMATION_COINS;
/// Threads of each clearing house's pool.
pub const POOL_THREADS: usize = 2;
/// The clearing house.
pub const CLEARING: BankId = BankId([9; 16]);
/// The acquirers that submit.
pub const ACQUIRERS: [BankId; 2] = [BankId([11; 16]), BankId([12; 16])];
/// The issuers whose confirmations are submitted.
pub const ISSUERS: [BankId; 2] = [BankId([21; 16]), BankId([22; 16])];
/// What one coin of each issuer is worth, in euro cents, so each issuer's share of a report
/// shows.
const COIN_CENTS: [u64; 2] = [100, 200];

/// Every key of a run: the acquirers' bank keys and the issuers' confirmation keys.
pub struct Keys {
    /// The acquirers' bank keys, which sign submissions.
    pub acquirers: [SigningKey; 2],
    /// The issuers' confirmation keys, which sign confirmations.
    pub issuers: [SigningKey; 2],
}

impl Keys {
    /// Fresh keys for every bank.
    pub fn generate() -> Self {
        Self {
            acquirers: [(); 2].map(|_| SigningKey::generate(&mut rand::rng())),
            issuers: [(); 2].map(|_| SigningKey::generate(&mut rand::rng())),
        }
    }
}

/// A clearing house that knows both acquirers and both issuers, commits durably (the default
/// `CommitConfig`), and never cuts a cycle by itself during the run.
pub fn clearing_config(data_dir: &Path, keys: &Keys) -> ClearingConfig {
    let mut participants: Vec<Participant> = ACQUIRERS
        .iter()
        .zip(&keys.acquirers)
        .map(|(bank, key)| Participant {
            bank: *bank,
            acquirer_key: Some(*key.verifying_key()),
            issuer_key: None,
        })
        .collect();
    participants.extend(
        ISSUERS
            .iter()
            .zip(&keys.issuers)
            .map(|(bank, key)| Participant {
                bank: *bank,
                acquirer_key: None,
                issuer_key: Some(*key.verifying_key()),
            }),
    );
    ClearingConfig {
        id: CLEARING,
        data_dir: data_dir.to_path_buf(),
        store: None,
        commit: CommitConfig::default(),
        pool_threads: POOL_THREADS,
        mailbox_capacity: 64,
        in_flight_max: 64,
        participants,
        cycle_max_ms: u64::MAX,
        cycle_max_submissions: u64::MAX,
        cycle_check_ms: 1_000,
        delivery: RetryConfig {
            attempts_max: 1,
            backoff_initial_ms: 1,
            backoff_max_ms: 1,
        },
    }
}

/// `count` submissions, from the first `acquirers` of [`ACQUIRERS`] in turn; every coin is new.
pub fn submissions(
    keys: &Keys,
    count: usize,
    acquirers: usize,
) -> anyhow::Result<Vec<SignedSettlementSubmission>> {
    anyhow::ensure!((1..=ACQUIRERS.len()).contains(&acquirers));
    let coins: Vec<VerifyingKey> = (0..count * SUBMISSION_DEPOSITS)
        .into_par_iter()
        .map(|n| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(n as u64).to_be_bytes());
            *SigningKey::from_seed(&seed).verifying_key()
        })
        .collect();
    let eur = Currency::new("EUR")?;
    let now = SystemClock.now();
    let mut next_batch = 0u64;
    let mut out = Vec::with_capacity(count);
    for (s, coins) in coins.chunks(SUBMISSION_DEPOSITS).enumerate() {
        let acquirer = s % acquirers;
        let mut confirmations: Vec<SignedSpendConfirmation> =
            Vec::with_capacity(SUBMISSION_CONFIRMATIONS);
        for (c, coins) in coins.chunks(CONFIRMATION_COINS).enumerate() {
            let issuer = c % ISSUERS.len();
            next_batch += 1;
            let mut batch_id = [0u8; 16];
            batch_id[..8].copy_from_slice(&next_batch.to_be_bytes());
            let entries: Vec<ConfirmedSpend> = coins
                .iter()
                .map(|coin| ConfirmedSpend {
                    coin: CoinId::of(coin),
                    denomination: DenominationId([issuer as u8; 32]),
                    amount: Amount::from_minor_units(eur, COIN_CENTS[issuer]),
                    permission: Digest(*coin.as_bytes()),
                })
                .collect();
            let body = SpendConfirmation {
                issuer: ISSUERS[issuer],
                acquirer: ACQUIRERS[acquirer],
                batch_id: BatchId(batch_id),
                confirmed_at: now,
                entries: BoundedVec::new(entries)?,
            };
            confirmations.push(Signed::sign(body, &keys.issuers[issuer]));
        }
        let mut submission_id = [0u8; 16];
        submission_id[..8].copy_from_slice(&(s as u64).to_be_bytes());
        let body = SettlementSubmission {
            acquirer: ACQUIRERS[acquirer],
            submission_id: SubmissionId(submission_id),
            submitted_at: now,
            confirmations: BoundedVec::new(confirmations)?,
            refunds: BoundedVec::empty(),
        };
        out.push(Signed::sign(body, &keys.acquirers[acquirer]));
    }
    Ok(out)
}

/// The receipt in the clearing house's answer to a submission.
pub fn receipt_of(answer: &[u8]) -> anyhow::Result<SignedSubmissionReceipt> {
    match LinkResponse::from_bytes(answer)? {
        LinkResponse::Receipt(receipt) => Ok(*receipt),
        _ => anyhow::bail!("the clearing house answered a submission with something else"),
    }
}

/// The link request that carries `submission`, encoded.
pub fn submit_request(submission: &SignedSettlementSubmission) -> Vec<u8> {
    LinkRequest::Submit(Box::new(submission.clone())).to_bytes()
}

/// Each receipt must be the clearing house's, for its submission, with every confirmation
/// claimed.
pub fn check_receipts(
    receipts: &[SignedSubmissionReceipt],
    submissions: &[SignedSettlementSubmission],
    clearing_key: &VerifyingKey,
) -> anyhow::Result<()> {
    anyhow::ensure!(receipts.len() == submissions.len());
    for (receipt, submission) in receipts.iter().zip(submissions) {
        receipt.verify(clearing_key)?;
        let body = receipt.body();
        anyhow::ensure!(body.submission_id == submission.body().submission_id);
        anyhow::ensure!(
            body.claims.len() == SUBMISSION_CONFIRMATIONS
                && body.claims.iter().all(|c| *c == ClaimResult::Claimed),
            "every confirmation of a submission must be claimed"
        );
    }
    Ok(())
}

/// The cycle's report must owe, per issuer and acquirer, exactly the coins submitted, and list
/// every confirmation.
pub fn check_report(
    report: &SignedSettlementReport,
    submissions: &[SignedSettlementSubmission],
) -> anyhow::Result<()> {
    let mut expected: HashMap<(BankId, BankId), (u64, usize)> = HashMap::new();
    for submission in submissions {
        for confirmation in submission.body().confirmations.iter() {
            let body = confirmation.body();
            let total = confirmation
                .total()?
                .context("a confirmation confirms coins")?;
            let (sum, count) = expected.entry((body.issuer, body.acquirer)).or_default();
            *sum += total.minor_units();
            *count += 1;
        }
    }
    let obligations = &report.body().fields().obligations;
    anyhow::ensure!(obligations.len() == expected.len());
    for obligation in obligations.iter() {
        anyhow::ensure!(
            expected.get(&(obligation.issuer, obligation.acquirer))
                == Some(&(
                    obligation.amount.minor_units(),
                    obligation.confirmations.len()
                )),
            "an obligation differs from the deposits submitted"
        );
    }
    Ok(())
}
