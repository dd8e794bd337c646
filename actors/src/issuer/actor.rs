//! The issuer's actix shell: a bounded mailbox in front of [`IssuerState`], and
//! [`IssuerHandle`] for callers. Handlers never block: they admit the request, hand it to the
//! pool, and the answer comes back through a one-shot channel.

use std::sync::Arc;

use actix::prelude::*;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::ids::{AccountId, DenominationId};
use semper_protocol::messages::recoup::{RecoupResponse, SignedRecoupRequest};
use semper_protocol::messages::refund::{RefundAnswer, SignedRefundNotice};
use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::messages::spend::{SignedSpendCheckBatch, SpendCheckResponse};
use semper_protocol::messages::swap::{SwapRequest, SwapResponse};
use semper_protocol::messages::withdraw::{SignedWithdrawRequest, WithdrawResponse};
use semper_protocol::reconcile::Discrepancy;
use semper_storage::ledger::{AccountRecord, Credit, OpenAccount};
use semper_storage::reports;

use super::error::{IssuerError, ledger_outcome};
use super::state::IssuerState;
use super::{lifecycle, publish, reconcile, recoup, refund, spend, swap, withdraw};
use crate::mailbox::{self, MailboxDepth, Queued};

/// Where an answer goes.
type Reply<T> = mailbox::Reply<T, IssuerError>;

/// The issuer actor.
pub struct IssuerActor {
    state: Arc<IssuerState>,
    mailbox_capacity: usize,
}

impl IssuerActor {
    /// An actor over `state`, with a mailbox of `mailbox_capacity` messages.
    pub fn new(state: Arc<IssuerState>, mailbox_capacity: usize) -> Self {
        Self {
            state,
            mailbox_capacity,
        }
    }

    /// Admits a request and runs `work` on the pool with its reply; answers "busy" when too many
    /// requests are in progress.
    fn dispatch<T: Send + 'static>(
        &self,
        reply: Reply<T>,
        work: impl FnOnce(Arc<IssuerState>, Box<dyn FnOnce(Result<T, IssuerError>) + Send>)
        + Send
        + 'static,
    ) {
        let Some(ticket) = self.state.in_flight.admit() else {
            let _ = reply.send(Err(IssuerError::Busy));
            return;
        };
        let state = self.state.clone();
        self.state.pool.spawn(move || {
            let answer = Box::new(move |result| {
                drop(ticket);
                // The caller may have given up waiting; then no one needs the answer.
                let _ = reply.send(result);
            });
            work(state, answer)
        });
    }
}

impl Actor for IssuerActor {
    type Context = Context<Self>;

    fn started(&mut self, context: &mut Self::Context) {
        context.set_mailbox_capacity(self.mailbox_capacity);
        if self.state.rotation.needed() {
            // Several processes share the store: the rotation lease is renewed, and what the
            // others stored is taken, every renewal period.
            context.run_interval(self.state.rotation.renew_every(), |actor, _| {
                let state = actor.state.clone();
                actor.state.pool.spawn(move || {
                    state.rotation.renew(&state.committer, state.clock.as_ref());
                    if let Err(error) = lifecycle::reload(&state) {
                        tracing::warn!(code = error.code(), %error, "denominations not reloaded");
                    }
                });
            });
        }
        // Rotation: keys for the next windows are made ahead of need, off the actor's thread.
        let every = std::time::Duration::from_millis(self.state.schedule.rotation_check_ms.max(1));
        context.run_interval(every, |actor, _| {
            let state = actor.state.clone();
            actor.state.pool.spawn(move || {
                // A failure here is retried at the next tick; requests meanwhile use the keys in force.
                let _ = lifecycle::ensure_ahead(&state, state.clock.now());
            });
        });
    }
}

/// Defines a message carrying its reply channel, and its handler, which admits it and runs its
/// work on the pool.
macro_rules! issuer_message {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty),* } -> $out:ty, |$state:ident, $msg:ident, $reply:ident| $body:expr) => {
        $crate::reply_message!(IssuerActor, IssuerError, $(#[$doc])* $name { $($field: $ty),* } -> $out,
            |actor, $msg, reply| actor.dispatch(reply, move |$state, $reply| $body));
    };
}

issuer_message!(
    /// Opens an account with a zero balance.
    OpenAccountMessage { account: AccountId, public_key: VerifyingKey, currency: Currency } -> AccountRecord,
    |state, message, reply| {
        let (account, public_key, currency) = message;
        let at = state.clock.now();
        let transaction = OpenAccount { account, public_key, currency, at };
        state.committer.submit_or_reply(transaction, move |result| reply(ledger_outcome(result)));
    }
);

