//! The inter-bank side of a node: the link handler that serves the roles this process hosts, and
//! the gateways through which its actors reach other banks.
//!
//! Both speak [`semper_protocol::messages::link`] over any [`semper_link::LinkClient`]: QUIC with
//! mutual TLS between processes, or the in-process carrier. The actors cannot tell which.

mod errors;
mod gateways;
mod handler;

pub use errors::{RoleRefusal, gateway_error, remote_error, role_refusal};
pub use gateways::LinkGateways;
pub use handler::{BankHandler, HostedRoles};
