//! A coin: a denomination, the coin's Ed25519 public key and the issuer's RSA signature over both.

use serde::{Deserialize, Serialize};

use crate::codec::Encode;
use crate::codec_struct;
use crate::crypto::blind_rsa::{RsaError, RsaSignature};
use crate::crypto::ed25519::VerifyingKey;
use crate::denomination::Denomination;
use crate::ids::DenominationId;

/// A coin. Whoever holds the secret of `public_key` can spend it, once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coin {
    /// The denomination it was signed under.
    pub denomination: DenominationId,
    /// The coin's key, which signs the deposit permission.
    pub public_key: VerifyingKey,
    /// The issuer's RSA-PSS signature over [`CoinMessage`].
    pub signature: RsaSignature,
}

codec_struct!(Coin {
    denomination,
    public_key,
    signature
});

/// What the issuer blind-signs for a coin: the domain tag, the denomination id and the coin key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoinMessage {
    /// The denomination.
    pub denomination: DenominationId,
    /// The coin's key.
    pub public_key: VerifyingKey,
}

codec_struct!(message "semper/coin" v 1, CoinMessage {
    denomination,
    public_key
});

/// Why a coin was refused. Each variant has a stable [`CoinError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoinError {
    /// The coin names another denomination than the one it was checked against.
    #[error("coin is of another denomination")]
    WrongDenomination,
    /// The issuer's signature does not verify.
    #[error("coin signature: {0}")]
    Signature(#[from] RsaError),
}

impl CoinError {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongDenomination => "coin.wrong_denomination",
            Self::Signature(e) => e.code(),
        }
    }
}

impl Coin {
    /// The bytes the issuer signs for this coin.
    pub fn message(&self) -> Vec<u8> {
        Self::message_for(self.denomination, self.public_key)
    }

    /// The bytes the issuer signs for a coin of `denomination` with `public_key`.
    pub fn message_for(denomination: DenominationId, public_key: VerifyingKey) -> Vec<u8> {
        CoinMessage {
            denomination,
            public_key,
        }
        .to_bytes()
    }

    /// Checks the issuer's signature with OpenSSL (the hot path).
    pub fn verify(&self, denomination: &Denomination) -> Result<(), CoinError> {
        if denomination.id() != self.denomination {
            return Err(CoinError::WrongDenomination);
        }
        denomination
            .public_key()
            .verify(&self.message(), &self.signature)?;
        Ok(())
    }
}
