//! In-process cost of the layers, next to what a Rust user would use instead.
//!
//! ```text
//! cargo bench --bench layers
//! ```
//!
//! - `success`: one request through a trivial `200` handler, body read to the end,
//!   with no layer, each layer alone, the full stack, and tower-http's `TraceLayer`
//!   with a `tracing-subscriber` fmt layer writing through `tracing-appender`'s
//!   non-blocking writer. Both logs write to `io::sink()` on their own thread.
//! - `error_page`: a 404.3 answered with the detailed page (loopback client) and
//!   with the custom page (remote client).
//! - `w3c_writer`: lines per second through the log layer into a file (and into
//!   nothing), timed until the writer has flushed them all; and the writer thread's
//!   own CPU time per line written to a file (what it can sustain).

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Once;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use http::Request;
use http_body::Body;
use tower::{service_fn, Layer, Service};
use tower_iis::w3c::{Period, Sink, W3cLogLayer};
use tower_iis::{ConnectionInfo, HttpErrorsLayer};

mod support;
use support::{call, request, request_from};

fn bench_one<S, B>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mut svc: S,
) where
    S: Service<Request<String>, Response = http::Response<B>, Error = std::convert::Infallible>,
    B: Body,
{
    // Every stack answers the same page.
    assert_eq!(call(&mut svc, request()), 14, "{name}");
    c.bench_function(name, |b| {
        b.iter_batched(
            request,
            |req| black_box(call(&mut svc, req)),
            BatchSize::SmallInput,
        );
    });
}

static TRACING: Once = Once::new();

fn success(c: &mut Criterion) {
    TRACING.call_once(|| std::mem::forget(support::install_tracing(std::io::sink())));
    let (log, _guard) = support::w3c_log_null();
    let mut g = c.benchmark_group("success");
    bench_one(&mut g, support::STACKS[0], support::bare());
    bench_one(&mut g, support::STACKS[1], support::errors());
    bench_one(&mut g, support::STACKS[2], support::log(&log));
    bench_one(&mut g, support::STACKS[3], support::full(&log));
    bench_one(&mut g, support::STACKS[4], support::trace());
    g.finish();
}

fn error_page(c: &mut Criterion) {
    let mut g = c.benchmark_group("error_page");
    let mut svc = HttpErrorsLayer::new().layer(service_fn(support::not_found_mime::<String>));
    let local = ConnectionInfo::new(
        "127.0.0.1:50412".parse().unwrap(),
        "127.0.0.1:80".parse().unwrap(),
    );
    let detailed = || request_from(local);
    let custom = request;
    // The loopback client gets the detailed page (several KB), the remote one IIS's
    // custom 404 page.
    let detailed_len = call(&mut svc, detailed());
    let custom_len = call(&mut svc, custom());
    assert!(detailed_len > 3000, "detailed page: {detailed_len} bytes");
    assert!(
        custom_len > 500 && custom_len < detailed_len,
        "custom page: {custom_len} bytes"
    );
    g.bench_function("detailed 404.3", |b| {
        b.iter_batched(
            detailed,
            |req| black_box(call(&mut svc, req)),
            BatchSize::SmallInput,
        );
    });
    g.bench_function("custom 404.3", |b| {
        b.iter_batched(
            custom,
            |req| black_box(call(&mut svc, req)),
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

/// Sends `iters` requests through `log` and waits until every line is written.
fn lines(log: &W3cLogLayer, iters: u64) -> Duration {
    let mut svc = support::log(log);
    let handle = log.handle();
    let start = Instant::now();
    for _ in 0..iters {
        // A writer that is not on a CPU when the queue fills (a busy machine) makes
        // requests wait for room, as they would in a server.
        while svc
            .poll_ready(&mut Context::from_waker(Waker::noop()))
            .is_pending()
        {
            std::thread::yield_now();
        }
        black_box(call(&mut svc, request()));
    }
    handle.flush().expect("the log flushes");
    start.elapsed()
}

/// The id of the newest thread of this process named `name` (Linux).
fn newest_thread(name: &str) -> Option<u32> {
    std::fs::read_dir("/proc/self/task")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|tid| {
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                .is_ok_and(|comm| comm.trim() == name)
        })
        .max()
}

/// How long thread `tid` has run on a CPU, from the scheduler's statistics (Linux).
fn thread_cpu(tid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn w3c_writer(c: &mut Criterion) {
    let dir: PathBuf = std::env::temp_dir().join(format!("tower-iis-bench-{}", std::process::id()));
    let mut g = c.benchmark_group("w3c_writer");
    g.throughput(Throughput::Elements(1));
    {
        // Files of 64 MiB, the newest two kept: the disk does not fill up.
        let (log, guard) = W3cLogLayer::builder()
            .directory(&dir)
            .period(Period::MaxSize)
            .truncate_size(64 << 20)
            .retain_files(2)
            .build()
            .expect("valid log configuration");
        g.bench_function("lines to a file", |b| {
            b.iter_custom(|iters| lines(&log, iters))
        });
        // The writer's own cost: its thread's CPU time per line, whatever the load
        // and however fast requests come in.
        if let Some(tid) = newest_thread("w3c-log-writer").filter(|t| thread_cpu(*t).is_some()) {
            g.bench_function("writer CPU per line, to a file", |b| {
                b.iter_custom(|iters| {
                    let before = thread_cpu(tid).unwrap_or_default();
                    lines(&log, iters);
                    thread_cpu(tid).unwrap_or_default().saturating_sub(before)
                });
            });
        }
        let stats = guard.handle().stats();
        assert_eq!((stats.dropped, stats.io_errors), (0, 0));
    }
    {
        let (log, _guard) = W3cLogLayer::builder()
            .sink(Sink::writer(std::io::sink()))
            .build()
            .expect("valid log configuration");
        g.bench_function("lines to io::sink", |b| {
            b.iter_custom(|iters| lines(&log, iters))
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = success, error_page, w3c_writer
}
criterion_main!(benches);
