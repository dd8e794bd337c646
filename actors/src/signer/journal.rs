//! The signer's journal: an append-only file of what its keys did (made, signed so many times,
//! revoked, destroyed), each record length-prefixed and checksummed, fsynced before the caller
//! goes on. It is the auditor's evidence: coins outstanding plus spent of a denomination never
//! exceed the signatures the journal counts for its key. On restart the signer replays it.
//!
//! Concurrent appends share fsyncs: each writes its record under the file's lock, then the
//! first to reach the sync lock syncs for all who wrote before it (group commit).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use semper_protocol::codec::{Decode, Encode, Reader, Writer};
use semper_protocol::crypto::hash::sha256;
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::DenominationId;

use super::KeyCount;

/// The largest record: a denomination with a 4096-bit key is well under this.
const RECORD_MAX_BYTES: usize = 64 * 1024;
/// Bytes of each record's checksum (a SHA-256 prefix): torn or flipped records are found.
const CHECKSUM_BYTES: usize = 8;

/// One thing a key did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A key was made, for this denomination.
    Created(Denomination),
    /// The key signed this many more blind signatures.
    Signed(DenominationId, u32),
    /// The key was revoked.
    Revoked(DenominationId),
    /// The key was destroyed.
    Destroyed(DenominationId),
}

impl Record {
    fn encode(&self, writer: &mut Writer) {
        match self {
            Self::Created(denomination) => {
                writer.u8(1);
                denomination.encode_to(writer);
            }
            Self::Signed(id, count) => {
                writer.u8(2);
                id.encode_to(writer);
                writer.u32(*count);
            }
            Self::Revoked(id) => {
                writer.u8(3);
                id.encode_to(writer);
            }
            Self::Destroyed(id) => {
                writer.u8(4);
                id.encode_to(writer);
            }
        }
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut reader = Reader::new(bytes);
        let record = match reader.u8("kind").ok()? {
            1 => Self::Created(Denomination::decode_from(&mut reader).ok()?),
            2 => Self::Signed(
                DenominationId::decode_from(&mut reader).ok()?,
                reader.u32("count").ok()?,
            ),
            3 => Self::Revoked(DenominationId::decode_from(&mut reader).ok()?),
            4 => Self::Destroyed(DenominationId::decode_from(&mut reader).ok()?),
            _ => return None,
        };
        reader.finish().ok()?;
        Some(record)
    }
}

/// Why the journal could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// The file system refused.
    #[error("journal {0}")]
    Io(String),
    /// A record before the last one is damaged: refused, since counts would be lost.
    #[error("journal damaged at byte {0}")]
    Damaged(u64),
    /// An earlier append failed part way: nothing more is written until a restart.
    #[error("journal failed earlier; restart the signer")]
    Failed,
}

/// The open journal.
pub struct Journal {
    /// The file and how many appends were written to it.
    file: Mutex<(File, u64)>,
    /// A handle for fsync, and how many appends are known durable.
    synced: Mutex<(File, u64)>,
    /// Set when an append failed part way.
    failed: std::sync::atomic::AtomicBool,
}

impl Journal {
    /// Opens (or creates, owner-only) the journal at `path`, and returns its records. A torn
    /// last record (a crash mid-write) is cut off; damage before it is an error.
    pub fn open(path: &Path) -> Result<(Self, Vec<Record>), JournalError> {
        let io = |error: std::io::Error| JournalError::Io(format!("{}: {error}", path.display()));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (records, good) = parse(&bytes)?;
        if good < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                dropped_bytes = bytes.len() - good,
                "signer journal: a torn last record is cut off"
            );
            file.set_len(good as u64).map_err(io)?;
            file.seek(SeekFrom::End(0)).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        let sync = file.try_clone().map_err(io)?;
        Ok((
            Self {
                file: Mutex::new((file, 0)),
                synced: Mutex::new((sync, 0)),
                failed: std::sync::atomic::AtomicBool::new(false),
            },
            records,
        ))
    }

    /// Appends `records` and returns once they are on disk.
    pub fn append(&self, records: &[Record]) -> Result<(), JournalError> {
        use std::sync::atomic::Ordering;
        if self.failed.load(Ordering::SeqCst) {
            return Err(JournalError::Failed);
        }
        let mut bytes = Vec::new();
        for record in records {
            let mut writer = Writer::new();
            record.encode(&mut writer);
            let body = writer.into_bytes();
            bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
            bytes.extend_from_slice(&body);
            bytes.extend_from_slice(&sha256(&[&body])[..CHECKSUM_BYTES]);
        }
        let mine = {
            let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(error) = file.0.write_all(&bytes) {
                // Part of it may be written: a later record after it would read as damage.
                self.failed.store(true, Ordering::SeqCst);
                return Err(JournalError::Io(error.to_string()));
            }
            file.1 += 1;
            file.1
        };
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        if synced.1 >= mine {
            return Ok(());
        }
        // Everything written so far is covered by this fsync.
        let written = self.file.lock().unwrap_or_else(|p| p.into_inner()).1;
        if let Err(error) = synced.0.sync_data() {
            self.failed.store(true, Ordering::SeqCst);
            return Err(JournalError::Io(error.to_string()));
        }
        synced.1 = written;
        Ok(())
    }
}

