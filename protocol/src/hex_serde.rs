//! Byte strings as lower-case hex in the JSON forms, and only lower case: one value has one
//! spelling, as the OpenAPI patterns (`^[0-9a-f]*$`) and docs/protocol.md §9 say.

use serde::{Deserialize, Deserializer, Serializer};

/// Why a hex string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// A character that is not `0-9` or `a-f` (upper case included).
    #[error("not lower-case hex: a character other than 0-9, a-f at {0}")]
    NotLowerHex(usize),
    /// An odd number of digits.
    #[error("an odd number of hex digits")]
    OddLength,
}

/// Decodes lower-case hex, refusing upper-case digits.
pub fn decode_lower(text: &str) -> Result<Vec<u8>, HexError> {
    if let Some(at) = text
        .bytes()
        .position(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(HexError::NotLowerHex(at));
    }
    hex::decode(text).map_err(|_| HexError::OddLength)
}

/// Serializes bytes as a hex string.
pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

/// Deserializes a lower-case hex string into bytes.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    decode_lower(text.as_ref()).map_err(serde::de::Error::custom)
}

/// Deserializes a lower-case hex string of exactly `N` bytes.
pub fn deserialize_array<'de, D: Deserializer<'de>, const N: usize>(
    deserializer: D,
) -> Result<[u8; N], D::Error> {
    let bytes = deserialize(deserializer)?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| serde::de::Error::custom(format!("expected {N} bytes, got {}", bytes.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_only() {
        assert_eq!(decode_lower("00ff"), Ok(vec![0, 255]));
        assert_eq!(decode_lower("00FF"), Err(HexError::NotLowerHex(2)));
        assert_eq!(decode_lower("0g"), Err(HexError::NotLowerHex(1)));
        assert_eq!(decode_lower("abc"), Err(HexError::OddLength));
        let id: Result<crate::ids::AccountId, _> =
            serde_json::from_str(&format!("\"{}\"", "AB".repeat(16)));
        assert!(id.is_err());
    }
}
