//! semper's HTTP API, typed: each call sends a protocol message (or the API's own small JSON
//! body) and reads the answer, or the API's `{"code", "message"}` error.

use std::marker::PhantomData;
use std::net::SocketAddr;

use semper_protocol::amount::{Amount, Currency};
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::ids::{AccountId, MerchantId, RequestId};
use semper_protocol::messages::merchant::{DepositResponse, SignedDepositRequest};
use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::messages::withdraw::{SignedWithdrawRequest, WithdrawResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::http::{HttpClient, HttpError, Response};

/// A call that did not get its answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Below HTTP.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The API answered with an error.
    #[error("HTTP {status} {code}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The stable error code.
        code: String,
        /// The message.
        message: String,
        /// The Retry-After header, in seconds, when the answer is "busy".
        retry_after_s: Option<u64>,
    },
    /// The answer is not the JSON expected.
    #[error("unexpected answer to {what}: {problem}")]
    Unexpected {
        /// The call.
        what: String,
        /// Why.
        problem: String,
    },
}

impl ApiError {
    /// The error code when the API refused, e.g. `ledger.insufficient_funds`.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A client of one node's HTTP API, with the operator token when it has one.
pub struct Api {
    http: HttpClient,
    operator_token: Option<String>,
}

/// A request body encoded as JSON once, to be sent as often as its retries need (an attempt
/// refused busy then costs the client no encoding).
pub struct Encoded<B> {
    json: Vec<u8>,
    body: PhantomData<fn() -> B>,
}

impl<B: Serialize> Encoded<B> {
    /// `body`'s JSON.
    pub fn new(body: &B) -> Result<Self, ApiError> {
        let json = serde_json::to_vec(body).map_err(|error| ApiError::Unexpected {
            what: std::any::type_name::<B>().to_owned(),
            problem: error.to_string(),
        })?;
        Ok(Self {
            json,
            body: PhantomData,
        })
    }
}

impl Api {
    /// A client of the API at `addr`.
    pub fn new(addr: SocketAddr, operator_token: Option<String>) -> Self {
        Self::over(HttpClient::new(addr), operator_token)
    }

    /// A client of the API over `http` (HTTPS, say).
    pub fn over(http: HttpClient, operator_token: Option<String>) -> Self {
        Self {
            http,
            operator_token,
        }
    }

    /// `GET path`, decoded.
    pub fn get<T: DeserializeOwned>(&mut self, path: &str) -> Result<T, ApiError> {
        let response = self.send("GET", path, None, false)?;
        decode(path, response)
    }

    /// `POST path` with `body` as JSON, decoded; `operator` adds the token.
    pub fn post<B: Serialize, T: DeserializeOwned>(
        &mut self,
        path: &str,
        body: &B,
        operator: bool,
    ) -> Result<T, ApiError> {
        self.post_encoded(path, &Encoded::new(body)?, operator)
    }

    /// `POST path` with a body already encoded, decoded; `operator` adds the token.
    pub fn post_encoded<B, T: DeserializeOwned>(
        &mut self,
        path: &str,
        body: &Encoded<B>,
        operator: bool,
    ) -> Result<T, ApiError> {
        let response = self.send("POST", path, Some(&body.json), operator)?;
        decode(path, response)
    }

    /// `GET path` with the operator token, decoded.
    pub fn get_as_operator<T: DeserializeOwned>(&mut self, path: &str) -> Result<T, ApiError> {
        let response = self.send("GET", path, None, true)?;
        decode(path, response)
    }

    /// Sends a request and returns the raw response, whatever its status.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        operator: bool,
    ) -> Result<Response, ApiError> {
        let bearer = match (&self.operator_token, operator) {
            (Some(token), true) => Some(format!("Bearer {token}")),
            _ => None,
        };
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        if let Some(bearer) = &bearer {
            headers.push(("Authorization", bearer));
        }
        Ok(self.http.request(method, path, &headers, body)?)
    }

    /// The issuer's signed denomination set.
    pub fn denominations(&mut self) -> Result<SignedDenominationSet, ApiError> {
        self.get("/v1/issuer/denominations")
    }

    /// Opens an account; returns its view.
    pub fn open_account(
        &mut self,
        account: AccountId,
        public_key: &VerifyingKey,
        currency: Currency,
    ) -> Result<Value, ApiError> {
        let body =
            json!({"account": account, "public_key": public_key, "currency": currency.code()});
        self.post("/v1/issuer/accounts", &body, false)
    }

