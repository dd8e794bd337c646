//! `bench-intake`: deposit intake at the acquirer against `BatchVerifier` alone, in one run.
//!
//! - Measure: merchants' deposits of 64 coins each through the real `AcquirerHandle`, 16 in
//!   flight: intake checks, micro-batches of up to 256 coins verified on its 2-thread pool, one
//!   spend-check batch per micro-batch to a real issuer in process, and one durable write that
//!   records the results and credits the merchants.
//! - Reference: `BatchVerifier` alone, 2 threads, on the same coins in 256-coin batches.
//!
//! The issuer runs in the same process, on the same 2 cores: its spend check verifies every coin
//! again, and fsyncs its spent set, so intake cannot reach the reference's rate here.
//!
//! The two alternate in rounds, in an order that swaps each round, because the load of a shared
//! 2-core VM drifts within seconds. Every deposit must come back with every coin accepted, and at
//! the end the merchants' balances must add up to the coins deposited.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use semper_actors::acquirer::{
    AcquirerConfig, AcquirerHandle, AcquirerState, TrustedClearing, TrustedIssuer,
};
use semper_actors::clock::{Clock as _, SystemClock};
use semper_actors::issuer::{DenominationSchedule, IssuerConfig, IssuerHandle, IssuerState};
use semper_actors::retry::RetryConfig;
use semper_bench::in_flight::in_flight;
use semper_bench::in_process::{InProcessIssuers, NoClearing};
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::batch_verifier::BatchVerifier;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::crypto::blind_rsa::RsaKeySize;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::{AccountId, BankId, ContractHash, MerchantId, RequestId};
use semper_protocol::limits::WITHDRAW_COINS_MAX;
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::merchant::{DepositRequest, DepositResult, SignedDepositRequest};
use semper_protocol::signed::Signed;
use semper_protocol::wallet::{self, WalletCoin};
use semper_storage::CommitConfig;

/// Threads of the acquirer's pool, of the issuer's, and of the reference verifier.
const THREADS: usize = 2;
/// Coins in each merchant's deposit.
const DEPOSIT_COINS: usize = 64;
/// Coins at which a micro-batch closes; the reference verifies batches of this size too.
const BATCH_MAX_COINS: usize = 256;
/// How long a micro-batch waits for more coins: short, as a merchant waits for its answer.
const BATCH_MAX_DELAY_MS: u64 = 5;
/// Merchants depositing, each with its own key.
const MERCHANTS: usize = 64;
/// Deposits in flight: enough to fill four micro-batches, so that one is verified while
/// another is at the issuer and a third is written.
const IN_FLIGHT: usize = 16;
/// Rounds; each runs the measure and the reference once.
const ROUNDS: usize = 8;
/// Deposits per round.
const ROUND_DEPOSITS: usize = 48;
const ISSUER: BankId = BankId([1; 16]);
const ACQUIRER: BankId = BankId([2; 16]);
const CLEARING: BankId = BankId([9; 16]);
const HOUR_MS: u64 = 3_600_000;

fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("semper-bench-intake-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let result = actix::System::new().block_on(run(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(dir: &Path) -> anyhow::Result<()> {
    let eur = Currency::new("EUR")?;
    let coin_value = Amount::from_minor_units(eur, 100);
    let acquirer_dir = dir.join("acquirer");
    let acquirer_key = AcquirerState::provision(&acquirer_dir)?;
    let issuer_config = IssuerConfig {
        id: ISSUER,
        data_dir: dir.join("issuer"),
        store: None,
        signer: semper_actors::issuer::config::SignerChoice::InProcess(Default::default()),
        master: Default::default(),
        commit: CommitConfig::default(),
        pool_threads: THREADS,
        mailbox_capacity: 256,
        in_flight_max: 256,
        schedule: DenominationSchedule {
            values: vec![coin_value],
            fees: Vec::new(),
            key_size: RsaKeySize::Bits2048,
            withdraw_period_ms: 24 * HOUR_MS,
            deposit_grace_ms: 24 * HOUR_MS,
            retention_ms: 24 * HOUR_MS,
            lookahead_ms: HOUR_MS,
            rotation_check_ms: HOUR_MS,
        },
        acquirers: vec![(ACQUIRER, acquirer_key)],
        clearing: None,
        spent_shards: Default::default(),
    };
    let clock = Arc::new(SystemClock);
    let issuer = IssuerHandle::start(IssuerState::open(&issuer_config, clock.clone())?, 256);
    let trusted = TrustedIssuer {
        id: ISSUER,
        master_key: issuer.state().public_keys.master,
        confirmation_key: issuer.state().public_keys.confirmation,
    };
    let retry = RetryConfig {
        attempts_max: 3,
        backoff_initial_ms: 1,
        backoff_max_ms: 5,
    };
    let config = AcquirerConfig {
        id: ACQUIRER,
        data_dir: acquirer_dir,
        store: None,
        commit: CommitConfig::default(),
        pool_threads: THREADS,
        mailbox_capacity: 256,
        in_flight_max: 256,
        batch_max_coins: BATCH_MAX_COINS,
        batch_max_delay_ms: BATCH_MAX_DELAY_MS,
        issuers: vec![trusted],
        spend_retry: retry,
        clearing: TrustedClearing {
            id: CLEARING,
            key: *SigningKey::from_seed(&[9; 32]).verifying_key(),
        },
        submission_max_confirmations: 16,
        // The outbox never runs: this benchmark stops at the merchants' credits.
        submit_interval_ms: 24 * HOUR_MS,
        submit_retry: retry,
    };
    let gateway = Arc::new(InProcessIssuers::new([(ISSUER, issuer.clone())]));
    let acquirer = AcquirerHandle::start(
        AcquirerState::open(&config, clock.clone())?,
        gateway.clone(),
        Arc::new(NoClearing),
    );
    anyhow::ensure!(acquirer.refresh_denominations().await? == 1);

    let merchants: Vec<(MerchantId, SigningKey)> = (0..MERCHANTS)
        .map(|m| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(m as u64).to_be_bytes());
            (MerchantId(id), SigningKey::generate(&mut rand::rng()))
        })
        .collect();
    for (id, key) in &merchants {
        acquirer
            .register_merchant(*id, *key.verifying_key())
            .await?;
    }
    let coins = withdraw(&issuer, ROUNDS * ROUND_DEPOSITS * DEPOSIT_COINS).await?;
    let now = clock.now();
    let deposits: Vec<SignedDepositRequest> = coins
        .chunks(DEPOSIT_COINS)
        .enumerate()
        .map(|(d, coins)| {
            let (merchant, key) = &merchants[d % MERCHANTS];
            let mut deposit_id = [0u8; 16];
            deposit_id[..8].copy_from_slice(&(d as u64).to_be_bytes());
            let mut contract = [0u8; 32];
            contract[..16].copy_from_slice(&deposit_id);
            let permissions: Vec<SignedDepositPermission> = coins
                .iter()
                .map(|coin| {
                    wallet::sign_deposit_permission(
                        coin,
                        ContractHash(contract),
                        *merchant,
                        ACQUIRER,
                        now,
                    )
                })
                .collect();
            let body = DepositRequest {
                merchant: *merchant,
                deposit_id: RequestId(deposit_id),
                permissions: BoundedVec::new(permissions).expect("64 coins fit a deposit"),
                refund_deadline: semper_protocol::time::Timestamp::from_unix_ms(u64::MAX),
            };
            Signed::sign(body, key)
        })
        .collect();

    let verifier = BatchVerifier::new(THREADS)?;
    let book = acquirer.state().denominations();
    let (mut reference_time, mut intake_time) = (Duration::ZERO, Duration::ZERO);
    for (round, requests) in deposits.chunks(ROUND_DEPOSITS).enumerate() {
        let permissions: Vec<SignedDepositPermission> = requests
            .iter()
            .flat_map(|r| r.body().permissions.iter().cloned())
            .collect();
        for step in 0..2 {
            if (round + step) % 2 == 0 {
                let started = Instant::now();
                let verdicts: Vec<_> = permissions
                    .chunks(BATCH_MAX_COINS)
                    .flat_map(|batch| verifier.verify(batch, &*book))
                    .collect();
                reference_time += started.elapsed();
                anyhow::ensure!(
                    verdicts.iter().all(Result::is_ok),
                    "the reference must verify real coins"
                );
            } else {
                let started = Instant::now();
                let answers = in_flight(
                    IN_FLIGHT,
                    requests.iter().cloned().map(|request| {
                        let acquirer = acquirer.clone();
                        async move { acquirer.deposit(request).await }
                    }),
                )
                .await?;
                intake_time += started.elapsed();
                for answer in &answers {
                    anyhow::ensure!(
                        answer.results.len() == DEPOSIT_COINS
                            && answer.results.iter().all(|r| *r == DepositResult::Accepted),
                        "every coin of every deposit must be accepted"
                    );
                }
            }
        }
    }

    let mut credited = Amount::zero(eur);
    for (id, _) in &merchants {
        credited = credited.checked_add(acquirer.merchant(*id).await?.balance(eur))?;
    }
    anyhow::ensure!(
        credited == coin_value.checked_mul(coins.len() as u64)?,
        "the merchants' balances must add up to the coins deposited"
    );

    let coins = coins.len() as f64;
    let reference_rate = coins / reference_time.as_secs_f64();
    let intake_rate = coins / intake_time.as_secs_f64();
    println!(
        "deposit intake, {DEPOSIT_COINS}-coin deposits from {MERCHANTS} merchants, {IN_FLIGHT} in flight, \
         micro-batches of {BATCH_MAX_COINS} coins or {BATCH_MAX_DELAY_MS} ms, {THREADS} pool threads, \
         {ROUNDS} rounds alternating:"
    );
    println!("| measure | coins/s |");
    println!("| --- | --- |");
    println!(
        "| reference: `BatchVerifier` alone, {BATCH_MAX_COINS}-coin batches, {THREADS} threads | {reference_rate:.0} |"
    );
    println!(
        "| acquirer intake: verify, spend check at the issuer in process, credit, durable | {intake_rate:.0} |"
    );
    println!();
    println!("| ratio | value | target |");
    println!("| --- | --- | --- |");
    println!(
        "| intake / `BatchVerifier` alone | {:.2} | - |",
        intake_rate / reference_rate
    );
    let (batches, batched) = gateway.spend_checks();
    println!();
    println!(
        "{batches} spend checks at the issuer, {:.0} coins each on average",
        batched as f64 / batches.max(1) as f64
    );
    Ok(())
}

