//! [`TlsListener`]: TLS connections for `axum::serve`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;

use super::TlsConfig;

/// A TCP listener whose connections have finished their TLS handshake, for
/// `axum::serve`. Handshakes run in their own tasks (a slow client holds up no
/// other), each cut after the handshake timeout (default 2 minutes, IIS's
/// `connectionTimeout`); one that fails is dropped and reported with `tracing` at
/// `debug`.
///
/// With `into_make_service_with_connect_info::<ConnectionInfo>()` every request
/// gets a [`ConnectionInfo`](crate::ConnectionInfo) with `tls: true`. axum gives a
/// connection one connect-info value only, so the [`TlsInfo`](crate::TlsInfo) of
/// the connection (client certificates) is not in the requests: serve with
/// [`server::serve`](crate::server::serve) and [`Serve::tls`](crate::server::Serve::tls)
/// for `sslFlags` that check client certificates.
///
/// ```
/// use axum::{routing::get, Router};
/// use tower_iis::tls::{TlsConfig, TlsListener};
/// use tower_iis::ConnectionInfo;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tls = TlsConfig::self_signed(["localhost"])?;
/// let listener = TlsListener::new(tokio::net::TcpListener::bind("127.0.0.1:0").await?, &tls)?;
/// let app = Router::new().route("/", get(|| async { "over TLS" }));
/// let server = axum::serve(listener, app.into_make_service_with_connect_info::<ConnectionInfo>());
/// # drop(server);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accept_task: tokio::task::JoinHandle<()>,
}

/// Handshakes finished but not yet taken by `accept`.
const BACKLOG: usize = 64;

impl TlsListener {
    /// Accepts on `listener`, with the certificate of `config`. Must be called
    /// within a tokio runtime.
    ///
    /// # Errors
    ///
    /// The listener's address cannot be read.
    pub fn new(listener: TcpListener, config: &TlsConfig) -> io::Result<Self> {
        Self::with_handshake_timeout(listener, config, Duration::from_secs(120))
    }

    /// As [`new`](Self::new), with a handshake timeout of `timeout`.
    ///
    /// # Errors
    ///
    /// The listener's address cannot be read.
    pub fn with_handshake_timeout(
        listener: TcpListener,
        config: &TlsConfig,
        timeout: Duration,
    ) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let acceptor = config.acceptor();
        let (tx, ready) = mpsc::channel(BACKLOG);
        let accept_task = tokio::spawn(async move {
            let mut handshakes = JoinSet::new();
            loop {
                tokio::select! {
                    Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
                    () = tx.closed() => return,
                    conn = listener.accept() => match conn {
                        Ok((stream, remote)) => {
                            let _ = stream.set_nodelay(true);
                            let acceptor = acceptor.clone();
                            let tx = tx.clone();
                            handshakes.spawn(async move {
                                match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                                    Ok(Ok(tls)) => {
                                        let _ = tx.send((tls, remote)).await;
                                    }
                                    Ok(Err(e)) => tracing::debug!(
                                        target: "tower_iis::server", remote = %remote, error = %e,
                                        "TLS handshake failed"
                                    ),
                                    Err(_) => tracing::debug!(
                                        target: "tower_iis::server", remote = %remote,
                                        "TLS handshake timed out"
                                    ),
                                }
                            });
                        }
                        Err(e) => {
                            tracing::warn!(target: "tower_iis::server", error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    },
                }
            }
        });
        Ok(TlsListener {
            ready,
            local,
            accept_task,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task ended (the runtime is shutting down): wait forever,
            // as a listener with no more connections does.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}
