//! A signed read: the proof that a request to read an account's or a merchant's data comes from
//! the holder of its key.
//!
//! Freshness without nonces: the request carries the time it was signed, and the server accepts it
//! only within [`READ_SKEW_MAX_MS`] of its own clock. A read changes nothing, so a replay inside
//! that window can only fetch again what the captured request already fetched a moment before,
//! and the server needs no store of seen nonces. The signature binds the exact path read, so a
//! proof for a balance does not open a deposit's status, nor another subject's data.

use serde::{Deserialize, Serialize};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::codec_struct;
use crate::crypto::ed25519::{SignatureError, SigningKey, VerifyingKey};
use crate::ids::{AccountId, MerchantId};
use crate::signed::Signed;
use crate::time::Timestamp;

/// Largest gap between a signed read's time and the server's clock, either way, in ms.
pub const READ_SKEW_MAX_MS: u64 = 60_000;
/// Longest path a signed read covers, in bytes.
pub const READ_PATH_MAX_BYTES: usize = 256;

/// Whose data is read: the key that must sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum ReadSubject {
    /// An account at an issuer: its account key signs.
    Account(AccountId),
    /// A merchant at an acquirer: its merchant key signs.
    Merchant(MerchantId),
}

impl Encode for ReadSubject {
    fn encode_to(&self, writer: &mut Writer) {
        match self {
            Self::Account(account) => {
                writer.u8(0);
                account.encode_to(writer);
            }
            Self::Merchant(merchant) => {
                writer.u8(1);
                merchant.encode_to(writer);
            }
        }
    }
}

impl Decode for ReadSubject {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.u8("read subject")? {
            0 => Ok(Self::Account(AccountId::decode_from(reader)?)),
            1 => Ok(Self::Merchant(MerchantId::decode_from(reader)?)),
            other => Err(DecodeError::invalid(
                "read subject",
                format!("unknown tag {other}"),
            )),
        }
    }
}

/// The path of a read, as the client sent it (without the query string), within its bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReadPath(String);

impl ReadPath {
    /// `path`, if within [`READ_PATH_MAX_BYTES`].
    pub fn new(path: &str) -> Result<Self, DecodeError> {
        if path.len() > READ_PATH_MAX_BYTES {
            return Err(DecodeError::TooLarge {
                field: "read path",
                max: READ_PATH_MAX_BYTES,
            });
        }
        Ok(Self(path.to_owned()))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ReadPath {
    type Error = DecodeError;

    fn try_from(path: String) -> Result<Self, Self::Error> {
        Self::new(&path)
    }
}

impl From<ReadPath> for String {
    fn from(path: ReadPath) -> Self {
        path.0
    }
}

impl Encode for ReadPath {
    fn encode_to(&self, writer: &mut Writer) {
        writer.bytes(self.0.as_bytes());
    }
}

impl Decode for ReadPath {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bytes = reader.bytes(READ_PATH_MAX_BYTES, "read path")?;
        let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::invalid("read path", e))?;
        Ok(Self(text.to_owned()))
    }
}

/// What the subject's key signs to read: see [`SignedRead`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadRequest {
    /// Whose data.
    pub subject: ReadSubject,
    /// The path read, e.g. `/v1/issuer/accounts/{account}` with the id written out.
    pub path: ReadPath,
    /// When the client signed.
    pub at: Timestamp,
}

codec_struct!(message "semper/read-request" v 1, ReadRequest {
    subject,
    path,
    at
});

/// A read request with the subject key's signature.
pub type SignedRead = Signed<ReadRequest>;

/// Why a signed read is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Signed for another subject or another path than the one read.
    #[error("signed for another subject or path")]
    WrongTarget,
    /// Signed too long before, or after, the server's clock.
    #[error("signed at {at} ms, {skew_ms} ms away from the server's clock")]
    Stale {
        /// When it was signed, ms since the epoch.
        at: u64,
        /// Its distance from the server's clock.
        skew_ms: u64,
    },
    /// The subject's key did not sign it.
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
}

