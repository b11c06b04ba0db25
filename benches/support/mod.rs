//! What the benchmarks share: a realistic request, the trivial handler, the stacks
//! being compared and a way to drive a service without a runtime.
//!
//! Every stack answers the same request with the same handler; only the layers in
//! front of it differ.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes};
use http::header::{self, HeaderValue};
use http::{Request, Response, Uri};
use http_body::Body;
use http_body_util::Full;
use tower::{service_fn, Layer, Service, ServiceBuilder};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tower_iis::w3c::{Sink, W3cLogGuard, W3cLogLayer};
use tower_iis::{ConnectionInfo, HttpErrorsLayer, IisError, IisStatus, RequestFilteringLayer};
use tracing::Level;

/// A browser's `User-Agent`, as long as real ones are.
pub const USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The path and query every benchmark request asks for.
pub const TARGET: &str = "/shop/products/item.aspx?id=42&colour=blue";

/// The client and server ends every request carries.
pub fn connection() -> ConnectionInfo {
    ConnectionInfo::new(
        SocketAddr::from(([203, 0, 113, 7], 50412)),
        SocketAddr::from(([10, 0, 0, 5], 80)),
    )
}

/// A browser-like GET with the headers a browser sends, and its connection.
///
/// Values are static, so cloning them (what the layers do) is as cheap as it is with
/// hyper, whose header values share the connection's read buffer.
pub fn request_from(conn: ConnectionInfo) -> Request<String> {
    let mut req = Request::new(String::new());
    *req.uri_mut() = Uri::from_static(TARGET);
    let h = req.headers_mut();
    h.insert(header::HOST, HeaderValue::from_static("www.example.com"));
    h.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    );
    h.insert(
        header::ACCEPT_LANGUAGE,
        HeaderValue::from_static("en-US,en;q=0.9"),
    );
    h.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("gzip, deflate, br"),
    );
    h.insert(
        header::REFERER,
        HeaderValue::from_static("https://www.example.com/shop/products/"),
    );
    req.extensions_mut().insert(conn);
    req
}

/// [`request_from`] a remote client.
pub fn request() -> Request<String> {
    request_from(connection())
}

/// The trivial handler: `200 OK`, a short text body with its content type.
pub async fn hello<B>(_req: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut res = Response::new(Full::new(Bytes::from_static(b"Hello, world!\n")));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(res)
}

/// A handler that fails with 404.3, as a static-file handler does for an unknown
/// extension.
pub async fn not_found_mime<B>(_req: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(IisError::new(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION)
        .with_physical_path(r"C:\inetpub\wwwroot\shop\report.xyz")
        .into_http_response())
}

/// A W3C log with IIS's default fields writing to `sink`.
pub fn w3c_log(sink: Sink) -> (W3cLogLayer, W3cLogGuard) {
    W3cLogLayer::builder()
        .sink(sink)
        .build()
        .expect("valid log configuration")
}

/// A W3C log writing to nothing (the whole line is still formatted and written).
pub fn w3c_log_null() -> (W3cLogLayer, W3cLogGuard) {
    w3c_log(Sink::writer(io::sink()))
}

/// The access log a Rust user builds today: tower-http's `TraceLayer` with its span
/// and its response event at `INFO` (one line per response under an `INFO` filter).
pub fn trace_layer(
) -> TraceLayer<tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>>
{
    TraceLayer::new_for_http()
        .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
        .on_response(DefaultOnResponse::new().level(Level::INFO))
}

/// Installs the global `tracing` subscriber of the `TraceLayer` stack: the fmt layer
/// at `INFO`, no colours, writing through `tracing-appender`'s non-blocking writer
/// to `writer`. Lossless (`lossy(false)`), like the W3C log's default.
///
/// Dropping the returned guard writes out what is queued and stops the writer.
pub fn install_tracing<W: io::Write + Send + 'static>(
    writer: W,
) -> tracing_appender::non_blocking::WorkerGuard {
    let (non_blocking, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(writer);
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(Level::INFO)
        .with_writer(non_blocking)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
    guard
}

/// The stacks compared on the success path, in the order they are reported.
pub const STACKS: [&str; 5] = [
    "bare",
    "error pages",
    "w3c log",
    "full stack",
    "TraceLayer + fmt",
];

/// No layer.
pub fn bare() -> impl Service<Request<String>, Response = Response<impl Body>, Error = Infallible> {
    service_fn(hello::<String>)
}

/// The error-page layer alone.
pub fn errors() -> impl Service<Request<String>, Response = Response<impl Body>, Error = Infallible>
{
    HttpErrorsLayer::new().layer(service_fn(hello::<String>))
}

/// The W3C log layer alone.
pub fn log(
    log: &W3cLogLayer,
) -> impl Service<Request<String>, Response = Response<impl Body>, Error = Infallible> {
    log.layer(service_fn(hello::<String>))
}

/// Log, error pages and request filtering with IIS defaults, in DESIGN order.
pub fn full(
    log: &W3cLogLayer,
) -> impl Service<Request<String>, Response = Response<impl Body>, Error = Infallible> {
    ServiceBuilder::new()
        .layer(log.clone())
        .layer(HttpErrorsLayer::new())
        .layer(RequestFilteringLayer::iis_defaults())
        .service_fn(hello)
}

/// `TraceLayer` (needs [`install_tracing`] to log anything).
pub fn trace() -> impl Service<Request<String>, Response = Response<impl Body>, Error = Infallible>
{
    trace_layer().layer(service_fn(hello::<String>))
}

/// Times a future was polled again because it was not ready: the log layer waits
/// for room in its writer's queue when the writer falls behind (on a machine whose
/// other tenants starve the writer's thread, or under callgrind).
static WAITS: AtomicUsize = AtomicUsize::new(0);

/// How many polls [`now`] has repeated so far (0: every future was ready at once).
pub fn waits() -> usize {
    WAITS.load(Ordering::Relaxed)
}

/// Polls a future that is ready at once (every service here answers at once),
/// except when the log's queue is full: then it is polled again until it is ready,
/// and the wait is counted ([`waits`]).
pub fn now<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    loop {
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(out) => return out,
            Poll::Pending => {
                WAITS.fetch_add(1, Ordering::Relaxed);
                std::thread::yield_now();
            }
        }
    }
}

/// One request through `svc`, its body read to the end. Returns the body length.
pub fn call<S, B>(svc: &mut S, req: Request<String>) -> usize
where
    S: Service<Request<String>, Response = Response<B>, Error = Infallible>,
    B: Body,
{
    let Ok(()) = now(poll_fn(|cx| svc.poll_ready(cx)));
    let Ok(res) = now(svc.call(req));
    let mut body = pin!(res.into_body());
    let mut len = 0;
    while let Some(frame) = now(poll_fn(|cx| body.as_mut().poll_frame(cx))) {
        match frame {
            Ok(frame) => len += frame.data_ref().map_or(0, Buf::remaining),
            Err(_) => panic!("the body failed"),
        }
    }
    len
}
