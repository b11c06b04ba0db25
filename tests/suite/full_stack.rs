//! Each IIS module rule through the whole stack (W3C log → error pages → module →
//! handler): the status, the substatus in the page title and in the log line, and
//! a handler that never ran.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use http_body_util::BodyExt;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_iis::http_errors::ErrorMode;
use tower_iis::ip_security::DenyAction;
use tower_iis::request_filtering::{FilteringRule, LimitCodes};
use tower_iis::w3c::{reader, MemorySink, Sink, W3cLogLayer};
use tower_iis::{
    ConcurrentRequestLimitLayer, ConnectionInfo, HttpErrorsLayer, IpSecurityLayer,
    RequestFilteringLayer, RequireSslLayer,
};

fn request(method: &str, uri: &str) -> Request<String> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "localhost")
        .body(String::new())
        .unwrap();
    req.extensions_mut().insert(ConnectionInfo::new(
        "127.0.0.1:40000".parse().unwrap(),
        "127.0.0.1:80".parse().unwrap(),
    ));
    req
}

macro_rules! stack_case {
    ($module:expr, $req:expr, $expect:expr) => {{
        let memory = MemorySink::new();
        let (log, guard) = W3cLogLayer::builder().sink(Sink::memory(&memory)).build().unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        let svc = ServiceBuilder::new()
            .layer(log)
            .layer(HttpErrorsLayer::builder().error_mode(ErrorMode::Detailed).build().unwrap())
            .layer($module)
            .service(service_fn(move |_req: Request<_>| {
                counter.fetch_add(1, Ordering::SeqCst);
                async { Ok::<_, Infallible>(Response::new(String::from("handler ran"))) }
            }));
        let req: Request<String> = $req;
        let label = format!("{} {}", req.method(), req.uri());
        let res = svc.oneshot(req).await.unwrap();
        let (expect_status, expect_sub): (u16, u16) = $expect;
        assert_eq!(res.status().as_u16(), expect_status, "{label}");
        let connection = res.headers().get("connection").cloned();
        let page = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        guard.handle().flush().unwrap();
        let log = reader::parse(&memory.contents()).unwrap();
        assert_eq!(log.entries.len(), 1, "{label}: one line per request");
        let line = &log.entries[0];
        assert_eq!((line.status(), line.substatus()), (Some(expect_status), Some(expect_sub)), "{label}");
        let rejected = expect_status >= 400;
        if rejected {
            let reason = http::StatusCode::from_u16(expect_status).unwrap();
            let reason = if expect_status == 413 { "Request Entity Too Large" } else { reason.canonical_reason().unwrap() };
            assert!(
                page.contains(&format!("<title>IIS 10.0 Detailed Error - {expect_status}.{expect_sub} - {reason}</title>")),
                "{label}: {page}"
            );
            assert_eq!(runs.load(Ordering::SeqCst), 0, "{label}: the handler must not run");
        } else {
            assert_eq!(page, "handler ran", "{label}");
            assert_eq!(runs.load(Ordering::SeqCst), 1, "{label}");
        }
        connection
    }};
}

