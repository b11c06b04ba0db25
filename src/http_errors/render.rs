//! The pages: detailed, custom, one-liners, "Document Moved", problem+json.

use std::fmt::{self, Write as _};

use askama::Template;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Uri};

use crate::catalog;
use crate::connection::ConnectionInfo;
use crate::error::{
    ConfigErrorDetail, IisError, ANONYMOUS, DEFAULT_HANDLER, DEFAULT_MODULE, DEFAULT_NOTIFICATION,
};
use crate::http_util;
use crate::logon::Logon;
use crate::status::IisStatus;

/// What the error-page layer remembers of a request until its response is known.
///
/// Built without allocating: every field is a refcounted clone or a copy. The layer
/// keeps only what its configuration can put on a page for this client
/// ([`CapturePlan`]); failed request tracing keeps everything.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    /// Whether the request is a `HEAD` (the page's body is then left out).
    pub(crate) head: bool,
    uri: Option<Uri>,
    pub(crate) host: Option<HeaderValue>,
    pub(crate) accept: Option<HeaderValue>,
    pub(crate) accept_language: Option<HeaderValue>,
    /// Whether the request had `Accept-Language`, kept even when its value is not.
    has_accept_language: bool,
    pub(crate) conn: Option<ConnectionInfo>,
    pub(crate) local: bool,
    /// Failed request tracing's plan for this request, when a rule covers it.
    #[cfg(feature = "failed-request-tracing")]
    pub(crate) trace: Option<crate::freb::TracePlan>,
}

/// The request values a page can read, beyond the method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Needs {
    /// The URI, `Host` and the connection: the requested URL, a redirect's origin,
    /// a problem document's `instance`.
    pub(crate) url: bool,
    /// `Accept`: problem+json negotiation, ExecuteURL's child request.
    pub(crate) accept: bool,
    /// `Accept-Language`: localized pages, ExecuteURL's child request.
    pub(crate) accept_language: LanguageNeed,
}

impl Needs {
    #[cfg_attr(not(feature = "failed-request-tracing"), allow(dead_code))]
    const ALL: Self = Self {
        url: true,
        accept: true,
        accept_language: LanguageNeed::Value,
    };
}

/// How much of `Accept-Language` a page choice reads, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LanguageNeed {
    /// Nothing: the same page whether the client sent the header or not.
    None,
    /// Whether the client sent it: every localized row has only its default
    /// language, which a request with the header gets whatever it asks for.
    Presence,
    /// The value: a choice among languages, or ExecuteURL's child request.
    Value,
}

/// What the error-page layer keeps of each request, decided when it is built from
/// its configuration: the values the page this client can get reads, no more.
/// Whether that page is the detailed one depends on the connection (local or
/// not), so that is looked up first when the error mode asks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CapturePlan {
    /// `None`: every page is detailed (`Some(true)`) or custom (`Some(false)`)
    /// whoever the client is; otherwise detailed for local clients only.
    pub(crate) detailed: Option<bool>,
    /// What a detailed page reads.
    pub(crate) for_detailed: Needs,
    /// What a custom page, redirect, ExecuteURL row or one-liner reads.
    pub(crate) for_custom: Needs,
}

impl CapturePlan {
    /// Everything, whatever the configuration (failed request tracing).
    #[cfg_attr(not(feature = "failed-request-tracing"), allow(dead_code))]
    const ALL: Self = Self {
        detailed: None,
        for_detailed: Needs::ALL,
        for_custom: Needs::ALL,
    };
}

impl RequestContext {
    /// Keeps everything a page or a trace could read.
    #[cfg_attr(not(feature = "failed-request-tracing"), allow(dead_code))]
    pub(crate) fn capture<B>(req: &Request<B>) -> Self {
        Self::capture_with(req, &CapturePlan::ALL)
    }

