//! Denominations: a value, its RSA key and its lifecycle windows; and the issuer's signed set.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::bounded::BoundedVec;
use crate::codec::{Decode, DecodeError, Encode, Message, Reader, Writer};
use crate::crypto::blind_rsa::DenominationPublicKey;
use crate::crypto::hash::sha256;
use crate::ids::{BankId, DenominationId};
use crate::limits::{DENOMINATIONS_MAX, REVOKED_MAX};
use crate::signed::Signed;
use crate::time::Timestamp;

mod fees;

pub use fees::DenominationFees;

/// Why a denomination or set was refused. Each variant has a stable [`DenominationError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DenominationError {
    /// A denomination must be worth something.
    #[error("denomination value must be positive")]
    ZeroValue,
    /// The windows must nest: valid_from < withdraw_until <= deposit_until <= retain_until.
    #[error("denomination windows are out of order")]
    WindowsOutOfOrder,
    /// A set listed a denomination of another issuer.
    #[error("denomination of another issuer in the set")]
    ForeignDenomination,
    /// A set listed the same denomination twice.
    #[error("denomination listed twice")]
    Duplicate,
    /// A fee is not in the denomination's currency.
    #[error("denomination fee in another currency than its value")]
    FeeCurrency,
    /// A fee is not below the coin's value.
    #[error("denomination fee not below its value")]
    FeeNotBelowValue,
}

impl DenominationError {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ZeroValue => "denomination.zero_value",
            Self::WindowsOutOfOrder => "denomination.windows_out_of_order",
            Self::ForeignDenomination => "denomination.foreign",
            Self::Duplicate => "denomination.duplicate",
            Self::FeeCurrency => "denomination.fee_currency",
            Self::FeeNotBelowValue => "denomination.fee_not_below_value",
        }
    }
}

/// The fields of a denomination, before validation: what JSON and constructors provide.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenominationFields {
    /// The issuing bank.
    pub issuer: BankId,
    /// What one coin is worth.
    pub value: Amount,
    /// The RSA key coins are blind-signed with.
    pub public_key: DenominationPublicKey,
    /// Start of the withdraw and deposit windows.
    pub valid_from: Timestamp,
    /// End of the withdraw window (exclusive).
    pub withdraw_until: Timestamp,
    /// End of the deposit window (exclusive).
    pub deposit_until: Timestamp,
    /// End of legal retention: spent-set entries may be pruned after it.
    pub retain_until: Timestamp,
    /// What each operation on one of its coins costs.
    pub fees: DenominationFees,
}

/// A validated denomination, with its id: the SHA-256 of its canonical encoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DenominationFields", into = "DenominationFields")]
pub struct Denomination {
    fields: DenominationFields,
    id: DenominationId,
}

impl Message for Denomination {
    const DOMAIN: &'static str = "semper/denomination";
    const VERSION: u8 = 2;
}

impl Denomination {
    /// Validates the fields and computes the id.
    pub fn new(fields: DenominationFields) -> Result<Self, DenominationError> {
        if fields.value.minor_units() == 0 {
            return Err(DenominationError::ZeroValue);
        }
        let ordered = fields.valid_from < fields.withdraw_until
            && fields.withdraw_until <= fields.deposit_until
            && fields.deposit_until <= fields.retain_until;
        if !ordered {
            return Err(DenominationError::WindowsOutOfOrder);
        }
        fields.fees.check(fields.value)?;
        let mut writer = Writer::new();
        encode_fields(&fields, &mut writer);
        let id = DenominationId(sha256(&[&writer.into_bytes()]));
        Ok(Self { fields, id })
    }

    /// The id: SHA-256 of the canonical encoding of every field.
    pub fn id(&self) -> DenominationId {
        self.id
    }

    /// The fields.
    pub fn fields(&self) -> &DenominationFields {
        &self.fields
    }

    /// The issuing bank.
    pub fn issuer(&self) -> BankId {
        self.fields.issuer
    }

    /// What one coin is worth.
    pub fn value(&self) -> Amount {
        self.fields.value
    }

    /// What each operation on one of its coins costs.
    pub fn fees(&self) -> &DenominationFees {
        &self.fields.fees
    }

    /// The RSA public key.
    pub fn public_key(&self) -> &DenominationPublicKey {
        &self.fields.public_key
    }

    /// Whether coins may be withdrawn at `now`.
    pub fn can_withdraw(&self, now: Timestamp) -> bool {
        self.fields.valid_from <= now && now < self.fields.withdraw_until
    }

    /// Whether coins may be deposited at `now`.
    pub fn can_deposit(&self, now: Timestamp) -> bool {
        self.fields.valid_from <= now && now < self.fields.deposit_until
    }

