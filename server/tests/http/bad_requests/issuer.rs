//! The issuer's endpoints: its denominations, opening and reading accounts, the operator's
//! credits, withdrawals, its discrepancies and its books of coins issued.

use semper_protocol::ids::{AccountId, DenominationId};
use semper_protocol::messages::read::ReadSubject;
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use serde_json::{Value, json};

use super::fixtures::{Fixtures, edited, read_by, signed_open, withdraw};
use super::table::{Auth, Case, Request, refused, same};
use crate::client::signed_read;

pub fn cases(f: &Fixtures) -> Vec<Case> {
    let mut cases = accounts(f);
    cases.extend(credits(f));
    cases.extend(withdrawals(f));
    cases.extend(discrepancies());
    cases.extend(issued());
    cases
}

fn accounts(f: &Fixtures) -> Vec<Case> {
    let new = AccountId([9; 16]);
    let key = json!(f.wallet.key.verifying_key());
    // Signed by the wallet's key, as a wallet opening an account under it signs.
    let open =
        |body: Value| Request::post("/v1/issuer/accounts", &signed_open(body, &f.wallet.key));
    let as_text = |content_type| {
        let body = json!({"account": new, "public_key": key, "currency": "EUR"});
        let body = serde_json::to_vec(&signed_open(body, &f.wallet.key)).unwrap();
        Request::raw("POST", "/v1/issuer/accounts", content_type, body)
    };
    let json_type = Some("application/json");
    let account = f.wallet.account;
    // The identity point: a key of small order.
    let weak = format!("01{}", "00".repeat(31));
    // y = 2 is not the y of any point; y = p + 1 is 1, the identity, spelled out of range.
    let off_curve = format!("02{}", "00".repeat(31));
    let non_canonical = format!("ee{}7f", "ff".repeat(30));
    let upper_key = key.as_str().unwrap().to_uppercase();
    let upper_account = "AB".repeat(16);
    let other_key = f.stranger.key.verifying_key();
    let unknown = format!("/v1/issuer/accounts/{}", AccountId([8; 16]));
    let as_wallet = ReadSubject::Account(account);
    let stranger_path = format!("/v1/issuer/accounts/{}", f.stranger.account);
    let upper_path = format!("/v1/issuer/accounts/{}", account.to_string().to_uppercase());
    vec![
        refused(
            "denominations: POST without the operator token",
            Request::raw(
                "POST",
                "/v1/issuer/denominations",
                json_type,
                b"{}".to_vec(),
            ),
            401,
            "auth.required",
        ),
        refused(
            "denominations: POST of no set",
            Request::raw(
                "POST",
                "/v1/issuer/denominations",
                json_type,
                b"{}".to_vec(),
            )
            .operator(),
            400,
            "request.malformed",
        ),
        refused(
            "denominations: export without the operator token",
            Request::get("/v1/issuer/denominations/export"),
            401,
            "auth.required",
        ),
        refused(
            "open: not JSON",
            Request::raw(
                "POST",
                "/v1/issuer/accounts",
                json_type,
                b"{not json".to_vec(),
            ),
            400,
            "request.malformed",
        ),
        refused(
            "open: JSON sent as text/plain",
            as_text(Some("text/plain")),
            415,
            "request.content_type",
        ),
        refused(
            "open: no content type",
            as_text(None),
            415,
            "request.content_type",
        ),
        refused(
            "open: the account id a number (wrong type)",
            open(json!({"account": 12, "public_key": key, "currency": "EUR"})),
            400,
            "request.malformed",
        ),
        refused(
            "open: the key not hex (wrong type)",
            open(json!({"account": new, "public_key": "zz", "currency": "EUR"})),
            400,
            "request.malformed",
        ),
        refused(
            "open: a key of 33 bytes (oversized)",
            open(json!({"account": new, "public_key": "00".repeat(33), "currency": "EUR"})),
            400,
            "request.malformed",
        ),
        refused(
            "open: a key of small order (weak)",
            open(json!({"account": new, "public_key": weak, "currency": "EUR"})),
            400,
            "ed25519.weak_key",
        ),
        refused(
            "open: a key off the curve (y = 2)",
            open(json!({"account": new, "public_key": off_curve, "currency": "EUR"})),
            400,
            "ed25519.key_not_on_curve",
        ),
        refused(
            "open: a key not canonically encoded (y = p + 1)",
            open(json!({"account": new, "public_key": non_canonical, "currency": "EUR"})),
            400,
            "ed25519.key_not_canonical",
        ),
        refused(
            "open: the key in upper-case hex",
            open(json!({"account": new, "public_key": upper_key, "currency": "EUR"})),
            400,
            "request.malformed",
        ),
        refused(
            "open: the account id in upper-case hex",
            open(json!({"account": upper_account, "public_key": key, "currency": "EUR"})),
            400,
            "request.malformed",
        ),
        refused(
            "open: no currency (missing field)",
            open(json!({"account": new, "public_key": key})),
            400,
            "request.malformed",
        ),
        refused(
            "open: an extra field",
            open(json!({"account": new, "public_key": key, "currency": "EUR", "overdraft": 1})),
            400,
            "request.malformed",
        ),
        refused(
            "open: an unknown currency",
            open(json!({"account": new, "public_key": key, "currency": "XYZ"})),
            400,
            "amount.unknown_currency",
        ),
        refused(
            "open: a currency of 64 KiB (oversized)",
            open(json!({"account": new, "public_key": key, "currency": "E".repeat(65_536)})),
            400,
            "amount.unknown_currency",
        ),
        refused(
            "open: a body over the limit",
            Request::raw(
                "POST",
                "/v1/issuer/accounts",
                json_type,
                vec![b' '; 1024 * 1024 + 1],
            ),
            413,
            "request.too_large",
        ),
        refused(
            "open: an account id taken, with another key (replay altered)",
            Request::post(
                "/v1/issuer/accounts",
                &signed_open(
                    json!({"account": account, "public_key": other_key, "currency": "EUR"}),
                    &f.stranger.key,
                ),
            ),
            409,
            "account.exists",
        ),
        refused(
            "open: unsigned (the bare fields)",
            Request::post(
                "/v1/issuer/accounts",
                &json!({"account": new, "public_key": key, "currency": "EUR"}),
            ),
            400,
            "request.malformed",
        ),
        refused(
            "open: no signature",
            Request::post(
                "/v1/issuer/accounts",
                &json!({"body": {"account": new, "public_key": key, "currency": "EUR"}}),
            ),
            400,
            "request.malformed",
        ),
        refused(
            "open: signed by another key than the one it registers",
            Request::post(
                "/v1/issuer/accounts",
                &signed_open(
                    json!({"account": new, "public_key": key, "currency": "EUR"}),
                    &f.stranger.key,
                ),
            ),
            400,
            "account.invalid_signature",
        ),
        refused(
            "open: a signature of zeros",
            Request::post(
                "/v1/issuer/accounts",
                &json!({
                    "body": {"account": new, "public_key": key, "currency": "EUR"},
                    "signature": "00".repeat(64),
                }),
            ),
            400,
            "account.invalid_signature",
        ),
        refused(
            "open: signed for another currency than it asks",
            Request::post(
                "/v1/issuer/accounts",
                &edited(
                    &signed_open(
                        json!({"account": new, "public_key": key, "currency": "EUR"}),
                        &f.wallet.key,
                    ),
                    |json| json["body"]["currency"] = json!("USD"),
                ),
            ),
            400,
            "account.invalid_signature",
        ),
        refused(
            "open: an account id taken, in another currency (replay altered)",
            open(json!({"account": account, "public_key": key, "currency": "USD"})),
            409,
            "account.exists",
        ),
        same(
            "open: the same account again (a replay)",
            open(json!({"account": account, "public_key": key, "currency": "EUR"})),
            &f.account_json,
        ),
        refused(
            "accounts: GET",
            Request::get("/v1/issuer/accounts"),
            405,
            "route.method_not_allowed",
        ),
        refused(
            "account: unknown",
            Request::get(&unknown).operator(),
            404,
            "account.unknown",
        ),
        refused(
            "account: unknown, read signed",
            read_by(
                &unknown,
                ReadSubject::Account(AccountId([8; 16])),
                &f.wallet.key,
                f.at,
            ),
            404,
            "account.unknown",
        ),
        refused(
            "account: the id in upper-case hex",
            Request::get(&upper_path).operator(),
            400,
            "request.malformed",
        ),
        refused(
            "account: the id in upper-case hex, read signed",
            read_by(
                &upper_path,
                ReadSubject::Account(account),
                &f.wallet.key,
                f.at,
            ),
            400,
            "request.malformed",
        ),
        refused(
            "account: a signed read in upper-case hex",
            Request::get(f.account_path()).by(Auth::Header(
                signed_read(
                    &f.account_path(),
                    ReadSubject::Account(account),
                    &f.wallet.key,
                    f.at,
                )
                .to_uppercase()
                .replace("SEMPER-READ", "Semper-Read"),
            )),
            401,
            "read.malformed",
        ),
        refused(
            "account: id not hex",
            Request::get("/v1/issuer/accounts/not-hex").operator(),
            400,
            "request.malformed",
        ),
        refused(
            "account: id of 500 bytes (oversized)",
            Request::get(format!("/v1/issuer/accounts/{}", "ab".repeat(500))).operator(),
            400,
            "request.malformed",
        ),
        refused(
            "account: no credentials",
            Request::get(f.account_path()),
            401,
            "auth.required",
        ),
        refused(
            "account: a wrong token",
            Request::get(f.account_path()).by(Auth::WrongToken),
            401,
            "auth.invalid",
        ),
        refused(
            "account: Basic credentials",
            Request::get(f.account_path()).by(Auth::Basic),
            401,
            "auth.required",
        ),
        same(
            "account: read with the operator token",
            Request::get(f.account_path()).operator(),
            &f.account_json,
        ),
        same(
            "account: read signed by the account's key",
            read_by(&f.account_path(), as_wallet, &f.wallet.key, f.at),
            &f.account_json,
        ),
        same(
            "account: read signed 60 s ahead of the server's clock (the bound)",
            read_by(
                &f.account_path(),
                as_wallet,
                &f.wallet.key,
                f.at.plus_ms(60_000),
            ),
            &f.account_json,
        ),
        refused(
            "account: a read signed by another account's key",
            read_by(&f.account_path(), as_wallet, &f.stranger.key, f.at),
            401,
            "read.invalid_signature",
        ),
        refused(
            "account: a read signed 61 s before the server's clock (stale)",
            read_by(
                &f.account_path(),
                as_wallet,
                &f.wallet.key,
                Timestamp::from_unix_ms(f.at.unix_ms() - 61_000),
            ),
            401,
            "read.stale",
        ),
        refused(
            "account: a read signed for another account's path (replayed here)",
            Request::get(f.account_path()).by(Auth::Header(signed_read(
                &stranger_path,
                ReadSubject::Account(f.stranger.account),
                &f.wallet.key,
                f.at,
            ))),
            401,
            "read.invalid_signature",
        ),
        refused(
            "account: a signed read without its signature",
            Request::get(f.account_path())
                .by(Auth::Header(format!("Semper-Read {}", f.at.unix_ms()))),
            401,
            "read.malformed",
        ),
        refused(
            "account: a signed read with a signature of 63 bytes",
            Request::get(f.account_path()).by(Auth::Header(format!(
                "Semper-Read {}.{}",
                f.at.unix_ms(),
                "ab".repeat(63)
            ))),
            401,
            "read.malformed",
        ),
        refused(
            "account: POST",
            Request::post(f.account_path(), &json!({})),
            405,
            "route.method_not_allowed",
        ),
    ]
}

