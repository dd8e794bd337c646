//! `semper signer`'s socket server: a thread per connection (bounded), each answering one frame
//! after another with the [`Signer`] it serves. Input never panics it: every bad frame gets an
//! error frame, and a frame too large to read closes its connection.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::frame::{Request, Response, read_frame, write_frame};
use super::{Signer, SignerError};

/// Connections served at once; more are answered `signer.unavailable` and closed.
pub const CONNECTIONS_MAX: usize = 64;
/// How long a connection may sit between frames, or within one, before it is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The socket's mode when only the signer's user may connect.
const SOCKET_MODE_OWNER: u32 = 0o600;
/// The socket's mode when its group may connect too (the issuer runs as another user in it).
const SOCKET_MODE_GROUP: u32 = 0o660;

/// Binds the socket at `path`, owner-only (a stale socket file left by a crash is replaced;
/// anything else there is an error).
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    bind_as(path, None)
}

/// Binds the socket at `path` for the group `gid` too: the socket is given that group and
/// mode 0660, so that an issuer running as another user, in that group, may connect, and
/// nobody else. The signer must be in the group (its own primary group is the usual one).
pub fn bind_for_group(path: &Path, gid: u32) -> std::io::Result<UnixListener> {
    bind_as(path, Some(gid))
}

fn bind_as(path: &Path, group: Option<u32>) -> std::io::Result<UnixListener> {
    if let Ok(metadata) = fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !metadata.file_type().is_socket() {
            return Err(std::io::Error::other(format!(
                "{} exists and is not a socket",
                path.display()
            )));
        }
        fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    // Between the bind and the mode the umask decides who may connect: a socket directory
    // that others cannot enter (as config/multibank/deploy.sh makes) closes that window.
    let mode = match group {
        None => SOCKET_MODE_OWNER,
        Some(gid) => {
            std::os::unix::fs::chown(path, None, Some(gid))?;
            SOCKET_MODE_GROUP
        }
    };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(listener)
}

/// Serves `signer` on `listener` until the listener fails.
pub fn serve(listener: UnixListener, signer: Arc<dyn Signer>) -> std::io::Result<()> {
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(%error, "signer: accept failed");
                continue;
            }
        };
        if open.fetch_add(1, Ordering::SeqCst) >= CONNECTIONS_MAX {
            open.fetch_sub(1, Ordering::SeqCst);
            let busy = Response::Error(SignerError::Unavailable("too many connections".into()));
            let _ = write_frame(&mut stream, &busy.encode());
            continue;
        }
        let signer = signer.clone();
        let open = open.clone();
        std::thread::Builder::new()
            .name("signer-conn".into())
            .spawn(move || {
                connection(stream, signer.as_ref());
                open.fetch_sub(1, Ordering::SeqCst);
            })?;
    }
    Ok(())
}

/// Answers one connection's frames until it closes or sends a frame too large to skip.
pub fn connection(mut stream: UnixStream, signer: &dyn Signer) {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    loop {
        let payload = match read_frame(&mut stream) {
            Ok(Some(payload)) => payload,
            Ok(None) => return,
            Err(error @ SignerError::Frame { .. }) => {
                let _ = write_frame(&mut stream, &Response::Error(error).encode());
                return;
            }
            Err(_) => return,
        };
        let response = match Request::decode(&payload) {
            Ok(request) => answer(signer, request),
            Err(error) => Response::Error(error),
        };
        if write_frame(&mut stream, &response.encode()).is_err() {
            return;
        }
    }
}

/// The signer's answer to one request.
pub fn answer(signer: &dyn Signer, request: Request) -> Response {
    let result = match request {
        Request::Keys => signer.keys().map(Response::Keys),
        Request::Create(spec) => signer.create_denomination(&spec).map(Response::Created),
        Request::BlindSign(coins) => {
            let coins: Vec<_> = coins.iter().map(|(id, blinded)| (*id, blinded)).collect();
            signer.blind_sign(&coins).map(Response::Signatures)
        }
        Request::Confirm(confirmation) => signer
            .sign_confirmation(confirmation)
            .map(Response::Confirmation),
        Request::ConfirmRefund(confirmation) => signer
            .sign_refund_confirmation(confirmation)
            .map(Response::RefundConfirmation),
        Request::Revoke(id) => signer.revoke(id).map(|()| Response::Revoked),
        Request::Counts => signer.counts().map(Response::Counts),
    };
    result.unwrap_or_else(Response::Error)
}
