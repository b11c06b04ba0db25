//! Property tests over hostile input: arbitrary request lines, headers, bodies and
//! error details through the log and error-page layers, and arbitrary text through
//! every parser and builder that takes configuration.
//!
//! Each property runs 256 cases by default; set `PROPTEST_CASES` for more or fewer.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;
use proptest::prelude::*;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_iis::error::{ConfigErrorDetail, ConfigSourceLine};
use tower_iis::http_errors::{ErrorMode, ErrorRow, HttpErrorsLayer};
use tower_iis::request_filtering::{FilteringRule, RequestFilteringLayer};
use tower_iis::w3c::{
    reader, CustomField, Field, FieldSet, LogValues, LogonUser, ManualClock, MemorySink, Sink,
    W3cLogLayer,
};
use tower_iis::{ConnectionInfo, IisError, IisStatus, IpSecurityLayer};

/// 256 cases unless `PROPTEST_CASES` says otherwise.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------

/// A method token: a standard one, or any `tchar` string (which may start with `#`).
fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        3 => prop::sample::select(vec!["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PROPFIND"])
            .prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
        1 => "#?[-!#$%&'*+.^_`|~0-9A-Za-z]{1,12}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

/// A piece of a request target as a client may send it: plain characters, the odd
/// punctuation that `http` accepts raw, or a percent escape of any byte.
fn target_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9._~-]{1,8}",
        2 => prop::sample::select(vec![
            "/", "//", "..", "/../", ";", ":", "@", "!", "$", "&", "'", "(", ")", "*", "+", ",",
            "=", "\"", "{", "}", "|", "\\", "^", "`", "[", "]", "%", "<", ">",
        ])
        .prop_map(str::to_owned),
        3 => any::<u8>().prop_map(|b| format!("%{b:02X}")),
        1 => any::<u8>().prop_map(|b| format!("%{b:02x}")),
    ]
}

/// A request target: a path, and maybe a query. Only targets the `http` crate
/// accepts are kept (hyper refuses the rest before any service runs).
fn target() -> impl Strategy<Value = http::Uri> {
    (
        prop::collection::vec(target_piece(), 0..12),
        prop::option::of(prop::collection::vec(target_piece(), 0..8)),
    )
        .prop_filter_map("not a valid request target", |(path, query)| {
            let mut t = format!("/{}", path.concat());
            if let Some(q) = query {
                t.push('?');
                t.push_str(&q.concat());
            }
            t.parse::<http::Uri>().ok()
        })
}

/// Bytes a header value may hold: tab, visible ASCII, space, DEL-free, obs-text.
fn header_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            6 => 0x20u8..0x7f,
            1 => Just(b'\t'),
            2 => 0x80u8..=0xff,
            1 => prop::sample::select(b"#-+ \"<>&'".to_vec()),
        ],
        0..max,
    )
}

fn header_value(max: usize) -> impl Strategy<Value = HeaderValue> {
    header_bytes(max).prop_filter_map("not a header value", |b| HeaderValue::from_bytes(&b).ok())
}

/// Any text at all: controls, white space, non-characters, astral planes.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(move |s| s.chars().take(max).collect()),
        prop::collection::vec(
            prop_oneof![
                any::<char>(),
                prop::sample::select(vec![
                    '\0', '\t', '\n', '\r', ' ', '\u{7f}', '\u{85}', '\u{a0}', '\u{2028}',
                    '\u{feff}', '\u{fffe}', '\u{ffff}', '#', '<', '>', '&', '"', '\'', '-', '+'
                ]),
            ],
            0..max
        )
        .prop_map(|v| v.into_iter().collect()),
    ]
}

fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p))),
        (any::<[u16; 8]>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::from((IpAddr::from(ip), p))),
        Just("[::ffff:10.1.2.3]:443".parse().unwrap()),
        Just("0.0.0.0:0".parse().unwrap()),
    ]
}

fn field_set() -> impl Strategy<Value = FieldSet> {
    prop_oneof![
        Just(FieldSet::all()),
        Just(FieldSet::iis_defaults()),
        // Sets whose first column comes from the request.
        Just(FieldSet::empty()),
        Just(
            FieldSet::empty()
                .with(Field::Method)
                .with(Field::HttpStatus)
        ),
        Just(FieldSet::empty().with(Field::UserAgent)),
        prop::sample::subsequence(Field::ALL.to_vec(), 0..=22)
            .prop_map(|f| f.into_iter().collect()),
    ]
}

