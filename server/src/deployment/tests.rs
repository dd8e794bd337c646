//! How a deployment routes its links: a peer entry's addr, else its card's addresses.

use std::net::SocketAddr;
use std::path::Path;

use super::*;

fn card(dir: &Path, name: &str, id: u8, link_addrs: &[&str]) -> std::path::PathBuf {
    let card = BankCard {
        name: name.into(),
        id: BankId([id; 16]),
        certificate: hex::encode([1, 2, 3]),
        next_certificate: None,
        link_addrs: link_addrs
            .iter()
            .map(|addr| addr.parse().unwrap())
            .collect(),
        issuer: None,
        acquirer_key: None,
        clearing_key: Some(
            *semper_protocol::crypto::ed25519::SigningKey::generate(&mut rand::rng())
                .verifying_key(),
        ),
    };
    let path = dir.join(format!("{name}.toml"));
    card.write(&path).unwrap();
    path
}

#[test]
fn a_peer_is_called_at_its_entry_s_addr_else_at_every_address_its_card_lists() {
    let dir = std::env::temp_dir().join(format!("semper-routes-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let listed = card(&dir, "listed", 3, &["127.0.0.1:7811", "127.0.0.1:7812"]);
    let overridden = card(&dir, "overridden", 4, &["127.0.0.1:7821"]);
    let unlisted = card(&dir, "unlisted", 5, &[]);
    let text = format!(
        "[[banks]]\nname = \"issuer\"\nid = \"01000000000000000000000000000001\"\n\
         link_listen = \"127.0.0.1:7701\"\n[banks.issuer]\ndenominations = [\"EUR:1.00\"]\n\
         [[banks.peers]]\ncard = {listed:?}\n\
         [[banks.peers]]\ncard = {overridden:?}\naddr = \"127.0.0.1:7899\"\n\
         [[banks.peers]]\ncard = {unlisted:?}\n"
    );
    let config = Config::parse(
        &text,
        Path::new("test.toml"),
        &dir,
        std::iter::empty::<(String, String)>(),
    )
    .unwrap();
    let (mut cards, mut routes) = (Vec::new(), Routes::default());
    read_peer_cards(&config, &mut cards, &mut routes).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    let addrs = |list: &[&str]| -> Vec<SocketAddr> {
        list.iter().map(|addr| addr.parse().unwrap()).collect()
    };
    assert_eq!(
        routes.addrs.get(&BankId([3; 16])),
        Some(&addrs(&["127.0.0.1:7811", "127.0.0.1:7812"])),
        "the card's addresses, in its order"
    );
    assert_eq!(
        routes.addrs.get(&BankId([4; 16])),
        Some(&addrs(&["127.0.0.1:7899"])),
        "the peer entry's addr wins over the card"
    );
    assert_eq!(routes.addrs.get(&BankId([5; 16])), None, "no address known");
}
