//! [`Limits`]: http.sys's limits and timeouts, with IIS's defaults.

use std::fmt;
use std::time::Duration;

/// http.sys's limits and timeouts. `Limits::default()` is IIS's defaults.
///
/// | field | IIS / http.sys setting | default | when exceeded |
/// |---|---|---|---|
/// | [`connection_timeout`](Self::connection_timeout) | site `<limits connectionTimeout>` | 2 min | closed, `Timer_ConnectionIdle` |
/// | [`header_wait_timeout`](Self::header_wait_timeout) | `<webLimits headerWaitTimeout>` | 2 min | closed, `Timer_HeaderWait` |
/// | [`entity_body_timeout`](Self::entity_body_timeout) | http.sys `EntityBody` timer | 2 min | closed, `Timer_EntityBody` |
/// | [`min_bytes_per_second`](Self::min_bytes_per_second) | `<webLimits minBytesPerSecond>` | 240 | closed, `Timer_MinBytesPerSecond` |
/// | [`max_field_length`](Self::max_field_length) | `MaxFieldLength` | 16 384 | 400 `FieldLength` |
/// | [`max_request_bytes`](Self::max_request_bytes) | `MaxRequestBytes` | 16 384 | 400 `RequestLength` |
/// | [`url_segment_max_length`](Self::url_segment_max_length) | `UrlSegmentMaxLength` | 260 | 400 `URL` |
/// | [`url_segment_max_count`](Self::url_segment_max_count) | `UrlSegmentMaxCount` | 255 | 400 `URL` |
/// | [`max_connections`](Self::max_connections) | site `<limits maxConnections>` | 4 294 967 295 | 503 `ConnLimit` |
/// | [`max_headers`](Self::max_headers) | (hyper's limit; http.sys has none) | 100 | 400 `RequestLength` |
///
/// ```
/// use std::time::Duration;
/// use tower_iis::server::Limits;
///
/// let limits = Limits {
///     header_wait_timeout: Duration::from_secs(10),
///     max_connections: 10_000,
///     ..Limits::default()
/// };
/// assert!(limits.check().is_ok());
/// assert_eq!(Limits { max_request_bytes: 0, ..limits }.check().unwrap_err().to_string(),
///     "server limit `max_request_bytes` must be between 256 and 16777216, not 0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a keep-alive connection may stay idle between requests.
    pub connection_timeout: Duration,
    /// How long a request head may take to arrive, from its first byte.
    pub header_wait_timeout: Duration,
    /// How long the request body may stall while the application reads it.
    pub entity_body_timeout: Duration,
    /// The slowest a client may take the response, in bytes per second (`0`: no
    /// minimum). A send that stalls is given [`send_grace`](Self::send_grace) plus
    /// the time its bytes are worth at this rate.
    pub min_bytes_per_second: u32,
    /// How long a send may stall before the minimum rate is applied.
    pub send_grace: Duration,
    /// The longest header line, in bytes.
    pub max_field_length: usize,
    /// The longest request head (request line and headers), in bytes.
    pub max_request_bytes: usize,
    /// The longest URL path segment, in characters after percent-decoding.
    pub url_segment_max_length: usize,
    /// The most URL path segments.
    pub url_segment_max_count: usize,
    /// The most connections open at once; more are answered 503 `ConnLimit`.
    pub max_connections: usize,
    /// The most header lines in a request head.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connection_timeout: Duration::from_secs(120),
            header_wait_timeout: Duration::from_secs(120),
            entity_body_timeout: Duration::from_secs(120),
            min_bytes_per_second: 240,
            send_grace: Duration::from_secs(10),
            max_field_length: 16 * 1024,
            max_request_bytes: 16 * 1024,
            url_segment_max_length: 260,
            url_segment_max_count: 255,
            max_connections: 4_294_967_295,
            max_headers: 100,
        }
    }
}

/// A limit the server cannot run with; the message names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    name: &'static str,
    value: String,
    rule: &'static str,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "server limit `{}` must {}, not {}",
            self.name, self.rule, self.value
        )
    }
}

impl std::error::Error for LimitError {}

impl Limits {
    /// Checks that every limit is usable.
    ///
    /// # Errors
    ///
    /// A [`LimitError`] naming the first bad value: a zero timeout or connection
    /// count, a head limit below 256 bytes or above 16 MB, a segment length or
    /// count of zero, a header count of zero or above 8 192.
    pub fn check(&self) -> Result<(), LimitError> {
        let err = |name, value: String, rule| LimitError { name, value, rule };
        for (name, d) in [
            ("connection_timeout", self.connection_timeout),
            ("header_wait_timeout", self.header_wait_timeout),
            ("entity_body_timeout", self.entity_body_timeout),
        ] {
            if d.is_zero() {
                return Err(err(name, format!("{d:?}"), "be longer than zero"));
            }
        }
        for (name, v) in [
            ("max_field_length", self.max_field_length),
            ("max_request_bytes", self.max_request_bytes),
        ] {
            if !(256..=16 * 1024 * 1024).contains(&v) {
                return Err(err(name, v.to_string(), "be between 256 and 16777216"));
            }
        }
        for (name, v) in [
            ("url_segment_max_length", self.url_segment_max_length),
            ("url_segment_max_count", self.url_segment_max_count),
            ("max_connections", self.max_connections),
        ] {
            if v == 0 {
                return Err(err(name, v.to_string(), "be at least 1"));
            }
        }
        if !(1..=8192).contains(&self.max_headers) {
            return Err(err(
                "max_headers",
                self.max_headers.to_string(),
                "be between 1 and 8192",
            ));
        }
        Ok(())
    }
}
