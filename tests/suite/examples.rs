//! The demo (axum) and the plain hyper example, served over real loopback sockets.
#![cfg(all(
    feature = "axum",
    feature = "server",
    feature = "site",
    feature = "tls"
))]

use crate::common;

#[allow(dead_code)]
#[path = "../../examples/demo.rs"]
mod demo;

#[allow(dead_code)]
#[path = "../../examples/hyper.rs"]
mod hyper_example;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tower_iis::test_site::{exchange, TestResponse};

async fn get(addr: SocketAddr, method: &str, path: &str, extra: &str) -> TestResponse {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Language: en-US\r\nUser-Agent: tower-iis-test\r\n{extra}Connection: close\r\n\r\n"
    );
    let res = exchange(addr, req.as_bytes()).await;
    assert!(
        std::str::from_utf8(&res.body).is_ok(),
        "{path}: the body is UTF-8"
    );
    res
}

async fn start_demo(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<tower_iis::ConnectionInfo>(),
        )
        .await
        .unwrap();
    });
    addr
}

#[tokio::test]
async fn demo_over_loopback_shows_detailed_pages() {
    let addr = start_demo(demo::app()).await;
    let index = get(addr, "GET", "/", "").await;
    assert_eq!(index.status_line(), "HTTP/1.1 200 OK");
    for (path, _, _) in demo::ROUTES {
        assert!(
            index.text().contains(&format!(">{path}</a>")),
            "{path} is on the index page"
        );
    }

    let expected = [
        (
            "/report.xyz",
            "HTTP/1.1 404 Not Found",
            "IIS 10.0 Detailed Error - 404.3 - Not Found",
        ),
        (
            "/missing.htm",
            "HTTP/1.1 404 Not Found",
            "IIS 10.0 Detailed Error - 404.0 - Not Found",
        ),
        (
            "/images/",
            "HTTP/1.1 403 Forbidden",
            "IIS 10.0 Detailed Error - 403.14 - Forbidden",
        ),
        (
            "/members",
            "HTTP/1.1 401 Unauthorized",
            "IIS 10.0 Detailed Error - 401.2 - Unauthorized",
        ),
        (
            "/config",
            "HTTP/1.1 500 Internal Server Error",
            "IIS 10.0 Detailed Error - 500.19 - Internal Server Error",
        ),
        (
            "/busy",
            "HTTP/1.1 503 Service Unavailable",
            "IIS 10.0 Detailed Error - 503.2 - Service Unavailable",
        ),
        (
            "/panic",
            "HTTP/1.1 500 Internal Server Error",
            "IIS 10.0 Detailed Error - 500.0 - Internal Server Error",
        ),
    ];
    for (path, status_line, title) in expected {
        let res = get(addr, "GET", path, "").await;
        assert_eq!(res.status_line(), status_line, "{path}");
        assert!(
            res.text().contains(&format!("<title>{title}</title>")),
            "{path}: {}",
            res.text()
        );
        assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(
            res.header("content-length"),
            Some(res.body.len().to_string().as_str())
        );
    }
    let members = get(addr, "GET", "/members", "").await;
    assert_eq!(members.header("www-authenticate"), Some("Negotiate"));
    assert!(members.text().contains("0x80070005"));
    let busy = get(addr, "GET", "/busy", "").await;
    assert_eq!(busy.header("retry-after"), Some("30"));
    let panic = get(addr, "GET", "/panic", "").await;
    assert!(panic
        .text()
        .contains("the demo handler panicked on purpose"));

    // existingResponse="Auto" in detailed mode keeps the handler's own body.
    let own = get(addr, "GET", "/own-body", "").await;
    assert_eq!(own.status_line(), "HTTP/1.1 404 Not Found");
    assert_eq!(own.text(), "The handler's own 404 text.\n");
    let skip = get(addr, "GET", "/skip", "").await;
    assert_eq!(skip.status_line(), "HTTP/1.1 410 Gone");
    assert_eq!(skip.text(), "This body always reaches the client.\n");

    // HEAD: the headers, no body.
    let head = get(addr, "HEAD", "/report.xyz", "").await;
    assert_eq!(head.status_line(), "HTTP/1.1 404 Not Found");
    assert_eq!(head.text(), "");
}