issuer_message!(
    /// Credits an account for an incoming transfer (operator call).
    CreditMessage { account: AccountId, reference: String, amount: Amount } -> AccountRecord,
    |state, message, reply| {
        let (account, reference, amount) = message;
        let at = state.clock.now();
        let transaction = Credit { account, reference, amount, at };
        state.committer.submit_or_reply(transaction, move |result| reply(ledger_outcome(result)));
    }
);

issuer_message!(
    /// Withdraws coins.
    WithdrawMessage { request: SignedWithdrawRequest } -> WithdrawResponse,
    |state, message, reply| withdraw::run(state, message.0, reply)
);

issuer_message!(
    /// Swaps coins for new ones (change).
    SwapMessage { request: SwapRequest } -> SwapResponse,
    |state, message, reply| swap::run(state, message.0, reply)
);

issuer_message!(
    /// Credits a withdrawn coin of a revoked denomination back to its account.
    RecoupMessage { request: SignedRecoupRequest } -> RecoupResponse,
    |state, message, reply| recoup::run(state, message.0, reply)
);

issuer_message!(
    /// Checks and spends a batch of coins from an acquirer.
    SpendCheckMessage { batch: SignedSpendCheckBatch } -> SpendCheckResponse,
    |state, message, reply| spend::run(state, message.0, reply)
);

issuer_message!(
    /// Records an acquirer's refund of one of this issuer's coins.
    RefundMessage { notice: SignedRefundNotice } -> RefundAnswer,
    |state, message, reply| refund::run(state, message.0, reply)
);

issuer_message!(
    /// Reconciles a settlement report from the clearing house, and records it.
    ReceiveReportMessage { report: SignedSettlementReport } -> Vec<Discrepancy>,
    |state, message, reply| reconcile::run(state, message.0, reply)
);

issuer_message!(
    /// Generates the keys the schedule needs ahead, and republishes the set.
    EnsureDenominationsMessage {} -> Vec<DenominationId>,
    |state, _message, reply| {
        let now = state.clock.now();
        reply(lifecycle::ensure_ahead(&state, now))
    }
);

issuer_message!(
    /// Revokes a denomination with the local master key, and publishes the set that says so.
    RevokeMessage { denomination: DenominationId } -> Arc<SignedDenominationSet>,
    |state, message, reply| {
        let now = state.clock.now();
        reply(publish::revoke_locally(&state, message.0, now))
    }
);

issuer_message!(
    /// Publishes a set signed by the master key, with the revocations it brings.
    PublishMessage { set: SignedDenominationSet } -> Arc<SignedDenominationSet>,
    |state, message, reply| reply(publish::publish(&state, message.0))
);

/// How callers talk to the issuer: each call answers "busy" at once when the mailbox is full.
#[derive(Clone)]
pub struct IssuerHandle {
    address: Addr<IssuerActor>,
    depth: MailboxDepth,
    state: Arc<IssuerState>,
}

impl IssuerHandle {
    /// Stops the actor: it takes no more messages and its timers end. Its state (and DB) closes
    /// once the last handle on it is gone too.
    pub fn stop(&self) {
        self.address.do_send(mailbox::Stop);
    }

    /// Starts the actor over `state` in the current actix system.
    pub fn start(state: Arc<IssuerState>, mailbox_capacity: usize) -> Self {
        let depth = MailboxDepth::new("issuer");
        let address = IssuerActor::new(state.clone(), mailbox_capacity).start();
        Self {
            address,
            depth,
            state,
        }
    }

    async fn call<M, T>(&self, message: impl FnOnce(Reply<T>) -> M) -> Result<T, IssuerError>
    where
        M: Message<Result = ()> + Send + 'static,
        IssuerActor: Handler<Queued<M>>,
    {
        mailbox::call(&self.address, &self.depth, message).await
    }

    /// Opens an account.
    pub async fn open_account(
        &self,
        account: AccountId,
        public_key: VerifyingKey,
        currency: Currency,
    ) -> Result<AccountRecord, IssuerError> {
        self.call(|reply| OpenAccountMessage {
            account,
            public_key,
            currency,
            reply,
        })
        .await
    }

    /// Credits an account; a reference seen twice credits once.
    pub async fn credit(
        &self,
        account: AccountId,
        reference: String,
        amount: Amount,
    ) -> Result<AccountRecord, IssuerError> {
        self.call(|reply| CreditMessage {
            account,
            reference,
            amount,
            reply,
        })
        .await
    }

