//! Appending canonical encodings to a buffer.

use super::{Encode, Message};

/// A growable buffer that values encode themselves into.
#[derive(Debug, Default)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Writes a message's domain tag and version: the start of every [`Message`].
    pub fn domain<M: Message + ?Sized>(&mut self) {
        let tag = M::DOMAIN.as_bytes();
        debug_assert!(tag.len() <= usize::from(u8::MAX), "domain tags are short");
        self.u8(tag.len() as u8);
        self.bytes.extend_from_slice(tag);
        self.u8(M::VERSION);
    }

    /// Writes one byte.
    pub fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    /// Writes a big-endian `u16`.
    pub fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    /// Writes a big-endian `u32`.
    pub fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    /// Writes a big-endian `u64`.
    pub fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    /// Writes a big-endian two's-complement `i64`.
    pub fn i64(&mut self, value: i64) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    /// Writes bytes whose length the reader knows in advance.
    pub fn fixed(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Writes a `u32` length and then the bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.length(bytes.len());
        self.bytes.extend_from_slice(bytes);
    }

    /// Writes a `u32` count and then each item.
    pub fn list<T: Encode>(&mut self, items: &[T]) {
        self.length(items.len());
        for item in items {
            item.encode_to(self);
        }
    }

    fn length(&mut self, len: usize) {
        // Every bounded field is far below 4 GiB; encoders only see values that passed those bounds.
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        self.u32(len);
    }
}
