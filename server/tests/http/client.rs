//! The tests' client: semper-load's HTTP/1.1 client, run on the blocking pool so that the actix
//! system under test keeps running, with a new connection per request; and assertions on the
//! JSON answers.

use std::io::{BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use semper_client::HttpClient;
pub use semper_client::Response;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::messages::read::{ReadSubject, sign_read};
use semper_protocol::time::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The longest a test waits for one answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// Assertions on an answer.
pub trait ResponseExt {
    /// The body as `T`; panics with the body if it is not.
    fn json<T: DeserializeOwned>(&self) -> T;
    /// The `code` of a JSON error body.
    fn code(&self) -> String;
    /// Asserts a JSON error with this status and code (and a message).
    fn assert_error(&self, status: u16, code: &str);
}

impl ResponseExt for Response {
    fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "status {}: body is not the expected JSON ({error}): {}",
                self.status,
                self.text()
            )
        })
    }

    fn code(&self) -> String {
        let body: serde_json::Value = self.json();
        body["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no code in {body}"))
            .to_owned()
    }

    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code.to_owned()),
            "body: {}",
            self.text()
        );
        let body: serde_json::Value = self.json();
        assert!(body["message"].is_string(), "no message in {body}");
        assert_eq!(self.header("content-type"), Some("application/json"));
    }
}

/// A client of one server, with or without the operator's token.
#[derive(Clone, Debug)]
pub struct Client {
    pub addr: SocketAddr,
    token: Option<String>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, token: None }
    }

    /// The same client, sending `Authorization: Bearer <token>`.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            addr: self.addr,
            token: Some(token.to_owned()),
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send("GET", path, &[], Vec::new()).await
    }

    /// A GET of `subject`'s data, signed by `key` at `at` (a wallet's or a merchant's read).
    pub async fn get_signed(
        &self,
        path: &str,
        subject: ReadSubject,
        key: &SigningKey,
        at: Timestamp,
    ) -> Response {
        let authorization = signed_read(path, subject, key, at);
        self.send(
            "GET",
            path,
            &[("Authorization", &authorization)],
            Vec::new(),
        )
        .await
    }

    pub async fn post<T: Serialize>(&self, path: &str, body: &T) -> Response {
        let body = serde_json::to_vec(body).unwrap();
        self.send("POST", path, &[("Content-Type", "application/json")], body)
            .await
    }

    /// A POST without a body.
    pub async fn post_empty(&self, path: &str) -> Response {
        self.send("POST", path, &[], Vec::new()).await
    }

    /// Any request, with these extra headers and body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Response {
        let mut headers: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        if let Some(token) = &self.token {
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
        let (addr, method, path) = (self.addr, method.to_owned(), path.to_owned());
        actix_web::rt::task::spawn_blocking(move || {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect();
            let body = (!body.is_empty()).then_some(body.as_slice());
            HttpClient::new(addr)
                .request(&method, &path, &headers, body)
                .unwrap_or_else(|error| panic!("no answer: {error}"))
        })
        .await
        .unwrap()
    }
}

/// The `Authorization` value of a read of `path`, `subject`'s data, signed by `key` at `at`.
pub fn signed_read(path: &str, subject: ReadSubject, key: &SigningKey, at: Timestamp) -> String {
    let read = sign_read(key, subject, path, at).unwrap();
    format!(
        "Semper-Read {}.{}",
        at.unix_ms(),
        hex::encode(read.signature().0)
    )
}

/// A connection with the test's timeouts, for requests written by hand.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    stream
}

/// Reads one answer from a connection written by hand.
pub fn read_response(stream: TcpStream) -> Response {
    let addr = stream.peer_addr().unwrap();
    semper_client::read_response(&mut BufReader::new(stream), addr)
        .unwrap_or_else(|error| panic!("no answer: {error}"))
}

/// A connection from `local` (another loopback address, say), with the test's timeouts.
pub async fn connect_from(local: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(local, 0)).unwrap();
    let stream = socket.connect(addr).await.unwrap().into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    stream
}

/// `GET path` from `local`, on a connection of its own.
pub async fn get_from(local: IpAddr, addr: SocketAddr, path: &str) -> Response {
    let mut stream = connect_from(local, addr).await;
    let head = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    actix_web::rt::task::spawn_blocking(move || {
        stream.write_all(head.as_bytes()).unwrap();
        read_response(stream)
    })
    .await
    .unwrap()
}