/// A response body of a few frames.
struct Frames(VecDeque<Bytes>);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Clone)]
struct Exchange {
    method: Method,
    uri: http::Uri,
    user_agent: Option<HeaderValue>,
    referer: Option<HeaderValue>,
    cookie: Option<HeaderValue>,
    host: Option<HeaderValue>,
    forwarded: Option<HeaderValue>,
    content_length: Option<u32>,
    conn: Option<(SocketAddr, SocketAddr)>,
    status: u16,
    error: Option<(u16, u32)>,
    user: Option<String>,
    app_value: Option<String>,
    response_header: Option<HeaderValue>,
    chunks: Vec<Vec<u8>>,
    read_all: bool,
}

fn exchange() -> impl Strategy<Value = Exchange> {
    let request = (
        method(),
        target(),
        prop::option::of(header_value(300)),
        prop::option::of(header_value(100)),
        prop::option::of(header_value(100)),
        prop::option::of(header_value(60)),
        prop::option::of(prop_oneof![header_value(200), header_value(5000)]),
        prop::option::of(any::<u32>()),
        prop::option::of((socket_addr(), socket_addr())),
    );
    let response = (
        100u16..=999,
        prop::option::of((0u16..=999, any::<u32>())),
        prop::option::of(any_text(40)),
        prop::option::of(prop_oneof![any_text(60), any_text(5000)]),
        prop::option::of(header_value(80)),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..4),
        any::<bool>(),
    );
    (request, response).prop_map(
        |(
            (method, uri, user_agent, referer, cookie, host, forwarded, content_length, conn),
            (status, error, user, app_value, response_header, chunks, read_all),
        )| Exchange {
            method,
            uri,
            user_agent,
            referer,
            cookie,
            host,
            forwarded,
            content_length,
            conn,
            status,
            error,
            user,
            app_value,
            response_header,
            chunks,
            read_all,
        },
    )
}

// ---------------------------------------------------------------------------------
// The W3C log: one well-formed line per request, read back as written
// ---------------------------------------------------------------------------------

/// What the log promises for a value: `-` when empty; every white-space or control
/// character, byte-order mark and byte that is not UTF-8 becomes `+`; at most `max`
/// bytes (cut at a character); a `#` that starts a value (and so could start the
/// line) becomes `+`.
fn token(value: &[u8], max: usize) -> String {
    if value.is_empty() {
        return "-".to_owned();
    }
    let mut out = String::new();
    'outer: for chunk in value.utf8_chunks() {
        for c in chunk.valid().chars() {
            if out.len() + c.len_utf8() > max {
                break 'outer;
            }
            if c.is_whitespace() || c.is_control() || c == '\u{feff}' {
                out.push('+');
            } else {
                out.push(c);
            }
        }
        for _ in chunk.invalid() {
            if out.len() >= max {
                break 'outer;
            }
            out.push('+');
        }
    }
    if let Some(rest) = out.strip_prefix('#') {
        out = format!("+{rest}");
    }
    out
}

