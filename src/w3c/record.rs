//! What one request leaves behind for its log line, and how the line is written.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, Version};

use super::fields::{push_token, push_value_limited, CustomField, CustomSource, Field, FieldSet};
use super::fields::{MAX_CUSTOM_FIELD_LENGTH, MAX_FIELD_LENGTH, MAX_LINE_LENGTH};
use super::{LogValues, LogonUser};
use crate::connection::{connection_info, ConnectionInfo};
use crate::error::{IisError, ANONYMOUS, NOT_YET_DETERMINED};

/// `ERROR_NETNAME_DELETED`: what IIS logs in `sc-win32-status` when the client went
/// away before the response was sent.
pub const WIN32_CLIENT_GONE: u32 = 64;
/// `ERROR_CONNECTION_ABORTED`: the connection was aborted on the server's side (the
/// inner service failed, its body failed, or the handler panicked).
pub const WIN32_CONNECTION_ABORTED: u32 = 1236;

/// A custom field's captured value.
#[derive(Debug, Clone)]
pub(crate) enum CustomValue {
    /// A request header's value, in the record's [`Text`].
    Request(Span),
    /// A response header's value.
    Header(HeaderValue),
    Text(String),
}

/// Room inside a [`Record`] for the request's text values: a browser's path, query,
/// `User-Agent` and `Referer` fit, so the record stays one allocation.
const INLINE_TEXT: usize = 640;

/// Where one captured value lies in a [`Text`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

/// The request's text values the line needs, copied out of the request.
///
/// The server's buffers (hyper's header values and URI share the connection's read
/// buffer) are so released with the request instead of when the writer gets to the
/// line, and the server can reuse them.
#[derive(Clone)]
pub(crate) struct Text {
    len: usize,
    inline: [u8; INLINE_TEXT],
    /// Values that did not fit inline (long cookies, say).
    spill: Vec<u8>,
}

impl Text {
    /// Reads a byte of each of the first cache lines of the text (where a
    /// usual request's values lie), so that a record the other core just wrote
    /// is on its way here before it is formatted.
    #[inline]
    pub(crate) fn touch(&self) -> u8 {
        self.inline[0] ^ self.inline[64] ^ self.inline[128] ^ self.inline[192]
    }

    fn new() -> Self {
        Text {
            len: 0,
            inline: [0; INLINE_TEXT],
            spill: Vec::new(),
        }
    }

    /// Empties the text for another request, keeping a modest spill allocation.
    #[inline]
    fn clear(&mut self) {
        self.len = 0;
        if self.spill.capacity() > 4 * INLINE_TEXT {
            self.spill = Vec::new();
        } else {
            self.spill.clear();
        }
    }

    /// Copies `value` in: one copy into the inline room when it fits.
    #[inline]
    fn push(&mut self, value: &[u8]) -> Span {
        let start = self.len;
        match self.inline.get_mut(start..start + value.len()) {
            Some(room) => {
                room.copy_from_slice(value);
                self.len = start + value.len();
                // Both are below INLINE_TEXT.
                #[allow(clippy::cast_possible_truncation)]
                Span {
                    start: start as u32,
                    len: value.len() as u32,
                }
            }
            None => self.push_spill(value),
        }
    }

    /// A value that does not fit inline (any more).
    #[cold]
    #[inline(never)]
    fn push_spill(&mut self, value: &[u8]) -> Span {
        let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
        let value = &value[..len as usize];
        let start = u32::try_from(INLINE_TEXT + self.spill.len()).unwrap_or(u32::MAX);
        self.spill.extend_from_slice(value);
        Span { start, len }
    }

    #[inline]
    pub(crate) fn get(&self, span: Option<Span>) -> &[u8] {
        let Some(Span { start, len }) = span else {
            return b"";
        };
        let (start, len) = (start as usize, len as usize);
        if start < INLINE_TEXT {
            &self.inline[start..start + len]
        } else {
            self.spill
                .get(start - INLINE_TEXT..start - INLINE_TEXT + len)
                .unwrap_or(b"")
        }
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Text")
            .field("len", &(self.len + self.spill.len()))
            .finish_non_exhaustive()
    }
}

