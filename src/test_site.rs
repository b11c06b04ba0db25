//! [`TestSite`]: an IIS-like server on a loopback port, for tests, in one line.
//!
//! `TestSite::start(builder)` builds the [`IisSite`] with an in-memory W3C log,
//! serves it with [`server::serve`](crate::server::serve) on `127.0.0.1:<free port>`
//! (http.sys's limits and pages in front, each request tagged with its
//! [`ConnectionInfo`](crate::ConnectionInfo), so the client is local and sees
//! detailed pages), and offers a small HTTP/1.1 client and the lines of both logs:
//! the W3C log ([`log_lines`](TestSite::log_lines)) and the HTTPERR log
//! ([`httperr_lines`](TestSite::httperr_lines)). The server stops when the
//! `TestSite` is dropped.
//!
//! Requests are sent with `Host`, `User-Agent: tower-iis-test-site`,
//! `Accept-Language: en-US` and `Connection: close`, and time out after 10 s.
//!
//! The client also works on its own, against any HTTP/1.1 server on a socket:
//! [`exchange`] sends raw bytes on a new connection and parses the answer, and
//! [`read_response`] reads one response off a keep-alive connection.
//!
//! # Example
//!
//! Needs feature `test-site` and in your crate `tokio` (features `macros`, `rt`).
//!
//! ```
//! use tower_iis::site::IisSite;
//! use tower_iis::test_site::TestSite;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let root = std::env::temp_dir().join(format!("tower-iis-doc-test-site-{}", std::process::id()));
//! std::fs::create_dir_all(root.join("images")).unwrap();
//!
//! let site = TestSite::start(IisSite::builder(&root)).await;
//! let res = site.get("/images/").await;
//! assert_eq!(res.status, 403);
//! assert!(res.text().contains("<title>IIS 10.0 Detailed Error - 403.14 - Forbidden</title>"));
//!
//! let lines = site.log_lines().await;
//! assert_eq!(lines[0].get("cs-uri-stem"), Some("/images/"));
//! assert_eq!((lines[0].status(), lines[0].substatus(), lines[0].win32_status()), (Some(403), Some(14), Some(0)));
//!
//! // What http.sys refuses never reaches the site: its own page, an HTTPERR line.
//! let res = site.send_raw(b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n").await;
//! assert_eq!(res.status, 400);
//! assert!(res.text().contains("<h2>Bad Request - Invalid URL</h2>"));
//! let errors = site.httperr_lines().await;
//! assert_eq!(errors[0].get("s-reason"), Some("URL"));
//! # drop(site);
//! # std::fs::remove_dir_all(&root).unwrap();
//! # }
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower_service::Service;

use crate::server::{serve, HttpErrLog, Limits};
use crate::site::{IisSite, IisSiteBuilder, SiteError};
use crate::w3c::{reader, MemorySink, Sink, W3cLogGuard, W3cLogHandle, W3cLogLayer};
use crate::BoxError;

/// How long a request may take before the client gives up.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A response read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResponse {
    /// The protocol version of the status line (`HTTP/1.1`).
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase of the status line.
    pub reason: String,
    /// The headers, in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The status line as sent, without its line break (`HTTP/1.1 404 Not Found`).
    #[must_use]
    pub fn status_line(&self) -> String {
        format!("{} {} {}", self.version, self.status, self.reason)
    }

    /// The first value of a header (case-insensitive name).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An [`IisSite`] served on a loopback port. See the [module docs](self).
#[derive(Debug)]
pub struct TestSite {
    addr: SocketAddr,
    memory: MemorySink,
    handle: W3cLogHandle,
    _guard: W3cLogGuard,
    httperr: MemorySink,
    httperr_handle: W3cLogHandle,
    _httperr_guard: W3cLogGuard,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    #[cfg(feature = "failed-request-tracing")]
    traces: Option<crate::freb::TraceHandle>,
}