/// What the log promises for `cs-uri-stem`: the path percent-decoded, its `.` and
/// `..` segments resolved (never above the root), then a token like any value.
fn stem(path: &str) -> String {
    let raw = path.as_bytes();
    let mut bytes = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
        match (raw[i], hex(raw.get(i + 1)), hex(raw.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                bytes.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    let mut segments: Vec<&[u8]> = Vec::new();
    let parts: Vec<&[u8]> = bytes.split(|b| *b == b'/').skip(1).collect();
    let mut slash_end = false;
    for (n, part) in parts.iter().enumerate() {
        let last = n + 1 == parts.len();
        match *part {
            b"." => slash_end = last,
            b".." => {
                segments.pop();
                slash_end = last;
            }
            p => {
                segments.push(p);
                slash_end = false;
            }
        }
    }
    let mut resolved = Vec::new();
    for s in &segments {
        resolved.push(b'/');
        resolved.extend_from_slice(s);
    }
    if slash_end || resolved.is_empty() {
        resolved.push(b'/');
    }
    token(&resolved, tower_iis::w3c::MAX_FIELD_LENGTH)
}

fn ip_token(addr: Option<SocketAddr>) -> String {
    match addr.map(|a| a.ip().to_canonical()) {
        Some(ip) if !ip.is_unspecified() => ip.to_string(),
        _ => "-".to_owned(),
    }
}

/// The value the log should hold for each field of an exchange, in column order.
fn expected_values(x: &Exchange, fields: FieldSet) -> Vec<(String, String)> {
    let max = tower_iis::w3c::MAX_FIELD_LENGTH;
    let hv = |v: &Option<HeaderValue>| token(v.as_ref().map_or(&b""[..], |v| v.as_bytes()), max);
    let conn = x.conn.map(|(r, l)| ConnectionInfo::new(r, l));
    let (sub, win32) = x.error.unwrap_or((0, 0));
    // Unless the body is read to its end, one frame is read before it is dropped.
    let bodiless = x.method == Method::HEAD || x.status < 200 || x.status == 204 || x.status == 304;
    let completed = x.read_all || x.chunks.len() <= 1 || bodiless;
    let win32 = if completed { win32 } else { 64 };
    let mut out = Vec::new();
    for f in fields.iter() {
        let v = match f {
            Field::Date => "2024-02-29".to_owned(),
            Field::Time => "23:59:58".to_owned(),
            Field::SiteName => "W3SVC7".to_owned(),
            Field::ComputerName => "WEB+01".to_owned(),
            Field::ServerIp => ip_token(conn.map(|c| c.local)),
            Field::Method => token(x.method.as_str().as_bytes(), max),
            Field::UriStem => stem(x.uri.path()),
            Field::UriQuery => token(x.uri.query().unwrap_or("").as_bytes(), max),
            Field::ServerPort => match conn.map(|c| c.local.port()) {
                Some(p) if p != 0 => p.to_string(),
                _ => "-".to_owned(),
            },
            Field::UserName => token(x.user.as_deref().unwrap_or("").as_bytes(), max),
            Field::ClientIp => ip_token(conn.map(|c| c.remote)),
            Field::ProtocolVersion => "HTTP/1.1".to_owned(),
            Field::UserAgent => hv(&x.user_agent),
            Field::Cookie => hv(&x.cookie),
            Field::Referer => hv(&x.referer),
            Field::Host => hv(&x.host),
            Field::HttpStatus => x.status.to_string(),
            Field::HttpSubStatus => sub.to_string(),
            Field::Win32Status => win32.to_string(),
            // Sizes and time are checked to be integers.
            Field::BytesSent | Field::BytesRecv | Field::TimeTaken => String::new(),
            _ => unreachable!("a new field needs a model"),
        };
        out.push((f.name().to_owned(), v));
    }
    let custom_max = tower_iis::w3c::MAX_CUSTOM_FIELD_LENGTH;
    out.push((
        "X-Forwarded-For".into(),
        token(
            x.forwarded.as_ref().map_or(&b""[..], |v| v.as_bytes()),
            custom_max,
        ),
    ));
    out.push((
        "X-Resp".into(),
        token(
            x.response_header
                .as_ref()
                .map_or(&b""[..], |v| v.as_bytes()),
            custom_max,
        ),
    ));
    out.push((
        "Tenant".into(),
        token(x.app_value.as_deref().unwrap_or("").as_bytes(), custom_max),
    ));
    if let Some((_, first)) = out.first_mut() {
        if let Some(rest) = first.strip_prefix('#') {
            *first = format!("+{rest}");
        }
    }
    out
}

fn run_exchange(x: &Exchange, fields: FieldSet) -> String {
    let memory = MemorySink::new();
    let clock = Arc::new(ManualClock::at(2024, 2, 29, 23, 59, 58).unwrap());
    let (layer, guard) = W3cLogLayer::builder()
        .sink(Sink::memory(&memory))
        .site_id(7)
        .computer_name("WEB 01")
        .clock(clock)
        .field_set(fields)
        .custom_field(CustomField::request_header(
            "X-Forwarded-For",
            HeaderName::from_static("x-forwarded-for"),
        ))
        .custom_field(CustomField::response_header(
            "X-Resp",
            HeaderName::from_static("x-resp"),
        ))
        .custom_field(CustomField::app_value("Tenant", "tenant"))
        .build()
        .unwrap();
    let answer = x.clone();
    let svc =
        ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(move |_req: Request<Bytes>| {
                let x = answer.clone();
                async move {
                    let mut res =
                        Response::new(Frames(x.chunks.iter().cloned().map(Bytes::from).collect()));
                    *res.status_mut() = StatusCode::from_u16(x.status).unwrap();
                    if let Some((sub, win32)) = x.error {
                        let status = IisStatus::try_new(x.status.max(100), sub).unwrap();
                        res.extensions_mut()
                            .insert(IisError::new(status).with_win32_status(win32));
                    }
                    if let Some(user) = &x.user {
                        res.extensions_mut().insert(LogonUser::new(user.as_str()));
                    }
                    if let Some(v) = &x.app_value {
                        res.extensions_mut()
                            .insert(LogValues::new().with("tenant", v.clone()));
                    }
                    if let Some(v) = &x.response_header {
                        res.headers_mut().insert("x-resp", v.clone());
                    }
                    Ok::<_, Infallible>(res)
                }
            }));
    let mut req = Request::builder()
        .method(x.method.clone())
        .uri(x.uri.clone())
        .body(Bytes::new())
        .unwrap();
    let h = req.headers_mut();
    for (name, v) in [
        ("user-agent", &x.user_agent),
        ("referer", &x.referer),
        ("cookie", &x.cookie),
        ("host", &x.host),
        ("x-forwarded-for", &x.forwarded),
    ] {
        if let Some(v) = v {
            h.insert(name, v.clone());
        }
    }
    if let Some(n) = x.content_length {
        h.insert("content-length", n.into());
    }
    if let Some((remote, local)) = x.conn {
        req.extensions_mut()
            .insert(ConnectionInfo::new(remote, local));
    }
    runtime().block_on(async {
        let res = svc.oneshot(req).await.unwrap();
        let mut body = res.into_body();
        if x.read_all {
            while body.frame().await.is_some() {}
        } else if let Some(frame) = body.frame().await {
            let _ = frame;
        }
        drop(body);
    });
    guard.handle().flush().unwrap();
    drop(guard);
    memory.contents()
}

proptest! {
    #![proptest_config(config())]

    /// Whatever the request and the response, the log gets exactly one line with one
    /// column per `#Fields` name, no white space or control byte inside a value, and
    /// the reader gets back the values the layer promises.
    #[test]
    fn every_line_is_well_formed_and_reads_back(x in exchange(), fields in field_set()) {
        let text = run_exchange(&x, fields);
        let expected = expected_values(&x, fields);
        prop_assert!(text.ends_with("\r\n"), "{text:?}");
        let body: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        prop_assert_eq!(body.len(), 5, "4 header lines and one entry: {:?}", text);
        let fields_line = body[3].strip_prefix("#Fields: ").unwrap();
        let names: Vec<&str> = fields_line.split(' ').collect();
        prop_assert_eq!(names.len(), expected.len());
        let line = body[4];
        prop_assert!(!line.starts_with('#'), "{line}");
        let values: Vec<&str> = line.split(' ').collect();
        prop_assert_eq!(values.len(), names.len(), "{}", line);
        for v in &values {
            prop_assert!(!v.is_empty());
            prop_assert!(
                !v.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\u{feff}'),
                "{v:?}"
            );
        }
        let log = reader::parse(&text).unwrap();
        prop_assert_eq!(log.entries.len(), 1);
        let entry = &log.entries[0];
        for (i, (name, want)) in expected.iter().enumerate() {
            prop_assert_eq!(names[i], name.as_str());
            let got = entry.get(name).unwrap();
            prop_assert_eq!(got, values[i]);
            if want.is_empty() {
                prop_assert!(entry.int(name).is_some(), "{name}: {got}");
            } else {
                prop_assert_eq!(got, want.as_str(), "{}", name);
            }
        }
    }

    /// Any bytes at all, as a value: one token, valid UTF-8, never white space.
    #[test]
    fn any_bytes_make_one_token(value in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut out = Vec::new();
        tower_iis::w3c::push_value(&mut out, &value);
        let text = String::from_utf8(out).unwrap();
        prop_assert_eq!(&text, &token(&value, usize::MAX));
        prop_assert!(!text.is_empty());
        prop_assert!(!text.chars().any(|c| c.is_whitespace() || c.is_control()));
    }
}

// ---------------------------------------------------------------------------------
// Error pages: well-formed XHTML, every request-derived string escaped
// ---------------------------------------------------------------------------------

/// The elements the page templates use; anything else came from a request.
const PAGE_ELEMENTS: &[&str] = &[
    "html", "head", "title", "style", "body", "div", "h1", "h2", "h3", "h4", "fieldset", "legend",
    "ul", "li", "table", "tr", "th", "td", "pre", "code", "a", "p", "span", "br", "meta",
];

/// Parses an XHTML page. The entities the templates use (`&nbsp;`, `&raquo;`) are
/// declared by the external XHTML DTD, which is not fetched; an internal subset
/// declares them instead.
fn parse_xhtml(page: &str) -> Result<roxmltree::Document<'_>, String> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(page, opts).map_err(|e| e.to_string())
}

