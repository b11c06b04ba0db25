//! The tower-iis demo server: an axum app that answers the way IIS does.
//!
//! ```text
//! cargo run --example demo --features axum            # http://127.0.0.1:8080/
//! cargo run --example demo --features axum -- 127.0.0.1:9000
//! ```
//!
//! Open `/` for the list of routes. From this machine (loopback) the errors show
//! IIS's detailed page; from anywhere else, the custom page. Request filtering runs
//! on its IIS 10 defaults, and every request is written to a W3C log under
//! `./logs/W3SVC1/` (a second argument names another log directory).

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_iis::error::{response_for_panic, ConfigErrorDetail, ConfigSourceLine};
use tower_iis::w3c::W3cLogLayer;
use tower_iis::{ConnectionInfo, HttpErrorsLayer, IisError, IisStatus, RequestFilteringLayer};

/// The default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The routes of the demo and what each shows, for the index page.
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("/hello", "200.0", "A normal page: passes through every layer untouched."),
    ("/missing.htm", "404.0", "A file that does not exist (HRESULT 0x80070002, physical path)."),
    ("/report.xyz", "404.3", "An extension without a MIME map."),
    ("/images/", "403.14", "A directory without a default document, listing off."),
    ("/secure", "401.2", "Authentication required; keeps WWW-Authenticate."),
    ("/config", "500.19", "Invalid configuration, with the Config Source block."),
    ("/busy", "503.2", "Concurrent request limit; keeps Retry-After."),
    ("/own-body", "404.0", "A handler's own error body: passed through to local clients (existingResponse Auto), replaced for remote ones."),
    ("/skip", "410.0", "A handler's body with the try-skip-custom-errors flag: always passed through."),
    ("/panic", "500.0", "A handler that panics, caught and shown as IIS's 500."),
    ("/slow", "200.0", "A handler that takes 200 ms."),
    ("/bin/x.txt", "404.8", "Request filtering: a hidden segment."),
    ("/web.config", "404.8", "Request filtering: web.config is hidden."),
    ("/x.cs", "404.7", "Request filtering: a denied file extension."),
    ("/a+b.txt", "404.11", "Request filtering: a + in the path counts as double escaping."),
    ("/search?q=aaaa…", "404.15", "Request filtering: a query string over 2048 bytes (try 3000)."),
];

/// The default log directory; the log files go to `<dir>/W3SVC1/`.
pub const DEFAULT_LOG_DIR: &str = "./logs";

/// The demo application with its IIS layers, W3C log first (outermost).
pub fn app_with_log(log: W3cLogLayer) -> Router {
    app().layer(log)
}

/// The demo application with its IIS layers, without a log: error pages, request
/// filtering on IIS 10 defaults, and caught panics.
pub fn app() -> Router {
    let routes = Router::new()
        .route("/", get(index))
        .route("/hello", get(|| async { "Hello from tower-iis.\n" }))
        .route("/missing.htm", get(missing))
        .route("/report.xyz", get(no_mime_map))
        .route("/images/", get(directory))
        .route("/secure", get(secure))
        .route("/config", get(config_error))
        .route("/busy", get(busy))
        .route("/own-body", get(own_body))
        .route("/skip", get(skip))
        .route("/panic", get(panics))
        .route("/slow", get(slow))
        .route(
            "/search",
            get(|| async { "Search results would go here.\n" }),
        )
        .fallback(missing);
    routes.layer(
        ServiceBuilder::new()
            .layer(HttpErrorsLayer::new())
            .layer(RequestFilteringLayer::iis_defaults())
            .layer(CatchPanicLayer::custom(
                response_for_panic::<axum::body::Body>,
            )),
    )
}

