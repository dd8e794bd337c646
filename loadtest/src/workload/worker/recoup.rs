//! Recoups: a wallet gives back an unspent coin of a denomination its issuer revoked (withdrawn
//! before the run, see `run`), proving its withdrawal, and must be credited the coin's value
//! once; sends its last recoup again, which must get the same answer and credit nothing more;
//! and deposits a coin it recouped, which must be refused (as recouped, with the recoup as
//! proof, or as of a revoked denomination by an acquirer that knows). What each got is booked
//! for the invariants.

use rand::RngExt;
use semper_protocol::ids::ContractHash;
use semper_protocol::messages::merchant::DepositResult;
use semper_protocol::messages::recoup::{RecoupResponse, SignedRecoupRequest};
use semper_protocol::wallet::WalletCoin;

use super::{CoinMeta, Worker, hex};
use crate::invariants::RecoupBook;
use crate::workload::{OpError, ambiguous, now, outage, with_retries};

/// Coins recouped that a worker keeps to deposit.
pub const RECOUPED_KEPT_MAX: usize = 16;
/// The share of recoup operations that send the last recoup answered again.
pub const REPLAY_SHARE: f64 = 0.15;
/// The share that deposit a coin recouped.
pub const SPEND_RECOUPED_SHARE: f64 = 0.15;

/// The refusal of a coin of a revoked denomination, by an acquirer that refreshed its sets.
const REVOKED: &str = "denomination.revoked";

/// A coin of a revoked denomination, with the withdrawal that made it.
pub struct Recoupable {
    /// The withdrawal, as the wallet signed it.
    pub withdrawal: semper_protocol::messages::withdraw::SignedWithdrawRequest,
    /// The coin's position in it.
    pub index: u32,
    /// The coin.
    pub coin: WalletCoin,
}

/// A coin recouped, to deposit.
pub(in crate::workload) struct Recouped {
    wallet: usize,
    coin: WalletCoin,
    request: SignedRecoupRequest,
}

/// The last recoup answered, to send again.
pub(in crate::workload) struct LastRecoup {
    wallet: usize,
    request: SignedRecoupRequest,
    response: RecoupResponse,
}

/// A recoup whose answer never came: asked again at the end.
pub(in crate::workload) struct PendingRecoup {
    pub(super) wallet: usize,
    request: SignedRecoupRequest,
    pub(super) value_minor: u64,
}

