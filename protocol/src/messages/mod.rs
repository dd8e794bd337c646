//! The protocol's messages, one module per flow (see DESIGN.md, "The flows").

pub mod account;
pub mod coin;
pub mod deposit;
pub mod deposit_answer;
pub mod link;
pub mod merchant;
pub mod read;
pub mod receipt;
pub mod recoup;
pub mod refund;
pub mod settlement;
pub mod spend;
pub mod swap;
pub mod withdraw;