impl TestSite {
    /// Builds the site with an in-memory log and serves it on `127.0.0.1`.
    ///
    /// # Panics
    ///
    /// When the site cannot be built or no loopback port can be bound; the message
    /// says why. [`try_start`](Self::try_start) returns the error instead.
    pub async fn start<S, RB>(builder: IisSiteBuilder<S>) -> Self
    where
        S: Clone,
        IisSite<S>: Service<Request<Incoming>, Response = Response<RB>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        <IisSite<S> as Service<Request<Incoming>>>::Future: Send + 'static,
        RB: http_body::Body<Data = Bytes> + Send + 'static,
        RB::Error: Into<BoxError>,
    {
        match Self::try_start(builder).await {
            Ok(site) => site,
            Err(e) => panic!("TestSite could not start: {e}"),
        }
    }

    /// [`start`](Self::start), returning errors.
    ///
    /// # Errors
    ///
    /// The site could not be built, or no loopback port could be bound.
    pub async fn try_start<S, RB>(builder: IisSiteBuilder<S>) -> Result<Self, BoxError>
    where
        S: Clone,
        IisSite<S>: Service<Request<Incoming>, Response = Response<RB>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        <IisSite<S> as Service<Request<Incoming>>>::Future: Send + 'static,
        RB: http_body::Body<Data = Bytes> + Send + 'static,
        RB::Error: Into<BoxError>,
    {
        Self::try_start_with(builder, Limits::default()).await
    }

    /// [`try_start`](Self::try_start) with http.sys limits of your choice (short
    /// timeouts, say).
    ///
    /// # Errors
    ///
    /// The site could not be built, the limits are bad, or no loopback port could
    /// be bound.
    pub async fn try_start_with<S, RB>(
        builder: IisSiteBuilder<S>,
        limits: Limits,
    ) -> Result<Self, BoxError>
    where
        S: Clone,
        IisSite<S>: Service<Request<Incoming>, Response = Response<RB>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        <IisSite<S> as Service<Request<Incoming>>>::Future: Send + 'static,
        RB: http_body::Body<Data = Bytes> + Send + 'static,
        RB::Error: Into<BoxError>,
    {
        let memory = MemorySink::new();
        let (log, guard) = W3cLogLayer::builder()
            .sink(Sink::memory(&memory))
            .build()
            .map_err(SiteError::Log)?;
        let handle = log.handle();
        let site = builder.log(log).build()?;
        #[cfg(feature = "failed-request-tracing")]
        let traces = site.trace_handle();
        // Without a global subscriber the site's requests run under one that
        // collects their traces; with one, it must hold a `TraceCollector`.
        #[cfg(feature = "failed-request-tracing")]
        let dispatch = (traces.is_some() && !tracing::dispatcher::has_been_set()).then(|| {
            use tracing_subscriber::layer::SubscriberExt as _;
            tracing::Dispatch::new(
                tracing_subscriber::registry().with(crate::freb::TraceCollector::new()),
            )
        });
        limits.check()?;
        let httperr = MemorySink::new();
        let (httperr_log, httperr_guard) = HttpErrLog::new(Sink::memory(&httperr))?;
        let httperr_handle = httperr_log.handle();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = serve(listener, site)
            .limits(limits)
            .httperr(httperr_log)
            .signals(false)
            .shutdown_deadline(Duration::from_secs(1))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            });
        #[cfg(feature = "failed-request-tracing")]
        let server = server.dispatch(dispatch);
        tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::warn!(target: "tower_iis::test_site", "test site: {e}");
            }
        });
        Ok(Self {
            addr,
            memory,
            handle,
            _guard: guard,
            httperr,
            httperr_handle,
            _httperr_guard: httperr_guard,
            stop: Some(stop),
            #[cfg(feature = "failed-request-tracing")]
            traces,
        })
    }

    /// Every failed request trace written so far, oldest first, parsed (the
    /// writer is flushed first). Empty when the site has no tracing rules.
    ///
    /// # Panics
    ///
    /// When the trace writer cannot be flushed or a file cannot be read.
    #[cfg(feature = "failed-request-tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "failed-request-tracing")))]
    pub async fn traces(&self) -> Vec<crate::freb::reader::Trace> {
        let Some(handle) = self.traces.clone() else {
            return Vec::new();
        };
        tokio::task::spawn_blocking(move || {
            handle.flush().expect("the trace writer flushes");
            handle
                .files()
                .expect("the trace folder reads")
                .iter()
                .map(|f| {
                    let text = std::fs::read_to_string(f).expect("the trace file reads");
                    crate::freb::reader::Trace::parse(&text).expect("the trace file parses")
                })
                .collect()
        })
        .await
        .expect("the trace reader runs")
    }

    /// The latest trace of a request for `path` (path and query as sent), waiting
    /// up to a second for it: the trace is written once the response's last byte
    /// has gone, which the client may see first.
    #[cfg(feature = "failed-request-tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "failed-request-tracing")))]
    pub async fn trace_for(&self, path: &str) -> Option<crate::freb::reader::Trace> {
        let suffix = format!("{}{path}", self.addr.port());
        for _ in 0..20 {
            if let Some(t) = self
                .traces()
                .await
                .into_iter()
                .rev()
                .find(|t| t.url.ends_with(&suffix))
            {
                return Some(t);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// The address served.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.request("GET", path, &[], &[]).await
    }

    /// A request with extra headers and a body (`Content-Length` is added when the
    /// body is not empty). The path is sent exactly as given, unencoded.
    ///
    /// # Panics
    ///
    /// When the server does not answer within [`TIMEOUT`] or the answer is not HTTP/1.1.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> TestResponse {
        // Written by hand on purpose, not with hyper's client: the path goes out
        // byte for byte (hyper's `Uri` refuses or normalizes the spaces, broken
        // escapes and raw non-ASCII bytes the tests send), and the one reader shared
        // with `send_raw` sees the exact status line and any bytes after the response.
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: tower-iis-test-site\r\nAccept-Language: en-US\r\nConnection: close\r\n",
            self.addr
        );
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        if !body.is_empty() {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut raw = head.into_bytes();
        raw.extend_from_slice(body);
        self.send_raw(&raw).await
    }

    /// Sends bytes as they are (for malformed or hostile requests) and reads the answer.
    ///
    /// # Panics
    ///
    /// When the server does not answer within [`TIMEOUT`] or the answer is not HTTP/1.1.
    pub async fn send_raw(&self, raw: &[u8]) -> TestResponse {
        exchange(self.addr, raw).await
    }

    /// Every log line written so far (the log is flushed first).
    ///
    /// # Panics
    ///
    /// When the log cannot be flushed or read back.
    pub async fn log_lines(&self) -> Vec<reader::Entry> {
        read_back(&self.handle, &self.memory, "W3C").await
    }

    /// The raw log text, header lines included.
    pub async fn log_text(&self) -> String {
        let _ = self.log_lines().await;
        self.memory.contents()
    }

    /// Every HTTPERR line written so far: what the server refused or cut before
    /// the site saw it (the log is flushed first).
    ///
    /// # Panics
    ///
    /// When the log cannot be flushed or read back.
    pub async fn httperr_lines(&self) -> Vec<reader::Entry> {
        read_back(&self.httperr_handle, &self.httperr, "HTTPERR").await
    }
}

