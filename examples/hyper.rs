//! tower-iis with plain hyper 1: no axum, a `service_fn` handler.
//!
//! ```text
//! cargo run --example hyper --features hyper            # http://127.0.0.1:8081/
//! ```
//!
//! The accept loop puts a [`ConnectionInfo`] in every request, so the error-page
//! layer knows whether the client is local.

use std::convert::Infallible;
use std::net::SocketAddr;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_iis::{ConnectionInfo, HttpErrorsLayer, IisError, IisStatus};

/// The default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8081";

/// The handler: a page at `/`, IIS errors elsewhere.
pub async fn handle(req: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(match req.uri().path() {
        "/" => Response::new("Hello from hyper behind tower-iis.\n".to_owned()),
        "/teapot" => {
            let mut res = Response::new("short and stout\n".to_owned());
            *res.status_mut() = StatusCode::IM_A_TEAPOT;
            res
        }
        path if path.ends_with(".xyz") => {
            IisError::new(IisStatus::NOT_FOUND_MIME_TYPE_RESTRICTION).into_http_response()
        }
        _ => IisError::new(IisStatus::NOT_FOUND).into_http_response(),
    })
}

/// Accepts connections on `listener` forever, serving [`handle`] behind the IIS layers.
pub async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let layers = ServiceBuilder::new().layer(HttpErrorsLayer::new());
    loop {
        let (stream, remote) = listener.accept().await?;
        let conn = ConnectionInfo::new(remote, local);
        let svc = layers.service(service_fn(handle));
        let svc = service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(conn);
            svc.clone().oneshot(req)
        });
        tokio::spawn(async move {
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_ADDR.to_owned())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "tower-iis hyper example on http://{}/",
        listener.local_addr()?
    );
    serve(listener).await?;
    Ok(())
}
