//! How a vector is written: a value's JSON form (as the HTTP API carries it), its canonical
//! encoding, the SHA-256 of that encoding and, for a signed message, the signer and signature.
//! Every value is also decoded back from its encoding and parsed back from its JSON, so a vector
//! is only written for what the code both writes and reads.

use std::fmt::Debug;

use semper_protocol::codec::{Decode, Encode, Message};
use semper_protocol::crypto::hash::sha256;
use semper_protocol::signed::Signed;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::fixtures::Party;

/// Lower-case hex, as in the JSON forms.
pub fn hex_of(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A vector of a value with a JSON form: the form, the encoding and its SHA-256.
pub fn encoded<T>(name: &str, value: &T) -> Value
where
    T: Encode + Decode + Serialize + DeserializeOwned + PartialEq + Debug,
{
    let bytes = value.to_bytes();
    assert_eq!(
        T::from_bytes(&bytes).as_ref(),
        Ok(value),
        "{name}: decodes back"
    );
    let form = serde_json::to_value(value).expect("serializes");
    let parsed: T = serde_json::from_value(form.clone()).expect("parses back");
    assert_eq!(&parsed, value, "{name}: JSON round trip");
    raw(name, form, &bytes)
}

/// A vector of bytes with a given description of the value: for values without a JSON form.
pub fn raw(name: &str, value: Value, bytes: &[u8]) -> Value {
    json!({
        "name": name,
        "value": value,
        "encoding": hex_of(bytes),
        "sha256": hex_of(&sha256(&[bytes])),
    })
}

/// Signs `body` as `signer`, and its vector: [`encoded`]'s fields for the body, then the signer,
/// the signature over the body's encoding and the encoding of the signed message (body ‖ signature).
pub fn signed<T>(name: &str, body: T, signer: &Party) -> (Signed<T>, Value)
where
    T: Message + Encode + Decode + Serialize + DeserializeOwned + PartialEq + Debug + Clone,
{
    let signed = Signed::sign(body, &signer.key);
    signed
        .verify(signer.key.verifying_key())
        .expect("the signature verifies");
    let bytes = signed.to_bytes();
    assert_eq!(
        Signed::<T>::from_bytes(&bytes).as_ref(),
        Ok(&signed),
        "{name}: signed message decodes back"
    );
    let json = serde_json::to_value(&signed).expect("serializes");
    let parsed: Signed<T> = serde_json::from_value(json).expect("parses back");
    assert_eq!(parsed, signed, "{name}: signed JSON round trip");
    let mut vector = encoded(name, signed.body());
    let fields = vector.as_object_mut().expect("a vector is an object");
    fields.insert("signer".into(), signer.name.into());
    fields.insert(
        "signer_public_key".into(),
        hex_of(signer.key.verifying_key().as_bytes()).into(),
    );
    fields.insert("signature".into(), hex_of(&signed.signature().0).into());
    fields.insert("signed_encoding".into(), hex_of(&bytes).into());
    (signed, vector)
}

/// A vector file of one message kind: its domain tag and version, who signs it, and its vectors.
pub fn message_file<T: Message>(
    signed_by: Option<&str>,
    about: &str,
    vectors: Vec<Value>,
) -> Value {
    json!({
        "domain": T::DOMAIN,
        "version": T::VERSION,
        "domain_header": hex_of(&domain_header::<T>()),
        "signed_by": signed_by,
        "about": about,
        "vectors": vectors,
    })
}

/// A vector file of values that are not messages of their own (no domain tag).
pub fn plain_file(about: &str, vectors: Vec<Value>) -> Value {
    json!({
        "domain": null,
        "version": null,
        "domain_header": null,
        "signed_by": null,
        "about": about,
        "vectors": vectors,
    })
}

/// The first bytes of every encoding of `T`: tag length, tag, version.
pub fn domain_header<T: Message>() -> Vec<u8> {
    let mut writer = semper_protocol::codec::Writer::new();
    writer.domain::<T>();
    writer.into_bytes()
}
