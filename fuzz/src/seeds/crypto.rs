//! Seeds of the crypto targets: `denominations`, `rsa_pss` and `ed25519_batch`.

use semper_protocol::codec::Encode;

use super::Corpus;
use super::fixtures::Fixtures;

pub fn add(corpus: &mut Corpus, f: &Fixtures) {
    // A denomination and a coin of it; a coin of the other denomination; a coin whose signature
    // was cut.
    let pairs = [
        ("coin-2048", &f.denomination, f.coins[0].coin().clone()),
        (
            "coin-3072",
            &f.large_denomination,
            f.coins[2].coin().clone(),
        ),
        (
            "coin-of-another",
            &f.denomination,
            f.coins[2].coin().clone(),
        ),
    ];
    for (name, denomination, coin) in pairs {
        let mut seed = denomination.to_bytes();
        seed.extend_from_slice(&coin.to_bytes());
        corpus.add("denominations", name, seed);
    }

    for (size, salt, position, flip, message) in [
        (0u8, [0u8; 48], 0u16, 0u8, &b""[..]),
        (1, [0x5a; 48], 300, 0x80, b"semper/coin"),
        (2, [0xff; 48], 511, 1, &f.coins[0].coin().message()[..]),
    ] {
        let mut seed = vec![size];
        seed.extend_from_slice(&salt);
        seed.extend_from_slice(&position.to_be_bytes());
        seed.push(flip);
        seed.extend_from_slice(message);
        corpus.add("rsa_pss", &format!("size-{size}"), seed);
    }

    // Items signed here (flag bit 0), changed in each way (bits 1-2), and raw ones.
    let mut signed = Vec::new();
    for (i, flag) in [1u8, 1, 3, 5, 7, 1 | (3 << 5)].into_iter().enumerate() {
        signed.push(flag);
        signed.extend_from_slice(&[i as u8 + 1; 32]);
        signed.push(12);
        signed.extend_from_slice(b"pay merchant");
        match (flag >> 1) & 3 {
            1 => signed.push(40),
            2 => signed.extend_from_slice(&f.set.signature().0[..32]),
            _ => {}
        }
    }
    corpus.add("ed25519_batch", "signed-and-changed", signed);
    let permission = f.permissions[0].clone();
    let mut raw = vec![0u8];
    raw.extend_from_slice(permission.body().coin.public_key.as_bytes());
    raw.extend_from_slice(&permission.signature().0);
    let message = permission.body().to_bytes();
    raw.push(message.len().min(64) as u8);
    raw.extend_from_slice(&message[..message.len().min(64)]);
    corpus.add("ed25519_batch", "raw", raw);
    let mut all_good = Vec::new();
    for i in 0..8u8 {
        all_good.push(1);
        all_good.extend_from_slice(&[0x40 + i; 32]);
        all_good.push(i);
        all_good.extend_from_slice(&vec![i; usize::from(i)]);
    }
    corpus.add("ed25519_batch", "all-good", all_good);
}
