//! A worker: one thread of load, owning its wallets (so their coins need no lock) and its
//! connections, running withdrawals, payments and replays; double spends are in
//! [`double_spend`], refunds in [`refund`], swaps in [`swap`].

mod double_spend;
mod recoup;
mod refund;
mod swap;

pub use recoup::Recoupable;
pub use swap::fresh_inputs;

use std::collections::VecDeque;

use rand::RngExt;
use semper_protocol::amount::Amount;
use semper_protocol::denomination::DenominationFees;
use semper_protocol::ids::{BankId, MerchantId};
use semper_protocol::messages::deposit_answer::VerifiedDepositAnswer;
use semper_protocol::messages::merchant::{DepositResponse, DepositResult, SignedDepositRequest};
use semper_protocol::messages::withdraw::{SignedWithdrawRequest, WithdrawResponse};
use semper_protocol::wallet::{self, WalletCoin};

use super::stock::{ReadyWithdrawal, Unfinalized};
use super::{
    MerchantSlot, OpError, OpKind, Retries, SPENT_KEPT_MAX, Shared, WalletSlot, ambiguous,
    with_retries,
};
use crate::invariants::AcceptedCoin;
use crate::target::Targets;
use semper_client::parties::PartyError;
use semper_client::{Api, ApiError, Encoded};

/// The coin that a deposit entry concerns, for the books.
#[derive(Clone)]
pub(super) struct CoinMeta {
    pub(super) key: [u8; 32],
    pub(super) value: Amount,
    pub(super) issuer: BankId,
    /// The deposit fee its acquirer keeps, minor units.
    pub(super) deposit_fee_minor: u64,
}

/// A deposit whose answer never came.
pub(super) struct PendingDeposit {
    pub(super) acquirer: usize,
    pub(super) request: SignedDepositRequest,
    pub(super) coins: Vec<CoinMeta>,
}

/// A withdrawal whose answer never came.
struct PendingWithdraw {
    wallet: usize,
    request: SignedWithdrawRequest,
    value_minor: u64,
    fee_minor: u64,
    coins: u64,
}

/// One thread of load: its wallets, its connections, the last requests it can replay.
pub struct Worker<'a> {
    pub(super) shared: &'a Shared,
    issuers: Vec<Api>,
    acquirers: Vec<Api>,
    /// A second connection per acquirer, for two deposits of one coin at once.
    spares: Vec<Api>,
    pub(super) wallets: Vec<WalletSlot>,
    last_withdraw: Option<(usize, SignedWithdrawRequest, WithdrawResponse)>,
    last_deposit: Option<(usize, SignedDepositRequest, DepositResponse)>,
    pending_withdraws: Vec<PendingWithdraw>,
    pending_deposits: Vec<PendingDeposit>,
    /// Coins its merchants were paid with and may refund, oldest first.
    refundable: VecDeque<refund::Refundable>,
    /// Coins paid under a contract whose refund deadline is about to pass, to refund too late.
    late: VecDeque<refund::Refundable>,
    last_refund: Option<refund::LastRefund>,
    pending_refunds: Vec<refund::PendingRefund>,
    /// Coins refunded, to swap for their allowance, oldest first.
    refunded: VecDeque<swap::Refunded>,
    /// Coins given in to swaps, to spend again.
    swapped: VecDeque<swap::Swapped>,
    last_swap: Option<swap::LastSwap>,
    pending_swaps: Vec<swap::PendingSwap>,
    /// Coins recouped, to deposit.
    recouped: VecDeque<recoup::Recouped>,
    last_recoup: Option<recoup::LastRecoup>,
    pending_recoups: Vec<recoup::PendingRecoup>,
}

