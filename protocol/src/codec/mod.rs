//! The canonical binary encoding of everything that is signed or crosses a bank-to-bank link.
//!
//! The rules are few, so that one value has exactly one encoding:
//! - integers are fixed-width big-endian;
//! - byte strings and lists carry a `u32` length, checked against a per-field bound before anything
//!   is allocated;
//! - every signed or top-level message starts with its domain tag and a version byte ([`Message`]);
//! - a decoder consumes the whole input: trailing bytes are an error.
//!
//! No decoder panics, whatever bytes it is fed; the property tests feed it random and truncated
//! input to keep it that way.

mod error;
mod macros;
mod reader;
mod writer;

pub use error::DecodeError;
pub use reader::Reader;
pub use writer::Writer;

/// Largest message, in bytes, that any decoder accepts: the bound of a link frame.
pub const MESSAGE_MAX_BYTES: usize = 16 * 1024 * 1024;

/// A value with a canonical binary encoding.
pub trait Encode {
    /// Appends the canonical encoding of `self` to `writer`.
    fn encode_to(&self, writer: &mut Writer);

    /// Returns the canonical encoding of `self`.
    fn to_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::new();
        self.encode_to(&mut writer);
        writer.into_bytes()
    }
}

/// A value that can be parsed, and validated, from its canonical binary encoding.
pub trait Decode: Sized {
    /// Reads one value from `reader`, leaving the rest of the input in place.
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Parses exactly one value from `bytes`: trailing bytes are an error.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MESSAGE_MAX_BYTES {
            return Err(DecodeError::TooLarge {
                field: "message",
                max: MESSAGE_MAX_BYTES,
            });
        }
        let mut reader = Reader::new(bytes);
        let value = Self::decode_from(&mut reader)?;
        reader.finish()?;
        Ok(value)
    }
}

/// A top-level message: its encoding starts with its own domain tag and version.
///
/// The tag keeps a signature over one kind of message from ever verifying as another kind.
pub trait Message {
    /// The domain tag, unique per message kind, e.g. `semper/deposit-permission`.
    const DOMAIN: &'static str;
    /// The encoding version this build writes, and the only one it reads.
    const VERSION: u8;
}

#[cfg(test)]
mod tests;

impl<T: Encode> Encode for Option<T> {
    fn encode_to(&self, writer: &mut Writer) {
        match self {
            None => writer.u8(0),
            Some(value) => {
                writer.u8(1);
                value.encode_to(writer);
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.u8("option tag")? {
            0 => Ok(None),
            1 => T::decode_from(reader).map(Some),
            other => Err(DecodeError::invalid(
                "option tag",
                format!("{other} is not 0 or 1"),
            )),
        }
    }
}

impl Encode for u32 {
    fn encode_to(&self, writer: &mut Writer) {
        writer.u32(*self);
    }
}

impl Decode for u32 {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.u32("u32")
    }
}

impl Encode for u64 {
    fn encode_to(&self, writer: &mut Writer) {
        writer.u64(*self);
    }
}

impl Decode for u64 {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.u64("u64")
    }
}

impl Encode for i64 {
    fn encode_to(&self, writer: &mut Writer) {
        writer.i64(*self);
    }
}

impl Decode for i64 {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.i64("i64")
    }
}
