//! The operations of the load and what each checks: a wallet withdraws; a wallet pays a merchant,
//! who deposits at its acquirer; a double spend (a spent coin again, or one coin at two acquirers
//! at once) must be refused with proof; a replayed request must get its first answer; a merchant
//! refunds a coin it was paid with, whole or in part, and a refund over what the coin paid or
//! after the contract's deadline must be refused; a wallet swaps coins for change, or a refunded
//! coin for fresh ones, and a swapped coin spent again must be refused with the swap as proof.
//!
//! A new operation plugs in the same way: a kind in [`OpKind`], a share in
//! [`Mix`], its steps in a file of `worker/`, what it did in the [`ClientBooks`], and its checks
//! in `invariants/`.
//!
//! A [`Worker`] owns its wallets (so their coins need no lock) and its connections; what the
//! invariants need is written to the shared [`ClientBooks`].

use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use semper_protocol::amount::{Amount, Currency};
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::{AccountId, BankId};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::WalletCoin;

use crate::invariants::{ClientBooks, WalletBook};
use crate::target::Targets;
use semper_client::ApiError;
use semper_client::parties::{Merchant, PartyError, Wallet};

mod stock;
mod worker;

pub use stock::{Ready, Stock, finalize_deferred};
pub use worker::{Recoupable, Worker, fresh_inputs};

/// Attempts of one request that the server answered "busy", "timeout" or not at all, first
/// included; each waits the server's Retry-After (at most [`RETRY_WAIT_MAX`]).
pub const RETRY_ATTEMPTS_MAX: u32 = 8;
/// How [`Retries::by_code`] marks the code of a 503 answered without a Retry-After header.
pub const NO_RETRY_AFTER: &str = "(503 without Retry-After)";
/// Longest wait before a retry.
pub const RETRY_WAIT_MAX: Duration = Duration::from_secs(1);
/// Spent coins a wallet keeps to try again as double spends.
pub const SPENT_KEPT_MAX: usize = 32;
/// Withdrawals a wallet's funding (and each top-up) pays for, by default.
pub const FUNDING_WITHDRAWALS: u64 = 1000;
/// Most coins in one request (the protocol's bound on a deposit).
pub const COINS_PER_REQUEST_MAX: usize = 256;

/// An operation of the load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// A wallet withdraws coins.
    Withdraw,
    /// A wallet pays a merchant, who deposits the coins.
    Pay,
    /// A double-spend attempt, refused with proof.
    DoubleSpend,
    /// A withdrawal or deposit sent again, identically.
    Replay,
    /// A merchant refunds a coin it was paid with: whole, in part, again (a retry), over what
    /// it paid, or after its contract's deadline.
    Refund,
    /// A wallet swaps coins for change, or a refunded coin for fresh ones; sends its last swap
    /// again; or spends a coin it gave in, which must be refused with the swap as proof.
    Swap,
    /// A wallet recoups a coin of a revoked denomination; sends its last recoup again; or
    /// deposits a coin it recouped, which must be refused.
    Recoup,
    /// A settlement pass: flush every acquirer's outbox and cut the cycle.
    Settle,
}

impl OpKind {
    /// How many kinds.
    pub const COUNT: usize = 8;
    /// Every kind, in index order.
    pub const ALL: [OpKind; Self::COUNT] = [
        Self::Withdraw,
        Self::Pay,
        Self::DoubleSpend,
        Self::Replay,
        Self::Refund,
        Self::Swap,
        Self::Recoup,
        Self::Settle,
    ];

    /// Its index in [`OpKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Withdraw => "withdraw",
            Self::Pay => "pay",
            Self::DoubleSpend => "double_spend",
            Self::Replay => "replay",
            Self::Refund => "refund",
            Self::Swap => "swap",
            Self::Recoup => "recoup",
            Self::Settle => "settle",
        }
    }
}

/// The share of each operation; payments take what is left.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Mix {
    /// Share of withdrawals, 0..=1.
    pub withdraw: f64,
    /// Share of double-spend attempts.
    pub double_spend: f64,
    /// Share of replayed requests.
    pub replay: f64,
    /// Share of refunds.
    pub refund: f64,
    /// Share of swaps.
    pub swap: f64,
    /// Share of recoups (run only where the load holds an issuer's master key to revoke with).
    pub recoup: f64,
}

