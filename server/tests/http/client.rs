//! A small HTTP/1.1 client over a blocking `TcpStream`, run on the blocking pool so that the actix
//! system under test keeps running: one request per connection, `Connection: close`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The longest a test waits for one answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as `T`; panics with the body if it is not.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "status {}: body is not the expected JSON ({error}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The `code` of a JSON error body.
    pub fn code(&self) -> String {
        let body: serde_json::Value = self.json();
        body["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no code in {body}"))
            .to_owned()
    }

    /// Asserts a JSON error with this status and code (and a message).
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code.to_owned()),
            "body: {}",
            String::from_utf8_lossy(&self.body)
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
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if let Some(token) = &self.token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&body);
        let addr = self.addr;
        actix_web::rt::task::spawn_blocking(move || exchange(addr, &bytes))
            .await
            .unwrap()
    }
}

/// Sends `request` on a new connection and reads the answer to the end.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Response {
    let mut stream = connect(addr);
    // The server may answer (and close) before reading a body it refuses: the answer counts.
    let _ = stream.write_all(request);
    read_response(&mut stream)
}

/// A connection with the test's timeouts.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    stream
}

/// Reads one answer, until the server closes the connection.
pub fn read_response(stream: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buffer[..n]),
            // A reset after the answer (the server dropped a body it refused) ends it too.
            Err(error) if !raw.is_empty() => {
                let _ = error;
                break;
            }
            Err(error) => panic!("no answer: {error}"),
        }
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Response {
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|window| window == b"\r\n")
            .expect("chunk size line");
        let size_text = std::str::from_utf8(&rest[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
