//! Known-hostile requests, sent as raw bytes over a loopback socket to the whole
//! stack (W3C log → error pages → request filtering on IIS 10 defaults → caught
//! panics → handlers): XSS payloads in the path, the query and headers, CR/LF and
//! NUL injection, overlong UTF-8, 64 KB headers, 10 000 path segments, encoded
//! traversal, smuggling attempts and plain garbage.
//!
//! Every request is answered. The ones hyper cannot parse are answered by hyper
//! itself (400 or 431) and never reach the stack, so they have no log line: the
//! log layer cannot see them. Every request that reached the stack has exactly one
//! line, found by a request id logged as a custom field. No page carries markup
//! from the request, and every XHTML page parses.
#![cfg(all(feature = "axum", feature = "test-site"))]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::common::server::{app, send_raw, Server};
use crate::common::{entries, TempDir};
use http::HeaderName;
use tower_iis::w3c::{CustomField, FieldSet, W3cLogLayer};

/// One hostile request: a name and its bytes, where `{id}` becomes the request id.
struct Case {
    name: &'static str,
    raw: Vec<u8>,
}

fn case(name: &'static str, raw: impl Into<Vec<u8>>) -> Case {
    Case {
        name,
        raw: raw.into(),
    }
}

/// `GET <target>` with the usual headers and `extra` header lines.
fn get(name: &'static str, target: &[u8], extra: &[u8]) -> Case {
    let mut raw = b"GET ".to_vec();
    raw.extend_from_slice(target);
    raw.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nX-Req-Id: {id}\r\n");
    raw.extend_from_slice(extra);
    raw.extend_from_slice(b"Connection: close\r\n\r\n");
    case(name, raw)
}

