//! Byte strings as lower-case hex in the JSON forms.

use serde::{Deserialize, Deserializer, Serializer};

/// Serializes bytes as a hex string.
pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

/// Deserializes a hex string into bytes.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    hex::decode(text.as_ref()).map_err(serde::de::Error::custom)
}

/// Deserializes a hex string of exactly `N` bytes.
pub fn deserialize_array<'de, D: Deserializer<'de>, const N: usize>(
    deserializer: D,
) -> Result<[u8; N], D::Error> {
    let bytes = deserialize(deserializer)?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| serde::de::Error::custom(format!("expected {N} bytes, got {}", bytes.len())))
}
