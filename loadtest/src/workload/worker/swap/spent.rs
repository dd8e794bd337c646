//! A coin given in to a swap, spent again: a coin swapped for change is deposited, and must be
//! refused `swapped` with its very swap permission as proof; a refunded coin is swapped again,
//! and must be refused (a conflict proven by the coin's own key, or unbalanced: its allowance is
//! used up).

use semper_client::api::SwapError;
use semper_protocol::ids::{ContractHash, RequestId};
use semper_protocol::messages::merchant::DepositResult;
use semper_protocol::messages::spend::EarlierSpend;
use semper_protocol::wallet;

use super::super::{CoinMeta, Worker, accepted_coin, describe, hex};
use super::{Swapped, UNBALANCED, fresh_inputs};
use crate::invariants::SwapBook;
use crate::workload::{OpError, ambiguous, now, outage};
use semper_client::parties::PartyError;

impl Worker<'_> {
    /// Spends a coin given in before: a coin swapped for change is deposited, which must be
    /// refused `swapped` with its swap permission as proof; a refunded coin is swapped again,
    /// which must be refused (a conflict proven by the coin's own key, or unbalanced: its
    /// allowance is used up).
    pub(super) fn spend_swapped(&mut self) -> Result<u64, OpError> {
        let Some(swapped) = self.swapped.pop_front() else {
            return Ok(0);
        };
        self.shared.books().swapped_spend_attempts += 1;
        let key = hex(swapped.coin.coin().public_key.as_bytes());
        if swapped.refunded {
            return self.swap_again(swapped, key);
        }
        let m = self.merchant();
        let merchant = &self.shared.merchants[m];
        let acquirer = merchant.acquirer;
        let request = merchant.merchant.deposit_of(
            std::slice::from_ref(&swapped.coin),
            ContractHash(rand::random()),
            now(),
        )?;
        let metas: Vec<CoinMeta> = vec![self.meta(swapped.wallet, &swapped.coin)];
        let response = match self.deposit(acquirer, &request, &metas, false) {
            Ok(response) => response,
            Err(error) => {
                self.book_swapped_unjudged(format!("coin {key}: deposit failed: {error}"), &error);
                return Err(error);
            }
        };
        let mut books = self.shared.books();
        match response.results.first() {
            Some(DepositResult::Swapped { earlier }) if **earlier == swapped.permission => {
                books.swapped_spends_refused_with_proof += 1;
            }
            Some(DepositResult::Accepted) => {
                drop(books);
                let bank = self.acquirer_bank(acquirer);
                let mut books = self.shared.books();
                books.accept(accepted_coin(&metas[0], &bank, request.body().merchant));
                books
                    .swapped_spend_failures
                    .push(format!("coin {key}: deposited after its swap, accepted"));
            }
            other => books.swapped_spend_failures.push(format!(
                "coin {key}: deposited after its swap, answered {}",
                other.map_or("nothing".into(), describe)
            )),
        }
        Ok(1)
    }

    fn swap_again(&mut self, swapped: Swapped, key: String) -> Result<u64, OpError> {
        let w = swapped.wallet;
        let input = self.input(w, &swapped.coin, true);
        let currency = swapped.coin.value().currency();
        let net = input.value_minor.saturating_sub(input.fee_minor);
        // Asked for as its first swap was, with fresh coins beside it where its allowance alone
        // is no sum of denominations; a refusal spends none of them, and they go back.
        let plan = fresh_inputs(
            net,
            self.fresh_net(w),
            self.own_coins(w),
            currency,
            self.available(w),
        );
        let Some((k, wanted)) = plan else {
            // Its wallet holds too few coins to ask for it so: not tried.
            self.shared.books().swapped_spend_attempts -= 1;
            return Ok(0);
        };
        let beside = self.take_own(w, k);
        let mut given = vec![swapped.coin.clone()];
        given.extend(beside.iter().cloned());
        let request_id = RequestId(rand::random());
        let (request, _) = wallet::prepare_swap(&mut rand::rng(), request_id, &given, &wanted)
            .map_err(PartyError::from)?;
        let issuer = self.wallets[w].issuer;
        let api = &mut self.issuers[issuer];
        let mut attempt = || api.swap(&request);
        let mut answer = attempt();
        let mut tries = 1;
        while let Err(SwapError::Api(error)) = &answer {
            if !ambiguous(error) || tries >= 3 {
                break;
            }
            self.shared.retries.count(error);
            tries += 1;
            answer = attempt();
        }
        if matches!(&answer, Err(SwapError::Conflict { .. }))
            || matches!(&answer, Err(SwapError::Api(error)) if !ambiguous(error))
        {
            self.wallets[w].pouch.extend(beside.iter().cloned());
        }
        let mut books = self.shared.books();
        match answer {
            Err(SwapError::Conflict { earlier, .. }) => {
                let proven = match earlier.as_ref() {
                    EarlierSpend::Swap(p) => {
                        *p == swapped.permission
                            || (p.body().coin == swapped.permission.body().coin
                                && p.verify_coin_key().is_ok())
                    }
                    EarlierSpend::Deposit(p) => {
                        p.body().coin == swapped.permission.body().coin
                            && p.verify_coin_key().is_ok()
                    }
                    EarlierSpend::Recoup(_) => false,
                };
                if proven {
                    books.swapped_spends_refused_with_proof += 1;
                } else {
                    books.swapped_spend_failures.push(format!(
                        "coin {key}: second swap of a refunded coin refused with a bad proof"
                    ));
                }
                Ok(1)
            }
            Err(SwapError::Api(error)) if error.code() == Some(UNBALANCED) => {
                books.swapped_spends_refused_with_proof += 1;
                Ok(1)
            }
            Err(SwapError::Api(error)) => {
                drop(books);
                let what = format!("coin {key}: second swap of a refunded coin: {error}");
                let error = OpError::Api(error);
                self.book_swapped_unjudged(what, &error);
                Err(error)
            }
            Ok(response) => {
                let mut inputs = vec![input];
                inputs.extend(beside.iter().map(|c| self.input(w, c, false)));
                books.swaps.push(SwapBook {
                    issuer: self.wallets[w].issuer_bank.to_string(),
                    currency: currency.code().to_owned(),
                    inputs,
                    outputs_minor: wanted.iter().map(|d| d.value().minor_units()).sum(),
                    outputs: wanted.len() as u64,
                });
                books.swapped_spend_failures.push(format!(
                    "coin {key}: a refunded coin swapped a second time, {} coins signed",
                    response.blind_signatures.len()
                ));
                Ok(1)
            }
        }
    }

    /// Books a spend of a swapped coin that got no verdict: a failure, unless the deployment was
    /// down (a crash-kill soak) and it only went unanswered.
    fn book_swapped_unjudged(&self, what: String, error: &OpError) {
        let mut books = self.shared.books();
        if self.shared.tolerate_outages && outage(&error.code()) {
            books.swapped_spends_unanswered += 1;
        } else {
            books.swapped_spend_failures.push(what);
        }
    }
}