/// `count` coins of the issuer's one denomination, withdrawn from a fresh funded account.
async fn withdraw(issuer: &IssuerHandle, count: usize) -> anyhow::Result<Vec<WalletCoin>> {
    let eur = Currency::new("EUR")?;
    let account_key = SigningKey::generate(&mut rand::rng());
    let account = AccountId([7; 16]);
    issuer
        .open_account(account, *account_key.verifying_key(), eur)
        .await?;
    issuer
        .credit(
            account,
            "bench".into(),
            Amount::from_minor_units(eur, 100 * count as u64),
        )
        .await?;
    let denomination = issuer
        .denomination_set()
        .unwrap()
        .body()
        .fields()
        .denominations[0]
        .clone();
    let mut coins = Vec::with_capacity(count);
    for r in 0..count.div_ceil(WITHDRAW_COINS_MAX) {
        let wanted = WITHDRAW_COINS_MAX.min(count - r * WITHDRAW_COINS_MAX);
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(r as u64).to_be_bytes());
        let request_id = RequestId(id);
        let (request, planned) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &account_key,
            account,
            request_id,
            &vec![denomination.clone(); wanted],
        )?;
        let response = issuer.withdraw(request).await?;
        coins.extend(wallet::finalize_coins(request_id, planned, &response)?);
    }
    Ok(coins)
}
