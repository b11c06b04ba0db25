//! The client behind a trusted reverse proxy: [`TrustedProxies`] and
//! [`TrustedProxyLayer`]. See the [`connection`](super) module docs.

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderMap, HeaderName};
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use super::{connection_info, ConnectionInfo};
use crate::ip_net::Net;
use crate::ConfigError;

/// The address of a client whose IP address is not known: `0.0.0.0:0`.
///
/// A Unix-socket peer has it, and so has the client behind a trusted proxy that
/// named it `unknown`, by an obfuscated identifier or by something that is not an
/// address. It is never local, `c-ip` logs it as `-`, and an IP restriction with
/// rules denies it (see [`ip_security`](crate::ip_security)).
pub const UNKNOWN_CLIENT: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));

/// Whether `addr` is [`UNKNOWN_CLIENT`] (any unspecified address with port 0).
#[must_use]
pub fn is_unknown(addr: SocketAddr) -> bool {
    addr.ip().is_unspecified() && addr.port() == 0
}

/// At most this many hops are read from the right of a forwarding header; a
/// chain of more trusted proxies than that leaves the client unknown.
pub const MAX_FORWARDED_HOPS: usize = 32;

/// A hop longer than this is not an address (the longest, a quoted bracketed
/// IPv6 address with a port, is 55 bytes).
const MAX_HOP_LEN: usize = 64;

/// Which header a trusted proxy names the client in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx's
    /// `$proxy_add_x_forwarded_for`, HAProxy's `option forwardfor`, most load
    /// balancers). The default.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for="[2001:db8::1]:4711"`.
    Forwarded,
}

impl ForwardedHeader {
    /// The header's name.
    #[must_use]
    pub fn name(self) -> HeaderName {
        match self {
            Self::XForwardedFor => HeaderName::from_static("x-forwarded-for"),
            Self::Forwarded => http::header::FORWARDED,
        }
    }
}

/// The address of the trusted proxy a request came through, put in the request's
/// extensions by [`TrustedProxies::apply`] when it replaced the client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ForwardedBy(pub SocketAddr);

/// The reverse proxies whose forwarding header is believed: addresses and ranges.
///
/// Empty by default (nobody is trusted). Only one header is read, chosen with
/// [`header`](Self::header): a proxy that appends to `X-Forwarded-For` usually
/// passes a client's own `Forwarded` header through untouched, so reading both
/// would let a client name itself.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<Net>,
    texts: Vec<String>,
    header: ForwardedHeader,
    unix: bool,
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedProxies")
            .field("proxies", &self.texts)
            .field("header", &self.header)
            .field("unix_sockets", &self.unix)
            .finish()
    }
}

impl TrustedProxies {
    /// Trusts nobody (every forwarding header is ignored).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts each address or range of `list` (`127.0.0.1`, `10.0.0.0/8`,
    /// `10.0.0.0/255.0.0.0`, `::1`, `fd00::/8`, `::ffff:10.0.0.0/104`).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first value that is not an address or range.
    pub fn parse<I>(list: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        list.into_iter()
            .try_fold(Self::new(), |t, s| t.trust(s.as_ref()))
    }

    /// Adds an address or range (see [`parse`](Self::parse)).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `range` when it is not an address or range.
    pub fn trust(mut self, range: &str) -> Result<Self, ConfigError> {
        let net = Net::parse(range).ok_or_else(|| {
            ConfigError::new(
                "trustedProxies",
                range,
                "expected an IP address, optionally with /prefix or /subnet mask",
            )
        })?;
        self.nets.push(net);
        self.texts.push(range.trim().to_owned());
        Ok(self)
    }

    /// The header the client is read from (default `X-Forwarded-For`).
    #[must_use]
    pub fn header(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }

    /// Whether a peer on a Unix socket (which has no address; see
    /// [`UNKNOWN_CLIENT`]) counts as a trusted proxy. Off by default.
    #[must_use]
    pub fn trust_unix_sockets(mut self, trust: bool) -> Self {
        self.unix = trust;
        self
    }