/// Everything the line needs, captured from the request, the response and the end of
/// the body. Only what the configured fields use is captured.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) end_unix: i64,
    pub(crate) method: Option<Method>,
    pub(crate) path: Option<Span>,
    /// `None` without a `?` in the target.
    pub(crate) query: Option<Span>,
    /// The URI's authority (HTTP/2 requests have no `Host` header).
    pub(crate) authority: Option<Span>,
    pub(crate) version: Version,
    pub(crate) user_agent: Option<Span>,
    pub(crate) cookie: Option<Span>,
    pub(crate) referer: Option<Span>,
    pub(crate) host: Option<Span>,
    pub(crate) text: Text,
    pub(crate) conn: Option<ConnectionInfo>,
    pub(crate) user: Option<LogonUser>,
    pub(crate) status: u16,
    pub(crate) substatus: u16,
    pub(crate) win32: u32,
    pub(crate) sc_bytes: u64,
    pub(crate) cs_bytes: u64,
    pub(crate) time_taken_ms: u64,
    pub(crate) custom: Vec<Option<CustomValue>>,
}

/// Which log a [`LineFormat`] writes: the W3C access log, or http.sys's HTTPERR log
/// (its own `#Software` line and `httperrN.log` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum LogKind {
    #[default]
    W3c,
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    HttpErr,
}

/// The parts of the configuration the line format needs.
#[derive(Debug)]
pub(crate) struct LineFormat {
    pub(crate) kind: LogKind,
    pub(crate) fields: FieldSet,
    pub(crate) custom: Arc<[CustomField]>,
    /// `s-sitename` and `s-computername` (neighbours in the canonical order), the
    /// ones logged, as their tokens each followed by a space: the same for every
    /// line, so made once.
    constants: Box<[u8]>,
}

impl LineFormat {
    pub(crate) fn new(
        kind: LogKind,
        fields: FieldSet,
        custom: Arc<[CustomField]>,
        site_name: String,
        computer_name: String,
    ) -> Self {
        let mut constants = Vec::new();
        if fields.contains(Field::SiteName) {
            push_token(&mut constants, site_name.as_bytes());
        }
        if fields.contains(Field::ComputerName) {
            push_token(&mut constants, computer_name.as_bytes());
        }
        LineFormat {
            kind,
            fields,
            custom,
            constants: constants.into_boxed_slice(),
        }
    }

    /// The `#Fields:` value: standard names in canonical order, then custom names.
    pub(crate) fn fields_line(&self) -> String {
        let mut names: Vec<&str> = self.fields.iter().map(Field::name).collect();
        names.extend(self.custom.iter().map(CustomField::name));
        names.join(" ")
    }

    /// The four-line header block IIS (or http.sys) writes, with CRLF line ends.
    pub(crate) fn header_block(&self, datetime: &str) -> String {
        let software = match self.kind {
            LogKind::W3c => "Microsoft Internet Information Services 10.0",
            LogKind::HttpErr => "Microsoft HTTP API 2.0",
        };
        format!(
            "#Software: {software}\r\n\
             #Version: 1.0\r\n\
             #Date: {datetime}\r\n\
             #Fields: {}\r\n",
            self.fields_line()
        )
    }

    /// How the files are named.
    pub(crate) fn naming(&self) -> super::rollover::Naming {
        match self.kind {
            LogKind::W3c => super::rollover::Naming::W3c {
                custom: !self.custom.is_empty(),
            },
            LogKind::HttpErr => super::rollover::Naming::HttpErr,
        }
    }
}

/// HTTP/1.1-form size of a header block: `name: value\r\n` per header.
fn headers_len(headers: &HeaderMap) -> u64 {
    headers
        .iter()
        .map(|(n, v)| (n.as_str().len() + v.len() + 4) as u64)
        .sum()
}

/// `cs-version`'s token, with the space that follows it.
fn version_token(v: Version) -> &'static [u8] {
    match v {
        Version::HTTP_09 => b"HTTP/0.9 ",
        Version::HTTP_10 => b"HTTP/1.0 ",
        Version::HTTP_2 => b"HTTP/2 ",
        Version::HTTP_3 => b"HTTP/3 ",
        _ => b"HTTP/1.1 ",
    }
}

impl Record {
    /// A record holding nothing, ready to be [filled](Self::fill).
    pub(crate) fn empty() -> Self {
        Record {
            end_unix: 0,
            method: None,
            path: None,
            query: None,
            authority: None,
            version: Version::HTTP_11,
            user_agent: None,
            cookie: None,
            referer: None,
            host: None,
            text: Text::new(),
            conn: None,
            user: None,
            status: 0,
            substatus: 0,
            win32: 0,
            sc_bytes: 0,
            cs_bytes: 0,
            time_taken_ms: 0,
            custom: Vec::new(),
        }
    }

