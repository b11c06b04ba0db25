//! What failed request tracing costs.
//!
//! ```text
//! cargo bench --features failed-request-tracing --bench freb
//! ```
//!
//! - `success`: one `200` request (the trivial handler, body read to the end) with
//!   no layer; with the layer but no rule (`disabled`); with a rule whose path
//!   covers no request (`no path match`); with a rule that covers it but does not
//!   fire on `200` (`on, no match`: the span, the crate's events buffered, the
//!   buffer dropped); and the same with a handler that emits one event of its own.
//! - `trace`: a `404.3` that matches the rule, timed until the writer thread has
//!   written every file (`maxLogFiles` 50 keeps the folder small): the request's
//!   own work plus rendering, writing and deleting one `frNNNNNN.xml`.
//!
//! Wall-clock figures move with the machine's load; instruction counts do not:
//! `FREB_COUNT=<variant> FREB_N=<requests>` runs one variant `N` times without
//! criterion, for `valgrind --tool=callgrind` (run it with `N` and with 0 and
//! subtract). Variants: `bare`, `disabled`, `no-path-match`, `on-no-match`,
//! `on-no-match-event`, `trace`.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::{Request, Response};
use http_body_util::Full;
use tower::{service_fn, Layer};
use tower_iis::freb::{FailedRequestTracingLayer, Rule, TraceCollector, TraceGuard};
use tracing_subscriber::prelude::*;

mod support;
use support::{call, hello, not_found_mime, request};

fn layer(rule: Rule) -> (FailedRequestTracingLayer, TraceGuard) {
    let dir = std::env::temp_dir().join(format!("tower-iis-bench-freb-{}", std::process::id()));
    FailedRequestTracingLayer::builder()
        .directory(dir)
        .rule(rule)
        .build()
        .expect("valid configuration")
}

async fn hello_with_event<B>(req: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    tracing::info!(target: "shop", path = req.uri().path(), "serving the product page");
    hello(req).await
}

/// Runs one variant `n` times (after 100 to warm up) for an instruction counter.
fn count(variant: &str, n: u64) {
    let (l, guard) = layer(Rule::new("*").status_codes("404").unwrap());
    let (l2, _g2) = layer(Rule::new("/api/*").status_codes("404").unwrap());
    let run = |f: &mut dyn FnMut()| {
        for _ in 0..100 {
            f();
        }
        for _ in 0..n {
            f();
        }
    };
    match variant {
        "bare" => {
            let mut s = service_fn(hello);
            run(&mut || {
                black_box(call(&mut s, request()));
            });
        }
        "disabled" => {
            let mut s = FailedRequestTracingLayer::disabled().layer(service_fn(hello));
            run(&mut || {
                black_box(call(&mut s, request()));
            });
        }
        "no-path-match" => {
            let mut s = l2.layer(service_fn(hello));
            run(&mut || {
                black_box(call(&mut s, request()));
            });
        }
        "on-no-match" => {
            let mut s = l.layer(service_fn(hello));
            run(&mut || {
                black_box(call(&mut s, request()));
            });
        }
        "on-no-match-event" => {
            let mut s = l.clone().layer(service_fn(hello_with_event));
            run(&mut || {
                black_box(call(&mut s, request()));
            });
        }
        "trace" => {
            let mut s = l.layer(service_fn(not_found_mime));
            let handle = guard.handle();
            let mut i = 0u64;
            run(&mut || {
                black_box(call(&mut s, request()));
                i += 1;
                if i.is_multiple_of(256) {
                    handle.flush().unwrap();
                }
            });
            handle.flush().unwrap();
        }
        other => panic!("unknown variant {other}"),
    }
}

fn benches(c: &mut Criterion) {
    let _ = tracing_subscriber::registry()
        .with(TraceCollector::new())
        .try_init();
    if let Ok(variant) = std::env::var("FREB_COUNT") {
        let n = std::env::var("FREB_N")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        count(&variant, n);
        return;
    }
    let mut g = c.benchmark_group("freb");
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_secs(1));

    let mut bare = service_fn(hello);
    g.bench_function("success/bare", |b| {
        b.iter_batched(
            request,
            |r| black_box(call(&mut bare, r)),
            BatchSize::SmallInput,
        );
    });
    let mut off = FailedRequestTracingLayer::disabled().layer(service_fn(hello));
    g.bench_function("success/disabled", |b| {
        b.iter_batched(
            request,
            |r| black_box(call(&mut off, r)),
            BatchSize::SmallInput,
        );
    });
    let (l, _g1) = layer(Rule::new("/api/*").status_codes("404").unwrap());
    let mut no_path = l.layer(service_fn(hello));
    g.bench_function("success/no path match", |b| {
        b.iter_batched(
            request,
            |r| black_box(call(&mut no_path, r)),
            BatchSize::SmallInput,
        );
    });
    let (l, g2) = layer(Rule::new("*").status_codes("404").unwrap());
    let mut on = l.clone().layer(service_fn(hello));
    g.bench_function("success/on, no match", |b| {
        b.iter_batched(
            request,
            |r| black_box(call(&mut on, r)),
            BatchSize::SmallInput,
        );
    });
    let mut on_event = l.clone().layer(service_fn(hello_with_event));
    g.bench_function("success/on, no match, 1 app event", |b| {
        b.iter_batched(
            request,
            |r| black_box(call(&mut on_event, r)),
            BatchSize::SmallInput,
        );
    });
    assert_eq!(g2.handle().stats().written, 0);

    let mut failing = l.layer(service_fn(not_found_mime));
    let handle = g2.handle();
    g.bench_function("trace/404.3 written", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for i in 1..=iters {
                black_box(call(&mut failing, request()));
                // The queue holds 1024: wait for the writer well before it fills.
                if i.is_multiple_of(256) {
                    handle.flush().unwrap();
                }
            }
            handle.flush().unwrap();
            start.elapsed()
        });
    });
    let stats = handle.stats();
    assert_eq!((stats.dropped, stats.failed), (0, 0));
    assert!(stats.written > 0);
    g.finish();
}

criterion_group!(freb, benches);
criterion_main!(freb);
