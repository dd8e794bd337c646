//! What a link server calls for each message it receives.

use std::future::Future;
use std::pin::Pin;

use crate::peer::PeerIdentity;
use crate::remote::RemoteError;

/// The future a [`Handler`] returns: owned, so that the server can run it on its own task.
pub type HandlerFuture<T> = Pin<Box<dyn Future<Output = Result<T, RemoteError>> + Send + 'static>>;

/// The application side of a link server, shared by every carrier.
///
/// `peer` is the authenticated sender; a handler refuses a peer in the wrong role with a
/// [`RemoteError`]. If the requester gives up (timeout) or the connection is lost, the QUIC
/// server drops the future, so a handler must not rely on running to completion.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn request(&self, peer: PeerIdentity, payload: Vec<u8>) -> HandlerFuture<Vec<u8>>;

    /// Takes one one-way message; an error is logged, as nobody waits for it.
    fn one_way(&self, peer: PeerIdentity, payload: Vec<u8>) -> HandlerFuture<()>;
}
