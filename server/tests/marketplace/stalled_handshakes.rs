//! An acquirer restarted while the issuer's and the clearing house's link servers are under a
//! stalled-handshake attack reconnects, and its deposits are answered: its denomination refresh,
//! spend checks and settlement submissions all reach their banks.
//!
//! Prints the deposits' success rate and p99 latency without and with the attack, measured in the
//! same run; only the outcomes are asserted.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use semper_protocol::messages::spend::SpendResult;
use semper_protocol::wallet::WalletCoin;

#[path = "../../../link/tests/support/stalled_handshakes.rs"]
mod stalled;

use stalled::{Attack, AttackConfig, Figures};

use crate::world::*;

/// Handshakes held open at each attacked bank: several times its 64 connection slots.
const ATTACK_HANDSHAKES: usize = 300;
/// How long the attacks run before the acquirer restarts.
const ATTACK_RAMP: Duration = Duration::from_secs(2);
/// Deposits in each phase, one coin each.
const DEPOSITS: usize = 8;

/// Deposits one coin per call at `ACQUIRER_1`, then submits: counts each call's outcome.
async fn deposit_and_submit(market: &Market, merchant: &Merchant, coins: &[WalletCoin]) -> Figures {
    let mut figures = Figures::default();
    for coin in coins {
        let started = Instant::now();
        let answer = market
            .acquirer(ACQUIRER_1)
            .deposit(merchant.deposit(vec![merchant.paid(coin, ACQUIRER_1)]))
            .await;
        let ok = answer.is_ok_and(|answer| answer.results.to_vec() == [SpendResult::Accepted]);
        figures.record(started.elapsed(), ok);
    }
    let started = Instant::now();
    let flushed = market.acquirer(ACQUIRER_1).flush_outbox().await;
    let ok = flushed.is_ok_and(|status| status.queued == 0 && status.pending.is_empty());
    figures.record(started.elapsed(), ok);
    figures
}

#[test]
fn an_acquirer_restarted_during_a_stalled_handshake_attack_still_deposits_and_submits() {
    stalled::raise_open_files_limit(4096);
    run(async {
        let mut world = World::new("stalled-handshakes");
        let mut market = world.start_all();
        market.refresh_all().await;
        let merchant = market.merchant_at(ACQUIRER_1, 5).await;
        let coins = market.coins(ISSUER_1, 2 * DEPOSITS).await;
        let quiet = deposit_and_submit(&market, &merchant, &coins[..DEPOSITS]).await;

        // The issuer from one source port, the clearing house from many.
        let attacker = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let attacks = [(ISSUER_1, 1), (CLEARING, ATTACK_HANDSHAKES)].map(|(bank, sockets)| {
            Attack::start(AttackConfig {
                target: world.addr(bank),
                source: attacker,
                handshakes: ATTACK_HANDSHAKES,
                sockets,
                alpn: b"semper-link/1".to_vec(),
            })
        });
        tokio::time::sleep(ATTACK_RAMP).await;

        // The acquirer restarts under attack: every link it has must connect afresh.
        market.stop(ACQUIRER_1).await;
        market.nodes.insert(ACQUIRER_1, world.start(ACQUIRER_1));
        let refreshed = market.acquirer(ACQUIRER_1).refresh_denominations().await;
        let attacked = deposit_and_submit(&market, &merchant, &coins[DEPOSITS..]).await;
        let sent: u64 = attacks.iter().map(Attack::datagrams_sent).sum();
        drop(attacks);

        println!(
            "stalled handshakes, end to end ({ATTACK_HANDSHAKES} handshakes at the issuer from one \
             source port and at the clearing house from {ATTACK_HANDSHAKES}, {sent} datagrams; \
             {DEPOSITS} deposits and one submission a phase): {}; {}",
            quiet.line("without attack"),
            attacked.line("under attack (acquirer restarted)")
        );
        assert!(sent as usize > 4 * ATTACK_HANDSHAKES, "the attacks ran");
        assert_eq!(
            quiet.success_rate(),
            1.0,
            "{}",
            quiet.line("without attack")
        );
        assert_eq!(
            refreshed.ok(),
            Some(2),
            "the denominations came over fresh links"
        );
        assert_eq!(
            attacked.success_rate(),
            1.0,
            "{}",
            attacked.line("under attack")
        );

        let report = market.clearing().cut_cycle().await.unwrap();
        let value = eur(coin_value(ISSUER_1)).minor_units();
        let owed: u64 = (report.body().fields().obligations.iter())
            .filter(|o| o.issuer == ISSUER_1 && o.acquirer == ACQUIRER_1)
            .map(|o| o.amount.minor_units())
            .sum();
        assert_eq!(owed, 2 * DEPOSITS as u64 * value, "every deposit settles");
    });
}
