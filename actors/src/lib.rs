//! semper's issuer, acquirer and clearing actors: the imperative shell around `semper-protocol`.
//!
//! Not built yet: the issuer arrives with the Issuer issue, the acquirer and clearing house with
//! the Acquirer/Clearing issue. Until then this crate holds no code.
