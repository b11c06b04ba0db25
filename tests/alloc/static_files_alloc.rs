//! A request whose path names nothing under the content root reaches the static
//! files' fallback at once, with no allocation of the static files' own: counted
//! with a global allocator around one request, against the fallback alone. The
//! same measurement sees the allocations of a path that may name a file.
#![cfg(feature = "static-files")]

use crate::counting_alloc::{all_allocations, measuring_alone};

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::{Request, Response, StatusCode};
use tower::{service_fn, Service};
use tower_iis::static_files::{PathLookup, StaticFiles};

/// Allocations made by one call of `svc` for `path` (answered at once), from
/// `call` to the response in hand; `None` when the answer is not ready at once.
fn allocations_per_call<S, B>(svc: &mut S, path: &'static str) -> Option<usize>
where
    S: Service<Request<String>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    let mut best = usize::MAX;
    for _ in 0..5 {
        let req = Request::get(path).body(String::new()).unwrap();
        let before = all_allocations();
        assert!(svc.poll_ready(&mut cx).is_ready());
        let mut fut = pin!(svc.call(req));
        let res = match fut.as_mut().poll(&mut cx) {
            Poll::Ready(res) => res.unwrap(),
            Poll::Pending => return None,
        };
        let after = all_allocations();
        assert_eq!(res.status(), StatusCode::OK);
        drop(res);
        best = best.min(after - before);
    }
    Some(best)
}

#[test]
fn an_application_route_allocates_nothing_more_than_the_application() {
    let _alone = measuring_alone();
    let root = std::env::temp_dir().join(format!("tower-iis-alloc-static-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("css")).unwrap();
    std::fs::write(root.join("css/site.css"), "body{}").unwrap();
    let handler =
        |_req: Request<String>| async { Ok::<_, Infallible>(Response::new(String::from("app"))) };
    // Looking up on disk takes tokio's blocking pool.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _enter = rt.enter();
    let mut app = service_fn(handler);
    let app_count = allocations_per_call(&mut app, "/api/items/42").unwrap();
    for lookup in [PathLookup::default(), PathLookup::negative_cache()] {
        let mut files = StaticFiles::builder(&root)
            .case_insensitive(true)
            .path_lookup(lookup)
            .build()
            .unwrap()
            .fallback(service_fn(handler));
        if matches!(lookup, PathLookup::NegativeCache { .. }) {
            // The first miss is looked up on disk (and remembered).
            let res =
                rt.block_on(files.call(Request::get("/api/items/1").body(String::new()).unwrap()));
            assert_eq!(res.unwrap().status(), StatusCode::OK);
            // A hit builds the cache key in one string.
            let count = allocations_per_call(&mut files, "/api/items/42")
                .expect("a remembered miss answers at once");
            assert_eq!(count, app_count + 1, "{lookup:?}");
        } else {
            let count = allocations_per_call(&mut files, "/api/items/42")
                .expect("a path the index does not hold answers at once");
            assert_eq!(
                count,
                app_count,
                "StaticFiles added {} allocation(s) to an application route",
                count - app_count
            );
        }
        // A path that may name a file is looked up on disk: not answered at once.
        assert_eq!(allocations_per_call(&mut files, "/css/site.css"), None);
    }
    let _ = std::fs::remove_dir_all(&root);
}
