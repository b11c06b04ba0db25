//! Faults around a real loopback server running the whole stack (W3C log → error
//! pages → request filtering → caught panics → handlers): clients that go away at
//! every stage, handlers and bodies that panic, and a graceful shutdown with
//! requests in flight. Each request that reached the stack has exactly one line.
#![cfg(all(feature = "axum", feature = "test-site"))]

use crate::common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::common::server::{app, get_once, Handled, Server};
use crate::common::{entries, TempDir};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tower_iis::test_site::read_response;
use tower_iis::w3c::reader::Entry;
use tower_iis::w3c::{W3cLogGuard, W3cLogHandle, W3cLogLayer};

fn log(dir: &TempDir) -> (W3cLogLayer, W3cLogGuard) {
    W3cLogLayer::builder()
        .directory(&dir.0)
        .flush_interval(Duration::from_millis(50))
        .build()
        .unwrap()
}

/// Flushes until `n` entries are there (at most 10 s), and returns them.
async fn wait_for_lines(handle: &W3cLogHandle, dir: &TempDir, n: usize) -> Vec<Entry> {
    for _ in 0..200 {
        handle.flush().unwrap();
        let e = entries(&dir.0);
        if e.len() >= n {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} lines: {:#?}", entries(&dir.0));
}

fn by_query<'a>(lines: &'a [Entry], query: &str) -> Vec<&'a Entry> {
    lines
        .iter()
        .filter(|e| e.get("cs-uri-query") == Some(query))
        .collect()
}

