//! The signer's wire protocol over its Unix socket: one request frame, one response frame.
//!
//! A frame is a `u32` big-endian length, then that many bytes: a version byte ([`VERSION`]), a
//! kind byte, and the body in semper's canonical encoding. A frame longer than
//! [`FRAME_MAX_BYTES`] is refused before it is read (and the connection closed: it cannot be
//! skipped safely); a wrong version, an unknown kind or a body that does not decode is answered
//! with an error frame naming it (`signer.frame.*`), and the connection goes on.

use std::io::{Read, Write};

use semper_protocol::amount::Amount;
use semper_protocol::codec::{Decode, Encode, Reader, Writer};
use semper_protocol::crypto::blind_rsa::{BlindSignature, BlindedMessage, RsaError, RsaKeySize};
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::denomination::{Denomination, DenominationFees};
use semper_protocol::ids::{BankId, DenominationId};
use semper_protocol::limits::WITHDRAW_COINS_MAX;
use semper_protocol::messages::refund::{RefundConfirmation, SignedRefundConfirmation};
use semper_protocol::messages::spend::{SignedSpendConfirmation, SpendConfirmation};
use semper_protocol::time::Timestamp;

use super::{DenominationSpec, KeyCount, SignerError, SignerKeys};

/// The protocol version this build speaks, and the only one it accepts.
pub const VERSION: u8 = 1;
/// The largest frame either side reads: a signed set of the most denominations fits.
pub const FRAME_MAX_BYTES: usize = 4 * 1024 * 1024;
/// The most keys a counts answer lists.
const COUNTS_MAX: usize = 1 << 20;
/// An error frame's kind.
const ERROR_KIND: u8 = 0xff;
/// No coin index in an error frame.
const NO_INDEX: u32 = u32::MAX;

/// What the issuer asks of the signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The public keys.
    Keys,
    /// A new denomination key.
    Create(DenominationSpec),
    /// Blind signatures for one withdrawal.
    BlindSign(Vec<(DenominationId, BlindedMessage)>),
    /// A spend confirmation to sign.
    Confirm(SpendConfirmation),
    /// A revocation.
    Revoke(DenominationId),
    /// The signature counts.
    Counts,
    /// A refund confirmation to sign.
    ConfirmRefund(RefundConfirmation),
}

impl Request {
    /// The request's kind, for metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Keys => "keys",
            Self::Create(_) => "create",
            Self::BlindSign(_) => "blind_sign",
            Self::Confirm(_) => "confirm",
            Self::Revoke(_) => "revoke",
            Self::Counts => "counts",
            Self::ConfirmRefund(_) => "confirm_refund",
        }
    }
}

/// What the signer answers. One is made per call, and moved once: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// The public keys.
    Keys(SignerKeys),
    /// The new denomination.
    Created(Denomination),
    /// The blind signatures, in order.
    Signatures(Vec<BlindSignature>),
    /// The signed confirmation.
    Confirmation(SignedSpendConfirmation),
    /// The key is revoked.
    Revoked,
    /// The counts.
    Counts(Vec<KeyCount>),
    /// The signed refund confirmation.
    RefundConfirmation(SignedRefundConfirmation),
    /// A refusal or failure.
    Error(SignerError),
}

/// Reads one frame's payload; `None` at a clean end of stream before a frame.
pub fn read_frame(stream: &mut impl Read) -> Result<Option<Vec<u8>>, SignerError> {
    let mut header = [0u8; 4];
    match stream.read_exact(&mut header) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(SignerError::Unavailable(error.to_string())),
    }
    let len = u32::from_be_bytes(header) as usize;
    if len > FRAME_MAX_BYTES {
        return Err(SignerError::Frame {
            code: "signer.frame.too_large",
            message: format!("a frame of {len} bytes; at most {FRAME_MAX_BYTES}"),
        });
    }
    let mut payload = vec![0u8; len];
    stream
        .read_exact(&mut payload)
        .map_err(|error| SignerError::Unavailable(error.to_string()))?;
    Ok(Some(payload))
}

/// Writes one frame.
pub fn write_frame(stream: &mut impl Write, payload: &[u8]) -> Result<(), SignerError> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|len| *len as usize <= FRAME_MAX_BYTES)
        .ok_or_else(|| SignerError::Frame {
            code: "signer.frame.too_large",
            message: format!("a frame of {} bytes", payload.len()),
        })?;
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream
        .write_all(&frame)
        .map_err(|error| SignerError::Unavailable(error.to_string()))
}

fn malformed(error: impl std::fmt::Display) -> SignerError {
    SignerError::Frame {
        code: "signer.frame.malformed",
        message: error.to_string(),
    }
}

/// The version and kind of a payload, and the body's reader.
fn open(payload: &[u8]) -> Result<(u8, Reader<'_>), SignerError> {
    let mut reader = Reader::new(payload);
    let version = reader.u8("version").map_err(malformed)?;
    if version != VERSION {
        return Err(SignerError::Frame {
            code: "signer.frame.version",
            message: format!("version {version}; this signer speaks {VERSION}"),
        });
    }
    let kind = reader.u8("kind").map_err(malformed)?;
    Ok((kind, reader))
}