#[tokio::test]
async fn demo_serves_wwwroot_with_its_web_config() {
    let addr = start_demo(demo::app()).await;
    // The index is the static default document and lists every route.
    let index = get(addr, "GET", "/", "").await;
    assert_eq!(index.header("content-type"), Some("text/html"));
    assert!(index.text().contains("examples/wwwroot/index.htm"));
    // web.config's customHeaders reach every response, error pages included.
    assert_eq!(index.header("x-content-type-options"), Some("nosniff"));
    // The demo looks like IIS to a fingerprinting tool; X-Powered-By is not configured.
    assert_eq!(index.header("server"), Some("Microsoft-IIS/10.0"));
    assert_eq!(index.header("x-powered-by"), None);
    let css = get(addr, "GET", "/site.css", "").await;
    assert_eq!(css.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(css.header("content-type"), Some("text/css"));
    let moved = get(addr, "GET", "/images", "").await;
    assert_eq!(moved.status_line(), "HTTP/1.1 301 Moved Permanently");
    assert_eq!(
        moved.header("location"),
        Some(format!("http://{addr}/images/").as_str())
    );
    let put = get(addr, "PUT", "/site.css", "Content-Length: 0\r\n").await;
    assert_eq!(put.status_line(), "HTTP/1.1 405 Method Not Allowed");
    assert_eq!(put.header("allow"), Some("GET, HEAD, OPTIONS, TRACE"));
    assert_eq!(put.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(put.header("server"), Some("Microsoft-IIS/10.0"));
    let trace = get(addr, "TRACE", "/site.css", "").await;
    assert!(trace
        .text()
        .contains("IIS 10.0 Detailed Error - 501.0 - Not Implemented"));
    // /config shows the real parse error of examples/broken-site/web.config.
    let config = get(addr, "GET", "/config", "").await;
    assert!(
        config
            .text()
            .contains("Cannot add duplicate collection entry of type"),
        "{}",
        config.text()
    );
    assert!(config.text().contains("broken-site"));
    assert!(
        config
            .text()
            .contains("<span class=\"highlight-code\">    8:"),
        "{}",
        config.text()
    );
    assert!(config.text().contains("0x800700b7"));
}

#[tokio::test]
async fn demo_hides_details_from_remote_clients() {
    // Every connection here is loopback, so a layer in front of the demo stands in
    // for the network: it rewrites the client address to a documentation address.
    let app = demo::app().layer(axum::middleware::map_request(
        |mut req: axum::extract::Request| async move {
            let local = "127.0.0.1:8080".parse().unwrap();
            req.extensions_mut().insert(tower_iis::ConnectionInfo::new(
                "198.51.100.20:40000".parse().unwrap(),
                local,
            ));
            req
        },
    ));
    let addr = start_demo(app).await;
    let res = get(addr, "GET", "/report.xyz", "X-Forwarded-For: 127.0.0.1\r\n").await;
    assert_eq!(res.status_line(), "HTTP/1.1 404 Not Found");
    assert_eq!(res.header("content-type"), Some("text/html"));
    assert!(res
        .text()
        .contains("<title>404 - File or directory not found.</title>"));
    for leak in ["404.3", "StaticFileModule", "C:\\inetpub", "details-left"] {
        assert!(
            !res.text().contains(leak),
            "{leak} leaked to a remote client"
        );
    }
    let own = get(addr, "GET", "/own-body", "").await;
    assert!(own
        .text()
        .contains("<title>404 - File or directory not found.</title>"));
    let panic = get(addr, "GET", "/panic", "").await;
    assert!(panic
        .text()
        .contains("<title>500 - Internal server error.</title>"));
    assert!(!panic.text().contains("panicked"));
}

#[tokio::test]
async fn hyper_example_over_loopback() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(hyper_example::serve(listener));
    let ok = get(addr, "GET", "/", "").await;
    assert_eq!(ok.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(ok.text(), "Hello from hyper behind tower-iis.\n");
    let res = get(addr, "GET", "/data.xyz", "").await;
    assert_eq!(res.status_line(), "HTTP/1.1 404 Not Found");
    assert!(res
        .text()
        .contains("<title>IIS 10.0 Detailed Error - 404.3 - Not Found</title>"));
    assert!(res.text().contains(&format!("http://{addr}/data.xyz")));
    let teapot = get(addr, "GET", "/teapot", "").await;
    assert_eq!(teapot.status_line(), "HTTP/1.1 418 I'm a teapot");
    assert_eq!(teapot.text(), "short and stout\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_writes_one_w3c_line_per_request_and_goaccess_agrees() {
    let dir = std::env::temp_dir().join(format!("tower-iis-demo-log-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (log, guard) = tower_iis::w3c::W3cLogLayer::builder()
        .directory(&dir)
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(demo::serve(listener, demo::app_with_log(log), async {
        let _ = stopped.await;
    }));

    let long_query = format!("/search?q={}", "a".repeat(3000));
    let paths: Vec<(&str, u16, u16)> = vec![
        ("/", 200, 0),
        ("/hello", 200, 0),
        ("/report.xyz", 404, 3),
        ("/missing.htm", 404, 0),
        ("/images/", 403, 14),
        ("/members", 401, 2),
        ("/config", 500, 19),
        ("/busy", 503, 2),
        ("/own-body", 404, 0),
        ("/skip", 410, 0),
        ("/panic", 500, 0),
        ("/slow", 200, 0),
        ("/bin/x.txt", 404, 8),
        ("/web.config", 404, 8),
        ("/x.cs", 404, 7),
        ("/a+b.txt", 404, 11),
        (long_query.as_str(), 404, 15),
    ];
    let rounds = 3;
    for _ in 0..rounds {
        for (path, status, _) in &paths {
            let res = get(addr, "GET", path, "").await;
            assert!(
                res.status_line()
                    .starts_with(&format!("HTTP/1.1 {status} ")),
                "{path}: {}",
                res.status_line()
            );
        }
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    drop(guard); // flushes and closes the file

    let site = dir.join("W3SVC1");
    let files: Vec<_> = std::fs::read_dir(&site)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one daily file");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with("u_ex") && name.ends_with(".log") && name.len() == "u_exYYMMDD.log".len(),
        "{name}"
    );
    let log = tower_iis::w3c::reader::read_file(&files[0]).unwrap();
    let n = rounds * paths.len();
    assert_eq!(log.entries.len(), n, "exactly one line per request");
    for (i, entry) in log.entries.iter().enumerate() {
        let (_, status, sub) = paths[i % paths.len()];
        assert_eq!(
            (entry.status(), entry.substatus()),
            (Some(status), Some(sub)),
            "line {i}"
        );
        assert_eq!(entry.get("c-ip"), Some("127.0.0.1"));
        assert_eq!(entry.get("cs(User-Agent)"), Some("tower-iis-test"));
    }
    let slow = log
        .entries
        .iter()
        .find(|e| e.get("cs-uri-stem") == Some("/slow"))
        .unwrap();
    assert!(slow.time_taken().unwrap() >= 200);
    let members = log
        .entries
        .iter()
        .find(|e| e.get("cs-uri-stem") == Some("/members"))
        .unwrap();
    assert_eq!(members.win32_status(), Some(5));

    if let Some(counts) = common::status_counts_from_goaccess(&files, &dir.join("goaccess.json")) {
        assert_eq!((counts.valid, counts.failed), (n as u64, 0));
        let mut expected: Vec<(u16, u64)> = Vec::new();
        for (_, status, _) in &paths {
            match expected.iter_mut().find(|(s, _)| s == status) {
                Some((_, c)) => *c += rounds as u64,
                None => expected.push((*status, rounds as u64)),
            }
        }
        expected.sort_unstable();
        assert_eq!(counts.codes, expected);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_graceful_shutdown_logs_the_requests_in_flight() {
    let dir = std::env::temp_dir().join(format!("tower-iis-demo-stop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (log, guard) = tower_iis::w3c::W3cLogLayer::builder()
        .directory(&dir)
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    let app = demo::app_with_log(log).layer(tower::util::MapRequestLayer::new(
        move |req: axum::extract::Request| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            req
        },
    ));
    let server = tokio::spawn(demo::serve(listener, app, async {
        let _ = stopped.await;
    }));
    // Ten requests to a 200 ms handler, all in flight when the shutdown starts.
    let clients: Vec<_> = (0..10)
        .map(|_| tokio::spawn(async move { get(addr, "GET", "/slow", "").await }))
        .collect();
    for _ in 0..500 {
        if seen.load(std::sync::atomic::Ordering::SeqCst) == 10 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let _ = stop.send(());
    for c in clients {
        assert_eq!(c.await.unwrap().status_line(), "HTTP/1.1 200 OK");
    }
    server.await.unwrap().unwrap();
    drop(guard);
    let files: Vec<_> = std::fs::read_dir(dir.join("W3SVC1"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let lines: usize = files
        .iter()
        .map(|f| tower_iis::w3c::reader::read_file(f).unwrap().entries.len())
        .sum();
    assert_eq!(lines, 10, "every answered request is in the log");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn demo_secure_and_private_folders_follow_their_web_config() {
    let addr = start_demo(demo::app()).await;
    let secure = get(addr, "GET", "/secure/", "").await;
    assert_eq!(secure.status_line(), "HTTP/1.1 403 Forbidden");
    assert!(secure
        .text()
        .contains("<title>IIS 10.0 Detailed Error - 403.4 - Forbidden</title>"));

    let private = get(addr, "GET", "/private/", "").await;
    assert_eq!(private.status_line(), "HTTP/1.1 401 Unauthorized");
    assert_eq!(
        private.header("www-authenticate"),
        Some(r#"Basic realm="tower-iis demo""#)
    );
    assert!(private
        .text()
        .contains("<title>IIS 10.0 Detailed Error - 401.2 - Unauthorized</title>"));
    // alice:wrong, then alice:alice-demo-password
    let wrong = get(
        addr,
        "GET",
        "/private/",
        "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n",
    )
    .await;
    assert!(wrong
        .text()
        .contains("<title>IIS 10.0 Detailed Error - 401.1 - Unauthorized</title>"));
    let right = get(
        addr,
        "GET",
        "/private/",
        "Authorization: Basic YWxpY2U6YWxpY2UtZGVtby1wYXNzd29yZA==\r\n",
    )
    .await;
    assert_eq!(right.status_line(), "HTTP/1.1 200 OK");
    assert!(right
        .text()
        .contains("<title>tower-iis demo: members only</title>"));
    // The demo's credentials are the ones the README and the start-up banner give.
    assert_eq!(demo::DEMO_USERS[0], ("alice", "alice-demo-password"));
}