    /// Captures the request side into a new record.
    #[cfg(test)]
    pub(crate) fn capture<B>(req: &Request<B>, fmt: &LineFormat) -> Self {
        let mut rec = Self::empty();
        rec.fill(req, fmt);
        rec
    }

    /// Lets go of what the last request left (values that hold memory), keeping the
    /// record's own buffers for the next one.
    pub(crate) fn release(&mut self) {
        self.method = None;
        self.user = None;
        self.custom.clear();
        self.text.clear();
    }

    /// Captures the request side, overwriting every field. Cheap: reference-count
    /// bumps, and copies of the text values the fields use into buffers the record
    /// already has.
    pub(crate) fn fill<B>(&mut self, req: &Request<B>, fmt: &LineFormat) {
        let f = fmt.fields;
        let h = req.headers();
        self.cs_bytes = if f.contains(Field::BytesRecv) {
            // Request line + headers + blank line as HTTP/1.1 would send them, plus the
            // declared body length.
            let uri_len = req.uri().path_and_query().map_or(1, |pq| pq.as_str().len()) as u64;
            let line = req.method().as_str().len() as u64 + 1 + uri_len + 1 + 8 + 2;
            let body = crate::http_util::content_length(h).unwrap_or(0);
            line + headers_len(h) + 2 + body
        } else {
            0
        };
        self.text.clear();
        self.capture_headers(h, f);
        let uri = req.uri();
        if f.contains(Field::UriStem) || f.contains(Field::UriQuery) {
            self.path = Some(self.text.push(uri.path().as_bytes()));
            self.query = uri.query().map(|q| self.text.push(q.as_bytes()));
        } else {
            self.path = None;
            self.query = None;
        }
        self.authority = if f.contains(Field::Host) && self.host.is_none() {
            uri.authority()
                .map(|a| self.text.push(a.as_str().as_bytes()))
        } else {
            None
        };
        self.custom.clear();
        if !fmt.custom.is_empty() {
            let text = &mut self.text;
            self.custom
                .extend(fmt.custom.iter().map(|c| match &c.source {
                    CustomSource::RequestHeader(name) => {
                        join_header(h, name).map(|v| CustomValue::Request(text.push(v.as_bytes())))
                    }
                    _ => None,
                }));
        }
        self.end_unix = 0;
        self.method = f.contains(Field::Method).then(|| req.method().clone());
        self.version = req.version();
        self.conn = connection_info(req);
        self.user = if f.contains(Field::UserName) {
            req.extensions().get::<LogonUser>().cloned()
        } else {
            None
        };
        self.status = 0;
        self.substatus = 0;
        self.win32 = 0;
        self.sc_bytes = 0;
        self.time_taken_ms = 0;
    }

    /// The request headers the standard fields log (`User-Agent`, `Cookie`,
    /// `Referer`, `Host`): the first value of each configured one.
    #[inline]
    fn capture_headers(&mut self, h: &HeaderMap, f: FieldSet) {
        let text = &mut self.text;
        let mut get = |field: Field, name: &header::HeaderName| {
            if f.contains(field) {
                h.get(name).map(|v| text.push(v.as_bytes()))
            } else {
                None
            }
        };
        self.user_agent = get(Field::UserAgent, &header::USER_AGENT);
        self.cookie = get(Field::Cookie, &header::COOKIE);
        self.referer = get(Field::Referer, &header::REFERER);
        self.host = get(Field::Host, &header::HOST);
    }

