//! Request filtering in front of a plain hyper server on a loopback socket.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::{service_fn, ServiceBuilder};
use tower_iis::request_filtering::{LimitedBody, RequestFilteringLayer};

async fn handler(req: Request<LimitedBody<Incoming>>) -> Result<Response<Full<Bytes>>, Infallible> {
    match req.into_body().collect().await {
        Ok(body) => Ok(Response::new(Full::new(body.to_bytes()))),
        Err(_) => Ok(Response::builder()
            .status(400)
            .body(Full::default())
            .unwrap()),
    }
}

/// Serves one connection, sends `raw`, and returns everything the server wrote
/// until it closed the connection.
async fn exchange(raw: &[u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let layer = RequestFilteringLayer::builder()
        .max_allowed_content_length(16)
        .build()
        .unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let svc = ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(handler));
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
            .await;
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .unwrap();
    server.await.unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn hidden_segment_is_404_and_the_connection_closes() {
    let out = exchange(b"GET /App_Data/db.mdf HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert!(out.starts_with("HTTP/1.1 404 Not Found\r\n"), "{out}");
    assert!(
        out.to_ascii_lowercase().contains("connection: close\r\n"),
        "{out}"
    );
}

#[tokio::test]
async fn declared_length_over_the_limit_is_413_without_reading_the_body() {
    let out = exchange(
        b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 17\r\nExpect: 100-continue\r\n\r\n",
    )
    .await;
    assert!(
        out.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{out}"
    );
    assert!(!out.contains("100 Continue"), "{out}");
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413() {
    let out = exchange(
        b"POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
          a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
    )
    .await;
    assert!(
        out.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{out}"
    );
    assert!(
        out.to_ascii_lowercase().contains("connection: close\r\n"),
        "{out}"
    );
}

#[tokio::test]
async fn passing_request_is_served() {
    let out = exchange(
        b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 16\r\nConnection: close\r\n\r\n0123456789abcdef",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("0123456789abcdef"), "{out}");
}