impl<'a> Worker<'a> {
    /// A worker over `wallets`, with its own connections to `shared.targets`.
    pub fn new(shared: &'a Shared, wallets: Vec<WalletSlot>) -> Self {
        let targets: &Targets = &shared.targets;
        Self {
            shared,
            issuers: targets.issuers.iter().map(|e| e.api()).collect(),
            acquirers: targets.acquirers.iter().map(|e| e.api()).collect(),
            spares: targets.acquirers.iter().map(|e| e.api()).collect(),
            wallets,
            last_withdraw: None,
            last_deposit: None,
            pending_withdraws: Vec::new(),
            pending_deposits: Vec::new(),
            refundable: VecDeque::new(),
            late: VecDeque::new(),
            last_refund: None,
            pending_refunds: Vec::new(),
            refunded: VecDeque::new(),
            swapped: VecDeque::new(),
            last_swap: None,
            pending_swaps: Vec::new(),
            recouped: VecDeque::new(),
            last_recoup: None,
            pending_recoups: Vec::new(),
        }
    }

    /// Runs one operation of `wanted` kind (a payment without coins becomes a withdrawal, a
    /// replay, double spend or refund with nothing to replay, spend or refund a payment): its
    /// kind as run, and the coins it moved.
    pub fn execute(&mut self, wanted: OpKind) -> (OpKind, Result<u64, OpError>) {
        let mut rng = rand::rng();
        let kind = match wanted {
            OpKind::Replay if self.last_withdraw.is_none() && self.last_deposit.is_none() => {
                OpKind::Pay
            }
            OpKind::Refund if !self.can_refund() => OpKind::Pay,
            OpKind::Recoup if !self.can_recoup() => OpKind::Pay,
            other => other,
        };
        let w = self.pick_wallet(kind);
        let need = self.shared.workload.coins_per_payment;
        let slot = &self.wallets[w];
        let kind = match kind {
            OpKind::Pay if slot.ready.payments.is_empty() && slot.pouch.len() < need => {
                OpKind::Withdraw
            }
            OpKind::DoubleSpend if slot.pouch.len() < need => OpKind::Withdraw,
            OpKind::Swap if !self.can_swap(w) => OpKind::Withdraw,
            other => other,
        };
        let result = match kind {
            OpKind::Withdraw => self.withdraw(w),
            OpKind::Pay => self.pay(w),
            OpKind::DoubleSpend => {
                if !self.wallets[w].spent.is_empty() && rng.random_bool(0.5) {
                    self.double_spend_spent(w)
                } else {
                    self.double_spend_concurrent(w)
                }
            }
            OpKind::Replay => self.replay(),
            OpKind::Refund => self.refund(),
            OpKind::Swap => self.swap(w),
            OpKind::Recoup => self.recoup(),
            OpKind::Settle => Ok(0),
        };
        (kind, result)
    }

    /// A random wallet, but one with ready work of `kind` when there is one.
    fn pick_wallet(&self, kind: OpKind) -> usize {
        let w = rand::rng().random_range(0..self.wallets.len());
        let has_ready = |slot: &WalletSlot| match kind {
            OpKind::Pay => !slot.ready.payments.is_empty(),
            OpKind::Withdraw => !slot.ready.withdrawals.is_empty(),
            _ => true,
        };
        if has_ready(&self.wallets[w]) {
            return w;
        }
        (0..self.wallets.len())
            .map(|i| (w + i) % self.wallets.len())
            .find(|&i| has_ready(&self.wallets[i]))
            .unwrap_or(w)
    }

    /// Withdraws a batch of coins into wallet `w`'s pouch, topping its account up when it ran
    /// dry.
    pub(super) fn withdraw(&mut self, w: usize) -> Result<u64, OpError> {
        let count = self.shared.workload.coins_per_withdraw;
        if self.wallets[w].top_up_unanswered {
            // It may have credited the account: asked again (credited once) before anything is
            // debited, so that the books hold the credit before a withdrawal spends it.
            self.top_up(w)?;
        }
        match self.try_withdraw(w, count) {
            Err(OpError::Api(error)) if error.code() == Some("account.insufficient_funds") => {
                self.top_up(w)?;
                self.try_withdraw(w, count)
            }
            other => other,
        }
    }

