//! On 1xx–3xx responses the error-page layer passes the inner body through and
//! allocates nothing: counted with a global allocator around one request.

use crate::counting_alloc::{all_allocations, measuring_alone};

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::{Request, Response, StatusCode};
use tower::{service_fn, Layer, Service};
use tower_iis::{ConnectionInfo, HttpErrorsLayer};

fn request() -> Request<String> {
    let mut req = Request::builder()
        .uri("/ok?x=1")
        .header("host", "localhost:8080")
        .header("accept", "text/html")
        .header("accept-language", "en-US")
        .body(String::new())
        .unwrap();
    req.extensions_mut().insert(ConnectionInfo::new(
        "127.0.0.1:5000".parse().unwrap(),
        "127.0.0.1:8080".parse().unwrap(),
    ));
    // hyper hands out URIs and header values backed by shared buffers; cloning once
    // here puts these test values in the same state, so clones are refcount bumps.
    drop(req.uri().clone());
    drop(req.headers().clone());
    req
}

/// Allocations made by one call of `svc`, from `call` to the response in hand.
fn allocations_per_call<S, B>(svc: &mut S, status: StatusCode) -> usize
where
    S: Service<Request<String>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    let mut best = usize::MAX;
    for _ in 0..5 {
        let req = request();
        let before = all_allocations();
        assert!(svc.poll_ready(&mut cx).is_ready());
        let mut fut = pin!(svc.call(req));
        let res = match fut.as_mut().poll(&mut cx) {
            Poll::Ready(res) => res.unwrap(),
            Poll::Pending => panic!("the test service answers at once"),
        };
        let after = all_allocations();
        assert_eq!(res.status(), status);
        drop(res);
        best = best.min(after - before);
    }
    best
}

#[test]
fn no_allocation_on_success_and_redirect_paths() {
    let _alone = measuring_alone();
    for status in [
        StatusCode::OK,
        StatusCode::NO_CONTENT,
        StatusCode::FOUND,
        StatusCode::NOT_MODIFIED,
    ] {
        let handler = move |_req: Request<String>| async move {
            let mut res = Response::new(String::new());
            *res.status_mut() = status;
            Ok::<_, Infallible>(res)
        };
        let mut bare = service_fn(handler);
        let mut layered = HttpErrorsLayer::new().layer(service_fn(handler));
        let bare_count = allocations_per_call(&mut bare, status);
        let layered_count = allocations_per_call(&mut layered, status);
        assert_eq!(
            layered_count,
            bare_count,
            "HttpErrors added {} allocation(s) on a {status} response",
            layered_count - bare_count
        );
    }
}

#[test]
fn the_counter_sees_error_pages() {
    let _alone = measuring_alone();
    // The same measurement does see the allocations of a rendered error page.
    let handler = |_req: Request<String>| async {
        Ok::<_, Infallible>(
            tower_iis::IisError::new(tower_iis::IisStatus::new(404, 0))
                .into_http_response::<String>(),
        )
    };
    let mut layered = HttpErrorsLayer::new().layer(service_fn(handler));
    assert!(allocations_per_call(&mut layered, StatusCode::NOT_FOUND) > 0);
}
