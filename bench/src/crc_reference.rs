//! The hand-written CRC-32/BZIP2 (slicing-by-8) that `semper_atm::crc` had before it took the
//! `crc` crate's: kept here only as the yardstick `bench-atm` times the crate against.

const POLY: u32 = 0x04C1_1DB7;
const INIT: u32 = 0xFFFF_FFFF;
/// `SLICES[k][b]`: byte `b` followed by `k` zero bytes through the register.
const SLICES: [[u32; 256]; 8] = slices();

const fn table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut register = (byte as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            register = if register & 0x8000_0000 != 0 {
                (register << 1) ^ POLY
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

const fn slices() -> [[u32; 256]; 8] {
    let mut slices = [[0u32; 256]; 8];
    slices[0] = table();
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

/// CRC-32/BZIP2 of `bytes`, eight bytes at a time, then byte by byte.
pub fn crc32_sliced_by_8(bytes: &[u8]) -> u32 {
    let t = &SLICES;
    let mut register = INIT;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let high = register ^ u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let low = u32::from_be_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        register = t[7][(high >> 24) as usize]
            ^ t[6][(high >> 16 & 0xff) as usize]
            ^ t[5][(high >> 8 & 0xff) as usize]
            ^ t[4][(high & 0xff) as usize]
            ^ t[3][(low >> 24) as usize]
            ^ t[2][(low >> 16 & 0xff) as usize]
            ^ t[1][(low >> 8 & 0xff) as usize]
            ^ t[0][(low & 0xff) as usize];
    }
    for &byte in chunks.remainder() {
        register = (register << 8) ^ t[0][((register >> 24) as u8 ^ byte) as usize];
    }
    register ^ INIT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_agrees_with_the_crate() {
        assert_eq!(crc32_sliced_by_8(b"123456789"), 0xFC89_1918);
        let bytes: Vec<u8> = (0..1_000u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in [0, 1, 7, 8, 9, 47, 48, 1_000] {
            assert_eq!(
                crc32_sliced_by_8(&bytes[..len]),
                semper_atm::crc::crc32(&bytes[..len])
            );
        }
    }
}
