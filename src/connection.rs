//! Who is on the other end: [`ConnectionInfo`] and the "is this client local?" rule.
//!
//! IIS shows detailed error pages to local clients only (`DetailedLocalOnly`) and logs
//! `c-ip`, `s-ip` and `s-port`. Both need the connection's addresses, which a tower
//! service does not see on its own. The accept loop puts a [`ConnectionInfo`] in each
//! request's extensions (with axum, `into_make_service_with_connect_info::<ConnectionInfo>()`
//! does it; axum's plain `ConnectInfo<SocketAddr>` is understood too).
//!
//! A client is local when its address is loopback: `127.0.0.0/8`, `::1`, or a
//! v4-mapped loopback such as `::ffff:127.0.0.1`. With no address at all the client
//! counts as remote. Forwarding headers (`X-Forwarded-For`, `Forwarded`) and `Host`
//! never make a client local.
//!
//! # Example
//!
//! Needs no feature and no other crate.
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
    pub fn is_local(&self) -> bool {
        is_loopback(self.remote.ip())
    }
}

/// Whether an address is loopback, counting v4-mapped IPv6 (`::ffff:127.x.y.z`).
#[must_use]
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

/// The client's address, when the request carries one.
#[must_use]
pub fn client_addr<B>(req: &Request<B>) -> Option<SocketAddr> {
    connection_info(req).map(|c| c.remote)
}

/// Whether the request came from a loopback client. No address means remote.
#[must_use]
pub fn is_local<B>(req: &Request<B>) -> bool {
    client_addr(req).is_some_and(|a| is_loopback(a.ip()))
}

#[cfg(feature = "axum")]
impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for ConnectionInfo
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        let remote = *stream.remote_addr();
        let local = stream
            .io()
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        ConnectionInfo::new(remote, local)
    }
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
