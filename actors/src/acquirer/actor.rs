//! The acquirer's actix shell: a bounded mailbox in front of [`AcquirerState`], the micro-batch
//! being filled, the deposits and coins in flight, and the outbox's timer, each of whose passes
//! is followed by a catch-up on settlement reports (see `reports`); [`AcquirerHandle`] for
//! callers. Handlers never block: crypto and reads go to the pool, writes to the committer, calls
//! to other banks to tasks on the actor's own arbiter, and results come back as futures.
//!
//! A deposit retried while it is in flight (same id, same body) waits for the same answer; with
//! another body it is refused at once (`deposit.id_reused`). A deposit holding a coin that another
//! deposit in flight holds is refused at once (`deposit.coin_in_flight`, retryable), so a coin is
//! never at an issuer twice at a time, nor confirmed twice.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::ids::{Digest, MerchantId, RequestId, SubmissionId};
use semper_protocol::messages::merchant::{DepositResponse, SignedDepositRequest};
use semper_protocol::messages::refund::{RefundResponse, SignedRefundRequest};
use semper_storage::acquirer::deposits;
use semper_storage::acquirer::merchants::{self, MerchantError, MerchantRecord, RegisterMerchant};
use semper_storage::acquirer::refunds::{self as refund_records, RefundRecord};
use semper_storage::acquirer::submissions::{self, SubmissionRecord};

use super::batch::{self, Answers};
use super::denominations;
use super::error::AcquirerError;
use super::intake::{self, Admitted, DepositKey, Intake};
use super::metrics;
use super::outbox::{self, OutboxStatus};
use super::refunds;
use super::state::AcquirerState;
use crate::gateway::{ClearingGateway, IssuerGateway};
use crate::in_flight::Ticket;
use crate::mailbox::{self, MailboxDepth, Queued};

mod reports;

/// Where an answer goes.
type Reply<T> = mailbox::Reply<T, AcquirerError>;

/// Most callers waiting on one deposit in flight: the first and its retries.
pub const DEPOSIT_WAITERS_MAX: usize = 8;
/// Most callers waiting for an outbox flush.
pub const FLUSH_WAITERS_MAX: usize = 64;

/// Where a deposit stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DepositStatus {
    /// Never seen.
    Unknown,
    /// In a micro-batch, at an issuer or being written.
    InProgress,
    /// Some coins have no answer yet: retry the deposit with the same id.
    Incomplete,
    /// Answered: the answer every retry gets, and the digest of the request it answers (what the
    /// signed answer names).
    Done(DepositResponse, Digest),
}

/// A deposit in flight, and everyone waiting for its answer.
struct InFlightDeposit {
    digest: Digest,
    coins: Vec<[u8; 64]>,
    waiters: Vec<(Reply<DepositResponse>, Ticket)>,
}

/// The micro-batch being filled.
#[derive(Default)]
struct MicroBatch {
    deposits: Vec<Admitted>,
    coins: usize,
    /// Bumped at every close, so that the timer of a closed batch does nothing.
    generation: u64,
}

/// The outbox passes: one at a time, callers of a flush answered by the next pass to start.
#[derive(Default)]
struct OutboxDriver {
    running: bool,
    /// Answered when the running pass ends.
    current: Vec<Reply<OutboxStatus>>,
    /// Answered by the pass after it.
    next: Vec<Reply<OutboxStatus>>,
    /// Passes failed in a row.
    failures: u32,
    /// No timed pass before this.
    retry_at: Option<Instant>,
    /// Whether the running pass, once it succeeds, is followed by a catch-up on reports.
    catch_up_after: bool,
}

/// The acquirer actor.
pub struct AcquirerActor {
    state: Arc<AcquirerState>,
    issuers: Arc<dyn IssuerGateway>,
    clearing: Arc<dyn ClearingGateway>,
    batch: MicroBatch,
    deposits: HashMap<DepositKey, InFlightDeposit>,
    coins: HashSet<[u8; 64]>,
    outbox: OutboxDriver,
    /// Whether a timed catch-up on settlement reports is running.
    catching_up: bool,
    /// Whether a pass forwarding refund notices to issuers is running.
    forwarding: bool,
}

