//! Opening a DB: recovery from disk alone, schema version, role, corruption.

mod common;

use common::*;
use semper_storage::ledger;
use semper_storage::schema::{Column, META_SCHEMA_VERSION, SCHEMA_VERSION};
use semper_storage::{Role, StorageError, Store};

fn raw_put(dir: &TempDir, column: Column, key: &[u8], value: &[u8]) {
    let names: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &dir.0, names).unwrap();
    db.put_cf(db.cf_handle(column.name()).unwrap(), key, value)
        .unwrap();
}

#[test]
fn a_reopened_store_has_everything_that_was_acknowledged() {
    let dir = TempDir::new("reopen");
    let account = {
        let (_store, committer) = open_issuer(&dir);
        funded_account(&committer, 1, "7.00")
    };
    let store = Store::open(&dir.0, Role::Issuer).unwrap();
    assert_eq!(
        ledger::account(&store, &account).unwrap().unwrap().balance,
        eur("7.00")
    );
}

#[test]
fn a_newer_schema_or_another_role_is_refused_clearly() {
    let dir = TempDir::new("schema");
    drop(Store::open(&dir.0, Role::Issuer).unwrap());
    assert_eq!(
        Store::open(&dir.0, Role::Acquirer).err().unwrap().code(),
        "storage.wrong_role"
    );
    raw_put(
        &dir,
        Column::Meta,
        META_SCHEMA_VERSION,
        &(SCHEMA_VERSION + 1).to_be_bytes(),
    );
    let error = Store::open(&dir.0, Role::Issuer).err().unwrap();
    assert_eq!(
        error,
        StorageError::SchemaTooNew {
            found: SCHEMA_VERSION + 1,
            supported: SCHEMA_VERSION
        }
    );
    assert!(error.to_string().contains("upgrade"));
}

#[test]
fn a_newer_schema_with_extra_column_families_is_still_refused_clearly() {
    let dir = TempDir::new("schema-cf");
    drop(Store::open(&dir.0, Role::Issuer).unwrap());
    {
        let names: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
        let mut db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &dir.0, names).unwrap();
        db.create_cf("from_the_future", &rocksdb::Options::default())
            .unwrap();
        let meta = db.cf_handle("meta").unwrap();
        db.put_cf(meta, META_SCHEMA_VERSION, 9u32.to_be_bytes())
            .unwrap();
    }
    assert_eq!(
        Store::open(&dir.0, Role::Issuer).err().unwrap().code(),
        "storage.schema_too_new"
    );
}

#[test]
fn corrupt_records_and_files_give_errors_not_panics() {
    let dir = TempDir::new("corrupt");
    let account = {
        let (_store, committer) = open_issuer(&dir);
        funded_account(&committer, 1, "1.00")
    };
    raw_put(&dir, Column::Accounts, account.as_bytes(), b"garbage");
    let store = Store::open(&dir.0, Role::Issuer).unwrap();
    assert_eq!(
        ledger::account(&store, &account).unwrap_err().code(),
        "storage.corrupt"
    );
    drop(store);

    // Every file of the DB overwritten with noise: open must fail with an error.
    for entry in std::fs::read_dir(&dir.0).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::write(&path, b"not a rocksdb file").unwrap();
        }
    }
    let error = Store::open(&dir.0, Role::Issuer).err().unwrap();
    assert!(
        matches!(error.code(), "storage.corrupt" | "storage.rocksdb"),
        "{error}"
    );
}
