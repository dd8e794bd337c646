use std::path::Path;

use super::*;

fn parse(text: &str, variables: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::parse(
        text,
        Path::new("test.toml"),
        Path::new("/etc/semper"),
        variables
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string())),
    )
}

fn error_of(text: &str, variables: &[(&str, &str)]) -> String {
    parse(text, variables).unwrap_err().to_string()
}

const ONE_BANK: &str = r#"
[[banks]]
name = "issuer"
id = "01000000000000000000000000000001"
link_listen = "127.0.0.1:7701"
[banks.issuer]
denominations = ["EUR:1.00"]
[[banks.peers]]
card = "peers/clearing.toml"
addr = "127.0.0.1:7703"
"#;

#[test]
fn the_embedded_default_parses_with_three_banks() {
    let config = parse(EMBEDDED_TOML, &[]).unwrap();
    let names: Vec<&str> = config.banks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["issuer", "acquirer", "clearing"]);
    assert!(config.banks[0].issuer.is_some());
    assert!(config.banks[1].acquirer.is_some());
    assert!(config.banks[2].clearing.is_some());
    assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.node.data_dir, Path::new("./data"));
}

#[test]
fn defaults_fill_what_a_file_leaves_out_and_cards_resolve_against_the_file() {
    let config = parse(ONE_BANK, &[]).unwrap();
    let issuer = config.banks[0].issuer.as_ref().unwrap();
    assert_eq!(issuer.rsa_bits, 2048);
    assert!(issuer.pool_threads >= 1);
    assert_eq!(config.http.workers, 2);
    assert_eq!(
        config.banks[0].peers[0].card,
        Path::new("/etc/semper/peers/clearing.toml")
    );
}

#[test]
fn environment_overrides_win_over_the_file() {
    let config = parse(
        EMBEDDED_TOML,
        &[
            ("SEMPER__HTTP__LISTEN", "127.0.0.1:9999"),
            ("SEMPER__BANKS__1__ACQUIRER__BATCH_MAX_COINS", "64"),
            ("SEMPER__NODE__DATA_DIR", "/tmp/semper-data"),
        ],
    )
    .unwrap();
    assert_eq!(config.http.listen.to_string(), "127.0.0.1:9999");
    assert_eq!(
        config.banks[1].acquirer.as_ref().unwrap().batch_max_coins,
        64
    );
    assert_eq!(config.node.data_dir, Path::new("/tmp/semper-data"));
}

#[test]
fn a_bad_config_names_the_key_and_the_problem() {
    // Each: the config, the overrides, the key named and the problem told.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 11] = [
        (
            EMBEDDED_TOML,
            &[("SEMPER__HTTP__LISTEN", "nowhere")],
            "http.listen",
            "address",
        ),
        (
            EMBEDDED_TOML,
            &[("SEMPER__HTTP__WORKERS", "0")],
            "http.workers",
            "expected 1 to 64",
        ),
        (
            EMBEDDED_TOML,
            &[("SEMPER__HTTP__LISTNE", "x")],
            "http",
            "unknown field `listne`",
        ),
        (
            EMBEDDED_TOML,
            &[("SEMPER__BANKS__0__ISSUER__RSA_BITS", "1024")],
            "banks[0].issuer.rsa_bits",
            "2048 or 3072",
        ),
        // Longer than the signer's 31 days, or further ahead than its 62.
        (
            EMBEDDED_TOML,
            &[("SEMPER__BANKS__0__ISSUER__WITHDRAW_PERIOD_MS", "2678400001")],
            "banks[0].issuer.withdraw_period_ms",
            "expected 1 to 2678400000",
        ),
        (
            EMBEDDED_TOML,
            &[("SEMPER__BANKS__0__ISSUER__LOOKAHEAD_MS", "5356800001")],
            "banks[0].issuer.lookahead_ms",
            "expected 1 to 5356800000",
        ),
        (
            EMBEDDED_TOML,
            &[("SEMPER__BANKS__0__ID", "zz")],
            "banks[0].id",
            "not lower-case hex",
        ),
        (
            EMBEDDED_TOML,
            &[("SEMPER__BANKS__2__ID", "01000000000000000000000000000001")],
            "banks[2].id",
            "two banks",
        ),
        (
            EMBEDDED_TOML,
            &[("SEMPER__BANKS__0__NAME", "Bad Name")],
            "banks[0].name",
            "a-z",
        ),
        (
            EMBEDDED_TOML,
            &[("SEMPER__BANKS__0__ISSUER__DENOMINATIONS", "[\"EUR:0.00\"]")],
            "banks[0].issuer.denominations",
            "more than zero",
        ),
        (
            "[http]\nworkers = 1\n",
            &[],
            "banks",
            "missing field `banks`",
        ),
    ];
    for (text, variables, key, problem) in cases {
        let error = error_of(text, variables);
        assert!(error.contains(&format!("`{key}")), "{key}: {error}");
        assert!(error.contains(problem), "{problem}: {error}");
    }
}

