//! `semper-load`: simulated wallets, merchants and banks that drive a running deployment over its
//! real APIs, with reports and plots.
//!
//! Not built yet: it arrives with the load-test issue, once the server exists. Until then this
//! crate holds no code.
