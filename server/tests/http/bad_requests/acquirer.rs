//! The acquirer's endpoints: registering and reading merchants, deposits and their status, the
//! operator's refresh and flush, the outbox and its discrepancies.

use semper_protocol::ids::{BankId, CoinId, ContractHash, DenominationId, MerchantId, RequestId};
use semper_protocol::messages::deposit::PERMISSION_CLOCK_TOLERANCE_MS;
use semper_protocol::messages::merchant::DepositResult;
use semper_protocol::messages::refund::RefundRequest;
use semper_protocol::signed::Signed;
use semper_protocol::wallet;
use serde_json::{Value, json};

use semper_protocol::messages::read::ReadSubject;
use semper_protocol::time::Timestamp;

use super::fixtures::{Fixtures, deposit, edited, eur, read_by};
use super::table::{Auth, Case, Request, coin_refused, deposit_answered, refused, same};

pub fn cases(f: &Fixtures) -> Vec<Case> {
    let mut cases = merchants(f);
    cases.extend(deposits(f));
    cases.extend(coins(f));
    cases.extend(operator_calls(f));
    cases.extend(refunds(f));
    cases
}

/// A refund of `amount` of the deposited coin by `merchant` for `contract`, signed by `key`.
fn refund(
    merchant: MerchantId,
    coin: &semper_protocol::wallet::WalletCoin,
    contract: u8,
    amount: &str,
    key: &semper_protocol::crypto::ed25519::SigningKey,
) -> Request {
    let body = RefundRequest {
        merchant,
        refund_id: RequestId([0x77; 16]),
        contract_hash: ContractHash([contract; 32]),
        denomination: coin.coin().denomination,
        coin: CoinId::of(&coin.coin().public_key),
        amount: eur(amount),
    };
    Request::post("/v1/acquirer/refunds", &Signed::sign(body, key))
}

fn refunds(f: &Fixtures) -> Vec<Case> {
    let (m, r) = (&f.merchant, &f.rival);
    let paid = f.spent();
    let good = Signed::sign(
        RefundRequest {
            merchant: m.id,
            refund_id: RequestId([0x77; 16]),
            contract_hash: ContractHash([8; 32]),
            denomination: paid.coin().denomination,
            coin: CoinId::of(&paid.coin().public_key),
            amount: eur("0.10"),
        },
        &m.key,
    );
    vec![
        refused(
            "refund: signed by another key",
            refund(m.id, paid, 8, "0.10", &r.key),
            400,
            "refund.invalid_signature",
        ),
        refused(
            "refund: more than the coin paid",
            refund(m.id, paid, 8, "1000.00", &m.key),
            409,
            "refund.over_paid",
        ),
        refused(
            "refund: zero",
            refund(m.id, paid, 8, "0.00", &m.key),
            400,
            "refund.bad_amount",
        ),
        refused(
            "refund: another contract",
            refund(m.id, paid, 9, "0.10", &m.key),
            400,
            "refund.wrong_contract",
        ),
        refused(
            "refund: another merchant's coin",
            refund(r.id, paid, 8, "0.10", &r.key),
            404,
            "refund.unknown_coin",
        ),
        refused(
            "refund: a coin never deposited",
            refund(m.id, f.unspent(), 8, "0.10", &m.key),
            404,
            "refund.unknown_coin",
        ),
        refused(
            "refund: an unknown merchant",
            refund(MerchantId([6; 16]), paid, 8, "0.10", &m.key),
            404,
            "merchant.unknown",
        ),
        refused(
            "refund: an extra field",
            Request::post(
                "/v1/acquirer/refunds",
                &edited(&good, |v| v["body"]["fee"] = json!(0)),
            ),
            400,
            "request.malformed",
        ),
    ]
}

