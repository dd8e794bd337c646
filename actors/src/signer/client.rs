//! The issuer's side of an out-of-process signer: [`Signer`] over the Unix socket, a request
//! frame and its answer per call, on connections kept open between calls.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use semper_protocol::crypto::blind_rsa::{BlindSignature, BlindedMessage};
use semper_protocol::denomination::{Denomination, DenominationSet, SignedDenominationSet};
use semper_protocol::ids::DenominationId;
use semper_protocol::messages::refund::{RefundConfirmation, SignedRefundConfirmation};
use semper_protocol::messages::spend::{SignedSpendConfirmation, SpendConfirmation};

use super::frame::{Request, Response, read_frame, write_frame};
use super::{DenominationSpec, KeyCount, Signer, SignerError, SignerKeys};

/// Idle connections kept for the next calls.
const IDLE_MAX: usize = 16;
/// How long one call may take: key generation (RSA-3072) is the slowest.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A signer reached at a Unix socket.
pub struct SocketSigner {
    path: PathBuf,
    idle: Mutex<Vec<UnixStream>>,
}

impl SocketSigner {
    /// A signer at `path`; nothing is connected until the first call.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends `request` and returns the answer; an error frame becomes its error.
    pub fn call(&self, request: &Request) -> Result<Response, SignerError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut stream = match idle {
            Some(stream) => stream,
            None => self.connect()?,
        };
        let payload = request.encode();
        let answer = write_frame(&mut stream, &payload).and_then(|()| read_frame(&mut stream));
        let answer = match answer {
            Ok(Some(answer)) => answer,
            // A kept connection the signer closed (it restarted): one fresh try.
            Ok(None) | Err(SignerError::Unavailable(_)) => {
                stream = self.connect()?;
                write_frame(&mut stream, &payload)?;
                read_frame(&mut stream)?
                    .ok_or_else(|| SignerError::Unavailable("the signer closed".into()))?
            }
            Err(error) => return Err(error),
        };
        let response = Response::decode(&answer)?;
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_MAX {
            idle.push(stream);
        }
        match response {
            Response::Error(error) => Err(error),
            other => Ok(other),
        }
    }

    fn connect(&self) -> Result<UnixStream, SignerError> {
        let stream = UnixStream::connect(&self.path).map_err(|error| {
            SignerError::Unavailable(format!("{}: {error}", self.path.display()))
        })?;
        let timeout = Some(CALL_TIMEOUT);
        stream
            .set_read_timeout(timeout)
            .and_then(|()| stream.set_write_timeout(timeout))
            .map_err(|error| SignerError::Unavailable(error.to_string()))?;
        Ok(stream)
    }
}

fn unexpected(response: Response) -> SignerError {
    SignerError::Frame {
        code: "signer.frame.kind",
        message: format!("an unexpected answer: {response:?}"),
    }
}

impl Signer for SocketSigner {
    fn keys(&self) -> Result<SignerKeys, SignerError> {
        match self.call(&Request::Keys)? {
            Response::Keys(keys) => Ok(keys),
            other => Err(unexpected(other)),
        }
    }

    fn create_denomination(&self, spec: &DenominationSpec) -> Result<Denomination, SignerError> {
        match self.call(&Request::Create(spec.clone()))? {
            Response::Created(denomination) => Ok(denomination),
            other => Err(unexpected(other)),
        }
    }

    fn blind_sign(
        &self,
        coins: &[(DenominationId, &BlindedMessage)],
    ) -> Result<Vec<BlindSignature>, SignerError> {
        let request = Request::BlindSign(
            coins
                .iter()
                .map(|(id, blinded)| (*id, (*blinded).clone()))
                .collect(),
        );
        match self.call(&request)? {
            Response::Signatures(signatures) if signatures.len() == coins.len() => Ok(signatures),
            other => Err(unexpected(other)),
        }
    }

    fn sign_confirmation(
        &self,
        confirmation: SpendConfirmation,
    ) -> Result<SignedSpendConfirmation, SignerError> {
        match self.call(&Request::Confirm(confirmation))? {
            Response::Confirmation(signed) => Ok(signed),
            other => Err(unexpected(other)),
        }
    }

    fn sign_refund_confirmation(
        &self,
        confirmation: RefundConfirmation,
    ) -> Result<SignedRefundConfirmation, SignerError> {
        match self.call(&Request::ConfirmRefund(confirmation))? {
            Response::RefundConfirmation(signed) => Ok(signed),
            other => Err(unexpected(other)),
        }
    }

    fn sign_set(&self, set: DenominationSet) -> Result<SignedDenominationSet, SignerError> {
        match self.call(&Request::SignSet(set))? {
            Response::Set(signed) => Ok(signed),
            other => Err(unexpected(other)),
        }
    }

    fn revoke(&self, denomination: DenominationId) -> Result<(), SignerError> {
        match self.call(&Request::Revoke(denomination))? {
            Response::Revoked => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    fn counts(&self) -> Result<Vec<KeyCount>, SignerError> {
        match self.call(&Request::Counts)? {
            Response::Counts(counts) => Ok(counts),
            other => Err(unexpected(other)),
        }
    }
}