    fn try_withdraw(&mut self, w: usize, count: usize) -> Result<u64, OpError> {
        let slot = &mut self.wallets[w];
        let (ready, (request, planned)) = match slot.ready.withdrawals.pop_front() {
            Some(ready) => (true, (ready.request, ready.planned)),
            None => (
                false,
                slot.wallet.prepare_withdraw(&slot.denomination, count)?,
            ),
        };
        let count = request.body().coins.len();
        let slot = &self.wallets[w];
        let value_minor = slot.denomination.value().minor_units() * count as u64;
        let fee_minor = slot.denomination.fees().withdraw.minor_units() * count as u64;
        let api = &mut self.issuers[slot.issuer];
        let body = Encoded::new(&request)?;
        let response = match with_retries(&self.shared.retries, || api.withdraw_encoded(&body)) {
            Ok(response) => response,
            Err(error) => {
                if ambiguous(&error) {
                    self.pending_withdraws.push(PendingWithdraw {
                        wallet: w,
                        request,
                        value_minor,
                        fee_minor,
                        coins: count as u64,
                    });
                } else if ready {
                    // Refused, so it took no effect: it is still good after, say, a top-up.
                    let ready = ReadyWithdrawal { request, planned };
                    self.wallets[w].ready.withdrawals.push_front(ready);
                }
                return Err(error.into());
            }
        };
        let slot = &mut self.wallets[w];
        slot.withdrawn_minor += value_minor;
        slot.withdraw_fees_minor += fee_minor;
        slot.withdrawn_coins += count as u64;
        let request_id = request.body().request_id;
        if ready {
            slot.ready.unfinalized.push(Unfinalized {
                request_id,
                planned,
                response: response.clone(),
            });
        } else {
            let coins =
                wallet::finalize_coins(request_id, planned, &response).map_err(PartyError::from)?;
            slot.pouch.extend(coins);
        }
        self.last_withdraw = Some((w, request, response));
        Ok(count as u64)
    }

    /// Credits wallet `w` another funding, by the operator: the top-up left unanswered if there
    /// is one, under its reference again, else a new one.
    fn top_up(&mut self, w: usize) -> Result<(), OpError> {
        let slot = &mut self.wallets[w];
        let api = &mut self.issuers[slot.issuer];
        slot.top_up(api, &self.shared.retries, &self.shared.workload)?;
        Ok(())
    }

    pub(super) fn merchant(&self) -> usize {
        rand::rng().random_range(0..self.shared.merchants.len())
    }

    /// Pays a random merchant `coins_per_payment` coins of wallet `w`; the merchant deposits.
    fn pay(&mut self, w: usize) -> Result<u64, OpError> {
        let count = self.shared.workload.coins_per_payment;
        let slot = &mut self.wallets[w];
        let (m, request, coins) = match slot.ready.payments.pop_front() {
            Some(ready) => (ready.merchant, ready.request, ready.coins),
            None => {
                let coins: Vec<WalletCoin> = slot.pouch.split_off(slot.pouch.len() - count);
                let m = self.merchant();
                let request = self.payment(m, &coins)?;
                (m, request, coins)
            }
        };
        let merchant = &self.shared.merchants[m];
        let metas: Vec<CoinMeta> = coins.iter().map(|c| self.meta(w, c)).collect();
        let response = self.deposit(merchant.acquirer, &request, &metas, false)?;
        let accepted =
            self.account_honest(w, merchant.acquirer, &request, &response, &metas, &coins);
        self.last_deposit = Some((merchant.acquirer, request, response));
        Ok(accepted)
    }

    pub(super) fn meta(&self, w: usize, coin: &WalletCoin) -> CoinMeta {
        CoinMeta {
            key: *coin.coin().public_key.as_bytes(),
            value: coin.value(),
            issuer: self.wallets[w].issuer_bank,
            deposit_fee_minor: self.fees_of(w, coin).deposit.minor_units(),
        }
    }

