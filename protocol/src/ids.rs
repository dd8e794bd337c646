//! Identifiers: fixed-size byte strings, hex in JSON.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};

/// Defines a fixed-size identifier with its codec, hex JSON form and a short `Debug`.
macro_rules! byte_id {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// The identifier's length in bytes.
            pub const LEN: usize = $len;

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), hex::encode(&self.0[..8.min($len)]))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl Encode for $name {
            fn encode_to(&self, writer: &mut Writer) {
                writer.fixed(&self.0);
            }
        }

        impl Decode for $name {
            fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(Self(reader.array(stringify!($name))?))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                crate::hex_serde::serialize(&self.0, serializer)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::hex_serde::deserialize_array(deserializer).map(Self)
            }
        }
    };
}

byte_id!(
    /// A bank: an issuer, an acquirer or a clearing house.
    BankId, 16
);
byte_id!(
    /// A customer account at an issuer.
    AccountId, 16
);
byte_id!(
    /// A merchant at an acquirer.
    MerchantId, 16
);
byte_id!(
    /// A wallet's idempotency key for one withdrawal.
    RequestId, 16
);
byte_id!(
    /// An acquirer's id for one spend-check batch.
    BatchId, 16
);
byte_id!(
    /// An acquirer's idempotency key for one settlement submission.
    SubmissionId, 16
);
byte_id!(
    /// A clearing cycle.
    CycleId, 16
);
byte_id!(
    /// The SHA-256 of a merchant's contract, which a deposit permission binds.
    ContractHash, 32
);
byte_id!(
    /// A denomination: the SHA-256 of its canonical encoding.
    DenominationId, 32
);
byte_id!(
    /// The SHA-256 of a signed message's canonical encoding.
    Digest, 32
);
byte_id!(
    /// A coin's Ed25519 public key as bytes, where it is the coin's identity and nothing is
    /// verified with it (a confirmation's entries): decoding it does not decompress a point,
    /// which made decoding a settlement submission cost 9 µs a deposit.
    CoinId, 32
);

impl CoinId {
    /// The identity of the coin whose key is `key`.
    pub fn of(key: &crate::crypto::ed25519::VerifyingKey) -> Self {
        Self(*key.as_bytes())
    }
}
