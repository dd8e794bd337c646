use std::convert::Infallible;

use openssl::bn::BigNum;
use rand::{Rng as _, TryCryptoRng, TryRng};
use serde::Deserialize;

use super::*;
use crate::test_keys;

/// One RFC 9474 Appendix A test vector (hex strings as published).
#[derive(Deserialize)]
struct Vector {
    name: String,
    p: String,
    q: String,
    n: String,
    e: String,
    d: String,
    msg: String,
    msg_prefix: String,
    salt: String,
    #[serde(rename = "sLen")]
    salt_len: String,
    inv: String,
    blinded_msg: String,
    blind_sig: String,
    sig: String,
}

fn unhex(text: &str) -> Vec<u8> {
    let text = text.trim_start_matches("0x");
    if text.len() % 2 == 1 {
        hex::decode(format!("0{text}")).unwrap()
    } else {
        hex::decode(text).unwrap()
    }
}

fn vectors() -> Vec<Vector> {
    serde_json::from_str(include_str!("rfc9474_vectors.json")).unwrap()
}

fn vector_key(v: &Vector) -> DenominationSecretKey {
    DenominationSecretKey::from_components(
        &unhex(&v.n),
        &unhex(&v.e),
        &unhex(&v.d),
        &unhex(&v.p),
        &unhex(&v.q),
    )
    .unwrap()
}

#[test]
fn rfc9474_vectors_pass_on_the_openssl_path() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 4);
    for v in &vectors {
        let key = vector_key(v);
        // RSASP1 is the same for every variant.
        let blind_sig = key
            .blind_sign(&BlindedMessage(unhex(&v.blinded_msg)))
            .unwrap();
        assert_eq!(blind_sig.0, unhex(&v.blind_sig), "{}", v.name);
        // The verifier is for the 48-byte-salt variants; the randomized one signs prefix ‖ msg.
        let prepared = [unhex(&v.msg_prefix), unhex(&v.msg)].concat();
        let verdict = key
            .public_key()
            .verify(&prepared, &RsaSignature(unhex(&v.sig)));
        let evp = key
            .public_key()
            .verify_openssl_evp(&prepared, &RsaSignature(unhex(&v.sig)));
        assert_eq!(verdict, evp, "{}", v.name);
        if v.salt_len == "0x30" {
            assert_eq!(verdict, Ok(()), "{}", v.name);
        } else {
            assert_eq!(verdict, Err(RsaError::Invalid), "{} has no salt", v.name);
        }
    }
}

/// Replays the vector's salt and blinding factor, as the RFC's test procedure does.
struct VectorRng(Vec<Vec<u8>>);

impl TryRng for VectorRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        unreachable!("blinding draws whole byte strings")
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        unreachable!("blinding draws whole byte strings")
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        dst.copy_from_slice(&self.0.remove(0));
        Ok(())
    }
}

impl TryCryptoRng for VectorRng {}

#[test]
fn rfc9474_deterministic_vector_passes_on_the_wallet_path() {
    let vectors = vectors();
    let v = vectors
        .iter()
        .find(|v| v.name == "RSABSSA-SHA384-PSS-Deterministic")
        .unwrap();
    let key = vector_key(v);
    let public = key.public_key();
    // The blinding factor r is the inverse of the published `inv`, drawn little-endian.
    let n = BigNum::from_slice(&unhex(&v.n)).unwrap();
    let inv = BigNum::from_slice(&unhex(&v.inv)).unwrap();
    let mut r = BigNum::new().unwrap();
    r.mod_inverse(&inv, &n, &mut openssl::bn::BigNumContext::new().unwrap())
        .unwrap();
    let mut r_le = r.to_vec_padded(n.num_bytes()).unwrap();
    r_le.reverse();
    let mut rng = VectorRng(vec![unhex(&v.salt), r_le]);
    let msg = unhex(&v.msg);
    let (blinded, secret) = public.blind(&mut rng, &msg).unwrap();
    assert_eq!(blinded.0, unhex(&v.blinded_msg));
    let signature = public
        .finalize(&BlindSignature(unhex(&v.blind_sig)), &secret, &msg)
        .unwrap();
    assert_eq!(signature.0, unhex(&v.sig));
    assert_eq!(public.verify_pure_rust(&msg, &signature), Ok(()));
    assert_eq!(public.verify(&msg, &signature), Ok(()));
}

