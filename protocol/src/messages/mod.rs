//! The protocol's messages, one module per flow (see DESIGN.md, "The flows").

pub mod coin;
pub mod deposit;
pub mod link;
pub mod merchant;
pub mod receipt;
pub mod settlement;
pub mod spend;
pub mod withdraw;