fn with_nbsp(page: &str) -> String {
    let doctype_end = page.find('>').map_or(0, |i| i + 1);
    assert!(page.starts_with("<!DOCTYPE html"), "{page}");
    format!(
        "<!DOCTYPE html [<!ENTITY nbsp \"&#160;\"><!ENTITY raquo \"&#187;\">]>{}",
        &page[doctype_end..]
    )
}

/// Text as an XML parser reports it: characters XML cannot carry are shown as
/// U+FFFD, line ends are normalised to LF.
fn as_xml_text(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            _ => c,
        })
        .collect();
    s.replace("\r\n", "\n").replace('\r', "\n")
}

#[derive(Debug, Clone)]
struct PageCase {
    uri: http::Uri,
    host: Option<HeaderValue>,
    accept_json: bool,
    mode: ErrorMode,
    local: bool,
    status: IisStatus,
    physical_path: String,
    user: String,
    module: String,
    source: String,
    config: Option<(String, String, Vec<String>)>,
    head: bool,
}

fn page_case() -> impl Strategy<Value = PageCase> {
    (
        (
            target(),
            prop::option::of(header_value(80)),
            prop::bool::weighted(0.2),
            prop::sample::select(vec![
                ErrorMode::Detailed,
                ErrorMode::DetailedLocalOnly,
                ErrorMode::Custom,
            ]),
            any::<bool>(),
            prop_oneof![
                prop::sample::select(
                    tower_iis::catalog::all()
                        .iter()
                        .map(|i| i.status())
                        .filter(|s| s.code() >= 400)
                        .collect::<Vec<_>>()
                ),
                (400u16..=999, 0u16..=999).prop_map(|(s, sub)| IisStatus::new(s, sub)),
            ],
        ),
        (
            any_text(80),
            any_text(40),
            any_text(40),
            any_text(200),
            prop::option::of((
                any_text(60),
                any_text(60),
                prop::collection::vec(any_text(60), 0..4),
            )),
            prop::bool::weighted(0.1),
        ),
    )
        .prop_map(
            |(
                (uri, host, accept_json, mode, local, status),
                (pp, user, module, source, config, head),
            )| {
                PageCase {
                    uri,
                    host,
                    accept_json,
                    mode,
                    local,
                    status,
                    physical_path: pp,
                    user,
                    module,
                    source,
                    config,
                    head,
                }
            },
        )
}

