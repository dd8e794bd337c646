//! [`HttpApi`]: binds, serves the routes of [`super::routes`] over HTTP or HTTPS with their bounds
//! and middleware, and stops gracefully.

use std::any::Any;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::rt::net::TcpStream;
use actix_web::{App, HttpServer, web};

use super::account_opens::AccountOpens;
use super::auth::OperatorToken;
use super::clients::{ClientBounds, Clients};
use super::error::{self, ApiError};
use super::routes;
use super::tls::TlsFiles;
use super::{observe, overload};
use crate::interbank::HostedRoles;

/// How long a stopping server lets requests under way finish before it drops them.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Bounds and secrets of the HTTP API.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The certificate and key to serve HTTPS with; plain HTTP without.
    pub tls: Option<TlsFiles>,
    /// Worker threads, each with its own event loop (at least one is started).
    pub workers: usize,
    /// Largest request body accepted, in bytes; more answers 413 `request.too_large`.
    pub body_limit_bytes: usize,
    /// Most requests in progress across the server, counted once their body is read; more
    /// answer 503 `server.busy` at once.
    pub requests_in_flight_max: usize,
    /// Most connections open at once across the server (shared out among the workers).
    pub connections_max: usize,
    /// Connections and requests in progress per client address.
    pub clients: ClientBounds,
    /// How long a client has to send a request's headers (408 and closed after it).
    pub head_timeout: Duration,
    /// How long a client has to send a request's body (408 `request.timeout` after it).
    pub body_timeout: Duration,
    /// How long an idle kept-alive connection stays open; zero: one request per connection.
    pub keep_alive: Duration,
    /// Most coins in withdrawals and deposits in progress across the server; a request that
    /// would take the count over answers 503 `server.busy` once its body is read.
    pub coins_in_flight_max: usize,
    /// The `Retry-After` of every answer that says "retry later", in seconds.
    pub retry_after_s: u32,
    /// The operator's secret; without one, every operator call answers 403.
    pub operator_token: Option<OperatorToken>,
    /// Most accounts one client address may open per minute; more answer 429
    /// `account.opens_limited` with `Retry-After`.
    pub account_opens_per_client_per_min: u32,
}

/// Renders the process's metrics as Prometheus text, for `GET /metrics`.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// What every handler reads: the roles, the operator token and the metrics renderer.
pub struct ApiState {
    /// The roles this process hosts.
    pub roles: HostedRoles,
    /// The operator's secret, if any.
    pub operator: Option<OperatorToken>,
    /// Renders `/metrics`.
    pub metrics: MetricsRender,
    /// The coins of withdrawals and deposits in progress, up to their bound.
    pub coins_in_flight: overload::Limiter,
    /// Account openings per client address, up to their bound.
    pub account_opens: AccountOpens,
}

/// How long a connection being closed has to take the last bytes.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

#[cfg(test)]
impl ApiState {
    /// A state hosting no role, without an operator token, with `coins_in_flight_max` coins and
    /// one account opening per client: for the middleware's tests.
    pub(crate) fn for_tests(coins_in_flight_max: usize, retry_after_s: u32) -> Self {
        Self {
            roles: Default::default(),
            operator: None,
            metrics: Arc::new(String::new),
            coins_in_flight: overload::Limiter::new(coins_in_flight_max, retry_after_s),
            account_opens: AccountOpens::new(1, std::time::Instant::now()),
        }
    }
}

/// The running HTTP API.
pub struct HttpApi {
    handle: ServerHandle,
    local_addr: SocketAddr,
    scheme: &'static str,
    task: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
}

