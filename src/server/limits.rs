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

#[cfg(feature = "web-config")]
impl Limits {
    /// The limits IIS reads from `applicationHost.config`, over IIS's defaults:
    /// `<webLimits headerWaitTimeout minBytesPerSecond connectionTimeout>` and the
    /// site's `<limits connectionTimeout maxConnections>` (the first `<site>`'s,
    /// else `<siteDefaults>`'s). A `headerWaitTimeout` of `00:00:00` (IIS's
    /// default) leaves http.sys's own 2 minutes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_iis::server::Limits;
    ///
    /// let xml = r#"<configuration><system.applicationHost>
    ///   <webLimits headerWaitTimeout="00:00:30" minBytesPerSecond="500" />
    ///   <sites><siteDefaults><limits connectionTimeout="00:01:00" maxConnections="1000" /></siteDefaults></sites>
    /// </system.applicationHost></configuration>"#;
    /// let limits = Limits::from_application_host(xml).unwrap();
    /// assert_eq!(limits.header_wait_timeout, Duration::from_secs(30));
    /// assert_eq!(limits.min_bytes_per_second, 500);
    /// assert_eq!(limits.connection_timeout, Duration::from_secs(60));
    /// assert_eq!(limits.max_connections, 1000);
    /// assert!(Limits::from_application_host(r#"<configuration><system.applicationHost>
    ///   <webLimits minBytesPerSecond="fast" /></system.applicationHost></configuration>"#)
    ///   .unwrap_err().to_string().contains("minBytesPerSecond"));
    /// ```
    ///
    /// # Errors
    ///
    /// A [`LimitError`] naming the attribute whose value is not a number or a
    /// `hh:mm:ss` time span, or the XML error; and what [`check`](Self::check)
    /// refuses.
    pub fn from_application_host(xml: &str) -> Result<Limits, LimitError> {
        let doc = roxmltree::Document::parse(xml).map_err(|e| LimitError {
            name: "applicationHost.config",
            value: e.to_string(),
            rule: "be well-formed XML",
        })?;
        let host = doc
            .descendants()
            .find(|n| n.has_tag_name("system.applicationHost"));
        let mut limits = Limits::default();
        let Some(host) = host else {
            return Ok(limits);
        };
        if let Some(web) = child(host, "webLimits") {
            if let Some(v) = web.attribute("headerWaitTimeout") {
                let d = timespan("headerWaitTimeout", v)?;
                if !d.is_zero() {
                    limits.header_wait_timeout = d;
                }
            }
            if let Some(v) = web.attribute("connectionTimeout") {
                limits.connection_timeout = timespan("connectionTimeout", v)?;
            }
            if let Some(v) = web.attribute("minBytesPerSecond") {
                limits.min_bytes_per_second = number("minBytesPerSecond", v)?;
            }
        }
        let site_limits = child(host, "sites").and_then(|sites| {
            child(sites, "site")
                .and_then(|site| child(site, "limits"))
                .or_else(|| child(sites, "siteDefaults").and_then(|d| child(d, "limits")))
        });
        if let Some(l) = site_limits {
            if let Some(v) = l.attribute("connectionTimeout") {
                limits.connection_timeout = timespan("connectionTimeout", v)?;
            }
            if let Some(v) = l.attribute("maxConnections") {
                let n: u32 = number("maxConnections", v)?;
                limits.max_connections = n as usize;
            }
        }
        limits.check()?;
        Ok(limits)
    }
}

#[cfg(feature = "web-config")]
fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

#[cfg(feature = "web-config")]
fn number<T: std::str::FromStr>(name: &'static str, v: &str) -> Result<T, LimitError> {
    v.trim().parse().map_err(|_| LimitError {
        name,
        value: v.to_owned(),
        rule: "be a whole number",
    })
}

/// `hh:mm:ss` or `d.hh:mm:ss`, as IIS writes time spans.
#[cfg(feature = "web-config")]
fn timespan(name: &'static str, v: &str) -> Result<Duration, LimitError> {
    let bad = || LimitError {
        name,
        value: v.to_owned(),
        rule: "be a time span like 00:02:00",
    };
    let t = v.trim();
    let (days, rest) = match t.split_once('.') {
        Some((d, r)) if !d.contains(':') => (d.parse::<u64>().map_err(|_| bad())?, r),
        _ => (0, t),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let [h, m, sec] = parts[..] else {
        return Err(bad());
    };
    let h: u64 = h.parse().map_err(|_| bad())?;
    let m: u64 = m.parse().map_err(|_| bad())?;
    let sec: f64 = sec.parse().map_err(|_| bad())?;
    if m >= 60 || !(0.0..60.0).contains(&sec) {
        return Err(bad());
    }
    Ok(Duration::from_secs(days * 86_400 + h * 3600 + m * 60) + Duration::from_secs_f64(sec))
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

#[cfg(all(test, feature = "web-config"))]
mod tests {
    use super::*;

    #[test]
    fn time_spans() {
        assert_eq!(timespan("x", "00:02:00").unwrap(), Duration::from_secs(120));
        assert_eq!(
            timespan("x", "1.00:00:01").unwrap(),
            Duration::from_secs(86_401)
        );
        assert_eq!(
            timespan("x", "00:00:30.5").unwrap(),
            Duration::from_millis(30_500)
        );
        assert!(timespan("x", "2 minutes").is_err());
        assert!(timespan("x", "00:61:00").is_err());
    }
}