async fn render(case: &PageCase) -> (http::response::Parts, String) {
    let layer = HttpErrorsLayer::builder()
        .error_mode(case.mode)
        .problem_details(true)
        .build()
        .unwrap();
    let c = case.clone();
    let svc =
        ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(move |_req: Request<String>| {
                let c = c.clone();
                async move {
                    let mut err = IisError::new(c.status)
                        .with_physical_path(c.physical_path.clone())
                        .with_logon_user(c.user.clone())
                        .with_module(c.module.clone())
                        .with_source(std::io::Error::other(c.source.clone()));
                    if let Some((error, file, lines)) = &c.config {
                        err = err.with_config_error(ConfigErrorDetail {
                            error: error.clone(),
                            file: file.clone(),
                            source_lines: lines
                                .iter()
                                .enumerate()
                                .map(|(i, text)| ConfigSourceLine {
                                    number: i as u32 + 1,
                                    text: text.clone(),
                                    highlight: i == 1,
                                })
                                .collect(),
                        });
                    }
                    Ok::<Response<String>, Infallible>(err.into_http_response())
                }
            }));
    let mut req = Request::builder()
        .method(if case.head { Method::HEAD } else { Method::GET })
        .uri(case.uri.clone())
        .header("accept-language", "en-US")
        .body(String::new())
        .unwrap();
    if let Some(h) = &case.host {
        req.headers_mut().insert("host", h.clone());
    }
    if case.accept_json {
        req.headers_mut().insert(
            "accept",
            HeaderValue::from_static("application/problem+json"),
        );
    }
    let client = if case.local {
        "127.0.0.1:5000"
    } else {
        "203.0.113.5:5000"
    };
    req.extensions_mut().insert(ConnectionInfo::new(
        client.parse().unwrap(),
        "127.0.0.1:8080".parse().unwrap(),
    ));
    let res = svc.oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts, String::from_utf8(body.to_vec()).unwrap())
}

/// All text of a document, line ends normalised (roxmltree keeps a CR that comes
/// right before a character reference).
fn all_text(doc: &roxmltree::Document<'_>) -> String {
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    text.replace("\r\n", "\n").replace('\r', "\n")
}