fn credits(f: &Fixtures) -> Vec<Case> {
    let path = format!("{}/credit", f.account_path());
    let credit = |body: Value| Request::post(&path, &body).operator();
    let wire = |amount: &str| credit(json!({"reference": "wire-x", "amount": amount}));
    let nobody = AccountId([8; 16]);
    let funding = format!("funding-{}", f.wallet.account);
    let stranger = format!("/v1/issuer/accounts/{}/credit", f.stranger.account);
    vec![
        refused(
            "credit: no token",
            wire("EUR:100.00").by(Auth::Public),
            401,
            "auth.required",
        ),
        refused(
            "credit: a wrong token",
            wire("EUR:100.00").by(Auth::WrongToken),
            401,
            "auth.invalid",
        ),
        refused(
            "credit: Basic credentials",
            wire("EUR:100.00").by(Auth::Basic),
            401,
            "auth.required",
        ),
        refused(
            "credit: an unknown account",
            Request::post(
                format!("/v1/issuer/accounts/{nobody}/credit"),
                &json!({"reference": "wire-x", "amount": "EUR:1.00"}),
            )
            .operator(),
            404,
            "account.unknown",
        ),
        refused(
            "credit: the account id not hex",
            Request::post(
                "/v1/issuer/accounts/xyz/credit",
                &json!({"reference": "wire-x", "amount": "EUR:1.00"}),
            )
            .operator(),
            400,
            "request.malformed",
        ),
        refused(
            "credit: dollars to a euro account (wrong currency)",
            wire("USD:1.00"),
            400,
            "amount.currency_mismatch",
        ),
        refused(
            "credit: an unknown currency",
            wire("XYZ:1.00"),
            400,
            "amount.unknown_currency",
        ),
        refused(
            "credit: an amount with no currency",
            wire("1.00"),
            400,
            "amount.malformed",
        ),
        refused(
            "credit: an amount with a comma",
            wire("EUR:1,00"),
            400,
            "amount.malformed",
        ),
        refused(
            "credit: a negative amount",
            wire("EUR:-1.00"),
            400,
            "amount.negative",
        ),
        refused(
            "credit: a tenth of a cent",
            wire("EUR:1.001"),
            400,
            "amount.too_precise",
        ),
        refused(
            "credit: an amount over 64 bits (oversized)",
            wire("EUR:99999999999999999999"),
            400,
            "amount.overflow",
        ),
        refused(
            "credit: the amount a number (wrong type)",
            credit(json!({"reference": "wire-x", "amount": 100})),
            400,
            "request.malformed",
        ),
        refused(
            "credit: no reference (missing field)",
            credit(json!({"amount": "EUR:1.00"})),
            400,
            "request.malformed",
        ),
        refused(
            "credit: an extra field",
            credit(json!({"reference": "wire-x", "amount": "EUR:1.00", "account": nobody})),
            400,
            "request.malformed",
        ),
        refused(
            "credit: an empty reference",
            credit(json!({"reference": "", "amount": "EUR:1.00"})),
            400,
            "credit.bad_reference",
        ),
        refused(
            "credit: a reference of 65 bytes (oversized)",
            credit(json!({"reference": "r".repeat(65), "amount": "EUR:1.00"})),
            400,
            "credit.bad_reference",
        ),
        refused(
            "credit: a reference reused for another amount (replay altered)",
            credit(json!({"reference": funding, "amount": "EUR:60.00"})),
            409,
            "credit.reference_reused",
        ),
        refused(
            "credit: a reference reused for another account (replay altered)",
            Request::post(
                stranger,
                &json!({"reference": funding, "amount": "EUR:50.00"}),
            )
            .operator(),
            409,
            "credit.reference_reused",
        ),
        same(
            "credit: the same credit again (a replay, credited once)",
            credit(json!({"reference": funding, "amount": "EUR:50.00"})),
            &f.account_json,
        ),
    ]
}

