//! Why the issuer refused or failed a request.

use semper_protocol::crypto::ed25519::SignatureError;
use semper_protocol::denomination::DenominationError;
use semper_protocol::ids::DenominationId;
use semper_protocol::issuer::recoup::RecoupRefusal;
use semper_protocol::issuer::swap::SwapRefusal;
use semper_protocol::issuer::{BatchRefusal, WithdrawRefusal};
use semper_protocol::messages::spend::EarlierSpend;
use semper_protocol::set_succession::SuccessionRefusal;
use semper_storage::StorageError;
use semper_storage::ledger::LedgerError;

use crate::keystore::KeyStoreError;
use crate::offline::OfflineError;
use crate::signer::SignerError;

/// An issuer failure. Each variant has a stable [`IssuerError::code`]; "busy" means retry later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuerError {
    /// Too much work in progress: retry later.
    #[error("issuer is busy: retry later")]
    Busy,
    /// The issuer has stopped.
    #[error("issuer has stopped")]
    Stopped,
    /// The withdraw request was refused.
    #[error("{0}")]
    Withdraw(#[from] WithdrawRefusal),
    /// The swap request was refused: nothing spent or signed.
    #[error("{0}")]
    Swap(#[from] SwapRefusal),
    /// The swap's request id was recorded for another request.
    #[error("swap request id reused for another request")]
    SwapRequestIdReused,
    /// A coin given in to the swap was spent before by another permission, returned as proof:
    /// nothing spent or signed.
    #[error("coin {index} was spent before")]
    SwapConflict {
        /// The coin's position in the request.
        index: usize,
        /// The permission it was first spent with.
        earlier: Box<EarlierSpend>,
    },
    /// The recoup request was refused: nothing credited or spent.
    #[error("{0}")]
    Recoup(#[from] RecoupRefusal),
    /// The withdrawn coin's slot was recouped before by another request.
    #[error("this withdrawn coin was recouped before by another request")]
    RecoupSlotRecouped,
    /// The coin to recoup was spent before (deposited, swapped or recouped), returned as proof:
    /// nothing credited.
    #[error("the coin was spent before")]
    RecoupCoinSpent {
        /// The permission it was first spent with.
        earlier: Box<EarlierSpend>,
    },
    /// The spend-check batch was refused as a whole.
    #[error("{0}")]
    Batch(#[from] BatchRefusal),
    /// The ledger refused the change.
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    /// A denomination could not be made.
    #[error("{0}")]
    Denomination(#[from] DenominationError),
    /// No such denomination to revoke.
    #[error("unknown denomination")]
    UnknownDenomination,
    /// The issuer holds as many denominations as one published set can list.
    #[error("too many denominations for one published set")]
    TooManyDenominations,
    /// The key store failed.
    #[error("{0}")]
    KeyStore(#[from] KeyStoreError),
    /// Storage failed.
    #[error("{0}")]
    Storage(StorageError),
    /// The signer refused or failed.
    #[error("{0}")]
    Signer(#[from] SignerError),
    /// A key could not be generated.
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
    /// The local master key (the embedded default) could not be used.
    #[error("local master key: {0}")]
    LocalMaster(#[from] OfflineError),
    /// No denomination set is published yet: the operator has not uploaded one.
    #[error(
        "no denomination set is published yet: export one, sign it offline and upload it \
         (README, \"The master key ceremony\")"
    )]
    Unpublished,
    /// The master key is offline: only a set signed with it, uploaded, changes the published set.
    #[error("the master key is offline: revoke with `semper offline revoke`, then upload the set")]
    MasterOffline,
    /// An uploaded set is not signed by the master key the issuer is configured with.
    #[error("the set is not signed by this issuer's master key: {0}")]
    SetSignature(SignatureError),
    /// An uploaded set may not follow the published one.
    #[error("{0}")]
    SetRefused(#[from] SuccessionRefusal),
    /// An uploaded set lists a denomination this issuer's signer never made.
    #[error("the set lists denomination {0}, which this issuer never made")]
    SetUnknownDenomination(DenominationId),
    /// The set stored at the last start is not signed by the master key configured now.
    #[error(
        "the stored denomination set is not signed by the configured master key ({0}): was \
         banks.issuer.master_key changed?"
    )]
    StoredSetSignature(SignatureError),
}

impl From<StorageError> for IssuerError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Busy => Self::Busy,
            StorageError::Closed => Self::Stopped,
            other => Self::Storage(other),
        }
    }
}

impl crate::mailbox::MailboxError for IssuerError {
    fn busy() -> Self {
        Self::Busy
    }

    fn stopped() -> Self {
        Self::Stopped
    }
}

impl IssuerError {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Busy => "issuer.busy",
            Self::Stopped => "issuer.stopped",
            Self::Withdraw(e) => e.code(),
            Self::Swap(e) => e.code(),
            Self::SwapRequestIdReused => "swap.request_id_reused",
            Self::SwapConflict { .. } => "swap.conflict",
            Self::Recoup(e) => e.code(),
            Self::RecoupSlotRecouped => "recoup.already_recouped",
            Self::RecoupCoinSpent { .. } => "recoup.coin_spent",
            Self::Batch(e) => e.code(),
            Self::Ledger(e) => e.code(),
            Self::Denomination(e) => e.code(),
            Self::UnknownDenomination => "denomination.unknown",
            Self::TooManyDenominations => "denomination.too_many",
            Self::KeyStore(e) => e.code(),
            Self::Storage(e) => e.code(),
            Self::KeyGeneration(_) => "issuer.key_generation",
            Self::Signer(e) => e.code(),
            Self::LocalMaster(e) => e.code(),
            Self::Unpublished => "set.unpublished",
            Self::MasterOffline => "set.master_offline",
            Self::SetSignature(_) => "set.invalid_signature",
            Self::SetRefused(e) => e.code(),
            Self::SetUnknownDenomination(_) => "set.unknown_denomination",
            Self::StoredSetSignature(_) => "set.stored_signature",
        }
    }
}

/// The answer of a committed ledger transaction: a storage failure or a ledger refusal, or the
/// value.
pub(crate) fn ledger_outcome<T, E: Into<IssuerError>>(
    committed: Result<Result<T, E>, StorageError>,
) -> Result<T, IssuerError> {
    committed.map_err(IssuerError::from)?.map_err(Into::into)
}
