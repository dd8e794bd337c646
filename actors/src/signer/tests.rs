//! The signer's rules and its framed protocol, over real key files, a real journal and a real
//! Unix socket.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;

use semper_protocol::crypto::blind_rsa::{BlindedMessage, RsaKeySize};
use semper_protocol::denomination::DenominationFees;
use semper_protocol::ids::{BankId, DenominationId};
use semper_protocol::time::Timestamp;

use super::frame::{FRAME_MAX_BYTES, Request, Response, VERSION, read_frame, write_frame};
use super::server::connection;
use super::*;
use crate::clock::ManualClock;

const HOUR_MS: u64 = 3_600_000;
const T0: u64 = 1_800_000_000_000;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("semper-signer-{name}-{}", rand::random::<u64>()));
        Self(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn spec(from_ms: u64, until_ms: u64) -> DenominationSpec {
    DenominationSpec {
        issuer: BankId([1; 16]),
        value: "EUR:1.00".parse().unwrap(),
        key_size: RsaKeySize::Bits2048,
        valid_from: Timestamp::from_unix_ms(from_ms),
        withdraw_until: Timestamp::from_unix_ms(until_ms),
        deposit_until: Timestamp::from_unix_ms(until_ms + HOUR_MS),
        retain_until: Timestamp::from_unix_ms(until_ms + 2 * HOUR_MS),
        // Not zero, so that the socket signer's frames are seen to carry them.
        fees: DenominationFees {
            withdraw: "EUR:0.01".parse().unwrap(),
            deposit: "EUR:0.02".parse().unwrap(),
            swap: "EUR:0.03".parse().unwrap(),
            refund: "EUR:0.04".parse().unwrap(),
        },
    }
}

/// A blinded message below any 2048-bit modulus.
fn blinded(n: u8) -> BlindedMessage {
    let mut bytes = vec![n; 256];
    bytes[0] = 0;
    BlindedMessage(bytes)
}

fn open(dir: &Dir, clock: &Arc<ManualClock>, limits: SignerLimits) -> FileSigner {
    FileSigner::open(&dir.0, clock.clone(), limits).unwrap()
}

#[test]
fn a_key_signs_only_inside_its_window_never_after_revocation_and_is_destroyed_when_it_closes() {
    let dir = Dir::new("rules");
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_ms(T0)));
    let signer = open(&dir, &clock, SignerLimits::default());
    // One key in force now, one whose window starts in an hour.
    let now = signer.create_denomination(&spec(T0, T0 + HOUR_MS)).unwrap();
    let next = signer
        .create_denomination(&spec(T0 + HOUR_MS, T0 + 2 * HOUR_MS))
        .unwrap();
    let message = blinded(7);
    let signatures = signer
        .blind_sign(&[(now.id(), &message), (now.id(), &message)])
        .unwrap();
    assert_eq!(signatures.len(), 2);

    // Before its window, the next key refuses; a key never made is unknown.
    let refused = signer.blind_sign(&[(now.id(), &message), (next.id(), &message)]);
    assert_eq!(refused, Err(SignerError::OutsideWindow { index: 1 }));
    let unknown = signer.blind_sign(&[(DenominationId([9; 32]), &message)]);
    assert_eq!(unknown, Err(SignerError::UnknownKey { index: 0 }));
    // A window longer than the signer allows is refused whole.
    let too_long = spec(T0, T0 + SignerLimits::default().window_max_ms + 1);
    assert_eq!(
        signer
            .create_denomination(&too_long)
            .map(|_| ())
            .unwrap_err()
            .code(),
        "signer.refused"
    );

    // The window closes: the key is destroyed, file and all, and the next key signs.
    let key_file = dir
        .0
        .join("denominations")
        .join(format!("{}.rsa.der", now.id()));
    assert!(key_file.exists());
    clock.set(Timestamp::from_unix_ms(T0 + HOUR_MS));
    let closed = signer.blind_sign(&[(now.id(), &message)]);
    assert_eq!(closed, Err(SignerError::OutsideWindow { index: 0 }));
    assert!(!key_file.exists(), "the closed key's file is still there");
    signer.blind_sign(&[(next.id(), &message)]).unwrap();

    // Revoked: never again, not even after a restart, and its key is destroyed at once (its
    // window is still open: only the revocation destroys it).
    let next_file = dir
        .0
        .join("denominations")
        .join(format!("{}.rsa.der", next.id()));
    assert!(next_file.exists());
    signer.revoke(next.id()).unwrap();
    assert!(!next_file.exists(), "the revoked key's file is still there");
    assert_eq!(
        signer.blind_sign(&[(next.id(), &message)]),
        Err(SignerError::Revoked { index: 0 })
    );
    drop(signer);
    let signer = open(&dir, &clock, SignerLimits::default());
    assert_eq!(
        signer.blind_sign(&[(next.id(), &message)]),
        Err(SignerError::Revoked { index: 0 })
    );
    let counts = signer.counts().unwrap();
    let of = |id: DenominationId| {
        counts
            .iter()
            .find(|c| c.denomination == id)
            .unwrap()
            .clone()
    };
    assert_eq!((of(now.id()).signatures, of(now.id()).destroyed), (2, true));
    assert_eq!(
        (
            of(next.id()).signatures,
            of(next.id()).revoked,
            of(next.id()).destroyed
        ),
        (1, true, true)
    );
    // The journal file itself, read while the signer runs, says the same.
    let journal = dir.0.join(file::JOURNAL_FILE);
    assert_eq!(journal::counts(&journal).unwrap(), counts);
}

