//! The tower-iis demo server: an IIS site built from `examples/wwwroot/web.config`,
//! serving the files of `examples/wwwroot/` beside a few axum handlers.
//!
//! ```text
//! cargo run --example demo --all-features          # http://127.0.0.1:8080/ and https://127.0.0.1:8443/
//! cargo run --example demo --all-features -- 127.0.0.1:9000 /var/log/demo 127.0.0.1:9443
//! ```
//!
//! HTTPS is served on the second address with a self-signed certificate made at
//! start (the browser warns; its SHA-256 fingerprint is printed to compare).
//! `/secure/` has its own web.config with `<access sslFlags="Ssl" />`: 403.4 over
//! plain HTTP, its page over HTTPS (`curl -ik https://127.0.0.1:8443/secure/`).
//!
//! Open `/` (the default document `index.htm`) for the list of routes. From this
//! machine (loopback) the errors show IIS's detailed page; from anywhere else, the
//! custom page. Files that exist are served by the static file module; other paths
//! go to the handlers below. Every request is written to a W3C log under
//! `./logs/W3SVC1/` (a second argument names another log directory); what http.sys
//! refuses or cuts goes to `./logs/HTTPERR/`. It is served by
//! `tower_iis::server::serve`, which stops gracefully on Ctrl-C and on SIGTERM.
//!
//! `/private/` has a `web.config` of its own that turns anonymous access off and
//! Basic authentication on; the demo checks passwords against [`DEMO_USERS`]
//! (printed at start), a `StaticUsers` list made for demos.
//!
//! Every request answered 400–599 (the rule in `wwwroot/web.config`'s
//! `<traceFailedRequests>`) also gets a failed request trace, `./logs/FailedReqLogFiles/W3SVC1/frNNNNNN.xml`; open it
//! in a browser (it comes with `freb.xsl`).

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_iis::authentication::StaticUsers;
use tower_iis::error::response_for_panic;
use tower_iis::site::{IisSite, SiteError};
use tower_iis::w3c::{Sink, W3cLogLayer};
use tower_iis::web_config::WebConfig;
use tower_iis::{IisError, IisStatus};

/// The demo's Basic authentication users and passwords: for trying `/private/`
/// out, never for anything real.
pub const DEMO_USERS: &[(&str, &str)] = &[
    ("alice", "alice-demo-password"),
    ("bob", "bob-demo-password"),
];

/// The credential check of the demo site: [`DEMO_USERS`].
pub fn demo_users() -> StaticUsers {
    DEMO_USERS
        .iter()
        .fold(StaticUsers::new(), |users, (name, password)| {
            users.user(*name, *password)
        })
}

/// The default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The default HTTPS listen address.
pub const DEFAULT_HTTPS_ADDR: &str = "127.0.0.1:8443";

/// The routes of the demo and what each shows; `wwwroot/index.htm` lists them all.
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("/hello", "200.0", "A handler's page: passes through every layer untouched."),
    ("/site.css", "200.0", "A static file, with ETag and Last-Modified; try a Range or If-None-Match request."),
    ("/images", "301", "A folder without its trailing slash: IIS's courtesy redirect to /images/."),
    ("/missing.htm", "404.0", "Nothing at this path: no file, no route (HRESULT 0x80070002, physical path)."),
    ("/report.xyz", "404.3", "A file whose extension has no MIME map."),
    ("/images/", "403.14", "A folder without a default document, directory browsing off."),
    ("/members", "401.2", "Authentication required; keeps WWW-Authenticate."),
    ("/config", "500.19", "The error a bad web.config (examples/broken-site) gives, with the Config Source block."),
    ("/busy", "503.2", "Concurrent request limit; keeps Retry-After."),
    ("/own-body", "404.0", "A handler's own error body: passed through to local clients (existingResponse Auto), replaced for remote ones."),
    ("/skip", "410.0", "A handler's body with the try-skip-custom-errors flag: always passed through."),
    ("/panic", "500.0", "A handler that panics, caught and shown as IIS's 500."),
    ("/slow", "200.0", "A handler that takes 200 ms."),
    ("/bin/x.txt", "404.8", "Request filtering: a hidden segment."),
    ("/web.config", "404.8", "Request filtering: web.config is hidden."),
    ("/x.cs", "404.7", "Request filtering: a denied file extension."),
    ("/a+b.txt", "404.11", "Request filtering: a + in the path counts as double escaping."),
    ("/search?q=aaaa…", "404.15", "Request filtering: a query string over 2048 bytes (the link sends 3000)."),
];

/// The default log directory; the log files go to `<dir>/W3SVC1/`.
pub const DEFAULT_LOG_DIR: &str = "./logs";

/// The site's content root, `examples/wwwroot`.
pub fn wwwroot() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wwwroot"))
}

/// The web.config IIS would refuse, shown by `/config`.
pub fn broken_web_config() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/broken-site/web.config"
    ))
}

/// The demo site with its W3C log: wwwroot's files, its web.config, the handlers.
pub fn app_with_log(log: W3cLogLayer) -> Router {
    into_router(site().log(log).build())
}

/// The demo site with its W3C log and failed request tracing under `trace_dir`.
#[cfg(feature = "failed-request-tracing")]
pub fn app_with_logs(log: W3cLogLayer, trace_dir: PathBuf) -> Router {
    into_router(site().log(log).failed_request_logging(trace_dir).build())
}

/// The demo site, its log lines going to `tracing`.
pub fn app() -> Router {
    into_router(site().build())
}

