//! `bench-issuer`: the issuer's end-to-end throughput against its references, in one run.
//!
//! - Withdraw, 64 coins a request, on a 2-thread pool, against raw OpenSSL RSA-2048 signing on 2
//!   threads. Blinded coins are random values below the modulus: to the issuer they are exactly
//!   what a wallet sends, and making them does not slow the run.
//! - Spend check, 256 coins a batch, on the same pool, against `BatchVerifier` alone on the same
//!   coins. Every batch's coins are new, so each one goes through the spent set and an fsync.
//!
//! Every request's answer is checked; the run fails loudly if any is wrong.
//!
//! `SEMPER_BENCH_SPENT_SHARDS=N` (N ≥ 2) splits the spent set over N shard groups, each a
//! RocksDB directory of its own on the same disk; unset, it stays in the issuer's store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng as _;
use rayon::prelude::*;
use semper_actors::clock::{Clock as _, SystemClock};
use semper_actors::issuer::{
    DenominationSchedule, IssuerConfig, IssuerHandle, IssuerState, SpentShardsConfig,
};
use semper_bench::in_flight::in_flight;
use semper_bench::reference::ReferenceKey;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::batch_verifier::BatchVerifier;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::crypto::blind_rsa::{BlindedMessage, RsaKeySize};
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::{AccountId, BankId, BatchId, ContractHash, MerchantId, RequestId};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::spend::{SpendCheckBatch, SpendResult};
use semper_protocol::messages::withdraw::{BlindedCoin, WithdrawRequest};
use semper_protocol::signed::Signed;
use semper_protocol::wallet;
use semper_storage::{CommitConfig, Location};

const THREADS: usize = 2;
const WITHDRAW_COINS: usize = 64;
const WITHDRAW_REQUESTS: usize = 240;
const SPEND_BATCH_COINS: usize = 256;
const SPEND_BATCHES: usize = 192;
/// Each measure alternates with its reference in rounds of this many requests, so that both see
/// the same machine: on a shared 2-core VM the load drifts within seconds.
const ROUND_REQUESTS: usize = 8;
/// Spend-check batches per round. Each round ends by draining the pipeline (the last batches'
/// fsyncs with nothing to overlap), which a steady stream of acquirer batches never does; a
/// round of 24 batches (about a third of a second) keeps that artefact near 2 %, and rounds are
/// still short against the machine's drift.
const SPEND_ROUND_BATCHES: usize = 24;
/// Requests kept in flight, so that fsyncs overlap with crypto.
const CONCURRENCY: usize = 4;
const ISSUER: BankId = BankId([1; 16]);
const ACQUIRER: BankId = BankId([2; 16]);

fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("semper-bench-issuer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let result = actix::System::new().block_on(run(dir.clone()));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(dir: std::path::PathBuf) -> anyhow::Result<()> {
    let acquirer_key = SigningKey::generate(&mut rand::rng());
    let account_key = SigningKey::generate(&mut rand::rng());
    let eur = |text: &str| -> Amount { format!("EUR:{text}").parse().expect("amount") };
    let config = IssuerConfig {
        id: ISSUER,
        data_dir: dir.clone(),
        store: None,
        signer: semper_actors::issuer::config::SignerChoice::InProcess(Default::default()),
        master: Default::default(),
        commit: CommitConfig::default(),
        pool_threads: THREADS,
        mailbox_capacity: 256,
        in_flight_max: 64,
        schedule: DenominationSchedule {
            values: vec![eur("1.00")],
            fees: Vec::new(),
            key_size: RsaKeySize::Bits2048,
            withdraw_period_ms: 86_400_000,
            deposit_grace_ms: 86_400_000,
            retention_ms: 86_400_000,
            lookahead_ms: 3_600_000,
            rotation_check_ms: 3_600_000,
        },
        acquirers: vec![(ACQUIRER, *acquirer_key.verifying_key())],
        clearing: None,
        spent_shards: spent_shards(&dir)?,
    };
    let issuer = IssuerHandle::start(IssuerState::open(&config, Arc::new(SystemClock))?, 256);
    let account = AccountId([7; 16]);
    issuer
        .open_account(account, *account_key.verifying_key(), Currency::new("EUR")?)
        .await?;
    issuer
        .credit(account, "bench".into(), eur("100000000.00"))
        .await?;
    let denomination: Denomination = issuer
        .denomination_set()
        .unwrap()
        .body()
        .fields()
        .denominations[0]
        .clone();

    // Withdraw, in rounds alternating with the reference.
    let reference = ReferenceKey::generate()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()?;
    let requests: Vec<_> = (0..WITHDRAW_REQUESTS)
        .map(|i| withdraw_request(&account_key, account, i, &denomination))
        .collect();
    let (mut reference_time, mut withdraw_time) = (Duration::ZERO, Duration::ZERO);
    for round in requests.chunks(ROUND_REQUESTS) {
        let started = Instant::now();
        pool.install(|| {
            (0..round.len() * WITHDRAW_COINS)
                .into_par_iter()
                .map(|_| {
                    reference
                        .sign(b"reference message of about a coin's size, eighty bytes long....")
                        .map(|s| s.len())
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        reference_time += started.elapsed();
        let started = Instant::now();
        let answers = in_flight(
            CONCURRENCY,
            round.iter().cloned().map(|r| {
                let issuer = issuer.clone();
                async move { issuer.withdraw(r).await }
            }),
        )
        .await?;
        withdraw_time += started.elapsed();
        anyhow::ensure!(
            answers
                .iter()
                .all(|a| a.blind_signatures.len() == WITHDRAW_COINS)
        );
    }
    let coins = (WITHDRAW_REQUESTS * WITHDRAW_COINS) as f64;
    let reference_sign = coins / reference_time.as_secs_f64();
    let withdraw_rate = coins / withdraw_time.as_secs_f64();

    // Spend check, in rounds alternating with `BatchVerifier` alone on the same coins.
    let batches =
        spend_batches(&issuer, &account_key, account, &denomination, &acquirer_key).await?;
    let verifier = BatchVerifier::new(THREADS)?;
    let book = issuer.state().denominations().book.clone();
    let (mut verifier_time, mut spend_time) = (Duration::ZERO, Duration::ZERO);
    for round in batches.chunks(SPEND_ROUND_BATCHES) {
        let started = Instant::now();
        for batch in round {
            let verdicts = verifier.verify(&batch.body().permissions, &book);
            anyhow::ensure!(
                verdicts.iter().all(Result::is_ok),
                "the reference must verify real coins"
            );
        }
        verifier_time += started.elapsed();
        let started = Instant::now();
        let answers = in_flight(
            CONCURRENCY,
            round.iter().cloned().map(|b| {
                let issuer = issuer.clone();
                async move { issuer.spend_check(b).await }
            }),
        )
        .await?;
        spend_time += started.elapsed();
        for answer in &answers {
            anyhow::ensure!(answer.results.iter().all(|r| *r == SpendResult::Accepted));
            anyhow::ensure!(
                answer.confirmation.as_ref().map(|c| c.body().entries.len())
                    == Some(SPEND_BATCH_COINS)
            );
        }
    }
    let coins = (SPEND_BATCHES * SPEND_BATCH_COINS) as f64;
    let verifier_rate = coins / verifier_time.as_secs_f64();
    let spend_rate = coins / spend_time.as_secs_f64();

    println!("issuer throughput, {THREADS} pool threads, {CONCURRENCY} requests in flight");
    println!("{:<58} {:>12}", "measure", "rate (/s)");
    println!(
        "{:<58} {:>12.0}",
        "reference: OpenSSL RSA-2048 PKCS#1 sign, 2 threads", reference_sign
    );
    println!(
        "{:<58} {:>12.0}",
        "issuer withdraw, 64 coins a request, coins", withdraw_rate
    );
    println!(
        "{:<58} {:>12.0}",
        "reference: BatchVerifier alone, 256-coin batches, coins", verifier_rate
    );
    println!(
        "{:<58} {:>12.0}",
        "issuer spend check, 256-coin batches, coins", spend_rate
    );
    println!();
    println!("{:<58} {:>6} {:>8}", "ratio", "value", "target");
    println!(
        "{:<58} {:>6.2} {:>8}",
        "withdraw / OpenSSL sign (2 threads)",
        withdraw_rate / reference_sign,
        ">= 0.85"
    );
    println!(
        "{:<58} {:>6.2} {:>8}",
        "spend check / BatchVerifier alone",
        spend_rate / verifier_rate,
        ">= 0.80"
    );
    Ok(())
}

/// A signed withdraw request of [`WITHDRAW_COINS`] coins whose blinded messages are random
/// values below the modulus.
fn withdraw_request(
    key: &SigningKey,
    account: AccountId,
    index: usize,
    denomination: &Denomination,
) -> Signed<WithdrawRequest> {
    let mut rng = rand::rng();
    let bytes = denomination.public_key().modulus_bytes();
    let coins: Vec<BlindedCoin> = (0..WITHDRAW_COINS)
        .map(|_| {
            let mut blinded = vec![0u8; bytes];
            rng.fill_bytes(&mut blinded[1..]);
            BlindedCoin {
                denomination: denomination.id(),
                blinded: BlindedMessage(blinded),
            }
        })
        .collect();
    let mut request_id = [0u8; 16];
    request_id[..8].copy_from_slice(&(index as u64).to_be_bytes());
    let body = WithdrawRequest {
        account,
        request_id: RequestId(request_id),
        coins: BoundedVec::new(coins).expect("64 coins fit a request"),
    };
    Signed::sign(body, key)
}

/// Real coins, withdrawn from the issuer and paid, in signed batches of [`SPEND_BATCH_COINS`].
async fn spend_batches(
    issuer: &IssuerHandle,
    account_key: &SigningKey,
    account: AccountId,
    denomination: &Denomination,
    acquirer_key: &SigningKey,
) -> anyhow::Result<Vec<Signed<SpendCheckBatch>>> {
    let mut batches = Vec::new();
    for b in 0..SPEND_BATCHES {
        let mut permissions: Vec<SignedDepositPermission> = Vec::new();
        for r in 0..SPEND_BATCH_COINS / WITHDRAW_COINS {
            let mut id = [0xffu8; 16];
            id[..8].copy_from_slice(&((b * 16 + r) as u64).to_be_bytes());
            let request_id = RequestId(id);
            let wanted = vec![denomination.clone(); WITHDRAW_COINS];
            let (request, planned) = wallet::prepare_withdraw(
                &mut rand::rng(),
                account_key,
                account,
                request_id,
                &wanted,
            )?;
            let response = issuer.withdraw(request).await?;
            for coin in wallet::finalize_coins(request_id, planned, &response)? {
                // Signed now, by the issuer's own clock: a permission's timestamp must fall in
                // its denomination's validity (the issuer checks it), which the epoch does not.
                let now = SystemClock.now();
                permissions.push(wallet::sign_deposit_permission(
                    &coin,
                    ContractHash([1; 32]),
                    MerchantId([1; 16]),
                    ACQUIRER,
                    now,
                ));
            }
        }
        let mut batch_id = [0u8; 16];
        batch_id[0] = b as u8;
        let body = SpendCheckBatch {
            acquirer: ACQUIRER,
            batch_id: BatchId(batch_id),
            permissions: BoundedVec::new(permissions).expect("256 coins fit a batch"),
        };
        batches.push(Signed::sign(body, acquirer_key));
    }
    Ok(batches)
}

/// The spent set's groups from `SEMPER_BENCH_SPENT_SHARDS`: N RocksDB directories under `dir`.
fn spent_shards(dir: &std::path::Path) -> anyhow::Result<SpentShardsConfig> {
    let groups = match std::env::var("SEMPER_BENCH_SPENT_SHARDS") {
        Ok(text) => text.parse::<usize>()?,
        Err(_) => 0,
    };
    println!("spent set: {groups} shard groups (0: the issuer's own store)");
    Ok(SpentShardsConfig {
        groups: (0..groups)
            .map(|g| Location::Rocks(dir.join(format!("shard{g}"))))
            .collect(),
        buckets: Vec::new(),
    })
}