fn merchants(f: &Fixtures) -> Vec<Case> {
    let new = MerchantId([6; 16]);
    let key = json!(f.merchant.key.verifying_key());
    let register = |body: Value| Request::post("/v1/acquirer/merchants", &body).operator();
    let unknown = format!("/v1/acquirer/merchants/{}", MerchantId([5; 16]));
    let rival_key = f.rival.key.verifying_key();
    let as_merchant = ReadSubject::Merchant(f.merchant.id);
    vec![
        refused(
            "register: no token",
            register(json!({"merchant": new, "public_key": key})).by(Auth::Public),
            401,
            "auth.required",
        ),
        refused(
            "register: a wrong token",
            register(json!({"merchant": new, "public_key": key})).by(Auth::WrongToken),
            401,
            "auth.invalid",
        ),
        refused(
            "register: the id a list (wrong type)",
            register(json!({"merchant": [6], "public_key": key})),
            400,
            "request.malformed",
        ),
        refused(
            "register: no key (missing field)",
            register(json!({"merchant": new})),
            400,
            "request.malformed",
        ),
        refused(
            "register: an extra field",
            register(json!({"merchant": new, "public_key": key, "fee": 0})),
            400,
            "request.malformed",
        ),
        refused(
            "register: a merchant id taken, with another key (replay altered)",
            register(json!({"merchant": f.merchant.id, "public_key": rival_key})),
            409,
            "merchant.exists",
        ),
        same(
            "register: the same merchant again (a replay)",
            register(json!({"merchant": f.merchant.id, "public_key": key})),
            &f.merchant_json,
        ),
        refused(
            "merchant: unknown",
            Request::get(&unknown).operator(),
            404,
            "merchant.unknown",
        ),
        refused(
            "merchant: unknown, read signed",
            read_by(
                &unknown,
                ReadSubject::Merchant(MerchantId([5; 16])),
                &f.merchant.key,
                f.at,
            ),
            404,
            "merchant.unknown",
        ),
        refused(
            "merchant: an id of 2 bytes",
            Request::get("/v1/acquirer/merchants/abcd").operator(),
            400,
            "request.malformed",
        ),
        refused(
            "merchant: an id of 2 bytes, read signed",
            read_by(
                "/v1/acquirer/merchants/abcd",
                as_merchant,
                &f.merchant.key,
                f.at,
            ),
            400,
            "request.malformed",
        ),
        refused(
            "merchant: no credentials",
            Request::get(f.merchant_path()),
            401,
            "auth.required",
        ),
        refused(
            "merchant: a wrong token",
            Request::get(f.merchant_path()).by(Auth::WrongToken),
            401,
            "auth.invalid",
        ),
        same(
            "merchant: read signed by the merchant's key",
            read_by(&f.merchant_path(), as_merchant, &f.merchant.key, f.at),
            &f.merchant_json,
        ),
        refused(
            "merchant: a read signed by the rival's key",
            read_by(&f.merchant_path(), as_merchant, &f.rival.key, f.at),
            401,
            "read.invalid_signature",
        ),
        refused(
            "merchant: a read signed by the merchant as if it were an account",
            read_by(
                &f.merchant_path(),
                ReadSubject::Account(semper_protocol::ids::AccountId(f.merchant.id.0)),
                &f.merchant.key,
                f.at,
            ),
            401,
            "read.invalid_signature",
        ),
        refused(
            "merchant: a read signed 61 s after the server's clock (stale)",
            read_by(
                &f.merchant_path(),
                as_merchant,
                &f.merchant.key,
                Timestamp::from_unix_ms(f.at.unix_ms() + 61_000),
            ),
            401,
            "read.stale",
        ),
    ]
}