#[test]
fn two_banks_of_one_role_in_a_process_are_refused() {
    let text = format!(
        "{ONE_BANK}\n[[banks]]\nname = \"second\"\nid = \"05000000000000000000000000000005\"\n\
         link_listen = \"127.0.0.1:7705\"\n[banks.issuer]\ndenominations = [\"EUR:1.00\"]\n"
    );
    let error = error_of(&text, &[]);
    assert!(error.contains("`banks[1].issuer`"), "{error}");
    assert!(error.contains("at most one bank per role"), "{error}");
}

#[test]
fn a_bank_without_a_role_and_bad_syntax_are_refused() {
    let error = error_of(
        "[[banks]]\nname = \"x\"\nid = \"01000000000000000000000000000001\"\nlink_listen = \"127.0.0.1:1\"\n",
        &[],
    );
    assert!(
        error.contains("`banks[0]`") && error.contains("at least one role"),
        "{error}"
    );
    let error = error_of("[[banks]\n", &[]);
    assert!(
        error.contains("test.toml") && error.contains("line 1"),
        "{error}"
    );
}

#[test]
fn an_atm_carrier_takes_its_circuit_from_the_file_and_a_bad_one_names_the_key() {
    let atm = [
        ("SEMPER__BANKS__0__CARRIER", "atm"),
        ("SEMPER__BANKS__0__ATM__LINE", "oc12c"),
        (
            "SEMPER__BANKS__0__ATM__IMPAIRMENTS__CELL_LOSS_RATIO",
            "0.001",
        ),
        ("SEMPER__BANKS__0__PEERS__0__CARRIER", "atm"),
    ];
    let config = parse(ONE_BANK, &atm).unwrap();
    let bank = &config.banks[0];
    let circuit = circuit_of(bank.carrier, bank.atm.as_ref()).unwrap();
    assert_eq!(circuit.line, semper_atm::LineRate::Oc12c);
    assert_eq!(circuit.impairments.cell_loss_ratio, 0.001);
    // A peer without its own table is reached with this bank's circuit.
    let peer = &bank.peers[0];
    assert_eq!(
        circuit_of(peer.carrier, peer.atm.as_ref().or(bank.atm.as_ref())),
        Some(circuit)
    );
    assert_eq!(circuit_of(Carrier::Quic, bank.atm.as_ref()), None);

    let error = error_of(ONE_BANK, &[atm[0], ("SEMPER__BANKS__0__ATM__VCI", "5")]);
    assert!(error.contains("`banks[0].atm.vci`"), "{error}");
    let error = error_of(
        ONE_BANK,
        &[
            atm[0],
            ("SEMPER__BANKS__0__ATM__IMPAIRMENTS__CELL_LOSS_RATIO", "2"),
        ],
    );
    assert!(
        error.contains("`banks[0].atm.impairments.cell_loss_ratio`"),
        "{error}"
    );
    let error = error_of(ONE_BANK, &[("SEMPER__BANKS__0__ATM__VCI", "40")]);
    assert!(
        error.contains("`banks[0].atm`") && error.contains("carrier"),
        "{error}"
    );
    let error = error_of(ONE_BANK, &[("SEMPER__BANKS__0__CARRIER", "x25")]);
    assert!(error.contains("carrier"), "{error}");
}

