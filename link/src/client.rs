//! The one client API every carrier implements, so that settlement code cannot tell them apart.

use std::future::Future;
use std::pin::Pin;

use semper_protocol::ids::BankId;

use crate::error::LinkError;

/// The future a [`LinkClient`] returns.
pub type LinkFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, LinkError>> + Send + 'a>>;

/// A client's end of a link to one peer bank.
pub trait LinkClient: Send + Sync {
    /// The bank at the other end.
    fn peer(&self) -> BankId;

    /// Sends a request and waits for its answer, within the link's request timeout.
    fn request(&self, payload: Vec<u8>) -> LinkFuture<'_, Vec<u8>>;

    /// Sends a one-way message; completes once the carrier has delivered it, not handled it.
    fn send(&self, payload: Vec<u8>) -> LinkFuture<'_, ()>;
}