/// Deposits refused whole.
fn deposits(f: &Fixtures) -> Vec<Case> {
    let (merchant, rival) = (&f.merchant, &f.rival);
    let unspent = f.pay(f.unspent(), merchant.id);
    let first = f.deposited.body().deposit_id;
    let no_merchant = MerchantId([5; 16]);
    let by_nobody = vec![f.pay(f.unspent(), no_merchant)];
    let permissions_an_object = edited(&f.deposited, |j| j["body"]["permissions"] = json!({}));
    let unsigned = edited(&f.deposited, |j| {
        j.as_object_mut().unwrap().remove("signature");
    });
    let too_many = edited(&f.deposited, |j| {
        let coin = j["body"]["permissions"][0].clone();
        j["body"]["permissions"] = Value::Array(vec![coin; 257]);
    });
    let other_body = merchant.deposit(vec![unspent.clone()]).body().clone();
    let over_another = Signed::from_parts(other_body, *f.deposited.signature());
    let elsewhere = wallet::sign_deposit_permission(
        f.unspent(),
        ContractHash([8; 32]),
        merchant.id,
        BankId([3; 16]),
        f.at,
    );
    let in_dollars = f.keyed_permission("USD:0.10".parse().unwrap(), |_| {});
    let with_extras = edited(&f.deposited, |j| j["body"]["amount"] = json!("EUR:99.00"));
    let beside = edited(&f.deposited, |j| j["priority"] = json!(true));
    let in_a_permission = edited(&f.deposited, |j| {
        j["body"]["permissions"][0]["body"]["tip"] = json!("EUR:1.00");
    });
    let in_a_coin = edited(&f.deposited, |j| {
        j["body"]["permissions"][0]["body"]["coin"]["note"] = json!(1);
    });
    let upper_case = edited(&f.deposited, |j| {
        let id = j["body"]["deposit_id"].as_str().unwrap().to_uppercase();
        j["body"]["deposit_id"] = json!(id);
    });
    let weak_coin = edited(&f.deposited, |j| {
        let weak = format!("01{}", "00".repeat(31));
        j["body"]["permissions"][0]["body"]["coin"]["public_key"] = json!(weak);
    });
    let json_type = Some("application/json");
    vec![
        refused(
            "deposit: not JSON",
            Request::raw("POST", "/v1/acquirer/deposits", json_type, b"[".to_vec()),
            400,
            "request.malformed",
        ),
        refused(
            "deposit: the permissions an object (wrong type)",
            Request::post("/v1/acquirer/deposits", &permissions_an_object),
            400,
            "request.malformed",
        ),
        refused(
            "deposit: no signature (missing field)",
            Request::post("/v1/acquirer/deposits", &unsigned),
            400,
            "request.malformed",
        ),
        refused(
            "deposit: 257 coins (over the bound)",
            Request::post("/v1/acquirer/deposits", &too_many),
            400,
            "request.malformed",
        ),
        refused(
            "deposit: by an unknown merchant",
            deposit(&merchant.deposit_as(no_merchant, RequestId(rand::random()), by_nobody)),
            404,
            "merchant.unknown",
        ),
        refused(
            "deposit: a signature over another deposit",
            deposit(&over_another),
            400,
            "deposit.invalid_merchant_signature",
        ),
        refused(
            "deposit: signed by another merchant's key (swapped)",
            deposit(&rival.deposit_as(
                merchant.id,
                RequestId(rand::random()),
                vec![unspent.clone()],
            )),
            400,
            "deposit.invalid_merchant_signature",
        ),
        refused(
            "deposit: no coins",
            deposit(&merchant.deposit(Vec::new())),
            400,
            "deposit.no_coins",
        ),
        refused(
            "deposit: a coin paid to another merchant",
            deposit(&merchant.deposit(vec![f.pay(f.unspent(), rival.id)])),
            400,
            "deposit.wrong_merchant",
        ),
        refused(
            "deposit: a coin paid at another acquirer",
            deposit(&merchant.deposit(vec![elsewhere])),
            400,
            "deposit.wrong_acquirer",
        ),
        refused(
            "deposit: the same coin twice",
            deposit(&merchant.deposit(vec![unspent.clone(), unspent.clone()])),
            400,
            "deposit.duplicate_coin",
        ),
        refused(
            "deposit: coins in two currencies",
            deposit(&merchant.deposit(vec![unspent.clone(), in_dollars])),
            400,
            "amount.currency_mismatch",
        ),
        refused(
            "deposit: a deposit id reused for other coins (replay altered)",
            deposit(&merchant.deposit_as(merchant.id, first, vec![unspent])),
            409,
            "deposit.id_reused",
        ),
        same(
            "deposit: the same deposit again (a replay, credited once)",
            deposit(&f.deposited),
            &f.deposited_json,
        ),
        refused(
            "deposit: the same deposit with an extra field in the body",
            Request::post("/v1/acquirer/deposits", &with_extras),
            400,
            "request.malformed",
        ),
        refused(
            "deposit: the same deposit with an extra field beside the body",
            Request::post("/v1/acquirer/deposits", &beside),
            400,
            "request.malformed",
        ),
        refused(
            "deposit: the same deposit with an extra field in a permission",
            Request::post("/v1/acquirer/deposits", &in_a_permission),
            400,
            "request.malformed",
        ),
        refused(
            "deposit: the same deposit with an extra field in a coin",
            Request::post("/v1/acquirer/deposits", &in_a_coin),
            400,
            "request.malformed",
        ),
        refused(
            "deposit: the same deposit in upper-case hex",
            Request::post("/v1/acquirer/deposits", &upper_case),
            400,
            "request.malformed",
        ),
        refused(
            "deposit: a coin key of small order",
            Request::post("/v1/acquirer/deposits", &weak_coin),
            400,
            "ed25519.weak_key",
        ),
    ]
}

