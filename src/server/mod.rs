//! The http.sys half: a server that owns the connection, with http.sys's limits,
//! timeouts, error pages and HTTPERR log.
//!
//! [`serve`] is [`axum::serve`](https://docs.rs/axum/latest/axum/fn.serve.html)'s
//! counterpart for an IIS-like stack: it takes a `TcpListener` and any tower service
//! (an axum `Router`, an [`IisSite`](crate::site::IisSite), a `service_fn`), and
//! serves HTTP/1.1 and h2c (HTTP/2 over plain TCP, prior knowledge) on hyper 1 and
//! hyper-util. On top of what hyper does, it
//!
//! - puts a [`ConnectionInfo`] (both addresses, and whether it is TLS) in every
//!   request, so the W3C log and the local/remote rule work without
//!   `into_make_service_with_connect_info`;
//! - serves HTTPS with `Serve::tls` (feature `tls`; see the `tls` module), with
//!   everything below inside TLS and a [`TlsInfo`](crate::TlsInfo) in each request;
//! - behind a reverse proxy, [`trusted_proxies`](Serve::trusted_proxies) makes
//!   the [`ConnectionInfo`] name the client the proxy names;
//! - applies http.sys's [`Limits`] (IIS's defaults unless changed): the idle
//!   keep-alive timeout, the header wait, the entity body timer, the minimum send
//!   rate, the head and header size, the URL segment length and count, the number
//!   of connections;
//! - answers what it refuses the way http.sys does (the status, `Server:
//!   Microsoft-HTTPAPI/2.0`, `Connection: close` and http.sys's small HTML 4.01
//!   page; see [`reason::page`]), then closes the connection;
//! - writes the **HTTPERR log** for every request the application never saw and
//!   every connection a timer cut, `HTTPERR/httperrN.log` beside the W3C folders
//!   (see [`httperr_log`](Serve::httperr_log));
//! - counts bytes on the wire and has the W3C log write each line when the
//!   response's last byte was handed to the socket (`sc-bytes` is what a packet
//!   capture shows: status line, every header, chunk framing; a client that leaves
//!   before the last byte is logged with `sc-win32-status` 64);
//! - shuts down gracefully on SIGINT, SIGTERM or a future of yours: stops
//!   accepting, lets requests in flight finish up to a deadline, flushes the logs,
//!   and says in its `Result` whether every line reached the disk.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tower_iis::server::{serve, Limits};
//! use tower_iis::w3c::{MemorySink, Sink};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let httperr = MemorySink::new();
//! let httperr_sink = httperr.clone();
//! let app = tower::service_fn(|_req: Request<hyper::body::Incoming>| async {
//!     Ok::<_, Infallible>(Response::new(String::from("hello")))
//! });
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(async move {
//!     serve(listener, app)
//!         .limits(Limits::default())
//!         .httperr_log(Sink::memory(&httperr_sink))
//!         .signals(false)
//!         .with_graceful_shutdown(async { let _ = stopped.await; })
//!         .await
//! });
//!
//! // A header holding a control byte: http.sys's 400, not the application's.
//! let mut client = tokio::net::TcpStream::connect(addr).await?;
//! client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n").await?;
//! let mut answer = String::new();
//! client.read_to_string(&mut answer).await?;
//! assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"));
//! assert!(answer.contains("Server: Microsoft-HTTPAPI/2.0\r\n"));
//! assert!(answer.contains("<h2>Bad Request - Invalid Header</h2>"));
//!
//! stop.send(()).unwrap();
//! let report = server.await??; // every line reached its sink
//! assert_eq!(report.httperr.lines, 1);
//! let log = httperr.contents();
//! assert!(log.starts_with("#Software: Microsoft HTTP API 2.0\r\n"));
//! assert!(log.contains(" HTTP/1.1 GET / - 400 - Header -\r\n"));
//! # Ok(())
//! # }
//! ```
//!
//! # How the connection is read
//!
//! hyper refuses a malformed head itself, with a bare `400` and no hook to log it.
//! So the server reads each request head before hyper does: the connection's IO
//! wrapper buffers the bytes of a head until its blank line (at most
//! `max_request_bytes`, so a slow or hostile client holds at most that much
//! memory), checks it (request line, version, method, target and segments, header
//! syntax with `httparse`, `Host`, `Content-Length`, `Transfer-Encoding`), and only
//! then hands it to hyper. It follows the body's framing (`Content-Length` or
//! chunks) to know where the next head starts, so every head on a keep-alive
//! connection is checked. A chunked head is held until its first chunk size is
//! read, so a broken one is refused before the application sees the request; a
//! chunk that breaks later fails the request body (the application has the
//! request, and the W3C log its line). A refused head gets its page once hyper has
//! finished the response in progress, if any; then the connection closes.
//!
//! On the success path this costs one pass over the head (a head that pass does
//! not take gets every check, in http.sys's order); a read with nothing held is
//! made straight into hyper's buffer and checked there. h2c connections (recognised by their
//! preface) and upgraded ones are passed through: h2 applies its own header limit
//! (set to `max_request_bytes`), and the W3C log counts HTTP/2 bytes itself.
//!
//! # Timers
//!
//! - `Timer_ConnectionIdle`: no request in flight and nothing received for
//!   `connection_timeout`.
//! - `Timer_HeaderWait`: a head not complete `header_wait_timeout` after its first
//!   byte (for a chunked request: its first chunk size).
//! - `Timer_EntityBody`: the application waits for body bytes that do not come for
//!   `entity_body_timeout`; the body read fails.
//! - `Timer_MinBytesPerSecond`: a send stalls longer than `send_grace` plus the time
//!   its bytes since the stall began are worth at `min_bytes_per_second`; the
//!   connection is cut and the request's W3C line says `sc-win32-status` 1236.
//!
//! A connection the client closes between requests leaves no line, as with
//! http.sys; connections still open when the shutdown deadline passes are cut
//! (their requests are logged by the W3C log with `sc-win32-status` 64).

mod head;
mod io;
mod limits;
pub mod reason;

use std::fmt;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use pin_project_lite::pin_project;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower_service::Service;
use tracing::instrument::WithSubscriber as _;

pub use limits::{LimitError, Limits};
pub use reason::Reason;

use self::io::{ConnShared, Sock, Verdict, WireIo};
use crate::connection::TrustedProxies;
use crate::w3c::plain::{spawn_httperr, PlainLog};
use crate::w3c::{LogStats, Sink, W3cLogGuard, W3cLogHandle};
use crate::wire::Wire;
use crate::ConnectionInfo;

/// The columns of the HTTPERR log after `date time`, as http.sys writes them.
pub const HTTPERR_FIELDS: [&str; 12] = [
    "c-ip",
    "c-port",
    "s-ip",
    "s-port",
    "cs-version",
    "cs-method",
    "cs-uri",
    "streamid",
    "sc-status",
    "s-siteid",
    "s-reason",
    "s-queuename",
];

/// http.sys's `ErrorLogFileTruncateSize`: a new `httperrN.log` after 1 MB.
pub const HTTPERR_TRUNCATE_SIZE: u64 = 1024 * 1024;

/// hyper's limit on the number of request headers when none is set.
const HYPER_MAX_HEADERS: usize = 100;

/// The error type of a service the server can run.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `service` on `listener`. See the [module docs](self); configure with
/// the [`Serve`] methods, then `.await` it.
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<S> {
    Serve {
        listener,
        service,
        limits: Limits::default(),
        httperr: HttpErrChoice::None,
        w3c: None,
        shutdown: None,
        signals: true,
        deadline: Duration::from_secs(30),
        site_id: 1,
        title_case: false,
        dispatch: None,
        #[cfg(feature = "tls")]
        tls: None,
        trusted_proxies: None,
    }
}

/// A server being configured; `.await` runs it. Built by [`serve`].
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve<S> {
    listener: TcpListener,
    service: S,
    limits: Limits,
    httperr: HttpErrChoice,
    w3c: Option<W3cLogHandle>,
    shutdown: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    signals: bool,
    deadline: Duration,
    site_id: u32,
    title_case: bool,
    /// The `tracing` dispatcher each connection runs under (TestSite's trace
    /// collector when no global subscriber is set); `None`: the default one.
    dispatch: Option<tracing::Dispatch>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsConfig>,
    trusted_proxies: Option<Arc<TrustedProxies>>,
}

#[derive(Debug)]
enum HttpErrChoice {
    None,
    Sink(Sink),
    Log(HttpErrLog),
}

/// The HTTPERR log, built ahead of the server (to keep its handle: flush it, read
/// its counters). [`Serve::httperr_log`] builds one for you.
///
/// ```
/// use tower_iis::server::HttpErrLog;
/// use tower_iis::w3c::{MemorySink, Sink};
///
/// let memory = MemorySink::new();
/// let (log, guard) = HttpErrLog::new(Sink::memory(&memory)).unwrap();
/// log.handle().flush().unwrap();
/// assert_eq!(log.handle().stats().lines, 0);
/// # drop(guard);
/// ```
#[derive(Debug, Clone)]
pub struct HttpErrLog(PlainLog);

impl HttpErrLog {
    /// Starts the log's writer. With [`Sink::directory`]`(dir)` the files are
    /// `dir/HTTPERR/httperrN.log`. Keep the guard until the server has stopped.
    ///
    /// # Errors
    ///
    /// The writer thread could not start.
    pub fn new(sink: Sink) -> std::io::Result<(HttpErrLog, W3cLogGuard)> {
        let (log, guard) = spawn_httperr(sink, "HTTPERR", &HTTPERR_FIELDS, HTTPERR_TRUNCATE_SIZE)?;
        Ok((HttpErrLog(log), guard))
    }

    /// A handle to flush the log and read its counters.
    #[must_use]
    pub fn handle(&self) -> W3cLogHandle {
        self.0.handle()
    }
}

impl<S> fmt::Debug for Serve<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("limits", &self.limits)
            .field("httperr", &self.httperr)
            .field("signals", &self.signals)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<S> Serve<S> {
    /// http.sys's limits and timeouts (default: IIS's).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Where the HTTPERR log goes. With [`Sink::directory`]`(dir)` (the directory
    /// the W3C log's `W3SVC<n>` folders are in) the files are
    /// `dir/HTTPERR/httperr1.log`, `httperr2.log` … (a new one after 1 MB, numbering
    /// going on from the highest file found). Without it no HTTPERR log is kept.
    pub fn httperr_log(mut self, sink: Sink) -> Self {
        self.httperr = HttpErrChoice::Sink(sink);
        self
    }

    /// An HTTPERR log you built (you keep its guard and handle).
    pub fn httperr(mut self, log: HttpErrLog) -> Self {
        self.httperr = HttpErrChoice::Log(log);
        self
    }

    /// The W3C log of the service: flushed at shutdown, and part of the report.
    pub fn w3c_log(mut self, handle: W3cLogHandle) -> Self {
        self.w3c = Some(handle);
        self
    }

    /// Shuts down gracefully when `signal` completes (as well as on SIGINT and
    /// SIGTERM, unless [`signals`](Self::signals) is off).
    pub fn with_graceful_shutdown<F>(mut self, signal: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// Whether HTTP/1 response header names go out as IIS writes them
    /// (`Content-Type`, `Last-Modified`, `Server`) rather than in lower case
    /// (default: lower case; HTTP/2 names are lower case by the protocol).
    ///
    /// hyper title-cases each name, which matches IIS for nearly all of them (`ETag`
    /// goes out as `Etag`, `WWW-Authenticate` as `Www-Authenticate`). It writes them
    /// byte by byte, which costs about 1 000 instructions per response, 7 % of a
    /// trivial request's whole cost (BENCHMARKS.md). `tower-iis serve` and the demo
    /// turn it on; header names are case-insensitive to every client.
    pub fn iis_header_case(mut self, on: bool) -> Self {
        self.title_case = on;
        self
    }

    /// Whether SIGINT (Ctrl-C) and SIGTERM shut the server down (default: yes).
    pub fn signals(mut self, on: bool) -> Self {
        self.signals = on;
        self
    }

    /// How long requests in flight may take to finish once shutdown began
    /// (default 30 s); connections still open then are cut.
    pub fn shutdown_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The reverse proxies whose forwarding header names the client (see
    /// [`connection`](crate::connection#behind-a-reverse-proxy)): for a request
    /// from one of them, the [`ConnectionInfo`] the service sees has the client
    /// the proxy names as `remote` (and a
    /// [`ForwardedBy`](crate::connection::ForwardedBy) with the proxy's address),
    /// so every layer of the service, the W3C log first, sees the real client.
    /// The HTTPERR log, written for what never reaches the service, keeps the
    /// connection's peer, as http.sys does. None by default.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = (!proxies.is_empty()).then(|| Arc::new(proxies));
        self
    }

    /// The site id of `s-siteid` for connections refused by the site's connection
    /// limit (default 1).
    pub fn site_id(mut self, id: u32) -> Self {
        self.site_id = id;
        self
    }

    /// Runs every connection under `dispatch` instead of the default `tracing`
    /// dispatcher.
    #[cfg(all(feature = "test-site", feature = "failed-request-tracing"))]
    pub(crate) fn dispatch(mut self, dispatch: Option<tracing::Dispatch>) -> Self {
        self.dispatch = dispatch;
        self
    }

    /// Serves HTTPS with `config`: every connection starts with a TLS handshake
    /// (ALPN `h2` or `http/1.1`), and its requests carry a [`ConnectionInfo`] with
    /// `tls: true` and a [`TlsInfo`](crate::TlsInfo). Limits, timers, http.sys's
    /// pages, the HTTPERR log and the W3C byte counts work as without TLS; see the
    /// [`tls`](crate::tls) module for what is logged about handshakes.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(mut self, config: crate::tls::TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// The listener's socket error.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// What a server that shut down saw and wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Connections accepted.
    pub connections: u64,
    /// Connections still open at the shutdown deadline, cut.
    pub cut_at_deadline: usize,
    /// The HTTPERR log's counters.
    pub httperr: LogStats,
    /// The W3C log's counters, when [`Serve::w3c_log`] was given.
    pub w3c: Option<LogStats>,
}

/// Why the server could not start, or did not lose nothing.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// A limit the server cannot run with.
    Limits(LimitError),
    /// The HTTPERR log's writer could not start.
    Log(std::io::Error),
    /// The server stopped, but a log did not get every line to its sink: the
    /// report, and the flush error or the count of lost lines.
    LinesLost {
        /// What the server saw and wrote.
        report: ShutdownReport,
        /// What went wrong.
        detail: String,
    },
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Limits(e) => e.fmt(f),
            ServeError::Log(e) => write!(f, "could not start the HTTPERR log writer: {e}"),
            ServeError::LinesLost { detail, .. } => {
                write!(f, "the server stopped but log lines were lost: {detail}")
            }
        }
    }
}