#[test]
fn the_rate_is_bounded_and_counts_survive_a_restart() {
    let dir = Dir::new("rate");
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_ms(T0)));
    let limits = SignerLimits {
        signatures_per_s: 1,
        signatures_burst: 10,
        ..SignerLimits::default()
    };
    let signer = open(&dir, &clock, limits);
    let key = signer.create_denomination(&spec(T0, T0 + HOUR_MS)).unwrap();
    let message = blinded(3);
    let eight: Vec<_> = (0..8).map(|_| (key.id(), &message)).collect();
    signer.blind_sign(&eight).unwrap();
    // Eight more would pass the burst of ten: refused whole, and not counted.
    assert_eq!(signer.blind_sign(&eight), Err(SignerError::RateLimited));
    signer.blind_sign(&eight[..2]).unwrap();
    drop(signer);

    let signer = open(&dir, &clock, limits);
    assert_eq!(signer.counts().unwrap()[0].signatures, 10);
    // The journal has grown by the appends alone: one record per key per batch, three in all.
    let journal = std::fs::read(dir.0.join("signer.journal")).unwrap();
    assert!(!journal.is_empty());
}

/// A socket pair: the signer answers on one end in a thread, the test speaks on the other.
fn serve(dir: &Dir) -> (UnixStream, std::thread::JoinHandle<()>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_ms(T0)));
    let signer = open(dir, &clock, SignerLimits::default());
    let (ours, theirs) = UnixStream::pair().unwrap();
    let thread = std::thread::spawn(move || connection(theirs, &signer));
    (ours, thread)
}

fn ask(stream: &mut UnixStream, payload: &[u8]) -> Response {
    write_frame(stream, payload).unwrap();
    Response::decode(&read_frame(stream).unwrap().unwrap()).unwrap()
}

fn code(response: Response) -> &'static str {
    match response {
        Response::Error(error) => error.code(),
        other => panic!("not an error: {other:?}"),
    }
}

