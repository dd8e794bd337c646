//! A denomination and a coin: the issuer's RSA key as the codec parses it, against the coin's
//! signature, through each verifier semper has. They must agree on every verdict, and the
//! wallet's blinding must answer for every key the codec accepts.

use rand::SeedableRng;
use rand::rngs::StdRng;
use semper_protocol::codec::{Decode, Encode, Reader};
use semper_protocol::denomination::Denomination;
use semper_protocol::messages::coin::Coin;

use crate::invariants;

/// Reads a denomination, then a coin; checks the coin's signature under the denomination's key.
pub fn denominations(data: &[u8]) {
    let mut reader = Reader::new(data);
    let Ok(denomination) = Denomination::decode_from(&mut reader) else {
        return;
    };
    let Ok(coin) = Coin::decode_from(&mut reader) else {
        return;
    };
    if reader.finish().is_err() {
        return;
    }
    let mut encoded = denomination.to_bytes();
    encoded.extend_from_slice(&coin.to_bytes());
    assert_eq!(
        encoded, data,
        "a denomination and coin with a second encoding"
    );
    invariants::denomination(&denomination);

    let key = denomination.public_key();
    let message = coin.message();
    let fast = key.verify(&message, &coin.signature).is_ok();
    let evp = key.verify_openssl_evp(&message, &coin.signature).is_ok();
    let pure = key.verify_pure_rust(&message, &coin.signature).is_ok();
    assert_eq!(
        (fast, fast),
        (evp, pure),
        "the verifiers disagree: fast path {fast}, OpenSSL EVP {evp}, pure Rust {pure}"
    );
    let checked = coin.verify(&denomination).is_ok();
    assert_eq!(checked, fast && coin.denomination == denomination.id());

    // What a wallet does with a key from an issuer's set: blind a coin message for it.
    let mut rng = StdRng::seed_from_u64(data.len() as u64);
    if let Ok((blinded, _secret)) = key.blind(&mut rng, &message) {
        assert_eq!(blinded.0.len(), key.modulus_bytes());
    }
}
