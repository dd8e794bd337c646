//! Every benchmark's criterion id, named once: the benches record their results under these ids
//! and `bench-ratios` reads them back from `target/criterion/<group>/<function>/`.

/// One benchmark's criterion id: `<group>/<function>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BenchId {
    /// The benchmark group.
    pub group: &'static str,
    /// The benchmark within its group.
    pub function: &'static str,
}

impl BenchId {
    const fn new(group: &'static str, function: &'static str) -> Self {
        Self { group, function }
    }
}

impl std::fmt::Display for BenchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.group, self.function)
    }
}

/// The issuer's RFC 9474 BlindSign on one blinded coin.
pub const BLIND_SIGN: &str = "blind_sign";
/// BlindSign with OpenSSL (RSASP1 and its RSAVP1 self-check), RSA-2048: the issuer's path.
pub const BLIND_SIGN_OPENSSL_2048: BenchId = BenchId::new(BLIND_SIGN, "openssl_2048");
/// BlindSign with the pure-Rust `blind-rsa-signatures`, RSA-2048: for comparison only.
pub const BLIND_SIGN_PURE_RUST_2048: BenchId = BenchId::new(BLIND_SIGN, "pure_rust_2048");
/// BlindSign with OpenSSL, RSA-3072.
pub const BLIND_SIGN_OPENSSL_3072: BenchId = BenchId::new(BLIND_SIGN, "openssl_3072");

/// Verification of the issuer's RSA-PSS signature on one coin.
pub const COIN_VERIFY: &str = "coin_verify";
/// Coin verification with OpenSSL, RSA-2048: the deposit hot path.
pub const COIN_VERIFY_OPENSSL_2048: BenchId = BenchId::new(COIN_VERIFY, "openssl_2048");
/// Coin verification with OpenSSL's own EVP RSA-PSS verifier, RSA-2048: what the hot path's own
/// padding check replaces.
pub const COIN_VERIFY_OPENSSL_EVP_2048: BenchId = BenchId::new(COIN_VERIFY, "openssl_evp_2048");
/// Coin verification with the pure-Rust path, RSA-2048.
pub const COIN_VERIFY_PURE_RUST_2048: BenchId = BenchId::new(COIN_VERIFY, "pure_rust_2048");

/// Raw OpenSSL RSA-2048 PKCS#1 v1.5 SHA-256: the yardstick of the RSA targets.
pub const REFERENCE: &str = "reference";
/// Reference signing.
pub const REFERENCE_SIGN: BenchId = BenchId::new(REFERENCE, "openssl_rsa2048_pkcs1_sign");
/// Reference verification.
pub const REFERENCE_VERIFY: BenchId = BenchId::new(REFERENCE, "openssl_rsa2048_pkcs1_verify");

/// Ed25519 verification (ZIP-215), single and batched.
pub const ED25519: &str = "ed25519";
/// One signature with `VerifyingKey::verify`.
pub const ED25519_SINGLE: BenchId = BenchId::new(ED25519, "single");
/// `verify_batch` over this many signatures, with each batch's id.
pub const ED25519_BATCHES: [(usize, BenchId); 4] = [
    (16, BenchId::new(ED25519, "batch_16")),
    (64, BenchId::new(ED25519, "batch_64")),
    (256, BenchId::new(ED25519, "batch_256")),
    (1024, BenchId::new(ED25519, "batch_1024")),
];
/// The batch whose per-signature rate the Ed25519 target compares with single verification.
pub const ED25519_TARGET_BATCH: BenchId = ED25519_BATCHES[2].1;
const _: () = assert!(ED25519_BATCHES[2].0 == 256);

/// `BatchVerifier::verify` on a batch of valid deposit permissions.
pub const BATCH_VERIFIER: &str = "batch_verifier";
/// Deposit permissions in each batch the verifier is given.
pub const BATCH_VERIFIER_COINS: usize = 256;
/// The verifier with one worker.
pub const BATCH_VERIFIER_1_THREAD: BenchId = BenchId::new(BATCH_VERIFIER, "256_coins_1_thread");
/// The verifier with two workers.
pub const BATCH_VERIFIER_2_THREADS: BenchId = BenchId::new(BATCH_VERIFIER, "256_coins_2_threads");
/// Each verifier run: its worker count and id.
pub const BATCH_VERIFIER_RUNS: [(usize, BenchId); 2] =
    [(1, BATCH_VERIFIER_1_THREAD), (2, BATCH_VERIFIER_2_THREADS)];
