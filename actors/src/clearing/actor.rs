//! The clearing house's actix shell: a bounded mailbox and the cut-off timer in front of
//! [`ClearingState`], and [`ClearingHandle`] for callers. Handlers never block: each request
//! becomes a task that awaits the pool and the committer.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use semper_protocol::messages::receipt::SignedSubmissionReceipt;
use semper_protocol::messages::settlement::{SignedSettlementReport, SignedSettlementSubmission};
use semper_storage::clearing::{self, OpenCycle};

use super::error::ClearingError;
use super::state::ClearingState;
use super::{cycle, deliver, submit};
use crate::gateway::ReportSink;
use crate::mailbox::{self, MailboxDepth, Queued};

/// Where an answer goes.
type Reply<T> = mailbox::Reply<T, ClearingError>;

/// The clearing actor.
pub struct ClearingActor {
    state: Arc<ClearingState>,
    sink: Arc<dyn ReportSink>,
    mailbox_capacity: usize,
    /// Where this process's delivery of the reports left undelivered stands.
    catch_up: Rc<Cell<CatchUp>>,
}

/// The delivery of the reports a dead or restarted process cut and did not deliver
/// ([`deliver::undelivered`]): once per tenure of the cut-off lease, before its first timed cut,
/// so that a report cut in this tenure is never among them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CatchUp {
    /// Not made in this tenure, or failed: the next tick makes it.
    Due,
    /// Under way: the timer cuts nothing meanwhile.
    Running,
    /// Made for this tenure.
    Done(u64),
}

impl ClearingActor {
    /// An actor over `state` that delivers reports through `sink`, with a mailbox of
    /// `mailbox_capacity` messages.
    pub fn new(
        state: Arc<ClearingState>,
        sink: Arc<dyn ReportSink>,
        mailbox_capacity: usize,
    ) -> Self {
        Self {
            state,
            sink,
            mailbox_capacity,
            catch_up: Rc::new(Cell::new(CatchUp::Due)),
        }
    }

    /// The timer's work: in the lease holder, the catch-up delivery once per tenure, then the
    /// cut-off when it is due.
    fn tick(&self) {
        let Some(tenure) = self.state.cycles.tenure() else {
            return;
        };
        let (state, sink) = (self.state.clone(), self.sink.clone());
        match self.catch_up.get() {
            CatchUp::Running => {}
            CatchUp::Done(done) if done == tenure => {
                actix::spawn(async move {
                    // A failed check is logged where it fails, and made again at the next tick.
                    let _ = cycle::cut_if_due(state, sink).await;
                });
            }
            _ => {
                self.catch_up.set(CatchUp::Running);
                let catch_up = self.catch_up.clone();
                actix::spawn(async move {
                    match deliver::undelivered(state, sink).await {
                        Ok(_) => catch_up.set(CatchUp::Done(tenure)),
                        Err(error) => {
                            tracing::warn!(code = error.code(), %error, "undelivered reports not read; again at the next tick");
                            catch_up.set(CatchUp::Due);
                        }
                    }
                });
            }
        }
    }

    /// Admits a request and runs its task; answers "busy" when too many are in progress.
    fn spawn<T: 'static>(
        &self,
        reply: Reply<T>,
        task: impl Future<Output = Result<T, ClearingError>> + 'static,
    ) {
        let Some(ticket) = self.state.in_flight.admit() else {
            let _ = reply.send(Err(ClearingError::Busy));
            return;
        };
        actix::spawn(async move {
            let result = task.await;
            drop(ticket);
            // The caller may have given up waiting; then no one needs the answer.
            let _ = reply.send(result);
        });
    }
}

impl Actor for ClearingActor {
    type Context = Context<Self>;

    fn started(&mut self, context: &mut Self::Context) {
        context.set_mailbox_capacity(self.mailbox_capacity);
        if self.state.cycles.needed() {
            let every = self.state.cycles.renew_every();
            context.run_interval(every, |actor, _| {
                let state = actor.state.clone();
                actor
                    .state
                    .pool
                    .spawn(move || state.cycles.renew(&state.committer, state.clock.as_ref()));
            });
        }
        let every = Duration::from_millis(self.state.cycle_check_ms.max(1));
        context.run_interval(every, |actor, _| actor.tick());
    }
}