    /// Keeps what `plan` says the pages need (the rest is left empty).
    #[inline(always)]
    pub(crate) fn capture_with<B>(req: &Request<B>, plan: &CapturePlan) -> Self {
        let for_custom = plan.for_custom;
        // The connection decides between the pages, and the URL needs it.
        let lookup = plan.detailed != Some(false) || for_custom.url;
        // Read in place: the connection is copied only when a page prints it.
        let ours = if lookup {
            req.extensions().get::<ConnectionInfo>()
        } else {
            None
        };
        // `connection_info`'s other sources (axum's `ConnectInfo`), for a request
        // without ours.
        #[cfg(feature = "axum")]
        let other = if lookup && ours.is_none() {
            crate::connection::connection_info(req)
        } else {
            None
        };
        #[cfg(not(feature = "axum"))]
        let other: Option<ConnectionInfo> = None;
        let conn = ours.or(other.as_ref());
        let local = conn.is_some_and(ConnectionInfo::is_local);
        let detailed = plan.detailed.unwrap_or(local);
        let needs = if detailed {
            plan.for_detailed
        } else {
            for_custom
        };
        let headers = req.headers();
        let get = |wanted: bool, name: header::HeaderName| {
            if wanted {
                headers.get(name).cloned()
            } else {
                None
            }
        };
        let (accept_language, has_accept_language) = match needs.accept_language {
            LanguageNeed::None => (None, false),
            LanguageNeed::Presence => (None, headers.contains_key(header::ACCEPT_LANGUAGE)),
            LanguageNeed::Value => {
                let value = headers.get(header::ACCEPT_LANGUAGE).cloned();
                let present = value.is_some();
                (value, present)
            }
        };
        Self {
            head: req.method() == Method::HEAD,
            uri: needs.url.then(|| req.uri().clone()),
            host: get(needs.url, header::HOST),
            accept: get(needs.accept, header::ACCEPT),
            accept_language,
            has_accept_language,
            local,
            // Beyond deciding between the pages, only the URL reads it.
            conn: if needs.url { conn.copied() } else { None },
            #[cfg(feature = "failed-request-tracing")]
            trace: if needs == Needs::ALL || (detailed && local) {
                req.extensions().get::<crate::freb::TracePlan>().cloned()
            } else {
                None
            },
        }
    }

    /// The request's URI (`/` when the plan did not keep it: no page reads it then).
    pub(crate) fn uri(&self) -> &Uri {
        static ROOT: std::sync::OnceLock<Uri> = std::sync::OnceLock::new();
        self.uri
            .as_ref()
            .unwrap_or_else(|| ROOT.get_or_init(|| Uri::from_static("/")))
    }

    fn is_tls(&self) -> bool {
        http_util::is_tls(self.conn, self.uri())
    }

    /// `http://host:port` with an explicit port, as IIS prints the requested URL.
    pub(crate) fn origin(&self) -> String {
        let mut url = String::with_capacity(64);
        self.write_origin(&mut url);
        url
    }

    /// [`origin`](Self::origin), written into `out` (no intermediate strings).
    fn write_origin(&self, out: &mut String) {
        let tls = self.is_tls();
        out.push_str(if tls { "https://" } else { "http://" });
        let host_text = self
            .uri()
            .authority()
            .map(http::uri::Authority::as_str)
            .or_else(|| self.host.as_ref().and_then(|h| h.to_str().ok()));
        // Split "name:port", keeping IPv6 literals ("[::1]:8080") whole.
        let (name, port) = match host_text {
            Some(h) if !h.is_empty() => split_host_port(h),
            _ => ("", None),
        };
        let (name, port) = if valid_host(name) {
            (name, port)
        } else {
            ("", None)
        };
        if name.is_empty() {
            match self.conn {
                Some(c) if !c.local.ip().is_unspecified() => {
                    let _ = match c.local.ip() {
                        std::net::IpAddr::V6(v6) => write!(out, "[{v6}]"),
                        ip => write!(out, "{ip}"),
                    };
                }
                _ => out.push_str("localhost"),
            }
        } else {
            out.push_str(name);
        }
        let port = port
            .or_else(|| self.conn.map(|c| c.local.port()).filter(|p| *p != 0))
            .unwrap_or(if tls { 443 } else { 80 });
        out.push(':');
        out.push_str(itoa::Buffer::new().format(port));
    }

    /// The requested URL as IIS shows it: absolute, explicit port, with the query.
    pub(crate) fn requested_url(&self) -> String {
        let uri = self.uri();
        let path = uri.path();
        let query = uri.query();
        let mut url = String::with_capacity(64 + path.len() + query.map_or(0, |q| q.len() + 1));
        self.write_origin(&mut url);
        url.push_str(path);
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        url
    }

    /// The original URL with its query, as ExecuteURL passes it on.
    pub(crate) fn full_url(&self) -> String {
        self.requested_url()
    }

