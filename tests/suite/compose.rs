//! The layers with tower-http's usual ones, in both orders, in front of an axum
//! `Router`: the stacks must build (whatever request body the layers inside hand
//! down) and keep their behaviour.

#![cfg(feature = "axum")]

use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_iis::error::response_for_panic;
use tower_iis::{HttpErrorsLayer, IisError, IisStatus, RequestFilteringLayer};

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route(
            "/report.xyz",
            get(|| async {
                Err::<String, _>(IisError::new(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION))
            }),
        )
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("handler bug");
                }
                "unreachable"
            }),
        )
}

fn stamp() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        header::HeaderName::from_static("x-stack"),
        HeaderValue::from_static("composed"),
    )
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

async fn send<S, B>(svc: S, method: &str, uri: &str, body: &str, gzip: bool) -> Answer
where
    S: tower::Service<Request<axum::body::Body>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("accept-language", "en-US")
        .header("origin", "https://app.example.test");
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let req = req.body(axum::body::Body::from(body.to_owned())).unwrap();
    let res = svc.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The same checks for every stack: the handler's answer, an `IisError` page, a
/// request-filtering rejection, a body over the limit, a panic, CORS and the header.
/// `$page_zipped`: whether the error page itself is compressed (compression outside
/// the error pages) or not (the page replaces the compressed body, and the
/// `Content-Encoding` that described it goes too).
macro_rules! check_stack {
    ($make:expr, $page_zipped:expr) => {{
        let ok = send($make, "GET", "/", "", false).await;
        assert_eq!(ok.status, 200);
        assert_eq!(ok.body, "hello");
        assert_eq!(ok.headers["x-stack"], "composed");
        assert_eq!(ok.headers["access-control-allow-origin"], "*");

        let page = send($make, "GET", "/report.xyz", "", false).await;
        assert_eq!(page.status, 404);
        assert_eq!(page.headers["content-type"], "text/html");
        assert!(page
            .body
            .contains("<title>404 - File or directory not found.</title>"));
        assert_eq!(page.headers["x-stack"], "composed");

        let hidden = send($make, "GET", "/web.config", "", false).await;
        assert_eq!(hidden.status, 404);
        assert!(hidden
            .body
            .contains("<title>404 - File or directory not found.</title>"));

        let echoed = send($make, "POST", "/echo", "small body", false).await;
        assert_eq!(echoed.status, 200);
        assert_eq!(echoed.body, "small body");

        let big = send($make, "POST", "/echo", &"x".repeat(4096), false).await;
        assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);

        let panicked = send($make, "GET", "/panic", "", false).await;
        assert_eq!(panicked.status, 500);

        let zipped = send($make, "GET", "/report.xyz", "", true).await;
        assert_eq!(zipped.status, 404);
        if $page_zipped {
            assert_eq!(zipped.headers["content-encoding"], "gzip");
        } else {
            assert!(zipped.headers.get("content-encoding").is_none());
            assert!(zipped
                .body
                .contains("<title>404 - File or directory not found.</title>"));
        }
    }};
}

#[tokio::test]
async fn tower_http_layers_inside_the_iis_layers() {
    let make = || {
        ServiceBuilder::new()
            .layer(HttpErrorsLayer::new())
            .layer(TraceLayer::new_for_http())
            .layer(CompressionLayer::new())
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                Duration::from_secs(10),
            ))
            .layer(CatchPanicLayer::custom(
                response_for_panic::<axum::body::Body>,
            ))
            .layer(CorsLayer::permissive())
            .layer(stamp())
            .layer(RequestBodyLimitLayer::new(1024))
            .layer(RequestFilteringLayer::iis_defaults())
            .service(app())
    };
    check_stack!(make(), false);
}

#[tokio::test]
async fn tower_http_layers_outside_the_iis_layers() {
    let make = || {
        ServiceBuilder::new()
            .layer(TraceLayer::new_for_http())
            .layer(CompressionLayer::new())
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                Duration::from_secs(10),
            ))
            .layer(CorsLayer::permissive())
            .layer(stamp())
            .layer(RequestBodyLimitLayer::new(1024))
            .layer(HttpErrorsLayer::new())
            .layer(RequestFilteringLayer::iis_defaults())
            .layer(CatchPanicLayer::custom(
                response_for_panic::<axum::body::Body>,
            ))
            .service(app())
    };
    check_stack!(make(), true);
}

/// The stacks of the issue report: a body limit, then the error pages; request
/// filtering (its `LimitedBody`) before the error pages; hyper's `Incoming` body.
#[test]
fn error_pages_accept_any_request_body() {
    fn assert_service<S, B>(_: &S)
    where
        S: tower::Service<Request<B>>,
    {
    }
    let limited = ServiceBuilder::new()
        .layer(RequestBodyLimitLayer::new(1024))
        .layer(HttpErrorsLayer::new())
        .service(app());
    assert_service::<_, axum::body::Body>(&limited);
    let filtered = ServiceBuilder::new()
        .layer(RequestFilteringLayer::iis_defaults())
        .layer(HttpErrorsLayer::new())
        .service(app());
    assert_service::<_, axum::body::Body>(&filtered);
    let incoming = ServiceBuilder::new()
        .layer(HttpErrorsLayer::new())
        .service(app());
    assert_service::<_, hyper::body::Incoming>(&incoming);
}
