//! A search for an RSA key's secret that needs no copy of it, for keys made in a token whose
//! bytes nobody can read: any window of a process's memory or of a file that, read as a number,
//! divides a denomination's public modulus is one of its two primes. A window is read
//! big-endian at every byte (as DER and the wire carry numbers) and little-endian at every
//! 8-byte boundary (as OpenSSL's 64-bit limbs hold them).
//!
//! A prime of a 2n-bit modulus made by OpenSSL (SoftHSM2 uses it) is n bits with its top byte at
//! least 0xb5 (FIPS 186-4's lower bound, sqrt(2) * 2^(n-1); the older path sets the top two bits)
//! and is odd; random bytes hold no run of four zero bytes but once in 2^24 windows. Windows
//! failing those tests are not divided, which keeps the search to seconds.

use std::path::Path;

use openssl::bn::{BigNum, BigNumContext};
use openssl::rsa::Rsa;
use semper_protocol::denomination::SignedDenominationSet;

use super::memory::{any_chunk_of_process, files_under};

/// The smallest top byte of an OpenSSL RSA prime.
const PRIME_TOP_MIN: u8 = 0xb5;

/// The public moduli to find a factor of, all of one size.
pub struct Moduli {
    moduli: Vec<BigNum>,
    prime_bytes: usize,
}

impl Moduli {
    /// The moduli of every denomination in `set`.
    pub fn of(set: &SignedDenominationSet) -> Self {
        let moduli: Vec<BigNum> = set
            .body()
            .fields()
            .denominations
            .iter()
            .map(|d| {
                let rsa = Rsa::public_key_from_der_pkcs1(d.fields().public_key.der()).unwrap();
                rsa.n().to_owned().unwrap()
            })
            .collect();
        let prime_bytes = moduli[0].num_bytes() as usize / 2;
        assert!(
            moduli
                .iter()
                .all(|n| n.num_bytes() as usize == 2 * prime_bytes)
        );
        Self {
            moduli,
            prime_bytes,
        }
    }

    /// How many moduli.
    pub fn len(&self) -> usize {
        self.moduli.len()
    }

    /// Whether `haystack` holds a prime factor of one of the moduli.
    pub fn factor_in(&self, haystack: &[u8]) -> bool {
        let p = self.prime_bytes;
        if haystack.len() < p {
            return false;
        }
        // Checked only once the cheap byte tests pass: most windows never get here.
        let clean = |window: &[u8]| !window.windows(4).any(|four| four == [0, 0, 0, 0]);
        let mut ctx = BigNumContext::new().unwrap();
        let mut rem = BigNum::new().unwrap();
        let mut divides = |window: &[u8]| {
            let candidate = BigNum::from_slice(window).unwrap();
            self.moduli.iter().any(|n| {
                rem.checked_rem(n, &candidate, &mut ctx).unwrap();
                rem.num_bits() == 0
            })
        };
        let mut reversed = vec![0u8; p];
        for at in 0..=haystack.len() - p {
            let window = &haystack[at..at + p];
            if window[0] >= PRIME_TOP_MIN
                && window[p - 1] & 1 == 1
                && clean(window)
                && divides(window)
            {
                return true;
            }
            if at % 8 == 0 && window[p - 1] >= PRIME_TOP_MIN && window[0] & 1 == 1 && clean(window)
            {
                reversed.copy_from_slice(window);
                reversed.reverse();
                if divides(&reversed) {
                    return true;
                }
            }
        }
        false
    }

    /// Whether the readable memory of process `pid` (every mapping, through /proc/PID/mem)
    /// holds a prime factor.
    pub fn factor_in_process(&self, pid: u32) -> bool {
        // Chunks overlap by a prime's length, so that nothing split across two is missed.
        any_chunk_of_process(pid, self.prime_bytes, |chunk| self.factor_in(chunk))
    }

    /// Whether a file under `dir` holds a prime factor.
    pub fn factor_in_files(&self, dir: &Path) -> bool {
        files_under(dir)
            .iter()
            .filter_map(|file| std::fs::read(file).ok())
            .any(|bytes| self.factor_in(&bytes))
    }
}
