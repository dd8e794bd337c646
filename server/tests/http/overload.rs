//! A request whose body is still coming is counted against its client, not against the
//! server's `requests_in_flight_max`: above `client_requests_in_flight_max` requests in progress
//! from one address, that address is answered 503 `server.busy` with `Retry-After` at once, while
//! another address is served; once they finish, the first is served again. (The server-wide
//! bound, on requests whose body is read, is tested beside the middleware.)

use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::client::{Client, Response, ResponseExt, connect, get_from, read_response};
use semper_server::http::{ClientBounds, HttpSettings};

use crate::world::{run, serve, settings};

/// The longest the test waits for the server to see a request it holds.
/// Generous: on a loaded 2-core CI machine the held request can take seconds to be dispatched.
const SETTLE: Duration = Duration::from_secs(30);

/// GETs `/health` until the answer has `status`, or panics after [`SETTLE`].
async fn until_status(client: &Client, status: u16) -> Response {
    let deadline = Instant::now() + SETTLE;
    loop {
        let response = client.get("/health").await;
        if response.status == status {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "never answered {status}: {response:?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn http_overload_answers_busy_with_retry_after() {
    run(async {
        // One worker, so the held request and the polls share it. With two, under the other
        // tests' load, the held request was seen not to be read at all while the polls were
        // served by the other worker (cause not found; see the session's closing note).
        // One request in progress across the server, and one per client.
        let one_each = HttpSettings {
            workers: 1,
            clients: ClientBounds {
                connections_max: 16,
                requests_in_flight_max: 1,
            },
            // Long enough for the held body, however slowly the test's steps run.
            body_timeout: Duration::from_secs(60),
            ..settings(1, None)
        };
        let (api, client) = serve(&one_each, Default::default());
        // One request held in progress from 127.0.0.1: its headers sent, its body not yet.
        let body = br#"{"account":"00","public_key":"00","currency":"EUR"}"#;
        let head = format!(
            "POST /v1/issuer/accounts HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let addr = client.addr;
        let mut held = actix_web::rt::task::spawn_blocking(move || {
            let mut stream = connect(addr);
            stream.write_all(head.as_bytes()).unwrap();
            stream
        })
        .await
        .unwrap();

        let busy = until_status(&client, 503).await;
        busy.assert_error(503, "server.busy");
        assert_eq!(busy.header("retry-after"), Some("7"));
        // Concurrent requests from the same address meanwhile: every one is refused at once.
        let burst: Vec<Response> = futures_join(&client, 8).await;
        for response in &burst {
            response.assert_error(503, "server.busy");
            assert_eq!(response.header("retry-after"), Some("7"));
        }
        // Another address is served: the slow upload holds none of the server's one slot.
        let other: IpAddr = [127, 0, 0, 2].into();
        let served = get_from(other, addr, "/health").await;
        assert_eq!(served.status, 200, "{}", served.text());

        // The held request finishes (the node hosts no issuer), and the bound frees.
        let answer = actix_web::rt::task::spawn_blocking(move || {
            held.write_all(body).unwrap();
            read_response(held)
        })
        .await
        .unwrap();
        answer.assert_error(400, "request.malformed");
        until_status(&client, 200).await;
        api.stop().await;
    });
}

/// `count` GETs of `/health` sent at once.
async fn futures_join(client: &Client, count: usize) -> Vec<Response> {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let client = client.clone();
            actix_web::rt::spawn(async move { client.get("/health").await })
        })
        .collect();
    let mut answers = Vec::with_capacity(count);
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}