fn codes(e: &Entry) -> (Option<u16>, Option<u16>, Option<u32>) {
    (e.status(), e.substatus(), e.win32_status())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_leave_are_logged_once_with_64() {
    let dir = TempDir::new("leave");
    let (layer, guard) = log(&dir);
    let handle = guard.handle();
    let handled = Arc::new(Handled::default());
    let server = Server::start(app(layer, handled.clone()), None).await;
    let addr = server.addr;
    // Waits until the handler of the `n`th request has been called, so a client
    // leaves only once its request is in the stack.
    let handler_called = |n: u64| {
        let handled = handled.clone();
        async move {
            for _ in 0..500 {
                if handled.calls.load(Ordering::SeqCst) >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("handler {n} was not called within 5 s");
        }
    };

    // 1. Gone before reading anything: a 32 MiB answer nobody reads.
    {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /big?case=unread HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        handler_called(1).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // 2. Gone in the middle of a streamed body.
    {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /stream?case=mid-body HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 8192];
        let mut got = 0;
        while got < 4096 {
            let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0);
            got += n;
        }
    }
    // 3. Gone while the handler runs (it sleeps 300 ms).
    {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /sleep?case=in-handler HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        handler_called(3).await;
    }
    // 4. Half-close after sending: hyper drops the request in flight.
    {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /sleep?case=half-close HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        s.shutdown().await.unwrap();
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
    }
    // 5. A keep-alive connection: two answers read, the third abandoned mid-body.
    {
        let mut s = BufReader::new(TcpStream::connect(addr).await.unwrap());
        for q in ["keep-1", "keep-2"] {
            let req = format!("GET /slow?case={q} HTTP/1.1\r\nHost: localhost\r\n\r\n");
            s.get_mut().write_all(req.as_bytes()).await.unwrap();
            let res = read_response(&mut s, "GET").await.unwrap();
            assert_eq!(res.status, 200);
        }
        s.get_mut()
            .write_all(b"GET /stream?case=keep-3 HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 2048];
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0);
    }

    // Hyper may drop the half-closed request before the stack sees it: then it
    // has no line, as it never reached the log layer.
    let reached = server.requests.load(Ordering::SeqCst) as usize;
    assert!(reached == 6 || reached == 7, "{reached}");
    eprintln!("requests that reached the stack: {reached} of 7");
    wait_for_lines(&handle, &dir, reached).await;
    // Nothing more arrives later.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let lines = wait_for_lines(&handle, &dir, reached).await;
    assert_eq!(
        lines.len(),
        reached,
        "one line per request that reached the stack: {lines:#?}"
    );
    if reached == 6 {
        assert!(by_query(&lines, "case=half-close").is_empty());
    }
    for (case, expect) in [
        ("case=unread", (Some(200), Some(0), Some(64))),
        ("case=mid-body", (Some(200), Some(0), Some(64))),
        ("case=in-handler", (Some(500), Some(0), Some(64))),
        ("case=half-close", (Some(500), Some(0), Some(64))),
        ("case=keep-1", (Some(200), Some(0), Some(0))),
        ("case=keep-2", (Some(200), Some(0), Some(0))),
        ("case=keep-3", (Some(200), Some(0), Some(64))),
    ] {
        let found = by_query(&lines, case);
        if case == "case=half-close" && reached == 6 {
            continue;
        }
        assert_eq!(found.len(), 1, "{case}: exactly one line: {lines:#?}");
        assert_eq!(codes(found[0]), expect, "{case}");
    }
    server.shutdown().await;
    drop(guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_get_the_500_page_and_one_line() {
    let dir = TempDir::new("panics");
    let (layer, guard) = log(&dir);
    let handle = guard.handle();
    let server = Server::start(app(layer, Arc::default()), None).await;

    // A handler that panics: caught, IIS's 500 page, the connection lives on.
    let res = get_once(server.addr, "/panic?case=handler").await;
    assert_eq!(res.status, 500);
    assert!(res
        .text()
        .contains("<title>IIS 10.0 Detailed Error - 500.0 - Internal Server Error</title>"));
    assert!(res.text().contains("the handler panicked on purpose"));

    // A body that panics after its head was sent: nothing can be caught any more;
    // the connection is cut, and the line says the server aborted it (1236).
    let raw = common::server::send_raw(
        server.addr,
        b"GET /panic-body?case=body HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(raw.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(!raw.ends_with(b"0\r\n\r\n"), "the body is cut short");

    // The server still answers.
    assert_eq!(get_once(server.addr, "/ok?case=after").await.status, 200);

    let lines = wait_for_lines(&handle, &dir, 3).await;
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let handler = by_query(&lines, "case=handler");
    assert_eq!(handler.len(), 1);
    assert_eq!(
        (handler[0].status(), handler[0].substatus()),
        (Some(500), Some(0))
    );
    let body = by_query(&lines, "case=body");
    assert_eq!(body.len(), 1);
    assert_eq!(codes(body[0]), (Some(200), Some(0), Some(1236)));
    server.shutdown().await;
    drop(guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_writes_every_line() {
    let dir = TempDir::new("shutdown");
    let (layer, guard) = log(&dir);
    let server = Server::start(app(layer, Arc::default()), None).await;
    let addr = server.addr;

    // 48 requests in flight (300 ms handlers and 100 ms streamed bodies), some on
    // keep-alive connections that send a second request.
    let mut clients = Vec::new();
    for i in 0..32 {
        clients.push(tokio::spawn(async move {
            let mut s = BufReader::new(TcpStream::connect(addr).await.unwrap());
            let mut answered = 0;
            let rounds = if i % 2 == 0 { 2 } else { 1 };
            for r in 0..rounds {
                let path = if (i + r) % 2 == 0 { "sleep" } else { "slow" };
                let close = if r + 1 == rounds {
                    "Connection: close\r\n"
                } else {
                    ""
                };
                let req =
                    format!("GET /{path}?c={i}&r={r} HTTP/1.1\r\nHost: localhost\r\n{close}\r\n");
                if s.get_mut().write_all(req.as_bytes()).await.is_err() {
                    break;
                }
                match read_response(&mut s, "GET").await {
                    Ok(res) if res.status == 200 => answered += 1,
                    _ => break,
                }
            }
            answered
        }));
    }
    // Shut down once every first request is in the stack.
    for _ in 0..500 {
        if server.requests.load(Ordering::SeqCst) >= 32 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(server.requests.load(Ordering::SeqCst) >= 32);
    let stop = tokio::spawn(server.shutdown());
    let mut answered = 0;
    for c in clients {
        answered += c.await.unwrap();
    }
    stop.await.unwrap();
    let stats = guard.handle();
    drop(guard); // after the server stopped: flushes and closes the file

    let lines = entries(&dir.0);
    assert_eq!(lines.len(), answered, "one line per answered request");
    assert!(
        answered >= 32,
        "every first request in flight was answered: {answered}"
    );
    assert!(
        lines.iter().all(|e| e.win32_status() == Some(0)),
        "{lines:#?}"
    );
    assert_eq!(stats.stats().dropped, 0);
}

/// A response with no body on the wire (to HEAD, or 204/304) is complete once its
/// head is sent: the server drops the body unread, and the client did not leave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodiless_answers_are_not_logged_as_disconnects() {
    let dir = TempDir::new("bodiless");
    let (layer, guard) = log(&dir);
    let handle = guard.handle();
    let server = Server::start(app(layer, Arc::default()), None).await;
    let mut s = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    for q in ["head-1", "head-2"] {
        let req = format!("HEAD /ok?{q} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        s.get_mut().write_all(req.as_bytes()).await.unwrap();
        let res = read_response(&mut s, "HEAD").await.unwrap();
        assert_eq!((res.status, res.header("content-length")), (200, Some("5")));
    }
    let lines = wait_for_lines(&handle, &dir, 2).await;
    for e in &lines {
        assert_eq!(codes(e), (Some(200), Some(0), Some(0)), "{e:?}");
    }
    server.shutdown().await;
    drop(guard);
}