proptest! {
    #![proptest_config(config())]

    /// Every page parses as XML, holds only the template's elements and no event
    /// attribute, shows request-derived text as text, and shows the details only to
    /// the clients allowed to see them.
    #[test]
    fn every_error_page_is_well_formed_and_escaped(case in page_case()) {
        let (parts, page) = runtime().block_on(render(&case));
        prop_assert_eq!(parts.status.as_u16(), case.status.code());
        if case.head {
            prop_assert!(page.is_empty());
            return Ok(());
        }
        let content_type = parts
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let detailed = match case.mode {
            ErrorMode::Detailed => true,
            ErrorMode::Custom => false,
            _ => case.local,
        };
        let secrets = [&case.physical_path, &case.user, &case.module, &case.source];
        if content_type == "application/problem+json" {
            let json: serde_json::Value = serde_json::from_str(&page).map_err(|e| {
                TestCaseError::fail(format!("{e}: {page}"))
            })?;
            prop_assert_eq!(json["status"].as_u64(), Some(u64::from(case.status.code())));
            if !detailed {
                prop_assert!(json.get("physicalPath").is_none(), "{page}");
                prop_assert!(json.get("module").is_none(), "{page}");
            }
            return Ok(());
        }
        if !content_type.starts_with("text/html") || !page.starts_with("<!DOCTYPE") {
            // A one-line body for codes without a page.
            prop_assert!(!page.contains('<'), "{page}");
            return Ok(());
        }
        let fixed = with_nbsp(&page);
        let doc = parse_xhtml(&fixed).map_err(|e| TestCaseError::fail(format!("{e}\n{page}")))?;
        for node in doc.descendants().filter(|n| n.is_element()) {
            let name = node.tag_name().name();
            prop_assert!(PAGE_ELEMENTS.contains(&name), "element <{name}> in {page}");
            for attr in node.attributes() {
                prop_assert!(!attr.name().to_ascii_lowercase().starts_with("on"), "{page}");
            }
        }
        let text = all_text(&doc);
        if detailed {
            prop_assert!(page.contains("Detailed Error - "), "{page}");
            if case.config.is_none() {
                prop_assert!(text.contains(&as_xml_text(&case.physical_path)), "{page}");
            }
            prop_assert!(text.contains(case.uri.path()) || !case.uri.path().is_ascii(), "{page}");
            if case.local {
                prop_assert!(text.contains(&as_xml_text(&case.source)), "{page}");
            }
        } else {
            prop_assert!(!page.contains("details-left"), "{page}");
            prop_assert!(!page.contains(&case.status.to_string()) || case.status.substatus() == 0 || page.contains(&format!("{}.", case.status.code())), "{page}");
            for secret in secrets {
                // Only distinctive text can be looked for in the page.
                if secret.chars().count() >= 8 && secret.chars().all(|c| c.is_alphanumeric()) {
                    prop_assert!(!text.contains(secret.as_str()), "{secret:?} in {page}");
                }
            }
        }
    }
}