impl ReadError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongTarget => "read.wrong_target",
            Self::Stale { .. } => "read.stale",
            Self::Signature(_) => "read.invalid_signature",
        }
    }
}

/// Signs a read of `path`, `subject`'s data, at `at`: what a wallet or a merchant sends.
pub fn sign_read(
    key: &SigningKey,
    subject: ReadSubject,
    path: &str,
    at: Timestamp,
) -> Result<SignedRead, DecodeError> {
    let body = ReadRequest {
        subject,
        path: ReadPath::new(path)?,
        at,
    };
    Ok(Signed::sign(body, key))
}

/// The server's check of a signed read of `path`, `subject`'s data, whose key is `key`, at
/// `now`. The cheap checks run first, so a stale or misdirected proof costs no verification.
pub fn check_read(
    read: &SignedRead,
    subject: ReadSubject,
    path: &str,
    key: &VerifyingKey,
    now: Timestamp,
) -> Result<(), ReadError> {
    let body = read.body();
    if body.subject != subject || body.path.as_str() != path {
        return Err(ReadError::WrongTarget);
    }
    let skew_ms = body.at.unix_ms().abs_diff(now.unix_ms());
    if skew_ms > READ_SKEW_MAX_MS {
        return Err(ReadError::Stale {
            at: body.at.unix_ms(),
            skew_ms,
        });
    }
    read.verify(key)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Decode, Encode};

    const PATH: &str = "/v1/issuer/accounts/03030303030303030303030303030303";

    fn key() -> SigningKey {
        SigningKey::from_seed(&[3; 32])
    }

    #[test]
    fn a_fresh_read_by_the_subjects_key_of_this_path_passes() {
        let subject = ReadSubject::Account(AccountId([3; 16]));
        let at = Timestamp::from_unix_ms(1_000_000);
        let read = sign_read(&key(), subject, PATH, at).unwrap();
        let check = |subject, path: &str, key: &SigningKey, now: u64| {
            check_read(
                &read,
                subject,
                path,
                key.verifying_key(),
                Timestamp::from_unix_ms(now),
            )
            .map_err(|e| e.code())
        };
        assert_eq!(
            check(subject, PATH, &key(), 1_000_000 + READ_SKEW_MAX_MS),
            Ok(())
        );
        assert_eq!(
            check(subject, PATH, &key(), 1_000_000 - READ_SKEW_MAX_MS),
            Ok(())
        );
        assert_eq!(
            check(subject, PATH, &key(), 1_000_001 + READ_SKEW_MAX_MS),
            Err("read.stale")
        );
        assert_eq!(
            check(subject, &format!("{PATH}/x"), &key(), 1_000_000),
            Err("read.wrong_target")
        );
        let merchant = ReadSubject::Merchant(MerchantId([3; 16]));
        assert_eq!(
            check(merchant, PATH, &key(), 1_000_000),
            Err("read.wrong_target")
        );
        let other = SigningKey::from_seed(&[4; 32]);
        assert_eq!(
            check(subject, PATH, &other, 1_000_000),
            Err("read.invalid_signature")
        );
    }

    /// The encoding a specification describes, byte for byte.
    #[test]
    fn read_request_known_answer() {
        let body = ReadRequest {
            subject: ReadSubject::Merchant(MerchantId([5; 16])),
            path: ReadPath::new("/p").unwrap(),
            at: Timestamp::from_unix_ms(0x0102),
        };
        let expected: String = <[&str]>::concat(&[
            "13",
            &hex::encode("semper/read-request"),
            "01",
            "01",
            &"05".repeat(16),
            "00000002",
            &hex::encode("/p"),
            "0000000000000102",
        ]);
        assert_eq!(hex::encode(body.to_bytes()), expected);
        assert_eq!(ReadRequest::from_bytes(&body.to_bytes()).unwrap(), body);
        assert!(ReadPath::new(&"p".repeat(READ_PATH_MAX_BYTES + 1)).is_err());
    }
}
