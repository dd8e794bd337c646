//! Every code the three role errors can return, built variant by variant, has a status in the table.

use std::collections::HashSet;

use semper_actors::acquirer::AcquirerError;
use semper_actors::clearing::ClearingError;
use semper_actors::gateway::GatewayError;
use semper_actors::issuer::IssuerError;
use semper_actors::keystore::KeyStoreError;
use semper_actors::offline::OfflineError;
use semper_actors::signer::{SIGNER_CODES, SignerError};
use semper_protocol::acquirer::{DepositRefusal, ReceiptError, SetRefusal};
use semper_protocol::amount::{Amount, AmountError, Currency};
use semper_protocol::clearing::{ParticipantError, SubmissionRefusal};
use semper_protocol::crypto::blind_rsa::RsaError;
use semper_protocol::crypto::ed25519::SignatureError;
use semper_protocol::denomination::DenominationError;
use semper_protocol::denomination_book::DenominationRefusal;
use semper_protocol::ids::BankId;
use semper_protocol::issuer::swap::SwapRefusal;
use semper_protocol::issuer::{BatchRefusal, WithdrawRefusal};
use semper_protocol::messages::read::ReadError;
use semper_protocol::messages::settlement::SettlementError;
use semper_protocol::refund::RefundRefusal;
use semper_protocol::set_succession::SuccessionRefusal;
use semper_storage::StorageError;
use semper_storage::acquirer::merchants::MerchantError;
use semper_storage::acquirer::outbox::OutboxError;
use semper_storage::acquirer::refunds::RefundError;
use semper_storage::clearing::SubmissionRefused;
use semper_storage::ledger::LedgerError;

use super::{STATUS_BY_CODE, lookup};

fn amount_errors() -> Vec<AmountError> {
    let eur = Currency::new("EUR").unwrap();
    let usd = Currency::new("USD").unwrap();
    vec![
        AmountError::UnknownCurrency("XXX".into()),
        AmountError::Malformed("x".into()),
        AmountError::TooPrecise {
            currency: eur,
            allowed: 2,
            found: 3,
        },
        AmountError::Negative,
        AmountError::Overflow,
        AmountError::CurrencyMismatch {
            left: eur,
            right: usd,
        },
    ]
}

fn signature_errors() -> Vec<SignatureError> {
    vec![
        SignatureError::KeyNotOnCurve,
        SignatureError::KeyNotCanonical,
        SignatureError::WeakKey,
        SignatureError::MalformedSignature,
        SignatureError::Invalid,
    ]
}

fn rsa_errors() -> Vec<RsaError> {
    vec![
        RsaError::UnsupportedKey("k".into()),
        RsaError::WrongLength {
            expected: 256,
            found: 1,
        },
        RsaError::OutOfRange,
        RsaError::Invalid,
        RsaError::SigningFault,
        RsaError::Wallet("w".into()),
        RsaError::Backend("b".into()),
    ]
}

fn storage_errors() -> Vec<StorageError> {
    vec![
        StorageError::SchemaTooNew {
            found: 9,
            supported: 1,
        },
        StorageError::WrongRole {
            expected: "issuer",
            found: "acquirer".into(),
        },
        StorageError::Corrupt {
            column: "c",
            reason: "r".into(),
        },
        StorageError::Rocks("r".into()),
        StorageError::Postgres("p".into()),
        StorageError::Unavailable("u".into()),
        StorageError::Conflict("c".into()),
        StorageError::Busy,
        StorageError::Closed,
    ]
}

fn keystore_errors() -> Vec<KeyStoreError> {
    vec![
        KeyStoreError::TooOpen {
            path: "p".into(),
            mode: 0o644,
        },
        KeyStoreError::Invalid { path: "p".into() },
        KeyStoreError::Missing { path: "p".into() },
        KeyStoreError::Io {
            path: "p".into(),
            reason: "r".into(),
        },
    ]
}

fn denomination_refusals() -> Vec<DenominationRefusal> {
    vec![
        DenominationRefusal::Unknown,
        DenominationRefusal::Revoked,
        DenominationRefusal::NotYetValid,
        DenominationRefusal::WithdrawExpired,
        DenominationRefusal::DepositExpired,
    ]
}