impl AcquirerActor {
    /// An actor over `state`, reaching issuers and the clearing house through the gateways.
    pub fn new(
        state: Arc<AcquirerState>,
        issuers: Arc<dyn IssuerGateway>,
        clearing: Arc<dyn ClearingGateway>,
    ) -> Self {
        Self {
            state,
            issuers,
            clearing,
            batch: MicroBatch::default(),
            deposits: HashMap::new(),
            coins: HashSet::new(),
            outbox: OutboxDriver::default(),
            catching_up: false,
            forwarding: false,
        }
    }

    /// Admits a request, or answers "busy" and returns `None`.
    fn admit_request<T>(&self, reply: Reply<T>) -> Option<(Reply<T>, Ticket)> {
        match self.state.in_flight.admit() {
            Some(ticket) => Some((reply, ticket)),
            None => {
                let _ = reply.send(Err(AcquirerError::Busy));
                None
            }
        }
    }

    /// Runs `work` as a task of the actor, and sends its result to `reply`.
    fn answer_with<T: Send + 'static>(
        &self,
        context: &mut Context<Self>,
        (reply, ticket): (Reply<T>, Ticket),
        work: impl Future<Output = Result<T, AcquirerError>> + 'static,
    ) {
        context.spawn(
            async move {
                let answer = work.await;
                drop(ticket);
                // The caller may have given up waiting; then no one needs the answer.
                let _ = reply.send(answer);
            }
            .into_actor(self),
        );
    }

    /// Puts a checked deposit into the micro-batch, or attaches a retry to the same deposit in
    /// flight.
    fn admit(
        &mut self,
        deposit: Admitted,
        waiter: (Reply<DepositResponse>, Ticket),
        context: &mut Context<Self>,
    ) {
        let key = deposit.key();
        if let Some(running) = self.deposits.get_mut(&key) {
            let refusal = if running.digest != deposit.digest {
                AcquirerError::Merchant(MerchantError::DepositIdReused)
            } else if running.waiters.len() >= DEPOSIT_WAITERS_MAX {
                AcquirerError::Busy
            } else {
                running.waiters.push(waiter);
                return;
            };
            let _ = waiter.0.send(Err(refusal));
            return;
        }
        if deposit.coins.iter().any(|coin| self.coins.contains(coin)) {
            let _ = waiter.0.send(Err(AcquirerError::CoinInFlight));
            return;
        }
        self.coins.extend(deposit.coins.iter().copied());
        self.deposits.insert(
            key,
            InFlightDeposit {
                digest: deposit.digest,
                coins: deposit.coins.clone(),
                waiters: vec![waiter],
            },
        );
        let max = self.state.config.batch_max_coins;
        let count = deposit.coins.len();
        // A deposit is never split: if it does not fit, the batch closes first.
        if !self.batch.deposits.is_empty() && self.batch.coins + count > max {
            self.close_batch(context);
        }
        self.batch.deposits.push(deposit);
        self.batch.coins += count;
        if self.batch.coins >= max {
            self.close_batch(context);
        } else if self.batch.deposits.len() == 1 {
            let generation = self.batch.generation;
            let delay = Duration::from_millis(self.state.config.batch_max_delay_ms);
            context.run_later(delay, move |actor, context| {
                if actor.batch.generation == generation {
                    actor.close_batch(context);
                }
            });
        }
    }

    /// Closes the micro-batch and processes it as a task; its deposits are answered when it ends.
    fn close_batch(&mut self, context: &mut Context<Self>) {
        self.batch.generation += 1;
        self.batch.coins = 0;
        let deposits = std::mem::take(&mut self.batch.deposits);
        if deposits.is_empty() {
            return;
        }
        let keys: Vec<DepositKey> = deposits.iter().map(Admitted::key).collect();
        let run = batch::run(self.state.clone(), self.issuers.clone(), deposits);
        context.spawn(run.into_actor(self).map(move |answers, actor, _| {
            actor.answer(answers);
            // Every deposit gets an answer: one the batch left out would hold its coins for ever.
            let left: Answers = keys
                .into_iter()
                .filter(|key| actor.deposits.contains_key(key))
                .map(|key| {
                    (
                        key,
                        Err(AcquirerError::Incomplete {
                            code: "deposit.unanswered".into(),
                        }),
                    )
                })
                .collect();
            actor.answer(left);
        }));
    }

    /// Answers deposits, and frees their ids and coins.
    fn answer(&mut self, answers: Answers) {
        for (key, answer) in answers {
            let Some(deposit) = self.deposits.remove(&key) else {
                continue;
            };
            for coin in &deposit.coins {
                self.coins.remove(coin);
            }
            for (reply, _ticket) in deposit.waiters {
                let _ = reply.send(answer.clone());
            }
        }
    }

    /// Forwards pending refund notices to their issuers as a task, unless a pass is running:
    /// after each recorded refund and at every outbox tick, so that a notice whose issuer was
    /// unreachable is sent again.
    fn forward_refunds(&mut self, context: &mut Context<Self>) {
        if self.forwarding {
            return;
        }
        self.forwarding = true;
        let pass = refunds::forward(self.state.clone(), self.issuers.clone());
        context.spawn(pass.into_actor(self).map(|result, actor, _| {
            actor.forwarding = false;
            if let Err(error) = result {
                tracing::warn!(code = error.code(), %error, "refund forwarding failed");
            }
        }));
    }

    /// A timed outbox pass, then a catch-up on reports, unless a pass is running or the last
    /// failed too recently. The catch-up follows the pass so that no receipt of a report's cycle
    /// is still pending when it is reconciled.
    fn outbox_tick(&mut self, context: &mut Context<Self>) {
        // A gateway that does not hold the outbox lease leaves the outbox, and the catch-up on
        // reports that follows it, to the one that does.
        if !self.state.outbox_lease.leads() {
            return;
        }
        let backing_off = self.outbox.retry_at.is_some_and(|at| Instant::now() < at);
        if !self.outbox.running && !backing_off {
            self.outbox.catch_up_after = true;
            // The pass forwards the refund notices first.
            self.start_outbox_pass(context);
        } else {
            self.forward_refunds(context);
        }
    }

    /// An outbox pass, for the timer or for operators' flushes. It first sends the pending
    /// refund notices to their issuers, so that a flush's answer counts every confirmation the
    /// issuers had for refunds recorded before it (`refunds_queued`), and its submissions carry
    /// them: without it, a refund debited just before a flush and a cut could miss the cycle's
    /// report while its notice was still on its way (a forwarding pass beside it sends the same
    /// notices, which the issuer answers alike, and each answer is recorded once).
    fn start_outbox_pass(&mut self, context: &mut Context<Self>) {
        self.outbox.running = true;
        self.outbox.current = std::mem::take(&mut self.outbox.next);
        let (state, issuers, clearing) = (
            self.state.clone(),
            self.issuers.clone(),
            self.clearing.clone(),
        );
        let pass = async move {
            if let Err(error) = refunds::forward(state.clone(), issuers).await {
                tracing::warn!(code = error.code(), %error, "refund forwarding failed");
            }
            outbox::pass(state, clearing).await
        };
        context.spawn(pass.into_actor(self).map(|result, actor, context| {
            let driver = &mut actor.outbox;
            driver.running = false;
            let catch_up = std::mem::take(&mut driver.catch_up_after) && result.is_ok();
            match &result {
                Ok(_) => {
                    driver.failures = 0;
                    driver.retry_at = None;
                }
                Err(error) => {
                    driver.failures = driver.failures.saturating_add(1);
                    let wait_ms = actor.state.config.submit_retry.backoff_ms(driver.failures);
                    driver.retry_at = Some(Instant::now() + Duration::from_millis(wait_ms));
                    tracing::warn!(code = error.code(), %error, wait_ms, "outbox pass failed");
                }
            }
            for reply in std::mem::take(&mut driver.current) {
                let _ = reply.send(result.clone());
            }
            if !driver.next.is_empty() {
                actor.start_outbox_pass(context);
            }
            if catch_up {
                actor.start_catch_up(context);
            }
        }));
    }
}