/// Defines a message carrying its reply channel, and its handler, which spawns its task.
macro_rules! clearing_message {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty),* } -> $out:ty,
     |$state:ident, $sink:ident, $msg:ident| $task:expr) => {
        $crate::reply_message!(ClearingActor, ClearingError, $(#[$doc])* $name { $($field: $ty),* } -> $out,
            |actor, $msg, reply| {
                let $state = actor.state.clone();
                #[allow(unused_variables)]
                let $sink = actor.sink.clone();
                actor.spawn(reply, $task);
            });
    };
}

clearing_message!(
    /// Records a settlement submission and answers with its signed receipt.
    SubmitMessage { submission: SignedSettlementSubmission } -> SignedSubmissionReceipt,
    |state, sink, message| submit::run(state, sink, message.0)
);

clearing_message!(
    /// Reads the reports of the cycles after a number.
    ReportsAfterMessage { after_sequence: u64, limit: usize } -> Vec<SignedSettlementReport>,
    |state, sink, message| async move {
        let (after, limit) = message;
        Ok(state.on_pool(move |s| clearing::reports_after(&s.store, after, limit)).await??)
    }
);

clearing_message!(
    /// Reads the open cycle.
    CycleStatusMessage {} -> OpenCycle,
    |state, sink, message| async move { state.open_cycle().await }
);

clearing_message!(
    /// Cuts the open cycle now (operator call).
    CutCycleMessage {} -> SignedSettlementReport,
    |state, sink, message| async move {
        cycle::cut(state, sink, None).await?.ok_or(ClearingError::AlreadyCut)
    }
);

/// How callers talk to the clearing house: each call answers "busy" at once when the mailbox is
/// full.
#[derive(Clone)]
pub struct ClearingHandle {
    address: Addr<ClearingActor>,
    depth: MailboxDepth,
    state: Arc<ClearingState>,
}

impl ClearingHandle {
    /// Stops the actor: it takes no more messages and its timers end. Its state (and DB) closes
    /// once the last handle on it is gone too.
    pub fn stop(&self) {
        self.address.do_send(mailbox::Stop);
    }

    /// Starts the actor over `state` in the current actix system; reports go out through `sink`.
    pub fn start(
        state: Arc<ClearingState>,
        sink: Arc<dyn ReportSink>,
        mailbox_capacity: usize,
    ) -> Self {
        let depth = MailboxDepth::new("clearing");
        let address = ClearingActor::new(state.clone(), sink, mailbox_capacity).start();
        Self {
            address,
            depth,
            state,
        }
    }

    async fn call<M, T>(&self, message: impl FnOnce(Reply<T>) -> M) -> Result<T, ClearingError>
    where
        M: Message<Result = ()> + Send + 'static,
        ClearingActor: Handler<Queued<M>>,
    {
        mailbox::call(&self.address, &self.depth, message).await
    }

    /// Submits a settlement submission; a retry gets the same signed receipt.
    pub async fn submit(
        &self,
        submission: SignedSettlementSubmission,
    ) -> Result<SignedSubmissionReceipt, ClearingError> {
        self.call(|reply| SubmitMessage { submission, reply }).await
    }

    /// The signed reports of the cycles numbered above `after_sequence`, oldest first: at most
    /// `limit`, and never more than [`semper_protocol::limits::REPORTS_AFTER_MAX`].
    pub async fn reports_after(
        &self,
        after_sequence: u64,
        limit: usize,
    ) -> Result<Vec<SignedSettlementReport>, ClearingError> {
        self.call(|reply| ReportsAfterMessage {
            after_sequence,
            limit,
            reply,
        })
        .await
    }

    /// The open cycle: its number, id, opening time and counts.
    pub async fn cycle_status(&self) -> Result<OpenCycle, ClearingError> {
        self.call(|reply| CycleStatusMessage { reply }).await
    }

    /// Cuts the open cycle now, whatever its age and count, and returns its signed report.
    pub async fn cut_cycle(&self) -> Result<SignedSettlementReport, ClearingError> {
        self.call(|reply| CutCycleMessage { reply }).await
    }

    /// The clearing house's state, for read-only queries.
    pub fn state(&self) -> &Arc<ClearingState> {
        &self.state
    }
}

impl Handler<mailbox::Stop> for ClearingActor {
    type Result = ();

    fn handle(&mut self, _: mailbox::Stop, context: &mut Self::Context) {
        context.stop();
    }
}