fn ledger_errors() -> Vec<LedgerError> {
    let eur = Currency::new("EUR").unwrap();
    let mut errors = vec![
        LedgerError::UnknownAccount,
        LedgerError::AccountExists,
        LedgerError::InsufficientFunds {
            balance: semper_protocol::amount::Amount::zero(eur),
            needed: semper_protocol::amount::Amount::from_minor_units(eur, 1),
        },
        LedgerError::ReferenceReused,
        LedgerError::BadReference,
        LedgerError::RequestIdReused,
    ];
    errors.extend(amount_errors().into_iter().map(LedgerError::Amount));
    errors
}

fn issuer_codes() -> Vec<&'static str> {
    let mut errors = vec![
        IssuerError::Busy,
        IssuerError::Stopped,
        IssuerError::UnknownDenomination,
        IssuerError::TooManyDenominations,
        IssuerError::KeyGeneration("k".into()),
        IssuerError::Withdraw(WithdrawRefusal::NoCoins),
        IssuerError::Batch(BatchRefusal::UnknownAcquirer),
        IssuerError::Batch(BatchRefusal::BatchIdReused),
        IssuerError::SwapRequestIdReused,
        IssuerError::Swap(SwapRefusal::NoCoins),
        IssuerError::Swap(SwapRefusal::WrongRequest { index: 0 }),
        IssuerError::Swap(SwapRefusal::DuplicateCoin { index: 0 }),
        IssuerError::Swap(SwapRefusal::WrongIssuer { index: 0 }),
        IssuerError::Swap(SwapRefusal::CoinKeySignature {
            index: 0,
            error: SignatureError::Invalid,
        }),
        IssuerError::Swap(SwapRefusal::Unbalanced {
            inputs_less_fees: Amount::zero(Currency::new("EUR").unwrap()),
            outputs: Amount::zero(Currency::new("EUR").unwrap()),
        }),
    ];
    for error in signature_errors() {
        errors.push(IssuerError::Withdraw(WithdrawRefusal::AccountSignature(
            error,
        )));
        errors.push(IssuerError::Batch(BatchRefusal::AcquirerSignature(error)));
    }
    for refusal in denomination_refusals() {
        errors.push(IssuerError::Withdraw(WithdrawRefusal::Denomination {
            index: 0,
            refusal,
        }));
    }
    for error in rsa_errors() {
        errors.push(IssuerError::Withdraw(WithdrawRefusal::BlindedCoin {
            index: 0,
            error,
        }));
    }
    for error in amount_errors() {
        errors.push(IssuerError::Withdraw(WithdrawRefusal::Amount(error)));
    }
    errors.extend(ledger_errors().into_iter().map(IssuerError::Ledger));
    errors.extend(
        [
            DenominationError::ZeroValue,
            DenominationError::WindowsOutOfOrder,
            DenominationError::ForeignDenomination,
            DenominationError::Duplicate,
        ]
        .into_iter()
        .map(IssuerError::Denomination),
    );
    errors.extend(keystore_errors().into_iter().map(IssuerError::KeyStore));
    let id = semper_protocol::ids::DenominationId([1; 32]);
    errors.extend([
        IssuerError::Unpublished,
        IssuerError::MasterOffline,
        IssuerError::SetSignature(SignatureError::Invalid),
        IssuerError::SetUnknownDenomination(id),
        IssuerError::StoredSetSignature(SignatureError::Invalid),
    ]);
    let refusals = [
        SuccessionRefusal::WrongIssuer {
            expected: BankId([1; 16]),
            found: BankId([2; 16]),
        },
        SuccessionRefusal::NotNewer {
            previous: 2,
            found: 1,
        },
        SuccessionRefusal::DropsDenomination(id),
        SuccessionRefusal::Unrevokes(id),
        SuccessionRefusal::RevokesUnlisted(id),
    ];
    errors.extend(refusals.iter().cloned().map(IssuerError::SetRefused));
    errors.extend(
        [
            OfflineError::NoKey { dir: "d".into() },
            OfflineError::KeyExists { dir: "d".into() },
            OfflineError::UnknownDenomination(id),
            OfflineError::NothingSigned,
            OfflineError::Record {
                path: "p".into(),
                reason: "r".into(),
            },
        ]
        .into_iter()
        .chain(refusals.into_iter().map(OfflineError::Refused))
        .map(IssuerError::LocalMaster),
    );
    errors.extend(recoup_errors());
    errors.extend(signer_errors().into_iter().map(IssuerError::Signer));
    errors.extend(storage_errors().into_iter().map(IssuerError::from));
    errors.extend(storage_errors().into_iter().map(IssuerError::Storage));
    errors.iter().map(IssuerError::code).collect()
}