impl std::error::Error for ServeError {}

impl<S, B> IntoFuture for Serve<S>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<ShutdownReport, ServeError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// What every connection task shares.
struct Server {
    limits: Limits,
    httperr: Option<PlainLog>,
    builder: auto::Builder<TokioExecutor>,
    active: AtomicUsize,
    /// Set when shutdown begins, before the connection tasks are woken.
    stopping: AtomicBool,
    site_id: u32,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
    trusted_proxies: Option<Arc<TrustedProxies>>,
}

impl<S, B> Serve<S>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    async fn run(self) -> Result<ShutdownReport, ServeError> {
        self.limits.check().map_err(ServeError::Limits)?;
        let (httperr, guard): (Option<PlainLog>, Option<W3cLogGuard>) = match self.httperr {
            HttpErrChoice::Sink(sink) => {
                let (log, guard) = HttpErrLog::new(sink).map_err(ServeError::Log)?;
                (Some(log.0), Some(guard))
            }
            HttpErrChoice::Log(log) => (Some(log.0), None),
            HttpErrChoice::None => (None, None),
        };
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(hyper_util::rt::TokioTimer::new())
            // The IO wrapper times the head itself, with http.sys's reasons.
            .header_read_timeout(None)
            .title_case_headers(self.title_case)
            .max_buf_size(self.limits.max_request_bytes.max(8192) + 8192);
        if self.limits.max_headers != HYPER_MAX_HEADERS {
            // hyper's own limit is kept on the stack; any other one costs two
            // allocations of that many entries per request head.
            builder.http1().max_headers(self.limits.max_headers);
        }
        builder
            .http2()
            .timer(hyper_util::rt::TokioTimer::new())
            .max_header_list_size(u32::try_from(self.limits.max_request_bytes).unwrap_or(u32::MAX));
        let service = self.service;
        let server = Arc::new(Server {
            limits: self.limits,
            httperr: httperr.clone(),
            builder,
            active: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            site_id: self.site_id,
            #[cfg(feature = "tls")]
            tls: self.tls.as_ref().map(crate::tls::TlsConfig::acceptor),
            trusted_proxies: self.trusted_proxies,
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut shutdown = shutdown_signal(self.shutdown, self.signals);
        let mut tasks = JoinSet::new();
        let accepted = AtomicU64::new(0);
        let listener = self.listener;
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                conn = listener.accept() => match conn {
                    Ok((stream, remote)) => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                        let server = server.clone();
                        let stop = stop_rx.clone();
                        let service = service.clone();
                        let connection = async move { server.connection(service, stream, remote, stop).await };
                        match &self.dispatch {
                            Some(d) => tasks.spawn(connection.with_subscriber(d.clone())),
                            None => tasks.spawn(connection),
                        };
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little.
                        tracing::warn!(target: "tower_iis::server", error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                },
            }
        }
        drop(listener);
        server.stopping.store(true, Ordering::Release);
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(self.deadline, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        let cut_at_deadline = if drained.is_err() {
            let n = tasks.len();
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
            n
        } else {
            0
        };
        drop(server);
        let mut report = ShutdownReport {
            connections: accepted.load(Ordering::Relaxed),
            cut_at_deadline,
            ..ShutdownReport::default()
        };
        let mut problems = Vec::new();
        let w3c = self.w3c;
        let httperr_handle = httperr.as_ref().map(PlainLog::handle);
        drop(httperr);
        let flushed = tokio::task::spawn_blocking(move || {
            let mut results = Vec::new();
            if let Some(h) = &w3c {
                results.push(("W3C", h.flush(), h.stats()));
            }
            if let Some(h) = &httperr_handle {
                results.push(("HTTPERR", h.flush(), h.stats()));
            }
            drop(guard);
            results
        })
        .await
        .unwrap_or_default();
        for (name, result, stats) in flushed {
            if let Err(e) = result {
                problems.push(format!("{name} log: {e}"));
            }
            if stats.dropped > 0 {
                problems.push(format!("{name} log: {} lines dropped", stats.dropped));
            }
            if name == "W3C" {
                report.w3c = Some(stats);
            } else {
                report.httperr = stats;
            }
        }
        if problems.is_empty() {
            Ok(report)
        } else {
            Err(ServeError::LinesLost {
                report,
                detail: problems.join("; "),
            })
        }
    }
}

/// Completes on the caller's future, SIGINT or SIGTERM.
fn shutdown_signal(
    custom: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    signals: bool,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let custom = async move {
            match custom {
                Some(f) => f.await,
                None => std::future::pending().await,
            }
        };
        let os = async move {
            if !signals {
                return std::future::pending().await;
            }
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                match signal(SignalKind::terminate()) {
                    Ok(mut term) => {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = term.recv() => {}
                        }
                    }
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
        };
        tokio::select! {
            () = custom => {}
            () = os => {}
        }
    })
}