/// The pure-Rust issuer path, for cross-checking only.
fn pure_rust_blind_sign(key: &DenominationSecretKey, blinded: &BlindedMessage) -> BlindSignature {
    let der = key.to_der().unwrap();
    let pure = blind_rsa_signatures::SecretKeySha384PSSDeterministic::from_der(&der).unwrap();
    BlindSignature(pure.blind_sign(&blinded.0).unwrap().0)
}

#[test]
fn coins_made_on_one_path_verify_on_the_other() {
    let mut rng = rand::rng();
    for key in [test_keys::rsa_2048(), test_keys::rsa_3072()] {
        let public = key.public_key();
        let message = b"semper coin cross-check";
        let (blinded, secret) = public.blind(&mut rng, message).unwrap();

        // OpenSSL signs, the wallet finalizes (which itself verifies in pure Rust).
        let by_openssl = key.blind_sign(&blinded).unwrap();
        let coin = public.finalize(&by_openssl, &secret, message).unwrap();
        assert_eq!(public.verify(message, &coin), Ok(()));
        assert_eq!(public.verify_pure_rust(message, &coin), Ok(()));

        // Pure Rust signs, OpenSSL verifies.
        let by_rust = pure_rust_blind_sign(key, &blinded);
        assert_eq!(by_rust, by_openssl, "RSASP1 is deterministic");
        let coin = public.finalize(&by_rust, &secret, message).unwrap();
        assert_eq!(public.verify(message, &coin), Ok(()));

        // And neither accepts it for another message.
        assert_eq!(public.verify(b"other", &coin), Err(RsaError::Invalid));
        assert_eq!(
            public.verify_pure_rust(b"other", &coin),
            Err(RsaError::Invalid)
        );
    }
}

#[test]
fn bad_inputs_get_typed_errors() {
    let key = test_keys::rsa_2048();
    let public = key.public_key();
    assert_eq!(
        key.blind_sign(&BlindedMessage(vec![1; 255]))
            .unwrap_err()
            .code(),
        "rsa.wrong_length"
    );
    assert_eq!(
        key.blind_sign(&BlindedMessage(vec![0xff; 256]))
            .unwrap_err(),
        RsaError::OutOfRange
    );
    assert_eq!(
        public
            .verify(b"m", &RsaSignature(vec![0; 10]))
            .unwrap_err()
            .code(),
        "rsa.wrong_length"
    );
    assert_eq!(
        public.verify(b"m", &RsaSignature(vec![0xff; 256])),
        Err(RsaError::Invalid)
    );
    assert_eq!(
        public.verify(b"m", &RsaSignature(vec![0; 256])),
        Err(RsaError::Invalid)
    );

    let mut rng = rand::rng();
    let (blinded, secret) = public.blind(&mut rng, b"m").unwrap();
    let mut blind_sig = key.blind_sign(&blinded).unwrap();
    blind_sig.0[100] ^= 1;
    assert_eq!(
        public.finalize(&blind_sig, &secret, b"m"),
        Err(RsaError::Invalid)
    );
}

#[test]
fn only_canonical_2048_to_4096_bit_keys_with_e_65537_are_accepted() {
    let small = Rsa::generate(1024).unwrap();
    let der = small.public_key_to_der_pkcs1().unwrap();
    assert_eq!(
        DenominationPublicKey::from_der(&der).unwrap_err().code(),
        "rsa.unsupported_key"
    );
    let e3 = Rsa::generate_with_e(2048, &BigNum::from_u32(3).unwrap()).unwrap();
    let der = e3.public_key_to_der_pkcs1().unwrap();
    assert_eq!(
        DenominationPublicKey::from_der(&der).unwrap_err().code(),
        "rsa.unsupported_key"
    );
    let good = test_keys::rsa_2048().public_key().der().to_vec();
    assert!(DenominationPublicKey::from_der(&good).is_ok());
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(DenominationPublicKey::from_der(&trailing).is_err());
    assert!(DenominationPublicKey::from_der(&good[..good.len() - 1]).is_err());
    assert_eq!(
        test_keys::rsa_3072().public_key().size(),
        RsaKeySize::Bits3072
    );
}

#[test]
fn secrets_never_show_in_debug() {
    let key = test_keys::rsa_2048();
    let shown = format!("{key:?}");
    assert!(shown.contains("redacted"), "{shown}");
    let d = hex::encode(&key.rsa.d().to_vec()[..16]);
    assert!(!shown.contains(&d));
    let (_, secret) = key.public_key().blind(&mut rand::rng(), b"m").unwrap();
    assert_eq!(format!("{secret:?}"), "BlindingSecret(<redacted>)");
}