impl Worker<'_> {
    /// Whether a recoup has something to do: a coin to recoup, one to deposit, or a recoup to
    /// send again.
    pub(super) fn can_recoup(&self) -> bool {
        self.wallets.iter().any(|w| !w.recoupable.is_empty())
            || !self.recouped.is_empty()
            || self.last_recoup.is_some()
    }

    /// One recoup operation: the last one again, a recouped coin deposited, or a coin recouped.
    pub(super) fn recoup(&mut self) -> Result<u64, OpError> {
        let mut rng = rand::rng();
        if self.last_recoup.is_some() && rng.random_bool(REPLAY_SHARE) {
            return self.replay_recoup();
        }
        let has_coin = self.wallets.iter().any(|w| !w.recoupable.is_empty());
        if !self.recouped.is_empty() && (!has_coin || rng.random_bool(SPEND_RECOUPED_SHARE)) {
            return self.spend_recouped();
        }
        let Some(w) = (0..self.wallets.len()).find(|w| !self.wallets[*w].recoupable.is_empty())
        else {
            return self.replay_recoup();
        };
        let Some(recoupable) = self.wallets[w].recoupable.pop() else {
            return Ok(0);
        };
        let slot = &self.wallets[w];
        let request =
            slot.wallet
                .prepare_recoup(&recoupable.withdrawal, recoupable.index, &recoupable.coin);
        let value_minor = recoupable.coin.value().minor_units();
        self.shared.books().recoup_attempts += 1;
        let api = &mut self.issuers[slot.issuer];
        match with_retries(&self.shared.retries, || api.recoup(&request)) {
            Ok(response) => {
                self.book_recoup(w, &request, &response, value_minor);
                if self.recouped.len() >= RECOUPED_KEPT_MAX {
                    self.recouped.pop_front();
                }
                self.recouped.push_back(Recouped {
                    wallet: w,
                    coin: recoupable.coin,
                    request: request.clone(),
                });
                self.last_recoup = Some(LastRecoup {
                    wallet: w,
                    request,
                    response,
                });
                Ok(1)
            }
            Err(error) if ambiguous(&error) => {
                self.pending_recoups.push(PendingRecoup {
                    wallet: w,
                    request,
                    value_minor,
                });
                Err(error.into())
            }
            Err(error) => {
                self.shared.books().recoup_failures.push(format!(
                    "coin {}: recoup refused: {error}",
                    hex(recoupable.coin.coin().public_key.as_bytes())
                ));
                Err(error.into())
            }
        }
    }

    /// Books a recoup's answer: the wallet's account credited what it says.
    fn book_recoup(
        &mut self,
        w: usize,
        request: &SignedRecoupRequest,
        response: &RecoupResponse,
        value_minor: u64,
    ) {
        let slot = &mut self.wallets[w];
        slot.recouped_minor += response.credited.minor_units();
        let book = RecoupBook {
            account: slot.wallet.account.to_string(),
            issuer: slot.issuer_bank.to_string(),
            coin: *request.body().permission.body().coin.public_key.as_bytes(),
            value_minor,
            credited_minor: response.credited.minor_units(),
            credited_account: response.account.to_string(),
            answered_coin: response.coin.0,
        };
        self.shared.books().recoups.push(book);
    }

    /// Sends the last recoup answered again: the answer must be the first one (and nothing more
    /// credited, which `conservation.accounts` checks).
    fn replay_recoup(&mut self) -> Result<u64, OpError> {
        let Some(last) = self.last_recoup.take() else {
            return Ok(0);
        };
        self.shared.books().replays += 1;
        let api = &mut self.issuers[self.wallets[last.wallet].issuer];
        let again = with_retries(&self.shared.retries, || api.recoup(&last.request));
        let outcome = match again {
            Ok(response) => {
                if response != last.response {
                    self.shared.books().replay_mismatches.push(format!(
                        "recoup of coin {}: {response:?} the second time, {:?} the first",
                        last.response.coin, last.response
                    ));
                }
                Ok(1)
            }
            Err(error) if ambiguous(&error) => Err(error.into()),
            Err(error) => {
                self.shared.books().replay_mismatches.push(format!(
                    "recoup of coin {}: {error} the second time",
                    last.response.coin
                ));
                Err(error.into())
            }
        };
        self.last_recoup = Some(last);
        outcome
    }

    /// Deposits a coin recouped: it must be refused, as recouped with its recoup permission as
    /// proof, or as of a revoked denomination.
    fn spend_recouped(&mut self) -> Result<u64, OpError> {
        let Some(recouped) = self.recouped.pop_front() else {
            return Ok(0);
        };
        self.shared.books().recouped_spend_attempts += 1;
        let key = hex(recouped.coin.coin().public_key.as_bytes());
        let m = self.merchant();
        let merchant = &self.shared.merchants[m];
        let acquirer = merchant.acquirer;
        let request = merchant.merchant.deposit_of(
            std::slice::from_ref(&recouped.coin),
            ContractHash(rand::random()),
            now(),
        )?;
        let metas: Vec<CoinMeta> = vec![self.meta(recouped.wallet, &recouped.coin)];
        let response = match self.deposit(acquirer, &request, &metas, false) {
            Ok(response) => response,
            Err(error) => {
                let mut books = self.shared.books();
                if self.shared.tolerate_outages && outage(&error.code()) {
                    books.recouped_spends_unanswered += 1;
                } else {
                    books
                        .recouped_spend_failures
                        .push(format!("coin {key}: deposit failed: {error}"));
                }
                return Err(error);
            }
        };
        let proof = recouped.request.body().permission.clone();
        let mut books = self.shared.books();
        match response.results.first() {
            Some(DepositResult::Recouped { earlier }) if **earlier == proof => {
                books.recouped_spends_refused += 1;
            }
            Some(DepositResult::Refused { code }) if code == REVOKED => {
                books.recouped_spends_refused += 1;
            }
            Some(DepositResult::Accepted) => {
                drop(books);
                let bank = self.acquirer_bank(acquirer);
                let mut books = self.shared.books();
                let merchant = request.body().merchant;
                books.accept(super::accepted_coin(&metas[0], &bank, merchant));
                books
                    .recouped_spend_failures
                    .push(format!("coin {key}: deposited after its recoup, accepted"));
            }
            other => books.recouped_spend_failures.push(format!(
                "coin {key}: deposited after its recoup, answered {}",
                other.map_or("nothing".into(), super::describe)
            )),
        }
        Ok(1)
    }

    /// Asks again for every recoup whose answer was lost, and books what comes back.
    pub(super) fn finish_recoups(&mut self) {
        for pending in std::mem::take(&mut self.pending_recoups) {
            let api = &mut self.issuers[self.wallets[pending.wallet].issuer];
            let answer = with_retries(&self.shared.retries, || api.recoup(&pending.request));
            let what = format!(
                "recoup of coin {}",
                hex(pending
                    .request
                    .body()
                    .permission
                    .body()
                    .coin
                    .public_key
                    .as_bytes())
            );
            match answer {
                Ok(response) => {
                    self.book_recoup(
                        pending.wallet,
                        &pending.request,
                        &response,
                        pending.value_minor,
                    );
                }
                Err(error) if ambiguous(&error) => {
                    let mut books = self.shared.books();
                    books.unresolved.push(format!("{what}: {error}"));
                    let code = OpError::from(error).code();
                    if self.shared.tolerate_outages && outage(&code) {
                        books.recoups_unanswered += 1;
                    } else {
                        books.recoup_failures.push(what);
                    }
                }
                Err(error) => self
                    .shared
                    .books()
                    .recoup_failures
                    .push(format!("{what}: {error}")),
            }
        }
    }
}
