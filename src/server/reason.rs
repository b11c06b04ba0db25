//! Why http.sys refused, cut or dropped something: its reason phrases, and the small
//! HTML 4.01 page it answers with.

use std::fmt;

/// An http.sys reason phrase, as written in the HTTPERR log's `s-reason` column.
///
/// These are the ones the server produces; each says when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// `BadRequest` (400): the request could not be parsed: a malformed request
    /// line, a NUL byte, a bad chunk size in the first chunk of a chunked body,
    /// a `Content-Length` that is not a number.
    BadRequest,
    /// `Verb` (400): the method is not a token or is longer than 255 bytes.
    Verb,
    /// `URL` (400): the request target is not a path (nor `*`, nor an absolute
    /// URL), holds a control byte, has a segment over `UrlSegmentMaxLength`
    /// (260) or more segments than `UrlSegmentMaxCount` (255).
    Url,
    /// `Header` (400): a header name or value holds a byte HTTP does not allow
    /// (a control byte), a line is folded, or `Content-Length` is given twice
    /// with different values or beside `Transfer-Encoding`.
    Header,
    /// `Hostname` (400): an HTTP/1.1 request without `Host`, with two, or with
    /// one that is not a host name.
    Hostname,
    /// `Invalid_CR/LF` (400): a line ended by a bare CR.
    InvalidCrLf,
    /// `FieldLength` (400): one header line is longer than `MaxFieldLength`.
    FieldLength,
    /// `RequestLength` (400): the request line and headers are longer than
    /// `MaxRequestBytes`.
    RequestLength,
    /// `N/I` (501): a `Transfer-Encoding` other than `chunked`.
    NotImplemented,
    /// `Version_N/S` (505): an HTTP version other than 1.0 and 1.1 on an HTTP/1
    /// request line.
    VersionNotSupported,
    /// `ConnLimit` (503): the site's `maxConnections` connections are open.
    ConnLimit,
    /// `Timer_ConnectionIdle`: a keep-alive connection sent nothing for
    /// `connectionTimeout`. Closed without an answer.
    TimerConnectionIdle,
    /// `Timer_HeaderWait`: a request head did not arrive whole within
    /// `headerWaitTimeout` of its first byte. Closed without an answer.
    TimerHeaderWait,
    /// `Timer_EntityBody`: the request body stopped arriving for the entity
    /// body timeout while the application waited for it.
    TimerEntityBody,
    /// `Timer_MinBytesPerSecond`: the client took the response more slowly than
    /// `minBytesPerSecond`.
    TimerMinBytesPerSecond,
    /// `Client_Reset`: the client reset the connection in the middle of a request
    /// head.
    ClientReset,
    /// `Connection_Dropped`: the client closed the connection in the middle of a
    /// request head.
    ConnectionDropped,
}