/// The hot path's verdict, OpenSSL's EVP verdict and the pure-Rust verdict on one signature.
fn verdicts(public: &DenominationPublicKey, message: &[u8], signature: &RsaSignature) -> [bool; 3] {
    [
        public.verify(message, signature).is_ok(),
        public.verify_openssl_evp(message, signature).is_ok(),
        public.verify_pure_rust(message, signature).is_ok(),
    ]
}

#[test]
fn the_fast_path_agrees_with_openssl_and_pure_rust_on_valid_and_spoiled_signatures() {
    let vector_key = vector_key(&vectors()[0]);
    let mut rng = rand::rng();
    for key in [test_keys::rsa_2048(), test_keys::rsa_3072(), &vector_key] {
        let public = key.public_key();
        let message = b"coin message";
        let (blinded, secret) = public.blind(&mut rng, message).unwrap();
        let signature = public
            .finalize(&key.blind_sign(&blinded).unwrap(), &secret, message)
            .unwrap();
        assert_eq!(verdicts(public, message, &signature), [true; 3]);
        assert_eq!(verdicts(public, b"coin messagf", &signature), [false; 3]);
        for _ in 0..64 {
            let mut spoiled = signature.clone();
            let byte = rng.next_u32() as usize % spoiled.0.len();
            spoiled.0[byte] ^= 1 << (rng.next_u32() % 8);
            assert_eq!(verdicts(public, message, &spoiled), [false; 3]);
        }
        // Above the modulus, zero, and a valid RSA value whose padding is garbage.
        assert_eq!(
            verdicts(
                public,
                message,
                &RsaSignature(vec![0xff; public.modulus_bytes()])
            ),
            [false; 3]
        );
        assert_eq!(
            verdicts(
                public,
                message,
                &RsaSignature(vec![0; public.modulus_bytes()])
            ),
            [false; 3]
        );
        let garbage = key
            .blind_sign(&BlindedMessage(vec![0x42; public.modulus_bytes()]))
            .unwrap();
        assert_eq!(
            verdicts(public, message, &RsaSignature(garbage.0)),
            [false; 3]
        );
    }
}

/// `bytes` left-padded with zeros to `length`, as RSA values travel.
fn padded(bytes: Vec<u8>, length: usize) -> Vec<u8> {
    [vec![0; length - bytes.len()], bytes].concat()
}

#[test]
fn reblinding_a_coin_with_its_inverse_gives_back_the_blinded_message() {
    // The RFC's vectors: every variant blinds the same way.
    for v in &vectors() {
        let public = vector_key(v).public_key().clone();
        let length = public.modulus_bytes();
        let signature = RsaSignature(padded(unhex(&v.sig), length));
        let inverse = BlindingInverse(padded(unhex(&v.inv), length));
        let blinded = public.reblind(&signature, &inverse).unwrap();
        assert_eq!(
            blinded.0,
            padded(unhex(&v.blinded_msg), length),
            "{}",
            v.name
        );
    }
    // A wallet's coin: its own inverse finds its blinded message, another coin's does not.
    let key = test_keys::rsa_2048();
    let public = key.public_key();
    let mut rng = rand::rng();
    let message = b"a coin message".to_vec();
    let (blinded, secret) = public.blind(&mut rng, &message).unwrap();
    let (_, other) = public.blind(&mut rng, &message).unwrap();
    let signature = public
        .finalize(&key.blind_sign(&blinded).unwrap(), &secret, &message)
        .unwrap();
    assert_eq!(
        public.reblind(&signature, &secret.inverse()),
        Ok(blinded.clone())
    );
    assert_ne!(public.reblind(&signature, &other.inverse()), Ok(blinded));
    // Zero has no inverse; n itself is out of range; a short value is the wrong length.
    let zero = BlindingInverse(vec![0; 256]);
    assert_eq!(public.reblind(&signature, &zero), Err(RsaError::OutOfRange));
    let n = BlindingInverse(key.public_key().rsa.n().to_vec());
    assert_eq!(public.reblind(&signature, &n), Err(RsaError::OutOfRange));
    let short = BlindingInverse(vec![1; 255]);
    assert!(matches!(
        public.reblind(&signature, &short),
        Err(RsaError::WrongLength { .. })
    ));
}