fn start(kind: u8) -> Writer {
    let mut writer = Writer::new();
    writer.u8(VERSION);
    writer.u8(kind);
    writer
}

impl Request {
    /// The payload of this request's frame.
    pub fn encode(&self) -> Vec<u8> {
        let writer = match self {
            Self::Keys => start(1),
            Self::Create(spec) => {
                let mut writer = start(2);
                spec.issuer.encode_to(&mut writer);
                spec.value.encode_to(&mut writer);
                writer.u32(spec.key_size.bits());
                spec.valid_from.encode_to(&mut writer);
                spec.withdraw_until.encode_to(&mut writer);
                spec.deposit_until.encode_to(&mut writer);
                spec.retain_until.encode_to(&mut writer);
                spec.fees.encode_to(&mut writer);
                writer
            }
            Self::BlindSign(coins) => {
                let mut writer = start(3);
                writer.u32(coins.len() as u32);
                for (id, blinded) in coins {
                    id.encode_to(&mut writer);
                    blinded.encode_to(&mut writer);
                }
                writer
            }
            Self::Confirm(confirmation) => {
                let mut writer = start(4);
                confirmation.encode_to(&mut writer);
                writer
            }
            Self::Revoke(id) => {
                let mut writer = start(6);
                id.encode_to(&mut writer);
                writer
            }
            Self::Counts => start(7),
            Self::ConfirmRefund(confirmation) => {
                let mut writer = start(8);
                confirmation.encode_to(&mut writer);
                writer
            }
        };
        writer.into_bytes()
    }

    /// Parses a request frame's payload, validating its version, kind and body.
    pub fn decode(payload: &[u8]) -> Result<Self, SignerError> {
        let (kind, mut reader) = open(payload)?;
        let request = match kind {
            1 => Self::Keys,
            2 => {
                let issuer = BankId::decode_from(&mut reader).map_err(malformed)?;
                let value = Amount::decode_from(&mut reader).map_err(malformed)?;
                let bits = reader.u32("key_size").map_err(malformed)?;
                let key_size = RsaKeySize::from_bits(bits)
                    .ok_or_else(|| malformed(format!("no {bits}-bit RSA keys")))?;
                let mut time = || Timestamp::decode_from(&mut reader).map_err(malformed);
                let (valid_from, withdraw_until, deposit_until, retain_until) =
                    (time()?, time()?, time()?, time()?);
                Self::Create(DenominationSpec {
                    issuer,
                    value,
                    key_size,
                    valid_from,
                    withdraw_until,
                    deposit_until,
                    retain_until,
                    fees: DenominationFees::decode_from(&mut reader).map_err(malformed)?,
                })
            }
            3 => {
                let count = reader.u32("coins").map_err(malformed)? as usize;
                if count == 0 || count > WITHDRAW_COINS_MAX {
                    return Err(malformed(format!(
                        "{count} coins; 1 to {WITHDRAW_COINS_MAX}"
                    )));
                }
                let mut coins = Vec::with_capacity(count);
                for _ in 0..count {
                    let id = DenominationId::decode_from(&mut reader).map_err(malformed)?;
                    let blinded = BlindedMessage::decode_from(&mut reader).map_err(malformed)?;
                    coins.push((id, blinded));
                }
                Self::BlindSign(coins)
            }
            4 => Self::Confirm(SpendConfirmation::decode_from(&mut reader).map_err(malformed)?),
            // Kind 5 asked for a denomination set to be signed: the master key is offline now
            // (`semper offline`), and the kind stays unused.
            6 => Self::Revoke(DenominationId::decode_from(&mut reader).map_err(malformed)?),
            7 => Self::Counts,
            8 => Self::ConfirmRefund(
                RefundConfirmation::decode_from(&mut reader).map_err(malformed)?,
            ),
            other => {
                return Err(SignerError::Frame {
                    code: "signer.frame.kind",
                    message: format!("no request of kind {other}"),
                });
            }
        };
        reader.finish().map_err(malformed)?;
        Ok(request)
    }
}