fn withdrawals(f: &Fixtures) -> Vec<Case> {
    let (wallet, stranger, account) = (&f.wallet, &f.stranger, f.wallet.account);
    let tenth = [f.tenth.clone()];
    let first = f.withdrawal.body().request_id;
    let as_text = serde_json::to_vec(&f.withdrawal).unwrap();
    let coins_a_string = edited(&f.withdrawal, |j| j["body"]["coins"] = json!("five"));
    let unsigned = edited(&f.withdrawal, |j| {
        j.as_object_mut().unwrap().remove("signature");
    });
    let too_many = edited(&f.withdrawal, |j| {
        let coin = j["body"]["coins"][0].clone();
        j["body"]["coins"] = Value::Array(vec![coin; 257]);
    });
    let other_body = wallet.withdraw(account, &tenth).body().clone();
    let over_another = Signed::from_parts(other_body, *f.withdrawal.signature());
    let unknown = DenominationId([7; 32]);
    let with_extras = edited(&f.withdrawal, |j| j["body"]["amount"] = json!("EUR:0.01"));
    let beside = edited(&f.withdrawal, |j| j["note"] = json!("extra"));
    let in_a_coin = edited(&f.withdrawal, |j| j["body"]["coins"][0]["note"] = json!(1));
    let upper_case = edited(&f.withdrawal, |j| {
        let id = j["body"]["request_id"].as_str().unwrap().to_uppercase();
        j["body"]["request_id"] = json!(id);
    });
    vec![
        refused(
            "withdraw: JSON sent as text/plain",
            Request::raw("POST", "/v1/issuer/withdraw", Some("text/plain"), as_text),
            415,
            "request.content_type",
        ),
        refused(
            "withdraw: the coins a string (wrong type)",
            Request::post("/v1/issuer/withdraw", &coins_a_string),
            400,
            "request.malformed",
        ),
        refused(
            "withdraw: no signature (missing field)",
            Request::post("/v1/issuer/withdraw", &unsigned),
            400,
            "request.malformed",
        ),
        refused(
            "withdraw: 257 coins (over the bound)",
            Request::post("/v1/issuer/withdraw", &too_many),
            400,
            "request.malformed",
        ),
        refused(
            "withdraw: no coins",
            withdraw(&wallet.withdraw_coins(Vec::new())),
            400,
            "withdraw.no_coins",
        ),
        refused(
            "withdraw: a signature over another request",
            withdraw(&over_another),
            400,
            "withdraw.invalid_account_signature",
        ),
        refused(
            "withdraw: signed by another wallet's key (swapped)",
            withdraw(&stranger.withdraw(account, &tenth)),
            400,
            "withdraw.invalid_account_signature",
        ),
        refused(
            "withdraw: a denomination the issuer never had",
            withdraw(&wallet.withdraw_blinded(unknown, vec![1; 256])),
            400,
            "denomination.unknown",
        ),
        refused(
            "withdraw: a denomination not valid yet",
            withdraw(&wallet.withdraw(account, std::slice::from_ref(&f.later))),
            400,
            "denomination.not_yet_valid",
        ),
        refused(
            "withdraw: a revoked denomination",
            withdraw(&wallet.withdraw(account, std::slice::from_ref(&f.ten))),
            410,
            "denomination.revoked",
        ),
        refused(
            "withdraw: a blinded coin a byte short",
            withdraw(&wallet.withdraw_blinded(f.tenth.id(), vec![1; 255])),
            400,
            "rsa.wrong_length",
        ),
        refused(
            "withdraw: a blinded coin a byte too long",
            withdraw(&wallet.withdraw_blinded(f.tenth.id(), vec![1; 257])),
            400,
            "rsa.wrong_length",
        ),
        refused(
            "withdraw: a blinded coin of 64 KiB (over its bound)",
            withdraw(&wallet.withdraw_blinded(f.tenth.id(), vec![1; 65_536])),
            400,
            "request.malformed",
        ),
        refused(
            "withdraw: a blinded coin over the modulus",
            withdraw(&wallet.withdraw_blinded(f.tenth.id(), vec![0xff; 256])),
            400,
            "rsa.out_of_range",
        ),
        refused(
            "withdraw: more than the balance",
            withdraw(&wallet.withdraw(account, &vec![f.one.clone(); 50])),
            409,
            "account.insufficient_funds",
        ),
        refused(
            "withdraw: from an unknown account",
            withdraw(&wallet.withdraw(AccountId([8; 16]), &tenth)),
            404,
            "account.unknown",
        ),
        refused(
            "withdraw: a request id reused for other coins (replay altered)",
            withdraw(&wallet.withdraw_as(account, first, &tenth)),
            409,
            "withdraw.request_id_reused",
        ),
        refused(
            "withdraw: a request id reused, signed by another wallet's key",
            withdraw(&stranger.withdraw_as(account, first, &tenth)),
            400,
            "withdraw.invalid_account_signature",
        ),
        refused(
            "withdraw: a replay signed by another wallet's key (swapped)",
            withdraw(&Signed::sign(f.withdrawal.body().clone(), &stranger.key)),
            400,
            "withdraw.invalid_account_signature",
        ),
        same(
            "withdraw: the same request again (a replay, debited once)",
            withdraw(&f.withdrawal),
            &f.withdrawn,
        ),
        refused(
            "withdraw: the same request with an extra field in the body",
            Request::post("/v1/issuer/withdraw", &with_extras),
            400,
            "request.malformed",
        ),
        refused(
            "withdraw: the same request with an extra field beside the body",
            Request::post("/v1/issuer/withdraw", &beside),
            400,
            "request.malformed",
        ),
        refused(
            "withdraw: the same request with an extra field in a coin",
            Request::post("/v1/issuer/withdraw", &in_a_coin),
            400,
            "request.malformed",
        ),
        refused(
            "withdraw: the same request in upper-case hex",
            Request::post("/v1/issuer/withdraw", &upper_case),
            400,
            "request.malformed",
        ),
    ]
}