impl Mix {
    /// Checks the shares are in 0..=1 and leave room for payments.
    pub fn validate(&self) -> Result<(), String> {
        let shares = [
            self.withdraw,
            self.double_spend,
            self.replay,
            self.refund,
            self.swap,
            self.recoup,
        ];
        if shares.iter().any(|s| !(0.0..=1.0).contains(s)) {
            return Err(format!("each share must be in 0..=1: {self:?}"));
        }
        if shares.iter().sum::<f64>() > 1.0 + 1e-9 {
            return Err(format!("shares sum to more than 1: {self:?}"));
        }
        Ok(())
    }

    /// The operation a uniform `draw` in [0, 1) picks.
    pub fn choose(&self, draw: f64) -> OpKind {
        let mut edge = self.withdraw;
        if draw < edge {
            return OpKind::Withdraw;
        }
        edge += self.double_spend;
        if draw < edge {
            return OpKind::DoubleSpend;
        }
        edge += self.replay;
        if draw < edge {
            return OpKind::Replay;
        }
        edge += self.refund;
        if draw < edge {
            return OpKind::Refund;
        }
        edge += self.swap;
        if draw < edge {
            return OpKind::Swap;
        }
        edge += self.recoup;
        if draw < edge {
            return OpKind::Recoup;
        }
        OpKind::Pay
    }
}

/// The shape of the load.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Workload {
    /// Simulated wallets (at least one per worker).
    pub wallets: usize,
    /// Simulated merchants.
    pub merchants: usize,
    /// Coins in one payment.
    pub coins_per_payment: usize,
    /// Coins in one withdrawal.
    pub coins_per_withdraw: usize,
    /// Withdrawals a wallet's funding, and each top-up once it ran dry, pays for
    /// ([`FUNDING_WITHDRAWALS`] by default).
    pub funding_withdrawals: u64,
    /// The operation mix.
    pub mix: Mix,
    /// Work each wallet makes ready before the timed phase.
    pub stock: Stock,
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// A party's step failed.
    #[error(transparent)]
    Party(#[from] PartyError),
    /// The API failed.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl OpError {
    /// A short stable name for counting: the API's code, or the kind of failure.
    pub fn code(&self) -> String {
        match self {
            Self::Api(error) | Self::Party(PartyError::Api(error)) => match error {
                ApiError::Refused { code, .. } => code.clone(),
                ApiError::Http(_) => "http.io".into(),
                ApiError::Unexpected { .. } => "http.unexpected".into(),
            },
            Self::Party(PartyError::Wallet(error)) => error.code().into(),
            Self::Party(PartyError::TooManyCoins(_)) => "deposit.too_many_coins".into(),
            Self::Party(PartyError::DepositAnswer(error)) => error.code().into(),
            Self::Party(PartyError::Registration(_)) => "merchant.registration".into(),
        }
    }
}

/// A merchant and the index of its acquirer in [`Targets::acquirers`].
pub struct MerchantSlot {
    /// The merchant.
    pub merchant: Merchant,
    /// Its acquirer's index.
    pub acquirer: usize,
}

/// What every worker shares.
pub struct Shared {
    /// The deployment.
    pub targets: Targets,
    /// The load's shape.
    pub workload: Workload,
    /// The merchants.
    pub merchants: Vec<MerchantSlot>,
    /// What the parties saw, for the invariants.
    pub books: Mutex<ClientBooks>,
    /// Retries of busy or unanswered requests.
    pub retries: Retries,
    /// Failed operations by code.
    pub failures: Mutex<std::collections::BTreeMap<String, u64>>,
    /// Whether answers lost to an outage are expected (see `LoadConfig::tolerate_outages`).
    pub tolerate_outages: bool,
    /// Per issuer (as in [`Targets::issuers`]), the denominations a swap asks for: withdrawable
    /// and not revoked when the run began; their fees are those of the coins a swap gives out.
    pub issuer_denominations: Vec<Vec<Denomination>>,
}

impl Shared {
    fn books(&self) -> std::sync::MutexGuard<'_, ClientBooks> {
        // A worker that panicked holding the lock left the books as they were; keep going.
        self.books.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a failed operation.
    pub fn count_failure(&self, code: String) {
        *self
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(code)
            .or_default() += 1;
    }
}

