//! Double spends: a coin already accepted spent again beside fresh ones, and one fresh coin
//! deposited through two merchants at once (at two acquirers when there are two). Each must be
//! refused as a conflict that carries the earlier permission, signed by the coin's key.

use semper_protocol::ids::ContractHash;
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::merchant::{DepositResponse, DepositResult, SignedDepositRequest};
use semper_protocol::wallet::WalletCoin;

use super::{CoinMeta, PendingDeposit, Worker, accepted_coin, deposit_with, describe, hex};
use crate::workload::{OpError, ambiguous, now, outage};
use semper_client::ApiError;
use semper_client::parties::PartyError;

impl Worker<'_> {
    /// Spends a coin already accepted again, with fresh coins beside it: the fresh ones are
    /// accepted, the spent one refused as a conflict with its first permission as proof.
    pub(super) fn double_spend_spent(&mut self, w: usize) -> Result<u64, OpError> {
        let fresh_count = self.shared.workload.coins_per_payment.saturating_sub(1);
        let slot = &mut self.wallets[w];
        let Some((old_coin, first)) = slot.spent.pop_front() else {
            return self.double_spend_concurrent(w);
        };
        let mut coins: Vec<WalletCoin> = slot.pouch.split_off(slot.pouch.len() - fresh_count);
        coins.push(old_coin);
        let m = self.merchant();
        let merchant = &self.shared.merchants[m];
        let acquirer = merchant.acquirer;
        let request = merchant
            .merchant
            .deposit_of(&coins, ContractHash(rand::random()), now())?;
        let metas: Vec<CoinMeta> = coins.iter().map(|c| self.meta(w, c)).collect();
        self.shared.books().double_spend_attempts += 1;
        let response = match self.deposit(acquirer, &request, &metas, false) {
            Ok(response) => response,
            Err(error) => {
                let what = format!("deposit {}: failed: {error}", request.body().deposit_id);
                self.book_unjudged(what, &error.code());
                return Err(error);
            }
        };
        let last = coins.len() - 1;
        let honest = DepositResponse {
            merchant: response.merchant,
            deposit_id: response.deposit_id,
            results: response
                .results
                .iter()
                .take(last)
                .cloned()
                .collect::<Vec<_>>()
                .try_into()
                .map_err(|_| PartyError::TooManyCoins(last))?,
        };
        let accepted = self.account_honest(
            w,
            acquirer,
            &request,
            &honest,
            &metas[..last],
            &coins[..last],
        );
        let verdict = response.results.get(last);
        self.judge_double_spend(
            verdict,
            &request.body().permissions[last],
            &[first],
            &metas[last],
            acquirer,
        );
        self.last_deposit = Some((acquirer, request, response));
        Ok(accepted + 1)
    }

    /// Deposits one fresh coin through two merchants at once, at two acquirers when there are
    /// two: one deposit is accepted, the other refused as a conflict with the first's permission.
    pub(super) fn double_spend_concurrent(&mut self, w: usize) -> Result<u64, OpError> {
        let slot = &mut self.wallets[w];
        let Some(coin) = slot.pouch.pop() else {
            return Ok(0);
        };
        let merchants = &self.shared.merchants;
        let first = self.merchant();
        // A second merchant, at another acquirer when there is one.
        let second = (1..merchants.len())
            .map(|step| (first + step) % merchants.len())
            .find(|m| merchants[*m].acquirer != merchants[first].acquirer)
            .unwrap_or((first + 1) % merchants.len());
        let at = now();
        let requests = [first, second].map(|m| {
            merchants[m].merchant.deposit_of(
                std::slice::from_ref(&coin),
                ContractHash(rand::random()),
                at,
            )
        });
        let [Ok(request_a), Ok(request_b)] = requests else {
            return Err(PartyError::TooManyCoins(1).into());
        };
        let (acquirer_a, acquirer_b) = (merchants[first].acquirer, merchants[second].acquirer);
        let meta = self.meta(w, &coin);
        self.shared.books().double_spend_attempts += 1;
        let retries = &self.shared.retries;
        let (api_a, api_b) = (
            &mut self.acquirers[acquirer_a],
            &mut self.spares[acquirer_b],
        );
        let (answer_a, answer_b) = std::thread::scope(|scope| {
            let b = scope.spawn(|| deposit_with(api_b, retries, merchants, &request_b));
            let a = deposit_with(api_a, retries, merchants, &request_a);
            (a, b.join())
        });
        let answer_b = answer_b.unwrap_or_else(|_| {
            Err(ApiError::Unexpected {
                what: "deposit".into(),
                problem: "the sending thread panicked".into(),
            })
        });
        let sides = [
            (acquirer_a, &request_a, answer_a),
            (acquirer_b, &request_b, answer_b),
        ];
        let permission = |r: &SignedDepositRequest| r.body().permissions[0].clone();
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        let mut failure = None;
        for (acquirer, request, answer) in sides {
            match answer {
                Ok(response) => match response.results.first() {
                    Some(DepositResult::Accepted) => winners.push((acquirer, request)),
                    verdict => losers.push((acquirer, request, verdict.cloned())),
                },
                Err(error) => {
                    if ambiguous(&error) {
                        self.pending_deposits.push(PendingDeposit {
                            acquirer,
                            request: request.clone(),
                            coins: vec![meta.clone()],
                        });
                    }
                    failure = Some(error);
                }
            }
        }
        for (acquirer, request) in &winners {
            let bank = self.acquirer_bank(*acquirer);
            let merchant = request.body().merchant;
            self.shared
                .books()
                .accept(accepted_coin(&meta, &bank, merchant));
        }
        if let Some(error) = failure {
            let error = OpError::from(error);
            let what = format!("coin {}: a deposit failed: {error}", hex(&meta.key));
            self.book_unjudged(what, &error.code());
            return Err(error);
        }
        match (winners.as_slice(), losers.as_slice()) {
            ([(_, winner)], [(acquirer, loser, verdict)]) => {
                self.judge_double_spend(
                    verdict.as_ref(),
                    &permission(loser),
                    &[permission(winner)],
                    &meta,
                    *acquirer,
                );
            }
            _ => self.shared.books().double_spend_failures.push(format!(
                "coin {} at two merchants at once: {} accepted, {} refused: {:?}",
                hex(&meta.key),
                winners.len(),
                losers.len(),
                losers
                    .iter()
                    .map(|l| l.2.as_ref().map(describe))
                    .collect::<Vec<_>>()
            )),
        }
        Ok(2)
    }

    /// Books a double spend's answer: it must be a conflict whose proof is the earlier
    /// permission of the same coin, validly signed by the coin's key.
    /// Books a double-spend attempt that got no verdict: a failure, unless the deployment was
    /// down (a crash-kill soak) and the attempt only went unanswered.
    fn book_unjudged(&self, what: String, code: &str) {
        let mut books = self.shared.books();
        if self.shared.tolerate_outages && outage(code) {
            books.double_spends_unanswered += 1;
        } else {
            books.double_spend_failures.push(what);
        }
    }

    fn judge_double_spend(
        &self,
        verdict: Option<&DepositResult>,
        attempted: &SignedDepositPermission,
        earlier: &[SignedDepositPermission],
        meta: &CoinMeta,
        acquirer: usize,
    ) {
        let mut books = self.shared.books();
        let coin = hex(&meta.key);
        match verdict {
            Some(DepositResult::Conflict { earlier: proof }) => {
                let same_coin = proof.body().coin == attempted.body().coin;
                let signed = proof.verify_coin_key().is_ok();
                let known = earlier.iter().any(|e| e == proof.as_ref());
                if same_coin && signed && known && proof.as_ref() != attempted {
                    books.double_spends_rejected_with_proof += 1;
                } else {
                    books.double_spend_failures.push(format!(
                        "coin {coin}: conflict with a bad proof (same coin {same_coin}, signed {signed}, the earlier permission {known})"
                    ));
                }
            }
            Some(DepositResult::Accepted) => {
                let merchant = attempted.body().merchant;
                books.accept(accepted_coin(meta, &self.acquirer_bank(acquirer), merchant));
                books
                    .double_spend_failures
                    .push(format!("coin {coin}: double spend accepted"));
            }
            Some(other) => books.double_spend_failures.push(format!(
                "coin {coin}: {} instead of conflict",
                describe(other)
            )),
            None => books
                .double_spend_failures
                .push(format!("coin {coin}: no result for it")),
        }
    }
}
