//! Failed request tracing over real loopback sockets: which requests get a trace
//! file, what the file says (read by our reader, by roxmltree directly and by
//! xmllint), retention under load, the budget under a flood of events, and the
//! stylesheet (xsltproc).
#![cfg(all(
    feature = "failed-request-tracing",
    feature = "axum",
    feature = "static-files"
))]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashSet;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::Request;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tower::{ServiceBuilder, ServiceExt};
use tower_iis::freb::reader::Trace;
use tower_iis::freb::{
    FailedRequestTracingBuilder, FailedRequestTracingLayer, Rule, TraceCollector, TraceGuard,
    TraceHandle, Verbosity,
};
use tower_iis::static_files::StaticFiles;
use tower_iis::{HttpErrorsLayer, IisError, IisStatus};
use tracing_subscriber::prelude::*;

use common::server::{get_once, Server};
use tower_iis::test_site::read_response;

// ---- live bytes on this thread, for the memory bound ----

struct Tracking;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|l| {
        let now = l.get() + delta;
        l.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

// ---- the stack under test ----

fn install_collector() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing_subscriber::registry()
            .with(TraceCollector::new())
            .init();
    });
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tower-iis-freb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn wwwroot() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wwwroot"))
}

/// The application: a middleware that logs every request, handlers, and the
/// static files of `examples/wwwroot` for every other path.
fn application() -> Router {
    let files = StaticFiles::new(wwwroot()).unwrap();
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "slow but fine"
            }),
        )
        .route(
            "/orders/{id}",
            get(|axum::extract::Path(id): axum::extract::Path<String>| async move {
                tracing::warn!(target: "shop::orders", order = %id, "order not in the database");
                IisError::new(IisStatus::new(404, 0))
                    .with_module("ShopModule")
                    .with_hresult(0x8007_0002)
                    .into_http_response::<Body>()
            }),
        )
        .route(
            "/noisy",
            get(|| async {
                for i in 0..100_000u32 {
                    tracing::info!(target: "shop::noise", step = i, padding = "x".repeat(200).as_str(), "step");
                }
                IisError::new(IisStatus::new(404, 0)).into_http_response::<Body>()
            }),
        )
        .fallback_service(files)
        .layer(axum::middleware::from_fn(
            |req: axum::extract::Request, next: axum::middleware::Next| async move {
                tracing::info!(target: "shop::session", path = req.uri().path(), "checking the session cookie");
                next.run(req).await
            },
        ))
}

/// Failed request tracing → error pages → the application, as one router.
fn traced_app(layer: FailedRequestTracingLayer) -> Router {
    let stack = ServiceBuilder::new()
        .layer(layer)
        .layer(HttpErrorsLayer::new())
        .service(application());
    Router::new().fallback_service(stack)
}

fn build(builder: FailedRequestTracingBuilder) -> (Router, TraceGuard) {
    install_collector();
    let (layer, guard) = builder.build().unwrap();
    (traced_app(layer), guard)
}

async fn flush(handle: &TraceHandle) {
    let h = handle.clone();
    tokio::task::spawn_blocking(move || h.flush())
        .await
        .unwrap()
        .unwrap();
}

fn file_names(handle: &TraceHandle) -> Vec<String> {
    handle
        .files()
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn read_trace(path: &Path) -> (String, Trace) {
    let text = std::fs::read_to_string(path).unwrap();
    let trace = Trace::parse(&text).unwrap();
    (text, trace)
}

fn xmllint_reads(path: &Path) {
    match Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg(path)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "xmllint refuses {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "xmllint is required in CI: {e}"
            );
            eprintln!("skipping xmllint: {e}");
        }
    }
}