    /// The language tags of `Accept-Language`, best first (q=0 dropped).
    #[cfg(test)]
    pub(crate) fn languages(&self) -> Vec<String> {
        let Some(value) = self.accept_language.as_ref().and_then(|v| v.to_str().ok()) else {
            return Vec::new();
        };
        let mut tags: Vec<(f32, usize, String)> = value
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let (tag, q) = parse_media_part(part);
                (q > 0.0 && !tag.is_empty() && tag != "*").then(|| (q, i, tag.to_ascii_lowercase()))
            })
            .collect();
        tags.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        tags.into_iter().map(|t| t.2).collect()
    }

    /// What `find` gives for the best of the client's `Accept-Language` languages it
    /// has something for: the highest weight first, the earlier on a tie (q=0 and
    /// `*` left out). The same choice as the first hit in [`languages`](Self::languages),
    /// without building the list.
    pub(crate) fn best_language<'a, T: ?Sized>(
        &self,
        mut find: impl FnMut(&str) -> Option<&'a T>,
    ) -> Option<&'a T> {
        let value = self.accept_language.as_ref()?.to_str().ok()?;
        let mut best: Option<(f32, &'a T)> = None;
        // `to_str` let through visible ASCII, spaces and tabs only: ASCII trimming is
        // all the trimming there is to do.
        for part in value.split(',') {
            let (tag, params) = part.split_once(';').unwrap_or((part, ""));
            let tag = tag.trim_ascii();
            if tag.is_empty() || tag == "*" {
                continue;
            }
            // The weight only matters for a language there is something for.
            let Some(found) = find(tag) else { continue };
            let q = if params.is_empty() {
                1.0
            } else {
                parse_media_part(part).1
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, found));
                if q >= 1.0 {
                    // Nothing later can weigh more, and a tie goes to the earlier.
                    break;
                }
            }
        }
        best.map(|(_, found)| found)
    }

    /// Whether the client asked for `Accept-Language` at all.
    pub(crate) fn has_accept_language(&self) -> bool {
        self.has_accept_language
    }

    /// Whether the client prefers a JSON problem document over HTML.
    pub(crate) fn prefers_problem_json(&self) -> bool {
        let Some(value) = self.accept.as_ref().and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let (mut json, mut html) = (0.0f32, 0.0f32);
        for part in value.split(',') {
            let (media, q) = parse_media_part(part);
            match media.to_ascii_lowercase().as_str() {
                "application/problem+json" | "application/json" => json = json.max(q),
                "text/html" | "application/xhtml+xml" => html = html.max(q),
                "*/*" | "text/*" => html = html.max(q * 0.999),
                _ => {}
            }
        }
        json > 0.0 && json > html
    }
}

fn split_host_port(h: &str) -> (&str, Option<u16>) {
    http_util::split_host_port(h).map_or(("", None), |(name, port)| {
        (name, port.and_then(|p| p.parse().ok()))
    })
}

/// A host name we are willing to print: letters, digits, `.-_[]:`; nothing else.
fn valid_host(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':')
        })
}

/// Splits `text/html;q=0.8` into the media range and its weight.
fn parse_media_part(part: &str) -> (&str, f32) {
    let mut pieces = part.split(';');
    let media = pieces.next().unwrap_or("").trim();
    let mut q = 1.0f32;
    for p in pieces {
        if let Some(v) = p
            .trim()
            .strip_prefix("q=")
            .or_else(|| p.trim().strip_prefix("Q="))
        {
            q = v
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|q| (0.0..=1.0).contains(q))
                .unwrap_or(0.0);
        }
    }
    (media, q)
}

/// An HRESULT as IIS prints it: `0x80070002`.
#[derive(Clone, Copy)]
pub(crate) struct Hex(pub(crate) u32);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08x}", self.0)
    }
}

/// Settings the pages need from the layer's configuration.
#[derive(Debug, Clone)]
pub(crate) struct PageSettings {
    pub(crate) server_version: String,
    pub(crate) build: u32,
    pub(crate) more_information_link: String,
}

/// The detailed page. `summary`, `causes`, `things_to_try` and `more_information`
/// are this crate's own constant text (the catalog's advice and the constants
/// below), written without escaping (`|safe`): none holds `<`, `>` or `&`
/// (`tests::constant_page_text_needs_no_escaping`), and escaping them was a third of
/// the page's rendering time. Everything else, request-derived values above all, is
/// escaped.
#[derive(Template)]
#[template(path = "detailed.html")]
struct DetailedPage<'a> {
    version: &'a str,
    /// `404.3`; this and the other numbers are written beforehand, digits only.
    status: &'a str,
    reason: &'a str,
    summary: &'a str,
    causes: &'a [&'a str],
    things_to_try: &'a [&'a str],
    module: &'a str,
    notification: &'a str,
    handler: &'a str,
    /// `0x80070002`.
    error_code: &'a str,
    requested_url: &'a str,
    physical_path: &'a str,
    logon_method: &'a str,
    logon_user: &'a str,
    config: Option<&'a ConfigErrorDetail>,
    source_error: Option<String>,
    tracing_advice: &'a str,
    tracing_link: &'a str,
    /// The trace file this request gets, shown to local clients only.
    trace_file: Option<String>,
    trace_url: String,
    more_information: &'a str,
    link: &'a str,
    /// The link's `IIS70Error` value: `404,3,0x80070002,<build>`.
    iis70_error: &'a str,
}

