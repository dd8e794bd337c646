//! Deployments that cannot run fail at start, naming the key to fix, and leave nothing running.

use std::sync::Arc;

use semper_actors::clock::SystemClock;
use semper_server::config::Config;
use semper_server::deployment::Deployment;

use super::TempDir;

fn start_error(config: &Config) -> String {
    actix::System::new().block_on(async {
        match Deployment::start(config, Arc::new(SystemClock), Arc::new(String::new)).await {
            Ok(deployment) => {
                deployment.stop().await;
                panic!("the deployment started");
            }
            Err(error) => error.to_string(),
        }
    })
}

#[test]
fn an_acquirer_without_a_clearing_house_or_a_peer_without_an_address_is_refused() {
    let dir = TempDir::new("deployment");
    let mut config = Config::embedded_for_tests(&dir.0);
    config.banks.remove(2);
    let error = start_error(&config);
    assert!(error.contains("`banks[1].acquirer`"), "{error}");
    assert!(error.contains("clearing house"), "{error}");

    // The clearing house of another process, named by its card but without its address.
    let clearing = Config::embedded_for_tests(&dir.0.join("other"));
    let card = actix::System::new().block_on(async {
        let deployment = Deployment::start(&clearing, Arc::new(SystemClock), Arc::new(String::new))
            .await
            .unwrap();
        let card = deployment.banks()[2].card.clone();
        deployment.stop().await;
        card
    });
    config.banks[1]
        .peers
        .push(semper_server::config::PeerSection {
            card,
            addr: None,
            carrier: Default::default(),
            atm: None,
            transport: None,
        });
    let error = start_error(&config);
    assert!(error.contains("`banks[1].peers`"), "{error}");
    assert!(error.contains("give the addr"), "{error}");
}