    /// The addresses and ranges trusted, as given.
    #[must_use]
    pub fn ranges(&self) -> &[String] {
        &self.texts
    }

    /// Whether no proxy is trusted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty() && !self.unix
    }

    /// Whether `ip` is a trusted proxy's address.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }

    fn trusts_peer(&self, peer: SocketAddr) -> bool {
        if is_unknown(peer) {
            self.unix
        } else {
            self.contains(peer.ip())
        }
    }

    /// The client a request from `peer` with `headers` came from, when `peer` is
    /// a trusted proxy that named one: the right-most hop of the header that is
    /// not itself a trusted proxy (the left-most when all are), with the port the
    /// hop gives (else 0). A hop that is not an address (`unknown`, an
    /// obfuscated `_name`, garbage), or more than [`MAX_FORWARDED_HOPS`] trusted
    /// hops, make the client [`UNKNOWN_CLIENT`]. `None` when `peer` is not
    /// trusted or the header is absent or empty.
    #[must_use]
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> Option<SocketAddr> {
        if !self.trusts_peer(peer) {
            return None;
        }
        let mut leftmost_trusted = None;
        let mut verdict = None;
        let mut seen = 0usize;
        let mut judge = |hop: Option<SocketAddr>| -> bool {
            seen += 1;
            if seen > MAX_FORWARDED_HOPS {
                verdict = Some(UNKNOWN_CLIENT);
                return false;
            }
            match hop {
                Some(addr) if self.contains(addr.ip()) => {
                    leftmost_trusted = Some(addr);
                    true
                }
                Some(addr) => {
                    verdict = Some(addr);
                    false
                }
                None => {
                    verdict = Some(UNKNOWN_CLIENT);
                    false
                }
            }
        };
        match self.header {
            ForwardedHeader::XForwardedFor => x_forwarded_for_hops(headers, &mut judge),
            ForwardedHeader::Forwarded => forwarded_hops(headers, &mut judge),
        }
        verdict.or(leftmost_trusted)
    }

    /// Replaces the client address of `req` when its peer is a trusted proxy that
    /// named the client: the [`ConnectionInfo`] gets the client as `remote` (the
    /// rest unchanged), [`ForwardedBy`] keeps the proxy's address, and axum's
    /// `ConnectInfo<ConnectionInfo>` and `ConnectInfo<SocketAddr>` are updated
    /// when present. Returns whether it did; a request that already has a
    /// [`ForwardedBy`] is left alone, so applying twice changes nothing.
    pub fn apply<B>(&self, req: &mut Request<B>) -> bool {
        if req.extensions().get::<ForwardedBy>().is_some() {
            return false;
        }
        let Some(info) = connection_info(req) else {
            return false;
        };
        let Some(client) = self.client(info.remote, req.headers()) else {
            if req.headers().contains_key(self.header.name()) {
                tracing::debug!(
                    target: "tower_iis::connection",
                    peer = %info.remote,
                    header = %self.header.name(),
                    "forwarding header from a peer that is not a trusted proxy: ignored"
                );
            }
            return false;
        };
        let forwarded = ConnectionInfo {
            remote: client,
            ..info
        };
        tracing::trace!(
            target: "tower_iis::connection",
            proxy = %info.remote,
            client = %client,
            "client address taken from the trusted proxy's header"
        );
        let ext = req.extensions_mut();
        ext.insert(forwarded);
        ext.insert(ForwardedBy(info.remote));
        #[cfg(feature = "axum")]
        {
            use axum::extract::ConnectInfo;
            if let Some(ConnectInfo(c)) = ext.get_mut::<ConnectInfo<ConnectionInfo>>() {
                *c = forwarded;
            }
            if let Some(ConnectInfo(a)) = ext.get_mut::<ConnectInfo<SocketAddr>>() {
                *a = client;
            }
        }
        true
    }
}