// ---- the tests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_xyz_writes_fr000001_and_a_200_writes_nothing() {
    let dir = temp_dir("report");
    let (app, guard) = build(
        FailedRequestTracingLayer::builder()
            .directory(&dir)
            .rule(Rule::new("*").status_codes("404.3,500-599").unwrap()),
    );
    let handle = guard.handle();
    let server = Server::start(app, None).await;

    let ok = get_once(server.addr, "/hello").await;
    assert_eq!((ok.status, ok.text().as_str()), (200, "hello"));
    let ok = get_once(server.addr, "/site.css").await;
    assert_eq!(ok.status, 200);
    flush(&handle).await;
    assert_eq!(
        file_names(&handle),
        Vec::<String>::new(),
        "a 200 writes nothing"
    );
    // The stylesheet is there from the start.
    assert!(handle.directory().join("freb.xsl").is_file());
    assert!(handle.directory().ends_with("W3SVC1"));

    let res = get_once(server.addr, "/report.xyz").await;
    assert_eq!(res.status, 404);
    assert!(res.text().contains("404.3"));
    // The detailed page, to this local client, names the trace file.
    let file = handle
        .directory()
        .join("fr000001.xml")
        .display()
        .to_string();
    let item = format!(
        "<li>The trace of this request is written to <a href=\"file://{file}\">{file}</a>.</li>"
    );
    assert!(res.text().contains(&item), "{}", res.text());
    assert!(!res.text().contains("the tower-iis documentation"));
    flush(&handle).await;
    assert_eq!(file_names(&handle), ["fr000001.xml"]);
    let path = handle.directory().join("fr000001.xml");
    let (text, trace) = read_trace(&path);

    // The file as written.
    assert!(text.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<?xml-stylesheet type='text/xsl' href='freb.xsl'?>\r\n<failedRequest "
    ));
    assert!(text.contains(" statusCode=\"404.3\" "), "{text}");

    // Read by roxmltree directly, not through our reader.
    let doc = roxmltree::Document::parse(&text).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "failedRequest");
    let url = format!("http://localhost:{}/report.xyz", server.addr.port());
    for (name, value) in [
        ("url", url.as_str()),
        ("siteId", "1"),
        ("appPoolId", "DefaultAppPool"),
        ("verb", "GET"),
        ("failureReason", "STATUS_CODE"),
        ("statusCode", "404.3"),
        ("triggerStatusCode", "404.3"),
        ("authenticationType", "anonymous"),
    ] {
        assert_eq!(root.attribute(name), Some(value), "{name}");
    }
    assert_eq!(
        root.attribute("processId"),
        Some(std::process::id().to_string().as_str())
    );
    let activity = root.attribute("activityId").unwrap();
    assert!(
        activity.starts_with("{00000000-0000-0000-")
            && activity.ends_with('}')
            && activity.len() == 38,
        "{activity}"
    );
    let taken: u64 = root.attribute("timeTaken").unwrap().parse().unwrap();
    assert!(taken < 5_000);
    let ev_ns = "http://schemas.microsoft.com/win/2004/08/events/event";
    let events: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert!(events
        .iter()
        .all(|e| e.tag_name().name() == "Event" && e.tag_name().namespace() == Some(ev_ns)));
    let opcode = |e: &roxmltree::Node| {
        e.descendants()
            .find(|n| {
                n.has_tag_name((ev_ns, "Opcode"))
                    && n.parent().unwrap().has_tag_name((ev_ns, "RenderingInfo"))
            })
            .and_then(|n| n.text())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(opcode(&events[0]), "GENERAL_REQUEST_START");
    assert_eq!(opcode(events.last().unwrap()), "GENERAL_REQUEST_END");
    for e in &events {
        let system = e
            .children()
            .find(|n| n.has_tag_name((ev_ns, "System")))
            .unwrap();
        let names: Vec<_> = system
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(
            names,
            [
                "Provider",
                "EventID",
                "Version",
                "Level",
                "Opcode",
                "Keywords",
                "TimeCreated",
                "Correlation",
                "Execution",
                "Computer"
            ]
        );
        let corr = system
            .children()
            .find(|n| n.has_tag_name((ev_ns, "Correlation")))
            .unwrap();
        assert_eq!(corr.attribute("ActivityID"), Some(activity));
    }

    // Through our reader: the events in order, with their data.
    let names: Vec<_> = trace.events.iter().map(|e| e.opcode.as_str()).collect();
    let start = &trace.events[0];
    assert_eq!((start.provider.as_str(), start.level), ("WWW Server", 4));
    assert_eq!(start.data("RequestURL"), Some(url.as_str()));
    assert_eq!(start.data("RequestVerb"), Some("GET"));
    assert_eq!(start.data("ContextId"), Some(activity));
    assert_eq!(names[1], "GENERAL_ENDPOINT_INFORMATION");
    assert_eq!(trace.events[1].data("RemoteAddress"), Some("127.0.0.1"));
    assert_eq!(
        trace.events[1].data("LocalPort"),
        Some(server.addr.port().to_string().as_str())
    );
    assert_eq!(names[2], "GENERAL_REQUEST_HEADERS");
    let headers = trace.events[2].data("Headers").unwrap();
    assert!(
        headers.contains("user-agent: reliability-test\n")
            || headers.contains("user-agent: reliability-test\r\n"),
        "{headers:?}"
    );

    // The application's own event, from inside the request.
    let app = trace
        .events
        .iter()
        .find(|e| e.provider == "shop::session")
        .expect("the application's event");
    assert_eq!(app.opcode, "APPLICATION_EVENT");
    assert_eq!(app.level, 4);
    assert_eq!(app.data("Message"), Some("checking the session cookie"));
    assert_eq!(app.data("path"), Some("/report.xyz"));

    // Who set the error status: StaticFileModule, with the HRESULT.
    let set = trace
        .error_status()
        .expect("MODULE_SET_RESPONSE_ERROR_STATUS");
    assert_eq!(set.level, 3);
    assert_eq!(set.data("ModuleName"), Some("StaticFileModule"));
    assert_eq!(set.data("Notification"), Some("128"));
    assert_eq!(
        set.description("Notification"),
        Some("EXECUTE_REQUEST_HANDLER")
    );
    assert_eq!(set.data("HttpStatus"), Some("404"));
    assert_eq!(set.data("HttpReason"), Some("Not Found"));
    assert_eq!(set.data("HttpSubStatus"), Some("3"));
    assert_eq!(set.data("ErrorCode"), Some("2147942450"));
    assert_eq!(
        set.description("ErrorCode"),
        Some("Not supported (0x80070032)")
    );
    let set_at = names
        .iter()
        .position(|n| *n == "MODULE_SET_RESPONSE_ERROR_STATUS")
        .unwrap();
    let app_at = trace
        .events
        .iter()
        .position(|e| e.provider == "shop::session")
        .unwrap();
    assert!(app_at < set_at);
    assert_eq!(names[set_at + 1], "GENERAL_RESPONSE_HEADERS");
    assert!(trace.events[set_at + 1]
        .data("Headers")
        .unwrap()
        .contains("content-type: text/html"));

    let end = trace.events.last().unwrap();
    assert_eq!(end.data("HttpStatus"), Some("404"));
    assert_eq!(end.data("HttpSubStatus"), Some("3"));
    let sent: u64 = end.data("BytesSent").unwrap().parse().unwrap();
    assert!(sent > res.body.len() as u64, "head and body: {sent}");
    let received: u64 = end.data("BytesReceived").unwrap().parse().unwrap();
    assert!(received > 60, "{received}");
    assert_eq!(trace.dropped_events, 0);

    xmllint_reads(&path);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_over_time_taken_writes_one() {
    let dir = temp_dir("slow");
    let (app, guard) = build(
        FailedRequestTracingLayer::builder().directory(&dir).rule(
            Rule::new("*")
                .status_codes("500-599")
                .unwrap()
                .time_taken(tower_iis::freb::parse_time_taken("00:00:00.2").unwrap()),
        ),
    );
    let handle = guard.handle();
    let server = Server::start(app, None).await;
    assert_eq!(get_once(server.addr, "/hello").await.status, 200);
    assert_eq!(get_once(server.addr, "/slow").await.status, 200);
    flush(&handle).await;
    assert_eq!(file_names(&handle), ["fr000001.xml"]);
    let (_, trace) = read_trace(&handle.directory().join("fr000001.xml"));
    assert_eq!(
        trace.url,
        format!("http://localhost:{}/slow", server.addr.port())
    );
    assert_eq!(
        (trace.failure_reason.as_str(), trace.status_code.as_str()),
        ("TIME_TAKEN", "200.0")
    );
    assert!(trace.time_taken_ms >= 300, "{}", trace.time_taken_ms);
    assert!(trace.error_status().is_none());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_error_with_a_warning_traces_the_handler_and_verbosity_triggers() {
    let dir = temp_dir("verbosity");
    let (app, guard) = build(
        FailedRequestTracingLayer::builder()
            .directory(&dir)
            .rule(Rule::new("/orders/*").verbosity(Verbosity::Warning))
            .rule(Rule::new("*").status_codes("500").unwrap()),
    );
    let handle = guard.handle();
    let server = Server::start(app, None).await;
    assert_eq!(get_once(server.addr, "/orders/7").await.status, 404);
    // Covered by the second rule only: a 404 is not a failure there, and the
    // page's tracing item points to the documentation.
    let res = get_once(server.addr, "/missing.htm").await;
    assert_eq!(res.status, 404);
    assert!(res.text().contains("How: <a href=\"https://docs.rs/tower-iis/latest/tower_iis/\">the tower-iis documentation</a>."));
    assert!(!res.text().contains("The trace of this request"));
    flush(&handle).await;
    assert_eq!(file_names(&handle), ["fr000001.xml"]);
    let (_, trace) = read_trace(&handle.directory().join("fr000001.xml"));
    assert_eq!(
        (trace.failure_reason.as_str(), trace.status_code.as_str()),
        ("VERBOSITY", "404.0")
    );
    let warn = trace
        .events
        .iter()
        .find(|e| e.provider == "shop::orders")
        .unwrap();
    assert_eq!((warn.level, warn.data("order")), (3, Some("7")));
    assert_eq!(warn.data("Message"), Some("order not in the database"));
    let set = trace.error_status().unwrap();
    assert_eq!(set.data("ModuleName"), Some("ShopModule"));
    assert_eq!(
        set.description("ErrorCode"),
        Some("File not found (0x80070002)")
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_mixed_requests_one_trace_per_404_and_max_log_files() {
    let dir = temp_dir("load");
    let (app, guard) = build(
        FailedRequestTracingLayer::builder()
            .directory(&dir)
            .queue_capacity(20_000)
            .rule(Rule::new("*").status_codes("404").unwrap()),
    );
    let handle = guard.handle();
    let server = Server::start(app, None).await;
    let addr = server.addr;
    let clients: Vec<_> = (0..8u32)
        .map(|c| {
            tokio::spawn(async move {
                let mut conn = BufReader::new(TcpStream::connect(addr).await.unwrap());
                let mut not_found = Vec::new();
                for i in 0..1250u32 {
                    let n = c * 1250 + i;
                    let target = match n % 5 {
                        0 => format!("/missing-{n}.htm"),
                        1 => format!("/report.xyz?n={n}"),
                        2 => "/site.css".to_owned(),
                        3 => format!("/hello?n={n}"),
                        _ => format!("/index.htm?n={n}"),
                    };
                    let req = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n");
                    conn.get_mut().write_all(req.as_bytes()).await.unwrap();
                    let res = read_response(&mut conn, "GET").await.unwrap();
                    if res.status == 404 {
                        not_found.push(target);
                    } else {
                        assert_eq!(res.status, 200, "{target}");
                    }
                }
                not_found
            })
        })
        .collect();
    let mut not_found = HashSet::new();
    for c in clients {
        not_found.extend(c.await.unwrap());
    }
    assert_eq!(not_found.len(), 4000);
    flush(&handle).await;
    let stats = handle.stats();
    assert_eq!((stats.written, stats.dropped, stats.failed), (4000, 0, 0));
    assert_eq!(stats.deleted, 4000 - 50);
    let names = file_names(&handle);
    let expect: Vec<_> = (3951..=4000).map(|n| format!("fr{n:06}.xml")).collect();
    assert_eq!(names, expect);
    let mut urls = HashSet::new();
    for name in &names {
        let (_, trace) = read_trace(&handle.directory().join(name));
        assert!(
            trace.status_code.starts_with("404."),
            "{}",
            trace.status_code
        );
        let origin = format!("http://localhost:{}", addr.port());
        let target = trace.url.strip_prefix(&origin).unwrap().to_owned();
        assert!(not_found.contains(&target), "{target}");
        assert!(urls.insert(target));
    }
    server.shutdown().await;
}

#[test]
fn a_flood_of_events_stays_within_the_budget() {
    install_collector();
    let dir = temp_dir("flood");
    let (layer, guard) = FailedRequestTracingLayer::builder()
        .directory(&dir)
        .max_events(1000)
        .rule(Rule::new("*").status_codes("404").unwrap())
        .build()
        .unwrap();
    let app = traced_app(layer);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    rt.block_on(async {
        let res = app
            .oneshot(
                Request::get("/noisy")
                    .header("host", "localhost")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        drop(res);
    });
    let peak = PEAK.with(Cell::get) - before;
    eprintln!("peak heap growth on the request's thread: {peak} bytes");
    // 100 000 events of over 200 bytes each would be 20 MB and more unbounded.
    assert!(peak < 3 << 20, "peak growth {peak} bytes");
    guard.handle().flush().unwrap();
    let (text, trace) = read_trace(&guard.handle().directory().join("fr000001.xml"));
    let app_events = trace
        .events
        .iter()
        .filter(|e| e.provider == "shop::noise")
        .count();
    let session = trace
        .events
        .iter()
        .filter(|e| e.provider == "shop::session")
        .count();
    assert_eq!(app_events + session, 1000);
    assert_eq!(trace.dropped_events, 100_000 + 1 - 1000);
    assert!(
        trace.error_status().is_some(),
        "this crate's events are kept past the budget"
    );
    assert_eq!(trace.events.last().unwrap().opcode, "GENERAL_REQUEST_END");
    assert!(text.len() < 2 << 20, "{} bytes", text.len());
}

#[test]
fn the_byte_budget_cuts_and_counts() {
    install_collector();
    let dir = temp_dir("bytes");
    let (layer, guard) = FailedRequestTracingLayer::builder()
        .directory(&dir)
        .max_bytes(1000)
        .rule(Rule::new("*").status_codes("200").unwrap())
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|_req: Request<String>| async {
            tracing::info!(target: "app", small = "fits", "first");
            tracing::info!(target: "app", big = "y".repeat(5000).as_str(), "too big");
            tracing::info!(target: "app", control = "a\u{1}b<c>&\"", "last");
            Ok::<_, Infallible>(http::Response::new(String::from("ok")))
        });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        drop(
            svc.oneshot(Request::get("/").body(String::new()).unwrap())
                .await
                .unwrap(),
        );
    });
    guard.handle().flush().unwrap();
    let path = guard.handle().directory().join("fr000001.xml");
    let (text, trace) = read_trace(&path);
    let msgs: Vec<_> = trace
        .events
        .iter()
        .filter(|e| e.provider == "app")
        .map(|e| e.data("Message").unwrap())
        .collect();
    assert_eq!(msgs, ["first", "last"]);
    assert_eq!(trace.dropped_events, 1);
    let dropped_bytes: u64 = roxmltree::Document::parse(&text)
        .unwrap()
        .root_element()
        .attribute(("urn:tower-iis:freb", "droppedBytes"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(dropped_bytes >= 5000, "{dropped_bytes}");
    // A control character cannot be in XML at all: replaced; markup escaped.
    let last = trace
        .events
        .iter()
        .find(|e| e.data("Message") == Some("last"))
        .unwrap();
    assert_eq!(last.data("control"), Some("a\u{FFFD}b<c>&\""));
    xmllint_reads(&path);
}

#[test]
fn numbering_continues_after_a_restart_and_bad_settings_are_named() {
    install_collector();
    let dir = temp_dir("restart");
    let site = dir.join("W3SVC3");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("fr000041.xml"), "<failedRequest/>").unwrap();
    std::fs::write(site.join("fr000007.xml"), "<failedRequest/>").unwrap();
    let (layer, guard) = FailedRequestTracingLayer::builder()
        .directory(&dir)
        .site_id(3)
        .max_log_files(2)
        .rule(Rule::new("*").status_codes("200").unwrap())
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|_req: Request<String>| async {
            Ok::<_, Infallible>(http::Response::new(String::new()))
        });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        drop(
            svc.oneshot(Request::get("/").body(String::new()).unwrap())
                .await
                .unwrap(),
        );
    });
    guard.handle().flush().unwrap();
    assert_eq!(
        file_names(&guard.handle()),
        ["fr000041.xml", "fr000042.xml"]
    );
    let (_, trace) = read_trace(&site.join("fr000042.xml"));
    assert_eq!(trace.site_id, "3");

    let err = FailedRequestTracingLayer::builder()
        .max_log_files(0)
        .rule(Rule::new("*"))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid maxLogFiles \"0\": must be at least 1"
    );
    let err = Rule::new("*").status_codes("404,5xx").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid statusCodes \"404,5xx\": `5xx` is not a status code from 100 to 999"
    );
    let err = FailedRequestTracingLayer::builder().build().unwrap_err();
    assert_eq!(err.setting(), "traceFailedRequests");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let err = FailedRequestTracingLayer::builder()
        .directory(&file)
        .rule(Rule::new("*"))
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), "directory");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the OS error comes along"
    );
}

