//! What the demo did, with its timings, and how `semper demo` prints it.

use std::fmt;
use std::time::Duration;

use semper_protocol::amount::Amount;
use semper_protocol::batch_verifier::PermissionError;
use semper_protocol::messages::deposit::SignedDepositPermission;

/// Wall-clock time of each step. Shown, never asserted: timing is the benches' job.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Generating the denomination's RSA key.
    pub keygen: Duration,
    /// The wallet making coin keys, blinding and signing the request.
    pub blind: Duration,
    /// The issuer verifying the request and blind-signing every coin.
    pub blind_sign: Duration,
    /// The wallet unblinding and checking every coin.
    pub finalize: Duration,
    /// The acquirer verifying every deposit permission in one batch.
    pub deposit_verify: Duration,
    /// The issuer verifying the batch again and checking it against its spent set.
    pub spend_check: Duration,
}

/// The outcome of a demo run in which every check held.
#[derive(Clone, Debug)]
pub struct DemoReport {
    /// Coins withdrawn and spent.
    pub coins: usize,
    /// The denomination key's modulus size.
    pub rsa_bits: u32,
    /// Workers of each bank's verification pool.
    pub verify_threads: usize,
    /// What one coin is worth.
    pub coin_value: Amount,
    /// The total withdrawn, debited from the account.
    pub withdrawn: Amount,
    /// The account's balance after the withdrawal.
    pub balance_after: Amount,
    /// Coins the issuer accepted on first spend.
    pub accepted: usize,
    /// Coins the issuer answered as replays when the batch was sent again.
    pub replayed: usize,
    /// What the merchant was credited, from the issuer's confirmation.
    pub merchant_credit: Amount,
    /// Coins in the issuer's spent set at the end.
    pub spent_coins: usize,
    /// The permission that spent the first coin.
    pub first_permission: SignedDepositPermission,
    /// The second permission the wallet signed for that coin.
    pub double_spend: SignedDepositPermission,
    /// The earlier permission the issuer returned as proof of the double spend.
    pub conflict_proof: SignedDepositPermission,
    /// Why the batch verifier refused the tampered permission.
    pub tampered_error: PermissionError,
    /// How long each step took.
    pub timings: Timings,
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.timings;
        let n = self.coins;
        let plural = if self.verify_threads == 1 { "" } else { "s" };
        let pool = format!("pool of {} thread{plural}", self.verify_threads);
        writeln!(
            f,
            "issuer    RSA-{} key for a {} denomination made in {}",
            self.rsa_bits,
            self.coin_value,
            ms(t.keygen)
        )?;
        writeln!(
            f,
            "          denomination set signed with the Ed25519 master key, verified by the \
             wallet and the acquirer"
        )?;
        writeln!(
            f,
            "withdraw  {n} coins in one request signed by the account key"
        )?;
        step(f, "wallet blinded", n, t.blind, "")?;
        step(f, "issuer blind-signed", n, t.blind_sign, &pool)?;
        step(f, "wallet unblinded", n, t.finalize, "")?;
        writeln!(
            f,
            "          account debited {}, balance {}",
            self.withdrawn, self.balance_after
        )?;
        writeln!(f, "deposit   {n} deposit permissions to alice")?;
        step(f, "acquirer batch-verified", n, t.deposit_verify, &pool)?;
        step(f, "issuer verified, checked", n, t.spend_check, &pool)?;
        writeln!(
            f,
            "          {} accepted; the issuer's confirmation verified; alice credited {}",
            self.accepted, self.merchant_credit
        )?;
        writeln!(
            f,
            "retry     the same batch again: {} replays, nothing spent or credited twice; {} \
             coins in the spent set",
            self.replayed, self.spent_coins
        )?;
        writeln!(
            f,
            "double    the first coin paid again, to bob: conflict, with its permission to alice \
             as proof"
        )?;
        writeln!(
            f,
            "tamper    alice's permission redirected to bob: refused alone in its batch with {}",
            self.tampered_error.code()
        )
    }
}

/// One timed line: what was done, to how many coins, how fast.
fn step(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    count: usize,
    duration: Duration,
    note: &str,
) -> fmt::Result {
    let seconds = duration.as_secs_f64();
    let per_second = if seconds > 0.0 {
        format!("{:.0} coins/s", count as f64 / seconds)
    } else {
        String::new()
    };
    let line = format!(
        "          {what:<26}{:>10}  {per_second:>15}  {note}",
        ms(duration)
    );
    writeln!(f, "{}", line.trim_end())
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}
