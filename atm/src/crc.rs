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
/// Slicing-by-8 tables: `CRC32_SLICES[k][b]` is byte `b` followed by `k` zero bytes through the
/// register, so eight bytes advance the register with eight lookups and no carried dependency
/// between them. The AAL5 CRC runs over every byte twice (to send, to check); byte at a time it
/// was most of the emulator's time per cell.
const CRC32_SLICES: [[u32; 256]; 8] = crc32_slices();

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

const fn crc32_slices() -> [[u32; 256]; 8] {
    let mut slices = [[0u32; 256]; 8];
    slices[0] = crc32_table();
    let mut k = 1;
    while k < 8 {
        let mut byte = 0;
        while byte < 256 {
            let previous = slices[k - 1][byte];
            slices[k][byte] = (previous << 8) ^ slices[0][(previous >> 24) as usize];
            byte += 1;
        }
        k += 1;
    }
    slices
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

    /// Feeds `bytes` through the register, eight at a time, then byte by byte.
    pub fn update(mut self, bytes: &[u8]) -> Self {
        let t = &CRC32_SLICES;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let high = self.register ^ u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            let low = u32::from_be_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
            self.register = t[7][(high >> 24) as usize]
                ^ t[6][(high >> 16 & 0xff) as usize]
                ^ t[5][(high >> 8 & 0xff) as usize]
                ^ t[4][(high & 0xff) as usize]
                ^ t[3][(low >> 24) as usize]
                ^ t[2][(low >> 16 & 0xff) as usize]
                ^ t[1][(low >> 8 & 0xff) as usize]
                ^ t[0][(low & 0xff) as usize];
        }
        self.update_bytewise(chunks.remainder())
    }

    /// Feeds `bytes` through the register one at a time: the definition the sliced form keeps.
    fn update_bytewise(mut self, bytes: &[u8]) -> Self {
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

    proptest::proptest! {
        #[test]
        fn eight_at_a_time_equals_byte_by_byte(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            split in 0usize..200,
        ) {
            let split = split.min(bytes.len());
            let bytewise = Crc32::new().update_bytewise(&bytes).register();
            proptest::prop_assert_eq!(Crc32::new().update(&bytes).register(), bytewise);
            // Fed in two pieces at any boundary, the same.
            let (head, tail) = bytes.split_at(split);
            proptest::prop_assert_eq!(Crc32::new().update(head).update(tail).register(), bytewise);
        }
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
