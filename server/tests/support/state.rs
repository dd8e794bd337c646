//! Every record the roles of a node hold, read straight from their DBs, so that a test can check
//! that a refused request changed nothing, or only the records it names. Each test binary that
//! needs it includes this file with `#[path = "../support/state.rs"] mod state;`.

use std::collections::{BTreeMap, BTreeSet};

use semper_server::interbank::HostedRoles;
use semper_storage::Store;
use semper_storage::schema::Column;

/// Every record of every column of every role's DB, by "who/column" (`who` is the caller's name
/// for the node and the role, e.g. `embedded/issuer`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Dump(BTreeMap<String, Records>);

/// A column's records, keys and values, in key order.
type Records = Vec<(Vec<u8>, Vec<u8>)>;

impl Dump {
    /// The records of `roles`, filed under `who`; added to what the dump holds.
    pub fn add(&mut self, who: &str, roles: &HostedRoles) {
        if let Some(issuer) = &roles.issuer {
            self.add_store(&format!("{who}/issuer"), &issuer.state().store);
        }
        if let Some(acquirer) = &roles.acquirer {
            self.add_store(&format!("{who}/acquirer"), &acquirer.state().store);
        }
        if let Some(clearing) = &roles.clearing {
            self.add_store(&format!("{who}/clearing"), &clearing.state().store);
        }
    }

    /// Files each column under "who/column", and each meta record, a counter of its own,
    /// under "who/meta/key".
    fn add_store(&mut self, who: &str, store: &Store) {
        for column in Column::ALL {
            let records = store
                .scan_from(column, &[], usize::MAX)
                .unwrap_or_else(|error| panic!("{who}: cannot read {}: {error}", column.name()));
            if column == Column::Meta {
                for (key, value) in records {
                    let name = format!("{who}/meta/{}", String::from_utf8_lossy(&key));
                    self.0.insert(name, vec![(key, value)]);
                }
            } else {
                self.0.insert(format!("{who}/{}", column.name()), records);
            }
        }
    }

    /// The "who/column" names whose records differ between `self` and `after`.
    pub fn changed(&self, after: &Dump) -> BTreeSet<String> {
        let names: BTreeSet<&String> = self.0.keys().chain(after.0.keys()).collect();
        names
            .into_iter()
            .filter(|name| self.0.get(*name) != after.0.get(*name))
            .cloned()
            .collect()
    }
}

/// Asserts that from `before` to `after` no column changed but those in `allowed`: what a refused
/// request is documented to record, such as the answer kept for its retries.
pub fn assert_changed_only(case: &str, before: &Dump, after: &Dump, allowed: &[&str]) {
    let changed = before.changed(after);
    let unexpected: Vec<&String> = changed
        .iter()
        .filter(|name| !allowed.contains(&name.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{case}: changed state it must leave alone: {unexpected:?}"
    );
}