fn site() -> tower_iis::site::IisSiteBuilder<Router> {
    let site = IisSite::from_web_config(wwwroot())
        .credentials(demo_users())
        .app(handlers());
    // The error pages of web.config's <httpErrors>, plus `Server: Microsoft-IIS/10.0`
    // on every response, so the demo looks like IIS to a fingerprinting tool.
    match WebConfig::load(wwwroot().join("web.config"))
        .map(|c| c.http_errors.builder().emulate_server_header(true).build())
    {
        Ok(Ok(errors)) => site.http_errors(errors),
        // A broken web.config is reported by the site's build, with its line.
        _ => site,
    }
}

fn into_router(site: Result<IisSite<Router>, SiteError>) -> Router {
    let site = site.unwrap_or_else(|e| panic!("the demo site cannot start: {e}"));
    for warning in site.warnings() {
        eprintln!("web.config: {warning}");
    }
    Router::new().fallback_service(site)
}

/// The handlers: requests for paths that name no file under wwwroot reach them.
pub fn handlers() -> Router {
    Router::new()
        .route("/hello", get(|| async { "Hello from tower-iis.\n" }))
        .route("/members", get(members))
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
        .fallback(missing)
        .layer(CatchPanicLayer::custom(
            response_for_panic::<axum::body::Body>,
        ))
}

async fn missing(uri: axum::http::Uri) -> IisError {
    let mut physical = wwwroot();
    physical.extend(uri.path().split('/').filter(|s| !s.is_empty()));
    IisError::new(IisStatus::NOT_FOUND).with_physical_path(physical.display().to_string())
}

async fn members() -> Response {
    let mut res = IisError::new(IisStatus::UNAUTHORIZED_LOGON_FAILED_SERVER_CONFIG)
        .with_win32_status(5)
        .into_http_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Negotiate"),
    );
    res
}

/// What IIS answers while `examples/broken-site/web.config` is in place: the
/// 500.19 from parsing it (IisSite::from_web_config(..).serve_config_errors(true)
/// answers every request of such a site with it).
async fn config_error() -> IisError {
    match WebConfig::load(broken_web_config()) {
        Err(e) => e.to_iis_error(),
        Ok(_) => IisError::new(IisStatus::INTERNAL_SERVER_ERROR),
    }
}

async fn busy() -> Response {
    let mut res =
        IisError::new(IisStatus::SERVICE_UNAVAILABLE_CONCURRENT_REQUEST_LIMIT).into_http_response();
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
        Extension(IisError::new(IisStatus::new(410, 0)).with_try_skip_custom_errors(true)),
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

/// Serves `app` on `listener` with `tower_iis::server` until `shutdown` completes
/// (signals are left to the caller).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tower_iis::server::serve(listener, app)
        .signals(false)
        .with_graceful_shutdown(shutdown)
        .await
        .map(drop)
        .map_err(std::io::Error::other)
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
    let https_addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| DEFAULT_HTTPS_ADDR.to_owned())
        .parse()
        .map_err(|e| format!("the HTTPS address must look like {DEFAULT_HTTPS_ADDR}: {e}"))?;
    // The guard flushes and closes the log after the server stops, and tells what was lost.
    let (log, guard) = W3cLogLayer::builder().directory(&log_dir).build()?;
    let handle = log.handle();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let https_listener = tokio::net::TcpListener::bind(https_addr).await?;
    let app = {
        use tracing_subscriber::prelude::*;
        // The collector buffers each request's events for its trace.
        tracing_subscriber::registry()
            .with(tower_iis::freb::TraceCollector::new())
            .init();
        let trace_dir = PathBuf::from(&log_dir).join("FailedReqLogFiles");
        println!(
            "failed request traces (400-599): {}/W3SVC1/frNNNNNN.xml",
            trace_dir.display()
        );
        app_with_logs(log, trace_dir)
    };
    let tls = tower_iis::tls::TlsConfig::self_signed(["localhost", "127.0.0.1", "::1"])?;
    println!(
        "tower-iis demo listening on http://{}/ and https://{}/",
        listener.local_addr()?,
        https_listener.local_addr()?
    );
    println!(
        "HTTPS certificate: self-signed for localhost, 127.0.0.1 and ::1; SHA-256 {}",
        tls.sha256_fingerprint()
    );
    let (http_url, https_url) = (
        format!("http://{}", listener.local_addr()?),
        format!("https://{}", https_listener.local_addr()?),
    );
    println!("HTTPS only (403.4 over plain HTTP): {https_url}/secure/  (curl -k: the certificate is self-signed)");
    println!("Basic authentication: {http_url}/private/ and {https_url}/private/");
    for (name, password) in DEMO_USERS {
        println!("demo Basic sign-in for /private/: {name} / {password}");
    }
    let dir = log_dir.trim_end_matches('/');
    println!(
        "W3C log: {dir}/W3SVC1/u_exYYMMDD.log (UTC date; the file appears with the first request); \
         HTTPERR log: {dir}/HTTPERR/httperrN.log"
    );
    // One HTTPERR log for both listeners; the guard closes it after both stopped.
    let (httperr, httperr_guard) = tower_iis::server::HttpErrLog::new(Sink::directory(&log_dir))?;
    // Until Ctrl-C or SIGTERM; then requests in flight finish and both logs flush.
    let https = tower_iis::server::serve(https_listener, app.clone())
        .tls(tls)
        .iis_header_case(true)
        .httperr(httperr.clone())
        .w3c_log(handle.clone());
    let http = tower_iis::server::serve(listener, app)
        .iis_header_case(true)
        .httperr(httperr)
        .w3c_log(handle);
    let (http, https) = tokio::join!(http.into_future(), https.into_future());
    let (http, https) = (http?, https?);
    drop(httperr_guard);
    let stats = guard.close();
    println!(
        "stopped after {} connections; W3C log closed: {} lines written, {} lost; bye",
        http.connections + https.connections,
        stats.written,
        stats.dropped
    );
    Ok(())
}