impl Server {
    async fn connection<S, B>(
        self: Arc<Self>,
        service: S,
        stream: TcpStream,
        remote: SocketAddr,
        mut stop: watch::Receiver<bool>,
    ) where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let over_limit = self.active.fetch_add(1, Ordering::Relaxed) >= self.limits.max_connections;
        let _active = ActiveGuard(&self.active);
        let _ = stream.set_nodelay(true);
        let local = stream
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let info = ConnectionInfo::new(remote, local);
        #[cfg(feature = "tls")]
        let (sock, info, tls) = match &self.tls {
            None => (Sock::Tcp(stream), info, None),
            Some(acceptor) => {
                let Some(tls) = self.handshake(acceptor, stream, info).await else {
                    return;
                };
                let tls_info = crate::tls::tls_info(tls.get_ref().1);
                (
                    Sock::Tls(Box::new(tls)),
                    info.with_tls(true),
                    Some(tls_info),
                )
            }
        };
        #[cfg(not(feature = "tls"))]
        let (sock, tls) = (Sock::Tcp(stream), None);
        let shared = Arc::new(ConnShared::new(info, tls));
        let io = WireIo::new(sock, shared.clone(), self.limits, over_limit);
        let svc = TowerToHyperService::new(ConnService {
            inner: service,
            shared: shared.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
        });
        let mut conn = Box::pin(
            self.builder
                .serve_connection_with_upgrades(TokioIo::new(io), svc),
        );
        // The stop signal is polled once to register this task; after that a wake-up
        // is enough, and the flag says whether it was the stop. The verdict flag is
        // set by the IO while this task polls the connection.
        let changed = stop.changed();
        tokio::pin!(changed);
        let mut registered = false;
        let mut closing = false;
        std::future::poll_fn(|cx| {
            if conn.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            if !closing {
                if !registered {
                    registered = true;
                    let _ = changed.as_mut().poll(cx);
                }
                if shared.decided.load(Ordering::Acquire) || self.stopping.load(Ordering::Acquire) {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                    if conn.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(());
                    }
                }
            }
            Poll::Pending
        })
        .await;
        // Dropping the connection drops the IO, which hands back the socket if a
        // page is still to be sent.
        drop(conn);
        if let Some(verdict) = shared.take_verdict() {
            // The line first: a client that has read the answer finds it logged.
            self.log(&shared.info, &verdict);
            if verdict.reason.status().is_some() {
                let date = httpdate::fmt_http_date(SystemTime::now());
                let page = reason::response(verdict.reason, verdict.seen.head_request, &date);
                let sock = shared.sock.lock().ok().and_then(|mut s| s.take());
                match sock {
                    Some(Sock::Tcp(sock)) => send_and_close(&sock, &page).await,
                    #[cfg(feature = "tls")]
                    Some(Sock::Tls(mut sock)) => send_and_close_tls(&mut sock, &page).await,
                    None => {}
                }
            }
        }
    }

    /// The TLS handshake of a new connection, cut after the idle connection
    /// timeout (logged `Timer_ConnectionIdle`, as an idle plain connection is). A
    /// failed handshake is not logged to HTTPERR (see the [`tls`](crate::tls) module).
    #[cfg(feature = "tls")]
    async fn handshake(
        &self,
        acceptor: &tokio_rustls::TlsAcceptor,
        stream: TcpStream,
        info: ConnectionInfo,
    ) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
        let accept = acceptor.accept(stream);
        match tokio::time::timeout(self.limits.connection_timeout, accept).await {
            Ok(Ok(tls)) => Some(tls),
            Ok(Err(e)) => {
                tracing::debug!(
                    target: "tower_iis::server", remote = %info.remote, error = %e,
                    "TLS handshake failed; the connection is closed"
                );
                None
            }
            Err(_) => {
                self.log(
                    &info,
                    &Verdict {
                        reason: Reason::TimerConnectionIdle,
                        seen: head::Seen::default(),
                    },
                );
                None
            }
        }
    }

    /// Writes the HTTPERR line of a refused request or a cut connection.
    fn log(&self, info: &ConnectionInfo, verdict: &Verdict) {
        let Some(log) = &self.httperr else { return };
        let ip = |a: SocketAddr| a.ip().to_canonical().to_string();
        let seen = &verdict.seen;
        let site = (verdict.reason == Reason::ConnLimit).then(|| self.site_id.to_string());
        log.send(
            SystemTime::now(),
            vec![
                Some(ip(info.remote)),
                Some(info.remote.port().to_string()),
                Some(ip(info.local)),
                Some(info.local.port().to_string()),
                seen.version.clone(),
                seen.method.clone(),
                seen.uri.clone(),
                None,
                verdict.reason.status().map(|s| s.to_string()),
                site,
                Some(verdict.reason.as_str().to_owned()),
                None,
            ],
        );
    }
}

