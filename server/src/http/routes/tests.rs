//! The OpenAPI document and the routes, in step: the same (method, path) set both ways, each route
//! under exactly the security schemes its access allows (operator routes under the bearer scheme,
//! owner routes under the bearer scheme or a signed read), and every error code the document lists
//! under a status answered with that status.

use std::collections::BTreeSet;

use semper_protocol::amount::Currency;
use serde_json::Value;

use super::{Access, all};
use crate::http::OPENAPI_JSON;
use crate::http::codes;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON")
}

/// The security schemes, any one of which an endpoint of `access` accepts.
fn schemes(access: Access) -> Vec<String> {
    match access {
        Access::Open => vec![],
        Access::Operator => vec!["operatorToken".into()],
        Access::Owner => vec!["operatorToken".into(), "signedRead".into()],
    }
}

/// (METHOD, path, security schemes) of each operation in the document.
fn documented() -> BTreeSet<(String, String, Vec<String>)> {
    let document = document();
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let mut schemes: Vec<String> = operation
                .get("security")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .flat_map(|requirement| requirement.keys().cloned())
                .collect();
            schemes.sort();
            operations.insert((method.to_uppercase(), path.clone(), schemes));
        }
    }
    operations
}

#[test]
fn http_openapi_matches_the_routes() {
    let registered: BTreeSet<(String, String, Vec<String>)> = all()
        .endpoints()
        .into_iter()
        .map(|endpoint| {
            (
                endpoint.method.as_str().to_owned(),
                endpoint.path.to_owned(),
                schemes(endpoint.access),
            )
        })
        .collect();
    let documented = documented();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "registered but not documented (or access differs): {undocumented:?}\n\
         documented but not registered (or access differs): {unrouted:?}"
    );
}

#[test]
fn http_openapi_error_codes_have_their_statuses() {
    let document = document();
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let responses = operation["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{method} {path} documents no success"
            );
            for (status, response) in responses {
                let Some(listed) = response.get("x-error-codes").and_then(Value::as_array) else {
                    assert!(
                        status.starts_with('2'),
                        "{method} {path} {status}: error response without x-error-codes"
                    );
                    continue;
                };
                for code in listed {
                    let code = code.as_str().expect("code is a string");
                    let table = codes::lookup(code)
                        .unwrap_or_else(|| panic!("{method} {path}: {code} is not in the table"));
                    assert_eq!(
                        table.as_str(),
                        status,
                        "{method} {path}: {code} is documented under the wrong status"
                    );
                    checked += 1;
                }
            }
            let operator = operation.get("security").is_some();
            if operator {
                for status in ["401", "403"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path}: operator route without {status}"
                    );
                }
            }
        }
    }
    assert!(checked > 0);
}

#[test]
fn http_openapi_documents_every_table_code() {
    let text = OPENAPI_JSON;
    let missing: Vec<&str> = codes::all()
        .map(|(code, _)| code)
        .filter(|code| !text.contains(&format!("\"{code}\"")))
        .collect();
    assert!(missing.is_empty(), "codes never documented: {missing:?}");
}

/// The `Amount` pattern the currency table gives: each currency with at most its minor digits,
/// grouped by digit count in the table's order.
fn amount_pattern() -> String {
    let mut groups: Vec<(u8, Vec<String>)> = Vec::new();
    for currency in Currency::all() {
        let digits = currency.minor_digits();
        match groups.iter_mut().find(|(d, _)| *d == digits) {
            Some((_, codes)) => codes.push(currency.code().to_owned()),
            None => groups.push((digits, vec![currency.code().to_owned()])),
        }
    }
    let alternatives: Vec<String> = groups
        .iter()
        .map(|(digits, codes)| {
            let minor = match digits {
                0 => String::new(),
                n => format!("(\\.[0-9]{{1,{n}}})?"),
            };
            format!("({}):[0-9]+{minor}", codes.join("|"))
        })
        .collect();
    format!("^({})$", alternatives.join("|"))
}

#[test]
fn http_openapi_currencies_are_the_codes() {
    let document = document();
    let schemas = &document["components"]["schemas"];
    let listed: Vec<&str> = schemas["Currency"]["enum"]
        .as_array()
        .expect("Currency has an enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let known: Vec<String> = Currency::all().map(|c| c.code().to_owned()).collect();
    assert_eq!(listed, known, "the Currency enum is not the code's table");
    assert_eq!(schemas["Amount"]["pattern"], amount_pattern());
}
