//! The issuer's swap (change): every refusal spends and signs nothing. The swaps that go through,
//! their replays and the 409's proof are in `swaps.rs`, beside this table.

use semper_protocol::bounded::BoundedVec;
use semper_protocol::crypto::blind_rsa::{BlindedMessage, RsaSignature};
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::RequestId;
use semper_protocol::messages::swap::{SwapPermission, SwapRequest, outputs_digest};
use semper_protocol::messages::withdraw::BlindedCoin;
use semper_protocol::signed::Signed;
use semper_protocol::wallet::{self, WalletCoin};
use serde_json::json;

use super::fixtures::{Fixtures, edited};
use super::table::{Case, Request, refused};

const PATH: &str = "/v1/issuer/swap";

/// A swap of `given` for fresh coins of `wanted`, as a wallet builds it.
fn swap(given: &[WalletCoin], wanted: &[Denomination]) -> SwapRequest {
    let id = RequestId(rand::random());
    wallet::prepare_swap(&mut rand::rng(), id, given, wanted)
        .unwrap()
        .0
}

/// A swap of the keyed coin, as it is but for `coin_edit`, for `outputs`, signed with its key.
fn keyed_swap(
    f: &Fixtures,
    outputs: Vec<BlindedCoin>,
    coin_edit: impl FnOnce(&mut semper_protocol::messages::coin::Coin),
) -> SwapRequest {
    let outputs = BoundedVec::new(outputs).unwrap();
    let request_id = RequestId(rand::random());
    let mut coin = f.keyed().coin().clone();
    coin_edit(&mut coin);
    let permission = SwapPermission {
        coin,
        request_id,
        outputs: outputs_digest(&outputs),
    };
    SwapRequest {
        request_id,
        coins: BoundedVec::new(vec![Signed::sign(permission, &f.coin_key)]).unwrap(),
        outputs,
    }
}

fn post(request: &impl serde::Serialize) -> Request {
    Request::post(PATH, request)
}

pub fn cases(f: &Fixtures) -> Vec<Case> {
    let tenth = std::slice::from_ref(&f.tenth);
    let unspent = std::slice::from_ref(f.unspent());
    let good = swap(unspent, tenth);
    let as_text = serde_json::to_vec(&good).unwrap();
    let extra = edited(&good, |j| j["note"] = json!("extra"));
    let extra_in_permission = edited(&good, |j| j["coins"][0]["body"]["note"] = json!(1));
    let other = swap(unspent, tenth);
    let mut mixed = good.clone();
    mixed.outputs = other.outputs.clone();
    let mut forged = good.clone();
    let by_other_key = swap(std::slice::from_ref(f.other()), tenth);
    forged.coins = BoundedVec::new(vec![Signed::from_parts(
        good.coins[0].body().clone(),
        *by_other_key.coins[0].signature(),
    )])
    .unwrap();
    let short = BlindedCoin {
        denomination: f.tenth.id(),
        blinded: BlindedMessage(vec![1; 255]),
    };
    let real_output = good.outputs[0].clone();
    vec![
        refused(
            "swap: not JSON",
            Request::raw("POST", PATH, Some("application/json"), b"{".to_vec()),
            400,
            "request.malformed",
        ),
        refused(
            "swap: JSON sent as text/plain",
            Request::raw("POST", PATH, Some("text/plain"), as_text),
            415,
            "request.content_type",
        ),
        refused(
            "swap: an unknown key beside the request",
            post(&extra),
            400,
            "request.malformed",
        ),
        refused(
            "swap: an unknown key in a permission",
            post(&extra_in_permission),
            400,
            "request.malformed",
        ),
        refused(
            "swap: no outputs",
            post(&swap(unspent, &[])),
            400,
            "swap.no_coins",
        ),
        refused(
            "swap: outputs worth more than the coin",
            post(&swap(unspent, &[f.tenth.clone(), f.tenth.clone()])),
            400,
            "swap.unbalanced",
        ),
        refused(
            "swap: a permission for other outputs",
            post(&mixed),
            400,
            "swap.wrong_request",
        ),
        refused(
            "swap: the same coin twice",
            post(&swap(
                &[f.unspent().clone(), f.unspent().clone()],
                &[f.tenth.clone(), f.tenth.clone()],
            )),
            400,
            "swap.duplicate_coin",
        ),
        refused(
            "swap: a permission signed by another coin's key",
            post(&forged),
            400,
            "swap.invalid_coin_key_signature",
        ),
        refused(
            "swap: a coin whose issuer signature does not verify",
            post(&keyed_swap(f, vec![real_output.clone()], |coin| {
                coin.signature = RsaSignature(vec![7; 256])
            })),
            400,
            "rsa.invalid_signature",
        ),
        refused(
            "swap: an output a byte short",
            post(&keyed_swap(f, vec![short], |_| {})),
            400,
            "rsa.wrong_length",
        ),
        refused(
            "swap: an output not valid yet",
            post(&swap(unspent, std::slice::from_ref(&f.later))),
            400,
            "denomination.not_yet_valid",
        ),
        refused(
            "swap: a coin of a revoked denomination",
            post(&swap(
                std::slice::from_ref(f.revoked()),
                &vec![f.one.clone(); 10],
            )),
            410,
            "denomination.revoked",
        ),
        refused(
            "swap: an output of a revoked denomination",
            post(&swap(unspent, std::slice::from_ref(&f.ten))),
            410,
            "denomination.revoked",
        ),
        refused(
            "swap: a coin the merchant deposited (a double spend)",
            post(&swap(std::slice::from_ref(f.spent()), tenth)),
            409,
            "swap.conflict",
        ),
        refused(
            "swap: a fresh coin beside a deposited one (nothing spent)",
            post(&swap(
                &[f.unspent().clone(), f.spent().clone()],
                &[f.tenth.clone(), f.tenth.clone()],
            )),
            409,
            "swap.conflict",
        ),
    ]
}
