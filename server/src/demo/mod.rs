//! The in-process demo of the protocol core: one issuer, one acquirer and one wallet in one
//! process, with no storage, no HTTP and no inter-bank link yet.
//!
//! The crypto and the checks are the real ones from `semper-protocol`: RSA blind signatures (RFC
//! 9474) on withdrawal, batch verification of deposit permissions, the issuer's spent set with its
//! three answers, and a signed spend confirmation. The issuer and acquirer here are stand-ins for
//! the actors: their state lives in `HashMap`s and is gone when the process ends.

mod acquirer;
mod flow;
mod issuer;
mod report;

use semper_protocol::amount::AmountError;
use semper_protocol::batch_verifier::PoolError;
use semper_protocol::crypto::blind_rsa::{RsaError, RsaKeySize};
use semper_protocol::crypto::ed25519::SignatureError;
use semper_protocol::denomination::DenominationError;
use semper_protocol::limits::WITHDRAW_COINS_MAX;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::WalletError;

pub use acquirer::AcquirerError;
pub use flow::run;
pub use issuer::IssuerError;
pub use report::{DemoReport, Timings};

/// What the demo withdraws and spends.
#[derive(Clone, Copy, Debug)]
pub struct DemoOptions {
    /// Coins withdrawn in one request and spent: 1 to [`WITHDRAW_COINS_MAX`].
    pub coins: usize,
    /// The denomination key's modulus size.
    pub rsa_size: RsaKeySize,
    /// Workers of each bank's verification pool.
    pub verify_threads: usize,
    /// The demo's one instant: every window check and timestamp uses it. The caller reads the
    /// clock, as the protocol core never does.
    pub now: Timestamp,
}

/// Why the demo stopped. Any of these makes the `semper demo` command fail.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The options are out of range.
    #[error("coins must be between 1 and {WITHDRAW_COINS_MAX}, got {0}")]
    CoinCount(usize),
    /// A denomination key could not be made.
    #[error("denomination key: {0}")]
    Rsa(#[from] RsaError),
    /// The denomination or its set was refused.
    #[error("denomination: {0}")]
    Denomination(#[from] DenominationError),
    /// The denomination set's signature did not verify under the issuer's master key.
    #[error("denomination set: {0}")]
    DenominationSet(SignatureError),
    /// Amount arithmetic failed.
    #[error("amount: {0}")]
    Amount(#[from] AmountError),
    /// A verification pool could not be started.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The wallet refused something.
    #[error("wallet: {0}")]
    Wallet(#[from] WalletError),
    /// The issuer refused a request.
    #[error("issuer: {0} ({code})", code = .0.code())]
    Issuer(#[from] IssuerError),
    /// The acquirer refused the issuer's answer.
    #[error("acquirer: {0} ({code})", code = .0.code())]
    Acquirer(#[from] AcquirerError),
    /// An outcome was not the one the protocol promises.
    #[error("check failed: {0}")]
    CheckFailed(String),
}
