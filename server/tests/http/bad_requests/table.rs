//! The table's machinery: a case is a request, the answer it must get, and the records it may
//! leave; the runner sends each case and checks both.

use semper_protocol::messages::deposit_answer::SignedDepositAnswer;
use semper_protocol::messages::merchant::DepositResult;
use serde::Serialize;
use serde_json::Value;

use crate::client::{Response, ResponseExt};
use crate::state::{Dump, assert_changed_only};
use crate::world::Embedded;

/// The longest error message an answer may carry: a refusal names what is wrong, it does not
/// echo an oversized value back.
const MESSAGE_MAX_BYTES: usize = 1024;
/// What the acquirer keeps of a deposit answered coin by coin, refusals included.
const DEPOSIT_KEPT: &[&str] = &["embedded/acquirer/deposits"];

/// Who a request says it is.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No credentials.
    Public,
    /// The operator's bearer token.
    Operator,
    /// A bearer token, not the operator's.
    WrongToken,
    /// Credentials of another scheme.
    Basic,
    /// This `Authorization` value: a signed read, good or bad.
    Header(String),
}

/// One request, as sent.
pub struct Request {
    method: &'static str,
    path: String,
    auth: Auth,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Self {
        Self::raw("GET", path, None, Vec::new())
    }

    /// A POST of `body` as JSON.
    pub fn post(path: impl Into<String>, body: &impl Serialize) -> Self {
        let body = serde_json::to_vec(body).unwrap();
        Self::raw("POST", path, Some("application/json"), body)
    }

    /// A request without a body.
    pub fn bare(method: &'static str, path: impl Into<String>) -> Self {
        Self::raw(method, path, None, Vec::new())
    }

    pub fn raw(
        method: &'static str,
        path: impl Into<String>,
        content_type: Option<&'static str>,
        body: Vec<u8>,
    ) -> Self {
        Self {
            method,
            path: path.into(),
            auth: Auth::Public,
            content_type,
            body,
        }
    }

    /// The same request, as `auth`.
    pub fn by(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// The same request, as the operator.
    pub fn operator(self) -> Self {
        self.by(Auth::Operator)
    }
}

/// What a request must get back.
#[derive(Debug)]
enum Expect {
    /// This status and code.
    Error(u16, &'static str),
    /// 200, with this body.
    Json(Value),
    /// 200, with a deposit answer of these results.
    Results(Vec<DepositResult>),
}

/// One row of the table.
pub struct Case {
    name: &'static str,
    request: Request,
    expect: Expect,
    /// The "embedded/role/column" records it is documented to keep; every other must stay.
    keeps: &'static [&'static str],
}

/// Refused with `status` and `code`.
pub fn refused(name: &'static str, request: Request, status: u16, code: &'static str) -> Case {
    Case {
        name,
        request,
        expect: Expect::Error(status, code),
        keeps: &[],
    }
}

/// Answered 200 with `body`, as before: a replay.
pub fn same(name: &'static str, request: Request, body: &Value) -> Case {
    Case {
        name,
        request,
        expect: Expect::Json(body.clone()),
        keeps: &[],
    }
}

/// A deposit answered with `results`, the answer kept for its retries.
pub fn deposit_answered(name: &'static str, request: Request, results: Vec<DepositResult>) -> Case {
    Case {
        name,
        request,
        expect: Expect::Results(results),
        keeps: DEPOSIT_KEPT,
    }
}

/// A deposit whose one coin is refused with `code`.
pub fn coin_refused(name: &'static str, request: Request, code: &str) -> Case {
    let results = vec![DepositResult::Refused { code: code.into() }];
    deposit_answered(name, request, results)
}

async fn send(env: &Embedded, request: &Request) -> Response {
    let mut headers = Vec::new();
    if let Some(content_type) = request.content_type {
        headers.push(("Content-Type", content_type));
    }
    let client = match &request.auth {
        Auth::Public => env.public.clone(),
        Auth::Operator => env.operator.clone(),
        Auth::WrongToken => env.public.with_token("not-the-operator-token"),
        Auth::Basic => {
            headers.push(("Authorization", "Basic b3BlcmF0b3I6dG9rZW4="));
            env.public.clone()
        }
        Auth::Header(value) => {
            headers.push(("Authorization", value.as_str()));
            env.public.clone()
        }
    };
    let body = request.body.clone();
    client
        .send(request.method, &request.path, &headers, body)
        .await
}

/// Every record of every role of the deployment.
fn dump(env: &Embedded) -> Dump {
    let mut dump = Dump::default();
    dump.add("embedded", &env.deployment.roles());
    dump
}

/// Sends every case, one after the other, and checks its answer and what it left of the roles'
/// state.
pub async fn run_table(env: &Embedded, cases: Vec<Case>) {
    for case in cases {
        let before = dump(env);
        let response = send(env, &case.request).await;
        check(case.name, &case.expect, &response);
        let after = dump(env);
        assert_changed_only(case.name, &before, &after, case.keeps);
    }
}

fn check(name: &str, expect: &Expect, response: &Response) {
    match expect {
        Expect::Error(status, code) => {
            let body: Value = serde_json::from_slice(&response.body)
                .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {}", response.text()));
            assert_eq!(
                (response.status, body["code"].as_str()),
                (*status, Some(*code)),
                "{name}: {body}"
            );
            let message = body["message"].as_str().unwrap_or_default();
            assert!(!message.is_empty(), "{name}: no message in {body}");
            assert!(
                message.len() <= MESSAGE_MAX_BYTES,
                "{name}: a message of {} bytes",
                message.len()
            );
            let content_type = response.header("content-type");
            assert_eq!(content_type, Some("application/json"), "{name}");
        }
        Expect::Json(expected) => {
            assert_eq!(response.status, 200, "{name}: {}", response.text());
            assert_eq!(&response.json::<Value>(), expected, "{name}");
        }
        Expect::Results(results) => {
            assert_eq!(response.status, 200, "{name}: {}", response.text());
            let answer: SignedDepositAnswer = response.json();
            assert_eq!(&answer.body().results.to_vec(), results, "{name}");
        }
    }
}
