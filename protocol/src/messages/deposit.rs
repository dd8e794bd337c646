//! The deposit permission: the coin key's consent to pay one merchant, through one acquirer.

use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::codec_struct;
use crate::crypto::ed25519::SignatureError;
use crate::denomination::Denomination;
use crate::ids::{BankId, ContractHash, MerchantId};
use crate::messages::coin::Coin;
use crate::messages::read::READ_SKEW_MAX_MS;
use crate::signed::Signed;
use crate::time::Timestamp;

/// What a coin's key signs to spend it. Coins are not divisible: `amount` is the coin's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// When the wallet signed: inside [`DepositPermission::check_timestamp`]'s window.
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

/// How far a permission's `timestamp` may be from the bounds of its window, in ms: the clock
/// tolerance between a wallet and a bank, the same as a signed read's.
pub const PERMISSION_CLOCK_TOLERANCE_MS: u64 = READ_SKEW_MAX_MS;

/// A permission whose `timestamp` is outside its window (see
/// [`DepositPermission::check_timestamp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the permission's timestamp is outside its window: from the denomination's valid_from to its \
     deposit_until, and not ahead of the bank's clock, each within 60 s"
)]
pub struct TimestampOutOfWindow;

impl TimestampOutOfWindow {
    /// The stable error code: a per-coin refusal.
    pub fn code(&self) -> &'static str {
        "deposit.timestamp_out_of_window"
    }
}

impl DepositPermission {
    /// Checks that the wallet signed inside the coin's windows and not in the future, within
    /// [`PERMISSION_CLOCK_TOLERANCE_MS`] of each bound: `valid_from − T ≤ timestamp <
    /// deposit_until + T` and `timestamp ≤ now + T`, `now` the checking bank's clock. The
    /// timestamp is the dispute's evidence of when a coin was spent, so a bank keeps none that
    /// could not be true. A later `now` never refuses what an earlier one took, so a retried
    /// deposit is judged as it was.
    pub fn check_timestamp(
        &self,
        denomination: &Denomination,
        now: Timestamp,
    ) -> Result<(), TimestampOutOfWindow> {
        let tolerance = PERMISSION_CLOCK_TOLERANCE_MS;
        let fields = denomination.fields();
        let at = self.timestamp;
        let in_window = fields.valid_from <= at.plus_ms(tolerance)
            && at < fields.deposit_until.plus_ms(tolerance)
            && at <= now.plus_ms(tolerance);
        if in_window {
            Ok(())
        } else {
            Err(TimestampOutOfWindow)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys::{self, NOW};

    #[test]
    fn a_permission_timestamp_is_checked_against_its_window_and_the_clock() {
        let d = test_keys::denomination("EUR:1.00", test_keys::rsa_2048());
        let coins = test_keys::coins(&d, test_keys::rsa_2048(), 1);
        let mut permission = test_keys::permissions(&coins)[0].body().clone();
        let tolerance = PERMISSION_CLOCK_TOLERANCE_MS;
        let fields = d.fields().clone();
        let at = |unix_ms: u64| Timestamp::from_unix_ms(unix_ms);
        let cases = [
            (0, false),
            (fields.valid_from.unix_ms() - tolerance - 1, false),
            (fields.valid_from.unix_ms() - tolerance, true),
            (NOW.unix_ms(), true),
            (NOW.unix_ms() + tolerance, true),
            (NOW.unix_ms() + tolerance + 1, false),
            (u64::MAX, false),
        ];
        for (unix_ms, ok) in cases {
            permission.timestamp = at(unix_ms);
            assert_eq!(
                permission.check_timestamp(&d, NOW).is_ok(),
                ok,
                "timestamp {unix_ms}"
            );
        }
        // Past the deposit window, even with a clock further on.
        permission.timestamp = fields.deposit_until.plus_ms(tolerance);
        let later = fields.deposit_until.plus_ms(10 * tolerance);
        assert_eq!(
            permission.check_timestamp(&d, later),
            Err(TimestampOutOfWindow)
        );
        assert_eq!(
            TimestampOutOfWindow.code(),
            "deposit.timestamp_out_of_window"
        );
    }
}