impl HttpApi {
    /// Binds (or uses `listener` when given) and starts serving in the current actix system.
    pub fn serve(
        settings: &HttpSettings,
        roles: HostedRoles,
        metrics: MetricsRender,
        listener: Option<TcpListener>,
    ) -> std::io::Result<HttpApi> {
        let state = web::Data::new(ApiState {
            roles,
            operator: settings.operator_token.clone(),
            metrics,
            coins_in_flight: overload::Limiter::new(
                settings.coins_in_flight_max,
                settings.retry_after_s,
            ),
            account_opens: AccountOpens::new(
                settings.account_opens_per_client_per_min,
                Instant::now(),
            ),
        });
        let clients = Clients::new(settings.clients);
        let intake = web::Data::new(overload::Intake {
            requests: overload::Limiter::new(
                settings.requests_in_flight_max,
                settings.retry_after_s,
            ),
            clients: clients.clone(),
            body_limit_bytes: settings.body_limit_bytes,
            body_timeout: settings.body_timeout,
        });
        let workers = settings.workers.max(1);
        let keep_alive = if settings.keep_alive.is_zero() {
            KeepAlive::Disabled
        } else {
            KeepAlive::Timeout(settings.keep_alive)
        };
        let server = HttpServer::new(move || app(state.clone(), intake.clone()))
            .workers(workers)
            // actix-web counts connections per worker.
            .max_connections(settings.connections_max.div_ceil(workers).max(1))
            .client_request_timeout(settings.head_timeout)
            // A TLS handshake is the head of an HTTPS connection: the same time to finish it.
            .tls_handshake_timeout(settings.head_timeout)
            .client_disconnect_timeout(DISCONNECT_TIMEOUT)
            .keep_alive(keep_alive)
            .on_connect(move |io, extensions| {
                if let Some(stream) = tcp_stream_of(io) {
                    clients.on_connect(stream, extensions);
                }
            })
            // The process owns its signals: `main` decides when to stop, and calls `stop`.
            .disable_signals()
            .shutdown_timeout(STOP_GRACE.as_secs());
        let tls = match &settings.tls {
            Some(files) => Some(files.server_config().map_err(std::io::Error::other)?),
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let server = match (listener, tls) {
            (Some(listener), Some(tls)) => server.listen_rustls_0_23(listener, tls)?,
            (Some(listener), None) => server.listen(listener)?,
            (None, Some(tls)) => server.bind_rustls_0_23(settings.listen, tls)?,
            (None, None) => server.bind(settings.listen)?,
        };
        let local_addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| std::io::Error::other("the HTTP server has no address"))?;
        let server = server.run();
        let handle = server.handle();
        let task = actix_web::rt::spawn(server);
        tracing::info!(%local_addr, scheme, "HTTP API listening");
        Ok(HttpApi {
            handle,
            local_addr,
            scheme,
            task,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `https` when it serves TLS, `http` otherwise.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// Stops accepting, lets requests under way finish (graceful), then returns.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        // The server's own task ends with the stop; its result says nothing more.
        let _ = self.task.await;
        tracing::info!(local_addr = %self.local_addr, "HTTP API stopped");
    }
}

/// The application one worker serves: every route, the extractors' bounds and error answers,
/// and the middleware.
pub fn app(
    state: web::Data<ApiState>,
    intake: web::Data<overload::Intake>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let body_limit_bytes = intake.body_limit_bytes;
    App::new()
        .app_data(state)
        .app_data(intake)
        .app_data(
            web::JsonConfig::default()
                .limit(body_limit_bytes)
                .error_handler(error::json_error),
        )
        .app_data(web::PayloadConfig::new(body_limit_bytes))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .configure(|config| routes::all().register(config))
        .default_service(web::to(unknown_route))
        // The last `wrap` runs first: metrics and logs see every answer, busy ones too.
        .wrap(from_fn(overload::limit))
        .wrap(from_fn(observe::record))
}

/// The TCP stream under a new connection, plain or TLS.
fn tcp_stream_of(io: &dyn Any) -> Option<&TcpStream> {
    io.downcast_ref::<TcpStream>().or_else(|| {
        io.downcast_ref::<TlsStream<TcpStream>>()
            .map(|tls| tls.get_ref().0)
    })
}

/// Answers a path no endpoint has.
async fn unknown_route() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(
        error::ROUTE_UNKNOWN,
        "no endpoint at this path",
    ))
}
