//! Refunds: a merchant gives back a coin it was paid with, for the coin's contract, whole or in
//! part (the rest later); sends a refund it was answered before again, which must get the same
//! answer and debit nothing more; asks for more than the coin has left, which must be refused
//! `refund.over_paid`; and refunds a coin paid under a contract whose deadline has passed, which
//! must be refused `refund.deadline_passed`. What each got is booked for the invariants.

use rand::RngExt;
use semper_protocol::amount::Amount;
use semper_protocol::ids::ContractHash;
use semper_protocol::messages::merchant::SignedDepositRequest;
use semper_protocol::messages::refund::{RefundResponse, SignedRefundRequest};
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::WalletCoin;

use super::{Worker, hex};
use crate::invariants::RefundBook;
use crate::workload::{OpError, ambiguous, now, outage, with_retries};
use semper_client::ApiError;
use semper_client::parties::PartyError;

/// Coins a worker keeps for its merchants to refund; the oldest goes when it is full.
pub const REFUNDABLE_KEPT_MAX: usize = 64;
/// Coins a worker keeps to refund after their contract's deadline.
pub const LATE_KEPT_MAX: usize = 16;
/// One payment in this many made during the run (when refunds are in the mix) is under a
/// contract whose refund deadline is [`SHORT_REFUND_WINDOW_MS`] away: its coins are refunded
/// after it.
pub const LATE_PAYMENT_ONE_IN: u32 = 8;
/// The refund window of those contracts, ms.
pub const SHORT_REFUND_WINDOW_MS: u64 = 200;
/// How long after such a deadline the late refund is sent, ms: room for the load's and the
/// acquirer's clocks to differ.
pub const LATE_MARGIN_MS: u64 = 300;
/// A contract whose deadline is nearer than this, ms, is refunded only as a late refund: an
/// honest refund of it could be judged after its deadline.
pub const HONEST_MARGIN_MS: u64 = 60_000;
/// The share of refund operations that send the last refund answered again.
pub const RETRY_SHARE: f64 = 0.15;
/// The share that ask for more than the coin has left.
pub const OVER_SHARE: f64 = 0.15;
/// The share that refund half of what the coin has left (the rest refund it all).
pub const PARTIAL_SHARE: f64 = 0.35;

/// The refusal of a refund over what the coin has left.
const OVER_PAID: &str = "refund.over_paid";
/// The refusal of a refund after its contract's deadline.
const DEADLINE_PASSED: &str = "refund.deadline_passed";

/// A coin a merchant of the load was paid with, and may refund.
pub(in crate::workload) struct Refundable {
    /// The wallet that paid with it, in the worker's wallets.
    wallet: usize,
    /// The merchant, in `Shared::merchants`.
    merchant: usize,
    /// Its acquirer, in `Targets::acquirers`.
    acquirer: usize,
    coin: WalletCoin,
    contract: ContractHash,
    deadline: Timestamp,
    /// Refunded so far, minor units.
    refunded_minor: u64,
    /// Refunds answered so far, each of which the issuer keeps the refund fee of.
    refunds: u64,
}

impl Refundable {
    fn paid_minor(&self) -> u64 {
        self.coin.value().minor_units()
    }
}

/// The last refund answered, to send again.
pub(in crate::workload) struct LastRefund {
    acquirer: usize,
    request: SignedRefundRequest,
    response: RefundResponse,
}

/// What a refund must be answered.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Debited, the coin's refunded total then this.
    Accept { total_minor: u64 },
    /// Refused with this code.
    Refuse(&'static str),
}

/// A refund whose answer never came: asked again at the end.
pub(in crate::workload) struct PendingRefund {
    coin: Refundable,
    request: SignedRefundRequest,
    expect: Expect,
    sent_ms: u64,
}