#[test]
fn each_bad_frame_gets_its_error_and_an_oversize_one_closes_the_connection() {
    let dir = Dir::new("frames");
    let (mut stream, thread) = serve(&dir);
    // A good request first.
    assert!(matches!(
        ask(&mut stream, &Request::Keys.encode()),
        Response::Keys(_)
    ));
    // A wrong version.
    let mut wrong_version = Request::Keys.encode();
    wrong_version[0] = VERSION + 1;
    assert_eq!(
        code(ask(&mut stream, &wrong_version)),
        "signer.frame.version"
    );
    // An unknown kind, an empty frame, a truncated body, trailing bytes.
    assert_eq!(code(ask(&mut stream, &[VERSION, 99])), "signer.frame.kind");
    assert_eq!(code(ask(&mut stream, &[])), "signer.frame.malformed");
    let revoke = Request::Revoke(DenominationId([1; 32])).encode();
    assert_eq!(
        code(ask(&mut stream, &revoke[..10])),
        "signer.frame.malformed"
    );
    let mut trailing = Request::Keys.encode();
    trailing.push(0);
    assert_eq!(code(ask(&mut stream, &trailing)), "signer.frame.malformed");
    // A batch of no coins, and one claiming more coins than a withdrawal holds.
    assert_eq!(
        code(ask(&mut stream, &[VERSION, 3, 0, 0, 0, 0])),
        "signer.frame.malformed"
    );
    assert_eq!(
        code(ask(&mut stream, &[VERSION, 3, 0xff, 0xff, 0xff, 0xff])),
        "signer.frame.malformed"
    );
    // The connection still answers after all of them.
    assert!(matches!(
        ask(&mut stream, &Request::Counts.encode()),
        Response::Counts(_)
    ));

    // A header announcing more than the bound: answered, then closed, without reading it.
    let too_large = (FRAME_MAX_BYTES as u32 + 1).to_be_bytes();
    stream.write_all(&too_large).unwrap();
    let answer = Response::decode(&read_frame(&mut stream).unwrap().unwrap()).unwrap();
    assert_eq!(code(answer), "signer.frame.too_large");
    let mut rest = Vec::new();
    assert_eq!(
        stream.read_to_end(&mut rest).unwrap(),
        0,
        "the connection stays open"
    );
    thread.join().unwrap();
}

#[test]
fn every_request_and_response_reads_back_as_written() {
    let requests = [
        Request::Keys,
        Request::Create(spec(T0, T0 + HOUR_MS)),
        Request::BlindSign(vec![(DenominationId([2; 32]), blinded(1))]),
        Request::Revoke(DenominationId([3; 32])),
        Request::Counts,
    ];
    for request in requests {
        assert_eq!(Request::decode(&request.encode()).unwrap(), request);
    }
    let responses = [
        Response::Revoked,
        Response::Counts(vec![KeyCount {
            denomination: DenominationId([4; 32]),
            signatures: 64,
            revoked: false,
            destroyed: true,
        }]),
        Response::Error(SignerError::OutsideWindow { index: 5 }),
        Response::Error(SignerError::RateLimited),
    ];
    for response in responses {
        assert_eq!(Response::decode(&response.encode()).unwrap(), response);
    }
}

/// Bytes of every kind (valid frames cut, flipped and extended, and random ones) never panic the
/// decoders: each is a value or an error.
#[test]
fn no_input_panics_the_frame_decoders() {
    use rand::RngExt as _;
    let mut rng = rand::rng();
    let valid = [
        Request::Create(spec(T0, T0 + HOUR_MS)).encode(),
        Request::BlindSign(vec![(DenominationId([2; 32]), blinded(1)); 3]).encode(),
        Request::Revoke(DenominationId([3; 32])).encode(),
        Response::Counts(vec![KeyCount {
            denomination: DenominationId([4; 32]),
            signatures: 1,
            revoked: true,
            destroyed: false,
        }])
        .encode(),
        Response::Error(SignerError::Revoked { index: 2 }).encode(),
    ];
    for _ in 0..20_000 {
        let mut bytes = valid[rng.random_range(0..valid.len())].clone();
        match rng.random_range(0..4) {
            0 => bytes.truncate(rng.random_range(0..=bytes.len())),
            1 => {
                let at = rng.random_range(0..bytes.len());
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
            2 => bytes.extend((0..rng.random_range(1..64)).map(|_| rng.random::<u8>())),
            _ => {
                bytes = (0..rng.random_range(0..512))
                    .map(|_| rng.random::<u8>())
                    .collect();
                if let Some(first) = bytes.first_mut() {
                    *first = VERSION;
                }
            }
        }
        let _ = Request::decode(&bytes);
        let _ = Response::decode(&bytes);
    }
}
