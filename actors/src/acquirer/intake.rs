//! Deposit intake, on the pool: the merchant's key and signature, the request's pure checks, and
//! the stored answer of a deposit id seen before. What passes goes into a micro-batch.

use semper_protocol::acquirer::check_deposit;
use semper_protocol::ids::{Digest, MerchantId, RequestId};
use semper_protocol::messages::merchant::{DepositResponse, SignedDepositRequest};
use semper_storage::acquirer::deposits::{self, coin_key};
use semper_storage::acquirer::merchants::{self, MerchantError};

use super::error::AcquirerError;
use super::state::AcquirerState;

/// A deposit's idempotency key: the merchant and its deposit id.
pub type DepositKey = (MerchantId, RequestId);

/// A checked deposit, ready for a micro-batch.
#[derive(Clone, Debug)]
pub struct Admitted {
    /// The request.
    pub request: SignedDepositRequest,
    /// Digest of its body: a retry with the same id must match it.
    pub digest: Digest,
    /// The coin index key of each coin, in order.
    pub coins: Vec<[u8; 64]>,
}

impl Admitted {
    /// The deposit's idempotency key.
    pub fn key(&self) -> DepositKey {
        let body = self.request.body();
        (body.merchant, body.deposit_id)
    }
}

/// What intake decided.
#[derive(Debug)]
pub enum Intake {
    /// Answered before: the stored answer.
    Answered(DepositResponse),
    /// To be batched.
    Admit(Admitted),
}

/// Checks a deposit request. Reads the store and verifies a signature: run it on the pool.
pub fn prepare(
    state: &AcquirerState,
    request: SignedDepositRequest,
) -> Result<Intake, AcquirerError> {
    let body = request.body();
    let merchant =
        merchants::merchant(&state.store, &body.merchant)?.ok_or(MerchantError::UnknownMerchant)?;
    check_deposit(&request, &merchant.public_key, state.id)?;
    let digest = request.body_digest();
    if let Some(stored) = deposits::deposit(&state.store, &body.merchant, &body.deposit_id)? {
        if stored.request_digest != digest {
            return Err(MerchantError::DepositIdReused.into());
        }
        if let Some(response) = stored.response {
            return Ok(Intake::Answered(response));
        }
        // Incomplete before: batched again, and the coins credited then are answered from the
        // coin index.
    }
    let coins = body.permissions.iter().map(coin_key).collect();
    Ok(Intake::Admit(Admitted {
        request,
        digest,
        coins,
    }))
}
