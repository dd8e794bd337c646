//! A link handler that only takes requests in: it answers each with its digest and counts the
//! calls per digest, so a run can measure the link alone and still check every answer and that
//! each request was handled exactly once.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hasher as _};
use std::sync::Mutex;

use semper_link::{Handler, HandlerFuture, PeerIdentity, RemoteError};

/// The digest a [`DigestSink`] answers `payload` with: SipHash with fixed keys, big-endian.
pub fn digest(payload: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(payload);
    hasher.finish()
}

/// Answers each request with [`digest`] of its payload, and counts the calls per digest.
#[derive(Default)]
pub struct DigestSink {
    calls: Mutex<HashMap<u64, u32>>,
}

impl DigestSink {
    /// How many times a request with `digest` was handled.
    pub fn calls(&self, digest: u64) -> u32 {
        let calls = self
            .calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        calls.get(&digest).copied().unwrap_or(0)
    }
}

impl Handler for DigestSink {
    fn request(&self, _peer: PeerIdentity, payload: Vec<u8>) -> HandlerFuture<Vec<u8>> {
        let digest = digest(&payload);
        *self
            .calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(digest)
            .or_default() += 1;
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