    /// Captures the response side: status, the `IisError` detail, user, custom values
    /// and the size of the head.
    pub(crate) fn on_response<B>(&mut self, res: &Response<B>, fmt: &LineFormat) {
        self.status = res.status().as_u16();
        let ext = res.extensions();
        let err = ext.get::<IisError>();
        if let Some(err) = err {
            self.substatus = err.substatus();
            self.win32 = err.win32_status();
        }
        #[cfg(feature = "rewrite")]
        if let Some(crate::rewrite::RewrittenUrl(uri)) = ext.get() {
            // A rule with `logRewrittenUrl="true"`: the rewritten URL is logged.
            if self.path.is_some() {
                self.path = Some(self.text.push(uri.path().as_bytes()));
                self.query = uri.query().map(|q| self.text.push(q.as_bytes()));
            }
        }
        if fmt.fields.contains(Field::UserName) {
            if let Some(user) = ext.get::<LogonUser>() {
                self.user = Some(user.clone());
            } else if self.user.is_none() {
                // An error that names the logon user (e.g. a 401.x from an auth
                // module) logs it, unless it is the anonymous default or the
                // "Not yet determined" of a 500.19 page (no user name either).
                if let Some(name) = err.map(IisError::logon_user) {
                    if name != ANONYMOUS && name != NOT_YET_DETERMINED && !name.is_empty() {
                        self.user = Some(LogonUser::new(name));
                    }
                }
            }
        }
        if fmt.fields.contains(Field::BytesSent) {
            let reason = res.status().canonical_reason().unwrap_or("").len() as u64;
            // "HTTP/1.1 200 OK\r\n" + headers + "\r\n"
            self.sc_bytes = 8 + 1 + 3 + 1 + reason + 2 + headers_len(res.headers()) + 2;
        }
        for (slot, c) in self.custom.iter_mut().zip(fmt.custom.iter()) {
            match &c.source {
                CustomSource::ResponseHeader(name) => {
                    *slot = join_header(res.headers(), name).map(CustomValue::Header);
                }
                CustomSource::AppValue(key) => {
                    *slot = ext
                        .get::<LogValues>()
                        .and_then(|v| v.get(key))
                        .map(|v| CustomValue::Text(v.to_owned()));
                }
                CustomSource::RequestHeader(_) => {}
            }
        }
    }

    /// Appends the line (without its line end) to `out`.
    pub(crate) fn write_line(
        &self,
        out: &mut Vec<u8>,
        fmt: &LineFormat,
        datetime: &[u8; 19],
        ips: &mut IpCache,
    ) {
        let start = out.len();
        self.write_values(out, fmt, datetime, ips);
        // A line starting with `#` would be read as a directive (and skipped by
        // every consumer): when the first column comes from the request (a method
        // or header logged without `date`), its leading `#` becomes `+`.
        if let Some(b) = out.get_mut(start) {
            if *b == b'#' {
                *b = b'+';
            }
        }
    }

    /// The columns, each written with the space that follows it (the last one's is
    /// taken back at the end): in canonical order, one test of the field set per
    /// field and no dispatch, `date time` and the three status codes fused.
    fn write_values(
        &self,
        out: &mut Vec<u8>,
        fmt: &LineFormat,
        datetime: &[u8; 19],
        ips: &mut IpCache,
    ) {
        let line_start = out.len();
        let f = fmt.fields;
        let has = |field| f.contains(field);
        let text = |span: Option<Span>| self.text.get(span);
        let mut dt = [b' '; 20];
        dt[..19].copy_from_slice(datetime);
        match (has(Field::Date), has(Field::Time)) {
            (true, true) => out.extend_from_slice(&dt),
            // `YYYY-MM-DD` and the space that follows it in `dt`.
            (true, false) => push_prefix(out, &dt, 11),
            (false, true) => out.extend_from_slice(&dt[11..]),
            (false, false) => {}
        }
        out.extend_from_slice(&fmt.constants);
        if has(Field::ServerIp) {
            ips.server.push(out, self.conn.as_ref().map(|c| &c.local));
        }
        if has(Field::Method) {
            push_method(out, self.method.as_ref());
        }
        if has(Field::UriStem) {
            super::stem::push_stem_token(out, text(self.path));
        }
        if has(Field::UriQuery) {
            push_token(out, text(self.query));
        }
        if has(Field::ServerPort) {
            match self.conn.as_ref().map(|c| c.local.port()) {
                Some(port) if port != 0 => push_int(out, u64::from(port)),
                _ => out.extend_from_slice(b"- "),
            }
        }
        if has(Field::UserName) {
            push_token(
                out,
                self.user.as_ref().map_or("", LogonUser::name).as_bytes(),
            );
        }
        if has(Field::ClientIp) {
            ips.client.push(out, self.conn.as_ref().map(|c| &c.remote));
        }
        if has(Field::ProtocolVersion) {
            out.extend_from_slice(version_token(self.version));
        }
        if has(Field::UserAgent) {
            push_token(out, text(self.user_agent));
        }
        if has(Field::Cookie) {
            push_token(out, text(self.cookie));
        }
        if has(Field::Referer) {
            push_token(out, text(self.referer));
        }
        if has(Field::Host) {
            match (self.host, self.authority) {
                (Some(h), _) => push_token(out, text(Some(h))),
                (None, Some(a)) => push_token(out, text(Some(a))),
                (None, None) => out.extend_from_slice(b"- "),
            }
        }
        match (
            has(Field::HttpStatus),
            has(Field::HttpSubStatus),
            has(Field::Win32Status),
        ) {
            (true, true, true) => {
                ips.status
                    .push(out, (self.status, self.substatus, self.win32));
            }
            (status, sub, win32) => {
                if status {
                    push_int(out, u64::from(self.status));
                }
                if sub {
                    push_int(out, u64::from(self.substatus));
                }
                if win32 {
                    push_int(out, u64::from(self.win32));
                }
            }
        }
        if has(Field::BytesSent) {
            push_int(out, self.sc_bytes);
        }
        if has(Field::BytesRecv) {
            push_int(out, self.cs_bytes);
        }
        if has(Field::TimeTaken) {
            push_int(out, self.time_taken_ms);
        }
        if !self.custom.is_empty() {
            self.push_custom(out, fmt, line_start);
        }
        // The last column's space.
        if out.len() > line_start {
            out.pop();
        }
    }