#[test]
fn the_debug_of_the_config_never_shows_the_operator_token() {
    let token = "a-secret-operator-token-0123456789";
    let config = parse(ONE_BANK, &[("SEMPER__HTTP__OPERATOR_TOKEN", token)]).unwrap();
    assert_eq!(
        config.http.operator_token.as_ref().map(Secret::expose),
        Some(token)
    );
    for debug in [format!("{:?}", config.http), format!("{config:#?}")] {
        assert!(!debug.contains(token), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }
}

#[test]
fn http_client_bounds_and_tls_are_checked_and_a_bad_one_names_its_key() {
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 9] = [
        (
            &[("SEMPER__HTTP__CONNECTIONS_MAX", "1")],
            "http.connections_max",
            "at least 2",
        ),
        (
            &[("SEMPER__HTTP__CLIENT_CONNECTIONS_MAX", "0")],
            "http.client_connections_max",
            "expected 1 to 8192",
        ),
        (
            &[("SEMPER__HTTP__CLIENT_REQUESTS_IN_FLIGHT_MAX", "0")],
            "http.client_requests_in_flight_max",
            "at least 1",
        ),
        (
            &[("SEMPER__HTTP__HEAD_TIMEOUT_MS", "0")],
            "http.head_timeout_ms",
            "expected 1 to 60000",
        ),
        (
            &[("SEMPER__HTTP__BODY_TIMEOUT_MS", "600000")],
            "http.body_timeout_ms",
            "expected 1 to 60000",
        ),
        (
            &[("SEMPER__HTTP__KEEP_ALIVE_MS", "3600000")],
            "http.keep_alive_ms",
            "expected 0 to 300000",
        ),
        (
            &[("SEMPER__HTTP__TLS_CERT", "tls/cert.pem")],
            "http.tls_key",
            "needs its private key",
        ),
        (
            &[("SEMPER__HTTP__TLS_KEY", "tls/key.pem")],
            "http.tls_cert",
            "needs its certificate",
        ),
        (
            &[("SEMPER__HTTP__LISTEN", "0.0.0.0:8080")],
            "http.allow_plain_non_loopback",
            "not a loopback address",
        ),
    ];
    for (variables, key, problem) in cases {
        let error = error_of(EMBEDDED_TOML, variables);
        assert!(error.contains(&format!("`{key}`")), "{key}: {error}");
        assert!(error.contains(problem), "{problem}: {error}");
    }
    // Plain HTTP beyond loopback when the config says so, and HTTPS anywhere.
    let open = [("SEMPER__HTTP__LISTEN", "0.0.0.0:8080")];
    let plain = parse(
        EMBEDDED_TOML,
        &[open[0], ("SEMPER__HTTP__ALLOW_PLAIN_NON_LOOPBACK", "true")],
    )
    .unwrap();
    assert!(plain.http.allow_plain_non_loopback && plain.http.tls_cert.is_none());
    let tls = parse(
        EMBEDDED_TOML,
        &[
            open[0],
            ("SEMPER__HTTP__TLS_CERT", "tls/cert.pem"),
            ("SEMPER__HTTP__TLS_KEY", "tls/key.pem"),
        ],
    )
    .unwrap();
    assert_eq!(tls.http.tls_key.as_deref(), Some(Path::new("tls/key.pem")));
    // The embedded default stays plain HTTP on loopback.
    let embedded = parse(EMBEDDED_TOML, &[]).unwrap();
    assert!(embedded.http.tls_cert.is_none() && embedded.http.listen.ip().is_loopback());
}