fn corpus() -> Vec<Case> {
    let xss = "<script>alert(1)</script>";
    let big = "A".repeat(64 * 1024);
    let segments = "/a".repeat(10_000);
    let slashes = "/".repeat(10_000);
    let mut many_headers = Vec::new();
    for i in 0..120 {
        many_headers.extend_from_slice(format!("X-H{i}: {i}\r\n").as_bytes());
    }
    vec![
        // Cross-site scripting.
        get("xss raw path", format!("/{xss}").as_bytes(), b""),
        get(
            "xss encoded path",
            b"/%3Cscript%3Ealert(1)%3C/script%3E",
            b"",
        ),
        get(
            "xss encoded path, missing file",
            b"/x%3Cscript%3Ealert(1)%3C%2Fscript%3E.htm",
            b"",
        ),
        get("xss path quotes", b"/\"'><svg/onload=alert(1)>", b""),
        get("xss raw query", format!("/ok?q={xss}").as_bytes(), b""),
        get(
            "xss encoded query",
            b"/missing?q=%3Cscript%3Ealert(1)%3C/script%3E",
            b"",
        ),
        get(
            "xss host",
            b"/missing",
            format!("Host: {xss}\r\n").as_bytes(),
        ),
        get(
            "xss headers",
            b"/missing",
            format!(
                "User-Agent: {xss}\r\nReferer: javascript:{xss}\r\nCookie: a={xss}\r\n\
                 Accept-Language: {xss}\r\nX-Forwarded-For: {xss}\r\n"
            )
            .as_bytes(),
        ),
        get(
            "xss absolute-form",
            b"http://evil.example/%3Cscript%3E",
            b"",
        ),
        case(
            "xss method",
            "<script> / HTTP/1.1\r\nHost: localhost\r\nX-Req-Id: {id}\r\n\r\n",
        ),
        // CR, LF and NUL injection.
        get(
            "crlf encoded path",
            b"/missing%0D%0ASet-Cookie:%20owned=1",
            b"",
        ),
        get("crlf raw path", b"/a\rSet-Cookie: owned=1", b""),
        get("lf raw path", b"/a\nSet-Cookie: owned=1", b""),
        get("cr in header", b"/missing", b"X-A: a\rSet-Cookie: owned=1\r\n"),
        get("lf in header", b"/missing", b"X-A: a\nSet-Cookie: owned=1\r\n"),
        get("nul encoded path", b"/missing%00.htm", b""),
        get("nul raw path", b"/a\0b", b""),
        get("nul in header", b"/missing", b"User-Agent: a\0b\r\n"),
        // Overlong and invalid UTF-8.
        get("overlong encoded", b"/%C0%AE%C0%AE/%C0%AE%C0%AE/win.ini", b""),
        get("overlong raw path", b"/\xC0\xAE\xC0\xAE/win.ini", b""),
        get("invalid utf-8 header", b"/missing", b"User-Agent: \xC0\xAE\xFF\xFE\r\n"),
        // Size.
        get(
            "64 KB user agent",
            b"/missing",
            format!("User-Agent: {big}\r\n").as_bytes(),
        ),
        get(
            "64 KB headers x3",
            b"/missing",
            format!("X-Big: {big}\r\nCookie: c={big}\r\nReferer: http://x/{big}\r\n").as_bytes(),
        ),
        get(
            "512 KB header",
            b"/missing",
            format!("X-Huge: {}\r\n", "B".repeat(512 * 1024)).as_bytes(),
        ),
        get("120 headers", b"/missing", &many_headers),
        get("10000 segments", segments.as_bytes(), b""),
        get("10000 slashes", slashes.as_bytes(), b""),
        get("3000-byte query", format!("/ok?q={}", "q".repeat(3000)).as_bytes(), b""),
        // Traversal.
        get("encoded slash traversal", b"/..%2f..%2f..%2fetc/passwd", b""),
        get("encoded dot traversal", b"/%2e%2e/%2e%2e/etc/passwd", b""),
        get("backslash traversal", b"/..%5c..%5cweb.config", b""),
        get("double-encoded traversal", b"/%252e%252e/%252e%252e/etc/passwd", b""),
        get("dot-dot-semicolon", b"/..;/bin/x.dll", b""),
        get("raw traversal", b"/../../etc/passwd", b""),
        get("hidden segment mixed case", b"/BiN/x.txt", b""),
        get("denied extension", b"/x.CS", b""),
        // Smuggling and framing.
        case(
            "content-length and chunked",
            "POST /echo HTTP/1.1\r\nHost: localhost\r\nX-Req-Id: {id}\r\nContent-Length: 4\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\nGET /ok HTTP/1.1\r\n\r\n",
        ),
        case(
            "two content-lengths",
            "POST /echo HTTP/1.1\r\nHost: localhost\r\nX-Req-Id: {id}\r\nContent-Length: 1\r\n\
             Content-Length: 2\r\nConnection: close\r\n\r\nab",
        ),
        case(
            "declared 1 GB body",
            "POST /echo HTTP/1.1\r\nHost: localhost\r\nX-Req-Id: {id}\r\nContent-Length: 1000000000\r\n\
             Expect: 100-continue\r\nConnection: close\r\n\r\n",
        ),
        case(
            "xss in a body",
            "POST /missing HTTP/1.1\r\nHost: localhost\r\nX-Req-Id: {id}\r\nContent-Length: 25\r\n\
             Connection: close\r\n\r\n<script>alert(1)</script>",
        ),
        case(
            "header name with a space",
            "GET /ok HTTP/1.1\r\nHost: localhost\r\nX-Req-Id: {id}\r\nBad Header: x\r\n\r\n",
        ),
        case(
            "long method",
            format!(
                "{} /missing HTTP/1.1\r\nHost: localhost\r\nX-Req-Id: {{id}}\r\nConnection: close\r\n\r\n",
                "M".repeat(1000)
            ),
        ),
        case(
            "options star",
            "OPTIONS * HTTP/1.1\r\nHost: localhost\r\nX-Req-Id: {id}\r\nConnection: close\r\n\r\n",
        ),
        case(
            "http/1.0 without host",
            "GET /missing HTTP/1.0\r\nX-Req-Id: {id}\r\n\r\n",
        ),
        case("http/0.9", "GET /ok\r\n\r\n"),
        case("unknown version", "GET /ok HTTP/7.1\r\nX-Req-Id: {id}\r\n\r\n"),
        case(
            "tls hello on plain port",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n".to_vec(),
        ),
        case("binary garbage", (0..=255u8).cycle().take(4096).collect::<Vec<u8>>()),
    ]
}

