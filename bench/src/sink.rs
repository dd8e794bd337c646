//! A link handler that only takes requests in: it answers each with its digest, so a run can
//! measure the link alone; and the per-request call counts that let any run check that each
//! request was handled exactly once.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hasher as _};
use std::sync::{Arc, Mutex};

use semper_link::{Handler, HandlerFuture, PeerIdentity, RemoteError};

/// The digest a [`DigestSink`] answers `payload` with: SipHash with fixed keys, big-endian.
pub fn digest(payload: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(payload);
    hasher.finish()
}

/// How many times each request (by [`digest`]) reached a handler.
#[derive(Default)]
pub struct CallCounts {
    calls: Mutex<HashMap<u64, u32>>,
}

impl CallCounts {
    /// Counts one call with `payload`, and returns its digest.
    pub fn record(&self, payload: &[u8]) -> u64 {
        let digest = digest(payload);
        *self
            .calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(digest)
            .or_default() += 1;
        digest
    }

    /// How many times a request with `digest` was handled.
    pub fn calls(&self, digest: u64) -> u32 {
        let calls = self
            .calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        calls.get(&digest).copied().unwrap_or(0)
    }
}

/// Answers each request with [`digest`] of its payload, and counts the calls per digest.
#[derive(Default)]
pub struct DigestSink {
    /// The calls it took.
    pub counts: CallCounts,
}

impl Handler for DigestSink {
    fn request(&self, _peer: PeerIdentity, payload: Vec<u8>) -> HandlerFuture<Vec<u8>> {
        let digest = self.counts.record(&payload);
        Box::pin(async move { Ok(digest.to_be_bytes().to_vec()) })
    }

    fn one_way(&self, _peer: PeerIdentity, _payload: Vec<u8>) -> HandlerFuture<()> {
        Box::pin(async {
            Err(RemoteError::new(
                "bench.one_way",
                "this sink takes requests only",
            ))
        })
    }
}

/// Passes every call to another handler, counting each request first.
pub struct Counted {
    counts: Arc<CallCounts>,
    inner: Arc<dyn Handler>,
}

impl Counted {
    /// Counts the requests `inner` gets in `counts`.
    pub fn new(inner: Arc<dyn Handler>, counts: Arc<CallCounts>) -> Self {
        Self { counts, inner }
    }
}

impl Handler for Counted {
    fn request(&self, peer: PeerIdentity, payload: Vec<u8>) -> HandlerFuture<Vec<u8>> {
        self.counts.record(&payload);
        self.inner.request(peer, payload)
    }

    fn one_way(&self, peer: PeerIdentity, payload: Vec<u8>) -> HandlerFuture<()> {
        self.inner.one_way(peer, payload)
    }
}
