//! The deposit permission: the coin key's consent to pay one merchant, through one acquirer.

use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::codec_struct;
use crate::crypto::ed25519::SignatureError;
use crate::ids::{BankId, ContractHash, MerchantId};
use crate::messages::coin::Coin;
use crate::signed::Signed;
use crate::time::Timestamp;

/// What a coin's key signs to spend it. Coins are not divisible: `amount` is the coin's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositPermission {
    /// The coin spent.
    pub coin: Coin,
    /// The merchant's contract.
    pub contract_hash: ContractHash,
    /// The merchant paid.
    pub merchant: MerchantId,
    /// The merchant's acquirer, the only bank that may deposit it.
    pub acquirer: BankId,
    /// The amount paid: the coin's value.
    pub amount: Amount,
    /// When the wallet signed.
    pub timestamp: Timestamp,
}

codec_struct!(message "semper/deposit-permission" v 1, DepositPermission {
    coin,
    contract_hash,
    merchant,
    acquirer,
    amount,
    timestamp
});

/// A deposit permission with the coin key's signature.
pub type SignedDepositPermission = Signed<DepositPermission>;

impl Signed<DepositPermission> {
    /// Checks the coin key's signature (single verification; batches use the `BatchVerifier`).
    pub fn verify_coin_key(&self) -> Result<(), SignatureError> {
        self.verify(&self.body().coin.public_key)
    }
}