#[test]
fn the_stylesheet_renders_a_report_with_the_failing_event_picked_out() {
    install_collector();
    let dir = temp_dir("xsl");
    let (layer, guard) = FailedRequestTracingLayer::builder()
        .directory(&dir)
        .rule(Rule::new("*").status_codes("404").unwrap())
        .build()
        .unwrap();
    let app = traced_app(layer);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let res = app
            .oneshot(
                Request::get("/report.xyz")
                    .header("host", "localhost")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
    });
    guard.handle().flush().unwrap();
    let site = guard.handle().directory().to_owned();
    let out = match Command::new("xsltproc")
        .arg(site.join("freb.xsl"))
        .arg(site.join("fr000001.xml"))
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "xsltproc is required in CI: {e}"
            );
            eprintln!("skipping xsltproc: {e}");
            return;
        }
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(
        html.contains("<title>Request trace: 404.3 - http://localhost:80/report.xyz</title>"),
        "{html}"
    );
    assert!(html.contains("<span class=\"status\">404.3</span>"));
    assert!(html.contains("<h3>Where the error status was set</h3>"));
    assert!(html.contains("<td>StaticFileModule</td>"));
    assert!(html.contains("<td>Not supported (0x80070032)</td>"));
    assert!(html.contains("<td>EXECUTE_REQUEST_HANDLER</td>"));
    let failing = html
        .find("<tr id=\"event-")
        .and_then(|_| html.find("class=\"failing\""))
        .unwrap();
    assert!(html[failing..].contains("MODULE_SET_RESPONSE_ERROR_STATUS"));
    assert_eq!(html.matches("class=\"failing\"").count(), 1);
    assert!(html.contains("GENERAL_REQUEST_START") && html.contains("GENERAL_REQUEST_END"));
    // Every event shows its data, renderings in place of the raw values.
    let events = &html[html.find("<h2>Events</h2>").unwrap()..];
    let compact = events
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("> <", "><");
    for item in [
        "<dt>RequestURL</dt><dd>http://localhost:80/report.xyz</dd>",
        "<dt>path</dt><dd>/report.xyz</dd>",
        "<dt>Message</dt><dd>checking the session cookie</dd>",
        "<dt>ModuleName</dt><dd>StaticFileModule</dd>",
        "<dt>Notification</dt><dd>EXECUTE_REQUEST_HANDLER</dd>",
        "<dt>ErrorCode</dt><dd>Not supported (0x80070032)</dd>",
        "<dt>HttpSubStatus</dt><dd>3</dd>",
    ] {
        assert!(compact.contains(item), "{item} in {compact}");
    }
}

