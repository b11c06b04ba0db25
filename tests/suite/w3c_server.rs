//! The W3C log layer in front of an axum router, over real loopback sockets, writing
//! real files; checked with our reader, GoAccess and the Filebeat IIS grok pattern.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::{ServiceBuilder, ServiceExt};
use tower_iis::w3c::reader::{self, Entry};
use tower_iis::w3c::{FieldSet, W3cLogGuard, W3cLogHandle, W3cLogLayer};
use tower_iis::{ConnectionInfo, IisError, IisStatus};

use crate::common::body::ChunkBody;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tower-iis-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn router() -> Router {
    Router::new()
        .route("/ok", get(|| async { "hello" }))
        .route(
            "/missing",
            get(|| async { IisError::new(IisStatus::new(404, 3)).into_http_response::<Body>() }),
        )
        .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .route(
            "/sleep",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                "done"
            }),
        )
        .route(
            "/slow",
            get(|| async { Body::new(ChunkBody::new(4, 16, Duration::from_millis(70))) }),
        )
        .route(
            "/long",
            get(|| async { Body::new(ChunkBody::new(60, 16, Duration::from_millis(50))) }),
        )
        .route(
            "/forever",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "too late"
            }),
        )
}

/// Serves `router()` behind the layer on a loopback port, inserting ConnectionInfo.
async fn serve(layer: W3cLogLayer) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc = ServiceBuilder::new().layer(layer).service(router());
    tokio::spawn(async move {
        loop {
            let Ok((stream, remote)) = listener.accept().await else {
                return;
            };
            let local = stream.local_addr().unwrap();
            let svc = svc.clone();
            tokio::spawn(async move {
                let info = ConnectionInfo::new(remote, local);
                let hs = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(info);
                    svc.clone().oneshot(req)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hs)
                    .await;
            });
        }
    });
    addr
}

/// Sends raw request bytes and reads the whole answer (the server closes).
async fn send(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("answer within 10 s")
        .unwrap();
    out
}

async fn get_path(addr: SocketAddr, path: &str) -> Vec<u8> {
    let raw = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) test/1.0\r\nConnection: close\r\n\r\n"
    );
    send(addr, raw.as_bytes()).await
}

fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("W3SVC1"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn entries(dir: &Path) -> Vec<Entry> {
    log_files(dir)
        .iter()
        .flat_map(|f| reader::read_file(f).unwrap().entries)
        .collect()
}

/// Flushes until an entry for `path` is there (at most 5 s).
async fn wait_for(handle: &W3cLogHandle, dir: &Path, path: &str) -> Entry {
    for _ in 0..100 {
        handle.flush().unwrap();
        if let Some(e) = entries(dir)
            .into_iter()
            .find(|e| e.get("cs-uri-stem") == Some(path))
        {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no log line for {path}");
}

fn build(dir: &Path) -> (W3cLogLayer, W3cLogGuard) {
    W3cLogLayer::builder()
        .directory(dir)
        .flush_interval(Duration::from_millis(200))
        .build()
        .unwrap()
}

use crate::common::status_counts_from_goaccess;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_requests_n_lines_goaccess_and_filebeat_agree() {
    let dir = temp_dir("server-n");
    let (layer, guard) = build(&dir);
    let addr = serve(layer).await;
    assert!(
        log_files(&dir).is_empty(),
        "no file before the first request"
    );

    let paths = [
        "/ok",
        "/missing",
        "/ok?a=1&b=two",
        "/boom",
        "/missing",
        "/ok",
        "/nowhere",
    ];
    let n = 21;
    for i in 0..n {
        let res = get_path(addr, paths[i % paths.len()]).await;
        assert!(
            res.starts_with(b"HTTP/1.1 "),
            "{}",
            String::from_utf8_lossy(&res)
        );
    }
    drop(guard); // flushes and closes: a graceful shutdown loses nothing

    let files = log_files(&dir);
    assert!(!files.is_empty());
    let lines = entries(&dir);
    assert_eq!(lines.len(), n);
    for e in &lines {
        assert_eq!(e.get("c-ip"), Some("127.0.0.1"));
        assert_eq!(e.get("s-ip"), Some("127.0.0.1"));
        assert_eq!(e.get("s-port"), Some(addr.port().to_string().as_str()));
        assert_eq!(
            e.get("cs(User-Agent)"),
            Some("Mozilla/5.0+(X11;+Linux+x86_64)+test/1.0")
        );
        assert!(e.win32_status().is_some());
    }
    let missing: Vec<_> = lines
        .iter()
        .filter(|e| e.get("cs-uri-stem") == Some("/missing"))
        .collect();
    assert_eq!(missing.len(), 6);
    for e in &missing {
        assert_eq!((e.status(), e.substatus()), (Some(404), Some(3)));
    }
    let with_query = lines
        .iter()
        .find(|e| e.get("cs-uri-query") == Some("a=1&b=two"))
        .unwrap();
    assert_eq!(with_query.get("cs-uri-stem"), Some("/ok"));
    assert_eq!(
        lines
            .iter()
            .filter(|e| e.get("cs-uri-query") == Some("-"))
            .count(),
        n - 3
    );

    // Every entry line matches Filebeat's default IIS pattern, with the same values.
    let re = crate::common::filebeat_default_pattern();
    let mut matched = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.starts_with('\u{feff}'));
        assert!(text.starts_with(
            "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: "
        ));
        for line in text
            .split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let caps = re
                .captures(line)
                .unwrap_or_else(|| panic!("Filebeat pattern does not match: {line}"));
            let status: u16 = caps["status"].parse().unwrap();
            assert!([200, 404, 500].contains(&status), "{line}");
            matched += 1;
        }
        assert!(!text.replace("\r\n", "").contains('\n'), "LF without CR");
    }
    assert_eq!(matched, n);

    // GoAccess counts every request as valid, with the right status codes.
    let expected = {
        let mut by_code = std::collections::BTreeMap::<u16, u64>::new();
        for e in &lines {
            *by_code.entry(e.status().unwrap()).or_default() += 1;
        }
        by_code.into_iter().collect::<Vec<_>>()
    };
    assert_eq!(expected, vec![(200, 9), (404, 9), (500, 3)]);
    if let Some(counts) = status_counts_from_goaccess(&files, &dir.join("goaccess.json")) {
        assert_eq!((counts.valid, counts.failed), (n as u64, 0));
        assert_eq!(counts.codes, expected);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_taken_and_disconnects() {
    let dir = temp_dir("server-time");
    let (layer, guard) = build(&dir);
    let handle = guard.handle();
    let addr = serve(layer).await;

    let res = get_path(addr, "/sleep").await;
    assert!(res.ends_with(b"done"));
    let res = get_path(addr, "/slow").await;
    assert!(
        res.ends_with(b"\r\n10\r\nxxxxxxxxxxxxxxxx\r\n0\r\n\r\n"),
        "{}",
        String::from_utf8_lossy(&res)
    );

    let sleep = wait_for(&handle, &dir, "/sleep").await;
    assert!(sleep.time_taken().unwrap() >= 200, "{sleep:?}");
    assert_eq!((sleep.status(), sleep.win32_status()), (Some(200), Some(0)));
    let slow = wait_for(&handle, &dir, "/slow").await;
    assert!(slow.time_taken().unwrap() >= 200, "{slow:?}");
    assert_eq!((slow.status(), slow.win32_status()), (Some(200), Some(0)));

    // The client leaves in the middle of a slowly streamed body.
    {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /long HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"xxxx") {
            let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
    }
    let long = wait_for(&handle, &dir, "/long").await;
    assert_eq!(
        (long.status(), long.substatus(), long.win32_status()),
        (Some(200), Some(0), Some(64))
    );

    // The client leaves while the handler still runs.
    {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /forever HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let gone = wait_for(&handle, &dir, "/forever").await;
    assert_eq!(
        (gone.status(), gone.substatus(), gone.win32_status()),
        (Some(500), Some(0), Some(64))
    );
    assert!(gone.time_taken().unwrap() < 3000, "{gone:?}");

    drop(guard);
    assert_eq!(entries(&dir).len(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_keep_the_column_count() {
    let dir = temp_dir("server-hostile");
    let (layer, guard) = W3cLogLayer::builder()
        .directory(&dir)
        .field_set(FieldSet::all())
        .build()
        .unwrap();
    let addr = serve(layer).await;

    let mut junk = Vec::new();
    while junk.len() < 4096 {
        junk.extend_from_slice(b"\t \x80\xff\xfe \"quoted\" ; \xc3\xa9\xe2\x80\xa8 ");
    }
    let mut raw = Vec::new();
    // Raw spaces, controls and non-ASCII bytes in the request line are refused by the
    // server before any service runs, so the target carries them percent-encoded.
    raw.extend_from_slice(
        b"GET /a%20b%0D%0A%00/%22x%22/..;/c?q=%0d%0a%09x&y='z'&u=%C3%A9 HTTP/1.1\r\n",
    );
    raw.extend_from_slice(
        b"Host: localhost\r\nUser-Agent: evil\tagent \xff\xfe\x80 2001-01-01 00:00:00\r\nReferer: ",
    );
    raw.extend_from_slice(&junk);
    raw.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    let res = send(addr, &raw).await;
    assert!(
        res.starts_with(b"HTTP/1.1 404 "),
        "{}",
        String::from_utf8_lossy(&res)
    );

    // A request hyper refuses never reaches the service; send a plain one too.
    let _ = get_path(addr, "/ok").await;
    drop(guard);

    let files = log_files(&dir);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let fields = text
        .lines()
        .find_map(|l| l.strip_prefix("#Fields: "))
        .unwrap()
        .split(' ')
        .count();
    assert_eq!(fields, 22);
    let entry_lines: Vec<&str> = text
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(entry_lines.len(), 2);
    for line in &entry_lines {
        assert_eq!(line.split(' ').count(), fields, "{line}");
        assert!(!line.contains(['\t', '\r', '\n', '\0']));
    }
    let log = reader::parse(&text).unwrap();
    let e = &log.entries[0];
    // The stem decoded as IIS writes it (space, CR, LF and NUL as `+`); the query raw.
    assert_eq!(e.get("cs-uri-stem"), Some("/a+b+++/\"x\"/..;/c"));
    assert_eq!(e.get("cs-uri-query"), Some("q=%0d%0a%09x&y='z'&u=%C3%A9"));
    assert_eq!(
        e.get("cs(User-Agent)"),
        Some("evil+agent+++++2001-01-01+00:00:00")
    );
    let referer = e.get("cs(Referer)").unwrap();
    assert!(referer.len() > 3000, "{}", referer.len()); // 4 KB sent, one column logged
    assert!(referer.contains("+\"quoted\"+;+\u{e9}++"), "{referer}");
    assert_eq!(e.status(), Some(404));
    let _ = std::fs::remove_dir_all(&dir);
}
