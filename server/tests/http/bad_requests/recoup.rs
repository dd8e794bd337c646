//! Recoups: the wallet's revoked coin was recouped in the fixtures; its replay gets the same
//! answer, and every request that does not prove what it claims gets its code and changes
//! nothing. (A slot recouped by another request needs a coin forged with the denomination's key:
//! the storage conformance suite and the offline ceremony test have it.)

use semper_protocol::ids::{AccountId, RequestId};
use semper_protocol::messages::recoup::{RecoupRequest, SignedRecoupRequest};
use semper_protocol::signed::Signed;
use semper_protocol::wallet;
use serde_json::json;

use super::fixtures::{Fixtures, edited};
use super::table::{Case, Request, refused, same};

const PATH: &str = "/v1/issuer/recoup";

fn post(request: &SignedRecoupRequest) -> Request {
    Request::post(PATH, request)
}

pub fn cases(f: &Fixtures) -> Vec<Case> {
    let key = &f.wallet.key;
    // The fixtures' recoup, changed by `edit` and signed again by the wallet's key.
    let changed = |edit: &dyn Fn(&mut RecoupRequest)| {
        let mut body = f.recoup.body().clone();
        edit(&mut body);
        post(&Signed::sign(body, key))
    };
    let withdrawal = f.withdrawal.body();
    // Coin `index` of the withdrawal, recouped as its wallet would.
    let recoup_of =
        |index: usize| wallet::prepare_recoup(key, withdrawal, index as u32, &f.coins[index]);
    let other_coin = recoup_of(3);
    let unknown_key = edited(&f.recoup, |j| j["body"]["note"] = json!("extra"));
    vec![
        same(
            "recoup: the same request again (replay)",
            post(&f.recoup),
            &f.recouped,
        ),
        refused(
            "recoup: not JSON",
            Request::raw("POST", PATH, Some("application/json"), b"{".to_vec()),
            400,
            "request.malformed",
        ),
        refused(
            "recoup: an unknown key in the body",
            Request::post(PATH, &unknown_key),
            400,
            "request.malformed",
        ),
        refused(
            "recoup: signed by another wallet's key",
            post(&Signed::sign(f.recoup.body().clone(), &f.stranger.key)),
            400,
            "recoup.invalid_account_signature",
        ),
        refused(
            "recoup: for an unknown account",
            changed(&|body| body.withdrawal.account = AccountId([8; 16])),
            404,
            "account.unknown",
        ),
        refused(
            "recoup: the coin's permission names another account",
            post(&Signed::sign(
                {
                    let mut body = f.recoup.body().clone();
                    body.withdrawal.account = f.stranger.account;
                    body
                },
                &f.stranger.key,
            )),
            400,
            "recoup.wrong_account",
        ),
        refused(
            "recoup: the coin key's signature over another coin's permission",
            changed(&|body| {
                body.permission = Signed::from_parts(
                    body.permission.body().clone(),
                    *other_coin.body().permission.signature(),
                )
            }),
            400,
            "recoup.invalid_coin_key_signature",
        ),
        refused(
            "recoup: a withdrawal never recorded",
            changed(&|body| body.withdrawal.request_id = RequestId([7; 16])),
            404,
            "recoup.unknown_withdrawal",
        ),
        refused(
            "recoup: another withdrawal than recorded under its id",
            changed(&|body| {
                let mut coins = body.withdrawal.coins.to_vec();
                coins.pop();
                body.withdrawal.coins = coins.try_into().unwrap();
            }),
            400,
            "recoup.wrong_withdrawal",
        ),
        refused(
            "recoup: an index past the withdrawal's coins",
            changed(&|body| body.index = 5),
            400,
            "recoup.bad_index",
        ),
        refused(
            "recoup: the revoked coin at another coin's slot",
            changed(&|body| body.index = 3),
            400,
            "recoup.not_withdrawn",
        ),
        refused(
            "recoup: another blinding secret (2, invertible)",
            changed(&|body| {
                body.blinding.0 = vec![0; 256];
                body.blinding.0[255] = 2;
            }),
            400,
            "recoup.not_withdrawn",
        ),
        refused(
            "recoup: a blinding secret a byte short",
            changed(&|body| {
                body.blinding.0.pop();
            }),
            400,
            "rsa.wrong_length",
        ),
        refused(
            "recoup: a blinding secret of zero (no inverse)",
            changed(&|body| body.blinding.0 = vec![0; 256]),
            400,
            "rsa.out_of_range",
        ),
        refused(
            "recoup: a coin of a denomination not revoked",
            post(&other_coin),
            409,
            "recoup.not_revoked",
        ),
    ]
}