// ---- the whole site, configured by web.config ----

const TRACING_WEB_CONFIG: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.webServer>
    <tracing>
      <traceFailedRequests>
        <add path="*.htm">
          <failureDefinitions statusCodes="500" />
        </add>
        <add path="*">
          <traceAreas>
            <add provider="WWW Server" areas="Security,StaticFile,Module" verbosity="Verbose" />
          </traceAreas>
          <failureDefinitions statusCodes="403-404" timeTaken="00:00:30" verbosity="Ignore" />
        </add>
      </traceFailedRequests>
    </tracing>
  </system.webServer>
</configuration>
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_traces_by_its_web_config_and_test_site_reads_the_traces() {
    install_collector();
    let root = temp_dir("site-root");
    std::fs::write(root.join("web.config"), TRACING_WEB_CONFIG).unwrap();
    std::fs::write(root.join("report.xyz"), "no MIME map").unwrap();
    std::fs::write(root.join("index.htm"), "<p>home</p>").unwrap();
    let traces = temp_dir("site-traces");
    let site = tower_iis::test_site::TestSite::start(
        tower_iis::site::IisSite::from_web_config(&root).failed_request_logging(&traces),
    )
    .await;

    assert_eq!(site.get("/index.htm").await.status, 200);
    // Covered by the `*.htm` rule, where only 500 is a failure.
    assert_eq!(site.get("/missing.htm").await.status, 404);
    assert_eq!(site.get("/x.cs").await.status, 404);
    assert_eq!(site.get("/report.xyz").await.status, 404);
    let all = site.traces().await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(traces.join("W3SVC1/freb.xsl").is_file());

    // Request filtering's denial, with the rule, and who set the status.
    let denied = site.trace_for("/x.cs").await.unwrap();
    assert_eq!(denied.status_code, "404.7");
    let set = denied.error_status().unwrap();
    assert_eq!(set.data("ModuleName"), Some("RequestFilteringModule"));
    assert_eq!(set.description("Notification"), Some("BEGIN_REQUEST"));
    let rf = denied
        .events_named("REQUEST_FILTERING_DENIED")
        .next()
        .unwrap();
    assert_eq!(rf.provider, "WWW Server");
    assert_eq!(rf.data("status"), Some("404.7"));
    assert!(rf.data("reason").is_some_and(|r| !r.is_empty()));
    assert_eq!(
        rf.data("area"),
        None,
        "the area decides filtering; it is not data"
    );
    assert!(
        denied.events_named("STATIC_FILE_START").next().is_none(),
        "denied before the file system"
    );

    // The static file lookup, with the physical path.
    let mime = site.trace_for("/report.xyz").await.unwrap();
    assert_eq!(mime.status_code, "404.3");
    let lookup = mime.events_named("STATIC_FILE_START").next().unwrap();
    assert_eq!(lookup.data("Found"), Some("true"));
    assert_eq!(
        lookup.data("PhysicalPath"),
        Some(root.join("report.xyz").display().to_string().as_str())
    );
    assert_eq!(
        mime.error_status().unwrap().data("ModuleName"),
        Some("StaticFileModule")
    );
    // traceAreas: Verbose for these areas; the general events are kept.
    assert_eq!(mime.events.first().unwrap().opcode, "GENERAL_REQUEST_START");
    assert_eq!(mime.events.last().unwrap().opcode, "GENERAL_REQUEST_END");
}

