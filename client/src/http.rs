//! A small blocking HTTP/1.1 client over one kept-alive TCP connection, plain or TLS: enough for
//! semper's JSON API, with no dependency beyond the standard library and rustls (on ring). Every
//! read and write has a timeout, and a response body is bounded.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// Largest response body read.
pub const RESPONSE_MAX_BYTES: usize = 64 << 20;
/// Longest a read or write may block.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP response.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower-cased) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The value of header `name` (lower-case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a request failed below HTTP.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The connection failed.
    #[error("connection to {addr}: {source}")]
    Io {
        /// The server.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server's answer is not HTTP/1.1 as expected.
    #[error("bad response from {addr}: {problem}")]
    Protocol {
        /// The server.
        addr: SocketAddr,
        /// Why.
        problem: String,
    },
}

/// Largest CA file read: a few certificates.
const CA_FILE_MAX_BYTES: u64 = 256 * 1024;

/// How an HTTPS client trusts its server: the certificates of one PEM file (a CA's, or the
/// server's own, pinned) as its only roots, and the name the server's certificate must carry.
#[derive(Clone, Debug)]
pub struct Tls {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

/// Why an HTTPS client could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("TLS trust {path}: {problem}")]
pub struct TlsSetupError {
    /// The CA file.
    pub path: String,
    /// Why.
    pub problem: String,
}

impl Tls {
    /// Trusts the certificates in the PEM file `ca` alone, for a server named `server_name` (a
    /// DNS name, or an IP address its certificate names).
    pub fn from_ca_file(ca: &Path, server_name: &str) -> Result<Self, TlsSetupError> {
        let problem = |problem: String| TlsSetupError {
            path: ca.display().to_string(),
            problem,
        };
        let mut pem = Vec::new();
        File::open(ca)
            .and_then(|file| file.take(CA_FILE_MAX_BYTES + 1).read_to_end(&mut pem))
            .map_err(|error| problem(error.to_string()))?;
        if pem.len() as u64 > CA_FILE_MAX_BYTES {
            return Err(problem(format!("larger than {CA_FILE_MAX_BYTES} bytes")));
        }
        let mut roots = RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(&pem) {
            let certificate = certificate.map_err(|error| problem(error.to_string()))?;
            roots
                .add(certificate)
                .map_err(|error| problem(error.to_string()))?;
        }
        if roots.is_empty() {
            return Err(problem("no certificate in the file".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| problem(error.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|error| problem(format!("server name {server_name:?}: {error}")))?;
        Ok(Self {
            config: Arc::new(config),
            server_name,
        })
    }
}

/// A connection: plain TCP, or TLS over it.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.read(buf),
            Self::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.write(buf),
            Self::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(stream) => stream.flush(),
            Self::Tls(stream) => stream.flush(),
        }
    }
}

/// One connection to one server; reconnects when the server closed it.
pub struct HttpClient {
    addr: SocketAddr,
    tls: Option<Tls>,
    connection: Option<BufReader<Stream>>,
}

impl HttpClient {
    /// A client of the server at `addr`, in plain HTTP; connects on the first request.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            tls: None,
            connection: None,
        }
    }

    /// A client of the server at `addr` over HTTPS, trusting it as `tls` says.
    pub fn with_tls(addr: SocketAddr, tls: Tls) -> Self {
        Self {
            addr,
            tls: Some(tls),
            connection: None,
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `method path` with `body` (JSON when given) and `headers`, and reads the answer.
    /// A request on a kept-alive connection the server had closed is sent again once on a new
    /// one; semper's requests are idempotent by their ids, so that is safe.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, HttpError> {
        let reused = self.connection.is_some();
        match self.try_request(method, path, headers, body) {
            Err(HttpError::Io { .. }) if reused => {
                self.connection = None;
                self.try_request(method, path, headers, body)
            }
            other => other,
        }
    }

    fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, HttpError> {
        let addr = self.addr;
        let io = |source| HttpError::Io { addr, source };
        if self.connection.is_none() {
            let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(io)?;
            stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
            stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
            stream.set_nodelay(true).map_err(io)?;
            let stream = match &self.tls {
                // The handshake runs on the first write, under the same timeouts.
                Some(tls) => {
                    let session =
                        ClientConnection::new(tls.config.clone(), tls.server_name.clone())
                            .map_err(|error| io(std::io::Error::other(error)))?;
                    Stream::Tls(Box::new(StreamOwned::new(session, stream)))
                }
                None => Stream::Plain(stream),
            };
            self.connection = Some(BufReader::new(stream));
        }
        let Some(connection) = self.connection.as_mut() else {
            unreachable!("connected above");
        };
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut message = head.into_bytes();
        message.extend_from_slice(body);
        // A server may answer, and close, before reading a body it refuses (too large, say):
        // its answer still counts, so a failed write is reported only when no answer follows.
        let written = connection
            .get_mut()
            .write_all(&message)
            .and_then(|()| connection.get_mut().flush());
        let response = match (read_response(connection, addr), written) {
            (Ok(response), _) => Ok(response),
            (Err(_), Err(error)) => Err(io(error)),
            (Err(error), Ok(())) => Err(error),
        };
        let keep = matches!(&response, Ok(r) if r.header("connection") != Some("close"));
        if !keep {
            self.connection = None;
        }
        response
    }
}

/// Reads one response from `reader` (a connection to `addr`).
pub fn read_response(reader: &mut impl BufRead, addr: SocketAddr) -> Result<Response, HttpError> {
    let io = |source| HttpError::Io { addr, source };
    let bad = |problem: &str| HttpError::Protocol {
        addr,
        problem: problem.to_owned(),
    };
    let mut line = String::new();
    if reader.read_line(&mut line).map_err(io)? == 0 {
        return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(io)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').ok_or_else(|| bad("bad header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(reader, addr)?
    } else {
        let length: usize = find("content-length")
            .map(|v| v.parse().map_err(|_| bad("bad content-length")))
            .transpose()?
            .unwrap_or(0);
        if length > RESPONSE_MAX_BYTES {
            return Err(bad("response body too large"));
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).map_err(io)?;
        body
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn read_chunked(reader: &mut impl BufRead, addr: SocketAddr) -> Result<Vec<u8>, HttpError> {
    let io = |source| HttpError::Io { addr, source };
    let bad = |problem: &str| HttpError::Protocol {
        addr,
        problem: problem.to_owned(),
    };
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(io)?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| bad("bad chunk size"))?;
        if body.len() + size > RESPONSE_MAX_BYTES {
            return Err(bad("response body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).map_err(io)?;
        line.clear();
        reader.read_line(&mut line).map_err(io)?;
        if size == 0 {
            return Ok(body);
        }
    }
}