    /// Whether the spent-set entries of this denomination may be pruned at `now`.
    pub fn can_prune(&self, now: Timestamp) -> bool {
        now >= self.fields.deposit_until && now >= self.fields.retain_until
    }
}

impl TryFrom<DenominationFields> for Denomination {
    type Error = DenominationError;

    fn try_from(fields: DenominationFields) -> Result<Self, Self::Error> {
        Self::new(fields)
    }
}

impl From<Denomination> for DenominationFields {
    fn from(denomination: Denomination) -> Self {
        denomination.fields
    }
}

fn encode_fields(fields: &DenominationFields, writer: &mut Writer) {
    writer.domain::<Denomination>();
    fields.issuer.encode_to(writer);
    fields.value.encode_to(writer);
    fields.public_key.encode_to(writer);
    fields.valid_from.encode_to(writer);
    fields.withdraw_until.encode_to(writer);
    fields.deposit_until.encode_to(writer);
    fields.retain_until.encode_to(writer);
    fields.fees.encode_to(writer);
}

impl Encode for Denomination {
    fn encode_to(&self, writer: &mut Writer) {
        encode_fields(&self.fields, writer);
    }
}

impl Decode for Denomination {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.domain::<Self>()?;
        let fields = DenominationFields {
            issuer: BankId::decode_from(reader)?,
            value: Amount::decode_from(reader)?,
            public_key: DenominationPublicKey::decode_from(reader)?,
            valid_from: Timestamp::decode_from(reader)?,
            withdraw_until: Timestamp::decode_from(reader)?,
            deposit_until: Timestamp::decode_from(reader)?,
            retain_until: Timestamp::decode_from(reader)?,
            fees: DenominationFees::decode_from(reader)?,
        };
        Self::new(fields).map_err(|e| DecodeError::invalid("denomination", e))
    }
}

/// An issuer's published denominations, signed by its master key: see [`SignedDenominationSet`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DenominationSetFields", into = "DenominationSetFields")]
pub struct DenominationSet {
    fields: DenominationSetFields,
}

/// The fields of a denomination set, before validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenominationSetFields {
    /// The issuer.
    pub issuer: BankId,
    /// Increases with every set the issuer publishes.
    pub sequence: u64,
    /// When the set was published.
    pub issued_at: Timestamp,
    /// The denominations in force or announced ahead.
    pub denominations: BoundedVec<Denomination, DENOMINATIONS_MAX>,
    /// Denominations that are revoked: their coins are refused.
    pub revoked: BoundedVec<DenominationId, REVOKED_MAX>,
}

/// A denomination set with the issuer master key's signature.
pub type SignedDenominationSet = Signed<DenominationSet>;

impl Message for DenominationSet {
    const DOMAIN: &'static str = "semper/denomination-set";
    const VERSION: u8 = 1;
}

impl DenominationSet {
    /// Validates that every denomination is the issuer's and listed once.
    pub fn new(fields: DenominationSetFields) -> Result<Self, DenominationError> {
        let mut seen = HashSet::new();
        for denomination in fields.denominations.iter() {
            if denomination.issuer() != fields.issuer {
                return Err(DenominationError::ForeignDenomination);
            }
            if !seen.insert(denomination.id()) {
                return Err(DenominationError::Duplicate);
            }
        }
        Ok(Self { fields })
    }

    /// The fields.
    pub fn fields(&self) -> &DenominationSetFields {
        &self.fields
    }

    /// Whether `id` is revoked in this set.
    pub fn is_revoked(&self, id: &DenominationId) -> bool {
        self.fields.revoked.contains(id)
    }
}

impl TryFrom<DenominationSetFields> for DenominationSet {
    type Error = DenominationError;

    fn try_from(fields: DenominationSetFields) -> Result<Self, Self::Error> {
        Self::new(fields)
    }
}

impl From<DenominationSet> for DenominationSetFields {
    fn from(set: DenominationSet) -> Self {
        set.fields
    }
}

impl Encode for DenominationSet {
    fn encode_to(&self, writer: &mut Writer) {
        writer.domain::<Self>();
        self.fields.issuer.encode_to(writer);
        writer.u64(self.fields.sequence);
        self.fields.issued_at.encode_to(writer);
        self.fields.denominations.encode_to(writer);
        self.fields.revoked.encode_to(writer);
    }
}

impl Decode for DenominationSet {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.domain::<Self>()?;
        let fields = DenominationSetFields {
            issuer: BankId::decode_from(reader)?,
            sequence: reader.u64("sequence")?,
            issued_at: Timestamp::decode_from(reader)?,
            denominations: BoundedVec::decode_from(reader)?,
            revoked: BoundedVec::decode_from(reader)?,
        };
        Self::new(fields).map_err(|e| DecodeError::invalid("denomination set", e))
    }
}

#[cfg(test)]
mod tests;
