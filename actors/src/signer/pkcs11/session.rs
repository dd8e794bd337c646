//! The token's sessions: one logged in at start (a PKCS#11 login is the application's, so every
//! session opened after it is logged in too), and a bounded pool of idle ones that concurrent
//! signatures take and give back (a session serves one thread at a time).

use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;

use super::TokenConfig;
use crate::signer::SignerError;

/// Idle sessions kept; more are closed when given back.
const IDLE_MAX: usize = 32;

/// A PKCS#11 failure as a signer error: the token is out of reach or refused, so the signer
/// signs nothing until it answers again.
pub fn token_error(what: &str) -> impl Fn(Error) -> SignerError + '_ {
    move |error| SignerError::Unavailable(format!("token: {what}: {error}"))
}

/// The module, the token's slot, and its sessions.
pub struct Sessions {
    pkcs11: Pkcs11,
    slot: Slot,
    /// Kept open for the life of the signer: closing the last session logs the user out.
    _login: Mutex<Session>,
    idle: Mutex<Vec<Session>>,
}

impl Sessions {
    /// Loads the module, finds the token by its label and logs in with the PIN.
    pub fn open(config: &TokenConfig) -> Result<Self, SignerError> {
        let storage = |what: &str| {
            let what = what.to_owned();
            move |error: Error| SignerError::Storage(format!("token: {what}: {error}"))
        };
        let pkcs11 = Pkcs11::new(&config.module).map_err(storage("loading the module"))?;
        match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            // Another signer in this process initialised the module already.
            Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(error) => return Err(storage("C_Initialize")(error)),
        }
        let mut found = None;
        for slot in pkcs11
            .get_slots_with_initialized_token()
            .map_err(storage("listing slots"))?
        {
            let info = pkcs11.get_token_info(slot).map_err(storage("token info"))?;
            if info.label().trim_end() == config.token_label {
                found = Some(slot);
                break;
            }
        }
        let slot = found.ok_or_else(|| {
            SignerError::Storage(format!("token: no token labelled {:?}", config.token_label))
        })?;
        let login = pkcs11
            .open_rw_session(slot)
            .map_err(storage("opening a session"))?;
        match login.login(UserType::User, Some(&config.pin)) {
            Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            // The PIN itself is never in a message.
            Err(error) => return Err(storage("logging in")(error)),
        }
        Ok(Self {
            pkcs11,
            slot,
            _login: Mutex::new(login),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` on an idle session (or a new one), then gives the session back.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Session) -> Result<T, SignerError>,
    ) -> Result<T, SignerError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let session = match idle {
            Some(session) => session,
            None => self
                .pkcs11
                .open_rw_session(self.slot)
                .map_err(token_error("opening a session"))?,
        };
        let result = f(&session);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_MAX {
            idle.push(session);
        }
        result
    }
}
