//! What another process holds: its readable memory and the files under a directory, for the
//! key-isolation tests that search them.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Readable bytes of one mapping read at a time.
const CHUNK_BYTES: usize = 1 << 20;

/// Hands every readable mapping of process `pid` (through /proc/PID/mem) to `look`, a chunk at a
/// time; chunks overlap by `overlap` bytes, so that nothing that long split across two is
/// missed. Stops at the first chunk `look` answers `true` to, and says whether there was one.
pub fn any_chunk_of_process(pid: u32, overlap: usize, mut look: impl FnMut(&[u8]) -> bool) -> bool {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !perms.starts_with('r') || line.ends_with("[vvar]") || line.ends_with("[vsyscall]") {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut at = start;
        while at < end {
            let len = ((end - at) as usize).min(CHUNK_BYTES + overlap);
            let mut chunk = vec![0u8; len];
            if mem.seek(SeekFrom::Start(at)).is_ok()
                && mem.read_exact(&mut chunk).is_ok()
                && look(&chunk)
            {
                return true;
            }
            at += CHUNK_BYTES as u64;
        }
    }
    false
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}