#[test]
fn a_bank_stores_in_postgres_by_a_connection_string_from_the_environment() {
    // The default: RocksDB under the data directory.
    let config = parse(ONE_BANK, &[]).unwrap();
    assert_eq!(config.banks[0].storage, StorageKind::Rocksdb);
    assert!(config.banks[0].store_location().is_none());
    let postgres = ONE_BANK.replace("[banks.issuer]", "storage = \"postgres\"\n[banks.issuer]");
    let conninfo = "host=127.0.0.1 dbname=bank user=semper password=hunter2";
    let config = parse(&postgres, &[("SEMPER__BANKS__0__POSTGRES", conninfo)]).unwrap();
    assert_eq!(
        config.banks[0].store_location(),
        Some(semper_storage::Location::Postgres(conninfo.into()))
    );
    // Neither the config's Debug nor the location's shows the password.
    for shown in [
        format!("{config:?}"),
        format!("{:?}", config.banks[0].store_location()),
    ] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    // Postgres without a connection string, one that does not parse (not repeated in the
    // message), and a connection string without postgres: each names the key.
    let missing = error_of(&postgres, &[]);
    assert!(missing.contains("banks[0].postgres"), "{missing}");
    let bad = error_of(
        &postgres,
        &[(
            "SEMPER__BANKS__0__POSTGRES",
            "host=x password=hunter2 nonsense",
        )],
    );
    assert!(bad.contains("banks[0].postgres"), "{bad}");
    assert!(!bad.contains("hunter2"), "{bad}");
    let unused = error_of(ONE_BANK, &[("SEMPER__BANKS__0__POSTGRES", conninfo)]);
    assert!(unused.contains("banks[0].postgres"), "{unused}");
    let unknown = error_of(
        &ONE_BANK.replace("[banks.issuer]", "storage = \"mysql\"\n[banks.issuer]"),
        &[],
    );
    assert!(unknown.contains("storage"), "{unknown}");
}

#[test]
fn a_link_s_transport_defaults_by_carrier_and_a_bad_one_names_the_key() {
    use semper_link::{Congestion, DatagramSize, LinkTransport};

    let with = |bank: &str, peer: &str| {
        format!(
            "[[banks]]\nname = \"issuer\"\nid = \"01000000000000000000000000000001\"\n\
             link_listen = \"127.0.0.1:7701\"\n{bank}\n[banks.issuer]\n\
             denominations = [\"EUR:1.00\"]\n[[banks.peers]]\ncard = \"peers/clearing.toml\"\n\
             addr = \"127.0.0.1:7703\"\n{peer}\n"
        )
    };
    // Plain QUIC: QUIC's standard behaviour.
    let config = parse(&with("", ""), &[]).unwrap();
    let bank = &config.banks[0];
    assert_eq!(
        transport_of(None, bank.transport.as_ref()),
        LinkTransport::default()
    );
    // ATM with a CBR contract: pacing to the contract, 31-cell datagrams.
    let config = parse(&with("carrier = \"atm\"", "carrier = \"atm\""), &[]).unwrap();
    let bank = &config.banks[0];
    let circuit = circuit_of(bank.carrier, bank.atm.as_ref());
    let transport = transport_of(circuit.as_ref(), bank.transport.as_ref());
    assert_eq!(transport.datagram, DatagramSize::Fixed(1472));
    assert_eq!(
        transport.congestion,
        Congestion::Contract {
            rate_bps: 353_207 * 1472 * 8 / 31
        }
    );
    // A peer entry's own keys.
    let config = parse(
        &with(
            "carrier = \"atm\"",
            "carrier = \"atm\"\ntransport = { congestion = \"bbr\", datagram_bytes = 1424 }",
        ),
        &[],
    )
    .unwrap();
    let peer = &config.banks[0].peers[0];
    let transport = transport_of(circuit.as_ref(), peer.transport.as_ref());
    assert_eq!(transport.congestion, Congestion::Bbr);
    assert_eq!(transport.datagram, DatagramSize::Fixed(1424));

    let error = error_of(
        &with("[banks.transport]\ncongestion = \"contract\"", ""),
        &[],
    );
    assert!(
        error.contains("`banks[0].transport.congestion`") && error.contains("carrier"),
        "{error}"
    );
    let error = error_of(
        &with(
            "carrier = \"atm\"\n[banks.transport]\ndatagram_bytes = 1452",
            "",
        ),
        &[],
    );
    assert!(
        error.contains("`banks[0].transport.datagram_bytes`") && error.contains("whole cells"),
        "{error}"
    );
    let error = error_of(&with("", "transport = { datagram_bytes = 1000 }"), &[]);
    assert!(
        error.contains("`banks[0].peers[0].transport.datagram_bytes`"),
        "{error}"
    );
    let error = error_of(&with("[banks.transport]\ncongestion = \"vegas\"", ""), &[]);
    assert!(error.contains("congestion"), "{error}");
}

