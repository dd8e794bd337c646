//! The JSON bodies the API defines itself: requests that are not protocol messages, and views of
//! the server's records, which have no JSON form of their own. Protocol messages go as they are.
//! The server reads and writes these types, and the client writes and reads the same ones.

use semper_protocol::amount::{Amount, Currency};
use semper_protocol::crypto::ed25519::{Signature, VerifyingKey};
use semper_protocol::denomination::{
    Denomination, DenominationSet, DenominationSetFields, SignedDenominationSet,
};
use semper_protocol::ids::{
    AccountId, BankId, BatchId, CycleId, DenominationId, Digest, MerchantId, RequestId,
    SubmissionId,
};
use semper_protocol::messages::deposit_answer::SignedDepositAnswer;
use semper_protocol::messages::receipt::ClaimResult;
use semper_protocol::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Opens an account at the issuer: a signed
/// [`OpenAccountRequest`](semper_protocol::messages::account::OpenAccountRequest) in its JSON form,
/// read with the currency as text so that an unknown one has its own code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAccountBody {
    /// What is signed.
    pub body: OpenAccountFields,
    /// The signature of `body.public_key` over the request's canonical encoding.
    pub signature: Signature,
}

/// The fields of an account opening.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAccountFields {
    /// The new account's id.
    pub account: AccountId,
    /// The key that will sign its withdrawals, and signs this request.
    pub public_key: VerifyingKey,
    /// Its currency code, e.g. `EUR`; checked by the handler, so an unknown one has its own code.
    pub currency: String,
}

/// Credits an account for an incoming transfer (operator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditBody {
    /// The transfer's reference: a reference seen twice credits once.
    pub reference: String,
    /// The amount, e.g. `EUR:12.50`; checked by the handler, so a bad one has its own code.
    pub amount: String,
}

/// Registers a merchant at the acquirer (operator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterMerchantBody {
    /// The merchant's id.
    pub merchant: MerchantId,
    /// The key that signs its deposits.
    pub public_key: VerifyingKey,
}

/// The `{account}` of an account path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPath {
    /// The account.
    pub account: AccountId,
}

/// The `{merchant}` of a merchant path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantPath {
    /// The merchant.
    pub merchant: MerchantId,
}

/// The `{merchant}` and `{deposit_id}` of a deposit path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositPath {
    /// The merchant.
    pub merchant: MerchantId,
    /// The merchant's deposit id.
    pub deposit_id: RequestId,
}

/// A page of discrepancies: from number `from` on, at most `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscrepancyQuery {
    /// The first discrepancy number wanted.
    #[serde(default)]
    pub from: u64,
    /// How many at most.
    pub limit: Option<usize>,
}

/// A page of settlement reports: the cycles numbered above `after`, at most `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsQuery {
    /// The last cycle number already held.
    #[serde(default)]
    pub after: u64,
    /// How many at most.
    pub limit: Option<usize>,
}

/// An account and its balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// The account.
    pub account: AccountId,
    /// The key that signs its withdrawals.
    pub public_key: VerifyingKey,
    /// Its currency.
    pub currency: Currency,
    /// Its balance.
    pub balance: Amount,
    /// How many journal entries it has.
    pub journal_len: u64,
}

/// A merchant and its balances, and the acquirer's bank key that signs its deposit answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantView {
    /// The merchant.
    pub merchant: MerchantId,
    /// The key that signs its deposits.
    pub public_key: VerifyingKey,
    /// One balance per currency credited so far, sorted by currency.
    pub balances: Vec<Amount>,
    /// How many journal entries it has.
    pub journal_len: u64,
    /// The acquirer's bank id, which its deposit answers name.
    pub acquirer: BankId,
    /// The acquirer's bank key, which signs its deposit answers.
    pub acquirer_key: VerifyingKey,
}

/// Where a deposit the acquirer knows stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DepositStatusView {
    /// In a micro-batch, at an issuer or being written.
    InProgress,
    /// Some coins have no answer yet: retry the deposit with the same id.
    Incomplete,
    /// Answered: the answer every retry gets, signed by the acquirer's bank key.
    Done {
        /// The signed answer.
        answer: SignedDepositAnswer,
    },
}

/// A confirmation the clearing house did not count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedClaimView {
    /// The spend-check batch confirmed.
    pub batch_id: BatchId,
    /// The issuer that confirmed it.
    pub issuer: BankId,
    /// The submission that carried it.
    pub submission_id: SubmissionId,
    /// What the clearing house answered.
    pub result: ClaimResult,
}

/// A refund confirmation the clearing house did not settle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedRefundView {
    /// The refund (the digest of the merchant's signed refund body).
    pub refund: Digest,
    /// The issuer that confirmed it.
    pub issuer: BankId,
    /// The submission that carried it.
    pub submission_id: SubmissionId,
    /// What the clearing house answered.
    pub result: ClaimResult,
}

