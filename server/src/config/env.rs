//! Environment overrides: `SEMPER__HTTP__LISTEN=127.0.0.1:9090` sets `http.listen`, and
//! `SEMPER__BANKS__0__ACQUIRER__BATCH_MAX_COINS=128` sets a field of the first bank. Segments are
//! separated by `__` and lower-cased; a number indexes an array. The value is read as a TOML value
//! when it is one (a number, a boolean, an array) and as a string otherwise.

use toml::{Table, Value};

use super::ConfigError;

/// The prefix of every override.
pub const PREFIX: &str = "SEMPER__";

/// Applies each `(name, value)` whose name starts with [`PREFIX`] to `table`, in name order so the
/// outcome does not depend on the environment's order.
pub fn apply(
    table: &mut Table,
    variables: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut overrides: Vec<(String, String)> = variables
        .into_iter()
        .filter(|(name, _)| name.starts_with(PREFIX))
        .collect();
    overrides.sort();
    for (name, text) in overrides {
        let path: Vec<String> = name[PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(problem(&name, "an empty key segment"));
        }
        set(table, &path, parse_value(&text)).map_err(|why| problem(&name, &why))?;
    }
    Ok(())
}

fn problem(variable: &str, why: &str) -> ConfigError {
    ConfigError::Environment {
        variable: variable.to_owned(),
        problem: why.to_owned(),
    }
}

/// `text` as a TOML value when it is one, else as a string.
fn parse_value(text: &str) -> Value {
    format!("value = {text}")
        .parse::<Table>()
        .ok()
        .and_then(|mut table| table.remove("value"))
        .unwrap_or_else(|| Value::String(text.to_owned()))
}

/// Sets `path` in `table` to `value`, making the tables on the way.
fn set(table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let (first, rest) = path.split_first().ok_or("no key")?;
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return Ok(());
    }
    let next = table
        .entry(first.clone())
        .or_insert_with(|| Value::Table(Table::new()));
    set_in(next, first, rest, value)
}

fn set_in(node: &mut Value, name: &str, path: &[String], value: Value) -> Result<(), String> {
    match node {
        Value::Table(table) => set(table, path, value),
        Value::Array(items) => {
            let (index, rest) = path.split_first().ok_or("no key")?;
            let index: usize = index
                .parse()
                .map_err(|_| format!("`{name}` is an array: expected an index, got `{index}`"))?;
            let len = items.len();
            let item = items
                .get_mut(index)
                .ok_or_else(|| format!("`{name}` has {len} entries, no index {index}"))?;
            if rest.is_empty() {
                *item = value;
                Ok(())
            } else {
                set_in(item, &format!("{name}[{index}]"), rest, value)
            }
        }
        _ => Err(format!("`{name}` is a value, not a table")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(text: &str, variables: &[(&str, &str)]) -> Result<Table, ConfigError> {
        let mut table: Table = text.parse().unwrap();
        apply(
            &mut table,
            variables
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string())),
        )?;
        Ok(table)
    }

    #[test]
    fn overrides_set_scalars_tables_and_array_entries() {
        let table = applied(
            "[http]\nlisten = \"127.0.0.1:1\"\n[[banks]]\nname = \"a\"\n",
            &[
                ("SEMPER__HTTP__LISTEN", "127.0.0.1:2"),
                ("SEMPER__HTTP__WORKERS", "4"),
                ("SEMPER__NODE__LOG", "debug"),
                ("SEMPER__BANKS__0__NAME", "b"),
                ("OTHER", "ignored"),
            ],
        )
        .unwrap();
        assert_eq!(table["http"]["listen"].as_str(), Some("127.0.0.1:2"));
        assert_eq!(table["http"]["workers"].as_integer(), Some(4));
        assert_eq!(table["node"]["log"].as_str(), Some("debug"));
        assert_eq!(table["banks"][0]["name"].as_str(), Some("b"));
        assert!(!table.contains_key("other"));
    }

    #[test]
    fn a_bad_override_names_its_variable() {
        for (variable, needle) in [
            ("SEMPER__BANKS__3__NAME", "no index 3"),
            ("SEMPER__BANKS__X__NAME", "expected an index"),
            ("SEMPER__HTTP__LISTEN__PORT", "not a table"),
            ("SEMPER____X", "empty key segment"),
        ] {
            let error = applied(
                "[http]\nlisten = \"127.0.0.1:1\"\n[[banks]]\nname = \"a\"\n",
                &[(variable, "1")],
            )
            .unwrap_err()
            .to_string();
            assert!(error.contains(variable), "{error}");
            assert!(error.contains(needle), "{error}");
        }
    }
}