/// A short text built on the stack: the page's numbers.
struct StackStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackStr<N> {
    fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// Appends `text`; the callers size `N` for the longest text they write.
    fn push(&mut self, text: &str) {
        let end = self.len + text.len();
        self.buf[self.len..end].copy_from_slice(text.as_bytes());
        self.len = end;
    }

    fn push_int(&mut self, n: impl itoa::Integer) {
        self.push(itoa::Buffer::new().format(n));
    }

    fn as_str(&self) -> &str {
        // Only `&str`s are pushed, whole.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// [`Hex`] without the formatting machinery.
fn hex_code(code: u32) -> StackStr<10> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = StackStr::new();
    s.buf[..2].copy_from_slice(b"0x");
    for (i, byte) in s.buf[2..].iter_mut().enumerate() {
        *byte = DIGITS[((code >> (28 - 4 * i)) & 0xf) as usize];
    }
    s.len = 10;
    s
}

/// The last item of "Things you can try", as on IIS: trace the failed request.
const TRACING_ADVICE: &str = "Record a trace of the requests that fail with this status to \
see, step by step, which module handled the request and what it decided.";

/// Where that item points: the crate's documentation of failed request tracing.
const TRACING_LINK: &str = "https://docs.rs/tower-iis/latest/tower_iis/";

/// The failed request trace this request gets, for a local client.
#[cfg(feature = "failed-request-tracing")]
fn trace_file(ctx: &RequestContext, status: IisStatus) -> Option<String> {
    if !ctx.local {
        return None;
    }
    let file = ctx.trace.as_ref()?.file_for(status)?;
    Some(file.display().to_string())
}

#[cfg(not(feature = "failed-request-tracing"))]
fn trace_file(_ctx: &RequestContext, _status: IisStatus) -> Option<String> {
    None
}

/// A `file://` URL for an absolute path (the characters a URL path cannot hold
/// as they are percent-encoded).
fn file_url(path: &str) -> String {
    let mut url = String::from("file://");
    if !path.starts_with('/') {
        url.push('/');
    }
    for c in path.chars() {
        match c {
            '%' => url.push_str("%25"),
            ' ' => url.push_str("%20"),
            '#' => url.push_str("%23"),
            '?' => url.push_str("%3F"),
            '\\' => url.push('/'),
            c => url.push(c),
        }
    }
    url
}

/// The "More Information" paragraph of a status family, in our words.
pub(crate) fn more_information(status: IisStatus) -> &'static str {
    match status.code() {
        401 => {
            "A 401 status means the server could not tell who sent the request, or \
did not accept the credentials it carried. The substatus names the authentication step that \
failed and the error code gives the Windows reason; sending valid credentials, or enabling an \
authentication method the client supports, resolves it."
        }
        403 => {
            "A 403 status means the server understood the request and a rule refused it: \
an address or domain restriction, a TLS or client certificate requirement, a folder without a \
default document or listing, or file permissions. The substatus names the rule that applied."
        }
        404 => {
            "A 404 status means nothing was served for this URL. Either no file or folder \
exists at the path it maps to (404.0), or a module refused the request before looking, such as \
request filtering or the static file handler; the substatus tells which one."
        }
        400..=499 => {
            "A 4xx status means the request does not fit what this URL accepts: its \
method, headers, size or preconditions. Changing the request, or the setting that sets the \
limit, resolves it."
        }
        500 => {
            "A 500 status means the server failed while handling a request that looked \
valid: configuration it could not read (500.19), a module that failed, or an error raised by \
the application. The error code, and for local clients the source error, point to the cause."
        }
        501 | 505 => {
            "The server does not implement what the request asks for: a method, a \
transfer coding or a protocol version it does not support."
        }
        502 | 504 => {
            "The server passed the request on and did not get a usable answer in time \
from the server or application behind it."
        }
        503 => {
            "The server cannot take the request right now: the application is stopped, \
restarting or has reached a limit on concurrent requests. Trying again later usually works."
        }
        _ => {
            "This status tells which part of the server stopped the request: the substatus \
after the dot narrows the cause down, and the error code is the Windows or COM code behind it."
        }
    }
}

const CONFIG_SUMMARY: &str =
    "The page cannot be served because the configuration that applies to it is invalid.";

