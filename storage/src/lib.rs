//! semper's storage layer: one store per role behind one backend interface ([`backend`]; RocksDB
//! is the embedded default), a column family per kind of record, atomic
//! check-and-insert of spent coins (in the issuer's store, or split over shard groups:
//! [`spent_shards`]), an account ledger with its journal, idempotent withdrawals, the issuer's
//! books of coins issued per denomination ([`issued`]),
//! the acquirer's merchants, deposits and settlement outbox, durable group commit, the clearing
//! house's claims, cycles and reports, the settlement reports a participant receives with their
//! discrepancies, and recovery from disk alone.
//!
//! Every state change is a [`commit::Transaction`]: a pure function from what it reads to what it
//! writes and answers. One committer thread applies transactions in order, so check-then-write is
//! never raced, gathers a group of them into one atomic write made durable once (one WAL fsync
//! on RocksDB), and only then answers each. Nothing is acknowledged before it is durable.
//! Over PostgreSQL several processes may write one store: each group's write checks what the
//! group read, and a group another writer raced is applied again (see [`backend`]).

pub mod acquirer;
pub mod backend;
pub mod clearing;
pub mod commit;
pub mod confirmed_batches;
pub mod denominations;
pub mod error;
pub mod issued;
pub mod lease;
pub mod ledger;
pub mod location;
pub mod memory;
pub mod metrics;
pub mod recoups;
pub mod refund_allowances;
pub mod reports;
pub mod schema;
pub mod shard_map;
pub mod spent;
pub mod spent_filter;
pub mod spent_shards;
pub mod store;
pub mod swap_groups;
pub mod swaps;
pub mod withdrawals;

pub use commit::{CommitConfig, Committer};
pub use error::StorageError;
pub use location::Location;
pub use store::{Role, Store};