fn discrepancies() -> Vec<Case> {
    let path = "/v1/issuer/discrepancies";
    let query = |query: &str| Request::get(format!("{path}?{query}")).operator();
    vec![
        refused(
            "issuer discrepancies: no token",
            Request::get(path),
            401,
            "auth.required",
        ),
        refused(
            "issuer discrepancies: a wrong token",
            Request::get(path).by(Auth::WrongToken),
            401,
            "auth.invalid",
        ),
        refused(
            "issuer discrepancies: a negative limit",
            query("limit=-3"),
            400,
            "request.malformed",
        ),
        refused(
            "issuer discrepancies: from not a number",
            query("from=abc"),
            400,
            "request.malformed",
        ),
        refused(
            "issuer discrepancies: a limit over 64 bits",
            query("limit=99999999999999999999999"),
            400,
            "request.malformed",
        ),
        refused(
            "issuer discrepancies: a limit over its maximum, 1024",
            query("limit=1025"),
            400,
            "request.malformed",
        ),
        refused(
            "issuer discrepancies: an unknown parameter",
            query("since=0"),
            400,
            "request.malformed",
        ),
    ]
}

fn issued() -> Vec<Case> {
    let path = "/v1/issuer/issued";
    vec![
        refused(
            "issuer books: no token",
            Request::get(path),
            401,
            "auth.required",
        ),
        refused(
            "issuer books: a wrong token",
            Request::get(path).by(Auth::WrongToken),
            401,
            "auth.invalid",
        ),
    ]
}