    /// The fees of `coin`, held by wallet `w`: its denomination's, as its issuer's set lists
    /// them (a swap's fresh coins may be of other denominations than the wallet withdraws).
    pub(super) fn fees_of(&self, w: usize, coin: &WalletCoin) -> &DenominationFees {
        let slot = &self.wallets[w];
        let id = coin.coin().denomination;
        (self.shared.issuer_denominations.get(slot.issuer))
            .and_then(|set| set.iter().find(|d| d.id() == id))
            .unwrap_or(&slot.denomination)
            .fees()
    }

    /// Sends a deposit (on the spare connection when `spare`), with retries; an answer lost for
    /// good is kept to ask again at the end.
    pub(super) fn deposit(
        &mut self,
        acquirer: usize,
        request: &SignedDepositRequest,
        metas: &[CoinMeta],
        spare: bool,
    ) -> Result<DepositResponse, OpError> {
        let api = if spare {
            &mut self.spares[acquirer]
        } else {
            &mut self.acquirers[acquirer]
        };
        deposit_with(api, &self.shared.retries, &self.shared.merchants, request).map_err(|error| {
            if ambiguous(&error) {
                self.pending_deposits.push(PendingDeposit {
                    acquirer,
                    request: request.clone(),
                    coins: metas.to_vec(),
                });
            }
            error.into()
        })
    }

    /// Books the answer to an honest deposit: every coin must be accepted. Returns the coins
    /// accepted.
    pub(super) fn account_honest(
        &mut self,
        w: usize,
        acquirer: usize,
        request: &SignedDepositRequest,
        response: &DepositResponse,
        metas: &[CoinMeta],
        coins: &[WalletCoin],
    ) -> u64 {
        let acquirer_bank = self.acquirer_bank(acquirer);
        let merchant = request.body().merchant;
        let mut kept = Vec::new();
        let mut books = self.shared.books();
        let mut accepted = 0;
        for (i, result) in response.results.iter().enumerate() {
            match result {
                DepositResult::Accepted => {
                    accepted += 1;
                    books.accept(accepted_coin(&metas[i], &acquirer_bank, merchant));
                    kept.push(i);
                    let slot = &mut self.wallets[w];
                    if slot.spent.len() >= SPENT_KEPT_MAX {
                        slot.spent.pop_front();
                    }
                    slot.spent
                        .push_back((coins[i].clone(), request.body().permissions[i].clone()));
                }
                other => books.honest_not_accepted.push(format!(
                    "deposit {}: coin {i}: {}",
                    request.body().deposit_id,
                    describe(other)
                )),
            }
        }
        if response.results.len() != metas.len() {
            books.honest_not_accepted.push(format!(
                "deposit {}: {} results for {} coins",
                request.body().deposit_id,
                response.results.len(),
                metas.len()
            ));
        }
        drop(books);
        for i in kept {
            if let Some(coin) = coins.get(i) {
                self.keep_refundable(w, acquirer, request, i, coin);
            }
        }
        accepted
    }

    pub(super) fn acquirer_bank(&self, acquirer: usize) -> String {
        self.shared.targets.acquirers[acquirer]
            .bank
            .map(|b| b.to_string())
            .unwrap_or_default()
    }