#[test]
fn web_config_tracing_values_are_checked() {
    let bad = TRACING_WEB_CONFIG.replace("403-404", "403-40x");
    let err = tower_iis::web_config::WebConfig::parse(&bad, "/site/web.config").unwrap_err();
    assert_eq!(err.element(), "failureDefinitions");
    assert_eq!(err.attribute(), Some("statusCodes"));
    assert_eq!(err.line(), 13);
    assert!(err.message().contains("'403-40x'"), "{}", err.message());
    let bad = TRACING_WEB_CONFIG.replace("00:00:30", "30s");
    let err = tower_iis::web_config::WebConfig::parse(&bad, "/site/web.config").unwrap_err();
    assert_eq!(err.attribute(), Some("timeTaken"));
    let bad = TRACING_WEB_CONFIG.replace("verbosity=\"Ignore\"", "verbosity=\"Loud\"");
    let err = tower_iis::web_config::WebConfig::parse(&bad, "/site/web.config").unwrap_err();
    assert_eq!(err.attribute(), Some("verbosity"));
    let bad = TRACING_WEB_CONFIG.replace("<add path=\"*\">", "<add path=\"*.htm\">");
    let err = tower_iis::web_config::WebConfig::parse(&bad, "/site/web.config").unwrap_err();
    assert!(err.message().contains("duplicate"), "{}", err.message());

    let ok =
        tower_iis::web_config::WebConfig::parse(TRACING_WEB_CONFIG, "/site/web.config").unwrap();
    assert!(ok.warnings.is_empty(), "{:?}", ok.warnings);
    let rules = &ok.trace_failed_requests;
    assert_eq!(
        rules.iter().map(Rule::path).collect::<Vec<_>>(),
        ["*.htm", "*"]
    );
    let demo = tower_iis::web_config::WebConfig::load(wwwroot().join("web.config")).unwrap();
    assert_eq!(demo.trace_failed_requests.len(), 1);
    assert!(demo.warnings.is_empty(), "{:?}", demo.warnings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_client_is_not_told_where_the_trace_is() {
    install_collector();
    let dir = temp_dir("remote");
    let (layer, guard) = FailedRequestTracingLayer::builder()
        .directory(&dir)
        .rule(Rule::new("*").status_codes("404").unwrap())
        .build()
        .unwrap();
    // Detailed pages for everyone, so the remote client sees the tracing item.
    let errors = HttpErrorsLayer::builder()
        .error_mode(tower_iis::http_errors::ErrorMode::Detailed)
        .build()
        .unwrap();
    let stack = ServiceBuilder::new()
        .layer(layer)
        .layer(errors)
        .service(application());
    let remote: std::net::SocketAddr = "203.0.113.7:50000".parse().unwrap();
    let server = Server::start(Router::new().fallback_service(stack), Some(remote)).await;
    let res = get_once(server.addr, "/report.xyz").await;
    assert_eq!(res.status, 404);
    let page = res.text();
    assert!(page.contains("IIS 10.0 Detailed Error - 404.3 - Not Found"));
    assert!(page.contains("the tower-iis documentation"));
    assert!(
        !page.contains("fr000001") && !page.contains("file://"),
        "{page}"
    );
    // The trace is written all the same.
    flush(&guard.handle()).await;
    assert_eq!(file_names(&guard.handle()), ["fr000001.xml"]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ip_restriction_denial_is_in_the_trace() {
    install_collector();
    let root = temp_dir("ip-root");
    std::fs::write(
        root.join("web.config"),
        r#"<configuration><system.webServer>
  <security><ipSecurity allowUnlisted="false" /></security>
  <tracing><traceFailedRequests><add path="*"><failureDefinitions statusCodes="403" /></add></traceFailedRequests></tracing>
</system.webServer></configuration>"#,
    )
    .unwrap();
    let traces = temp_dir("ip-traces");
    let site = tower_iis::test_site::TestSite::start(
        tower_iis::site::IisSite::from_web_config(&root).failed_request_logging(&traces),
    )
    .await;
    assert_eq!(site.get("/").await.status, 403);
    let trace = site.trace_for("/").await.unwrap();
    assert_eq!(trace.status_code, "403.503");
    let denied = trace.events_named("IP_RESTRICTION_DENIED").next().unwrap();
    assert_eq!(denied.provider, "WWW Server");
    assert_eq!(denied.data("client"), Some("127.0.0.1"));
    assert_eq!(denied.data("status"), Some("403.503"));
    let set = trace.error_status().unwrap();
    assert_eq!(set.data("HttpSubStatus"), Some("503"));
    assert_eq!(set.data("ModuleName"), Some("IpRestrictionModule"));
}