/// The "Logon Method" and "Logon User" of a page: the error's own when it names
/// them (a 401.1 from authentication, the "Not yet determined" of a 500.19), else
/// the request's [`Logon`] (set by the authentication layer on every error
/// response it passes back), else `Anonymous`.
fn logon_of<'a>(err: Option<&'a IisError>, logon: Option<&'a Logon>) -> (&'a str, &'a str) {
    match (err, logon) {
        (Some(e), _) if e.has_logon() || e.config_error().is_some() => {
            (e.logon_method(), e.logon_user())
        }
        (_, Some(l)) => (l.method(), l.page_user()),
        (Some(e), None) => (e.logon_method(), e.logon_user()),
        (None, None) => (ANONYMOUS, ANONYMOUS),
    }
}

/// Renders the detailed page for a status and its error detail (if any).
pub(crate) fn detailed_page(
    settings: &PageSettings,
    ctx: &RequestContext,
    status: IisStatus,
    err: Option<&IisError>,
    logon: Option<&Logon>,
) -> String {
    let (logon_method, logon_user) = logon_of(err, logon);
    let advice = catalog::advice_for(status);
    let config = err.and_then(IisError::config_error);
    let hresult = match err {
        Some(e) => e.hresult(),
        None => status.info().and_then(|i| i.hresult()).unwrap_or(0),
    };
    let info = status.info();
    let from_catalog = |f: fn(&catalog::CodeInfo) -> Option<&'static str>, default| {
        info.and_then(f).unwrap_or(default)
    };
    let source_error = match err.and_then(IisError::source_error) {
        Some(source) if ctx.local => {
            let mut text = source.to_string();
            let mut next = source.source();
            while let Some(cause) = next {
                let _ = write!(text, "\ncaused by: {cause}");
                next = cause.source();
            }
            Some(text)
        }
        _ => None,
    };
    let requested_url = ctx.requested_url();
    let trace_file = trace_file(ctx, status);
    let trace_url = trace_file.as_deref().map(file_url).unwrap_or_default();
    let mut status_text = StackStr::<12>::new();
    status_text.push_int(status.code());
    status_text.push(".");
    status_text.push_int(status.substatus());
    let error_code = hex_code(hresult);
    let error_code = error_code.as_str();
    let mut iis70_error = StackStr::<40>::new();
    iis70_error.push_int(status.code());
    iis70_error.push(",");
    iis70_error.push_int(status.substatus());
    iis70_error.push(",");
    iis70_error.push(error_code);
    iis70_error.push(",");
    iis70_error.push_int(settings.build);
    let page = DetailedPage {
        version: &settings.server_version,
        status: status_text.as_str(),
        reason: err.and_then(IisError::reason).unwrap_or(status.reason()),
        summary: match (config.is_some(), err.and_then(IisError::description)) {
            (true, _) => CONFIG_SUMMARY,
            (false, Some(d)) => d,
            (false, None) => advice.summary,
        },
        causes: advice.causes,
        things_to_try: advice.things_to_try,
        module: err.map_or_else(
            || from_catalog(catalog::CodeInfo::module, DEFAULT_MODULE),
            IisError::module,
        ),
        notification: err.map_or_else(
            || from_catalog(catalog::CodeInfo::notification, DEFAULT_NOTIFICATION),
            IisError::notification,
        ),
        handler: err.map_or_else(
            || from_catalog(catalog::CodeInfo::handler, DEFAULT_HANDLER),
            IisError::handler,
        ),
        error_code,
        requested_url: &requested_url,
        physical_path: err.and_then(IisError::physical_path).unwrap_or(""),
        logon_method,
        logon_user,
        config,
        source_error,
        tracing_advice: TRACING_ADVICE,
        tracing_link: TRACING_LINK,
        trace_file,
        trace_url,
        more_information: more_information(status),
        link: &settings.more_information_link,
        iis70_error: iis70_error.as_str(),
    };
    let mut out = String::with_capacity(6 * 1024);
    // Rendering into a String only fails if a Display impl fails; ours never do.
    let _ = page.render_into(&mut out);
    out
}

#[derive(Template)]
#[template(path = "custom.html")]
struct CustomPage<'a> {
    title: &'a str,
    summary: &'a str,
}