/// An address of a forwarding header: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:8080`; a port that is not a number
/// (RFC 7239's obfuscated `_port`) is dropped. `None` for anything else,
/// including `unknown`, obfuscated names and the unspecified address.
pub(crate) fn parse_hop(text: &[u8]) -> Option<SocketAddr> {
    let text = text.trim_ascii();
    if text.is_empty() || text.len() > MAX_HOP_LEN {
        return None;
    }
    let text = std::str::from_utf8(text).ok()?;
    let port = |p: &str| -> Option<u16> {
        if p.starts_with('_') && p.len() > 1 {
            Some(0)
        } else if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
            p.parse().ok()
        } else {
            None
        }
    };
    let (ip, port) = if let Ok(ip) = text.parse::<IpAddr>() {
        (ip, 0)
    } else if let Some(rest) = text.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let ip = ip.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => 0,
            p => port(p.strip_prefix(':')?)?,
        };
        (IpAddr::V6(ip), port)
    } else {
        let (ip, p) = text.split_once(':')?;
        (IpAddr::V4(ip.parse().ok()?), port(p)?)
    };
    (!ip.is_unspecified()).then_some(SocketAddr::new(ip, port))
}

/// The hops of `X-Forwarded-For`, right to left over every line of the header,
/// until `judge` says stop. Empty elements are skipped.
fn x_forwarded_for_hops(headers: &HeaderMap, judge: &mut impl FnMut(Option<SocketAddr>) -> bool) {
    let name = HeaderName::from_static("x-forwarded-for");
    for value in headers.get_all(name).iter().rev() {
        for hop in value.as_bytes().rsplit(|&b| b == b',') {
            if hop.trim_ascii().is_empty() {
                continue;
            }
            if !judge(parse_hop(hop)) {
                return;
            }
        }
    }
}

/// The `for=` of each element of `Forwarded`, right to left, until `judge` says
/// stop. An element without `for=` is an unknown hop. One pass over the header;
/// only the last [`MAX_FORWARDED_HOPS`] + 1 elements are kept.
fn forwarded_hops(headers: &HeaderMap, judge: &mut impl FnMut(Option<SocketAddr>) -> bool) {
    let mut elements: VecDeque<Option<SocketAddr>> = VecDeque::new();
    for value in headers.get_all(http::header::FORWARDED) {
        for element in split_unquoted(value.as_bytes(), b',') {
            if element.trim_ascii().is_empty() {
                continue;
            }
            if elements.len() > MAX_FORWARDED_HOPS {
                elements.pop_front();
            }
            elements.push_back(forwarded_for(element));
        }
    }
    for hop in elements.into_iter().rev() {
        if !judge(hop) {
            return;
        }
    }
}

/// The `for=` node of one `Forwarded` element, unquoted and parsed.
fn forwarded_for(element: &[u8]) -> Option<SocketAddr> {
    let mut found = None;
    for pair in split_unquoted(element, b';') {
        let pair = pair.trim_ascii();
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            continue;
        };
        if pair[..eq].trim_ascii().eq_ignore_ascii_case(b"for") {
            if found.is_some() {
                // Two `for=` in one element: not a node we can believe.
                return None;
            }
            found = Some(pair[eq + 1..].trim_ascii());
        }
    }
    let value = found?;
    let value = match value {
        [b'"', inner @ .., b'"'] => {
            // A quoted-string; an address never needs an escape.
            if inner.contains(&b'\\') || inner.contains(&b'"') {
                return None;
            }
            inner
        }
        v if v.contains(&b'"') => return None,
        v => v,
    };
    parse_hop(value)
}

/// Splits at `sep` outside quoted-strings (a backslash escapes inside them).
fn split_unquoted(text: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    let mut i = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        while i < text.len() {
            let b = text[i];
            i += 1;
            if escaped {
                escaped = false;
            } else if quoted && b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = !quoted;
            } else if b == sep && !quoted {
                let piece = &text[start..i - 1];
                start = i;
                return Some(piece);
            }
        }
        done = true;
        Some(&text[start..])
    })
}