/// Flushes a log held in memory (off the runtime thread) and parses its lines.
async fn read_back(handle: &W3cLogHandle, memory: &MemorySink, log: &str) -> Vec<reader::Entry> {
    let handle = handle.clone();
    tokio::task::spawn_blocking(move || handle.flush())
        .await
        .expect("the flush task runs")
        .unwrap_or_else(|e| panic!("the {log} log flushes: {e}"));
    reader::parse(&memory.contents())
        .unwrap_or_else(|e| panic!("the {log} log reads back: {e}"))
        .entries
}

impl Drop for TestSite {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Sends `raw` as it is on a new connection to `addr`, reads until the server
/// closes it, and parses the one response it holds (read for the method `raw`
/// starts with). For requests with `Connection: close`.
///
/// # Panics
///
/// When the server does not answer within [`TIMEOUT`], the answer is not one
/// HTTP/1.x response, or bytes follow it.
pub async fn exchange(addr: SocketAddr, raw: &[u8]) -> TestResponse {
    let talk = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(raw).await?;
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await?;
        Ok::<_, std::io::Error>(out)
    };
    let out = tokio::time::timeout(TIMEOUT, talk)
        .await
        .expect("the server answers within 10 s")
        .expect("the connection works");
    let method = raw.split(|&b| b == b' ').next().unwrap_or_default();
    let mut rest = &out[..];
    let res = read_response(&mut rest, &String::from_utf8_lossy(method))
        .await
        .expect("the server answers in HTTP/1.1");
    assert!(
        rest.is_empty(),
        "{} bytes follow the response: {:?}",
        rest.len(),
        String::from_utf8_lossy(rest)
    );
    res
}

