//! The issuer's side of an out-of-process signer: [`Signer`] over the Unix socket, a request
//! frame and its answer per call, on connections kept open between calls. Each call's round
//! trip and each failure are metrics of the issuer; so are the signer's signature counts, read
//! every [`COUNTS_REFRESH`] (and whenever [`Signer::counts`] is asked).

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use semper_protocol::crypto::blind_rsa::{BlindSignature, BlindedMessage};
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::DenominationId;
use semper_protocol::messages::refund::{RefundConfirmation, SignedRefundConfirmation};
use semper_protocol::messages::spend::{SignedSpendConfirmation, SpendConfirmation};
use semper_protocol::time::Timestamp;

use super::frame::{Request, Response, read_frame, write_frame};
use super::{DenominationSpec, KeyCount, Signer, SignerError, SignerKeys};
use crate::metrics::{SIGNER_CALL_ERRORS, SIGNER_ROUND_TRIP_SECONDS, SIGNER_SIGNATURES};

/// Idle connections kept for the next calls.
const IDLE_MAX: usize = 16;
/// How long one call may take: key generation (RSA-3072) is the slowest.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the issuer reads the signer's counts into its own metrics.
pub const COUNTS_REFRESH: Duration = Duration::from_secs(5);

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

    /// A signer at `path` whose signature counts are read into this process's metrics every
    /// [`COUNTS_REFRESH`], by a thread that stops once the signer is dropped.
    pub fn watched(path: &Path) -> Arc<Self> {
        let signer = Arc::new(Self::new(path));
        let weak: Weak<Self> = Arc::downgrade(&signer);
        let spawned = std::thread::Builder::new()
            .name("signer-counts".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(COUNTS_REFRESH);
                    let Some(signer) = weak.upgrade() else { return };
                    // Unreachable now: the error is counted, and the next tick tries again.
                    let _ = signer.counts();
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "signer: no thread to read its counts into the metrics");
        }
        signer
    }

    /// Sends `request` and returns the answer; an error frame becomes its error. Its round
    /// trip, and its failure if any, are recorded.
    pub fn call(&self, request: &Request) -> Result<Response, SignerError> {
        let started = Instant::now();
        let result = self.call_once(request);
        metrics::histogram!(SIGNER_ROUND_TRIP_SECONDS, "request" => request.name())
            .record(started.elapsed().as_secs_f64());
        if let Err(error) = &result {
            metrics::counter!(SIGNER_CALL_ERRORS, "code" => error.code()).increment(1);
        }
        result
    }

    fn call_once(&self, request: &Request) -> Result<Response, SignerError> {
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

    fn revoke(&self, denomination: DenominationId) -> Result<(), SignerError> {
        match self.call(&Request::Revoke(denomination))? {
            Response::Revoked => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    fn destroy_closed(&self, _now: Timestamp) -> Result<usize, SignerError> {
        // `semper signer` destroys closed keys by its own clock (every 10 s, and before each
        // signature): the issuer's clock has no say over the signer's keys.
        Ok(0)
    }

    fn counts(&self) -> Result<Vec<KeyCount>, SignerError> {
        match self.call(&Request::Counts)? {
            Response::Counts(counts) => {
                // The signer's own counts, as it reports them, in the issuer's metrics.
                for count in &counts {
                    metrics::counter!(SIGNER_SIGNATURES, "denomination" => count.denomination.to_string())
                        .absolute(count.signatures);
                }
                Ok(counts)
            }
            other => Err(unexpected(other)),
        }
    }
}
