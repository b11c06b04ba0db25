//! Who is on the other end: [`ConnectionInfo`] and the "is this client local?" rule.
//!
//! IIS shows detailed error pages to local clients only (`DetailedLocalOnly`) and logs
//! `c-ip`, `s-ip` and `s-port`. Both need the connection's addresses, which a tower
//! service does not see on its own. The accept loop puts a [`ConnectionInfo`] in each
//! request's extensions (with axum, `into_make_service_with_connect_info::<ConnectionInfo>()`
//! does it; axum's plain `ConnectInfo<SocketAddr>` is understood too).
//!
//! A client is local when its address is loopback: `127.0.0.0/8`, `::1`, or a
//! v4-mapped loopback such as `::ffff:127.0.0.1`. With no address at all (or the
//! [`UNKNOWN_CLIENT`] address of a Unix-socket peer) the client counts as remote.
//! `Host` never makes a client local, and forwarding headers are read only from a
//! trusted proxy (below).
//!
//! With axum (feature `axum`), `into_make_service_with_connect_info::<ConnectionInfo>()`
//! works over `tokio::net::TcpListener` and `tokio::net::UnixListener`, and over
//! any listener wrapped in [`WithConnectionInfo`] (a `tap_io` listener, or one of
//! your own that implements [`DescribeConnection`]). A Unix-socket peer has no IP address: its `remote` and
//! `local` are [`UNKNOWN_CLIENT`] (`0.0.0.0:0`), so it counts as remote (IIS has no
//! Unix sockets, and a reverse proxy on a local socket must not make every client
//! local), logs `-` in `c-ip`, `s-ip` and `s-port`, and is denied by IP
//! restrictions with rules; trust it as a proxy with
//! [`TrustedProxies::trust_unix_sockets`].
//!
//! # Behind a reverse proxy
//!
//! Behind nginx, HAProxy or a load balancer every connection comes from the proxy,
//! so without more every client would have the proxy's address, and a proxy on the
//! same host would make every client local (detailed error pages with physical
//! paths). [`TrustedProxies`] names the proxies whose forwarding header is
//! believed, and [`TrustedProxyLayer`] (or
//! [`Serve::trusted_proxies`](crate::server::Serve::trusted_proxies), or
//! [`IisSiteBuilder::trusted_proxies`](crate::site::IisSiteBuilder::trusted_proxies))
//! applies it to each request:
//!
//! - only when the connection's peer is a trusted proxy is its header read, and
//!   only the one header chosen with [`TrustedProxies::header`]: `X-Forwarded-For`
//!   (the default) or RFC 7239 `Forwarded` (`for=`, quoted IPv6 and ports);
//! - the client is the right-most address of that header that is not itself a
//!   trusted proxy (the hops to its left were written by the client and are not
//!   believed); when every hop is trusted, the left-most;
//! - a deciding hop that is not an address (`unknown`, an obfuscated `_name`,
//!   garbage), or a chain longer than [`MAX_FORWARDED_HOPS`], makes the client
//!   [`UNKNOWN_CLIENT`]: remote, logged `-`, and denied by IP restrictions with
//!   rules. It never falls back to the proxy's own (perhaps loopback) address;
//! - the request's [`ConnectionInfo`] gets the client as `remote`, so locality,
//!   IP restrictions, `c-ip` and the pages follow the real client; [`ForwardedBy`]
//!   keeps the proxy's address. A header from any other peer is ignored.
//!
//! Header parsing never panics and reads each header once, keeping at most
//! [`MAX_FORWARDED_HOPS`] hops.
//!
//! ```
//! use tower_iis::connection::{self, ForwardedBy, TrustedProxies, TrustedProxyLayer};
//! use tower_iis::ConnectionInfo;
//! # use std::convert::Infallible;
//! # use tower::{service_fn, Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let proxies = TrustedProxies::parse(["127.0.0.1", "10.0.0.0/8"])?;
//! let svc = TrustedProxyLayer::new(proxies).layer(service_fn(|req: http::Request<()>| async move {
//!     Ok::<_, Infallible>((connection::client_addr(&req), connection::is_local(&req), req.extensions().get::<ForwardedBy>().copied()))
//! }));
//!
//! let request = |peer: &str, xff: &str| {
//!     let mut req = http::Request::builder().header("x-forwarded-for", xff).body(()).unwrap();
//!     req.extensions_mut().insert(ConnectionInfo::new(peer.parse().unwrap(), "127.0.0.1:80".parse().unwrap()));
//!     req
//! };
//! // From the proxy on loopback: the client is 203.0.113.9, remote.
//! let (client, local, by) = svc.clone().oneshot(request("127.0.0.1:50000", "127.0.0.1, 203.0.113.9, 10.0.0.2")).await?;
//! assert_eq!(client, Some("203.0.113.9:0".parse()?));
//! assert!(!local);
//! assert_eq!(by, Some(ForwardedBy("127.0.0.1:50000".parse()?)));
//!
//! // From a peer that is not a trusted proxy: the header is ignored.
//! let (client, local, by) = svc.oneshot(request("127.0.0.2:50000", "203.0.113.9")).await?;
//! assert_eq!(client, Some("127.0.0.2:50000".parse()?));
//! assert!(local);
//! assert_eq!(by, None);
//! # Ok(())
//! # }
//! ```
//!
//! # Example
//!
//! Needs no feature and no other crate (the proxy example above: `tower` with
//! feature `util`, `tokio` with `macros` and `rt`).
//!
//! ```
//! use std::net::SocketAddr;
//! use tower_iis::ConnectionInfo;
//!
//! let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
//! let mut req = http::Request::new(());
//! assert!(!tower_iis::connection::is_local(&req)); // unknown client: remote
//!
//! req.extensions_mut().insert(ConnectionInfo::new("127.0.0.1:50000".parse().unwrap(), local));
//! assert!(tower_iis::connection::is_local(&req));
//!
//! req.extensions_mut().insert(ConnectionInfo::new("[::ffff:127.0.0.2]:1".parse().unwrap(), local));
//! assert!(tower_iis::connection::is_local(&req));
//!
//! req.extensions_mut().insert(ConnectionInfo::new("203.0.113.9:1".parse().unwrap(), local));
//! req.headers_mut().insert("x-forwarded-for", "127.0.0.1".parse().unwrap());
//! assert!(!tower_iis::connection::is_local(&req));
//! ```

