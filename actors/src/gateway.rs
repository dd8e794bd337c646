//! How one bank's actor reaches another bank: the acquirer reaches issuers and the clearing house,
//! and the clearing house reaches every participant.
//!
//! The actors see only these traits. The server implements them over the inter-bank link (QUIC,
//! or the emulated ATM circuit); tests and benchmarks implement them in-process. So the settlement
//! code cannot tell which carrier is under it.

use std::future::Future;
use std::pin::Pin;

use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::ids::BankId;
use semper_protocol::messages::receipt::SignedSubmissionReceipt;
use semper_protocol::messages::refund::{RefundAnswer, SignedRefundNotice};
use semper_protocol::messages::settlement::{SignedSettlementReport, SignedSettlementSubmission};
use semper_protocol::messages::spend::{SignedSpendCheckBatch, SpendCheckResponse};

/// A future a gateway returns.
pub type GatewayFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, GatewayError>> + Send + 'a>>;

/// Why a call to another bank failed. `retryable` says whether the same call may be sent again:
/// every inter-bank request is idempotent, so a retry after a lost answer is safe.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct GatewayError {
    /// The stable error code, the remote bank's own when it answered with one.
    pub code: String,
    /// What went wrong, for logs.
    pub message: String,
    /// Whether sending the same request again may succeed (link down, timeout, busy).
    pub retryable: bool,
}

impl GatewayError {
    /// A failure worth retrying: the link, a timeout, or a busy peer.
    pub fn retryable(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            retryable: true,
        }
    }

    /// A refusal that the same request will get again.
    pub fn refused(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            retryable: false,
        }
    }
}

/// The acquirer's way to the issuers: their denomination sets, one spend-check batch to one
/// issuer, and refund notices.
pub trait IssuerGateway: Send + Sync + 'static {
    /// The issuer's signed denomination set as it publishes it now. The caller checks the
    /// signature against the issuer's master key from its own config.
    fn denomination_set(&self, issuer: BankId) -> GatewayFuture<'_, SignedDenominationSet>;

    /// Sends `batch` to `issuer` and returns its answer.
    fn spend_check(
        &self,
        issuer: BankId,
        batch: SignedSpendCheckBatch,
    ) -> GatewayFuture<'_, SpendCheckResponse>;

    /// Sends a refund notice to the coin's `issuer` and returns its answer; a retried notice
    /// gets the same answer.
    fn refund(&self, issuer: BankId, notice: SignedRefundNotice)
    -> GatewayFuture<'_, RefundAnswer>;
}

/// The acquirer's (and any participant's) way to the clearing house.
pub trait ClearingGateway: Send + Sync + 'static {
    /// Submits a settlement submission; a retried submission gets the same receipt.
    fn submit(
        &self,
        submission: SignedSettlementSubmission,
    ) -> GatewayFuture<'_, SignedSubmissionReceipt>;

    /// The signed reports of cycles numbered above `after_sequence`, oldest first, at most
    /// `limit`: how a participant catches up on reports it missed.
    fn reports_after(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> GatewayFuture<'_, Vec<SignedSettlementReport>>;
}

/// The clearing house's way to its participants: pushes each new report. Delivery is best
/// effort; a participant that missed one catches up with [`ClearingGateway::reports_after`].
pub trait ReportSink: Send + Sync + 'static {
    /// Sends `report` to `participant`.
    fn deliver(&self, participant: BankId, report: SignedSettlementReport)
    -> GatewayFuture<'_, ()>;
}
