//! Why the acquirer refused or failed a request.

use semper_protocol::acquirer::{DepositRefusal, ReceiptError, SetRefusal};
use semper_protocol::ids::BankId;
use semper_storage::StorageError;
use semper_storage::acquirer::merchants::MerchantError;
use semper_storage::acquirer::outbox::OutboxError;
use semper_storage::acquirer::refunds::RefundError;

use crate::gateway::GatewayError;
use crate::keystore::KeyStoreError;
use crate::mailbox::MailboxError;

/// An acquirer failure. Each variant has a stable [`AcquirerError::code`]; "busy", "coin in
/// flight" and "incomplete" mean retry later, with the same deposit id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcquirerError {
    /// Too much work in progress: retry later.
    #[error("acquirer is busy: retry later")]
    Busy,
    /// The acquirer has stopped.
    #[error("acquirer has stopped")]
    Stopped,
    /// The deposit request was refused as a whole.
    #[error("{0}")]
    Deposit(#[from] DepositRefusal),
    /// The merchant ledger refused the change.
    #[error("{0}")]
    Merchant(#[from] MerchantError),
    /// A coin of the deposit is in another deposit still in progress: retry once that one is
    /// answered, to learn whether this coin was credited.
    #[error("a coin of this deposit is in another deposit in progress")]
    CoinInFlight,
    /// Some coins have no answer from their issuer yet; those answered are credited. Retry with
    /// the same deposit id.
    #[error("deposit incomplete ({code}): retry with the same deposit id")]
    Incomplete {
        /// Why, e.g. the issuer could not be reached.
        code: String,
    },
    /// A denomination set was refused.
    #[error("{0}")]
    DenominationSet(#[from] SetRefusal),
    /// A set or answer came from an issuer not in the config.
    #[error("unknown issuer {0}")]
    UnknownIssuer(BankId),
    /// A call to another bank failed.
    #[error("{0}")]
    Gateway(GatewayError),
    /// The clearing house's receipt was refused; the submission stays pending.
    #[error("{0}")]
    Receipt(#[from] ReceiptError),
    /// The outbox refused a change.
    #[error("{0}")]
    Outbox(#[from] OutboxError),
    /// A settlement report came while a submission awaits its receipt, which may file claims
    /// of the report's cycle: retry once the outbox is answered (catching up does).
    #[error("a settlement submission awaits its receipt: reconcile the report later")]
    SubmissionsPending,
    /// The config is not usable.
    #[error("config: {0}")]
    Config(String),
    /// The key store failed.
    #[error("{0}")]
    KeyStore(#[from] KeyStoreError),
    /// Storage failed.
    #[error("{0}")]
    Storage(StorageError),
    /// A merchant's refund was refused; nothing was written.
    #[error("{0}")]
    Refund(#[from] RefundError),
}

impl From<StorageError> for AcquirerError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Busy => Self::Busy,
            StorageError::Closed => Self::Stopped,
            other => Self::Storage(other),
        }
    }
}

impl MailboxError for AcquirerError {
    fn busy() -> Self {
        Self::Busy
    }

    fn stopped() -> Self {
        Self::Stopped
    }
}

impl AcquirerError {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Busy => "acquirer.busy",
            Self::Stopped => "acquirer.stopped",
            Self::Deposit(e) => e.code(),
            Self::Merchant(e) => e.code(),
            Self::CoinInFlight => "deposit.coin_in_flight",
            Self::Incomplete { .. } => "deposit.incomplete",
            Self::DenominationSet(e) => e.code(),
            Self::UnknownIssuer(_) => "acquirer.unknown_issuer",
            Self::Gateway(_) => "acquirer.gateway",
            Self::Receipt(e) => e.code(),
            Self::Outbox(e) => e.code(),
            Self::SubmissionsPending => "reconcile.submissions_pending",
            Self::Config(_) => "acquirer.config",
            Self::KeyStore(e) => e.code(),
            Self::Storage(e) => e.code(),
            Self::Refund(e) => e.code(),
        }
    }

    /// Whether the same request may succeed later.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Busy
            | Self::CoinInFlight
            | Self::Incomplete { .. }
            | Self::SubmissionsPending => true,
            Self::Gateway(e) => e.retryable,
            // A failover of its database: another bank's retry (a report delivery) gets through.
            Self::Storage(e) => e.retryable(),
            _ => false,
        }
    }
}
