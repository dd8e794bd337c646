//! The checks the decoder targets share: a decoded value has one encoding, and it survives its
//! JSON form and the canonical codec alike.

use std::any::type_name;
use std::fmt::Debug;

use semper_protocol::codec::{Decode, Encode};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decodes `data` as `T`. When it decodes, asserts the codec's promise that one value has one
/// encoding: the value encodes back to exactly `data`.
pub fn canonical<T: Decode + Encode + Debug>(data: &[u8]) -> Option<T> {
    let value = T::from_bytes(data).ok()?;
    assert_eq!(
        value.to_bytes(),
        data,
        "{}: {value:?} decoded from bytes that are not its encoding",
        type_name::<T>()
    );
    Some(value)
}

/// [`canonical`], and the decoded value survives its JSON form.
pub fn canonical_json<T>(data: &[u8]) -> Option<T>
where
    T: Decode + Encode + Serialize + DeserializeOwned + PartialEq + Debug,
{
    let value = canonical::<T>(data)?;
    json_agrees(&value);
    Some(value)
}

/// Parses `data` as the JSON of `T`; when it parses, the value survives its own JSON form.
pub fn from_json<T: Serialize + DeserializeOwned + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let value = serde_json::from_slice::<T>(data).ok()?;
    json_agrees(&value);
    Some(value)
}

/// Asserts that `value`, serialized to JSON, parses back to an equal value, whose JSON is the same.
pub fn json_agrees<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let name = type_name::<T>();
    let json = serde_json::to_vec(value).unwrap_or_else(|e| panic!("{name}: no JSON form: {e}"));
    let back = serde_json::from_slice::<T>(&json).unwrap_or_else(|e| {
        panic!(
            "{name}: its own JSON does not parse back: {e}: {}",
            String::from_utf8_lossy(&json)
        )
    });
    assert_eq!(&back, value, "{name}: changed by a JSON round trip");
    let again = serde_json::to_vec(&back).unwrap_or_default();
    assert_eq!(again, json, "{name}: two JSON forms of one value");
}

/// Asserts that `value` (parsed from JSON, say) has a binary form that decodes back to it: what
/// the API accepts, the codec can sign, store and send on.
pub fn codec_agrees<T: Decode + Encode + PartialEq + Debug>(value: &T) {
    let bytes = value.to_bytes();
    match T::from_bytes(&bytes) {
        Ok(back) => assert_eq!(&back, value, "{}: changed by the codec", type_name::<T>()),
        Err(e) => panic!(
            "{}: {value:?} has no binary form that decodes: {e}",
            type_name::<T>()
        ),
    }
}