/// Takes the client address from a trusted proxy's forwarding header, for the
/// layers inside it. See the [`connection`](super) module docs.
///
/// Put it outside every layer that looks at the client (the W3C log, the error
/// pages, IP restrictions), and under an accept loop that sets the connection's
/// address ([`ConnectionInfo`] or axum's `ConnectInfo`).
#[derive(Debug, Clone)]
pub struct TrustedProxyLayer {
    proxies: Arc<TrustedProxies>,
}

impl TrustedProxyLayer {
    /// The layer for these proxies.
    #[must_use]
    pub fn new(proxies: TrustedProxies) -> Self {
        Self {
            proxies: Arc::new(proxies),
        }
    }

    /// The proxies it trusts.
    #[must_use]
    pub fn proxies(&self) -> &TrustedProxies {
        &self.proxies
    }
}

impl<S> Layer<S> for TrustedProxyLayer {
    type Service = TrustedProxy<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TrustedProxy {
            inner,
            proxies: self.proxies.clone(),
        }
    }
}

/// The service of [`TrustedProxyLayer`].
#[derive(Debug, Clone)]
pub struct TrustedProxy<S> {
    inner: S,
    proxies: Arc<TrustedProxies>,
}

impl<S> TrustedProxy<S> {
    define_inner_service_accessors!();
}

