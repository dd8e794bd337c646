//! Opening an account: the request is signed by the account key it registers, so that no one can
//! open an account under a key they do not hold.

use serde::{Deserialize, Serialize};

use crate::amount::Currency;
use crate::codec_struct;
use crate::crypto::ed25519::{SignatureError, VerifyingKey};
use crate::ids::AccountId;
use crate::signed::Signed;

/// An account opening, signed by the key it registers: see [`SignedOpenAccount`]. No timestamp:
/// opening the same account with the same key again is a replay the issuer answers as such, so a
/// captured request grants nothing new.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAccountRequest {
    /// The account to open.
    pub account: AccountId,
    /// The key that will sign its withdrawals, and that signs this request.
    pub public_key: VerifyingKey,
    /// Its currency.
    pub currency: Currency,
}

codec_struct!(message "semper/open-account" v 1, OpenAccountRequest {
    account,
    public_key,
    currency
});

/// An account opening with the signature of the key it registers.
pub type SignedOpenAccount = Signed<OpenAccountRequest>;

impl Signed<OpenAccountRequest> {
    /// Checks the proof of possession: the key registered signed the request.
    pub fn verify_own_key(&self) -> Result<(), SignatureError> {
        self.verify(&self.body().public_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Decode, Encode};
    use crate::crypto::ed25519::SigningKey;

    /// The encoding a specification describes, byte for byte, and the proof of possession.
    #[test]
    fn open_account_known_answer_and_proof_of_possession() {
        let key = SigningKey::from_seed(&[3; 32]);
        let body = OpenAccountRequest {
            account: AccountId([1; 16]),
            public_key: *key.verifying_key(),
            currency: Currency::new("EUR").unwrap(),
        };
        let expected: String = <[&str]>::concat(&[
            "13",
            &hex::encode("semper/open-account"),
            "01",
            &"01".repeat(16),
            &hex::encode(key.verifying_key().as_bytes()),
            &hex::encode("EUR"),
        ]);
        assert_eq!(hex::encode(body.to_bytes()), expected);
        assert_eq!(
            OpenAccountRequest::from_bytes(&body.to_bytes()).unwrap(),
            body
        );
        let signed = Signed::sign(body.clone(), &key);
        signed.verify_own_key().unwrap();
        // Signed by someone else for this key: no proof that the caller holds it.
        let stranger = Signed::sign(body, &SigningKey::from_seed(&[4; 32]));
        assert_eq!(
            stranger.verify_own_key().unwrap_err().code(),
            "ed25519.invalid_signature"
        );
    }
}
