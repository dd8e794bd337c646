//! The fixed inputs of every vector: labelled byte strings, the parties' Ed25519 keys, the RSA test
//! key, the ids and instants, and the RNG that replays chosen blinding values.
//!
//! Nothing here is random: every value comes from a label (see [`derive`]) or a constant, so the
//! vectors are the same on every machine and in every run.

use std::convert::Infallible;

use rand::{TryCryptoRng, TryRng};
use semper_protocol::crypto::blind_rsa::DenominationSecretKey;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::crypto::hash::sha256;
use semper_protocol::ids::{
    AccountId, BankId, BatchId, CycleId, MerchantId, RequestId, SubmissionId,
};
use semper_protocol::time::Timestamp;

/// The issuer of the embedded default.
pub const ISSUER: BankId = BankId([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
/// The acquirer of the embedded default.
pub const ACQUIRER: BankId = BankId([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
/// The clearing house of the embedded default.
pub const CLEARING: BankId = BankId([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
/// The wallet's account at the issuer.
pub const ACCOUNT: AccountId = AccountId([0x11; 16]);
/// The merchant at the acquirer.
pub const MERCHANT: MerchantId = MerchantId([0x22; 16]);
/// The wallet's withdrawal id.
pub const WITHDRAW_ID: RequestId = RequestId([0x33; 16]);
/// The swap's request id.
pub const SWAP_ID: RequestId = RequestId([0x37; 16]);
/// The merchant's deposit id.
pub const DEPOSIT_ID: RequestId = RequestId([0x44; 16]);
/// The acquirer's spend-check batch.
pub const BATCH: BatchId = BatchId([0x55; 16]);
/// The acquirer's settlement submission.
pub const SUBMISSION: SubmissionId = SubmissionId([0x66; 16]);
/// The clearing cycle.
pub const CYCLE: CycleId = CycleId([0x77; 16]);
/// "Now" in the vectors: 2027-01-15T08:00:00Z, in Unix milliseconds.
pub const NOW: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);

/// The instant `ms` milliseconds after [`NOW`].
pub fn at(ms: u64) -> Timestamp {
    NOW.plus_ms(ms)
}

/// `len` bytes named by `label`: SHA-256(label ‖ 0u32) ‖ SHA-256(label ‖ 1u32) ‖ …, cut to
/// `len` (counters big-endian). How every seed, salt and blinding factor of the vectors is made.
pub fn derive(label: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter: u32 = 0;
    while out.len() < len {
        out.extend_from_slice(&sha256(&[label.as_bytes(), &counter.to_be_bytes()]));
        counter += 1;
    }
    out.truncate(len);
    out
}

/// A party of the vectors: a name and the Ed25519 key it signs with.
pub struct Party {
    /// The name the vector files use.
    pub name: &'static str,
    /// The RFC 8032 seed: `derive("semper-vectors/key/<name>", 32)`.
    pub seed: [u8; 32],
    /// The key.
    pub key: SigningKey,
}

impl Party {
    /// The party called `name`.
    pub fn new(name: &'static str) -> Self {
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&derive(&format!("semper-vectors/key/{name}"), 32));
        Self {
            name,
            seed,
            key: SigningKey::from_seed(&seed),
        }
    }
}

/// Every key of the vectors, by role.
pub struct Parties {
    /// The issuer's master key: signs its denomination sets.
    pub master: Party,
    /// The issuer's confirmation key: signs its spend confirmations.
    pub confirmation: Party,
    /// The acquirer's bank key: signs its spend-check batches and settlement submissions.
    pub acquirer: Party,
    /// The clearing house's key: signs its receipts and settlement reports.
    pub clearing: Party,
    /// The wallet's account key: signs its withdrawals.
    pub account: Party,
    /// The merchant's key: signs its deposits.
    pub merchant: Party,
    /// The coin keys: each signs its coin's deposit permission.
    pub coins: [Party; 2],
}

impl Parties {
    /// The parties.
    pub fn new() -> Self {
        Self {
            master: Party::new("issuer-master"),
            confirmation: Party::new("issuer-confirmation"),
            acquirer: Party::new("acquirer-bank"),
            clearing: Party::new("clearing"),
            account: Party::new("account"),
            merchant: Party::new("merchant"),
            coins: [Party::new("coin-0"), Party::new("coin-1")],
        }
    }

    /// Every party, in the order `keys.json` lists them.
    pub fn all(&self) -> Vec<&Party> {
        let mut all = vec![
            &self.master,
            &self.confirmation,
            &self.acquirer,
            &self.clearing,
            &self.account,
            &self.merchant,
        ];
        all.extend(self.coins.iter());
        all
    }
}

/// The RSA-2048 test key (PKCS#1 PEM), made once with `openssl genrsa -traditional 2048`.
pub const RSA_TEST_KEY_PEM: &str = include_str!("rsa-2048-test-key.pem");

/// The denomination key of the vectors.
pub fn rsa_key() -> DenominationSecretKey {
    let rsa = openssl::rsa::Rsa::private_key_from_pem(RSA_TEST_KEY_PEM.as_bytes())
        .expect("the test key is PEM");
    let der = rsa.private_key_to_der().expect("the test key encodes");
    DenominationSecretKey::from_der(&der).expect("the test key is a valid denomination key")
}

/// An RNG that hands out chosen byte strings, one per draw: how a vector fixes the PSS salt and
/// the blinding factor that `blind` would otherwise draw (the salt first, then `r`,
/// little-endian, as RFC 9474's own test procedure feeds them).
pub struct ReplayRng(pub Vec<Vec<u8>>);

impl TryRng for ReplayRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        unreachable!("blinding draws whole byte strings")
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        unreachable!("blinding draws whole byte strings")
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        assert!(!self.0.is_empty(), "blinding drew more than the salt and r");
        let next = self.0.remove(0);
        assert_eq!(next.len(), dst.len(), "blinding drew an unexpected length");
        dst.copy_from_slice(&next);
        Ok(())
    }
}

impl TryCryptoRng for ReplayRng {}
