//! The replicated deployment's tooling (issue 19): a three-node Patroni cluster of a test's own
//! ([`cluster`], over `scripts/ha-cluster.sh`), and the failover load run against it ([`load`]) by
//! the failover test (`tests/failover.rs`, under `make test`) and the soak (`make ha-soak`).

pub mod cluster;
pub mod load;

pub use cluster::{Cluster, ClusterError};