    /// Sends the last withdrawal or deposit again, as it was, and checks the answer is the
    /// first one (and, for a withdrawal, that nothing more was debited).
    fn replay(&mut self) -> Result<u64, OpError> {
        let withdraw = match (&self.last_withdraw, &self.last_deposit) {
            (Some(_), None) => true,
            (None, Some(_)) => false,
            _ => rand::rng().random_bool(0.5),
        };
        self.shared.books().replays += 1;
        if withdraw {
            let Some((w, request, first)) = self.last_withdraw.take() else {
                return Ok(0);
            };
            let slot = &self.wallets[w];
            let api = &mut self.issuers[slot.issuer];
            let body = Encoded::new(&request)?;
            let again = with_retries(&self.shared.retries, || api.withdraw_encoded(&body));
            let balance = with_retries(&self.shared.retries, || api.account(slot.wallet.account));
            let coins = request.body().coins.len() as u64;
            let expected = (slot.credited_minor + slot.recouped_minor)
                .saturating_sub(slot.withdrawn_minor + slot.withdraw_fees_minor);
            // A top-up whose answer was lost may have credited the account, or not.
            let top_ups_possible = match slot.top_up_unanswered {
                true => vec![0, slot.top_up_amount(&self.shared.workload)],
                false => vec![0],
            };
            let currency = slot.currency();
            self.last_withdraw = Some((w, request, first.clone()));
            let again = again?;
            let mut books = self.shared.books();
            if again != first {
                books.replay_mismatches.push(format!(
                    "withdrawal {}: another answer the second time",
                    first.request_id
                ));
            }
            let balance = balance?;
            // Withdrawals of this wallet whose answers were lost may have been debited already:
            // they are asked for again at the end, and until then any of them may count.
            let lost = self
                .pending_withdraws
                .iter()
                .filter(|p| p.wallet == w)
                .map(|p| p.value_minor + p.fee_minor);
            // And recoups of its whose answers were lost may have been credited.
            let credits: Vec<u64> = debits_possible(
                (self.pending_recoups.iter())
                    .filter(|p| p.wallet == w)
                    .map(|p| p.value_minor),
            )
            .into_iter()
            .flat_map(|recouped| top_ups_possible.iter().map(move |top_up| recouped + top_up))
            .collect();
            let possible: Vec<String> = debits_possible(lost)
                .into_iter()
                .flat_map(|debit| credits.iter().map(move |credit| (debit, *credit)))
                .filter_map(|(debit, credit)| (expected + credit).checked_sub(debit))
                .map(|left| Amount::from_minor_units(currency, left).to_string())
                .collect();
            if !possible
                .iter()
                .any(|text| balance.balance.to_string() == *text)
            {
                books.replay_mismatches.push(format!(
                    "withdrawal {}: balance {} after the replay, {} expected",
                    first.request_id,
                    balance.balance,
                    possible.join(" or ")
                ));
            }
            Ok(coins)
        } else {
            let Some((acquirer, request, first)) = self.last_deposit.take() else {
                return Ok(0);
            };
            let api = &mut self.acquirers[acquirer];
            let again = deposit_with(api, &self.shared.retries, &self.shared.merchants, &request);
            let coins = request.body().permissions.len() as u64;
            self.last_deposit = Some((acquirer, request, first.clone()));
            let again = again?;
            if again != first {
                self.shared.books().replay_mismatches.push(format!(
                    "deposit {}: {:?} the second time, {:?} the first",
                    first.deposit_id,
                    again.results.iter().map(describe).collect::<Vec<_>>(),
                    first.results.iter().map(describe).collect::<Vec<_>>()
                ));
            }
            Ok(coins)
        }
    }