/// The title (also the `h2`) and summary of a built-in custom page, in our words.
pub(crate) fn custom_page_text(status: u16) -> Option<(&'static str, &'static str)> {
    Some(match status {
        401 => (
            "401 - Unauthorized: Access is denied due to invalid credentials.",
            "The credentials you sent do not give you permission to see this directory or page.",
        ),
        403 => (
            "403 - Forbidden: Access is denied.",
            "Access to this directory or page is not allowed.",
        ),
        404 => (
            "404 - File or directory not found.",
            "The page you asked for is not here: it may have been removed or renamed, or it is not available right now.",
        ),
        405 => (
            "405 - HTTP verb used to access this page is not allowed.",
            "This page cannot be shown because the request used a method (HTTP verb) that is not allowed for it.",
        ),
        406 => (
            "406 - Client browser does not accept the MIME type of the requested page.",
            "This page cannot be shown because your browser does not accept the type of content it is.",
        ),
        412 => (
            "412 - Precondition set by the client failed when evaluated on the Web server.",
            "The request was not carried out because a condition in its headers was not met.",
        ),
        500 => (
            "500 - Internal server error.",
            "Something went wrong on the server while it handled this page, so it cannot be shown.",
        ),
        501 => (
            "501 - Header values specify a method that is not implemented.",
            "The server does not support what the request's headers ask of it.",
        ),
        502 => (
            "502 - Web server received an invalid response while acting as a gateway or proxy server.",
            "The server passed the request on to another server and got back an answer it could not use.",
        ),
        _ => return None,
    })
}

/// Renders a built-in custom page.
pub(crate) fn custom_page(status: u16) -> Option<Bytes> {
    let (title, summary) = custom_page_text(status)?;
    CustomPage { title, summary }
        .to_file()
        .ok()
        .map(Bytes::from)
}

impl CustomPage<'_> {
    /// The page as IIS's custerr files are: CRLF line ends, the last line included
    /// (askama drops a template's final `\n`, leaving its `\r`).
    fn to_file(&self) -> askama::Result<String> {
        let mut page = self.render()?;
        if page.ends_with('\r') {
            page.push('\n');
        }
        Ok(page)
    }
}

/// The one-line body IIS sends when no page applies, in our words.
pub(crate) fn one_liner(status: u16) -> &'static str {
    match status {
        400 => "The request could not be understood.",
        401 => "The credentials sent with the request do not give access to this directory or page.",
        403 => "Access to this directory or page is forbidden.",
        404 => "The resource you are looking for is not here: it may have been removed or renamed, or it is not available right now.",
        405 => "The request's method (HTTP verb) is not allowed for this page.",
        406 => "The page is of a type the client does not accept.",
        408 => "The server gave up waiting for the request.",
        412 => "A precondition in the request was not met.",
        413 => "The request body is larger than the server accepts.",
        414 => "The request URL is longer than the server accepts.",
        431 => "The request headers are larger than the server accepts.",
        500 => "The server met an internal error while handling this request.",
        501 => "The server does not implement what the request asks for.",
        502 => "The server got an invalid answer from the server behind it.",
        503 => "The service is unavailable right now.",
        _ if status >= 500 => "The server could not complete the request.",
        _ => "The request could not be completed.",
    }
}

/// An RFC 9457 problem document; the detail only for local clients.
pub(crate) fn problem_json(
    ctx: &RequestContext,
    status: IisStatus,
    err: Option<&IisError>,
    logon: Option<&Logon>,
    with_detail: bool,
) -> String {
    use serde::ser::{SerializeMap as _, Serializer as _};

    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, HtmlSafe);
    let written = (|| -> Result<(), serde_json::Error> {
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("type", "about:blank")?;
        map.serialize_entry("title", status.reason())?;
        map.serialize_entry("status", &status.code())?;
        map.serialize_entry("substatus", &status.substatus())?;
        map.serialize_entry("iisStatus", &status.to_string())?;
        map.serialize_entry("instance", ctx.uri().path())?;
        if with_detail {
            if let Some(info) = status.info() {
                map.serialize_entry("detail", info.description())?;
            }
            let e = err.cloned().unwrap_or_else(|| IisError::new(status));
            map.serialize_entry("module", e.module())?;
            map.serialize_entry("notification", e.notification())?;
            map.serialize_entry("handler", e.handler())?;
            let (logon_method, logon_user) = logon_of(Some(&e), logon);
            map.serialize_entry("logonMethod", logon_method)?;
            map.serialize_entry("logonUser", logon_user)?;
            map.serialize_entry("errorCode", &Hex(e.hresult()).to_string())?;
            map.serialize_entry("requestedUrl", &ctx.requested_url())?;
            if let Some(p) = e.physical_path() {
                map.serialize_entry("physicalPath", p)?;
            }
            if let Some(s) = e.source_error() {
                map.serialize_entry("sourceError", &s.to_string())?;
            }
        }
        map.end()
    })();
    debug_assert!(written.is_ok(), "a JSON map of strings and numbers");
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_default()
}