/// Deposits answered, each coin refused on its own.
fn coins(f: &Fixtures) -> Vec<Case> {
    let merchant = &f.merchant;
    let one_coin = |permission| deposit(&merchant.deposit(vec![permission]));
    let altered = {
        let paid = f.pay(f.unspent(), merchant.id);
        let mut body = paid.body().clone();
        body.contract_hash = ContractHash([1; 32]);
        Signed::from_parts(body, *paid.signature())
    };
    let by_another_coin = Signed::sign(f.pay(f.unspent(), merchant.id).body().clone(), &f.coin_key);
    let forged = f.keyed_permission(eur("0.10"), |body| {
        body.coin.signature = f.other().coin().signature.clone();
    });
    let unknown = f.keyed_permission(eur("0.10"), |body| {
        body.coin.denomination = DenominationId([7; 32]);
    });
    let respent = wallet::sign_deposit_permission(
        f.spent(),
        ContractHash([2; 32]),
        merchant.id,
        f.acquirer,
        f.at,
    );
    let earlier = Box::new(f.deposited.body().permissions[0].clone());
    vec![
        coin_refused(
            "deposit: a coin for twice its value (wrong amount)",
            one_coin(f.keyed_permission(eur("0.20"), |_| {})),
            "deposit.amount_mismatch",
        ),
        coin_refused(
            "deposit: a coin for its value in dollars (wrong currency)",
            one_coin(f.keyed_permission("USD:0.10".parse().unwrap(), |_| {})),
            "deposit.amount_mismatch",
        ),
        coin_refused(
            "deposit: a permission altered after the coin signed it",
            one_coin(altered),
            "deposit.invalid_permission_signature",
        ),
        coin_refused(
            "deposit: a permission signed by another coin's key (swapped)",
            one_coin(by_another_coin),
            "deposit.invalid_permission_signature",
        ),
        coin_refused(
            "deposit: a permission dated 0 (before its denomination)",
            one_coin(f.keyed_permission(eur("0.10"), |body| {
                body.timestamp = Timestamp::from_unix_ms(0);
            })),
            "deposit.timestamp_out_of_window",
        ),
        coin_refused(
            "deposit: a permission dated over 60 s ahead of the acquirer's clock",
            one_coin(f.keyed_permission(eur("0.10"), |body| {
                body.timestamp = f.at.plus_ms(PERMISSION_CLOCK_TOLERANCE_MS + 1);
            })),
            "deposit.timestamp_out_of_window",
        ),
        coin_refused(
            "deposit: a coin carrying another coin's issuer signature",
            one_coin(forged),
            "rsa.invalid_signature",
        ),
        coin_refused(
            "deposit: a coin of a denomination the issuer never had",
            one_coin(unknown),
            "denomination.unknown",
        ),
        coin_refused(
            "deposit: a coin of a revoked denomination",
            one_coin(f.pay(f.revoked(), merchant.id)),
            "denomination.revoked",
        ),
        deposit_answered(
            "deposit: a spent coin paid again with another contract (a conflict, with proof)",
            one_coin(respent),
            vec![DepositResult::Conflict { earlier }],
        ),
    ]
}