#[test]
fn a_bank_advertises_its_link_addresses_and_a_list_a_peer_cannot_use_is_refused() {
    let with = |advertise: &str, carrier: &str| {
        ONE_BANK.replace(
            "[banks.issuer]",
            &format!("link_advertise = {advertise}\n{carrier}\n[banks.issuer]"),
        )
    };
    let config = parse(&with(r#"["127.0.0.1:7811", "127.0.0.1:7812"]"#, ""), &[]).unwrap();
    assert_eq!(
        config.banks[0].link_advertise,
        [
            "127.0.0.1:7811".parse().unwrap(),
            "127.0.0.1:7812".parse().unwrap()
        ]
    );
    assert!(
        parse(ONE_BANK, &[]).unwrap().banks[0]
            .link_advertise
            .is_empty()
    );

    let nine = format!("[{}]", ["\"127.0.0.1:1\""; 9].join(", "));
    for (advertise, carrier, says) in [
        (nine.as_str(), "", "at most 8"),
        (r#"["127.0.0.1:1", "[::1]:1"]"#, "", "IPv4"),
        (
            r#"["127.0.0.1:1", "127.0.0.1:2"]"#,
            "carrier = \"atm\"",
            "one address",
        ),
    ] {
        let error = error_of(&with(advertise, carrier), &[]);
        assert!(
            error.contains("banks[0].link_advertise") && error.contains(says),
            "{error}"
        );
    }
}

#[test]
fn fees_are_per_minted_value_and_a_bad_fee_names_its_key() {
    let with =
        |fees: &str| ONE_BANK.replace("[[banks.peers]]", &format!("{fees}\n[[banks.peers]]"));
    let good = with(
        "[[banks.issuer.fees]]\nvalue = \"EUR:1.00\"\nwithdraw = \"EUR:0.01\"\nswap = \"EUR:0.02\"",
    );
    let config = parse(&good, &[]).unwrap();
    let fees = config.banks[0].issuer.as_ref().unwrap().fees[0].fees();
    assert_eq!(fees.withdraw, "EUR:0.01".parse().unwrap());
    assert_eq!(fees.deposit, "EUR:0.00".parse().unwrap());
    assert_eq!(fees.swap, "EUR:0.02".parse().unwrap());
    let not_minted = error_of(&with("[[banks.issuer.fees]]\nvalue = \"EUR:2.00\""), &[]);
    assert!(
        not_minted.contains("banks[0].issuer.fees[0].value"),
        "{not_minted}"
    );
    let whole = error_of(
        &with("[[banks.issuer.fees]]\nvalue = \"EUR:1.00\"\ndeposit = \"EUR:1.00\""),
        &[],
    );
    assert!(whole.contains("banks[0].issuer.fees[0]"), "{whole}");
    assert!(whole.contains("not below"), "{whole}");
}
