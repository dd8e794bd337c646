//! A denomination's fees: what the issuer's published set says each operation on one of its
//! coins costs. Each is in the coin's currency and below its value; zero charges nothing.

use serde::{Deserialize, Serialize};

use crate::amount::{Amount, Currency};
use crate::codec_struct;

use super::DenominationError;

/// What one coin of a denomination costs per operation, in the denomination's currency.
///
/// Who keeps each fee is the bank that charges it (docs/protocol.md §7.1): the issuer keeps the
/// withdraw and swap fees (its account holder pays value + fee; a swap's outputs are worth its
/// inputs less their fees), the acquirer keeps the deposit fee (it credits the merchant value −
/// fee and is owed the whole value in settlement), and the issuer keeps the refund fee: the
/// customer pays it out of what it gets back (the coin may be swapped again for the refund less
/// the fee), while the acquirer still owes the issuer the whole refund in settlement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenominationFees {
    /// Debited on top of the coin's value when it is withdrawn.
    pub withdraw: Amount,
    /// Kept from the coin's value when a merchant deposits it.
    pub deposit: Amount,
    /// Kept from the coin's value when it is swapped (given in for change).
    pub swap: Amount,
    /// Kept by the issuer from each refund of the coin, out of what the customer gets back.
    pub refund: Amount,
}

codec_struct!(DenominationFees {
    withdraw,
    deposit,
    swap,
    refund
});

impl DenominationFees {
    /// No fees, in `currency`: the default.
    pub fn zero(currency: Currency) -> Self {
        let zero = Amount::zero(currency);
        Self {
            withdraw: zero,
            deposit: zero,
            swap: zero,
            refund: zero,
        }
    }

    /// Every fee, in encoding order.
    pub fn all(&self) -> [Amount; 4] {
        [self.withdraw, self.deposit, self.swap, self.refund]
    }

    /// Checks every fee against the coin's `value`: same currency, and below it (a coin whose
    /// fee took its whole value could not be used).
    pub fn check(&self, value: Amount) -> Result<(), DenominationError> {
        for fee in self.all() {
            if fee.currency() != value.currency() {
                return Err(DenominationError::FeeCurrency);
            }
            if fee.minor_units() >= value.minor_units() {
                return Err(DenominationError::FeeNotBelowValue);
            }
        }
        Ok(())
    }
}
