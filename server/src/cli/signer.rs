//! `semper signer`: an issuer's signer as its own process (SECURITY.md, "The signer").
//!
//! - `semper signer run --dir DIR --socket PATH`: keys and journal under DIR (owner-only), the
//!   socket owner-only at PATH; the issuer's `banks.issuer.signer_socket` names PATH. With
//!   `--socket-group GID` the socket is the group's too (0660), for an issuer that runs as
//!   another user in that group.
//! - `... --pkcs11-module LIB --token-label LABEL`: the keys in a PKCS#11 token instead (an
//!   HSM), logged in with the user PIN read from `--pin-file` or `SEMPER_SIGNER_PIN` (never
//!   logged); DIR keeps only the journal.
//! - `semper signer counts --socket PATH`: the operator's read of the journal's counts: the
//!   blind signatures each denomination key has made, ever. `--journal PATH` reads them from the
//!   journal file instead, read only: the in-process signer's too, or an auditor's copy.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use semper_actors::clock::{Clock, SystemClock};
use semper_actors::signer::backend::KeyBackend;
use semper_actors::signer::file::JOURNAL_FILE;
use semper_actors::signer::journal;
use semper_actors::signer::{
    FileSigner, KeySigner, Signer, SignerLimits, SocketSigner, TokenConfig, TokenSigner, server,
};

/// The environment variable the token's user PIN may come from.
const PIN_ENV: &str = "SEMPER_SIGNER_PIN";

/// How often the signer destroys the keys whose window has closed, even when nobody asks it.
const DESTROY_CHECK: Duration = Duration::from_secs(10);

/// `semper signer`'s commands.
#[derive(Args)]
pub struct SignerArgs {
    #[command(subcommand)]
    command: SignerCommand,
}

#[derive(Subcommand)]
enum SignerCommand {
    /// Run the signer: serve its socket until killed.
    Run(RunArgs),
    /// Print the signature count of every denomination key of a running signer.
    Counts(CountsArgs),
}

#[derive(Args)]
struct RunArgs {
    /// The signer's key directory: its keys and its journal (created owner-only).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The Unix socket to serve (made owner-only).
    #[arg(long, value_name = "PATH")]
    socket: PathBuf,
    /// Open the socket to this group too (mode 0660, given the group): the issuer runs as
    /// another user in it. The signer must be in the group.
    #[arg(long, value_name = "GID")]
    socket_group: Option<u32>,
    /// Blind signatures a second, sustained; beyond it, signer.rate_limited (HTTP 503).
    #[arg(long, value_name = "N", default_value_t = SignerLimits::default().signatures_per_s)]
    signatures_per_s: u32,
    /// Blind signatures at once from a full bucket.
    #[arg(long, value_name = "N", default_value_t = SignerLimits::default().signatures_burst)]
    signatures_burst: u32,
    /// Keep the keys in a PKCS#11 token: its module (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long, value_name = "LIB", requires = "token_label")]
    pkcs11_module: Option<PathBuf>,
    /// The token's label.
    #[arg(long, value_name = "LABEL", requires = "pkcs11_module")]
    token_label: Option<String>,
    /// A file holding the token's user PIN (else SEMPER_SIGNER_PIN).
    #[arg(long, value_name = "PATH", requires = "pkcs11_module")]
    pin_file: Option<PathBuf>,
}

impl RunArgs {
    /// The token to keep the keys in, if one is named.
    fn token(&self) -> anyhow::Result<Option<TokenConfig>> {
        let (Some(module), Some(label)) = (&self.pkcs11_module, &self.token_label) else {
            return Ok(None);
        };
        let pin = match &self.pin_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the PIN file {}", path.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
            None => std::env::var(PIN_ENV)
                .with_context(|| format!("a token needs --pin-file or {PIN_ENV}"))?,
        };
        Ok(Some(TokenConfig {
            module: module.clone(),
            token_label: label.clone(),
            pin: pin.into(),
        }))
    }
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct CountsArgs {
    /// Ask the running signer at this socket.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Read this journal file itself (`signer.journal` in the signer's directory, or the
    /// issuer's `keys/` when it signs in process; a copy will do): read only, the signer running
    /// or not.
    #[arg(long, value_name = "PATH")]
    journal: Option<PathBuf>,
}

/// Runs `semper signer`.
pub fn signer(args: SignerArgs) -> anyhow::Result<()> {
    match args.command {
        SignerCommand::Run(args) => run(args),
        SignerCommand::Counts(args) => counts(args),
    }
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let limits = SignerLimits {
        signatures_per_s: args.signatures_per_s,
        signatures_burst: args.signatures_burst,
        ..SignerLimits::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let opening = || format!("opening the signer in {}", args.dir.display());
    match args.token()? {
        None => {
            let signer =
                FileSigner::open(&args.dir, clock.clone(), limits).with_context(opening)?;
            serve(&args, Arc::new(signer), clock)
        }
        Some(token) => {
            std::fs::create_dir_all(&args.dir).with_context(opening)?;
            let journal = args.dir.join(JOURNAL_FILE);
            let signer = TokenSigner::open_token(&token, &journal, clock.clone(), limits)
                .with_context(opening)?;
            drop(token);
            serve(&args, Arc::new(signer), clock)
        }
    }
}

/// Binds the socket, destroys closed keys every [`DESTROY_CHECK`], and serves until killed.
fn serve<B: KeyBackend + 'static>(
    args: &RunArgs,
    signer: Arc<KeySigner<B>>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<()> {
    let listener = match args.socket_group {
        None => server::bind(&args.socket),
        Some(gid) => server::bind_for_group(&args.socket, gid),
    }
    .with_context(|| format!("binding {}", args.socket.display()))?;
    let destroyer = signer.clone();
    std::thread::Builder::new()
        .name("signer-destroy".into())
        .spawn(move || {
            loop {
                if let Err(error) = destroyer.destroy_closed(clock.now()) {
                    eprintln!("signer: destroying closed keys failed: {error}");
                }
                std::thread::sleep(DESTROY_CHECK);
            }
        })?;
    println!("signer: serving {}", args.socket.display());
    std::io::stdout().flush()?;
    server::serve(listener, signer).context("serving the socket")?;
    Ok(())
}

fn counts(args: CountsArgs) -> anyhow::Result<()> {
    let counts = match (&args.socket, &args.journal) {
        (Some(socket), _) => SocketSigner::new(socket).counts()?,
        (None, Some(path)) => journal::counts(path)?,
        (None, None) => anyhow::bail!("give --socket or --journal"),
    };
    println!("denomination                                                     signatures  state");
    for count in counts {
        let state = match (count.revoked, count.destroyed) {
            (true, _) => "revoked",
            (false, true) => "destroyed",
            (false, false) => "signing",
        };
        println!("{}  {:>10}  {state}", count.denomination, count.signatures);
    }
    Ok(())
}