    /// Asks again for every answer lost during the run (requests are idempotent), books what
    /// comes back, and gives the wallets back for the final books.
    pub fn finish(mut self) -> Vec<WalletSlot> {
        for w in 0..self.wallets.len() {
            if !self.wallets[w].top_up_unanswered {
                continue;
            }
            if let Err(error) = self.top_up(w) {
                let account = self.wallets[w].wallet.account;
                (self.shared.books().unresolved).push(format!("top-up of {account}: {error}"));
            }
        }
        for pending in std::mem::take(&mut self.pending_withdraws) {
            let slot = &self.wallets[pending.wallet];
            let api = &mut self.issuers[slot.issuer];
            let answer = Encoded::new(&pending.request).and_then(|body| {
                with_retries(&self.shared.retries, || api.withdraw_encoded(&body))
            });
            match answer {
                Ok(_) => {
                    let slot = &mut self.wallets[pending.wallet];
                    slot.withdrawn_minor += pending.value_minor;
                    slot.withdraw_fees_minor += pending.fee_minor;
                    slot.withdrawn_coins += pending.coins;
                }
                Err(error) if !ambiguous(&error) => {}
                Err(error) => self.shared.books().unresolved.push(format!(
                    "withdrawal {}: {error}",
                    pending.request.body().request_id
                )),
            }
        }
        for pending in std::mem::take(&mut self.pending_deposits) {
            let bank = self.acquirer_bank(pending.acquirer);
            let api = &mut self.acquirers[pending.acquirer];
            match deposit_with(
                api,
                &self.shared.retries,
                &self.shared.merchants,
                &pending.request,
            ) {
                Ok(response) => {
                    let mut books = self.shared.books();
                    let merchant = pending.request.body().merchant;
                    for (i, result) in response.results.iter().enumerate() {
                        if let (DepositResult::Accepted, Some(meta)) =
                            (result, pending.coins.get(i))
                        {
                            books.accept(accepted_coin(meta, &bank, merchant));
                        }
                    }
                }
                Err(error) if !ambiguous(&error) => {}
                Err(error) => self.shared.books().unresolved.push(format!(
                    "deposit {}: {error}",
                    pending.request.body().deposit_id
                )),
            }
        }
        self.finish_refunds();
        self.finish_swaps();
        self.finish_recoups();
        self.wallets
    }
}

/// Every sum of a subset of `debits` (0 included), each once.
fn debits_possible(debits: impl Iterator<Item = u64>) -> std::collections::BTreeSet<u64> {
    let mut sums = std::collections::BTreeSet::from([0u64]);
    for debit in debits {
        let more: Vec<u64> = sums.iter().map(|sum| sum.saturating_add(debit)).collect();
        sums.extend(more);
    }
    sums
}

/// Deposits `request` with retries, and has its merchant (one of `merchants`) check the
/// acquirer's signed answer: an answer that does not check is an error, never booked.
pub(super) fn deposit_with(
    api: &mut Api,
    retries: &Retries,
    merchants: &[MerchantSlot],
    request: &SignedDepositRequest,
) -> Result<DepositResponse, ApiError> {
    let body = Encoded::new(request)?;
    let answer = with_retries(retries, || api.deposit_encoded(&body))?;
    let unchecked = |problem: String| ApiError::Unexpected {
        what: format!("deposit {}", request.body().deposit_id),
        problem,
    };
    let merchant = merchants
        .iter()
        .map(|slot| &slot.merchant)
        .find(|merchant| merchant.id == request.body().merchant)
        .ok_or_else(|| unchecked("no merchant of this load signed it".into()))?;
    merchant
        .check_answer(request, &answer)
        .map(VerifiedDepositAnswer::into_response)
        .map_err(|error| unchecked(error.to_string()))
}

pub(super) fn accepted_coin(meta: &CoinMeta, acquirer: &str, merchant: MerchantId) -> AcceptedCoin {
    AcceptedCoin {
        coin: meta.key,
        value_minor: meta.value.minor_units(),
        currency: meta.value.currency().code().to_owned(),
        issuer: meta.issuer.to_string(),
        acquirer: acquirer.to_owned(),
        merchant: merchant.to_string(),
        deposit_fee_minor: meta.deposit_fee_minor,
    }
}

/// A deposit result in a few words.
pub(super) fn describe(result: &DepositResult) -> String {
    match result {
        DepositResult::Accepted => "accepted".into(),
        DepositResult::Replay => "replay".into(),
        DepositResult::Conflict { .. } => "conflict".into(),
        DepositResult::Swapped { .. } => "conflict (swapped)".into(),
        DepositResult::Recouped { .. } => "conflict (recouped)".into(),
        DepositResult::Refused { code } => format!("refused ({code})"),
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