/// The records of the journal at `path`, read only: the signer may be running, or the file
/// may be an auditor's copy. A torn last record is left out (not cut off); damage before it is
/// an error, as at [`Journal::open`].
pub fn read(path: &Path) -> Result<Vec<Record>, JournalError> {
    let bytes = std::fs::read(path)
        .map_err(|error| JournalError::Io(format!("{}: {error}", path.display())))?;
    Ok(parse(&bytes)?.0)
}

/// The signature count of every key the journal at `path` names, sorted by denomination, as a
/// running signer's [`super::Signer::counts`] answers: the operator's and the auditor's read of
/// the journal itself, whether the signer runs in the issuer's process, in its own, or not at all.
pub fn counts(path: &Path) -> Result<Vec<KeyCount>, JournalError> {
    let mut counts: Vec<KeyCount> = tally(read(path)?)
        .into_iter()
        .map(|key| KeyCount {
            denomination: key.denomination.id(),
            signatures: key.signatures,
            revoked: key.revoked,
            destroyed: key.destroyed,
        })
        .collect();
    counts.sort_by_key(|count| count.denomination);
    Ok(counts)
}

/// What the records say of each key: its denomination, its signatures, whether it was revoked
/// and destroyed (in the order the keys were made). Records of a key never made name nothing.
pub fn tally(records: Vec<Record>) -> Vec<Tallied> {
    let mut keys: Vec<Tallied> = Vec::new();
    let mut index: std::collections::HashMap<DenominationId, usize> =
        std::collections::HashMap::new();
    for record in records {
        let id = match &record {
            Record::Created(denomination) => {
                index.entry(denomination.id()).or_insert_with(|| {
                    keys.push(Tallied {
                        denomination: denomination.clone(),
                        signatures: 0,
                        revoked: false,
                        destroyed: false,
                    });
                    keys.len() - 1
                });
                continue;
            }
            Record::Signed(id, _) | Record::Revoked(id) | Record::Destroyed(id) => *id,
        };
        let Some(key) = index.get(&id).map(|at| &mut keys[*at]) else {
            continue;
        };
        match record {
            Record::Signed(_, n) => key.signatures += u64::from(n),
            Record::Revoked(_) => key.revoked = true,
            Record::Destroyed(_) => key.destroyed = true,
            Record::Created(_) => {}
        }
    }
    keys
}

/// A key as its journal's records leave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tallied {
    /// Its denomination.
    pub denomination: Denomination,
    /// Blind signatures it made, ever.
    pub signatures: u64,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Whether it was destroyed.
    pub destroyed: bool,
}

/// The records of `bytes`, and how many bytes they take; a torn tail is left out.
fn parse(bytes: &[u8]) -> Result<(Vec<Record>, usize), JournalError> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let Some(header) = rest.get(..4) else { break };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let whole = 4 + len + CHECKSUM_BYTES;
        if len > RECORD_MAX_BYTES {
            return Err(JournalError::Damaged(at as u64));
        }
        let Some(record) = rest.get(..whole) else {
            // Torn: the crash came while this record was written.
            break;
        };
        let body = &record[4..4 + len];
        let decoded = (sha256(&[body])[..CHECKSUM_BYTES] == record[4 + len..])
            .then(|| Record::decode(body))
            .flatten();
        match decoded {
            Some(decoded) => records.push(decoded),
            // A bad last record is a torn write; a bad record with more after it is damage.
            None if whole == rest.len() => break,
            None => return Err(JournalError::Damaged(at as u64)),
        }
        at += whole;
    }
    Ok((records, at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use semper_protocol::ids::DenominationId;

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("semper-journal-{name}-{}", rand::random::<u64>()))
    }

    #[test]
    fn records_survive_a_reopen_a_torn_tail_is_cut_and_damage_before_the_end_is_refused() {
        let path = temp("reopen");
        let a = DenominationId([1; 32]);
        let b = DenominationId([2; 32]);
        {
            let (journal, records) = Journal::open(&path).unwrap();
            assert!(records.is_empty());
            journal
                .append(&[Record::Signed(a, 64), Record::Signed(b, 2)])
                .unwrap();
            journal.append(&[Record::Revoked(a)]).unwrap();
        }
        let (_, records) = Journal::open(&path).unwrap();
        assert_eq!(
            records,
            vec![
                Record::Signed(a, 64),
                Record::Signed(b, 2),
                Record::Revoked(a)
            ]
        );
        let good = std::fs::metadata(&path).unwrap().len();

        // A torn tail: half a record.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[0, 0, 0, 37, 2, 2]).unwrap();
        drop(file);
        let (journal, records) = Journal::open(&path).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good);
        journal.append(&[Record::Signed(b, 1)]).unwrap();
        drop(journal);
        assert_eq!(Journal::open(&path).unwrap().1.len(), 4);

        // A flipped byte in the first record, with records after it: damage.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[6] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            Journal::open(&path),
            Err(JournalError::Damaged(0))
        ));
        std::fs::remove_file(&path).unwrap();
    }
}
