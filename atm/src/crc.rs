//! The CRCs of the ATM layer, from the `crc` crate's catalogue: CRC-8/I-432-1 for the cell
//! header (HEC) and CRC-32/BZIP2 for the AAL5 trailer. Both are MSB-first (not reflected).
//!
//! The CRC-32 runs over every payload byte twice (to send, to check), so it uses the crate's
//! slicing-by-16 tables; `bench-atm` prints its rate beside the hand-written slicing-by-8 it
//! replaced (kept in the bench as the reference).

use crc::{CRC_8_I_432_1, CRC_8_SMBUS, CRC_32_BZIP2, Crc, Digest, Table};

/// The coset I.432 adds to the HEC so that an all-zero header does not have an all-zero HEC.
pub const HEC_COSET: u8 = 0x55;
/// The CRC-32 register's initial value and final XOR.
const CRC32_INIT: u32 = 0xFFFF_FFFF;
/// The register left after running the CRC-32 over a whole AAL5 CPCS-PDU, CRC included,
/// without the final XOR: the constant a receiver checks for.
pub const CRC32_RESIDUE: u32 = 0xC704_DD7B;

/// CRC-8 with the HEC's generator x^8 + x^2 + x + 1 and no coset (CRC-8/SMBUS): linear, so
/// the header's single-bit-error syndromes can be computed from it.
const CRC8_PLAIN: Crc<u8> = Crc::<u8>::new(&CRC_8_SMBUS);
/// CRC-8/I-432-1: the plain CRC-8 XOR the coset 0x55.
const CRC8_HEC: Crc<u8> = Crc::<u8>::new(&CRC_8_I_432_1);
/// CRC-32/BZIP2, slicing-by-16.
static CRC32_AAL5: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_BZIP2);

// The catalogue's entries are the ones this module documents.
const _: () = assert!(CRC_8_I_432_1.poly == 0x07 && CRC_8_I_432_1.xorout == HEC_COSET);
const _: () = assert!(CRC_8_SMBUS.poly == 0x07 && CRC_8_SMBUS.init == 0 && CRC_8_SMBUS.xorout == 0);
const _: () = assert!(CRC_32_BZIP2.init == CRC32_INIT && CRC_32_BZIP2.xorout == CRC32_INIT);
const _: () = assert!(CRC_32_BZIP2.residue == CRC32_RESIDUE);

/// The plain CRC-8 (poly 0x07, init 0, no final XOR) of `bytes`; linear in its input.
pub const fn crc8(bytes: &[u8]) -> u8 {
    CRC8_PLAIN.checksum(bytes)
}

/// CRC-8/I-432-1 of `bytes`: the HEC of a header whose first four bytes are `bytes`.
pub const fn crc8_i432(bytes: &[u8]) -> u8 {
    CRC8_HEC.checksum(bytes)
}

/// A running CRC-32/BZIP2 computation.
#[derive(Clone)]
pub struct Crc32 {
    digest: Digest<'static, u32, Table<16>>,
}

impl std::fmt::Debug for Crc32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crc32").finish_non_exhaustive()
    }
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// A computation over no bytes yet.
    pub fn new() -> Self {
        Self {
            digest: CRC32_AAL5.digest(),
        }
    }

    /// Feeds `bytes` through the register.
    pub fn update(mut self, bytes: &[u8]) -> Self {
        self.digest.update(bytes);
        self
    }

    /// The raw register, without the final XOR (compare with [`CRC32_RESIDUE`]).
    pub fn register(self) -> u32 {
        self.finish() ^ CRC32_INIT
    }

    /// The CRC value, as transmitted in an AAL5 trailer.
    pub fn finish(self) -> u32 {
        self.digest.finalize()
    }
}

/// CRC-32/BZIP2 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC32_AAL5.checksum(bytes)
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
    fn the_plain_crc8_is_the_hec_without_its_coset() {
        assert_eq!(crc8(b"123456789") ^ HEC_COSET, 0xA1);
        assert_eq!(crc8(&[]), 0);
    }

    #[test]
    fn crc32_bzip2_check_value() {
        assert_eq!(crc32(b"123456789"), 0xFC89_1918);
    }

    proptest::proptest! {
        #[test]
        fn fed_in_pieces_it_is_the_same(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            split in 0usize..200,
        ) {
            let split = split.min(bytes.len());
            let whole = crc32(&bytes);
            proptest::prop_assert_eq!(Crc32::new().update(&bytes).finish(), whole);
            // Fed in two pieces at any boundary, the same.
            let (head, tail) = bytes.split_at(split);
            proptest::prop_assert_eq!(Crc32::new().update(head).update(tail).finish(), whole);
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