#[tokio::test]
async fn request_filtering_rules_through_the_stack() {
    let defaults = || RequestFilteringLayer::iis_defaults();
    let custom = || {
        RequestFilteringLayer::builder()
            .deny_url_sequence("..")
            .deny_verb("PROPFIND")
            .deny_query_string_sequence("<script")
            .filtering_rule(
                FilteringRule::new("no-sql")
                    .scan_query_string(true)
                    .deny_string("union select"),
            )
            .max_url_segments(Some(3))
            .header_limit("x-big", 10)
            .build()
            .unwrap()
    };
    let with_length = |n: usize| {
        let mut r = request("POST", "/upload");
        r.headers_mut()
            .insert("content-length", n.to_string().parse().unwrap());
        *r.body_mut() = "x".repeat(n);
        r
    };
    let mut big_header = request("GET", "/x");
    big_header
        .headers_mut()
        .insert("x-big", "01234567890".parse().unwrap());

    // Rejections carry Connection: close.
    let rejected: Vec<(RequestFilteringLayer, Request<String>, (u16, u16))> = vec![
        (custom(), request("GET", "/a/../b.txt"), (404, 5)),
        (custom(), request("PROPFIND", "/x"), (404, 6)),
        (defaults(), request("GET", "/x.cs"), (404, 7)),
        (defaults(), request("GET", "/web.config"), (404, 8)),
        (defaults(), request("GET", "/bin/x.txt"), (404, 8)),
        (defaults(), request("GET", "/a+b.txt"), (404, 11)),
        (defaults(), request("GET", "/a%252e.txt"), (404, 11)),
        (
            RequestFilteringLayer::builder()
                .allow_high_bit_characters(false)
                .build()
                .unwrap(),
            request("GET", "/caf%C3%A9"),
            (404, 12),
        ),
        (
            defaults(),
            request("GET", &format!("/{}", "a".repeat(4100))),
            (404, 14),
        ),
        (
            defaults(),
            request("GET", &format!("/s?q={}", "a".repeat(3000))),
            (404, 15),
        ),
        (custom(), request("GET", "/s?q=%3Cscript%3E"), (404, 18)),
        (
            custom(),
            request("GET", "/s?q=1%20union%20select%202"),
            (404, 19),
        ),
        (custom(), request("GET", "/a/b/c/d"), (404, 20)),
        (
            RequestFilteringLayer::builder()
                .max_allowed_content_length(10)
                .build()
                .unwrap(),
            with_length(11),
            (413, 1),
        ),
        (
            RequestFilteringLayer::builder()
                .max_allowed_content_length(10)
                .limit_codes(LimitCodes::Legacy)
                .build()
                .unwrap(),
            with_length(11),
            (404, 13),
        ),
        (custom(), big_header, (431, 0)),
    ];
    for (module, req, expect) in rejected {
        let connection = stack_case!(module, req, expect);
        assert_eq!(
            connection.as_ref().map(|v| v.to_str().unwrap()),
            Some("close"),
            "{expect:?}"
        );
    }

    // Just inside each limit, the handler runs.
    let allowed: Vec<(RequestFilteringLayer, Request<String>)> = vec![
        (defaults(), request("GET", "/binary/x.txt")),
        (
            defaults(),
            request("GET", &format!("/{}", "a".repeat(4095))),
        ),
        (
            defaults(),
            request("GET", &format!("/s?q={}", "a".repeat(2046))),
        ),
        (custom(), request("GET", "/a/b/c")),
        (
            RequestFilteringLayer::builder()
                .max_allowed_content_length(10)
                .build()
                .unwrap(),
            with_length(10),
        ),
    ];
    for (module, req) in allowed {
        stack_case!(module, req, (200, 0));
    }
}

#[tokio::test]
async fn limits_restrictions_and_ssl_through_the_stack() {
    // SSL required: a plain connection gets 403.4.
    stack_case!(RequireSslLayer::new(), request("GET", "/"), (403, 4));
    let mut tls = request("GET", "/");
    tls.extensions_mut().insert(
        ConnectionInfo::new(
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.1:443".parse().unwrap(),
        )
        .with_tls(true),
    );
    stack_case!(RequireSslLayer::new(), tls, (200, 0));

    // IP restrictions with each denyAction.
    for (action, expect) in [
        (DenyAction::Forbidden, (403, 503)),
        (DenyAction::Unauthorized, (401, 503)),
        (DenyAction::NotFound, (404, 503)),
    ] {
        let layer = IpSecurityLayer::builder()
            .deny("127.0.0.0/8")
            .deny_action(action)
            .build()
            .unwrap();
        stack_case!(layer, request("GET", "/"), expect);
    }
    let allowed = IpSecurityLayer::builder()
        .deny("10.0.0.0/8")
        .build()
        .unwrap();
    stack_case!(allowed, request("GET", "/"), (200, 0));

    // Dynamic IP restriction by request rate: the third request in the window is denied.
    let layer = IpSecurityLayer::builder()
        .deny_by_request_rate(2, Duration::from_secs(60))
        .build()
        .unwrap();
    stack_case!(layer.clone(), request("GET", "/"), (200, 0));
    stack_case!(layer.clone(), request("GET", "/"), (200, 0));
    stack_case!(layer, request("GET", "/"), (403, 502));

    // The concurrent request limit answers 503.2 at once when it is full.
    let limit = ConcurrentRequestLimitLayer::new(0);
    stack_case!(limit, request("GET", "/"), (503, 2));
}