impl Reason {
    /// The phrase written in `s-reason`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::BadRequest => "BadRequest",
            Reason::Verb => "Verb",
            Reason::Url => "URL",
            Reason::Header => "Header",
            Reason::Hostname => "Hostname",
            Reason::InvalidCrLf => "Invalid_CR/LF",
            Reason::FieldLength => "FieldLength",
            Reason::RequestLength => "RequestLength",
            Reason::NotImplemented => "N/I",
            Reason::VersionNotSupported => "Version_N/S",
            Reason::ConnLimit => "ConnLimit",
            Reason::TimerConnectionIdle => "Timer_ConnectionIdle",
            Reason::TimerHeaderWait => "Timer_HeaderWait",
            Reason::TimerEntityBody => "Timer_EntityBody",
            Reason::TimerMinBytesPerSecond => "Timer_MinBytesPerSecond",
            Reason::ClientReset => "Client_Reset",
            Reason::ConnectionDropped => "Connection_Dropped",
        }
    }

    /// The status http.sys answers with, or `None` when it closes the connection
    /// without an answer (timers and drops).
    #[must_use]
    pub const fn status(self) -> Option<u16> {
        match self {
            Reason::BadRequest
            | Reason::Verb
            | Reason::Url
            | Reason::Header
            | Reason::Hostname
            | Reason::InvalidCrLf
            | Reason::FieldLength
            | Reason::RequestLength => Some(400),
            Reason::NotImplemented => Some(501),
            Reason::VersionNotSupported => Some(505),
            Reason::ConnLimit => Some(503),
            _ => None,
        }
    }

    /// The page's `<TITLE>` and `<h2>` heading, as http.sys writes them.
    fn title_heading(self) -> (&'static str, &'static str) {
        match self {
            Reason::Verb => ("Bad Request", "Bad Request - Invalid Verb"),
            Reason::Url => ("Bad Request", "Bad Request - Invalid URL"),
            Reason::Header => ("Bad Request", "Bad Request - Invalid Header"),
            Reason::Hostname => ("Bad Request", "Bad Request - Invalid Hostname"),
            Reason::FieldLength => ("Bad Request", "Bad Request - Header Field Too Long"),
            Reason::RequestLength => ("Bad Request", "Bad Request - Request Too Long"),
            Reason::NotImplemented => ("Not Implemented", "Not Implemented"),
            Reason::VersionNotSupported => {
                ("HTTP Version Not Supported", "HTTP Version Not Supported")
            }
            Reason::ConnLimit => ("Service Unavailable", "Service Unavailable"),
            _ => ("Bad Request", "Bad Request"),
        }
    }

    /// Our sentence after `HTTP Error <status>.`.
    fn sentence(self) -> &'static str {
        match self {
            Reason::Verb => "The request method is not one the server accepts.",
            Reason::Url => "The address in the request is not a valid URL for this server.",
            Reason::Header => "A request header holds characters HTTP does not allow.",
            Reason::Hostname => "The request names no valid host.",
            Reason::InvalidCrLf => "A line of the request does not end the way HTTP requires.",
            Reason::FieldLength => "One request header is longer than the server accepts.",
            Reason::RequestLength => "The request headers are longer than the server accepts.",
            Reason::NotImplemented => "The server does not support what the request asks for.",
            Reason::VersionNotSupported => "The server does not speak this version of HTTP.",
            Reason::ConnLimit => "The site has as many connections as it allows; try again later.",
            _ => "The server could not read the request.",
        }
    }

    /// The reason phrase of the status line.
    fn status_reason(self) -> &'static str {
        match self.status() {
            Some(411) => "Length Required",
            Some(501) => "Not Implemented",
            Some(503) => "Service Unavailable",
            Some(505) => "HTTP Version Not Supported",
            _ => "Bad Request",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The page http.sys sends for `reason` (CRLF line ends).
#[must_use]
pub fn page(reason: Reason) -> String {
    let (title, heading) = reason.title_heading();
    let status = reason.status().unwrap_or(400);
    format!(
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"\"http://www.w3.org/TR/html4/strict.dtd\">\r\n\
         <HTML><HEAD><TITLE>{title}</TITLE>\r\n\
         <META HTTP-EQUIV=\"Content-Type\" Content=\"text/html; charset=us-ascii\"></HEAD>\r\n\
         <BODY><h2>{heading}</h2>\r\n\
         <hr><p>HTTP Error {status}. {}</p>\r\n\
         </BODY></HTML>\r\n",
        reason.sentence()
    )
}

/// The whole response http.sys sends for `reason`: status line, its headers
/// (`Content-Type`, `Server: Microsoft-HTTPAPI/2.0`, `Date`, `Connection: close`,
/// `Content-Length`) and the page (left out for a `HEAD` request).
pub(crate) fn response(reason: Reason, head_request: bool, date: &str) -> Vec<u8> {
    let body = page(reason);
    let status = reason.status().unwrap_or(400);
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\n\
         Content-Type: text/html; charset=us-ascii\r\n\
         Server: Microsoft-HTTPAPI/2.0\r\n\
         Date: {date}\r\n\
         Connection: close\r\n\
         Content-Length: {}\r\n\r\n",
        reason.status_reason(),
        body.len()
    )
    .into_bytes();
    if !head_request {
        out.extend_from_slice(body.as_bytes());
    }
    out
}
