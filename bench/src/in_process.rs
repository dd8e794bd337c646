//! In-process gateways between the actors of one benchmark: the real issuers behind an
//! [`IssuerGateway`], and a clearing house and a report sink for runs that never settle or never
//! deliver.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use semper_actors::gateway::{
    ClearingGateway, GatewayError, GatewayFuture, IssuerGateway, ReportSink,
};
use semper_actors::issuer::{IssuerError, IssuerHandle};
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::ids::BankId;
use semper_protocol::messages::receipt::SignedSubmissionReceipt;
use semper_protocol::messages::refund::{RefundAnswer, SignedRefundNotice};
use semper_protocol::messages::settlement::{SignedSettlementReport, SignedSettlementSubmission};
use semper_protocol::messages::spend::{SignedSpendCheckBatch, SpendCheckResponse};

/// The real issuers, called in process: what a link to each would carry, without the link.
/// Counts the spend checks it carries, to show how full the acquirer's micro-batches were.
pub struct InProcessIssuers {
    handles: HashMap<BankId, IssuerHandle>,
    batches: AtomicU64,
    coins: AtomicU64,
}

impl InProcessIssuers {
    /// A gateway to each issuer of `handles`.
    pub fn new(handles: impl IntoIterator<Item = (BankId, IssuerHandle)>) -> Self {
        Self {
            handles: handles.into_iter().collect(),
            batches: AtomicU64::new(0),
            coins: AtomicU64::new(0),
        }
    }

    /// Spend-check batches sent so far, and the coins in them.
    pub fn spend_checks(&self) -> (u64, u64) {
        (
            self.batches.load(Ordering::Relaxed),
            self.coins.load(Ordering::Relaxed),
        )
    }

    fn handle(&self, issuer: BankId) -> Result<&IssuerHandle, GatewayError> {
        self.handles
            .get(&issuer)
            .ok_or_else(|| GatewayError::refused("link.unknown_peer", "no such issuer"))
    }
}

/// A busy issuer is worth retrying, as over a link; anything else is its refusal.
fn gateway_error(error: IssuerError) -> GatewayError {
    match error {
        IssuerError::Busy => GatewayError::retryable(error.code(), error.to_string()),
        other => GatewayError::refused(other.code(), other.to_string()),
    }
}

impl IssuerGateway for InProcessIssuers {
    fn denomination_set(&self, issuer: BankId) -> GatewayFuture<'_, SignedDenominationSet> {
        let set = self.handle(issuer).and_then(|h| {
            h.denomination_set()
                .map(|set| (*set).clone())
                .map_err(gateway_error)
        });
        Box::pin(async move { set })
    }

    fn spend_check(
        &self,
        issuer: BankId,
        batch: SignedSpendCheckBatch,
    ) -> GatewayFuture<'_, SpendCheckResponse> {
        self.batches.fetch_add(1, Ordering::Relaxed);
        let coins = batch.body().permissions.len() as u64;
        self.coins.fetch_add(coins, Ordering::Relaxed);
        Box::pin(async move {
            self.handle(issuer)?
                .spend_check(batch)
                .await
                .map_err(gateway_error)
        })
    }

    fn refund(
        &self,
        issuer: BankId,
        notice: SignedRefundNotice,
    ) -> GatewayFuture<'_, RefundAnswer> {
        Box::pin(async move {
            self.handle(issuer)?
                .refund(notice)
                .await
                .map_err(gateway_error)
        })
    }
}

/// A clearing house that takes no submission: for an acquirer whose outbox never runs in the
/// benchmark.
pub struct NoClearing;

impl ClearingGateway for NoClearing {
    fn submit(
        &self,
        _submission: SignedSettlementSubmission,
    ) -> GatewayFuture<'_, SignedSubmissionReceipt> {
        Box::pin(async {
            Err(GatewayError::retryable(
                "bench.no_clearing",
                "this benchmark has no clearing house",
            ))
        })
    }

    fn reports_after(
        &self,
        _after_sequence: u64,
        _limit: u32,
    ) -> GatewayFuture<'_, Vec<SignedSettlementReport>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// A report sink that takes every report and keeps none: the benchmark reads reports from the
/// cut itself.
pub struct DiscardReports;

impl ReportSink for DiscardReports {
    fn deliver(
        &self,
        _participant: BankId,
        _report: SignedSettlementReport,
    ) -> GatewayFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}
