//! Ed25519 batch verification against single verification: the deposit hot path batches the coin
//! keys' signatures and bisects a failed batch, and must reach the verdict, item by item, that
//! single verification reaches (ZIP-215, cofactored, in both).

use semper_protocol::crypto::ed25519::{
    self, BatchItem, SIGNATURE_BYTES, Signature, SigningKey, VerifyingKey,
};

use crate::input::Input;

/// The most items read from one input.
const ITEMS_MAX: usize = 32;
/// The longest message of one item, in bytes.
const MESSAGE_MAX_BYTES: usize = 64;

/// One signature to check, owned.
struct Item {
    key: VerifyingKey,
    message: Vec<u8>,
    signature: Signature,
}

/// Reads up to [`ITEMS_MAX`] items, each signed here by a key from a seed (and possibly changed)
/// or taken raw, and checks them singly, as a batch and bisected.
pub fn ed25519_batch(data: &[u8]) {
    let mut input = Input::new(data);
    let mut items = Vec::new();
    while items.len() < ITEMS_MAX {
        let Some(flag) = input.byte() else {
            break;
        };
        if let Some(item) = read_item(flag, &mut input) {
            items.push(item);
        }
    }
    let batch: Vec<BatchItem<'_>> = items
        .iter()
        .map(|item| BatchItem {
            key: &item.key,
            message: &item.message,
            signature: &item.signature,
        })
        .collect();
    let single: Vec<bool> = items
        .iter()
        .map(|item| item.key.verify(&item.message, &item.signature).is_ok())
        .collect();
    assert_eq!(
        ed25519::verify_each(&batch),
        single,
        "bisected batch verification disagrees with single verification"
    );
    assert_eq!(
        ed25519::verify_batch(&batch),
        single.iter().all(|good| *good),
        "batch verification disagrees with single verification"
    );
}

/// One item: bit 0 of `flag` says signed here or raw; bits 1-2 how a signed one is changed.
fn read_item(flag: u8, input: &mut Input<'_>) -> Option<Item> {
    if flag & 1 == 0 {
        let key = VerifyingKey::from_bytes(&input.array()?).ok();
        let signature = Signature(input.array::<SIGNATURE_BYTES>()?);
        let len = usize::from(input.byte()?) % (MESSAGE_MAX_BYTES + 1);
        let message = input.take(len).to_vec();
        return Some(Item {
            key: key?,
            message,
            signature,
        });
    }
    let signer = SigningKey::from_seed(&input.array()?);
    let len = usize::from(input.byte()?) % (MESSAGE_MAX_BYTES + 1);
    let mut message = input.take(len).to_vec();
    let mut signature = signer.sign(&message);
    match (flag >> 1) & 3 {
        // A bit of the signature flipped.
        1 => {
            let position = usize::from(input.byte()?) % SIGNATURE_BYTES;
            signature.0[position] ^= 1 << (flag >> 5);
        }
        // R replaced: any point, of any order, or no point at all.
        2 => signature.0[..32].copy_from_slice(&input.array::<32>()?),
        // The message changed after signing.
        3 => message.push(flag),
        _ => {}
    }
    Some(Item {
        key: *signer.verifying_key(),
        message,
        signature,
    })
}
