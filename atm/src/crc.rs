//! Table-driven CRCs of the ATM layer: CRC-8/I-432-1 for the cell header (HEC) and
//! CRC-32/BZIP2 for the AAL5 trailer. Both are MSB-first (not reflected).

/// The CRC-8 generator x^8 + x^2 + x + 1, without its x^8 term.
const CRC8_POLY: u8 = 0x07;
/// The coset I.432 adds to the HEC so that an all-zero header does not have an all-zero HEC.
pub const HEC_COSET: u8 = 0x55;
/// The CRC-32 generator of AAL5 (I.363.5), without its x^32 term.
const CRC32_POLY: u32 = 0x04C1_1DB7;
/// The CRC-32 register's initial value and final XOR.
const CRC32_INIT: u32 = 0xFFFF_FFFF;
/// The register left after running the CRC-32 over a whole AAL5 CPCS-PDU, CRC included,
/// without the final XOR: the constant a receiver checks for.
pub const CRC32_RESIDUE: u32 = 0xC704_DD7B;

const CRC8_TABLE: [u8; 256] = crc8_table();
const CRC32_TABLE: [u32; 256] = crc32_table();

const fn crc8_table() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut register = byte as u8;
        let mut bit = 0;
        while bit < 8 {
            register = if register & 0x80 != 0 {
                (register << 1) ^ CRC8_POLY
            } else {
                register << 1
            };
            bit += 1;
        }
        table[byte] = register;
        byte += 1;
    }
    table
}

const fn crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut register = (byte as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            register = if register & 0x8000_0000 != 0 {
                (register << 1) ^ CRC32_POLY
            } else {
                register << 1
            };
            bit += 1;
        }
        table[byte] = register;
        byte += 1;
    }
    table
}

/// The plain CRC-8 (poly 0x07, init 0, no final XOR) of `bytes`; linear in its input.
pub const fn crc8(bytes: &[u8]) -> u8 {
    let mut register = 0u8;
    let mut i = 0;
    while i < bytes.len() {
        register = CRC8_TABLE[(register ^ bytes[i]) as usize];
        i += 1;
    }
    register
}

/// CRC-8/I-432-1 of `bytes`: the HEC of a header whose first four bytes are `bytes`.
pub const fn crc8_i432(bytes: &[u8]) -> u8 {
    crc8(bytes) ^ HEC_COSET
}

/// A running CRC-32/BZIP2 computation.
#[derive(Debug, Clone, Copy)]
pub struct Crc32 {
    register: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// A computation over no bytes yet.
    pub const fn new() -> Self {
        Self {
            register: CRC32_INIT,
        }
    }

    /// Feeds `bytes` through the register.
    pub fn update(mut self, bytes: &[u8]) -> Self {
        for &byte in bytes {
            let index = ((self.register >> 24) as u8 ^ byte) as usize;
            self.register = (self.register << 8) ^ CRC32_TABLE[index];
        }
        self
    }

    /// The raw register, without the final XOR (compare with [`CRC32_RESIDUE`]).
    pub fn register(self) -> u32 {
        self.register
    }

    /// The CRC value, as transmitted in an AAL5 trailer.
    pub fn finish(self) -> u32 {
        self.register ^ CRC32_INIT
    }
}

/// CRC-32/BZIP2 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    Crc32::new().update(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc8_i432_check_value() {
        assert_eq!(crc8_i432(b"123456789"), 0xA1);
    }

    #[test]
    fn hec_of_the_idle_cell_header() {
        assert_eq!(crc8_i432(&[0x00, 0x00, 0x00, 0x01]), 0x52);
    }

    #[test]
    fn crc32_bzip2_check_value() {
        assert_eq!(crc32(b"123456789"), 0xFC89_1918);
    }

    #[test]
    fn message_followed_by_its_crc_leaves_the_residue() {
        let message = b"123456789";
        let whole = [&message[..], &crc32(message).to_be_bytes()].concat();
        // The raw register (no final XOR) is the I.363.5 residue; with the XOR it would be
        // its complement, so the residue formulation is "without xorout".
        assert_eq!(Crc32::new().update(&whole).register(), CRC32_RESIDUE);
        assert_eq!(crc32(&whole), !CRC32_RESIDUE);
    }
}
