//! semper's storage layer on RocksDB: one DB per role, a column family per kind of record, atomic
//! check-and-insert of spent coins, durable group commit and recovery from disk alone.
//!
//! Not built yet: it arrives with the Issuer issue. Until then this crate holds no code, and nothing
//! in the workspace depends on storage that does not exist.