impl Worker<'_> {
    /// Whether a refund has a coin to work on.
    pub(super) fn can_refund(&self) -> bool {
        !self.refundable.is_empty() || self.late_due()
    }

    fn late_due(&self) -> bool {
        self.late.front().is_some_and(|coin| {
            now().unix_ms() > coin.deadline.unix_ms().saturating_add(LATE_MARGIN_MS)
        })
    }

    /// The deposit of `coins` paid to merchant `m` now, for a fresh contract: one in
    /// [`LATE_PAYMENT_ONE_IN`] with a short refund deadline when refunds are in the mix.
    pub(super) fn payment(
        &self,
        m: usize,
        coins: &[WalletCoin],
    ) -> Result<SignedDepositRequest, PartyError> {
        let merchant = &self.shared.merchants[m].merchant;
        let at = now();
        let contract = ContractHash(rand::random());
        if self.shared.workload.mix.refund > 0.0 && rand::rng().random_ratio(1, LATE_PAYMENT_ONE_IN)
        {
            merchant.deposit_until(coins, contract, at, at.plus_ms(SHORT_REFUND_WINDOW_MS))
        } else {
            merchant.deposit_of(coins, contract, at)
        }
    }

    /// Keeps coin `i` of `request`, accepted, for its merchant to refund (when refunds are in
    /// the mix): with the late ones when its contract's deadline is near.
    pub(super) fn keep_refundable(
        &mut self,
        wallet: usize,
        acquirer: usize,
        request: &SignedDepositRequest,
        i: usize,
        coin: &WalletCoin,
    ) {
        if self.shared.workload.mix.refund <= 0.0 {
            return;
        }
        let body = request.body();
        let Some(permission) = body.permissions.get(i) else {
            return;
        };
        let Some(merchant) =
            (self.shared.merchants.iter()).position(|m| m.merchant.id == body.merchant)
        else {
            return;
        };
        let kept = Refundable {
            wallet,
            merchant,
            acquirer,
            coin: coin.clone(),
            contract: permission.body().contract_hash,
            deadline: body.refund_deadline,
            refunded_minor: 0,
            refunds: 0,
        };
        let near = now().unix_ms().saturating_add(HONEST_MARGIN_MS);
        let (queue, max) = if body.refund_deadline.unix_ms() < near {
            (&mut self.late, LATE_KEPT_MAX)
        } else {
            (&mut self.refundable, REFUNDABLE_KEPT_MAX)
        };
        if queue.len() >= max {
            queue.pop_front();
        }
        queue.push_back(kept);
    }

    /// One refund: a late one when one is due (half the time), a retry of the last one, or one
    /// of the oldest coin kept: over what it has left, half of that, or all of it.
    pub(super) fn refund(&mut self) -> Result<u64, OpError> {
        let mut rng = rand::rng();
        if self.late_due() && (self.refundable.is_empty() || rng.random_bool(0.5)) {
            let Some(coin) = self.late.pop_front() else {
                return Ok(0);
            };
            let whole = coin.paid_minor();
            return self.send_refund(coin, whole, Expect::Refuse(DEADLINE_PASSED));
        }
        if self.last_refund.is_some() && rng.random_bool(RETRY_SHARE) {
            return self.retry_refund();
        }
        let Some(coin) = self.refundable.pop_front() else {
            return Ok(0);
        };
        let left = coin.paid_minor().saturating_sub(coin.refunded_minor);
        let draw: f64 = rng.random();
        if draw < OVER_SHARE {
            return self.send_refund(coin, left + 1, Expect::Refuse(OVER_PAID));
        }
        let wanted = if draw < OVER_SHARE + PARTIAL_SHARE && left >= 2 {
            left / 2
        } else {
            left
        };
        let merchant = self.shared.merchants[coin.merchant].merchant.id.to_string();
        let currency = coin.coin.value().currency().code().to_owned();
        let amount = self
            .shared
            .books()
            .reserve_refund(&merchant, &currency, wanted);
        if amount == 0 {
            // The merchant's balance may not cover it yet (deposit fees): later.
            self.refundable.push_back(coin);
            return Ok(0);
        }
        let total_minor = coin.refunded_minor + amount;
        self.send_refund(coin, amount, Expect::Accept { total_minor })
    }

    fn send_refund(
        &mut self,
        coin: Refundable,
        amount_minor: u64,
        expect: Expect,
    ) -> Result<u64, OpError> {
        let currency = coin.coin.value().currency();
        let request = self.shared.merchants[coin.merchant].merchant.refund_of(
            &coin.coin,
            coin.contract,
            Amount::from_minor_units(currency, amount_minor),
        );
        let sent_ms = now().unix_ms();
        self.shared.books().refund_attempts += 1;
        let api = &mut self.acquirers[coin.acquirer];
        match with_retries(&self.shared.retries, || api.refund(&request)) {
            Err(error) if ambiguous(&error) => {
                // Asked again at the end; the coin is refunded no further meanwhile, so that its
                // running total stays known.
                self.pending_refunds.push(PendingRefund {
                    coin,
                    request,
                    expect,
                    sent_ms,
                });
                Err(error.into())
            }
            answer => self.judge_refund(coin, request, expect, sent_ms, answer),
        }
    }

    /// Books a refund's answer against what it had to be.
    fn judge_refund(
        &mut self,
        mut coin: Refundable,
        request: SignedRefundRequest,
        expect: Expect,
        sent_ms: u64,
        answer: Result<RefundResponse, ApiError>,
    ) -> Result<u64, OpError> {
        let merchant = self.shared.merchants[coin.merchant].merchant.id.to_string();
        let currency = coin.coin.value().currency().code().to_owned();
        let asked = request.body().amount.minor_units();
        let key = hex(coin.coin.coin().public_key.as_bytes());
        let mut books = self.shared.books();
        match (expect, answer) {
            (Expect::Accept { total_minor }, Ok(response)) => {
                books
                    .refunds
                    .push(self.refund_book(&coin, &response, sent_ms));
                let body = request.body();
                if response.amount == body.amount
                    && response.refund_id == body.refund_id
                    && response.merchant == body.merchant
                    && response.coin_refunded.minor_units() == total_minor
                {
                    books.refunds_answered_as_due += 1;
                } else {
                    books.refund_failures.push(format!(
                        "coin {key}: refund of {asked} answered {} debited, {} refunded in all; {total_minor} expected",
                        response.amount, response.coin_refunded
                    ));
                }
                drop(books);
                let acquirer = coin.acquirer;
                coin.refunded_minor = response.coin_refunded.minor_units();
                coin.refunds += 1;
                let whole = coin.refunded_minor >= coin.paid_minor();
                if self.shared.workload.mix.swap > 0.0 && (whole || rand::rng().random_bool(0.5)) {
                    // Refunded no further: its wallet swaps it for what was refunded.
                    self.keep_refunded(coin);
                } else if !whole {
                    self.refundable.push_back(coin);
                }
                self.last_refund = Some(LastRefund {
                    acquirer,
                    request,
                    response,
                });
                Ok(1)
            }
            (Expect::Accept { .. }, Err(error)) => {
                books.release_refund(&merchant, &currency, asked);
                books.refund_failures.push(format!(
                    "coin {key}: honest refund of {asked} refused: {error}"
                ));
                Err(error.into())
            }
            (Expect::Refuse(code), Err(ApiError::Refused { code: got, .. })) if got == code => {
                books.refunds_answered_as_due += 1;
                if code == OVER_PAID {
                    books.refunds_refused_over_paid += 1;
                    drop(books);
                    // Refused, so nothing changed: what the coin has left may still be refunded.
                    self.refundable.push_back(coin);
                } else {
                    books.refunds_refused_late += 1;
                }
                Ok(1)
            }
            (Expect::Refuse(code), Ok(response)) => {
                // Debited all the same: the books must show it.
                books
                    .refunds
                    .push(self.refund_book(&coin, &response, sent_ms));
                books.reserve_refund(&merchant, &currency, response.amount.minor_units());
                books.refund_failures.push(format!(
                    "coin {key}: refund of {asked} debited, where {code} was due"
                ));
                Ok(1)
            }
            (Expect::Refuse(code), Err(error)) => {
                books.refund_failures.push(format!(
                    "coin {key}: refund of {asked} answered {error}, where {code} was due"
                ));
                Err(error.into())
            }
        }
    }

    /// Keeps a refunded coin for its wallet to swap for its allowance: what was refunded on it
    /// less a refund fee for each refund.
    fn keep_refunded(&mut self, coin: Refundable) {
        let fee = self.fees_of(coin.wallet, &coin.coin).refund.minor_units();
        let allowance = coin
            .refunded_minor
            .saturating_sub(fee.saturating_mul(coin.refunds));
        if allowance == 0 {
            return;
        }
        let currency = coin.coin.value().currency();
        if self.refunded.len() >= super::swap::REFUNDED_KEPT_MAX {
            self.refunded.pop_front();
        }
        self.refunded.push_back(super::swap::Refunded {
            wallet: coin.wallet,
            coin: coin
                .coin
                .refunded(Amount::from_minor_units(currency, allowance)),
            answered_ms: now().unix_ms(),
        });
    }

    fn refund_book(
        &self,
        coin: &Refundable,
        response: &RefundResponse,
        sent_ms: u64,
    ) -> RefundBook {
        RefundBook {
            merchant: self.shared.merchants[coin.merchant].merchant.id.to_string(),
            acquirer: self.acquirer_bank(coin.acquirer),
            issuer: self.wallets[coin.wallet].issuer_bank.to_string(),
            refund: response.refund.to_string(),
            coin: *coin.coin.coin().public_key.as_bytes(),
            contract: coin.contract.0,
            currency: response.amount.currency().code().to_owned(),
            paid_minor: coin.paid_minor(),
            amount_minor: response.amount.minor_units(),
            coin_refunded_minor: response.coin_refunded.minor_units(),
            deadline_ms: coin.deadline.unix_ms(),
            sent_ms,
        }
    }

    /// Sends the last refund answered again: the answer must be the first one (and nothing more
    /// is debited, which `conservation.merchants` checks).
    fn retry_refund(&mut self) -> Result<u64, OpError> {
        let Some(last) = self.last_refund.take() else {
            return Ok(0);
        };
        self.shared.books().replays += 1;
        let api = &mut self.acquirers[last.acquirer];
        let again = with_retries(&self.shared.retries, || api.refund(&last.request));
        let outcome = match again {
            Ok(response) => {
                if response != last.response {
                    self.shared.books().replay_mismatches.push(format!(
                        "refund {}: {response:?} the second time, {:?} the first",
                        last.request.body().refund_id,
                        last.response
                    ));
                }
                Ok(1)
            }
            Err(error) => Err(error.into()),
        };
        self.last_refund = Some(last);
        outcome
    }

    /// Asks again for every refund whose answer was lost, and books what comes back.
    pub(super) fn finish_refunds(&mut self) {
        for pending in std::mem::take(&mut self.pending_refunds) {
            let api = &mut self.acquirers[pending.coin.acquirer];
            let answer = with_retries(&self.shared.retries, || api.refund(&pending.request));
            match answer {
                Err(error) if ambiguous(&error) => {
                    let mut books = self.shared.books();
                    let what = format!("refund {}: {error}", pending.request.body().refund_id);
                    books.unresolved.push(what.clone());
                    let code = OpError::from(error).code();
                    if self.shared.tolerate_outages && outage(&code) {
                        books.refunds_unanswered += 1;
                    } else {
                        books.refund_failures.push(what);
                    }
                }
                answer => {
                    let _ = self.judge_refund(
                        pending.coin,
                        pending.request,
                        pending.expect,
                        pending.sent_ms,
                        answer,
                    );
                }
            }
        }
    }
}
