//! The deposit hot path: verifying a batch of deposit permissions, with a verdict per item.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::codec::Encode;
use crate::crypto::ed25519::{self, BatchItem};
use crate::denomination::Denomination;
use crate::ids::DenominationId;
use crate::messages::coin::CoinError;
use crate::messages::deposit::SignedDepositPermission;

/// Smallest share of a batch that one worker verifies: Ed25519 batches below this lose most of
/// their advantage over single verification.
pub const CHUNK_MIN_COINS: usize = 32;

/// Where the verifier finds a denomination by id.
pub trait DenominationLookup: Sync {
    /// The denomination with `id`, if known.
    fn denomination(&self, id: &DenominationId) -> Option<&Denomination>;
}

impl DenominationLookup for HashMap<DenominationId, Denomination> {
    fn denomination(&self, id: &DenominationId) -> Option<&Denomination> {
        self.get(id)
    }
}

/// Why one deposit permission failed verification. Each has a stable [`PermissionError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionError {
    /// The coin's denomination is not known to the verifier.
    #[error("unknown denomination")]
    UnknownDenomination,
    /// The permission's amount is not the coin's value.
    #[error("amount is not the coin's value")]
    AmountMismatch,
    /// The issuer's signature on the coin does not verify.
    #[error("{0}")]
    Coin(#[from] CoinError),
    /// The coin key's signature on the permission does not verify.
    #[error("deposit permission signature does not verify")]
    PermissionSignature,
}

impl PermissionError {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownDenomination => "deposit.unknown_denomination",
            Self::AmountMismatch => "deposit.amount_mismatch",
            Self::Coin(e) => e.code(),
            Self::PermissionSignature => "deposit.invalid_permission_signature",
        }
    }
}

/// The thread pool could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the verification thread pool: {0}")]
pub struct PoolError(#[from] rayon::ThreadPoolBuildError);

/// Verifies batches of deposit permissions on its own rayon pool.
///
/// For each permission it checks that the denomination is known and the amount is the coin's
/// value, the issuer's RSA signature on the coin (OpenSSL), and the coin key's Ed25519 signature on
/// the permission. The batch is split into one share per worker; in each share the RSA checks run
/// one by one and the Ed25519 signatures go through one batch verification, bisected down to the
/// bad items when it fails, so one bad coin never rejects its neighbours.
pub struct BatchVerifier {
    pool: rayon::ThreadPool,
}

impl BatchVerifier {
    /// A verifier with `threads` workers.
    pub fn new(threads: usize) -> Result<Self, PoolError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("semper-verify-{i}"))
            .build()?;
        Ok(Self { pool })
    }

    /// The number of workers.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Runs `work` on the verifier's pool, for other CPU-bound work that should share it.
    pub fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        self.pool.install(work)
    }

    /// Queues `work` on the verifier's pool without waiting for it: how actors hand off crypto.
    pub fn spawn(&self, work: impl FnOnce() + Send + 'static) {
        self.pool.spawn(work)
    }

    /// A verdict for each permission, in order.
    pub fn verify(
        &self,
        permissions: &[SignedDepositPermission],
        denominations: &impl DenominationLookup,
    ) -> Vec<Result<(), PermissionError>> {
        self.pool.install(|| {
            let encoded = EncodedPermissions::new(permissions);
            self.verify_encoded(&encoded, denominations)
        })
    }

    /// A verdict for each permission, in order, reusing their encodings.
    pub fn verify_encoded(
        &self,
        encoded: &EncodedPermissions<'_>,
        denominations: &impl DenominationLookup,
    ) -> Vec<Result<(), PermissionError>> {
        let threads = self.threads();
        let chunk = encoded
            .permissions
            .len()
            .div_ceil(threads)
            .max(CHUNK_MIN_COINS);
        self.pool.install(|| {
            encoded
                .permissions
                .par_chunks(chunk)
                .zip(encoded.bodies.par_chunks(chunk))
                .flat_map_iter(|(share, bodies)| verify_share(share, bodies, denominations))
                .collect()
        })
    }
}

/// Deposit permissions with the canonical encoding of each body, made once (in parallel on the
/// current pool) for every check that needs it: signature verification, digests, storage.
pub struct EncodedPermissions<'a> {
    permissions: &'a [SignedDepositPermission],
    bodies: Vec<Vec<u8>>,
}

impl<'a> EncodedPermissions<'a> {
    /// Encodes each permission's body.
    pub fn new(permissions: &'a [SignedDepositPermission]) -> Self {
        let bodies = permissions
            .par_iter()
            .map(|p| p.body().to_bytes())
            .collect();
        Self {
            permissions,
            bodies,
        }
    }

    /// The permissions.
    pub fn permissions(&self) -> &'a [SignedDepositPermission] {
        self.permissions
    }

    /// The canonical encoding of permission `index`'s body: what its coin key signed.
    pub fn body(&self, index: usize) -> &[u8] {
        &self.bodies[index]
    }
}

/// Verifies one worker's share of a batch.
fn verify_share(
    permissions: &[SignedDepositPermission],
    messages: &[Vec<u8>],
    denominations: &impl DenominationLookup,
) -> Vec<Result<(), PermissionError>> {
    let items: Vec<BatchItem<'_>> = permissions
        .iter()
        .zip(messages)
        .map(|(permission, message)| BatchItem {
            key: &permission.body().coin.public_key,
            message,
            signature: permission.signature(),
        })
        .collect();
    let signatures_ok = ed25519::verify_each(&items);
    permissions
        .iter()
        .zip(signatures_ok)
        .map(|(permission, signature_ok)| {
            check_coin(permission, denominations)?;
            if signature_ok {
                Ok(())
            } else {
                Err(PermissionError::PermissionSignature)
            }
        })
        .collect()
}

fn check_coin(
    permission: &SignedDepositPermission,
    denominations: &impl DenominationLookup,
) -> Result<(), PermissionError> {
    let body = permission.body();
    let denomination = denominations
        .denomination(&body.coin.denomination)
        .ok_or(PermissionError::UnknownDenomination)?;
    if body.amount != denomination.value() {
        return Err(PermissionError::AmountMismatch);
    }
    body.coin.verify(denomination)?;
    Ok(())
}

#[cfg(test)]
mod tests;
