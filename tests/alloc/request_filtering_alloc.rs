//! Request filtering adds no allocation to a request that passes.
//!
//! A counting global allocator counts allocations made on the current thread while
//! one request, built beforehand, goes through a trivial `service_fn` with and
//! without the default filter in front. The difference is the filter's cost.

use crate::counting_alloc::{now, thread_allocations};

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use tower::{service_fn, Service, ServiceBuilder};
use tower_iis::request_filtering::{LimitedBody, RequestFilteringLayer};

/// Counts the allocations of one call: readiness, call and response.
fn count<S, B>(svc: &mut S, req: Request<B>) -> (usize, Response<Full<Bytes>>)
where
    S: Service<Request<B>, Response = Response<Full<Bytes>>, Error = Infallible>,
{
    let before = thread_allocations();
    now(std::future::poll_fn(|cx| svc.poll_ready(cx))).unwrap();
    let res = now(svc.call(req)).unwrap();
    (thread_allocations() - before, res)
}

/// The trivial handler: an empty 200.
async fn ok<B>(_req: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::default()))
}

fn request() -> Request<Full<Bytes>> {
    Request::post("/shop/products/item.aspx?id=42&colour=blue%20green")
        .header("host", "example.com")
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64)")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", "9")
        .body(Full::from("name=shoe"))
        .unwrap()
}

#[test]
fn passing_request_allocates_nothing_in_the_filter() {
    let mut bare = service_fn(ok::<Full<Bytes>>);
    let mut filtered = ServiceBuilder::new()
        .layer(RequestFilteringLayer::iis_defaults())
        .service(service_fn(ok::<LimitedBody<Full<Bytes>>>));

    // Warm up (thread-locals, lazy statics), then measure with requests built before.
    for _ in 0..3 {
        count(&mut bare, request());
        count(&mut filtered, request());
    }
    let (req_a, req_b) = (request(), request());
    let (bare_allocs, res) = count(&mut bare, req_a);
    assert_eq!(res.status(), 200);
    let (filtered_allocs, res) = count(&mut filtered, req_b);
    assert_eq!(res.status(), 200);
    assert_eq!(
        filtered_allocs,
        bare_allocs,
        "the filter allocated {} time(s) for a passing request",
        filtered_allocs.saturating_sub(bare_allocs)
    );

    // A request with a percent-escaped path (decoded on the stack) and no body.
    let req = Request::get("/docs/caf%C3%A9/read%20me.txt?q=%3Ca%3E")
        .body(Full::default())
        .unwrap();
    let (allocs, res) = count(&mut filtered, req);
    assert_eq!(res.status(), 200);
    assert_eq!(allocs, bare_allocs);

    // The counter is live: a denied request (an IisError, a header) does allocate.
    let (allocs, res) = count(
        &mut filtered,
        Request::get("/bin/x").body(Full::default()).unwrap(),
    );
    assert_eq!(res.status(), 404);
    assert!(allocs > bare_allocs);
}
