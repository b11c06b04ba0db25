//! The log layer's cost in allocations on the success path: at most one per request
//! amortised, writer thread included (records are recycled, so a warm log usually
//! allocates next to nothing). Counted with a global allocator over many requests.

use crate::counting_alloc::{all_allocations, measuring_alone, now};

use std::convert::Infallible;
use std::future::poll_fn;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, Uri};
use http_body::Body;
use http_body_util::Full;
use tower::{service_fn, Layer, Service};
use tower_iis::w3c::{Sink, W3cLogLayer};
use tower_iis::ConnectionInfo;

fn request() -> Request<String> {
    let mut req = Request::new(String::new());
    *req.uri_mut() = Uri::from_static("/shop/item.aspx?id=42");
    let h = req.headers_mut();
    h.insert("host", HeaderValue::from_static("www.example.com"));
    h.insert(
        "user-agent",
        HeaderValue::from_static("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"),
    );
    h.insert(
        "referer",
        HeaderValue::from_static("https://www.example.com/"),
    );
    req.extensions_mut().insert(ConnectionInfo::new(
        "203.0.113.7:50412".parse().unwrap(),
        "10.0.0.5:80".parse().unwrap(),
    ));
    req
}

async fn ok(_req: Request<String>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}

/// Allocations of the whole process over `n` requests (bodies read to the end),
/// once `settle` has run after them.
fn allocations<S, B>(svc: &mut S, n: usize, settle: &dyn Fn()) -> usize
where
    S: Service<Request<String>, Response = Response<B>, Error = Infallible>,
    B: Body,
{
    let reqs: Vec<_> = (0..n).map(|_| request()).collect();
    let before = all_allocations();
    for req in reqs {
        // A full log queue (the writer thread starved on a busy machine) makes the
        // service wait in `poll_ready`: let the writer drain it, then go on.
        let mut ready = pin!(poll_fn(|cx| svc.poll_ready(cx)));
        let Ok(()) = loop {
            match ready.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(r) => break r,
                Poll::Pending => settle(),
            }
        };
        let Ok(res) = now(svc.call(req));
        let mut body = pin!(res.into_body());
        while let Some(frame) = now(poll_fn(|cx| body.as_mut().poll_frame(cx))) {
            assert!(frame.is_ok());
        }
    }
    settle();
    all_allocations() - before
}

#[test]
fn a_warm_log_allocates_at_most_one_per_request() {
    let _alone = measuring_alone();
    let (layer, guard) = W3cLogLayer::builder()
        .sink(Sink::writer(std::io::sink()))
        .build()
        .unwrap();
    let handle = guard.handle();
    let flush = || handle.flush().unwrap();
    let mut bare = service_fn(ok);
    let mut logged = layer.layer(service_fn(ok));
    let n = 1000;
    // Warm up: the writer's buffers, the record pool.
    allocations(&mut logged, 2 * n, &flush);
    // Both runs end with a flush, so its own allocations cancel out.
    let bare_count = allocations(&mut bare, n, &flush);
    let logged_count = allocations(&mut logged, n, &flush);
    let added = logged_count.saturating_sub(bare_count);
    // Recycled records make it far fewer in practice; how many depends on how well
    // the writer keeps up (a loaded machine, a debug build), so only the promise is
    // checked here. `cargo bench --bench per_request` shows the usual figure.
    assert!(
        added <= n,
        "the log layer added {added} allocations over {n} requests"
    );
    assert_eq!(handle.stats().lines, 3 * n as u64);
}
