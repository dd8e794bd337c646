//! The token objects the signer makes and finds: templates, labels, and reading a public key
//! back. Every private key is made in the token, sensitive and never extractable; its public
//! half is read once, from a session object destroyed at once (a denomination carries it).

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use semper_protocol::crypto::blind_rsa::{DenominationPublicKey, PUBLIC_EXPONENT, RsaKeySize};
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::ids::DenominationId;

use super::session::token_error;
use crate::signer::SignerError;

/// The DER of Ed25519's object identifier (1.3.101.112, RFC 8410): the curve of an
/// `CKK_EC_EDWARDS` key.
const ED25519_OID_DER: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
/// The label of a generated key before its denomination is known.
const PENDING_LABEL: &str = "semper-pending";

/// The label of a denomination's private key in the token.
pub fn denomination_label(id: &DenominationId) -> Vec<u8> {
    format!("semper-denomination-{id}").into_bytes()
}

/// The label of an Ed25519 key (`master`, `confirmation`) in the token.
pub fn ed25519_label(name: &str) -> Vec<u8> {
    format!("semper-{name}").into_bytes()
}

/// What every private key of the signer is: in the token for good, usable only after login,
/// never readable or exportable, and for signing only.
fn private_template(label: Vec<u8>) -> Vec<Attribute> {
    vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
        Attribute::Label(label),
    ]
}

/// Makes an RSA key pair in the token; returns the private key (labelled pending) and the
/// public key.
pub fn generate_rsa(
    session: &Session,
    size: RsaKeySize,
) -> Result<(ObjectHandle, DenominationPublicKey), SignerError> {
    let public_template = [
        Attribute::Token(false),
        Attribute::ModulusBits((size.bits() as u64).into()),
        Attribute::PublicExponent(PUBLIC_EXPONENT.to_be_bytes()[1..].to_vec()),
        Attribute::Verify(true),
    ];
    let (public, private) = session
        .generate_key_pair(
            &Mechanism::RsaPkcsKeyPairGen,
            &public_template,
            &private_template(PENDING_LABEL.as_bytes().to_vec()),
        )
        .map_err(token_error("generating an RSA key"))?;
    let read = session.get_attributes(
        public,
        &[AttributeType::Modulus, AttributeType::PublicExponent],
    );
    // The public object only carried the numbers out; the denomination keeps them.
    let _ = session.destroy_object(public);
    let (mut n, mut e) = (None, None);
    for attribute in read.map_err(token_error("reading an RSA public key"))? {
        match attribute {
            Attribute::Modulus(bytes) => n = Some(bytes),
            Attribute::PublicExponent(bytes) => e = Some(bytes),
            _ => {}
        }
    }
    let public = match (n, e) {
        (Some(n), Some(e)) => DenominationPublicKey::from_components(&n, &e)
            .map_err(|e| SignerError::Storage(format!("token: its RSA key: {e}")))?,
        _ => {
            let _ = session.destroy_object(private);
            return Err(SignerError::Storage(
                "token: an RSA key without its modulus".into(),
            ));
        }
    };
    Ok((private, public))
}

/// The Ed25519 key labelled `name`, made in the token the first time: its private key and its
/// public key.
pub fn ed25519_key(
    session: &Session,
    name: &str,
) -> Result<(ObjectHandle, VerifyingKey), SignerError> {
    let label = ed25519_label(name);
    let private = find(session, ObjectClass::PRIVATE_KEY, &label)?;
    let public = find(session, ObjectClass::PUBLIC_KEY, &label)?;
    let (private, public) = match (private.first(), public.first()) {
        (Some(private), Some(public)) => (*private, *public),
        (None, None) => {
            let public_template = [
                Attribute::Token(true),
                Attribute::KeyType(KeyType::EC_EDWARDS),
                Attribute::EcParams(ED25519_OID_DER.to_vec()),
                Attribute::Verify(true),
                Attribute::Label(label.clone()),
            ];
            let (public, private) = session
                .generate_key_pair(
                    &Mechanism::EccEdwardsKeyPairGen,
                    &public_template,
                    &private_template(label),
                )
                .map_err(token_error("generating an Ed25519 key"))?;
            (private, public)
        }
        _ => {
            return Err(SignerError::Storage(format!(
                "token: the {name} key has only one of its halves"
            )));
        }
    };
    let point = session
        .get_attributes(public, &[AttributeType::EcPoint])
        .map_err(token_error("reading an Ed25519 public key"))?;
    let bytes = point.into_iter().find_map(|attribute| match attribute {
        Attribute::EcPoint(bytes) => Some(bytes),
        _ => None,
    });
    // CKA_EC_POINT is the DER OCTET STRING of the 32 bytes (some tokens give them bare).
    let raw = match bytes.as_deref() {
        Some([0x04, 0x20, rest @ ..]) if rest.len() == 32 => rest.to_vec(),
        Some(bare) if bare.len() == 32 => bare.to_vec(),
        _ => {
            return Err(SignerError::Storage(format!(
                "token: the {name} key's public point is not 32 bytes"
            )));
        }
    };
    let mut array = [0u8; 32];
    array.copy_from_slice(&raw);
    let public = VerifyingKey::from_bytes(&array)
        .map_err(|e| SignerError::Storage(format!("token: the {name} key: {e}")))?;
    Ok((private, public))
}

/// Objects of `class` labelled `label`.
pub fn find(
    session: &Session,
    class: ObjectClass,
    label: &[u8],
) -> Result<Vec<ObjectHandle>, SignerError> {
    session
        .find_objects(&[Attribute::Class(class), Attribute::Label(label.to_vec())])
        .map_err(token_error("finding objects"))
}

/// Gives a pending private key its denomination's label.
pub fn label(session: &Session, key: ObjectHandle, id: &DenominationId) -> Result<(), SignerError> {
    session
        .update_attributes(key, &[Attribute::Label(denomination_label(id))])
        .map_err(token_error("labelling a key"))
}