    /// The custom columns, each with the space that follows it.
    fn push_custom(&self, out: &mut Vec<u8>, fmt: &LineFormat, line_start: usize) {
        for value in &self.custom {
            let bytes = match value {
                Some(CustomValue::Header(v)) => v.as_bytes(),
                Some(CustomValue::Request(span)) => self.text.get(Some(*span)),
                Some(CustomValue::Text(s)) => s.as_bytes(),
                None => b"",
            };
            // The line stays within IIS's maxLogLineLength: a custom value gets
            // what is left (the other custom columns need at least `-` each).
            let used = out.len() - line_start;
            let room = MAX_LINE_LENGTH.saturating_sub(used + 2 * fmt.custom.len());
            push_value_limited(out, bytes, MAX_CUSTOM_FIELD_LENGTH.min(room.max(1)));
            out.push(b' ');
        }
    }
}

/// `cs-method` and a space. A method is an HTTP token (no space, control or
/// non-ASCII byte: `http::Method` accepts nothing else), so it needs no
/// sanitising unless it starts with `#` or is longer than a field may be.
#[inline]
fn push_method(out: &mut Vec<u8>, method: Option<&Method>) {
    // Most requests are GETs: a constant copy.
    if method == Some(&Method::GET) {
        return out.extend_from_slice(b"GET ");
    }
    let m = method.map_or("", Method::as_str).as_bytes();
    match m.first() {
        Some(&b) if b != b'#' && m.len() <= MAX_FIELD_LENGTH => {
            out.extend_from_slice(m);
            out.push(b' ');
        }
        _ => push_token(out, m),
    }
}

/// The first `len` bytes of `text`, as one copy of `N` bytes.
#[inline(always)]
fn push_prefix<const N: usize>(out: &mut Vec<u8>, text: &[u8; N], len: usize) {
    let at = out.len();
    out.extend_from_slice(text);
    out.truncate(at + len);
}

/// All values of a header, joined with `,` as one header line would carry them.
fn join_header(headers: &HeaderMap, name: &header::HeaderName) -> Option<HeaderValue> {
    let mut all = headers.get_all(name).iter();
    let first = all.next()?;
    let Some(second) = all.next() else {
        return Some(first.clone());
    };
    let mut joined = first.as_bytes().to_vec();
    for v in std::iter::once(second).chain(all) {
        joined.push(b',');
        joined.extend_from_slice(v.as_bytes());
    }
    HeaderValue::from_bytes(&joined).ok()
}

/// A number and a space.
#[inline(always)]
fn push_int(out: &mut Vec<u8>, v: u64) {
    // Most numbers on a line are short: a substatus, a Win32 status, a fast
    // request's time-taken, a port, the status.
    let d = |n: u64| b'0' + (n % 10) as u8;
    match v {
        0..=9 => out.extend_from_slice(&[d(v), b' ']),
        10..=99 => out.extend_from_slice(&[d(v / 10), d(v), b' ']),
        100..=999 => out.extend_from_slice(&[d(v / 100), d(v / 10), d(v), b' ']),
        _ => push_long_int(out, v),
    }
}

/// [`push_int`] for a number of four digits or more.
#[inline(never)]
fn push_long_int(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    out.push(b' ');
}

/// What the next line is likely to repeat of the last one, as text: the server and
/// client addresses (a connection's lines, and a server's for `s-ip`, repeat them)
/// and the three status codes (`200 0 0` on most lines), formatted once.
#[derive(Debug, Default)]
pub(crate) struct IpCache {
    server: IpText,
    client: IpText,
    status: StatusText,
}