/// A wallet, its coins and its books.
pub struct WalletSlot {
    /// The wallet.
    pub wallet: Wallet,
    /// Its issuer's index in [`Targets::issuers`].
    pub issuer: usize,
    /// Its issuer's bank.
    pub issuer_bank: BankId,
    /// The denomination it withdraws.
    pub denomination: Denomination,
    /// Coins not yet spent.
    pub pouch: Vec<WalletCoin>,
    /// Coins spent and accepted, with the permission they were accepted under.
    pub spent: VecDeque<(WalletCoin, SignedDepositPermission)>,
    /// Credited, minor units.
    pub credited_minor: u64,
    /// Withdrawn, minor units: the coins' values.
    pub withdrawn_minor: u64,
    /// Withdraw fees debited on top of the coins' values, minor units.
    pub withdraw_fees_minor: u64,
    /// Coins withdrawn.
    pub withdrawn_coins: u64,
    /// Top-ups asked for, the one unanswered included.
    pub top_ups: u64,
    /// Whether the last top-up got no answer (it may have credited the account, or not): it is
    /// asked again, under the same reference, before anything else.
    pub top_up_unanswered: bool,
    /// Work made ready before the timed phase, and withdrawals to finalize after it.
    pub ready: Ready,
    /// Coins of a denomination its issuer revoked, withdrawn before the run, to recoup.
    pub recoupable: Vec<worker::Recoupable>,
    /// Credited back by recoups, minor units.
    pub recouped_minor: u64,
}

impl WalletSlot {
    /// Its entry in the books.
    pub fn book(&self) -> WalletBook {
        WalletBook {
            account: self.wallet.account.to_string(),
            issuer: self.issuer_bank.to_string(),
            currency: self.currency().code().to_owned(),
            credited_minor: self.credited_minor,
            withdrawn_minor: self.withdrawn_minor,
            withdraw_fees_minor: self.withdraw_fees_minor,
            withdrawn_coins: self.withdrawn_coins,
            recouped_minor: self.recouped_minor,
        }
    }

    fn currency(&self) -> Currency {
        self.denomination.value().currency()
    }

    /// What one of its top-ups credits.
    pub fn top_up_amount(&self, workload: &Workload) -> u64 {
        Self::funding(&self.denomination, workload).minor_units()
    }

    /// Credits the account another funding at its issuer (`api`, the operator's): the top-up
    /// left unanswered if there is one, under the same reference (a credit seen twice credits
    /// once), else a new one. The books count it once answered.
    pub fn top_up(
        &mut self,
        api: &mut semper_client::Api,
        retries: &Retries,
        workload: &Workload,
    ) -> Result<(), ApiError> {
        if !self.top_up_unanswered {
            self.top_ups += 1;
            self.top_up_unanswered = true;
        }
        let amount = Self::funding(&self.denomination, workload);
        let reference = top_up_reference(self.wallet.account, self.top_ups);
        let account = self.wallet.account;
        with_retries(retries, || api.credit(account, &reference, amount))?;
        self.top_up_unanswered = false;
        self.credited_minor += amount.minor_units();
        Ok(())
    }

    /// What one top-up (and the first funding) credits: the workload's funding withdrawals, each
    /// coin's value and its withdraw fee.
    pub fn funding(denomination: &Denomination, workload: &Workload) -> Amount {
        let value = denomination.value();
        Amount::from_minor_units(
            value.currency(),
            value
                .minor_units()
                .saturating_add(denomination.fees().withdraw.minor_units())
                .saturating_mul(workload.coins_per_withdraw as u64)
                .saturating_mul(workload.funding_withdrawals),
        )
    }
}

/// Requests sent again, in all and by the reason, and how many attempts a request gets.
#[derive(Debug)]
pub struct Retries {
    total: std::sync::Arc<AtomicU64>,
    by_code: Mutex<BTreeMap<String, u64>>,
    attempts_max: u32,
}

impl Default for Retries {
    fn default() -> Self {
        Self::new(RETRY_ATTEMPTS_MAX)
    }
}

impl Retries {
    /// No retries yet; each request gets at most `attempts_max` attempts (at least one).
    pub fn new(attempts_max: u32) -> Self {
        Self {
            total: Default::default(),
            by_code: Mutex::new(BTreeMap::new()),
            attempts_max: attempts_max.max(1),
        }
    }

