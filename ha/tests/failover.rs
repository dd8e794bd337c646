//! Failover without loss (issue 19, item 4), short: a real three-node Patroni cluster, writers
//! spending coins and crediting accounts through the store and its committer, the primary's
//! postmaster killed with SIGKILL three times; every acknowledged spend and credit must then be on
//! every node, and no coin answered as a double spend of itself. Each failover's time to the
//! first acknowledged write is printed (run with `--nocapture` to see it). The long version is
//! `make ha-soak`.

use std::time::Duration;

use semper_ha::Cluster;
use semper_ha::load::{self, LoadConfig};

#[test]
fn acknowledged_writes_survive_primary_kills() {
    let missing = Cluster::missing_programs();
    if !missing.is_empty() {
        eprintln!(
            "SKIPPED: the failover test needs {missing:?}; scripts/install-deps.sh postgresql \
             etcd-server etcd-client patroni installs them (scripts/test.sh does)"
        );
        return;
    }
    let cluster = Cluster::start("failover").unwrap();
    let report = load::run(
        &cluster,
        LoadConfig {
            writers: 4,
            batch_coins: 32,
            kills: 3,
            settle: Duration::from_secs(2),
            failover_max: Duration::from_secs(30),
        },
    )
    .unwrap();
    println!("{report:#?}");
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert_eq!(report.failovers.len(), 3);
    assert!(report.coins_acknowledged > 0 && report.credits_acknowledged > 0);
    // Every acknowledged coin and credit was looked up on each of the three nodes.
    assert_eq!(
        report.records_checked,
        3 * (report.coins_acknowledged + report.credits_acknowledged)
    );
}
