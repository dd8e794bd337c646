//! Work made ready before the timed phase.
//!
//! A wallet's cryptography is the wallet's own cost: blinding and unblinding a coin with
//! `blind-rsa-signatures` takes about as long as the issuer's signature, and signing a deposit
//! permission takes an Ed25519 signature per coin. When the load tester runs on the server's own
//! cores, that work would be measured as if it were the server's. With a stock, each wallet
//! withdraws the coins of its payments and signs them (every deposit request complete) before
//! the clock starts, and blinds its withdrawal requests ahead; the coins those withdrawals return
//! are unblinded and checked after the clock stops. Nothing is skipped: every signature is still
//! made and checked, only outside the measured window.

use std::collections::VecDeque;

use semper_protocol::ids::{ContractHash, RequestId};
use semper_protocol::messages::merchant::SignedDepositRequest;
use semper_protocol::messages::withdraw::{SignedWithdrawRequest, WithdrawResponse};
use semper_protocol::wallet::{self, PlannedCoin, WalletCoin};

use super::{OpError, Shared, WalletSlot, Worker, now};
use semper_client::parties::PartyError;

/// How much work each wallet makes ready before the timed phase.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Stock {
    /// Payments made ready per wallet: coins withdrawn, permissions and deposit request signed.
    pub payments: usize,
    /// Withdrawal requests blinded and signed per wallet; their coins are unblinded after the run.
    pub withdrawals: usize,
    /// Whether the timed phase runs only what was made ready: a worker whose wallets have none
    /// left stops taking operations, so that no wallet cryptography runs on the clock.
    pub only: bool,
}

impl Stock {
    /// Whether there is anything to make ready.
    pub fn is_empty(&self) -> bool {
        self.payments == 0 && self.withdrawals == 0
    }
}

/// A withdrawal request made ready: to send, and its coins waiting for their signatures.
pub struct ReadyWithdrawal {
    pub(super) request: SignedWithdrawRequest,
    pub(super) planned: Vec<PlannedCoin>,
}

/// A payment made ready: the merchant's signed deposit request and the coins it spends.
pub struct ReadyPayment {
    pub(super) merchant: usize,
    pub(super) request: SignedDepositRequest,
    pub(super) coins: Vec<WalletCoin>,
}

/// A withdrawal answered during the timed phase, its coins not yet unblinded.
pub struct Unfinalized {
    pub(super) request_id: RequestId,
    pub(super) planned: Vec<PlannedCoin>,
    pub(super) response: WithdrawResponse,
}

/// A wallet's ready work.
#[derive(Default)]
pub struct Ready {
    pub(super) withdrawals: VecDeque<ReadyWithdrawal>,
    pub(super) payments: VecDeque<ReadyPayment>,
    pub(super) unfinalized: Vec<Unfinalized>,
}

impl Ready {
    /// Ready payments and withdrawals left.
    pub fn left(&self) -> (usize, usize) {
        (self.payments.len(), self.withdrawals.len())
    }
}

impl Worker<'_> {
    /// Whether any of this worker's wallets has a ready payment or withdrawal left.
    pub fn has_ready_work(&self) -> bool {
        self.wallets
            .iter()
            .any(|slot| !slot.ready.payments.is_empty() || !slot.ready.withdrawals.is_empty())
    }

    /// Makes `stock` ready for each of this worker's wallets.
    pub fn make_stock(&mut self, stock: Stock) -> Result<(), OpError> {
        let per_payment = self.shared.workload.coins_per_payment;
        for w in 0..self.wallets.len() {
            while self.wallets[w].pouch.len() < stock.payments * per_payment {
                self.withdraw(w)?;
            }
            for _ in 0..stock.payments {
                let slot = &mut self.wallets[w];
                let coins = slot.pouch.split_off(slot.pouch.len() - per_payment);
                let merchant = self.merchant();
                let request = self.shared.merchants[merchant].merchant.deposit_of(
                    &coins,
                    ContractHash(rand::random()),
                    now(),
                )?;
                self.wallets[w].ready.payments.push_back(ReadyPayment {
                    merchant,
                    request,
                    coins,
                });
            }
            for _ in 0..stock.withdrawals {
                let slot = &mut self.wallets[w];
                let (request, planned) = slot.wallet.prepare_withdraw(
                    &slot.denomination,
                    self.shared.workload.coins_per_withdraw,
                )?;
                slot.ready
                    .withdrawals
                    .push_back(ReadyWithdrawal { request, planned });
            }
        }
        Ok(())
    }
}

/// Unblinds and checks the coins of every withdrawal answered during the timed phase, into the
/// wallets' pouches; a coin that does not check is a failed withdrawal.
/// The work is spread over the machine's cores.
pub fn finalize_deferred(shared: &Shared, wallets: &mut [WalletSlot]) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = wallets.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for part in wallets.chunks_mut(chunk) {
            scope.spawn(move || {
                part.iter_mut()
                    .for_each(|slot| finalize_wallet(shared, slot))
            });
        }
    });
}

fn finalize_wallet(shared: &Shared, slot: &mut WalletSlot) {
    for deferred in std::mem::take(&mut slot.ready.unfinalized) {
        match wallet::finalize_coins(deferred.request_id, deferred.planned, &deferred.response) {
            Ok(coins) => slot.pouch.extend(coins),
            Err(error) => {
                let error = OpError::from(PartyError::from(error));
                shared.count_failure(format!("withdraw: {}", error.code()));
            }
        }
    }
}
