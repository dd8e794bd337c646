//! semper's pure core: the protocol's types, their canonical encoding, the e-cash cryptography and
//! the wallet's side of each protocol.
//!
//! Nothing here does I/O, reads a clock or touches a database: callers pass bytes, time and
//! randomness in, and get values out. The actors, the server, wallets and the load test are shells
//! around it.
//!
//! - [`amount`], [`time`], [`ids`]: money, instants and identifiers.
//! - [`codec`]: the canonical, versioned binary encoding of everything signed or sent between banks.
//! - [`crypto`]: Ed25519 (ZIP-215, single and batch) and blind RSA (RFC 9474).
//! - [`denomination`], [`messages`], [`signed`]: the protocol's values.
//! - [`set_succession`]: what a new denomination set may change of the one before it.
//! - [`batch_verifier`]: the deposit hot path.
//! - [`clearing`]: the clearing house's checks, claims and netting.
//! - [`reconcile`]: what a bank records when a settlement report disagrees with its books.
//! - [`issuer`], [`acquirer`]: each bank's decisions, as pure functions; [`refund`]: both banks'
//!   refund decisions.
//! - [`wallet`]: withdraw, finalize and pay, as a wallet does them.

pub mod acquirer;
pub mod amount;
pub mod batch_verifier;
pub mod bounded;
pub mod clearing;
pub mod codec;
pub mod crypto;
pub mod denomination;
pub mod denomination_book;
pub mod hex_serde;
pub mod ids;
pub mod issuer;
pub mod limits;
pub mod messages;
pub mod reconcile;
pub mod refund;
pub mod set_succession;
pub mod signed;
pub mod time;
pub mod wallet;

#[cfg(test)]
mod test_keys;