/// Where the acquirer's outbox to the clearing house stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxView {
    /// Confirmations waiting for a submission.
    pub queued: u64,
    /// Submissions stored and not yet answered, oldest first.
    pub pending: Vec<SubmissionId>,
    /// Confirmations the clearing house did not count.
    pub refused: Vec<RefusedClaimView>,
    /// Refund confirmations waiting for a submission.
    pub refunds_queued: u64,
    /// Refund confirmations the clearing house did not settle.
    pub refused_refunds: Vec<RefusedRefundView>,
}

/// The clearing house's open cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleView {
    /// Its number.
    pub sequence: u64,
    /// Its id.
    pub id: CycleId,
    /// When it opened, in Unix milliseconds.
    pub opened_at: Timestamp,
    /// Submissions recorded in it.
    pub submissions: u64,
    /// Confirmations claimed in it.
    pub confirmations: u64,
}

/// The issuer's books of coins it blind-signed (`GET /v1/issuer/issued`), to hold against its
/// signer's counts (SECURITY.md, "The signer").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedView {
    /// Every denomination with a coin issued, in id order.
    pub denominations: Vec<IssuedCountView>,
}

/// One denomination's count in the issuer's books.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCountView {
    /// The denomination.
    pub denomination: DenominationId,
    /// Coins of it blind-signed in recorded withdrawals and swaps, ever.
    pub coins: u64,
}

/// How many denominations the acquirer knows after a refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenominationCountView {
    /// Denominations of every trusted issuer, known now.
    pub denominations: usize,
}

/// The node's liveness and the roles it hosts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthView {
    /// Always `ok` when the node answers.
    pub status: String,
    /// `issuer`, `acquirer`, `clearing`: the roles hosted.
    pub roles: Vec<String>,
}

/// The denomination set as served: the signed set in its JSON form, each denomination with its
/// `id` beside its signed fields. The id is not signed (the signature covers the canonical
/// encoding of the set, whose denominations carry no id): a client recomputes it from the fields
/// and checks it, and a client that ignores it reads the signed set as before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenominationSetView {
    /// The set's fields, each denomination with its id.
    pub body: DenominationSetBodyView,
    /// The issuer master key's signature over the set's canonical encoding.
    pub signature: Signature,
}

/// The fields of a served denomination set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenominationSetBodyView {
    /// The issuer.
    pub issuer: BankId,
    /// Increases with every set the issuer publishes.
    pub sequence: u64,
    /// When the set was published.
    pub issued_at: Timestamp,
    /// The denominations in force or announced ahead, with their ids.
    pub denominations: Vec<DenominationView>,
    /// Denominations that are revoked.
    pub revoked: Vec<DenominationId>,
}

/// A served denomination: its signed fields, and its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenominationView {
    /// The denomination's fields, as signed in the set.
    #[serde(flatten)]
    pub denomination: Denomination,
    /// Its id, as [`Denomination::id`] computes it.
    pub id: DenominationId,
}

impl From<&SignedDenominationSet> for DenominationSetView {
    fn from(set: &SignedDenominationSet) -> Self {
        Self {
            body: DenominationSetBodyView::from(set.body()),
            signature: *set.signature(),
        }
    }
}

/// A set before its signature, as the issuer exports it for the master key: each denomination
/// with its id, for the operator to compare.
impl From<&DenominationSet> for DenominationSetBodyView {
    fn from(set: &DenominationSet) -> Self {
        // Destructured whole, so that a field added to the set cannot be left out of what is
        // served (the signature would no longer verify).
        let DenominationSetFields {
            issuer,
            sequence,
            issued_at,
            denominations,
            revoked,
        } = set.fields();
        Self {
            issuer: *issuer,
            sequence: *sequence,
            issued_at: *issued_at,
            denominations: denominations
                .iter()
                .map(|denomination| DenominationView {
                    denomination: denomination.clone(),
                    id: denomination.id(),
                })
                .collect(),
            revoked: revoked.iter().copied().collect(),
        }
    }
}

/// The keys of each role this node hosts; a role not hosted is absent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysView {
    /// The issuer's keys, if this node is an issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerKeysView>,
    /// The acquirer's key, if this node is an acquirer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquirer: Option<AcquirerKeysView>,
    /// The clearing house's key, if this node is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearing: Option<ClearingKeysView>,
}

/// An issuer's public keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerKeysView {
    /// The issuer's bank id: the `issuer` of its denominations and sets.
    pub bank: BankId,
    /// Signs the denomination sets (`semper/denomination-set`).
    pub master_key: VerifyingKey,
    /// Signs the spend confirmations (`semper/spend-confirmation`) it sends acquirers.
    pub confirmation_key: VerifyingKey,
}

/// An acquirer's public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcquirerKeysView {
    /// The acquirer's bank id: the `acquirer` every deposit permission must name, and the
    /// `acquirer` of its deposit answers.
    pub bank: BankId,
    /// The bank key: signs the deposit answers (`semper/deposit-answer`).
    pub bank_key: VerifyingKey,
}

/// A clearing house's public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearingKeysView {
    /// The clearing house's bank id.
    pub bank: BankId,
    /// Signs the settlement reports (`semper/settlement-report`).
    pub report_key: VerifyingKey,
}