/// serde_json's compact output, with `<`, `>`, `&`, U+2028 and U+2029 written as
/// `\uXXXX`: the document stays inert if a client sniffs it as HTML or script.
struct HtmlSafe;

impl serde_json::ser::Formatter for HtmlSafe {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some(i) = rest.find(['<', '>', '&', '\u{2028}', '\u{2029}']) {
            writer.write_all(&rest.as_bytes()[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            write!(writer, "\\u{:04x}", c as u32)?;
            rest = &rest[i + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn problem_json_is_valid_and_html_safe() {
        let req = http::Request::builder()
            .uri("/a%3Cb%3E/<script>&\u{2028}")
            .body(())
            .unwrap_or_default();
        let ctx = super::RequestContext::capture(&req);
        let err = crate::IisError::new(crate::IisStatus::NOT_FOUND)
            .with_physical_path("C:\\site\\\"<x>\"");
        let json = super::problem_json(&ctx, err.status(), Some(&err), None, true);
        assert!(!json.contains(['<', '>', '&', '\u{2028}']), "{json}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["iisStatus"], "404.0");
        assert_eq!(v["status"], 404);
        assert_eq!(v["errorCode"], "0x80070002");
        assert_eq!(v["physicalPath"], "C:\\site\\\"<x>\"");
        assert!(
            json.starts_with(r#"{"type":"about:blank","title":"#),
            "{json}"
        );
    }

    #[test]
    fn constant_page_text_needs_no_escaping() {
        let plain = |text: &str| {
            assert!(
                !text.contains(['<', '>', '&']),
                "text written unescaped holds markup: {text}"
            );
        };
        plain(super::CONFIG_SUMMARY);
        plain(super::TRACING_ADVICE);
        for code in 400..600 {
            plain(super::more_information(IisStatus::new(code, 0)));
        }
        let statuses = crate::catalog::all()
            .iter()
            .map(crate::catalog::CodeInfo::status)
            .chain((400..600).flat_map(|code| (0..40).map(move |sub| IisStatus::new(code, sub))));
        for status in statuses {
            let advice = crate::catalog::advice_for(status);
            plain(advice.summary);
            advice
                .causes
                .iter()
                .chain(advice.things_to_try)
                .for_each(|t| plain(t));
        }
    }

    use super::*;

    fn ctx(host: Option<&str>, path: &str) -> RequestContext {
        let mut b = Request::builder().uri(path);
        if let Some(h) = host {
            b = b.header("host", h);
        }
        RequestContext::capture(&b.body(()).unwrap())
    }

    #[test]
    fn requested_url_has_explicit_port() {
        assert_eq!(
            ctx(Some("example.com"), "/a/b?x=1").requested_url(),
            "http://example.com:80/a/b?x=1"
        );
        assert_eq!(
            ctx(Some("example.com"), "/a/b").requested_url(),
            "http://example.com:80/a/b"
        );
        assert_eq!(
            ctx(Some("example.com:8080"), "/").requested_url(),
            "http://example.com:8080/"
        );
        assert_eq!(
            ctx(Some("[::1]:9"), "/x").requested_url(),
            "http://[::1]:9/x"
        );
        assert_eq!(ctx(None, "/x").requested_url(), "http://localhost:80/x");
        assert_eq!(
            ctx(Some("evil<script>"), "/x").requested_url(),
            "http://localhost:80/x"
        );
        assert_eq!(
            ctx(Some("h"), "/x?q=1&r=2").full_url(),
            "http://h:80/x?q=1&r=2"
        );
    }

    #[test]
    fn accept_negotiation() {
        let with = |accept: &str| {
            let req = Request::builder()
                .header("accept", accept)
                .body(())
                .unwrap();
            RequestContext::capture(&req).prefers_problem_json()
        };
        assert!(with("application/problem+json"));
        assert!(with("application/json"));
        assert!(with("application/json, */*;q=0.5"));
        assert!(!with("text/html,application/json;q=0.9"));
        assert!(!with("*/*"));
        assert!(!with("text/html"));
        assert!(!with("application/json;q=0"));
    }

    #[test]
    fn language_order() {
        let req = Request::builder()
            .header(
                "accept-language",
                "fr;q=0.5, en-US, de;q=0.8, *;q=0.1, xx;q=0",
            )
            .body(())
            .unwrap();
        assert_eq!(
            RequestContext::capture(&req).languages(),
            ["en-us", "de", "fr"]
        );
    }

    #[test]
    fn best_language_is_the_first_listed_language_with_a_page() {
        let headers = [
            "fr;q=0.5, en-US, de;q=0.8, *;q=0.1, xx;q=0",
            "de;q=0.8, FR;q=0.8, en;q=0.1",
            "xx, yy;q=0.9",
            "*, fr;q=0",
            "EN-us;q=0.3,de-DE;q=0.3,fr;Q=0.9",
            "",
            "fr;q=abc, de",
        ];
        let have = ["en-us", "de", "fr", "de-de"];
        for header in headers {
            let req = Request::builder()
                .header("accept-language", header)
                .body(())
                .unwrap();
            let ctx = RequestContext::capture(&req);
            for available in [&have[..], &have[1..], &have[3..], &[][..]] {
                let expected = ctx
                    .languages()
                    .into_iter()
                    .find(|l| available.contains(&l.as_str()));
                let got = ctx.best_language(|tag| {
                    available
                        .iter()
                        .find(|a| a.eq_ignore_ascii_case(tag))
                        .copied()
                });
                assert_eq!(got, expected.as_deref(), "{header:?} with {available:?}");
            }
        }
    }

    #[test]
    fn pages_escape_markup_and_drop_what_xml_cannot_carry() {
        use crate::http_util::Xhtml;
        use askama::filters::Escaper as _;
        let mut out = String::new();
        Xhtml
            .write_escaped_str(
                &mut out,
                "a<b>&\"'\0\u{1}\t\r\n\u{b}\u{fffe}\u{ffff}\u{e9}\u{10000}z",
            )
            .unwrap();
        assert_eq!(
            out,
            "a&lt;b&gt;&amp;&quot;&#39;\u{fffd}\u{fffd}\t\r\n\u{fffd}\u{fffd}\u{fffd}\u{e9}\u{10000}z"
        );
        let settings = PageSettings {
            server_version: "10.0".into(),
            build: 1,
            more_information_link: "https://example.test/".into(),
        };
        let err = IisError::new(IisStatus::new(500, 0)).with_physical_path("C:\\a\0b\u{1b}[31m");
        let c = ctx(Some("localhost"), "/x");
        let page = detailed_page(&settings, &c, err.status(), Some(&err), None);
        assert!(page.contains("C:\\a\u{fffd}b\u{fffd}[31m"), "{page}");
        assert!(!page.contains(['\0', '\u{1b}']));
    }

    #[test]
    fn page_numbers_are_written_as_fmt_writes_them() {
        for code in [0, 1, 0x8007_0002, 0x8007_0005, u32::MAX, 0x0000_abcd] {
            assert_eq!(hex_code(code).as_str(), Hex(code).to_string());
        }
        let mut s = StackStr::<40>::new();
        s.push_int(u16::MAX);
        s.push(",");
        s.push_int(u32::MAX);
        s.push(",");
        s.push(hex_code(u32::MAX).as_str());
        assert_eq!(s.as_str(), "65535,4294967295,0xffffffff");
    }

    #[test]
    fn custom_pages_are_crlf_files_the_size_of_iis_ones() {
        let page = custom_page(404).unwrap();
        let text = std::str::from_utf8(&page).unwrap();
        assert!(text.ends_with("</html>\r\n"));
        assert_eq!(text.matches("\r\n").count(), text.matches('\n').count());
        assert_eq!(text.lines().count(), 29);
        // IIS's en-US 404.htm is 1,245 bytes. With its title and a summary as long as
        // IIS's (110 characters, not copied here) the template gives exactly that.
        let iis_shaped = CustomPage {
            title: "404 - File or directory not found.",
            summary: &"x".repeat(110),
        }
        .to_file()
        .unwrap();
        assert_eq!(iis_shaped.len(), 1245);
    }

    #[test]
    fn one_liners_are_ours_and_distinct() {
        assert_ne!(one_liner(401), one_liner(403));
        for status in [400, 401, 403, 404, 405, 406, 412, 500, 501, 502, 503] {
            let line = one_liner(status);
            assert!(
                !line.contains("You do not have permission to view"),
                "{line}"
            );
            assert!(
                !line.contains("internal server error has occurred"),
                "{line}"
            );
            assert!(!line.contains("is being used"), "{line}");
        }
    }

    #[test]
    fn json_escapes() {
        use serde::Serialize as _;
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, super::HtmlSafe);
        "a\"b\\c\n<script>\u{1}&\u{2029}"
            .serialize(&mut ser)
            .unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s, r#""a\"b\\c\n\u003cscript\u003e\u0001\u0026\u2029""#);
    }
}
