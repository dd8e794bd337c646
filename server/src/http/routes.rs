//! Every endpoint, registered through [`Routes`], which records each (method, path, access) as it
//! registers it: the record is what the OpenAPI document is checked against, both ways.

use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::from_fn;
use actix_web::{FromRequest, Handler, HttpResponse, Responder, ResponseError, web};

use super::error::{ApiError, METHOD_NOT_ALLOWED};
use super::{acquirer, auth, clearing, issuer, keys, node};

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: wallets, merchants, monitoring.
    Open,
    /// The operator, with the bearer token.
    Operator,
    /// The operator, or the holder of the key of the account or merchant that the path names,
    /// with a signed read (`Authorization: Semper-Read`, see `http::owner`).
    Owner,
}

/// One endpoint, as registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Its method.
    pub method: Method,
    /// Its path pattern, as actix and OpenAPI both write it (`/v1/issuer/accounts/{account}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
}

/// The endpoints, with their handlers, in registration order.
pub struct Routes {
    entries: Vec<(Endpoint, actix_web::Route)>,
}

impl Routes {
    fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Adds an endpoint anyone may call.
    fn open<F, Args>(self, method: Method, path: &'static str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route = web::method(method.clone()).to(handler);
        self.add(method, path, Access::Open, route)
    }

    /// Adds an operator endpoint: its handler runs only after the bearer token checks out.
    fn operator<F, Args>(self, method: Method, path: &'static str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route = web::method(method.clone())
            .to(handler)
            .wrap(from_fn(auth::require_operator));
        self.add(method, path, Access::Operator, route)
    }

    /// Adds an endpoint that reads one account's or merchant's data: its handler runs only after
    /// the bearer token, or a signed read by the key of the subject its path names, checks out.
    fn owner<F, Args>(self, method: Method, path: &'static str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route = web::method(method.clone())
            .to(handler)
            .wrap(from_fn(auth::require_operator_or_owner));
        self.add(method, path, Access::Owner, route)
    }

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        route: actix_web::Route,
    ) -> Self {
        let endpoint = Endpoint {
            method,
            path,
            access,
        };
        self.entries.push((endpoint, route));
        self
    }

    /// The endpoints registered.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.entries
            .iter()
            .map(|(endpoint, _)| endpoint.clone())
            .collect()
    }

    /// Registers every endpoint: one resource per path, holding a route per method, and
    /// answering 405 `route.method_not_allowed` to any other method.
    pub fn register(self, config: &mut web::ServiceConfig) {
        let mut paths: Vec<&'static str> = Vec::new();
        for (endpoint, _) in &self.entries {
            if !paths.contains(&endpoint.path) {
                paths.push(endpoint.path);
            }
        }
        let mut entries = self.entries;
        for path in paths {
            let (here, rest): (Vec<_>, Vec<_>) = entries
                .into_iter()
                .partition(|(endpoint, _)| endpoint.path == path);
            entries = rest;
            let allow = here
                .iter()
                .map(|(endpoint, _)| endpoint.method.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let resource = here
                .into_iter()
                .fold(web::resource(path), |resource, (_, route)| {
                    resource.route(route)
                })
                .default_service(web::to(move || method_not_allowed(allow.clone())));
            config.service(resource);
        }
    }
}

/// Answers a known path with a method it has no endpoint for, with the `Allow` header RFC 9110
/// requires of a 405: the methods it has.
async fn method_not_allowed(allow: String) -> HttpResponse {
    let error = ApiError::new(
        METHOD_NOT_ALLOWED,
        format!("this path has no endpoint for this method; it has {allow}"),
    );
    let mut response = error.error_response();
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// Every endpoint of the API.
pub fn all() -> Routes {
    Routes::new()
        // Every node.
        .open(Method::GET, "/health", node::health)
        .operator(Method::GET, "/metrics", node::metrics)
        .open(Method::GET, "/openapi.json", node::openapi)
        .open(Method::GET, "/v1/keys", keys::keys)
        // Issuer.
        .open(
            Method::GET,
            "/v1/issuer/denominations",
            issuer::denominations,
        )
        .operator(
            Method::POST,
            "/v1/issuer/denominations",
            issuer::publish_denominations,
        )
        .operator(
            Method::GET,
            "/v1/issuer/denominations/export",
            issuer::export_denominations,
        )
        .open(Method::POST, "/v1/issuer/accounts", issuer::open_account)
        .owner(
            Method::GET,
            "/v1/issuer/accounts/{account}",
            issuer::account,
        )
        .operator(
            Method::POST,
            "/v1/issuer/accounts/{account}/credit",
            issuer::credit,
        )
        .open(Method::POST, "/v1/issuer/withdraw", issuer::withdraw)
        .open(Method::POST, "/v1/issuer/recoup", issuer::recoup)
        .open(Method::POST, "/v1/issuer/swap", issuer::swap)
        .operator(
            Method::GET,
            "/v1/issuer/discrepancies",
            issuer::discrepancies,
        )
        .operator(Method::GET, "/v1/issuer/issued", issuer::issued)
        // Acquirer.
        .operator(
            Method::POST,
            "/v1/acquirer/merchants",
            acquirer::register_merchant,
        )
        .owner(
            Method::GET,
            "/v1/acquirer/merchants/{merchant}",
            acquirer::merchant,
        )
        .open(Method::POST, "/v1/acquirer/deposits", acquirer::deposit)
        .open(Method::POST, "/v1/acquirer/refunds", acquirer::refund)
        .owner(
            Method::GET,
            "/v1/acquirer/merchants/{merchant}/deposits/{deposit_id}",
            acquirer::deposit_status,
        )
        .operator(
            Method::POST,
            "/v1/acquirer/denominations/refresh",
            acquirer::refresh_denominations,
        )
        .operator(Method::GET, "/v1/acquirer/outbox", acquirer::outbox)
        .operator(
            Method::POST,
            "/v1/acquirer/outbox/flush",
            acquirer::flush_outbox,
        )
        .operator(
            Method::GET,
            "/v1/acquirer/discrepancies",
            acquirer::discrepancies,
        )
        // Clearing house.
        .open(Method::GET, "/v1/clearing/cycle", clearing::cycle)
        .operator(Method::POST, "/v1/clearing/cycle/cut", clearing::cut)
        .operator(Method::GET, "/v1/clearing/reports", clearing::reports)
}

#[cfg(test)]
mod tests;