fn operator_calls(f: &Fixtures) -> Vec<Case> {
    let deposits = format!("{}/deposits", f.merchant_path());
    let nobody = format!(
        "/v1/acquirer/merchants/{}/deposits/{}",
        MerchantId([5; 16]),
        f.deposited.body().deposit_id
    );
    let discrepancies = "/v1/acquirer/discrepancies";
    let as_merchant = ReadSubject::Merchant(f.merchant.id);
    let status = format!("{deposits}/{}", f.deposited.body().deposit_id);
    let unknown_deposit = format!("{deposits}/{}", RequestId([3; 16]));
    vec![
        refused(
            "deposit status: an unknown deposit",
            Request::get(format!("{deposits}/{}", RequestId([3; 16]))).operator(),
            404,
            "deposit.unknown",
        ),
        refused(
            "deposit status: an unknown deposit, read signed",
            read_by(&unknown_deposit, as_merchant, &f.merchant.key, f.at),
            404,
            "deposit.unknown",
        ),
        refused(
            "deposit status: an unknown merchant",
            Request::get(nobody).operator(),
            404,
            "deposit.unknown",
        ),
        refused(
            "deposit status: the id not hex",
            Request::get(format!("{deposits}/not-an-id")).operator(),
            400,
            "request.malformed",
        ),
        refused(
            "deposit status: no credentials",
            Request::get(&status),
            401,
            "auth.required",
        ),
        same(
            "deposit status: read signed by the merchant's key, with the signed answer",
            read_by(&status, as_merchant, &f.merchant.key, f.at),
            &json!({"status": "done", "answer": f.deposited_json}),
        ),
        same(
            "deposit status: read with the operator token",
            Request::get(&status).operator(),
            &json!({"status": "done", "answer": f.deposited_json}),
        ),
        refused(
            "deposit status: a read signed by the rival's key",
            read_by(&status, as_merchant, &f.rival.key, f.at),
            401,
            "read.invalid_signature",
        ),
        refused(
            "deposit status: the merchant's signed read of its balance, replayed here",
            Request::get(&status).by(Auth::Header(crate::client::signed_read(
                &f.merchant_path(),
                as_merchant,
                &f.merchant.key,
                f.at,
            ))),
            401,
            "read.invalid_signature",
        ),
        refused(
            "refresh: no token",
            Request::bare("POST", "/v1/acquirer/denominations/refresh"),
            401,
            "auth.required",
        ),
        refused(
            "refresh: GET",
            Request::get("/v1/acquirer/denominations/refresh").operator(),
            405,
            "route.method_not_allowed",
        ),
        refused(
            "outbox: POST",
            Request::bare("POST", "/v1/acquirer/outbox"),
            405,
            "route.method_not_allowed",
        ),
        refused(
            "outbox: no token",
            Request::get("/v1/acquirer/outbox"),
            401,
            "auth.required",
        ),
        refused(
            "outbox: a wrong token",
            Request::get("/v1/acquirer/outbox").by(Auth::WrongToken),
            401,
            "auth.invalid",
        ),
        refused(
            "outbox: a merchant's signed read (not the operator)",
            read_by("/v1/acquirer/outbox", as_merchant, &f.merchant.key, f.at),
            401,
            "auth.required",
        ),
        refused(
            "flush: no token",
            Request::bare("POST", "/v1/acquirer/outbox/flush"),
            401,
            "auth.required",
        ),
        refused(
            "flush: a wrong token",
            Request::bare("POST", "/v1/acquirer/outbox/flush").by(Auth::WrongToken),
            401,
            "auth.invalid",
        ),
        refused(
            "acquirer discrepancies: no token",
            Request::get(discrepancies),
            401,
            "auth.required",
        ),
        refused(
            "acquirer discrepancies: a limit over its maximum, 1024",
            Request::get(format!("{discrepancies}?limit=1025")).operator(),
            400,
            "request.malformed",
        ),
        refused(
            "acquirer discrepancies: a limit not a number",
            Request::get(format!("{discrepancies}?limit=ten")).operator(),
            400,
            "request.malformed",
        ),
        refused(
            "acquirer discrepancies: an unknown parameter",
            Request::get(format!("{discrepancies}?merchant=1")).operator(),
            400,
            "request.malformed",
        ),
    ]
}
