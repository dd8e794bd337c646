//! The vectors of a recoup: coin 1 of the withdrawal, its denomination revoked, given back to
//! the issuer for its value by the account that withdrew it.

use semper_protocol::crypto::blind_rsa::BlindingInverse;
use semper_protocol::ids::CoinId;
use semper_protocol::messages::coin::Coin;
use semper_protocol::messages::recoup::{
    RecoupPermission, RecoupRequest, RecoupResponse, SignedRecoupPermission,
};
use serde_json::Value;

use crate::fixtures::{ACCOUNT, Parties};
use crate::out::{encoded, message_file, signed};
use crate::wallet::WalletSide;

/// The coin recouped: its position in the withdrawal.
pub const RECOUPED: usize = 1;

/// The coin key's consent to give `coin` (coin [`RECOUPED`]) back, credited to the account.
pub fn permission(parties: &Parties, coin: &Coin) -> (SignedRecoupPermission, Value) {
    signed(
        "coin 1 given back for its value, to the account that withdrew it",
        RecoupPermission {
            coin: coin.clone(),
            account: ACCOUNT,
        },
        &parties.coins[RECOUPED],
    )
}

/// Every recoup vector file.
pub fn files(parties: &Parties, wallet: &WalletSide) -> Vec<(&'static str, Value)> {
    let coin = &wallet.coins[RECOUPED];
    let (consent, permission_vector) = permission(parties, coin);
    let (_, request_vector) = signed(
        "coin 1 of the withdrawal recouped, with r_inv of coin.json",
        RecoupRequest {
            withdrawal: wallet.withdrawal.clone(),
            index: RECOUPED as u32,
            blinding: BlindingInverse(wallet.r_inv[RECOUPED].clone()),
            permission: consent,
        },
        &parties.account,
    );
    let response = RecoupResponse {
        account: ACCOUNT,
        coin: CoinId::of(&coin.public_key),
        credited: "EUR:1.00".parse().unwrap(),
    };
    vec![
        (
            "recoup-permission",
            message_file::<RecoupPermission>(
                Some("the coin's key (coin.public_key)"),
                "A recoup permission: the coin's consent to be given back to its issuer for its \
                 value, its denomination revoked, credited to the account named. A later deposit \
                 of the coin gets it as proof (spend result `recouped`).",
                vec![permission_vector],
            ),
        ),
        (
            "recoup-request",
            message_file::<RecoupRequest>(
                Some("the account's key"),
                "A recoup: POST /v1/issuer/recoup takes the signed form. `withdrawal` is the body of \
                 withdraw-request.json (the issuer compares its digest with the one it recorded), \
                 `index` the coin's position in it, `blinding` the coin's r_inv of coin.json: \
                 signature^e * (blinding^-1)^e mod n is the withdrawal's blinded message at `index`.",
                vec![request_vector],
            ),
        ),
        (
            "recoup-response",
            message_file::<RecoupResponse>(
                None,
                "The issuer's answer to a recoup: the coin's value, credited to the account.",
                vec![encoded("coin 1's value credited", &response)],
            ),
        ),
    ]
}
