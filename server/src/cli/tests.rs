//! The log filter: a client's broken HTTP does not reach the log, everything else does.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::log_filter;

/// A writer into a shared buffer, for reading back what was logged.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What `filter` lets through of an actix dispatcher error and one of semper's.
fn logged(filter: &str) -> String {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(log_filter(filter).unwrap())
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::error!(target: "actix_http::h1::dispatcher", "stream error: parse error");
        tracing::error!(target: "semper_server::http", "a fault of the server");
    });
    let text = buffer.0.lock().unwrap().clone();
    String::from_utf8(text).unwrap()
}

#[test]
fn cli_a_clients_broken_http_is_not_logged_as_an_error() {
    for filter in ["info", "debug", "warn,semper_server=debug"] {
        let text = logged(filter);
        assert!(!text.contains("stream error"), "{filter}: {text}");
        assert!(text.contains("a fault of the server"), "{filter}: {text}");
    }
    // Named, it is shown: how an operator debugs a client.
    assert!(logged("info,actix_http=error").contains("stream error"));
}