impl Response {
    /// The payload of this response's frame.
    pub fn encode(&self) -> Vec<u8> {
        let writer = match self {
            Self::Keys(keys) => {
                let mut writer = start(1);
                keys.confirmation.encode_to(&mut writer);
                writer
            }
            Self::Created(denomination) => {
                let mut writer = start(2);
                denomination.encode_to(&mut writer);
                writer
            }
            Self::Signatures(signatures) => {
                let mut writer = start(3);
                writer.list(signatures);
                writer
            }
            Self::Confirmation(signed) => {
                let mut writer = start(4);
                signed.encode_to(&mut writer);
                writer
            }
            Self::Revoked => start(6),
            Self::RefundConfirmation(signed) => {
                let mut writer = start(8);
                signed.encode_to(&mut writer);
                writer
            }
            Self::Counts(counts) => {
                let mut writer = start(7);
                writer.u32(counts.len() as u32);
                for count in counts {
                    count.denomination.encode_to(&mut writer);
                    writer.u64(count.signatures);
                    writer.u8(u8::from(count.revoked) | (u8::from(count.destroyed) << 1));
                }
                writer
            }
            Self::Error(error) => {
                let mut writer = start(ERROR_KIND);
                writer.bytes(error.code().as_bytes());
                // A bad blinded message carries its RSA error's code, so the issuer answers it.
                let message = match error {
                    SignerError::BadBlindedMessage { error, .. } => error.code().to_owned(),
                    other => other.to_string(),
                };
                writer.bytes(message.as_bytes());
                writer.u32(index_of(error).unwrap_or(NO_INDEX));
                writer
            }
        };
        writer.into_bytes()
    }

    /// Parses a response frame's payload.
    pub fn decode(payload: &[u8]) -> Result<Self, SignerError> {
        let (kind, mut reader) = open(payload)?;
        let response = match kind {
            1 => Self::Keys(SignerKeys {
                confirmation: VerifyingKey::decode_from(&mut reader).map_err(malformed)?,
            }),
            2 => Self::Created(Denomination::decode_from(&mut reader).map_err(malformed)?),
            3 => Self::Signatures(
                reader
                    .list(WITHDRAW_COINS_MAX, "signatures")
                    .map_err(malformed)?,
            ),
            4 => Self::Confirmation(
                SignedSpendConfirmation::decode_from(&mut reader).map_err(malformed)?,
            ),
            6 => Self::Revoked,
            8 => Self::RefundConfirmation(
                SignedRefundConfirmation::decode_from(&mut reader).map_err(malformed)?,
            ),
            7 => {
                let count = reader.u32("counts").map_err(malformed)? as usize;
                if count > COUNTS_MAX {
                    return Err(malformed("too many counts"));
                }
                let mut counts = Vec::with_capacity(count.min(reader.remaining()));
                for _ in 0..count {
                    let denomination =
                        DenominationId::decode_from(&mut reader).map_err(malformed)?;
                    let signatures = reader.u64("signatures").map_err(malformed)?;
                    let flags = reader.u8("flags").map_err(malformed)?;
                    counts.push(KeyCount {
                        denomination,
                        signatures,
                        revoked: flags & 1 != 0,
                        destroyed: flags & 2 != 0,
                    });
                }
                Self::Counts(counts)
            }
            ERROR_KIND => {
                let code = reader.bytes(256, "code").map_err(malformed)?;
                let code = String::from_utf8_lossy(code).into_owned();
                let message = reader.bytes(4096, "message").map_err(malformed)?;
                let message = String::from_utf8_lossy(message).into_owned();
                let index = reader.u32("index").map_err(malformed)?;
                Self::Error(error_of(&code, message, index))
            }
            other => {
                return Err(SignerError::Frame {
                    code: "signer.frame.kind",
                    message: format!("no response of kind {other}"),
                });
            }
        };
        reader.finish().map_err(malformed)?;
        Ok(response)
    }
}

fn index_of(error: &SignerError) -> Option<u32> {
    match error {
        SignerError::UnknownKey { index }
        | SignerError::OutsideWindow { index }
        | SignerError::Revoked { index }
        | SignerError::BadBlindedMessage { index, .. } => Some(*index),
        _ => None,
    }
}

/// The error an error frame names; an unknown code is the signer's fault, kept as a refusal.
fn error_of(code: &str, message: String, index: u32) -> SignerError {
    match code {
        "signer.unavailable" => SignerError::Unavailable(message),
        "signer.rate_limited" => SignerError::RateLimited,
        "signer.unknown_key" => SignerError::UnknownKey { index },
        "signer.outside_window" => SignerError::OutsideWindow { index },
        "signer.revoked" => SignerError::Revoked { index },
        "signer.bad_blinded_message" => SignerError::BadBlindedMessage {
            index,
            error: rsa_error_of(message),
        },
        "signer.storage" => SignerError::Storage(message),
        "signer.frame.too_large" => frame_error("signer.frame.too_large", message),
        "signer.frame.version" => frame_error("signer.frame.version", message),
        "signer.frame.kind" => frame_error("signer.frame.kind", message),
        "signer.frame.malformed" => frame_error("signer.frame.malformed", message),
        _ => SignerError::Refused(message),
    }
}

/// The RSA error of its code (the lengths of a wrong one are not carried).
fn rsa_error_of(code: String) -> RsaError {
    match code.as_str() {
        "rsa.out_of_range" => RsaError::OutOfRange,
        "rsa.wrong_length" => RsaError::WrongLength {
            expected: 0,
            found: 0,
        },
        "rsa.signing_fault" => RsaError::SigningFault,
        _ => RsaError::Backend(code),
    }
}

fn frame_error(code: &'static str, message: String) -> SignerError {
    SignerError::Frame { code, message }
}
