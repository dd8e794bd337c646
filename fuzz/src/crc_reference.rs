//! CRC-32/BZIP2, bit by bit from its definition: what the table-driven CRC of `semper-atm` is
//! checked against.

/// The CRC-32 generator of AAL5, without its x^32 term.
const POLY: u32 = 0x04C1_1DB7;

/// CRC-32/BZIP2 of `bytes`: MSB first, register starting at all ones, final XOR all ones.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut register = u32::MAX;
    for &byte in bytes {
        register ^= u32::from(byte) << 24;
        for _ in 0..8 {
            register = if register & 0x8000_0000 != 0 {
                (register << 1) ^ POLY
            } else {
                register << 1
            };
        }
    }
    !register
}
