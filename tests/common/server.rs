//! A loopback server for the reliability tests and the load example: the full
//! stack (W3C log → error pages → request filtering → caught panics → handlers)
//! served by hyper with graceful shutdown. The client is `tower_iis::test_site`'s.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use std::time::Duration;

use axum::body::Body;
use axum::routing::{any, get};
use axum::Router;
use bytes::Bytes;
use http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_iis::error::response_for_panic;
use tower_iis::test_site::{exchange, TestResponse};
use tower_iis::w3c::W3cLogLayer;
use tower_iis::{ConnectionInfo, HttpErrorsLayer, IisError, IisStatus, RequestFilteringLayer};

use super::body::ChunkBody;

/// What the handlers did, for the tests to compare with the log.
#[derive(Debug, Default)]
pub struct Handled {
    /// Handler calls (requests that passed request filtering).
    pub calls: AtomicU64,
}

/// The application: routes for successes, IIS errors, slow and large bodies,
/// sleeping handlers and panics, behind error pages, request filtering on IIS 10
/// defaults and a panic catcher; the log layer outermost.
pub fn app(log: W3cLogLayer, handled: Arc<Handled>) -> Router {
    let h = handled.clone();
    let count = move || {
        h.calls.fetch_add(1, Ordering::Relaxed);
    };
    let c = count.clone();
    let routes = Router::new()
        .route(
            "/ok",
            get(move || {
                c();
                async { "hello" }
            }),
        )
        .route("/missing", {
            let c = count.clone();
            get(move |uri: http::Uri| {
                c();
                async move {
                    // The physical path comes from the request, as a static file
                    // handler's would.
                    let rel = uri.path().trim_start_matches('/').replace('/', "\\");
                    IisError::new(IisStatus::new(404, 3))
                        .with_physical_path(format!(r"C:\inetpub\wwwroot\{rel}"))
                        .into_http_response::<Body>()
                }
            })
        })
        .route("/boom", {
            let c = count.clone();
            get(move || {
                c();
                async { StatusCode::INTERNAL_SERVER_ERROR }
            })
        })
        .route("/slow", {
            let c = count.clone();
            get(move || {
                c();
                async { Body::new(ChunkBody::new(4, 16, Duration::from_millis(5))) }
            })
        })
        .route("/stream", {
            let c = count.clone();
            get(move || {
                c();
                async { Body::new(ChunkBody::new(200, 1024, Duration::from_millis(20))) }
            })
        })
        .route("/big", {
            let c = count.clone();
            // 32 MiB: more than the socket buffers hold, so a client that reads
            // nothing makes the server's writes fail.
            get(move || {
                c();
                async { Body::new(ChunkBody::new(512, 64 * 1024, Duration::ZERO)) }
            })
        })
        .route("/sleep", {
            let c = count.clone();
            get(move || {
                c();
                async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "slept"
                }
            })
        })
        .route("/panic", {
            let c = count.clone();
            get(move || {
                c();
                async {
                    if true {
                        panic!("the handler panicked on purpose");
                    }
                    "never"
                }
            })
        })
        .route("/panic-body", {
            let c = count.clone();
            get(move || {
                c();
                async { Body::new(ChunkBody::new(8, 16, Duration::from_millis(5)).panicking_at(5)) }
            })
        })
        .route("/echo", {
            let c = count.clone();
            any(move |body: Bytes| {
                c();
                async move { body }
            })
        })
        .fallback({
            let c = count.clone();
            move |uri: http::Uri| {
                c();
                async move {
                    let rel = uri.path().trim_start_matches('/').replace('/', "\\");
                    IisError::new(IisStatus::NOT_FOUND)
                        .with_physical_path(format!(r"C:\inetpub\wwwroot\{rel}"))
                        .into_http_response::<Body>()
                }
            }
        });
    routes
        .layer(
            tower::ServiceBuilder::new()
                .layer(HttpErrorsLayer::new())
                .layer(RequestFilteringLayer::iis_defaults())
                .layer(CatchPanicLayer::custom(response_for_panic::<Body>)),
        )
        .layer(log)
}

/// Keeps the messages of the handlers that panic on purpose out of the output;
/// every other panic is reported as usual.
pub fn quiet_on_purpose_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .unwrap_or_default();
            if !msg.contains("on purpose") && !msg.contains("panicked part-way") {
                default_hook(info);
            }
        }));
    });
}

/// A server on a loopback port, stopped gracefully by [`Server::shutdown`].
pub struct Server {
    pub addr: SocketAddr,
    /// Requests that reached the stack. Hyper answers the requests it cannot parse
    /// itself (400, 431, …), and those never reach it.
    pub requests: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serves `app` on 127.0.0.1; `client_as` replaces the client address the stack
    /// sees (to stand in for a remote client).
    pub async fn start(app: Router, client_as: Option<SocketAddr>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, app, client_as)
    }

    pub fn start_on(listener: TcpListener, app: Router, client_as: Option<SocketAddr>) -> Self {
        quiet_on_purpose_panics();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(async move {
            let graceful = hyper_util::server::graceful::GracefulShutdown::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, remote)) = accepted else { continue };
                        let local = stream.local_addr().unwrap();
                        let info = ConnectionInfo::new(client_as.unwrap_or(remote), local);
                        let app = app.clone();
                        let counter = counter.clone();
                        let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                            req.extensions_mut().insert(info);
                            let app = app.clone();
                            let counter = counter.clone();
                            async move {
                                // Counted when the stack is called: hyper may drop a
                                // request's future before its first poll (a client
                                // that half-closes at once), and then no layer ever
                                // sees the request.
                                counter.fetch_add(1, Ordering::Relaxed);
                                app.oneshot(req.map(Body::new)).await
                            }
                        });
                        let conn = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc);
                        let conn = graceful.watch(conn);
                        tokio::spawn(async move {
                            let _ = conn.await;
                        });
                    }
                    _ = &mut stopped => break,
                }
            }
            drop(listener);
            let _ = tokio::time::timeout(Duration::from_secs(30), graceful.shutdown()).await;
        });
        Self {
            addr,
            requests,
            stop: Some(stop),
            done,
        }
    }

    /// Stops accepting, lets the requests in flight finish, and waits for that.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(40), &mut self.done)
            .await
            .expect("the server stops within 40 s")
            .unwrap();
    }
}

/// Sends raw bytes on a new connection and reads every response until the server
/// closes (or 10 s pass).
pub async fn send_raw(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read everything.
    let _ = s.write_all(raw).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    out
}

/// A plain GET on a new connection, closed after the answer.
pub async fn get_once(addr: SocketAddr, target: &str) -> TestResponse {
    let req = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: reliability-test\r\nConnection: close\r\n\r\n");
    exchange(addr, req.as_bytes()).await
}
