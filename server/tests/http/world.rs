//! What the HTTP tests run against: the embedded deployment (an issuer, an acquirer and a clearing
//! house over loopback QUIC, with its HTTP API), or a bare HTTP API over no roles.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use semper_actors::clock::{Clock, ManualClock, SystemClock};
use semper_protocol::ids::BankId;
use semper_server::config::Config;
use semper_server::deployment::Deployment;
use semper_server::http::{ClientBounds, HttpApi, HttpSettings, MetricsRender, OperatorToken};
use semper_server::interbank::HostedRoles;

use crate::client::Client;
pub use crate::support::{TempDir, now};

/// The bound on a whole test.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The token of the bare APIs.
pub const TOKEN: &str = "http-test-operator-token";
/// A cycle age no test reaches, however far it sets its clock.
const TEN_YEARS_MS: u64 = 10 * 365 * 24 * 3_600_000;
/// What the bare APIs render at `/metrics`.
pub const METRICS_TEXT: &str = "# semper http test metrics\n";

/// Runs `future` in a fresh actix system, bounded by [`TEST_TIMEOUT`].
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    actix::System::new().block_on(async move {
        tokio::time::timeout(TEST_TIMEOUT, future)
            .await
            .expect("the test took longer than its bound")
    })
}

pub fn metrics_render() -> MetricsRender {
    Arc::new(|| METRICS_TEXT.to_owned())
}

/// The embedded deployment, and clients of its HTTP API.
pub struct Embedded {
    pub deployment: Deployment,
    /// A client without the operator token.
    pub public: Client,
    /// A client with it.
    pub operator: Client,
    _dir: TempDir,
}

impl Embedded {
    /// Starts the embedded deployment under a fresh directory. Outbox passes and cut-offs are
    /// left to the test, so that each step is deterministic.
    pub async fn start(name: &str) -> Self {
        Self::start_with(name, Arc::new(SystemClock), 3_600_000).await
    }

    /// The same, on a clock the test sets, so that it can take denominations past their windows.
    /// No cycle is cut by age, however far the clock goes.
    pub async fn start_at(name: &str, clock: Arc<ManualClock>) -> Self {
        Self::start_with(name, clock, TEN_YEARS_MS).await
    }

    /// The same, with `edit` applied to the config first.
    pub async fn start_configured(name: &str, edit: impl FnOnce(&mut Config)) -> Self {
        Self::start_edited(name, Arc::new(SystemClock), 3_600_000, edit).await
    }

    async fn start_with(name: &str, clock: Arc<dyn Clock>, cycle_max_ms: u64) -> Self {
        Self::start_edited(name, clock, cycle_max_ms, |_| {}).await
    }

    async fn start_edited(
        name: &str,
        clock: Arc<dyn Clock>,
        cycle_max_ms: u64,
        edit: impl FnOnce(&mut Config),
    ) -> Self {
        let dir = TempDir::new(name);
        let mut config = Config::embedded_for_tests(&dir.0);
        // The tables open many accounts from one address; the bound has a test of its own.
        config.http.account_opens_per_client_per_min = 1_000;
        edit(&mut config);
        for bank in &mut config.banks {
            if let Some(acquirer) = &mut bank.acquirer {
                acquirer.submit_interval_ms = 3_600_000;
            }
            if let Some(clearing) = &mut bank.clearing {
                clearing.cycle_max_ms = cycle_max_ms;
            }
        }
        let deployment = Deployment::start(&config, clock, metrics_render())
            .await
            .unwrap_or_else(|error| panic!("the embedded deployment did not start: {error}"));
        let addr = deployment.http_addr().expect("the deployment serves HTTP");
        let public = Client::new(addr);
        let operator = public.with_token(deployment.operator_token().expose());
        Self {
            deployment,
            public,
            operator,
            _dir: dir,
        }
    }

    /// The bank that hosts the acquirer.
    pub fn acquirer_bank(&self) -> BankId {
        self.deployment
            .banks()
            .iter()
            .find(|bank| bank.roles.contains(&"acquirer"))
            .expect("the embedded default hosts an acquirer")
            .id
    }

    pub async fn stop(self) {
        self.deployment.stop().await;
    }
}

/// Settings of a bare API on a free loopback port.
pub fn settings(in_flight_max: usize, token: Option<&str>) -> HttpSettings {
    HttpSettings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        tls: None,
        workers: 2,
        body_limit_bytes: 4096,
        requests_in_flight_max: in_flight_max,
        connections_max: 1024,
        clients: ClientBounds {
            connections_max: 256,
            requests_in_flight_max: 128,
        },
        head_timeout: Duration::from_secs(5),
        body_timeout: Duration::from_secs(10),
        keep_alive: Duration::from_secs(5),
        coins_in_flight_max: 4096,
        retry_after_s: 7,
        operator_token: token.map(|token| OperatorToken::new(token.to_owned()).unwrap()),
        account_opens_per_client_per_min: 1000,
    }
}

/// An HTTP API over `roles` with `settings`, and a client of it.
pub fn serve(settings: &HttpSettings, roles: HostedRoles) -> (HttpApi, Client) {
    let api = HttpApi::serve(settings, roles, metrics_render(), None).unwrap();
    let client = Client::new(api.local_addr());
    (api, client)
}