/// One of each recoup refusal, and the recoup's own issuer errors.
fn recoup_errors() -> Vec<IssuerError> {
    use semper_protocol::issuer::recoup::RecoupRefusal;
    let id = semper_protocol::ids::DenominationId([1; 32]);
    let mut refusals = vec![
        RecoupRefusal::WrongAccount,
        RecoupRefusal::UnknownWithdrawal,
        RecoupRefusal::WrongWithdrawal,
        RecoupRefusal::BadIndex { index: 2, count: 1 },
        RecoupRefusal::UnknownDenomination,
        RecoupRefusal::WrongIssuer,
        RecoupRefusal::NotRevoked(id),
        RecoupRefusal::NotWithdrawn(0),
    ];
    for error in signature_errors() {
        refusals.push(RecoupRefusal::AccountSignature(error));
        refusals.push(RecoupRefusal::CoinKeySignature(error));
    }
    for error in rsa_errors() {
        refusals.push(RecoupRefusal::Blinding(error.clone()));
        refusals.push(RecoupRefusal::Coin(
            semper_protocol::messages::coin::CoinError::Signature(error),
        ));
    }
    let mut errors: Vec<IssuerError> = refusals.into_iter().map(IssuerError::Recoup).collect();
    errors.push(IssuerError::RecoupSlotRecouped);
    errors
}

/// One of each signer error; checked against the signer's own list of its codes.
fn signer_errors() -> Vec<SignerError> {
    let frame = |code| SignerError::Frame {
        code,
        message: String::new(),
    };
    let errors = vec![
        SignerError::Unavailable(String::new()),
        SignerError::RateLimited,
        SignerError::UnknownKey { index: 0 },
        SignerError::OutsideWindow { index: 0 },
        SignerError::Revoked { index: 0 },
        SignerError::BadBlindedMessage {
            index: 0,
            error: semper_protocol::crypto::blind_rsa::RsaError::OutOfRange,
        },
        SignerError::Refused(String::new()),
        frame("signer.frame.too_large"),
        frame("signer.frame.version"),
        frame("signer.frame.kind"),
        frame("signer.frame.malformed"),
        SignerError::Storage(String::new()),
    ];
    let codes: Vec<_> = errors.iter().map(SignerError::code).collect();
    assert_eq!(codes, SIGNER_CODES);
    errors
}

fn merchant_errors() -> Vec<MerchantError> {
    let mut errors = vec![
        MerchantError::UnknownMerchant,
        MerchantError::MerchantExists,
        MerchantError::DepositIdReused,
        MerchantError::TooManyCurrencies,
        MerchantError::TooManyCoins,
    ];
    errors.extend(amount_errors().into_iter().map(MerchantError::Amount));
    errors
}

