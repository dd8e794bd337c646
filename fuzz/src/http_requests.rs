//! What the HTTP API parses from a request: the JSON body of every POST endpoint, the query
//! string of every GET endpoint that has one, and the path parameters, then the handler's own
//! parsing of the strings a body carries.
//!
//! Bodies parse as actix-web's `web::Json` parses them (`serde_json::from_slice`), queries as
//! `web::Query` does (`serde_urlencoded`). Path parameters go through `serde_urlencoded` too: the
//! same `Deserialize` of the same string values that actix-web's path deserializer feeds.

use std::fmt::Debug;

use semper_client::views::{
    AccountPath, CreditBody, DepositPath, DiscrepancyQuery, MerchantPath, OpenAccountBody,
    RegisterMerchantBody, ReportsQuery,
};
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::messages::account::OpenAccountRequest;
use semper_protocol::messages::merchant::SignedDepositRequest;
use semper_protocol::messages::swap::SwapRequest;
use semper_protocol::messages::withdraw::SignedWithdrawRequest;
use semper_protocol::signed::Signed;
use semper_server::http::issuer::page_limit;
use semper_storage::reports::DISCREPANCIES_PAGE_MAX;
use serde::de::DeserializeOwned;

use crate::Target;
use crate::check::{codec_agrees, from_json};
use crate::invariants;

/// The request parsers, by selector byte, as [`crate::protocol_codec`] has its decoders. Append only.
pub const REQUESTS: &[(&str, Target)] = &[
    ("POST /v1/issuer/accounts", open_account),
    ("POST /v1/issuer/accounts/{account}/credit", credit),
    ("POST /v1/acquirer/merchants", register_merchant),
    ("POST /v1/issuer/withdraw", withdraw),
    ("POST /v1/acquirer/deposits", deposit),
    (
        "GET /v1/{issuer,acquirer}/discrepancies?",
        discrepancy_query,
    ),
    ("GET /v1/clearing/reports?", |data| {
        query::<ReportsQuery>(data);
    }),
    ("{account}", |data| {
        query::<AccountPath>(data);
    }),
    ("{merchant}", |data| {
        query::<MerchantPath>(data);
    }),
    ("{merchant}/deposits/{deposit_id}", |data| {
        query::<DepositPath>(data);
    }),
    ("POST /v1/issuer/swap", swap),
];

/// Parses the input as the request its first byte picks, and checks what it parsed to.
pub fn http_requests(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if let Some((_, parse)) = REQUESTS.get(usize::from(selector)) {
        parse(rest);
    }
}

/// Parses a body that has no JSON form of its own to compare with: what parses from the bytes
/// parses from their JSON value too, the way serde's other entry point reads it.
fn body<T: DeserializeOwned + Debug>(data: &[u8]) -> Option<T> {
    let value = serde_json::from_slice::<T>(data).ok()?;
    let tree = serde_json::from_slice::<serde_json::Value>(data)
        .unwrap_or_else(|e| panic!("a body that parses is not JSON: {e}"));
    if let Err(e) = serde_json::from_value::<T>(tree) {
        panic!("{value:?} parses from the bytes but not from their JSON value: {e}");
    }
    Some(value)
}

/// Parses a query string as `web::Query` does.
fn query<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    serde_urlencoded::from_bytes::<T>(data).ok()
}

fn open_account(data: &[u8]) {
    let Some(body) = body::<OpenAccountBody>(data) else {
        return;
    };
    let fields = body.body;
    if let Ok(currency) = Currency::new(&fields.currency) {
        assert_eq!(currency.code(), fields.currency);
        // The handler checks the signature over the binary form of what it parsed.
        let opening = Signed::from_parts(
            OpenAccountRequest {
                account: fields.account,
                public_key: fields.public_key,
                currency,
            },
            body.signature,
        );
        codec_agrees(&opening);
        let _ = opening.verify_own_key();
    }
}

fn credit(data: &[u8]) {
    let Some(body) = body::<CreditBody>(data) else {
        return;
    };
    // The handler parses the amount's text; the text an amount prints must parse back to it.
    if let Ok(amount) = body.amount.parse::<Amount>() {
        let text = amount.to_string();
        assert_eq!(
            text.parse::<Amount>(),
            Ok(amount),
            "{text} does not parse back"
        );
    }
}

fn register_merchant(data: &[u8]) {
    if let Some(body) = body::<RegisterMerchantBody>(data) {
        assert!(VerifyingKey::from_bytes(body.public_key.as_bytes()).is_ok());
    }
}

fn withdraw(data: &[u8]) {
    if let Some(request) = from_json::<SignedWithdrawRequest>(data) {
        // The issuer verifies the account key's signature over the binary form, and stores it.
        codec_agrees(&request);
        invariants::signed(&request);
    }
}

fn swap(data: &[u8]) {
    if let Some(request) = from_json::<SwapRequest>(data) {
        // The issuer digests the request's binary form, and checks each coin key's signature
        // over its permission's.
        codec_agrees(&request);
        for permission in request.coins.iter() {
            invariants::signed(permission);
            let _ = permission.verify_coin_key();
        }
    }
}

fn deposit(data: &[u8]) {
    if let Some(request) = from_json::<SignedDepositRequest>(data) {
        codec_agrees(&request);
        invariants::signed(&request);
        for permission in request.body().permissions.iter() {
            let _ = permission.verify_coin_key();
        }
    }
}

fn discrepancy_query(data: &[u8]) {
    if let Some(query) = query::<DiscrepancyQuery>(data)
        && let Ok(limit) = page_limit(query.limit, 100, DISCREPANCIES_PAGE_MAX)
    {
        assert!(limit <= DISCREPANCIES_PAGE_MAX);
    }
}
