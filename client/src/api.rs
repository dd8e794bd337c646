//! semper's HTTP API, typed: each call sends a protocol message (or the API's own small JSON
//! body) and reads the answer, or the API's `{"code", "message"}` error.

use std::marker::PhantomData;
use std::net::SocketAddr;

use std::time::{SystemTime, UNIX_EPOCH};

use semper_protocol::amount::Amount;
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::denomination::{DenominationSet, SignedDenominationSet};
use semper_protocol::ids::{AccountId, MerchantId, RequestId};
use semper_protocol::messages::account::SignedOpenAccount;
use semper_protocol::messages::deposit_answer::SignedDepositAnswer;
use semper_protocol::messages::merchant::SignedDepositRequest;
use semper_protocol::messages::read::{ReadSubject, sign_read};
use semper_protocol::messages::recoup::{RecoupResponse, SignedRecoupRequest};
use semper_protocol::messages::refund::{RefundResponse, SignedRefundRequest};
use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::messages::spend::EarlierSpend;
use semper_protocol::messages::swap::{SwapRequest, SwapResponse};
use semper_protocol::messages::withdraw::{SignedWithdrawRequest, WithdrawResponse};
use semper_protocol::time::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::http::{HttpClient, HttpError, Response};
use crate::views::{
    AccountView, CreditBody, CycleView, DepositStatusView, IssuedView, KeysView, MerchantView,
    OutboxView, RegisterMerchantBody,
};

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

/// A swap that did not get its signatures.
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    /// The API refused or failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// 409 `swap.conflict`: coin `index` was spent before; `earlier` is the permission that
    /// spent it, which the wallet checks (nothing was spent or signed).
    #[error("coin {index} was spent before")]
    Conflict {
        /// The coin's position in the request.
        index: usize,
        /// The signed deposit or swap permission that spent it first.
        earlier: Box<EarlierSpend>,
    },
}

