//! What one request leaves behind for its log line, and how the line is written.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, Uri, Version};

use super::fields::MAX_CUSTOM_FIELD_LENGTH;
use super::fields::{push_value, push_value_limited, CustomField, CustomSource, Field, FieldSet};
use super::{LogValues, LogonUser};
use crate::connection::{connection_info, ConnectionInfo};
use crate::error::{IisError, ANONYMOUS};

/// `ERROR_NETNAME_DELETED`: what IIS logs in `sc-win32-status` when the client went
/// away before the response was sent.
pub const WIN32_CLIENT_GONE: u32 = 64;
/// `ERROR_CONNECTION_ABORTED`: the connection was aborted on the server's side (the
/// inner service failed, its body failed, or the handler panicked).
pub const WIN32_CONNECTION_ABORTED: u32 = 1236;

/// A custom field's captured value.
#[derive(Debug, Clone)]
pub(crate) enum CustomValue {
    Header(HeaderValue),
    Text(String),
}

/// Everything the line needs, captured from the request, the response and the end of
/// the body. Only what the configured fields use is captured.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) end_unix: i64,
    pub(crate) method: Option<Method>,
    pub(crate) uri: Option<Uri>,
    pub(crate) version: Version,
    pub(crate) user_agent: Option<HeaderValue>,
    pub(crate) cookie: Option<HeaderValue>,
    pub(crate) referer: Option<HeaderValue>,
    pub(crate) host: Option<HeaderValue>,
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

/// The parts of the configuration the line format needs.
#[derive(Debug)]
pub(crate) struct LineFormat {
    pub(crate) fields: FieldSet,
    pub(crate) custom: Arc<[CustomField]>,
    pub(crate) site_name: String,
    pub(crate) computer_name: String,
}

impl LineFormat {
    /// The `#Fields:` value: standard names in canonical order, then custom names.
    pub(crate) fn fields_line(&self) -> String {
        let mut names: Vec<&str> = self.fields.iter().map(Field::name).collect();
        names.extend(self.custom.iter().map(CustomField::name));
        names.join(" ")
    }

    /// The four-line header block IIS writes, with CRLF line ends.
    pub(crate) fn header_block(&self, datetime: &str) -> String {
        format!(
            "#Software: Microsoft Internet Information Services 10.0\r\n\
             #Version: 1.0\r\n\
             #Date: {datetime}\r\n\
             #Fields: {}\r\n",
            self.fields_line()
        )
    }

    pub(crate) fn has_custom(&self) -> bool {
        !self.custom.is_empty()
    }
}

/// HTTP/1.1-form size of a header block: `name: value\r\n` per header.
fn headers_len(headers: &HeaderMap) -> u64 {
    headers
        .iter()
        .map(|(n, v)| (n.as_str().len() + v.len() + 4) as u64)
        .sum()
}

fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