    /// An account's view (its balance under `balance`).
    pub fn account(&mut self, account: AccountId) -> Result<Value, ApiError> {
        self.get(&format!("/v1/issuer/accounts/{account}"))
    }

    /// Credits an account (operator); a reference seen twice credits once.
    pub fn credit(
        &mut self,
        account: AccountId,
        reference: &str,
        amount: Amount,
    ) -> Result<Value, ApiError> {
        let body = json!({"reference": reference, "amount": amount.to_string()});
        self.post(
            &format!("/v1/issuer/accounts/{account}/credit"),
            &body,
            true,
        )
    }

    /// Withdraws: one blind signature per coin.
    pub fn withdraw(
        &mut self,
        request: &SignedWithdrawRequest,
    ) -> Result<WithdrawResponse, ApiError> {
        self.withdraw_encoded(&Encoded::new(request)?)
    }

    /// [`Api::withdraw`] with the request encoded beforehand, for a retry loop.
    pub fn withdraw_encoded(
        &mut self,
        request: &Encoded<SignedWithdrawRequest>,
    ) -> Result<WithdrawResponse, ApiError> {
        self.post_encoded("/v1/issuer/withdraw", request, false)
    }

    /// Registers a merchant (operator).
    pub fn register_merchant(
        &mut self,
        merchant: MerchantId,
        public_key: &VerifyingKey,
    ) -> Result<Value, ApiError> {
        let body = json!({"merchant": merchant, "public_key": public_key});
        self.post("/v1/acquirer/merchants", &body, true)
    }

    /// A merchant's view (its balances under `balances`).
    pub fn merchant(&mut self, merchant: MerchantId) -> Result<Value, ApiError> {
        self.get(&format!("/v1/acquirer/merchants/{merchant}"))
    }

    /// Deposits: a result per coin.
    pub fn deposit(&mut self, request: &SignedDepositRequest) -> Result<DepositResponse, ApiError> {
        self.deposit_encoded(&Encoded::new(request)?)
    }

    /// [`Api::deposit`] with the request encoded beforehand, for a retry loop.
    pub fn deposit_encoded(
        &mut self,
        request: &Encoded<SignedDepositRequest>,
    ) -> Result<DepositResponse, ApiError> {
        self.post_encoded("/v1/acquirer/deposits", request, false)
    }

    /// Where a deposit stands.
    pub fn deposit_status(
        &mut self,
        merchant: MerchantId,
        deposit_id: RequestId,
    ) -> Result<Value, ApiError> {
        self.get(&format!(
            "/v1/acquirer/merchants/{merchant}/deposits/{deposit_id}"
        ))
    }

    /// Submits the acquirer's outbox now (operator); returns where it stands.
    pub fn flush_outbox(&mut self) -> Result<Value, ApiError> {
        self.post("/v1/acquirer/outbox/flush", &json!({}), true)
    }

    /// The clearing house's open cycle.
    pub fn cycle(&mut self) -> Result<Value, ApiError> {
        self.get("/v1/clearing/cycle")
    }

    /// Cuts the open cycle now (operator): its signed report.
    pub fn cut_cycle(&mut self) -> Result<SignedSettlementReport, ApiError> {
        self.post("/v1/clearing/cycle/cut", &json!({}), true)
    }

    /// Settlement reports after cycle number `after`.
    pub fn reports(&mut self, after: u64) -> Result<Vec<SignedSettlementReport>, ApiError> {
        self.get(&format!("/v1/clearing/reports?after={after}"))
    }

    /// The Prometheus text of `/metrics`.
    pub fn metrics(&mut self) -> Result<String, ApiError> {
        Ok(self.send("GET", "/metrics", None, false)?.text())
    }
}

fn decode<T: DeserializeOwned>(what: &str, response: Response) -> Result<T, ApiError> {
    if !(200..300).contains(&response.status) {
        let error: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let text = |key: &str| error[key].as_str().unwrap_or_default().to_owned();
        return Err(ApiError::Refused {
            status: response.status,
            code: text("code"),
            message: text("message"),
            retry_after_s: response
                .header("retry-after")
                .and_then(|value| value.parse().ok()),
        });
    }
    serde_json::from_slice(&response.body).map_err(|error| ApiError::Unexpected {
        what: what.to_owned(),
        problem: format!("{error}: {}", response.text()),
    })
}