impl Actor for AcquirerActor {
    type Context = Context<Self>;

    fn started(&mut self, context: &mut Self::Context) {
        context.set_mailbox_capacity(self.state.config.mailbox_capacity);
        if self.state.outbox_lease.needed() {
            context.run_interval(self.state.outbox_lease.renew_every(), |actor, _| {
                let state = actor.state.clone();
                actor.state.pool.spawn(move || {
                    state
                        .outbox_lease
                        .renew(&state.committer, state.clock.as_ref());
                });
            });
        }
        let every = Duration::from_millis(self.state.config.submit_interval_ms.max(1));
        context.run_interval(every, |actor, context| actor.outbox_tick(context));
        // Submissions left pending by the last run go out first.
        self.outbox_tick(context);
    }
}

/// Registers a merchant.
struct RegisterMessage {
    merchant: MerchantId,
    public_key: VerifyingKey,
    reply: Reply<MerchantRecord>,
}

/// Deposits coins for a merchant.
struct DepositMessage {
    request: SignedDepositRequest,
    reply: Reply<DepositResponse>,
}

/// Where a deposit stands.
struct DepositStatusMessage {
    key: DepositKey,
    reply: Reply<DepositStatus>,
}

/// Work for the pool that reads the state.
type Query<T> = Box<dyn FnOnce(&AcquirerState) -> Result<T, AcquirerError> + Send>;

