//! The actor's side of settlement reports: receiving one, catching up on those missed on demand,
//! and the catch-up that follows each timed outbox pass.

use actix::prelude::*;
use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::reconcile::Discrepancy;
use semper_storage::reports;

use super::{AcquirerActor, AcquirerHandle, Reply};
use crate::acquirer::error::AcquirerError;
use crate::acquirer::reconcile;

/// Receives a settlement report.
struct ReceiveReportMessage {
    report: SignedSettlementReport,
    reply: Reply<Vec<Discrepancy>>,
}

/// Catches up on the settlement reports missed.
struct CatchUpMessage {
    reply: Reply<usize>,
}

impl Message for ReceiveReportMessage {
    type Result = ();
}
impl Message for CatchUpMessage {
    type Result = ();
}

crate::counted_mailbox!(AcquirerActor: ReceiveReportMessage, CatchUpMessage);

impl Handler<ReceiveReportMessage> for AcquirerActor {
    type Result = ();

    fn handle(&mut self, message: ReceiveReportMessage, context: &mut Self::Context) {
        let Some(waiter) = self.admit_request(message.reply) else {
            return;
        };
        let receive = reconcile::receive(self.state.clone(), message.report);
        self.answer_with(context, waiter, receive);
    }
}

impl Handler<CatchUpMessage> for AcquirerActor {
    type Result = ();

    fn handle(&mut self, message: CatchUpMessage, context: &mut Self::Context) {
        let Some(waiter) = self.admit_request(message.reply) else {
            return;
        };
        let catch_up = reconcile::catch_up(self.state.clone(), self.clearing.clone());
        self.answer_with(context, waiter, catch_up);
    }
}

impl AcquirerActor {
    /// Catches up on the reports missed, as a task, unless a timed catch-up is running.
    pub(super) fn start_catch_up(&mut self, context: &mut Context<Self>) {
        if self.catching_up {
            return;
        }
        self.catching_up = true;
        let run = reconcile::catch_up(self.state.clone(), self.clearing.clone());
        context.spawn(run.into_actor(self).map(|result, actor, _| {
            actor.catching_up = false;
            match result {
                Ok(0) => {}
                Ok(applied) => tracing::info!(applied, "caught up on settlement reports"),
                Err(error) => tracing::warn!(
                    code = error.code(),
                    %error,
                    "catching up on settlement reports stopped; the next pass retries"
                ),
            }
        }));
    }
}

impl AcquirerHandle {
    /// Receives a settlement report: verifies it against the clearing house in the config,
    /// reconciles it against the claims the clearing house counted for the acquirer in its cycle,
    /// and records it with its discrepancies (none when it agrees). A report that fails
    /// verification is recorded as a bad report and not applied; a re-delivered one changes
    /// nothing and gets the same answer. While a submission awaits its receipt, the report is
    /// refused as retryable (`reconcile.submissions_pending`): catching up applies it later.
    pub async fn receive_report(
        &self,
        report: SignedSettlementReport,
    ) -> Result<Vec<Discrepancy>, AcquirerError> {
        self.call(|reply| ReceiveReportMessage { report, reply })
            .await
    }

    /// The discrepancies recorded, from number `from` on, oldest first: at most `limit`, and
    /// never more than [`reports::DISCREPANCIES_PAGE_MAX`]. Read from the DB, not the mailbox.
    pub fn discrepancies(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<Discrepancy>, AcquirerError> {
        Ok(reports::discrepancies(&self.state.store, from, limit)?)
    }

    /// Asks the clearing house for every report after the last one applied in order, and
    /// receives each; returns how many it applied that it had not before. The outbox's timer
    /// runs it after each pass, so a report missed while the acquirer was down arrives by itself.
    pub async fn catch_up_reports(&self) -> Result<usize, AcquirerError> {
        self.call(|reply| CatchUpMessage { reply }).await
    }
}