async fn index() -> Html<String> {
    let mut rows = String::new();
    for (path, code, what) in ROUTES {
        let href = if path.starts_with("/search") {
            format!("/search?q={}", "a".repeat(3000))
        } else {
            (*path).to_owned()
        };
        rows.push_str(&format!(
            "<tr><td><a href=\"{href}\">{path}</a></td><td>{code}</td><td>{what}</td></tr>\n"
        ));
    }
    Html(format!(
        "<!DOCTYPE html>\n<html><head><title>tower-iis demo</title></head><body>\n\
         <h1>tower-iis demo</h1>\n<p>Each route answers as IIS would. Loopback clients see \
         IIS's detailed error page, other clients the custom page.</p>\n\
         <table border=\"1\"><tr><th>Route</th><th>IIS status</th><th>What it shows</th></tr>\n{rows}</table>\n\
         </body></html>\n"
    ))
}

async fn missing(uri: axum::http::Uri) -> IisError {
    let rel = uri.path().trim_start_matches('/').replace('/', "\\");
    IisError::new(IisStatus::NOT_FOUND).with_physical_path(format!(r"C:\inetpub\wwwroot\{rel}"))
}

async fn no_mime_map() -> IisError {
    IisError::new(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION)
        .with_physical_path(r"C:\inetpub\wwwroot\report.xyz")
}

async fn directory() -> IisError {
    IisError::new(IisStatus::FORBIDDEN_DIRECTORY_LISTING_DENIED)
        .with_physical_path(r"C:\inetpub\wwwroot\images\")
}

async fn secure() -> Response {
    let mut res = IisError::new(IisStatus::UNAUTHORIZED_LOGON_FAILED_SERVER_CONFIG)
        .with_win32_status(5)
        .into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Negotiate"),
    );
    res
}

async fn config_error() -> IisError {
    IisError::new(IisStatus::INTERNAL_SERVER_ERROR_CONFIGURATION_DATA_INVALID)
        .with_hresult(0x8007_00b7)
        .with_config_error(ConfigErrorDetail {
            error: "Cannot add duplicate collection entry of type 'error' with unique key attribute 'statusCode' set to '404'".into(),
            file: r"\\?\C:\inetpub\wwwroot\web.config".into(),
            source_lines: vec![
                ConfigSourceLine { number: 6, text: r#"      <error statusCode="404" path="/errors/404.htm" responseMode="ExecuteURL" />"#.into(), highlight: false },
                ConfigSourceLine { number: 7, text: r#"      <error statusCode="404" path="/errors/other.htm" responseMode="ExecuteURL" />"#.into(), highlight: true },
                ConfigSourceLine { number: 8, text: "    </httpErrors>".into(), highlight: false },
            ],
        })
}

async fn busy() -> Response {
    let mut res =
        IisError::new(IisStatus::SERVICE_UNAVAILABLE_CONCURRENT_REQUEST_LIMIT).into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    res
}

async fn own_body() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Extension(IisError::new(IisStatus::NOT_FOUND)),
        "The handler's own 404 text.\n",
    )
}

async fn skip() -> impl IntoResponse {
    (
        StatusCode::GONE,
        Extension(IisError::new(IisStatus::new(410, 0)).try_skip_custom_errors(true)),
        "This body always reaches the client.\n",
    )
}

async fn panics() -> &'static str {
    panic!("the demo handler panicked on purpose")
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(200)).await;
    "That took a while.\n"
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<ConnectionInfo>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| DEFAULT_ADDR.to_owned())
        .parse()
        .map_err(|e| format!("the listen address must look like {DEFAULT_ADDR}: {e}"))?;
    let log_dir = args.next().unwrap_or_else(|| DEFAULT_LOG_DIR.to_owned());
    // The guard flushes and closes the log when it is dropped, after the server stops.
    let (log, guard) = W3cLogLayer::builder().directory(&log_dir).build()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "tower-iis demo listening on http://{}/",
        listener.local_addr()?
    );
    println!(
        "W3C log: {}/W3SVC1/u_exYYMMDD.log (UTC date; the file appears with the first request)",
        log_dir.trim_end_matches('/')
    );
    serve(listener, app_with_log(log), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    drop(guard);
    println!("log flushed; bye");
    Ok(())
}
