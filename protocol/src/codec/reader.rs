//! Reading canonical encodings back, with every length checked before it is trusted.

use super::{Decode, DecodeError, Message};

/// A cursor over input bytes. Every read is bounds-checked and returns a typed error.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Fails unless every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Reads and checks a message's domain tag and version.
    pub fn domain<M: Message + ?Sized>(&mut self) -> Result<(), DecodeError> {
        let len = usize::from(self.u8("domain tag length")?);
        let tag = self.take(len, "domain tag")?;
        if tag != M::DOMAIN.as_bytes() {
            return Err(DecodeError::WrongDomain {
                expected: M::DOMAIN,
            });
        }
        let version = self.u8("version")?;
        if version != M::VERSION {
            return Err(DecodeError::UnknownVersion {
                domain: M::DOMAIN,
                found: version,
            });
        }
        Ok(())
    }

    /// Takes the next `len` bytes.
    pub fn take(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < len {
            return Err(DecodeError::UnexpectedEnd { field });
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    /// Reads a big-endian `u16`.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    /// Reads a big-endian `u32`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// Reads a big-endian `u64`.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Reads a big-endian `i64`.
    pub fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    /// Reads a length-prefixed byte string of at most `max` bytes.
    pub fn bytes(&mut self, max: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.length(max, field)?;
        self.take(len, field)
    }

    /// Reads a count-prefixed list of at most `max` items.
    pub fn list<T: Decode>(
        &mut self,
        max: usize,
        field: &'static str,
    ) -> Result<Vec<T>, DecodeError> {
        let count = self.length(max, field)?;
        // Every item takes at least one byte, so the input bounds the allocation too.
        let mut items = Vec::with_capacity(count.min(self.rest.len()));
        for _ in 0..count {
            items.push(T::decode_from(self)?);
        }
        Ok(items)
    }

    fn length(&mut self, max: usize, field: &'static str) -> Result<usize, DecodeError> {
        let len = self.u32(field)?;
        let len = usize::try_from(len).map_err(|_| DecodeError::TooLarge { field, max })?;
        if len > max {
            return Err(DecodeError::TooLarge { field, max });
        }
        Ok(len)
    }
}