/// A read of the store, on the pool.
struct QueryMessage<T> {
    work: Query<T>,
    reply: Reply<T>,
}

/// Refreshes the issuers' denomination sets.
struct RefreshMessage {
    reply: Reply<usize>,
}

/// Runs an outbox pass now.
struct FlushMessage {
    reply: Reply<OutboxStatus>,
}

/// Refunds a coin for a merchant.
struct RefundMessage {
    request: SignedRefundRequest,
    reply: Reply<RefundResponse>,
}

/// Forwards pending refund notices now.
struct ForwardRefundsMessage {
    reply: Reply<usize>,
}

impl Message for RegisterMessage {
    type Result = ();
}
impl Message for DepositMessage {
    type Result = ();
}
impl Message for DepositStatusMessage {
    type Result = ();
}
impl<T: Send + 'static> Message for QueryMessage<T> {
    type Result = ();
}
impl Message for RefreshMessage {
    type Result = ();
}
impl Message for FlushMessage {
    type Result = ();
}
impl Message for RefundMessage {
    type Result = ();
}
impl Message for ForwardRefundsMessage {
    type Result = ();
}

crate::counted_mailbox!(
    AcquirerActor: RegisterMessage,
    DepositMessage,
    DepositStatusMessage,
    RefreshMessage,
    FlushMessage,
    RefundMessage,
    ForwardRefundsMessage
);
crate::counted_mailbox!(impl[T: Send + 'static] AcquirerActor: QueryMessage<T>);

impl Handler<RegisterMessage> for AcquirerActor {
    type Result = ();

    fn handle(&mut self, message: RegisterMessage, context: &mut Self::Context) {
        let Some(waiter) = self.admit_request(message.reply) else {
            return;
        };
        let committed = self.state.commit(RegisterMerchant {
            merchant: message.merchant,
            public_key: message.public_key,
        });
        self.answer_with(context, waiter, async move { Ok(committed.await??) });
    }
}

impl Handler<DepositMessage> for AcquirerActor {
    type Result = ();

    fn handle(&mut self, message: DepositMessage, context: &mut Self::Context) {
        let Some(waiter) = self.admit_request(message.reply) else {
            return;
        };
        let request = message.request;
        let checked = self
            .state
            .on_pool(move |state| intake::prepare(state, request));
        context.spawn(
            checked
                .into_actor(self)
                .map(
                    move |checked, actor, context| match checked.and_then(|intake| intake) {
                        Ok(Intake::Admit(deposit)) => actor.admit(deposit, waiter, context),
                        Ok(Intake::Answered(response)) => {
                            metrics::deposit_answered("replayed", None);
                            let _ = waiter.0.send(Ok(response));
                        }
                        Err(error) => {
                            metrics::deposit_answered("refused", None);
                            let _ = waiter.0.send(Err(error));
                        }
                    },
                ),
        );
    }
}

impl Handler<DepositStatusMessage> for AcquirerActor {
    type Result = ();

    fn handle(&mut self, message: DepositStatusMessage, context: &mut Self::Context) {
        if self.deposits.contains_key(&message.key) {
            let _ = message.reply.send(Ok(DepositStatus::InProgress));
            return;
        }
        let Some(waiter) = self.admit_request(message.reply) else {
            return;
        };
        let (merchant, deposit_id) = message.key;
        let read = self.state.on_pool(move |state| {
            Ok(
                match deposits::deposit(&state.store, &merchant, &deposit_id)? {
                    None => DepositStatus::Unknown,
                    Some(record) => match record.response {
                        None => DepositStatus::Incomplete,
                        Some(response) => DepositStatus::Done(response, record.request_digest),
                    },
                },
            )
        });
        self.answer_with(context, waiter, async move { read.await? });
    }
}

impl<T: Send + 'static> Handler<QueryMessage<T>> for AcquirerActor {
    type Result = ();

    fn handle(&mut self, message: QueryMessage<T>, context: &mut Self::Context) {
        let Some(waiter) = self.admit_request(message.reply) else {
            return;
        };
        let read = self.state.on_pool(message.work);
        self.answer_with(context, waiter, async move { read.await? });
    }
}

impl Handler<RefreshMessage> for AcquirerActor {
    type Result = ();

    fn handle(&mut self, message: RefreshMessage, context: &mut Self::Context) {
        let Some(waiter) = self.admit_request(message.reply) else {
            return;
        };
        let refresh = denominations::refresh(self.state.clone(), self.issuers.clone());
        self.answer_with(context, waiter, refresh);
    }
}

impl Handler<FlushMessage> for AcquirerActor {
    type Result = ();

    fn handle(&mut self, message: FlushMessage, context: &mut Self::Context) {
        let waiting = self.outbox.current.len() + self.outbox.next.len();
        if waiting >= FLUSH_WAITERS_MAX {
            let _ = message.reply.send(Err(AcquirerError::Busy));
            return;
        }
        self.outbox.next.push(message.reply);
        if !self.outbox.running {
            self.start_outbox_pass(context);
        }
    }
}

impl Handler<RefundMessage> for AcquirerActor {
    type Result = ();

    fn handle(&mut self, message: RefundMessage, context: &mut Self::Context) {
        let Some((reply, ticket)) = self.admit_request(message.reply) else {
            return;
        };
        let recorded = refunds::record(self.state.clone(), message.request);
        context.spawn(
            recorded
                .into_actor(self)
                .map(move |answer, actor, context| {
                    drop(ticket);
                    if answer.is_ok() {
                        actor.forward_refunds(context);
                    }
                    let _ = reply.send(answer);
                }),
        );
    }
}

impl Handler<ForwardRefundsMessage> for AcquirerActor {
    type Result = ();

    fn handle(&mut self, message: ForwardRefundsMessage, context: &mut Self::Context) {
        let Some(waiter) = self.admit_request(message.reply) else {
            return;
        };
        // Its own pass, beside a timed one: both send the same notices, which the issuer
        // answers alike, and the answer is recorded once.
        let pass = refunds::forward(self.state.clone(), self.issuers.clone());
        self.answer_with(context, waiter, pass);
    }
}

/// How callers talk to the acquirer: each call answers "busy" at once when the mailbox is full.
#[derive(Clone)]
pub struct AcquirerHandle {
    address: Addr<AcquirerActor>,
    depth: MailboxDepth,
    state: Arc<AcquirerState>,
}

impl AcquirerHandle {
    /// Stops the actor: it takes no more messages and its timers end. Its state (and DB) closes
    /// once the last handle on it is gone too.
    pub fn stop(&self) {
        self.address.do_send(mailbox::Stop);
    }

    /// Starts the actor over `state` in the current actix system.
    pub fn start(
        state: Arc<AcquirerState>,
        issuers: Arc<dyn IssuerGateway>,
        clearing: Arc<dyn ClearingGateway>,
    ) -> Self {
        let depth = MailboxDepth::new("acquirer");
        let address = AcquirerActor::new(state.clone(), issuers, clearing).start();
        Self {
            address,
            depth,
            state,
        }
    }

    async fn call<M, T>(&self, message: impl FnOnce(Reply<T>) -> M) -> Result<T, AcquirerError>
    where
        M: Message<Result = ()> + Send + 'static,
        AcquirerActor: Handler<Queued<M>>,
    {
        mailbox::call(&self.address, &self.depth, message).await
    }

    async fn query<T: Send + 'static>(
        &self,
        work: impl FnOnce(&AcquirerState) -> Result<T, AcquirerError> + Send + 'static,
    ) -> Result<T, AcquirerError> {
        self.call(|reply| QueryMessage {
            work: Box::new(work),
            reply,
        })
        .await
    }

    /// Registers a merchant with the key that signs its deposits; again with the same key is a
    /// replay.
    pub async fn register_merchant(
        &self,
        merchant: MerchantId,
        public_key: VerifyingKey,
    ) -> Result<MerchantRecord, AcquirerError> {
        self.call(|reply| RegisterMessage {
            merchant,
            public_key,
            reply,
        })
        .await
    }

    /// Deposits coins: a result per coin, once every coin's credit is durable. A retry with the
    /// same id and body gets the same answer and is credited once.
    pub async fn deposit(
        &self,
        request: SignedDepositRequest,
    ) -> Result<DepositResponse, AcquirerError> {
        self.call(|reply| DepositMessage { request, reply }).await
    }

    /// Where a deposit stands.
    pub async fn deposit_status(
        &self,
        merchant: MerchantId,
        deposit_id: RequestId,
    ) -> Result<DepositStatus, AcquirerError> {
        self.call(|reply| DepositStatusMessage {
            key: (merchant, deposit_id),
            reply,
        })
        .await
    }

    /// A merchant's key and balances.
    pub async fn merchant(&self, merchant: MerchantId) -> Result<MerchantRecord, AcquirerError> {
        self.query(move |state| {
            merchants::merchant(&state.store, &merchant)?
                .ok_or(MerchantError::UnknownMerchant.into())
        })
        .await
    }

    /// Fetches, checks and takes each trusted issuer's denomination set; returns how many
    /// denominations are known.
    pub async fn refresh_denominations(&self) -> Result<usize, AcquirerError> {
        self.call(|reply| RefreshMessage { reply }).await
    }

    /// Where the outbox stands.
    pub async fn outbox_status(&self) -> Result<OutboxStatus, AcquirerError> {
        self.query(outbox::status).await
    }

    /// Runs an outbox pass now (operators and tests): sends what is pending and queued, and
    /// returns where the outbox stands after it, or why the pass stopped.
    pub async fn flush_outbox(&self) -> Result<OutboxStatus, AcquirerError> {
        self.call(|reply| FlushMessage { reply }).await
    }

    /// Refunds (part of) a coin the merchant deposited: answers once the merchant's debit is
    /// durable; the coin's issuer is told afterwards, retried until it answers. A retry with the
    /// same id and body gets the same answer and is debited once.
    pub async fn refund(
        &self,
        request: SignedRefundRequest,
    ) -> Result<RefundResponse, AcquirerError> {
        self.call(|reply| RefundMessage { request, reply }).await
    }

    /// Sends the pending refund notices to their issuers now (operators and tests), and returns
    /// how many got their answer.
    pub async fn forward_refunds(&self) -> Result<usize, AcquirerError> {
        self.call(|reply| ForwardRefundsMessage { reply }).await
    }

    /// A merchant's refund as stored, with the issuer's answer once had.
    pub async fn refund_record(
        &self,
        merchant: MerchantId,
        refund_id: RequestId,
    ) -> Result<Option<RefundRecord>, AcquirerError> {
        self.query(move |state| {
            Ok(refund_records::refund_record(
                &state.store,
                &merchant,
                &refund_id,
            )?)
        })
        .await
    }

    /// A stored submission, with its receipt once answered.
    pub async fn submission(
        &self,
        submission_id: SubmissionId,
    ) -> Result<Option<SubmissionRecord>, AcquirerError> {
        self.query(move |state| Ok(submissions::submission(&state.store, &submission_id)?))
            .await
    }

    /// The acquirer's state, for read-only queries.
    pub fn state(&self) -> &Arc<AcquirerState> {
        &self.state
    }
}

impl Handler<mailbox::Stop> for AcquirerActor {
    type Result = ();

    fn handle(&mut self, _: mailbox::Stop, context: &mut Self::Context) {
        context.stop();
    }
}
