//! Lists with a maximum length that every decoder, and the JSON parser, enforces.

use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};

/// A list that holds at most `MAX` items. A value of this type never holds more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundedVec<T, const MAX: usize>(Vec<T>);

/// A list was longer than its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("list of {len} items is over its bound of {max}")]
pub struct TooMany {
    /// The length given.
    pub len: usize,
    /// The bound.
    pub max: usize,
}

impl<T, const MAX: usize> BoundedVec<T, MAX> {
    /// The bound.
    pub const MAX: usize = MAX;

    /// Wraps `items`, refusing more than `MAX`.
    pub fn new(items: Vec<T>) -> Result<Self, TooMany> {
        if items.len() > MAX {
            Err(TooMany {
                len: items.len(),
                max: MAX,
            })
        } else {
            Ok(Self(items))
        }
    }

    /// An empty list.
    pub fn empty() -> Self {
        Self(Vec::new())
    }

    /// The items.
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }

    /// Maps each item: the result has as many items, so it keeps the bound.
    pub fn map<'a, U>(&'a self, f: impl FnMut(&'a T) -> U) -> BoundedVec<U, MAX> {
        BoundedVec(self.0.iter().map(f).collect())
    }
}

impl<T, const MAX: usize> Default for BoundedVec<T, MAX> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<T, const MAX: usize> Deref for BoundedVec<T, MAX> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T, const MAX: usize> TryFrom<Vec<T>> for BoundedVec<T, MAX> {
    type Error = TooMany;

    fn try_from(items: Vec<T>) -> Result<Self, TooMany> {
        Self::new(items)
    }
}

impl<T: Encode, const MAX: usize> Encode for BoundedVec<T, MAX> {
    fn encode_to(&self, writer: &mut Writer) {
        writer.list(&self.0);
    }
}

impl<T: Decode, const MAX: usize> Decode for BoundedVec<T, MAX> {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.list(MAX, std::any::type_name::<T>()).map(Self)
    }
}

impl<T: Serialize, const MAX: usize> Serialize for BoundedVec<T, MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for BoundedVec<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let items = Vec::<T>::deserialize(deserializer)?;
        Self::new(items).map_err(serde::de::Error::custom)
    }
}