/// `sc-status sc-substatus sc-win32-status` of the last line and a space.
#[derive(Debug, Default)]
struct StatusText {
    /// The three codes, `len` 0 before the first line.
    codes: (u16, u16, u32),
    len: usize,
    /// The longest: `65535 65535 4294967295 `.
    text: [u8; 24],
}

impl StatusText {
    #[inline]
    fn push(&mut self, out: &mut Vec<u8>, codes: (u16, u16, u32)) {
        if codes != self.codes || self.len == 0 {
            self.refresh(codes);
        }
        push_prefix(out, &self.text, self.len);
    }

    #[cold]
    #[inline(never)]
    fn refresh(&mut self, codes: (u16, u16, u32)) {
        let mut text = Vec::with_capacity(self.text.len());
        push_int(&mut text, u64::from(codes.0));
        push_int(&mut text, u64::from(codes.1));
        push_int(&mut text, u64::from(codes.2));
        self.text[..text.len()].copy_from_slice(&text);
        self.len = text.len();
        self.codes = codes;
    }
}

/// One address and its text in the log, followed by a space (`len` counts it).
#[derive(Debug)]
struct IpText {
    addr: Option<IpAddr>,
    len: usize,
    text: [u8; 48],
}

impl Default for IpText {
    fn default() -> Self {
        IpText {
            addr: None,
            len: 0,
            text: [0; 48],
        }
    }
}

impl IpText {
    /// The address's text and a space.
    #[inline]
    fn push(&mut self, out: &mut Vec<u8>, addr: Option<&SocketAddr>) {
        let ip = addr.map(SocketAddr::ip);
        if ip != self.addr || self.len == 0 {
            self.refresh(ip);
        }
        push_prefix(out, &self.text, self.len);
    }

    /// Another address than the last line's: its text, and the column's space.
    #[cold]
    #[inline(never)]
    fn refresh(&mut self, ip: Option<IpAddr>) {
        let len = format_ip(ip, &mut self.text);
        self.text[len] = b' ';
        self.len = len + 1;
        self.addr = ip;
    }
}

/// Writes an address as IIS logs it (`-` for none or unspecified) into `text`;
/// returns its length.
fn format_ip(ip: Option<IpAddr>, text: &mut [u8; 48]) -> usize {
    match ip.map(|ip| ip.to_canonical()) {
        Some(ip) if !ip.is_unspecified() => match ip {
            IpAddr::V4(v4) => {
                // Dotted decimal without the formatting machinery.
                let mut n = 0;
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        text[n] = b'.';
                        n += 1;
                    }
                    if octet >= 100 {
                        text[n] = b'0' + octet / 100;
                        n += 1;
                    }
                    if octet >= 10 {
                        text[n] = b'0' + octet / 10 % 10;
                        n += 1;
                    }
                    text[n] = b'0' + octet % 10;
                    n += 1;
                }
                n
            }
            IpAddr::V6(v6) => {
                // At most 39 characters (45 with an embedded IPv4 form).
                let mut rest = &mut text[..];
                let _ = write!(rest, "{v6}");
                let left = rest.len();
                48 - left
            }
        },
        _ => {
            text[0] = b'-';
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value comes back as pushed, whether it went inline or spilled, at
    /// every length around the inline room's end, and after the text is reused.
    #[test]
    fn text_values_round_trip_at_the_inline_boundary() {
        let mut text = Text::new();
        for first in [0, 1, INLINE_TEXT - 1, INLINE_TEXT, INLINE_TEXT + 1] {
            for second in [0, 1, 2, INLINE_TEXT] {
                text.clear();
                let values: Vec<Vec<u8>> = [first, second, 1, 0, 3]
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| (0..n).map(|b| (b + i) as u8).collect())
                    .collect();
                let spans: Vec<Span> = values.iter().map(|v| text.push(v)).collect();
                for (value, span) in values.iter().zip(&spans) {
                    assert_eq!(text.get(Some(*span)), &value[..], "{first}/{second}");
                }
                // What fits inline after a spill still goes inline.
                let inline_used = values
                    .iter()
                    .scan(0, |used, v| {
                        if *used + v.len() <= INLINE_TEXT {
                            *used += v.len();
                        }
                        Some(*used)
                    })
                    .last()
                    .unwrap();
                assert_eq!(text.len, inline_used, "{first}/{second}");
            }
        }
        assert_eq!(text.get(None), b"");
    }
}