impl SwapError {
    /// The error code when the API refused: `swap.conflict` for a conflict.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api(error) => error.code(),
            Self::Conflict { .. } => Some("swap.conflict"),
        }
    }
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

    /// `GET path` as a read signed by `key`, the key of `subject`, decoded: how a wallet or a
    /// merchant reads its own data without the operator token.
    pub fn get_signed<T: DeserializeOwned>(
        &mut self,
        path: &str,
        subject: ReadSubject,
        key: &SigningKey,
    ) -> Result<T, ApiError> {
        let authorization = signed_read_header(path, subject, key)?;
        let response = self.send_with("GET", path, None, Some(&authorization))?;
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
        self.send_with(method, path, body, bearer.as_deref())
    }

    /// Sends a request with `authorization` as its `Authorization` header, if any.
    fn send_with(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        authorization: Option<&str>,
    ) -> Result<Response, ApiError> {
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        if let Some(authorization) = authorization {
            headers.push(("Authorization", authorization));
        }
        Ok(self.http.request(method, path, &headers, body)?)
    }

    /// The public keys of the roles the node hosts (`GET /v1/keys`), each present when hosted.
    pub fn keys(&mut self) -> Result<KeysView, ApiError> {
        self.get("/v1/keys")
    }

    /// The issuer's signed denomination set (each denomination's served `id` is ignored: the
    /// set's parser computes every id from the signed fields).
    pub fn denominations(&mut self) -> Result<SignedDenominationSet, ApiError> {
        self.get("/v1/issuer/denominations")
    }

    /// The set the issuer wants its master key to sign next (operator): the ceremony's export.
    pub fn export_denominations(&mut self) -> Result<DenominationSet, ApiError> {
        self.get_as_operator("/v1/issuer/denominations/export")
    }

    /// Uploads a set the master key signed (operator); the issuer publishes it, or refuses it
    /// with `set.*` and keeps the set it has. Returns the set published.
    pub fn publish_denominations(
        &mut self,
        set: &SignedDenominationSet,
    ) -> Result<SignedDenominationSet, ApiError> {
        self.post("/v1/issuer/denominations", set, true)
    }

    /// Opens an account, with the request signed by the account key; returns its view. With the
    /// operator token (when this client has one), the opening is not counted against the bound
    /// per client address.
    pub fn open_account(&mut self, request: &SignedOpenAccount) -> Result<AccountView, ApiError> {
        self.post("/v1/issuer/accounts", request, true)
    }

    /// An account's view, read with the operator token.
    pub fn account(&mut self, account: AccountId) -> Result<AccountView, ApiError> {
        self.get_as_operator(&format!("/v1/issuer/accounts/{account}"))
    }

    /// An account's view, read with the account key's signature.
    pub fn account_signed(
        &mut self,
        account: AccountId,
        key: &SigningKey,
    ) -> Result<AccountView, ApiError> {
        let path = format!("/v1/issuer/accounts/{account}");
        self.get_signed(&path, ReadSubject::Account(account), key)
    }

    /// Credits an account (operator); a reference seen twice credits once.
    pub fn credit(
        &mut self,
        account: AccountId,
        reference: &str,
        amount: Amount,
    ) -> Result<AccountView, ApiError> {
        let body = CreditBody {
            reference: reference.to_owned(),
            amount: amount.to_string(),
        };
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

    /// Recoups a withdrawn coin of a revoked denomination: its value credited back to the account
    /// that withdrew it. A retry with the same body gets the same answer and credits once.
    pub fn recoup(&mut self, request: &SignedRecoupRequest) -> Result<RecoupResponse, ApiError> {
        self.post("/v1/issuer/recoup", request, false)
    }

    /// Registers a merchant (operator); the view names the acquirer and its bank key, which signs
    /// the merchant's deposit answers.
    pub fn register_merchant(
        &mut self,
        merchant: MerchantId,
        public_key: &VerifyingKey,
    ) -> Result<MerchantView, ApiError> {
        let body = RegisterMerchantBody {
            merchant,
            public_key: *public_key,
        };
        self.post("/v1/acquirer/merchants", &body, true)
    }

    /// A merchant's view, read with the operator token.
    pub fn merchant(&mut self, merchant: MerchantId) -> Result<MerchantView, ApiError> {
        self.get_as_operator(&format!("/v1/acquirer/merchants/{merchant}"))
    }

    /// A merchant's view, read with the merchant key's signature.
    pub fn merchant_signed(
        &mut self,
        merchant: MerchantId,
        key: &SigningKey,
    ) -> Result<MerchantView, ApiError> {
        let path = format!("/v1/acquirer/merchants/{merchant}");
        self.get_signed(&path, ReadSubject::Merchant(merchant), key)
    }

    /// Deposits: the acquirer's signed answer, a result per coin. Check it with
    /// [`verify_deposit_answer`](semper_protocol::messages::deposit_answer::verify_deposit_answer)
    /// before trusting it (the merchant of `parties` does).
    pub fn deposit(
        &mut self,
        request: &SignedDepositRequest,
    ) -> Result<SignedDepositAnswer, ApiError> {
        self.deposit_encoded(&Encoded::new(request)?)
    }

    /// [`Api::deposit`] with the request encoded beforehand, for a retry loop.
    pub fn deposit_encoded(
        &mut self,
        request: &Encoded<SignedDepositRequest>,
    ) -> Result<SignedDepositAnswer, ApiError> {
        self.post_encoded("/v1/acquirer/deposits", request, false)
    }

    /// Refunds (part of) a deposited coin: the acquirer's answer once the merchant is debited.
    /// A retry with the same body gets the same answer.
    pub fn refund(&mut self, request: &SignedRefundRequest) -> Result<RefundResponse, ApiError> {
        self.post("/v1/acquirer/refunds", request, false)
    }

    /// Swaps coins for change: one blind signature per output. A retry with the same body gets
    /// the same signatures; a coin spent before is [`SwapError::Conflict`], with the proof.
    pub fn swap(&mut self, request: &SwapRequest) -> Result<SwapResponse, SwapError> {
        const PATH: &str = "/v1/issuer/swap";
        let body = Encoded::new(request)?;
        let response = self.send("POST", PATH, Some(&body.json), false)?;
        if response.status == 409 {
            #[derive(serde::Deserialize)]
            struct Conflict {
                code: String,
                index: usize,
                earlier: Box<EarlierSpend>,
            }
            match serde_json::from_slice::<Conflict>(&response.body) {
                Ok(conflict) if conflict.code == "swap.conflict" => {
                    return Err(SwapError::Conflict {
                        index: conflict.index,
                        earlier: conflict.earlier,
                    });
                }
                _ => {}
            }
        }
        Ok(decode(PATH, response)?)
    }

    /// Where a deposit stands (its signed answer once done), read with the merchant key's
    /// signature.
    pub fn deposit_status(
        &mut self,
        merchant: MerchantId,
        deposit_id: RequestId,
        key: &SigningKey,
    ) -> Result<DepositStatusView, ApiError> {
        let path = format!("/v1/acquirer/merchants/{merchant}/deposits/{deposit_id}");
        self.get_signed(&path, ReadSubject::Merchant(merchant), key)
    }

    /// Where the acquirer's outbox to the clearing house stands (operator).
    pub fn outbox(&mut self) -> Result<OutboxView, ApiError> {
        self.get_as_operator("/v1/acquirer/outbox")
    }

    /// Submits the acquirer's outbox now (operator); returns where it stands.
    pub fn flush_outbox(&mut self) -> Result<OutboxView, ApiError> {
        self.post("/v1/acquirer/outbox/flush", &json!({}), true)
    }

    /// The clearing house's open cycle.
    pub fn cycle(&mut self) -> Result<CycleView, ApiError> {
        self.get("/v1/clearing/cycle")
    }

    /// Cuts the open cycle now (operator): its signed report.
    pub fn cut_cycle(&mut self) -> Result<SignedSettlementReport, ApiError> {
        self.post("/v1/clearing/cycle/cut", &json!({}), true)
    }

    /// Settlement reports after cycle number `after` (operator).
    pub fn reports(&mut self, after: u64) -> Result<Vec<SignedSettlementReport>, ApiError> {
        self.get_as_operator(&format!("/v1/clearing/reports?after={after}"))
    }

    /// The issuer's books: coins blind-signed per denomination (operator).
    pub fn issued(&mut self) -> Result<IssuedView, ApiError> {
        self.get_as_operator("/v1/issuer/issued")
    }

    /// The Prometheus text of `/metrics` (operator).
    pub fn metrics(&mut self) -> Result<String, ApiError> {
        let response = self.send("GET", "/metrics", None, true)?;
        if !(200..300).contains(&response.status) {
            return Err(refused(response));
        }
        Ok(response.text())
    }
}