    /// Counts a retry after `error`.
    pub fn count(&self, error: &ApiError) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let code = match error {
            // A 503 must say when to come back: one that does not is counted apart.
            ApiError::Refused {
                status: 503,
                code,
                retry_after_s: None,
                ..
            } => format!("{code} {NO_RETRY_AFTER}"),
            ApiError::Refused { code, .. } => code.clone(),
            ApiError::Http(_) => "http.io".into(),
            ApiError::Unexpected { .. } => "http.unexpected".into(),
        };
        *self
            .by_code
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(code)
            .or_default() += 1;
    }

    /// Retries so far.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// The counter behind [`Retries::total`], to be read while the run goes on.
    pub(crate) fn total_counter(&self) -> std::sync::Arc<AtomicU64> {
        self.total.clone()
    }

    /// Retries so far by the code of the answer retried.
    pub fn by_code(&self) -> BTreeMap<String, u64> {
        self.by_code
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Whether a failed request may be sent again as it is: the server was busy, timed out, or did
/// not answer, the coin is in another deposit under way, or the server said when to come back
/// (`Retry-After`: e.g. a 502 of an acquirer whose clearing house is failing over).
pub(crate) fn retryable(error: &ApiError) -> bool {
    match error {
        ApiError::Http(_) => true,
        ApiError::Refused {
            status,
            code,
            retry_after_s,
            ..
        } => {
            matches!(status, 408 | 503)
                || retry_after_s.is_some()
                || code == "deposit.coin_in_flight"
        }
        ApiError::Unexpected { .. } => false,
    }
}

/// Whether a failure with `code` (see [`OpError::code`]) is only the deployment being down or
/// just restarted: no answer, a coin still held by a deposit the crash interrupted, or the
/// database out of reach while its cluster fails over (a retry with the same request mends it).
pub fn outage(code: &str) -> bool {
    matches!(
        code,
        "http.io" | "deposit.coin_in_flight" | "storage.unavailable"
    )
}

/// Whether a request that failed so may have taken effect, its answer lost.
pub(crate) fn ambiguous(error: &ApiError) -> bool {
    match error {
        ApiError::Http(_) | ApiError::Unexpected { .. } => true,
        ApiError::Refused { status, .. } => matches!(status, 408 | 500..),
    }
}

/// Calls `call` until it answers, or fails in a way a retry does not mend, or the attempts
/// `retries` allows ([`RETRY_ATTEMPTS_MAX`] by default) were made.
pub fn with_retries<T>(
    retries: &Retries,
    mut call: impl FnMut() -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut wait = Duration::from_millis(10);
    let mut attempt = 1;
    loop {
        match call() {
            Err(error) if retryable(&error) && attempt < retries.attempts_max => {
                // A coin in another deposit under way is answered within milliseconds, so it
                // is asked again sooner than the Retry-After of an overloaded server.
                let hinted = match &error {
                    ApiError::Refused { code, .. } if code == "deposit.coin_in_flight" => wait,
                    ApiError::Refused {
                        retry_after_s: Some(s),
                        ..
                    } => Duration::from_secs(*s),
                    _ => wait,
                };
                std::thread::sleep(hinted.min(RETRY_WAIT_MAX));
                wait = (wait * 2).min(RETRY_WAIT_MAX);
                attempt += 1;
                retries.count(&error);
            }
            other => return other,
        }
    }
}

/// The reference of wallet `account`'s `n`th top-up: unique per issuer (the account id is drawn
/// at random for the run, the count rises), the same for each retry of one top-up (a credit
/// seen twice credits once), and at most 60 bytes, within the API's 64 (`CreditRequest`).
pub fn top_up_reference(account: AccountId, n: u64) -> String {
    format!("top-up-{account}-{n}")
}

/// Now, as the protocol's timestamps read it.
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Timestamp::from_unix_ms(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The soak refused every top-up `credit.bad_reference` (13,376 withdrawals failed once the
    /// funded coins were spent): its reference was 70 bytes, over the API's bound.
    #[test]
    fn a_top_up_reference_fits_the_apis_bound() {
        let openapi: serde_json::Value =
            serde_json::from_str(include_str!("../../server/openapi.json")).unwrap();
        let bound = &openapi["components"]["schemas"]["CreditRequest"]["properties"]["reference"];
        let max = bound["maxLength"].as_u64().unwrap() as usize;
        let longest = top_up_reference(AccountId([0xff; 16]), u64::MAX);
        assert!(longest.len() <= max, "{} bytes: {longest}", longest.len());
        assert_ne!(
            top_up_reference(AccountId([1; 16]), 1),
            top_up_reference(AccountId([1; 16]), 2)
        );
    }

    #[test]
    fn the_mix_picks_each_operation_by_its_share() {
        let mix = Mix {
            withdraw: 0.2,
            double_spend: 0.1,
            replay: 0.05,
            refund: 0.1,
            swap: 0.05,
            recoup: 0.01,
        };
        assert!(mix.validate().is_ok());
        assert_eq!(mix.choose(0.0), OpKind::Withdraw);
        assert_eq!(mix.choose(0.199), OpKind::Withdraw);
        assert_eq!(mix.choose(0.2), OpKind::DoubleSpend);
        assert_eq!(mix.choose(0.29), OpKind::DoubleSpend);
        assert_eq!(mix.choose(0.31), OpKind::Replay);
        assert_eq!(mix.choose(0.36), OpKind::Refund);
        assert_eq!(mix.choose(0.449), OpKind::Refund);
        assert_eq!(mix.choose(0.46), OpKind::Swap);
        assert_eq!(mix.choose(0.499), OpKind::Swap);
        assert_eq!(mix.choose(0.505), OpKind::Recoup);
        assert_eq!(mix.choose(0.511), OpKind::Pay);
        assert_eq!(mix.choose(0.999), OpKind::Pay);
        // Shares that binary fractions hold exactly, so the counts are exact.
        let mix = Mix {
            withdraw: 0.25,
            double_spend: 0.125,
            replay: 0.0625,
            refund: 0.125,
            swap: 0.0625,
            recoup: 0.0625,
        };
        let counts = (0..10_000).fold([0u32; OpKind::COUNT], |mut counts, i| {
            counts[mix.choose(i as f64 / 10_000.0).index()] += 1;
            counts
        });
        assert_eq!(counts, [2500, 3125, 1250, 625, 1250, 625, 625, 0]);
    }

    #[test]
    fn shares_out_of_range_are_refused() {
        let bad = |withdraw, double_spend, replay, refund| {
            Mix {
                withdraw,
                double_spend,
                replay,
                refund,
                swap: 0.0,
                recoup: 0.0,
            }
            .validate()
            .is_err()
        };
        assert!(bad(-0.1, 0.0, 0.0, 0.0));
        assert!(bad(0.6, 0.3, 0.2, 0.0));
        assert!(bad(0.6, 0.2, 0.0, 0.3));
        assert!(bad(0.0, 0.0, 0.0, 1.5));
        assert!(!bad(1.0, 0.0, 0.0, 0.0));
        assert!(!bad(0.5, 0.0, 0.0, 0.5));
        let swaps = |swap| {
            Mix {
                withdraw: 0.5,
                double_spend: 0.0,
                replay: 0.0,
                refund: 0.25,
                swap,
                recoup: 0.0,
            }
            .validate()
            .is_err()
        };
        assert!(swaps(0.3));
        assert!(swaps(-0.1));
        assert!(!swaps(0.25));
    }

    #[test]
    fn only_busy_timeout_lost_in_flight_or_retry_later_answers_are_retried() {
        let answered = |status: u16, code: &str, retry_after_s| ApiError::Refused {
            status,
            code: code.into(),
            message: String::new(),
            retry_after_s,
        };
        // The server sends Retry-After with every 503, and with any answer it marks retryable.
        let refused =
            |status: u16, code: &str| answered(status, code, (status == 503).then_some(0));
        assert!(retryable(&refused(503, "issuer.busy")));
        assert!(retryable(&refused(408, "request.timeout")));
        assert!(retryable(&refused(409, "deposit.coin_in_flight")));
        assert!(!retryable(&refused(409, "deposit.id_reused")));
        assert!(!retryable(&refused(400, "deposit.wrong_acquirer")));
        // The clearing house out of reach through the acquirer: 502, retry later.
        assert!(retryable(&answered(502, "acquirer.gateway", Some(1))));
        assert!(!retryable(&answered(502, "acquirer.gateway", None)));
        let retries = Retries::default();
        let mut calls = 0;
        let answer = with_retries(&retries, || {
            calls += 1;
            if calls < 3 {
                Err(refused(503, "issuer.busy"))
            } else {
                Ok(calls)
            }
        });
        assert_eq!(answer.unwrap(), 3);
        assert_eq!(retries.total(), 2);
        assert_eq!(retries.by_code(), [("issuer.busy".to_owned(), 2)].into());
        let mut calls = 0;
        let answer: Result<(), _> = with_retries(&retries, || {
            calls += 1;
            Err(refused(503, "issuer.busy"))
        });
        assert!(answer.is_err());
        assert_eq!(calls, RETRY_ATTEMPTS_MAX);
        let patient = Retries::new(3);
        let mut calls = 0;
        let answer: Result<(), _> = with_retries(&patient, || {
            calls += 1;
            Err(refused(503, "server.busy"))
        });
        assert!(answer.is_err());
        assert_eq!((calls, patient.total()), (3, 2));
        let unhinted = ApiError::Refused {
            status: 503,
            code: "server.busy".into(),
            message: String::new(),
            retry_after_s: None,
        };
        patient.count(&unhinted);
        let marked = format!("server.busy {NO_RETRY_AFTER}");
        assert_eq!(patient.by_code()[&marked], 1);
    }
}