impl<S, B> Service<Request<B>> for TrustedProxy<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        self.proxies.apply(&mut req);
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
            );
        }
        h
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn hops() {
        for (text, expected) in [
            ("192.0.2.1", Some("192.0.2.1:0")),
            (" 192.0.2.1 ", Some("192.0.2.1:0")),
            ("192.0.2.1:8080", Some("192.0.2.1:8080")),
            ("2001:db8::1", Some("[2001:db8::1]:0")),
            ("[2001:db8::1]", Some("[2001:db8::1]:0")),
            ("[2001:db8::1]:4711", Some("[2001:db8::1]:4711")),
            ("[2001:db8::1]:_hidden", Some("[2001:db8::1]:0")),
            ("192.0.2.1:_p", Some("192.0.2.1:0")),
            ("::ffff:192.0.2.1", Some("[::ffff:192.0.2.1]:0")),
            ("unknown", None),
            ("_hidden", None),
            ("0.0.0.0", None),
            ("::", None),
            ("192.0.2.1:", None),
            ("192.0.2.1:99999", None),
            ("192.0.2.1:80:80", None),
            ("[2001:db8::1", None),
            ("[192.0.2.1]", None),
            ("[2001:db8::1]x", None),
            ("2001:db8::1:8080:1:2:3:4:5", None),
            ("example.com", None),
            ("192.0.2.1 192.0.2.2", None),
            ("", None),
        ] {
            assert_eq!(parse_hop(text.as_bytes()), expected.map(addr), "{text:?}");
        }
        assert_eq!(parse_hop(&[b'1'; 100]), None);
        assert_eq!(parse_hop(b"\xff\xfe"), None);
    }

    fn xff(trusted: &[&str], peer: &str, values: &[&str]) -> Option<SocketAddr> {
        TrustedProxies::parse(trusted)
            .unwrap()
            .client(addr(peer), &headers("x-forwarded-for", values))
    }

    fn fwd(trusted: &[&str], peer: &str, values: &[&str]) -> Option<SocketAddr> {
        TrustedProxies::parse(trusted)
            .unwrap()
            .header(ForwardedHeader::Forwarded)
            .client(addr(peer), &headers("forwarded", values))
    }

    #[test]
    fn x_forwarded_for_right_most_untrusted_hop() {
        let t = &["127.0.0.1", "10.0.0.0/8"];
        let peer = "127.0.0.1:40000";
        let some = |s| Some(addr(s));
        // One hop.
        assert_eq!(xff(t, peer, &["203.0.113.9"]), some("203.0.113.9:0"));
        // A chain: the client's own claim on the left is not believed.
        assert_eq!(
            xff(t, peer, &["127.0.0.1, 198.51.100.2, 10.1.1.1"]),
            some("198.51.100.2:0")
        );
        // Several lines are one list, in order.
        assert_eq!(
            xff(t, peer, &["192.0.2.1, 198.51.100.2", "10.0.0.7"]),
            some("198.51.100.2:0")
        );
        // Every hop trusted: the left-most.
        assert_eq!(xff(t, peer, &["10.9.9.9, 10.0.0.1"]), some("10.9.9.9:0"));
        // Empty elements are skipped; an empty header is no header.
        assert_eq!(xff(t, peer, &["203.0.113.9, ,"]), some("203.0.113.9:0"));
        assert_eq!(xff(t, peer, &["", " , "]), None);
        assert_eq!(xff(t, peer, &[]), None);
        // Garbage at the deciding hop: the client is unknown, not the proxy.
        for garbage in [
            "unknown",
            "nonsense",
            "203.0.113.9 x",
            "1.2.3.4.5",
            "\"203.0.113.9\"",
        ] {
            assert_eq!(
                xff(t, peer, &[&format!("192.0.2.1, {garbage}")]),
                Some(UNKNOWN_CLIENT),
                "{garbage}"
            );
        }
        // Garbage left of the deciding hop never matters.
        assert_eq!(
            xff(t, peer, &["nonsense, 203.0.113.9"]),
            some("203.0.113.9:0")
        );
        // A peer that is not trusted: nothing changes.
        assert_eq!(xff(t, "127.0.0.2:40000", &["203.0.113.9"]), None);
        assert_eq!(xff(&[], peer, &["203.0.113.9"]), None);
        // v4-mapped peer and hops count as their IPv4 address.
        assert_eq!(
            xff(t, "[::ffff:127.0.0.1]:1", &["203.0.113.9, ::ffff:10.0.0.1"]),
            some("203.0.113.9:0")
        );
        // IPv6 with and without brackets and ports.
        assert_eq!(
            xff(&["::1"], "[::1]:1", &["[2001:db8::7]:4711, ::1"]),
            some("[2001:db8::7]:4711")
        );
    }

    #[test]
    fn bounded_work() {
        let t = &["10.0.0.0/8"];
        let peer = "10.0.0.1:1";
        // A long chain of trusted hops: unknown after MAX_FORWARDED_HOPS.
        let chain = vec!["10.0.0.2"; MAX_FORWARDED_HOPS + 1].join(",");
        assert_eq!(xff(t, peer, &[&chain]), Some(UNKNOWN_CLIENT));
        let chain = vec!["10.0.0.2"; MAX_FORWARDED_HOPS].join(",");
        assert_eq!(xff(t, peer, &[&chain]), Some(addr("10.0.0.2:0")));
        // A megabyte of commas and a megabyte without one.
        let commas = ",".repeat(1 << 20);
        assert_eq!(xff(t, peer, &[&commas]), None);
        let blob = "9".repeat(1 << 20);
        assert_eq!(xff(t, peer, &[&blob]), Some(UNKNOWN_CLIENT));
        let many = format!("{}for=203.0.113.5", "for=10.0.0.3, ".repeat(100_000));
        assert_eq!(fwd(t, peer, &[&many]), Some(addr("203.0.113.5:0")));
        let quotes = "\"".repeat(1 << 20);
        assert_eq!(fwd(t, peer, &[&quotes]), Some(UNKNOWN_CLIENT));
    }

    #[test]
    fn forwarded_rfc_7239() {
        let t = &["127.0.0.1", "10.0.0.0/8"];
        let peer = "127.0.0.1:40000";
        let some = |s| Some(addr(s));
        assert_eq!(
            fwd(t, peer, &["for=192.0.2.60;proto=http;by=203.0.113.43"]),
            some("192.0.2.60:0")
        );
        assert_eq!(
            fwd(t, peer, &["For=\"[2001:db8:cafe::17]:4711\""]),
            some("[2001:db8:cafe::17]:4711")
        );
        assert_eq!(
            fwd(t, peer, &["for=\"192.0.2.43:47011\""]),
            some("192.0.2.43:47011")
        );
        // Right-most untrusted element of a chain, over several lines.
        assert_eq!(
            fwd(
                t,
                peer,
                &[
                    "for=127.0.0.1, for=198.51.100.17;proto=https",
                    "for=10.1.2.3"
                ]
            ),
            some("198.51.100.17:0")
        );
        // Commas and semicolons inside quotes do not split.
        assert_eq!(
            fwd(
                t,
                peer,
                &["for=198.51.100.1;ext=\"a,b;c\", for=\"[2001:db8::1]\""]
            ),
            some("[2001:db8::1]:0")
        );
        assert_eq!(
            fwd(t, peer, &["for=198.51.100.1;ext=\"a, for=10.0.0.1\""]),
            some("198.51.100.1:0")
        );
        // Brackets without the quotes RFC 7239 asks for are read all the same.
        assert_eq!(
            fwd(t, peer, &["for=[2001:db8::1]:80"]),
            some("[2001:db8::1]:80")
        );
        // Unknown and obfuscated nodes, an element without `for`, garbage.
        for bad in [
            "for=unknown",
            "for=_hidden",
            "proto=https",
            "for=\"_gazonk\"",
            "for=\"[2001:db8::1\"",
            "for=\"192.0.2.1",
            "for=\"192.0.2.1\\\"\"",
            "for=192.0.2.1;for=192.0.2.2",
            "garbage",
            "=",
            "for=",
        ] {
            assert_eq!(fwd(t, peer, &[bad]), Some(UNKNOWN_CLIENT), "{bad}");
        }
        // The other header is not read.
        let t = TrustedProxies::parse(["127.0.0.1"]).unwrap();
        assert_eq!(
            t.client(addr(peer), &headers("forwarded", &["for=192.0.2.1"])),
            None
        );
        let t = t.header(ForwardedHeader::Forwarded);
        assert_eq!(
            t.client(addr(peer), &headers("x-forwarded-for", &["192.0.2.1"])),
            None
        );
    }

    #[test]
    fn unix_peers_and_config_errors() {
        let h = headers("x-forwarded-for", &["203.0.113.9"]);
        let t = TrustedProxies::new();
        assert!(t.is_empty());
        assert_eq!(t.client(UNKNOWN_CLIENT, &h), None);
        let t = t.trust_unix_sockets(true);
        assert!(!t.is_empty());
        assert_eq!(t.client(UNKNOWN_CLIENT, &h), Some(addr("203.0.113.9:0")));
        let e = TrustedProxies::parse(["127.0.0.1", "10.0.0.0/33"]).unwrap_err();
        assert_eq!((e.setting(), e.value()), ("trustedProxies", "10.0.0.0/33"));
        assert!(e.to_string().contains("\"10.0.0.0/33\""), "{e}");
        assert!(TrustedProxies::parse(["proxy.local"]).is_err());
    }

    #[test]
    fn apply_rewrites_once_and_keeps_the_proxy() {
        let t = TrustedProxies::parse(["127.0.0.1"]).unwrap();
        let local = addr("127.0.0.1:80");
        let mut req = Request::new(());
        req.headers_mut()
            .insert("x-forwarded-for", "203.0.113.9".parse().unwrap());
        assert!(!t.apply(&mut req), "no connection: nothing to do");
        req.extensions_mut()
            .insert(ConnectionInfo::new(addr("127.0.0.1:5000"), local).with_tls(true));
        assert!(super::super::is_local(&req));
        assert!(t.apply(&mut req));
        let info = connection_info(&req).unwrap();
        assert_eq!(info.remote, addr("203.0.113.9:0"));
        assert_eq!(info.local, local);
        assert!(info.tls);
        assert!(!super::super::is_local(&req));
        assert_eq!(
            req.extensions().get::<ForwardedBy>(),
            Some(&ForwardedBy(addr("127.0.0.1:5000")))
        );
        // A second pass (the server and the site both configured) changes nothing.
        req.headers_mut()
            .insert("x-forwarded-for", "127.0.0.1".parse().unwrap());
        assert!(!t.apply(&mut req));
        assert_eq!(connection_info(&req).unwrap().remote, addr("203.0.113.9:0"));
    }
}