    /// Withdraws coins; a replay returns the same signatures.
    pub async fn withdraw(
        &self,
        request: SignedWithdrawRequest,
    ) -> Result<WithdrawResponse, IssuerError> {
        self.call(|reply| WithdrawMessage { request, reply }).await
    }

    /// Swaps coins for new ones (change): all spent and signed, or none.
    pub async fn swap(&self, request: SwapRequest) -> Result<SwapResponse, IssuerError> {
        self.call(|reply| SwapMessage { request, reply }).await
    }

    /// Recoups a withdrawn coin of a revoked denomination: its value credited to the account
    /// that withdrew it, and the coin spent; a replay gets the same answer.
    pub async fn recoup(
        &self,
        request: SignedRecoupRequest,
    ) -> Result<RecoupResponse, IssuerError> {
        self.call(|reply| RecoupMessage { request, reply }).await
    }

    /// Spend-checks a batch.
    pub async fn spend_check(
        &self,
        batch: SignedSpendCheckBatch,
    ) -> Result<SpendCheckResponse, IssuerError> {
        self.call(|reply| SpendCheckMessage { batch, reply }).await
    }

    /// Records a refund notice: the coin may be swapped again for the refunded value, and the
    /// answer carries the signed confirmation (the same to every retry) or the refusal's code.
    pub async fn refund(&self, notice: SignedRefundNotice) -> Result<RefundAnswer, IssuerError> {
        self.call(|reply| RefundMessage { notice, reply }).await
    }

    /// Receives a settlement report: verifies it, reconciles it against the batches the issuer
    /// confirmed, and records it with its discrepancies (none when it agrees). A report that
    /// fails verification is recorded as a bad report and not applied.
    pub async fn receive_report(
        &self,
        report: SignedSettlementReport,
    ) -> Result<Vec<Discrepancy>, IssuerError> {
        self.call(|reply| ReceiveReportMessage { report, reply })
            .await
    }

    /// The discrepancies recorded, from number `from` on, oldest first: at most `limit`, and
    /// never more than [`reports::DISCREPANCIES_PAGE_MAX`]. Read from the DB, not the mailbox.
    pub fn discrepancies(&self, from: u64, limit: usize) -> Result<Vec<Discrepancy>, IssuerError> {
        Ok(reports::discrepancies(&self.state.store, from, limit)?)
    }

    /// The books: coins blind-signed per denomination in recorded withdrawals and swaps, ever
    /// (over a shared store, every process's). Read from the DB, not the mailbox.
    pub fn issued(&self) -> Result<Vec<semper_storage::issued::IssuedCount>, IssuerError> {
        Ok(semper_storage::issued::issued(&self.state.store)?)
    }

    /// Generates keys ahead as the schedule needs.
    pub async fn ensure_denominations(&self) -> Result<Vec<DenominationId>, IssuerError> {
        self.call(|reply| EnsureDenominationsMessage { reply })
            .await
    }

    /// Revokes a denomination with the local master key (the embedded default); with the master
    /// key offline, `set.master_offline`: upload the set `semper offline revoke` signs instead.
    pub async fn revoke(
        &self,
        denomination: DenominationId,
    ) -> Result<Arc<SignedDenominationSet>, IssuerError> {
        self.call(|reply| RevokeMessage {
            denomination,
            reply,
        })
        .await
    }

    /// Publishes a set the master key signed (the operator's upload); see [`publish::publish`].
    pub async fn publish(
        &self,
        set: SignedDenominationSet,
    ) -> Result<Arc<SignedDenominationSet>, IssuerError> {
        self.call(|reply| PublishMessage { set, reply }).await
    }

    /// The set to sign next, issued now: every denomination made, and the revocations taken
    /// (read from memory, no mailbox round trip).
    pub fn export(&self) -> Result<semper_protocol::denomination::DenominationSet, IssuerError> {
        publish::export(&self.state, self.state.clock.now())
    }

    /// The signed denomination set as last published (no mailbox round trip: it is immutable);
    /// `set.unpublished` before the first.
    pub fn denomination_set(&self) -> Result<Arc<SignedDenominationSet>, IssuerError> {
        self.state.published_set().ok_or(IssuerError::Unpublished)
    }

    /// The issuer's state, for read-only queries.
    pub fn state(&self) -> &Arc<IssuerState> {
        &self.state
    }
}

impl Handler<mailbox::Stop> for IssuerActor {
    type Result = ();

    fn handle(&mut self, _: mailbox::Stop, context: &mut Self::Context) {
        context.stop();
    }
}