/// The `Authorization` value of a read of `path`, signed now by `key` for `subject`.
fn signed_read_header(
    path: &str,
    subject: ReadSubject,
    key: &SigningKey,
) -> Result<String, ApiError> {
    // The server accepts a read signed within a minute of its clock: the client's own clock is
    // what it has.
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    let signed =
        sign_read(key, subject, path, Timestamp::from_unix_ms(now_ms)).map_err(|error| {
            ApiError::Unexpected {
                what: path.to_owned(),
                problem: error.to_string(),
            }
        })?;
    // A signature's JSON form is its hex.
    let signature = match serde_json::to_value(signed.signature()) {
        Ok(Value::String(hex)) => hex,
        other => {
            return Err(ApiError::Unexpected {
                what: path.to_owned(),
                problem: format!("a signature's JSON form: {other:?}"),
            });
        }
    };
    Ok(format!("Semper-Read {now_ms}.{signature}"))
}

fn decode<T: DeserializeOwned>(what: &str, response: Response) -> Result<T, ApiError> {
    if !(200..300).contains(&response.status) {
        return Err(refused(response));
    }
    serde_json::from_slice(&response.body).map_err(|error| ApiError::Unexpected {
        what: what.to_owned(),
        problem: format!("{error}: {}", response.text()),
    })
}

/// The API's `{"code", "message"}` refusal in `response`.
fn refused(response: Response) -> ApiError {
    let error: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    let text = |key: &str| error[key].as_str().unwrap_or_default().to_owned();
    ApiError::Refused {
        status: response.status,
        code: text("code"),
        message: text("message"),
        retry_after_s: response
            .header("retry-after")
            .and_then(|value| value.parse().ok()),
    }
}
