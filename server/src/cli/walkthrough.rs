//! `semper try`: a withdrawal, a payment, a deposit, a refused double spend, change (a swap at
//! the issuer), a partial refund and the refunded coin's swap, and a settlement against a running
//! deployment, over its HTTP API, printed step by step for a newcomer.
//!
//! Every step is the real protocol with real keys: the wallet blinds and unblinds its coins and
//! checks the issuer's signatures, the merchant signs its deposit, and a double spend's proof is
//! checked. The wallet and merchant are `semper-client`'s.

use std::net::SocketAddr;

use anyhow::{Context, bail, ensure};
use semper_client::parties::{Merchant, Wallet, withdrawable};
use semper_client::{Api, HttpClient, Tls};
use semper_protocol::acquirer::proves_double_spend;
use semper_protocol::amount::Amount;
use semper_protocol::ids::{BankId, ContractHash};
use semper_protocol::messages::merchant::DepositResult;
use semper_protocol::time::Timestamp;
use semper_server::config::Config;
use semper_server::deployment;

mod change;

/// Value the operator credits the new wallet's account with, in minor units of its currency.
const FUNDING_MINOR_UNITS: u64 = 100 * 100;

/// What to try against, and how much.
pub struct WalkthroughOptions {
    /// The HTTP API of a deployment that runs an issuer, an acquirer and a clearing house.
    pub http: SocketAddr,
    /// How to trust it over HTTPS; plain HTTP without.
    pub tls: Option<Tls>,
    /// The operator token.
    pub operator_token: String,
    /// The acquirer the merchant banks with.
    pub acquirer: BankId,
    /// Coins to withdraw and pay with.
    pub coins: usize,
    /// The time now, read by the shell.
    pub now: Timestamp,
}

impl WalkthroughOptions {
    /// The HTTP address, operator token and acquirer of `config`'s deployment: what `semper run`
    /// with the same config serves.
    pub fn from_config(config: &Config, coins: usize, now: Timestamp) -> anyhow::Result<Self> {
        let acquirer = config
            .banks
            .iter()
            .find(|bank| bank.acquirer.is_some())
            .map(|bank| bank.id)
            .context("the config runs no acquirer: pass --acquirer")?;
        let token = deployment::configured_operator_token(config)?;
        // A deployment serving HTTPS is trusted by its own certificate chain, pinned, under the
        // address it listens on.
        let tls = match &config.http.tls_cert {
            Some(cert) => Some(trust(
                &config.node.data_dir.join(cert),
                &config.http.listen.ip().to_string(),
            )?),
            None => None,
        };
        Ok(Self {
            http: config.http.listen,
            tls,
            operator_token: token,
            acquirer,
            coins,
            now,
        })
    }
}

/// Trusts the certificates of the PEM file `ca` for a server named `server_name`.
pub fn trust(ca: &std::path::Path, server_name: &str) -> anyhow::Result<Tls> {
    Ok(Tls::from_ca_file(ca, server_name)?)
}

/// Runs the walkthrough, printing each step; fails at the first step that does not hold.
pub fn walkthrough(options: &WalkthroughOptions) -> anyhow::Result<()> {
    let http = options.http;
    let (scheme, client) = match &options.tls {
        Some(tls) => ("https", HttpClient::with_tls(http, tls.clone())),
        None => ("http", HttpClient::new(http)),
    };
    println!("semper try: a withdrawal and a deposit against {scheme}://{http}\n");
    let mut api = Api::over(client, Some(options.operator_token.clone()));
    api.get::<serde_json::Value>("/health").with_context(|| {
        format!("no semper answers at {scheme}://{http}: is `make run` running?")
    })?;

    let set = api
        .denominations()
        .context("fetching the denomination set")?;
    let denomination = withdrawable(&set, options.now)
        .context("the issuer has no denomination open for withdrawal now")?;
    let value = denomination.fields().value;
    let currency = value.currency();
    println!(
        "1. denominations: the issuer's signed set has {} keys; using coins of {value}",
        set.body().fields().denominations.len()
    );

    let funding = Amount::from_minor_units(currency, FUNDING_MINOR_UNITS);
    let reference = format!("try-{:016x}", rand::random::<u64>());
    let wallet = Wallet::open(&mut api, currency, funding, &reference)?;
    println!(
        "2. wallet: opened account {} with a new Ed25519 key; the operator credited {funding} \
         (transfer {reference})",
        wallet.account
    );

    let withdrawal = wallet.withdraw(&mut api, &denomination, options.coins)?;
    let account = wallet.account_view(&mut api)?;
    let balance = account.balance;
    println!(
        "3. withdraw: {} coins blinded, blind-signed by the issuer, unblinded and checked; \
         balance now {balance}",
        withdrawal.coins.len()
    );

    let merchant = Merchant::register(&mut api, options.acquirer)?;
    println!(
        "4. merchant: registered {} at acquirer {}",
        merchant.id, options.acquirer
    );

    let deposit = merchant.deposit_of(&withdrawal.coins, ContractHash([1; 32]), options.now)?;
    let answer = merchant.deposit(&mut api, &deposit)?;
    let accepted = (answer.results().iter())
        .filter(|result| matches!(result, DepositResult::Accepted))
        .count();
    ensure!(
        accepted == withdrawal.coins.len(),
        "the deposit was not accepted whole: {:?}",
        answer.results()
    );
    let credited = (answer.credited().iter())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let merchant_view = merchant.view(&mut api)?;
    let balances = (merchant_view.balances.iter())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "5. pay and deposit: the wallet signed a permission per coin, the merchant deposited \
         them; {accepted} accepted (verified by the acquirer, checked against the spent set by \
         the issuer), {credited} credited, in an answer signed by the acquirer's bank key and \
         checked by the merchant; merchant balance {balances}"
    );

    let again = merchant.deposit_of(&withdrawal.coins, ContractHash([2; 32]), options.now)?;
    let answer = merchant.deposit(&mut api, &again)?;
    let mut proven = 0;
    for (permission, result) in again.body().permissions.iter().zip(answer.results()) {
        match result {
            DepositResult::Conflict { earlier }
                if proves_double_spend(permission, &permission.body_digest(), earlier) =>
            {
                proven += 1
            }
            other => bail!("a double spend was answered {other:?}"),
        }
    }
    println!(
        "6. double spend: the same coins paid again are refused, each with the earlier \
         permission as proof ({proven} of {proven} proofs check)"
    );

    change::change_and_refund(&mut api, &set, &wallet, &merchant, options.now, 7)?;

    change::wait_for_refund_confirmation(&mut api)?;
    api.flush_outbox()
        .context("submitting the acquirer's outbox")?;
    let report = api.cut_cycle().context("cutting the clearing cycle")?;
    let fields = report.body().fields();
    println!(
        "9. settle: the acquirer submitted the issuer's spend and refund confirmations; the \
         clearing house cut cycle {} and signed its report:",
        fields.sequence
    );
    for obligation in fields.obligations.iter() {
        println!(
            "     issuer {} owes acquirer {} {}",
            obligation.issuer, obligation.acquirer, obligation.amount
        );
    }
    for obligation in fields.refunds.iter() {
        println!(
            "     acquirer {} owes issuer {} {} for {} refund(s)",
            obligation.acquirer,
            obligation.issuer,
            obligation.amount,
            obligation.refunds.len()
        );
    }
    println!(
        "\nok: withdrawn, paid, deposited, double spend refused with proof, change made, \
         refunded in part and swapped, settled"
    );
    Ok(())
}
