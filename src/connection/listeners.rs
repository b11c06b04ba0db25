//! `Connected` for axum's listeners, and [`WithConnectionInfo`] for any other.

use std::io;
use std::net::SocketAddr;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener, TapIo};

use super::{ConnectionInfo, UNKNOWN_CLIENT};

/// An axum [`Listener`] whose connections a [`ConnectionInfo`] describes.
///
/// Implemented for `tokio::net::TcpListener`, `tokio::net::UnixListener` (Unix
/// only) and axum's [`TapIo`] over any of them; implement it for a listener of
/// your own (a TLS acceptor) and wrap it in [`WithConnectionInfo`].
pub trait DescribeConnection: Listener {
    /// The info of a connection this listener accepted from `remote`.
    fn describe(io: &Self::Io, remote: &Self::Addr) -> ConnectionInfo;

    /// The listener's own address (from [`Listener::local_addr`]), as the
    /// `local` of a [`ConnectionInfo`] whose `remote` is [`UNKNOWN_CLIENT`].
    fn local_info(addr: Self::Addr) -> ConnectionInfo;
}

impl DescribeConnection for tokio::net::TcpListener {
    fn describe(io: &Self::Io, remote: &SocketAddr) -> ConnectionInfo {
        let local = io.local_addr().unwrap_or(UNKNOWN_CLIENT);
        ConnectionInfo::new(*remote, local)
    }

    fn local_info(addr: SocketAddr) -> ConnectionInfo {
        ConnectionInfo::new(UNKNOWN_CLIENT, addr)
    }
}

/// A Unix-socket peer has no IP address: both ends are [`UNKNOWN_CLIENT`].
#[cfg(unix)]
impl DescribeConnection for tokio::net::UnixListener {
    fn describe(_io: &Self::Io, _remote: &Self::Addr) -> ConnectionInfo {
        ConnectionInfo::new(UNKNOWN_CLIENT, UNKNOWN_CLIENT)
    }

    fn local_info(_addr: Self::Addr) -> ConnectionInfo {
        ConnectionInfo::new(UNKNOWN_CLIENT, UNKNOWN_CLIENT)
    }
}

impl<L, F> DescribeConnection for TapIo<L, F>
where
    L: DescribeConnection,
    F: FnMut(&mut L::Io) + Send + 'static,
{
    fn describe(io: &Self::Io, remote: &Self::Addr) -> ConnectionInfo {
        L::describe(io, remote)
    }

    fn local_info(addr: Self::Addr) -> ConnectionInfo {
        L::local_info(addr)
    }
}

/// A listener whose address type is [`ConnectionInfo`]: `axum::serve` then hands
/// every connection's info to `into_make_service_with_connect_info::<ConnectionInfo>()`,
/// whatever the listener, `tap_io` included.
///
/// axum implements `Connected` for `TapIo<L, F>` with `L::Addr` for every `L`,
/// which leaves no room for a `Connected` impl of `ConnectionInfo` over a `TapIo`
/// (Rust's coherence rules cannot tell the two apart). Wrap the listener instead,
/// before or after `tap_io`:
///
/// ```
/// use axum::serve::ListenerExt;
/// use axum::{extract::ConnectInfo, routing::get, Router};
/// use tower_iis::connection::WithConnectionInfo;
/// use tower_iis::ConnectionInfo;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = tcp.local_addr()?;
/// let listener = WithConnectionInfo::new(tcp).tap_io(|tcp| {
///     let _ = tcp.set_nodelay(true);
/// });
/// let app = Router::new().route(
///     "/",
///     get(|ConnectInfo(info): ConnectInfo<ConnectionInfo>| async move { info.remote.ip().to_string() }),
/// );
/// tokio::spawn(async move {
///     axum::serve(listener, app.into_make_service_with_connect_info::<ConnectionInfo>()).await
/// });
/// # let mut s = tokio::net::TcpStream::connect(addr).await?;
/// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// # s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await?;
/// # let mut out = String::new();
/// # s.read_to_string(&mut out).await?;
/// # assert!(out.ends_with("127.0.0.1"), "{out}");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WithConnectionInfo<L>(L);

impl<L: DescribeConnection> WithConnectionInfo<L> {
    /// Wraps `listener`.
    pub fn new(listener: L) -> Self {
        Self(listener)
    }

    /// The listener inside.
    pub fn into_inner(self) -> L {
        self.0
    }
}

impl<L: DescribeConnection> Listener for WithConnectionInfo<L> {
    type Io = L::Io;
    type Addr = ConnectionInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, remote) = self.0.accept().await;
        let info = L::describe(&io, &remote);
        (io, info)
    }

    fn local_addr(&self) -> io::Result<ConnectionInfo> {
        self.0.local_addr().map(L::local_info)
    }
}

impl<L: DescribeConnection> Connected<IncomingStream<'_, WithConnectionInfo<L>>>
    for ConnectionInfo
{
    fn connect_info(stream: IncomingStream<'_, WithConnectionInfo<L>>) -> Self {
        *stream.remote_addr()
    }
}

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for ConnectionInfo {
    fn connect_info(stream: IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        <tokio::net::TcpListener as DescribeConnection>::describe(stream.io(), stream.remote_addr())
    }
}

#[cfg(unix)]
impl Connected<IncomingStream<'_, tokio::net::UnixListener>> for ConnectionInfo {
    fn connect_info(stream: IncomingStream<'_, tokio::net::UnixListener>) -> Self {
        <tokio::net::UnixListener as DescribeConnection>::describe(
            stream.io(),
            stream.remote_addr(),
        )
    }
}