#[test]
fn details_never_reach_a_remote_client() {
    // The same property with markers that are sure to be looked for.
    let rt = runtime();
    for mode in [ErrorMode::DetailedLocalOnly, ErrorMode::Custom] {
        for status in [
            IisStatus::new(404, 3),
            IisStatus::new(500, 19),
            IisStatus::new(999, 999),
        ] {
            let case = PageCase {
                uri: "/x/<y>?z".parse().unwrap_or_else(|_| "/x".parse().unwrap()),
                host: Some(HeaderValue::from_static("localhost")),
                accept_json: false,
                mode,
                local: false,
                status,
                physical_path: "PHYSICALSECRET".into(),
                user: "USERSECRET".into(),
                module: "MODULESECRET".into(),
                source: "SOURCESECRET".into(),
                config: Some((
                    "CONFIGSECRET".into(),
                    "FILESECRET".into(),
                    vec!["LINESECRET".into()],
                )),
                head: false,
            };
            let (_, page) = rt.block_on(render(&case));
            for secret in [
                "PHYSICAL", "USER", "MODULE", "SOURCE", "CONFIG", "FILE", "LINE",
            ] {
                assert!(
                    !page.contains(&format!("{secret}SECRET")),
                    "{secret} leaked: {page}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Parsers and builders: clear errors, never a panic
// ---------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// A status parses exactly when it is `ddd` or `ddd.d{1,3}` in range, and then
    /// displays back; anything else is an error naming the input.
    #[test]
    fn status_strings(s in prop_oneof![
        any_text(12),
        "[0-9]{1,4}(\\.[0-9]{0,4})?",
        "[1-9][0-9]{2}\\.[0-9]{1,3}",
    ]) {
        match s.parse::<IisStatus>() {
            Ok(st) => {
                let (code, sub) = s.split_once('.').unwrap_or((&s, "0"));
                prop_assert_eq!(code.len(), 3);
                prop_assert!(code.bytes().all(|b| b.is_ascii_digit()) && !code.starts_with('0'));
                prop_assert!(!sub.is_empty() && sub.len() <= 3 && sub.bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(st.code(), code.parse::<u16>().unwrap());
                prop_assert_eq!(st.substatus(), sub.parse::<u16>().unwrap());
                prop_assert_eq!(st.to_string().parse::<IisStatus>().unwrap(), st);
            }
            Err(e) => {
                prop_assert_eq!(e.input(), s.as_str());
                prop_assert!(e.to_string().contains(&format!("{s:?}")), "{}", e);
            }
        }
    }

    /// A log from outside (any bytes, directives anywhere): the reader returns the
    /// log or an error naming the line, never a panic; what it returns is
    /// consistent with the `#Fields` in force.
    #[test]
    fn reader_takes_any_input(lines in prop::collection::vec(prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        "#(Fields|Software|Date|Version|Remark)?:?[ a-z()-]{0,30}".prop_map(String::into_bytes),
        "[0-9a-z+/ -]{0,40}".prop_map(String::into_bytes),
    ], 0..12), crlf in any::<bool>()) {
        let mut text = Vec::new();
        for l in &lines {
            text.extend_from_slice(l);
            text.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        // A generated line may hold line breaks of its own: count the real ones.
        let physical = text.iter().filter(|b| **b == b'\n').count();
        match reader::read(&text[..]) {
            Ok(log) => {
                for e in &log.entries {
                    prop_assert_eq!(e.values().len(), e.fields().len());
                    prop_assert!(e.line() >= 1 && e.line() <= physical, "line {} of {}", e.line(), physical);
                }
            }
            Err(e) => prop_assert!(e.to_string().contains("line ") || e.to_string().contains("reading")),
        }
    }

    /// Field names: a standard name (either spelling, any case) or a clear error.
    #[test]
    fn field_names(s in prop_oneof![
        any_text(20),
        prop::sample::select(Field::ALL.iter().flat_map(|f| [f.name(), f.flag_name()]).collect::<Vec<_>>())
            .prop_map(str::to_owned),
        prop::sample::select(Field::ALL.iter().map(|f| f.name()).collect::<Vec<_>>())
            .prop_map(|n| n.to_ascii_uppercase()),
    ]) {
        match s.parse::<Field>() {
            Ok(f) => prop_assert!(f.name().eq_ignore_ascii_case(&s) || f.flag_name().eq_ignore_ascii_case(&s)),
            Err(e) => {
                prop_assert_eq!(e.value(), s.as_str());
                prop_assert!(e.to_string().contains(&format!("{s:?}")), "{}", e);
            }
        }
        let r = W3cLogLayer::builder().sink(Sink::memory(&MemorySink::new())).fields([s.clone(), "date".to_owned()]).build();
        prop_assert_eq!(r.is_ok(), s.trim().parse::<Field>().is_ok());
    }

    /// Custom field names and keys: the layer builds, or says which name is bad; when
    /// it builds, `#Fields` has one name per column.
    #[test]
    fn custom_field_names(names in prop::collection::vec(any_text(16), 1..4), key in any_text(8)) {
        let memory = MemorySink::new();
        let mut b = W3cLogLayer::builder().sink(Sink::memory(&memory)).fields(["date"]);
        for n in &names {
            b = b.custom_field(CustomField::app_value(n.clone(), key.clone()));
        }
        match b.build() {
            Ok((layer, guard)) => {
                let svc = ServiceBuilder::new().layer(layer).service(service_fn(|_r: Request<String>| async {
                    Ok::<_, Infallible>(Response::new(String::new()))
                }));
                runtime().block_on(async { drop(svc.oneshot(Request::new(String::new())).await.unwrap()) });
                guard.handle().flush().unwrap();
                let log = reader::parse(&memory.contents()).unwrap();
                prop_assert_eq!(log.blocks[0].fields.len(), 1 + names.len());
                prop_assert_eq!(log.entries[0].values().len(), 1 + names.len());
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(names.iter().any(|n| e.value() == n), "{}", msg);
                prop_assert!(msg.contains(&format!("{:?}", e.value())), "{}", msg);
            }
        }
    }

    /// Numbers from outside: the log layer builds and logs, or says what is wrong;
    /// never a panic, an abort or a dead writer.
    #[test]
    fn w3c_builder_numbers(
        capacity in prop_oneof![
            1usize..4096,
            Just(tower_iis::w3c::MAX_QUEUE_CAPACITY + 1),
            Just(usize::MAX),
            Just(0usize),
        ],
        interval_ms in prop_oneof![0u64..2000, Just(u64::MAX)],
        truncate in any::<u64>(),
        retain in prop::option::of(0usize..1000),
        site in any::<u32>(),
    ) {
        let memory = MemorySink::new();
        let mut b = W3cLogLayer::builder()
            .sink(Sink::memory(&memory))
            .queue_capacity(capacity)
            .flush_interval(Duration::from_millis(interval_ms))
            .shutdown_timeout(Duration::from_millis(interval_ms))
            .truncate_size(truncate)
            .site_id(site)
            .fields(["s-sitename"]);
        if let Some(r) = retain {
            b = b.retain_files(r);
        }
        match b.build() {
            Ok((layer, guard)) => {
                let svc = ServiceBuilder::new().layer(layer).service(service_fn(|_r: Request<String>| async {
                    Ok::<_, Infallible>(Response::new(String::new()))
                }));
                runtime().block_on(async { drop(svc.oneshot(Request::new(String::new())).await.unwrap()) });
                guard.handle().flush().unwrap();
                drop(guard);
                let last = format!("\r\nW3SVC{site}\r\n");
                let text = memory.contents();
                prop_assert!(text.ends_with(&last), "{}", text);
            }
            Err(e) => {
                prop_assert!(capacity == 0 || capacity > tower_iis::w3c::MAX_QUEUE_CAPACITY || interval_ms == 0 || retain == Some(0), "{}", e);
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    /// `<httpErrors>` settings from outside: built, or refused with a message.
    #[test]
    fn http_errors_builder(
        version in any_text(12),
        link in any_text(30),
        language in any_text(12),
        path in any_text(30),
        status in any::<u16>(),
        sub in any::<u16>(),
        kind in 0u8..3,
    ) {
        let row = match kind {
            0 => ErrorRow::file(status, path.clone()),
            1 => ErrorRow::execute_url(status, path.clone()),
            _ => ErrorRow::redirect(status, path.clone()),
        }
        .substatus(sub);
        let r = HttpErrorsLayer::builder()
            .server_version(version)
            .more_information_link(link)
            .fallback_language(language)
            .error(row)
            .build();
        if let Err(e) = r {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// Request filtering settings from outside, and arbitrary requests against them.
    #[test]
    fn request_filtering_builder_and_requests(
        strings in prop::collection::vec(any_text(12), 8),
        numbers in prop::collection::vec(any::<u32>(), 3),
        uri in target(),
        method in method(),
        header in header_value(100),
    ) {
        let r = RequestFilteringLayer::builder()
            .max_url(numbers[0])
            .max_query_string(numbers[1])
            .max_url_segments(Some(numbers[2] % 50))
            .allow_verb(strings[0].clone())
            .deny_verb(strings[1].clone())
            .deny_file_extension(strings[2].clone())
            .hidden_segment(strings[3].clone())
            .deny_url_sequence(strings[4].clone())
            .deny_query_string_sequence(strings[5].clone())
            .header_limit(strings[6].clone(), numbers[0] % 100)
            .filtering_rule(
                FilteringRule::new(strings[7].clone())
                    .scan_url(true)
                    .scan_query_string(true)
                    .scan_header(strings[6].clone())
                    .deny_string(strings[4].clone()),
            )
            .build();
        let layer = match r {
            Ok(layer) => layer,
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
                RequestFilteringLayer::iis_defaults()
            }
        };
        let svc = ServiceBuilder::new().layer(layer).service(service_fn(|_r: Request<_>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
        let mut req = Request::builder().method(method).uri(uri).body(String::new()).unwrap();
        req.headers_mut().insert("x-any", header);
        let res = runtime().block_on(svc.oneshot(req)).unwrap();
        let s = res.status().as_u16();
        prop_assert!(s == 200 || s == 404 || s == 413 || s == 431, "{}", s);
    }

    /// IP restriction rows from outside: built, or refused with a message.
    #[test]
    fn ip_security_builder(rows in prop::collection::vec(prop_oneof![
        any_text(20),
        "[0-9./:a-f]{1,24}",
        (any::<[u8; 4]>(), 0u8..40).prop_map(|(ip, p)| format!("{}/{p}", IpAddr::from(ip))),
    ], 1..4)) {
        let mut b = IpSecurityLayer::builder();
        for r in &rows {
            b = b.deny(r.clone());
        }
        if let Err(e) = b.build() {
            prop_assert!(rows.iter().any(|r| e.value() == r), "{}", e);
            prop_assert!(e.to_string().contains(&format!("{:?}", e.value())), "{}", e);
        }
    }
}

#[test]
fn builders_with_zero_values_say_so() {
    let cases: Vec<(tower_iis::w3c::W3cLogBuilder, &str)> = vec![
        (W3cLogLayer::builder().queue_capacity(0), "capacity"),
        (
            W3cLogLayer::builder().flush_interval(Duration::ZERO),
            "interval",
        ),
        (W3cLogLayer::builder().retain_files(0), "1 file"),
        (
            W3cLogLayer::builder().fields(Vec::<String>::new()),
            "no fields",
        ),
    ];
    for (b, want) in cases {
        let err = b.build().unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
}