/// Sends http.sys's answer, closes the sending side, and reads what the client
/// still sends for a moment (so the close does not reset the connection before
/// the client has read the answer).
async fn send_and_close(sock: &TcpStream, bytes: &[u8]) {
    let send = async {
        let mut done = 0;
        while done < bytes.len() {
            if sock.writable().await.is_err() {
                return;
            }
            match sock.try_write(&bytes[done..]) {
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(5), send)
        .await
        .is_err()
    {
        return;
    }
    let _ = socket2::SockRef::from(sock).shutdown(std::net::Shutdown::Write);
    let drain = async {
        let mut scratch = [0u8; 4096];
        let mut total = 0usize;
        while total < 256 * 1024 {
            if sock.readable().await.is_err() {
                return;
            }
            match sock.try_read(&mut scratch) {
                Ok(0) => return,
                Ok(n) => total += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}

/// [`send_and_close`] inside TLS: the page, `close_notify`, the TCP write side
/// closed, and what the client still sends read for a moment.
#[cfg(feature = "tls")]
async fn send_and_close_tls(sock: &mut tokio_rustls::server::TlsStream<TcpStream>, bytes: &[u8]) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let send = async {
        sock.write_all(bytes).await?;
        sock.flush().await?;
        // close_notify, then the TCP socket's write side.
        sock.shutdown().await
    };
    if !matches!(
        tokio::time::timeout(Duration::from_secs(5), send).await,
        Ok(Ok(()))
    ) {
        return;
    }
    let drain = async {
        let mut scratch = [0u8; 4096];
        let mut total = 0usize;
        while total < 256 * 1024 {
            match sock.get_mut().0.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}

struct ActiveGuard<'a>(&'a AtomicUsize);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The service hyper calls: the application's, with the connection's info and
/// wire counts in each request, and each response counted in flight.
#[derive(Clone)]
struct ConnService<S> {
    inner: S,
    shared: Arc<ConnShared>,
    trusted_proxies: Option<Arc<TrustedProxies>>,
}

impl<S, B> Service<Request<Incoming>> for ConnService<S>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
{
    type Response = Response<ServerBody<B>>;
    type Error = S::Error;
    type Future = ConnFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Incoming>) -> Self::Future {
        let ext = req.extensions_mut();
        ext.insert(self.shared.info);
        if let Some(tls) = &self.shared.tls {
            ext.insert(tls.clone());
        }
        // The wire counts, for a W3C log layer (when there is one to read them);
        // every HTTP/1.x request is numbered, so each line finds its own bytes.
        if req.version() < http::Version::HTTP_2 {
            if let Some(wire) = Wire::next(&self.shared.wire) {
                req.extensions_mut().insert(wire);
            }
        }
        if let Some(proxies) = &self.trusted_proxies {
            proxies.apply(&mut req);
        }
        self.shared.in_flight.fetch_add(1, Ordering::Relaxed);
        ConnFuture {
            inner: self.inner.call(req),
            guard: Some(InFlight(self.shared.clone())),
        }
    }
}

/// Counts a request in flight until its response body is done or dropped.
struct InFlight(Arc<ConnShared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

pin_project! {
    /// The response future of the connection's service.
    struct ConnFuture<F> {
        #[pin]
        inner: F,
        guard: Option<InFlight>,
    }
}

impl<F, B, E> Future for ConnFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ServerBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = std::task::ready!(this.inner.poll(cx))?;
        let guard = this.guard.take();
        Poll::Ready(Ok(res.map(|inner| ServerBody {
            inner,
            _guard: guard,
        })))
    }
}

pin_project! {
    /// A response body, counted in flight until hyper is done with it.
    struct ServerBody<B> {
        #[pin]
        inner: B,
        _guard: Option<InFlight>,
    }
}

impl<B: http_body::Body> http_body::Body for ServerBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