/// Reads one response to a `method` request from `r`: the head, then the body by
/// `Transfer-Encoding: chunked` (de-chunked), `Content-Length`, or up to the end
/// of the stream; no body after `HEAD` or with 1xx, 204 and 304. It reads no
/// further than the response, so it works on a keep-alive connection.
///
/// # Errors
///
/// The stream fails or ends early, or does not hold an HTTP/1.x response.
pub async fn read_response<R: AsyncBufRead + Unpin>(
    r: &mut R,
    method: &str,
) -> std::io::Result<TestResponse> {
    let mut head = Vec::new();
    loop {
        if r.read_until(b'\n', &mut head).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if head.ends_with(b"\r\n\r\n") {
            break;
        }
        if head.len() > 1 << 20 {
            return Err(invalid("a response head over 1 MiB".to_owned()));
        }
    }
    let head = String::from_utf8_lossy(&head[..head.len() - 4]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (Some(version), Some(status)) = (parts.next(), parts.next().and_then(|s| s.parse().ok()))
    else {
        return Err(invalid(format!("not a status line: {status_line:?}")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(invalid(format!("not HTTP/1.x: {status_line:?}")));
    }
    let mut res = TestResponse {
        version: version.to_owned(),
        status,
        reason: parts.next().unwrap_or_default().to_owned(),
        headers: lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
            .collect(),
        body: Vec::new(),
    };
    if method.eq_ignore_ascii_case("HEAD") || status < 200 || status == 204 || status == 304 {
        return Ok(res);
    }
    if res
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        res.body = read_chunked(r).await?;
    } else if let Some(len) = res.header("content-length") {
        let len = len
            .parse()
            .map_err(|_| invalid(format!("a bad Content-Length: {len:?}")))?;
        res.body = vec![0; len];
        r.read_exact(&mut res.body).await?;
    } else {
        r.read_to_end(&mut res.body).await?;
    }
    Ok(res)
}

/// A chunked body, de-chunked; the trailers are read and dropped.
async fn read_chunked<R: AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| invalid(format!("a bad chunk size line: {line:?}")))?;
        if size == 0 {
            while r.read_line(&mut line).await? > 0 && !line.ends_with("\r\n\r\n") {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..]).await?;
        let mut end = [0; 2];
        r.read_exact(&mut end).await?;
        if end != *b"\r\n" {
            return Err(invalid("a chunk longer than its size".to_owned()));
        }
    }
}

fn invalid(what: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(mut raw: &[u8], method: &str) -> std::io::Result<TestResponse> {
        let res = read_response(&mut raw, method).await;
        assert!(raw.is_empty(), "left unread: {raw:?}");
        res
    }

    #[tokio::test]
    async fn reads_chunked_and_plain_answers() {
        let r = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            "GET",
        )
        .await
        .unwrap();
        assert_eq!(
            (
                r.status_line().as_str(),
                r.reason.as_str(),
                r.text().as_str()
            ),
            ("HTTP/1.1 200 OK", "OK", "abcde")
        );
        let r = parse(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno",
            "GET",
        )
        .await
        .unwrap();
        assert_eq!(r.header("content-length"), Some("2"));
        assert_eq!(r.body, b"no");
        assert!(parse(b"SSH-2.0\r\n\r\n", "GET").await.is_err());
    }

    #[tokio::test]
    async fn reads_one_answer_of_a_keep_alive_connection() {
        let mut raw: &[u8] =
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n";
        let first = read_response(&mut raw, "HEAD").await.unwrap();
        assert_eq!((first.status, first.body.len()), (200, 0));
        assert_eq!(&raw[..2], b"ok");
        let mut raw: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        let first = read_response(&mut raw, "GET").await.unwrap();
        assert_eq!(first.body, b"ok");
        let second = read_response(&mut raw, "GET").await.unwrap();
        assert_eq!((second.status, second.reason.as_str()), (204, "No Content"));
        assert!(raw.is_empty());
    }
}