impl Record {
    /// Captures the request side. Cheap: reference-count bumps for what the fields use.
    pub(crate) fn capture<B>(req: &Request<B>, fmt: &LineFormat) -> Self {
        let f = fmt.fields;
        let h = req.headers();
        let want_uri =
            f.contains(Field::UriStem) || f.contains(Field::UriQuery) || f.contains(Field::Host);
        let cs_bytes = if f.contains(Field::BytesRecv) {
            // Request line + headers + blank line as HTTP/1.1 would send them, plus the
            // declared body length.
            let uri_len = req.uri().path_and_query().map_or(1, |pq| pq.as_str().len()) as u64;
            let line = req.method().as_str().len() as u64 + 1 + uri_len + 1 + 8 + 2;
            let body = h
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0);
            line + headers_len(h) + 2 + body
        } else {
            0
        };
        let get = |field: Field, name: header::HeaderName| {
            if f.contains(field) {
                h.get(name).cloned()
            } else {
                None
            }
        };
        let custom = fmt
            .custom
            .iter()
            .map(|c| match &c.source {
                CustomSource::RequestHeader(name) => join_header(h, name).map(CustomValue::Header),
                _ => None,
            })
            .collect();
        Record {
            end_unix: 0,
            method: f.contains(Field::Method).then(|| req.method().clone()),
            uri: want_uri.then(|| req.uri().clone()),
            version: req.version(),
            user_agent: get(Field::UserAgent, header::USER_AGENT),
            cookie: get(Field::Cookie, header::COOKIE),
            referer: get(Field::Referer, header::REFERER),
            host: get(Field::Host, header::HOST),
            conn: connection_info(req),
            user: if f.contains(Field::UserName) {
                req.extensions().get::<LogonUser>().cloned()
            } else {
                None
            },
            status: 0,
            substatus: 0,
            win32: 0,
            sc_bytes: 0,
            cs_bytes,
            time_taken_ms: 0,
            custom,
        }
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
        if fmt.fields.contains(Field::UserName) {
            if let Some(user) = ext.get::<LogonUser>() {
                self.user = Some(user.clone());
            } else if self.user.is_none() {
                // An error that names the logon user (e.g. a 401.x from an auth
                // module) logs it, unless it is the anonymous default.
                if let Some(name) = err.map(IisError::logon_user) {
                    if name != ANONYMOUS && !name.is_empty() {
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
    pub(crate) fn write_line(&self, out: &mut Vec<u8>, fmt: &LineFormat, datetime: &[u8; 19]) {
        let mut first = true;
        for field in fmt.fields.iter() {
            if !first {
                out.push(b' ');
            }
            first = false;
            self.write_field(out, field, fmt, datetime);
        }
        for value in &self.custom {
            if !first {
                out.push(b' ');
            }
            first = false;
            let bytes = match value {
                Some(CustomValue::Header(v)) => v.as_bytes(),
                Some(CustomValue::Text(s)) => s.as_bytes(),
                None => b"",
            };
            push_value_limited(out, bytes, MAX_CUSTOM_FIELD_LENGTH);
        }
    }

    fn write_field(&self, out: &mut Vec<u8>, field: Field, fmt: &LineFormat, dt: &[u8; 19]) {
        let header = |out: &mut Vec<u8>, v: &Option<HeaderValue>| {
            push_value(out, v.as_ref().map_or(&b""[..], HeaderValue::as_bytes));
        };
        match field {
            Field::Date => out.extend_from_slice(&dt[..10]),
            Field::Time => out.extend_from_slice(&dt[11..]),
            Field::SiteName => push_value(out, fmt.site_name.as_bytes()),
            Field::ComputerName => push_value(out, fmt.computer_name.as_bytes()),
            Field::ServerIp => push_ip(out, self.conn.map(|c| c.local)),
            Field::Method => push_value(
                out,
                self.method.as_ref().map_or("", Method::as_str).as_bytes(),
            ),
            Field::UriStem => push_value(out, self.uri.as_ref().map_or("", Uri::path).as_bytes()),
            Field::UriQuery => push_value(
                out,
                self.uri
                    .as_ref()
                    .and_then(Uri::query)
                    .unwrap_or("")
                    .as_bytes(),
            ),
            Field::ServerPort => match self.conn.map(|c| c.local.port()) {
                Some(port) if port != 0 => push_int(out, u64::from(port)),
                _ => out.push(b'-'),
            },
            Field::UserName => push_value(
                out,
                self.user.as_ref().map_or("", LogonUser::name).as_bytes(),
            ),
            Field::ClientIp => push_ip(out, self.conn.map(|c| c.remote)),
            Field::ProtocolVersion => out.extend_from_slice(version_str(self.version).as_bytes()),
            Field::UserAgent => header(out, &self.user_agent),
            Field::Cookie => header(out, &self.cookie),
            Field::Referer => header(out, &self.referer),
            Field::Host => match (&self.host, self.uri.as_ref().and_then(Uri::authority)) {
                (Some(h), _) => push_value(out, h.as_bytes()),
                (None, Some(a)) => push_value(out, a.as_str().as_bytes()),
                (None, None) => out.push(b'-'),
            },
            Field::HttpStatus => push_int(out, u64::from(self.status)),
            Field::HttpSubStatus => push_int(out, u64::from(self.substatus)),
            Field::Win32Status => push_int(out, u64::from(self.win32)),
            Field::BytesSent => push_int(out, self.sc_bytes),
            Field::BytesRecv => push_int(out, self.cs_bytes),
            Field::TimeTaken => push_int(out, self.time_taken_ms),
        }
    }
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

fn push_int(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn push_ip(out: &mut Vec<u8>, addr: Option<SocketAddr>) {
    match addr.map(|a| a.ip().to_canonical()) {
        Some(ip) if !ip.is_unspecified() => match ip {
            IpAddr::V4(v4) => {
                // Dotted decimal without the formatting machinery: every line has two.
                let mut itoa = itoa::Buffer::new();
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        out.push(b'.');
                    }
                    out.extend_from_slice(itoa.format(octet).as_bytes());
                }
            }
            IpAddr::V6(v6) => {
                let _ = write!(out, "{v6}");
            }
        },
        _ => out.push(b'-'),
    }
}