/// The substatus IIS's request filtering gives some of the cases.
const EXPECTED: &[(&str, u16)] = &[
    ("10000 segments", 14),
    ("10000 slashes", 14),
    ("3000-byte query", 15),
    ("double-encoded traversal", 11),
    ("hidden segment mixed case", 8),
    ("backslash traversal", 8),
    ("denied extension", 7),
    ("dot-dot-semicolon", 8),
    ("declared 1 GB body", 1),
];

/// What must never appear in a response: markup or script that came from a request.
const NEVER: &[&str] = &[
    "<script",
    "<svg",
    "<img",
    "onload=",
    "onerror=",
    "javascript:",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_are_answered_logged_once_and_never_executed() {
    let dir = TempDir::new("hostile");
    let (layer, guard) = W3cLogLayer::builder()
        .directory(&dir.0)
        .field_set(FieldSet::all())
        .custom_field(CustomField::request_header(
            "X-Req-Id",
            HeaderName::from_static("x-req-id"),
        ))
        .build()
        .unwrap();
    let server = Server::start(app(layer, Arc::default()), None).await;

    let mut reached_ids = Vec::new();
    let mut rejected = Vec::new();
    let mut report = Vec::new();
    for (id, c) in corpus().into_iter().enumerate() {
        let raw = replace_bytes(&c.raw, b"{id}", format!("case-{id}").as_bytes());
        let before = server.requests.load(Ordering::SeqCst);
        let answer = send_raw(server.addr, &raw).await;
        // A request that reached the stack is counted before its answer is sent.
        let reached = server.requests.load(Ordering::SeqCst) > before;
        let head_end = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(answer.len(), |i| i + 4);
        let head = String::from_utf8_lossy(&answer[..head_end]).into_owned();
        let body = String::from_utf8_lossy(&answer[head_end..]).into_owned();
        assert!(
            head.starts_with("HTTP/1.1 ") || head.starts_with("HTTP/1.0 "),
            "{}: no answer: {head:?}",
            c.name
        );
        let status: u16 = head[9..12].parse().unwrap();
        report.push(format!(
            "{:<32} {status} {}",
            c.name,
            if reached { "stack" } else { "hyper" }
        ));

        // Nothing from the request is executed.
        let lower = body.to_ascii_lowercase();
        for bad in NEVER {
            assert!(
                !lower.contains(bad),
                "{}: {bad} in the page: {body}",
                c.name
            );
        }
        let head_lower = head.to_ascii_lowercase();
        assert!(!head_lower.contains("set-cookie"), "{}: {head}", c.name);
        assert!(!head_lower.contains("owned"), "{}: {head}", c.name);
        if body.starts_with("<!DOCTYPE") {
            parse_xhtml(&body).unwrap_or_else(|e| panic!("{}: {e}\n{body}", c.name));
        }
        if reached {
            reached_ids.push((format!("case-{id}"), c.name, status));
        } else {
            assert!(
                [400, 413, 431, 501, 505].contains(&status),
                "{}: hyper answered {status}",
                c.name
            );
            rejected.push(c.name);
        }
    }
    eprintln!("{}", report.join("\n"));

    server.shutdown().await;
    drop(guard);
    let lines = entries(&dir.0);
    assert_eq!(
        lines.len(),
        reached_ids.len(),
        "one line per request that reached the stack"
    );
    for (id, name, status) in &reached_ids {
        let mine: Vec<_> = lines
            .iter()
            .filter(|e| e.get("X-Req-Id") == Some(id.as_str()))
            .collect();
        assert_eq!(mine.len(), 1, "{name}: exactly one line");
        assert_eq!(mine[0].status(), Some(*status), "{name}");
        eprintln!("{name:<32} {status}.{}", mine[0].substatus().unwrap());
        if let Some((_, sub)) = EXPECTED.iter().find(|(n, _)| n == name) {
            assert_eq!(mine[0].substatus(), Some(*sub), "{name}");
        }
        assert_eq!(mine[0].values().len(), 23, "{name}");
    }
    for e in &lines {
        for v in e.values() {
            assert!(
                !v.contains(|c: char| c.is_whitespace() || c.is_control()),
                "{v:?}"
            );
        }
    }
    // The corpus covers both paths.
    assert!(reached_ids.len() >= 25, "{report:#?}");
    assert!(rejected.len() >= 5, "{report:#?}");
}

fn replace_bytes(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

fn parse_xhtml(page: &str) -> Result<(), String> {
    let doctype_end = page.find('>').map_or(0, |i| i + 1);
    let fixed = format!(
        "<!DOCTYPE html [<!ENTITY nbsp \"&#160;\"><!ENTITY raquo \"&#187;\">]>{}",
        &page[doctype_end..]
    );
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(&fixed, opts)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Huge values and values that look like directives: every request-derived value
/// is cut at 4 096 bytes, the line stays within 65 536 bytes, and no value starts
/// with `#`.
#[tokio::test]
async fn huge_and_directive_like_values_are_capped() {
    use http_body_util::BodyExt;
    use tower::{Service, ServiceExt};
    use tower_iis::w3c::{CustomField, FieldSet, MemorySink, Sink, W3cLogLayer};
    let memory = MemorySink::new();
    let mut builder = W3cLogLayer::builder()
        .sink(Sink::memory(&memory))
        .field_set(FieldSet::all());
    for i in 0..20 {
        builder = builder.custom_field(CustomField::request_header(
            format!("X-C{i}"),
            http::HeaderName::from_static("x-big"),
        ));
    }
    let (mut svc, guard) = crate::common::start(builder);
    let big_ua = "Mozilla/5.0 ".repeat(390_000 / 12);
    let big_method = "X".repeat(70_000);
    let cases = [
        (big_method.as_str(), big_ua.as_str(), "/a"),
        ("#Fields", "#Software: evil", "/b"),
    ];
    for (method, ua, path) in cases {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("user-agent", ua)
            .header("referer", "#Date: 2020-01-01")
            .header("x-big", "y".repeat(10_000))
            .body(String::new())
            .unwrap();
        let res = svc.ready().await.unwrap().call(req).await.unwrap();
        res.into_body().collect().await.unwrap();
    }
    guard.handle().flush().unwrap();
    let text = memory.contents();
    let log = tower_iis::w3c::reader::parse(&text).unwrap();
    assert_eq!(log.entries.len(), 2);
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.len() <= 65_536, "a line of {} bytes", line.len());
        for value in line.split(' ') {
            assert!(value.len() <= 4096, "a value of {} bytes", value.len());
            assert!(!value.starts_with('#'), "{value:?} in {line:?}");
        }
    }
    let first = &log.entries[0];
    assert_eq!(first.get("cs-method").unwrap().len(), 4096);
    assert_eq!(first.get("cs(User-Agent)").unwrap().len(), 4096);
    let second = &log.entries[1];
    assert_eq!(second.get("cs-method"), Some("+Fields"));
    assert_eq!(second.get("cs(User-Agent)"), Some("+Software:+evil"));
    assert_eq!(second.get("cs(Referer)"), Some("+Date:+2020-01-01"));
}