use std::net::{IpAddr, SocketAddr};

use http::Request;

mod forwarded;
#[cfg(feature = "axum")]
mod listeners;

pub(crate) use forwarded::parse_hop;
pub use forwarded::{
    is_unknown, ForwardedBy, ForwardedHeader, TrustedProxies, TrustedProxy, TrustedProxyLayer,
    MAX_FORWARDED_HOPS, UNKNOWN_CLIENT,
};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use listeners::{DescribeConnection, WithConnectionInfo};

/// The two ends of the connection a request came in on, and whether it was TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionInfo {
    /// The client's address (`c-ip`).
    pub remote: SocketAddr,
    /// The server's address the client connected to (`s-ip`, `s-port`).
    pub local: SocketAddr,
    /// Whether the connection was TLS (`https` in the requested URL).
    pub tls: bool,
}

impl ConnectionInfo {
    /// A plain (non-TLS) connection from `remote` to `local`.
    #[must_use]
    pub const fn new(remote: SocketAddr, local: SocketAddr) -> Self {
        Self {
            remote,
            local,
            tls: false,
        }
    }

    /// Marks the connection as TLS.
    #[must_use]
    pub const fn with_tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Whether the client is on this machine's loopback.
    #[must_use]
    #[inline]
    pub fn is_local(&self) -> bool {
        is_loopback(self.remote.ip())
    }
}

/// Whether an address is loopback, counting v4-mapped IPv6 (`::ffff:127.x.y.z`).
#[must_use]
#[inline]
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.is_loopback(),
            None => v6.is_loopback(),
        },
    }
}

/// The connection info of a request: ours, else built from axum's `ConnectInfo`.
///
/// From axum's `ConnectInfo<SocketAddr>` only the client address is known; the local
/// address is then reported as unspecified (`0.0.0.0:0`).
#[must_use]
pub fn connection_info<B>(req: &Request<B>) -> Option<ConnectionInfo> {
    let ext = req.extensions();
    if let Some(info) = ext.get::<ConnectionInfo>() {
        return Some(*info);
    }
    #[cfg(feature = "axum")]
    {
        use axum::extract::ConnectInfo;
        if let Some(ConnectInfo(info)) = ext.get::<ConnectInfo<ConnectionInfo>>() {
            return Some(*info);
        }
        if let Some(ConnectInfo(remote)) = ext.get::<ConnectInfo<SocketAddr>>() {
            return Some(ConnectionInfo::new(
                *remote,
                SocketAddr::from(([0, 0, 0, 0], 0)),
            ));
        }
    }
    None
}

/// The client's address, when the request carries one that is known (not
/// [`UNKNOWN_CLIENT`]: a Unix-socket peer, or a client a trusted proxy could not
/// name).
#[must_use]
pub fn client_addr<B>(req: &Request<B>) -> Option<SocketAddr> {
    connection_info(req)
        .map(|c| c.remote)
        .filter(|a| !is_unknown(*a))
}

/// Whether the request came from a loopback client. No address means remote.
#[must_use]
pub fn is_local<B>(req: &Request<B>) -> bool {
    client_addr(req).is_some_and(|a| is_loopback(a.ip()))
}

#[cfg(all(feature = "axum", feature = "tls"))]
impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, crate::tls::TlsListener>>
    for ConnectionInfo
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::tls::TlsListener>) -> Self {
        let remote = *stream.remote_addr();
        let local = stream
            .io()
            .get_ref()
            .0
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        ConnectionInfo::new(remote, local).with_tls(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_rules() {
        for local in ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(local.parse().unwrap()), "{local}");
        }
        for remote in [
            "10.0.0.1",
            "0.0.0.0",
            "::",
            "::ffff:10.0.0.1",
            "fe80::1",
            "192.168.1.1",
        ] {
            assert!(!is_loopback(remote.parse().unwrap()), "{remote}");
        }
    }

    #[test]
    fn host_header_does_not_make_local() {
        let mut req = Request::new(());
        req.headers_mut()
            .insert("host", "localhost".parse().unwrap());
        req.headers_mut()
            .insert("forwarded", "for=127.0.0.1".parse().unwrap());
        assert!(!is_local(&req));
    }
}