fn acquirer_codes() -> Vec<&'static str> {
    let mut errors = vec![
        AcquirerError::Busy,
        AcquirerError::Stopped,
        AcquirerError::CoinInFlight,
        AcquirerError::Incomplete {
            code: "deposit.unanswered".into(),
        },
        AcquirerError::UnknownIssuer(BankId([1; 16])),
        AcquirerError::Gateway(GatewayError::retryable("link.timeout", "t")),
        AcquirerError::SubmissionsPending,
        AcquirerError::Config("c".into()),
        AcquirerError::Deposit(DepositRefusal::NoCoins),
        AcquirerError::Deposit(DepositRefusal::WrongMerchant { index: 0 }),
        AcquirerError::Deposit(DepositRefusal::WrongAcquirer { index: 0 }),
        AcquirerError::Deposit(DepositRefusal::DuplicateCoin { index: 0 }),
        AcquirerError::DenominationSet(SetRefusal::WrongIssuer),
        AcquirerError::Receipt(ReceiptError::WrongSubmission),
        AcquirerError::Receipt(ReceiptError::WrongCount {
            expected: 1,
            found: 2,
        }),
        AcquirerError::Outbox(OutboxError::OutboxChanged),
        AcquirerError::Outbox(OutboxError::SubmissionExists),
        AcquirerError::Outbox(OutboxError::UnknownSubmission),
    ];
    for refusal in [
        RefundRefusal::Signature(SignatureError::Invalid),
        RefundRefusal::UnknownCoin,
        RefundRefusal::WrongContract,
        RefundRefusal::WrongPermission,
        RefundRefusal::DeadlinePassed,
        RefundRefusal::BadAmount,
        RefundRefusal::OverPaid,
        RefundRefusal::IdReused,
    ] {
        errors.push(AcquirerError::Refund(RefundError::Refused(refusal)));
    }
    for error in merchant_errors() {
        errors.push(AcquirerError::Refund(RefundError::Merchant(error)));
    }
    for error in signature_errors() {
        errors.push(AcquirerError::Deposit(DepositRefusal::MerchantSignature(
            error,
        )));
        errors.push(AcquirerError::DenominationSet(SetRefusal::Signature(error)));
        errors.push(AcquirerError::Receipt(ReceiptError::Signature(error)));
    }
    for error in amount_errors() {
        errors.push(AcquirerError::Deposit(DepositRefusal::Amount(error)));
    }
    errors.extend(merchant_errors().into_iter().map(AcquirerError::Merchant));
    errors.extend(keystore_errors().into_iter().map(AcquirerError::KeyStore));
    errors.extend(storage_errors().into_iter().map(AcquirerError::from));
    errors.extend(storage_errors().into_iter().map(AcquirerError::Storage));
    errors.iter().map(AcquirerError::code).collect()
}

fn clearing_codes() -> Vec<&'static str> {
    let mut errors = vec![
        ClearingError::Busy,
        ClearingError::Stopped,
        ClearingError::AlreadyCut,
        ClearingError::NotLeader,
        ClearingError::Pool("p".into()),
        ClearingError::Submission(SubmissionRefusal::UnknownAcquirer),
        ClearingError::Submission(SubmissionRefusal::TooManyEntries { entries: 1 }),
        ClearingError::Record(SubmissionRefused::IdReused),
        ClearingError::Record(SubmissionRefused::CycleFull { cycle: 1 }),
        ClearingError::Participants(ParticipantError::Duplicate(BankId([1; 16]))),
    ];
    for error in signature_errors() {
        errors.push(ClearingError::Submission(
            SubmissionRefusal::AcquirerSignature(error),
        ));
    }
    errors.extend(
        [
            SettlementError::ObligationsNotCanonical,
            SettlementError::Overflow,
            SettlementError::PositionsMismatch,
            SettlementError::TooLarge,
        ]
        .into_iter()
        .map(ClearingError::Settlement),
    );
    errors.extend(keystore_errors().into_iter().map(ClearingError::KeyStore));
    errors.extend(storage_errors().into_iter().map(ClearingError::from));
    errors.extend(storage_errors().into_iter().map(ClearingError::Storage));
    errors.iter().map(ClearingError::code).collect()
}

/// Every refusal of a signed read: answered with its own code.
fn read_codes() -> Vec<&'static str> {
    [
        ReadError::WrongTarget,
        ReadError::Stale { at: 0, skew_ms: 0 },
        ReadError::Signature(SignatureError::Invalid),
    ]
    .iter()
    .map(ReadError::code)
    .collect()
}

#[test]
fn http_every_role_error_code_has_a_status() {
    let codes: Vec<&str> = issuer_codes()
        .into_iter()
        .chain(acquirer_codes())
        .chain(clearing_codes())
        .chain(read_codes())
        .collect();
    let missing: Vec<&str> = codes
        .iter()
        .copied()
        .filter(|code| lookup(code).is_none())
        .collect();
    assert_eq!(missing, Vec::<&str>::new(), "codes without an HTTP status");
}

#[test]
fn http_status_table_lists_each_code_once() {
    let mut seen = HashSet::new();
    for (code, status) in STATUS_BY_CODE {
        assert!(seen.insert(*code), "{code} listed twice");
        assert!(
            lookup(code).is_some(),
            "{code} has an invalid status {status}"
        );
    }
}
