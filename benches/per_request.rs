//! Allocations per request on the success path, per stack, counted with a global
//! allocator; also the program that callgrind runs to count instructions.
//!
//! ```text
//! cargo bench --bench per_request                 # the allocation table
//! target/release/deps/per_request-* --only "full stack" 100000   # one stack, for callgrind
//! ```
//!
//! Two counts per stack: the allocations made on the request's own thread, and the
//! allocations of the whole process (writer threads included) divided by the number
//! of requests, once every line has been written out.

use std::hint::black_box;
use std::time::{Duration, Instant};

use http::Request;
use http_body::Body;
use tower::Service;

// The tests' counting allocator: every allocation of this process is counted.
#[path = "../tests/common/counting_alloc.rs"]
mod counting_alloc;
mod support;

use counting_alloc::{all_allocations, thread_allocations};
use support::{call, request};

/// What one stack did over `n` requests.
struct Counts {
    thread: f64,
    process: f64,
    nanos: f64,
}

/// The measured loop: `n` requests, built beforehand, through `svc`.
///
/// Not inlined, so that callgrind can count only this function
/// (`--toggle-collect=*measured_requests*`).
#[inline(never)]
fn measured_requests<S, B>(svc: &mut S, reqs: Vec<Request<String>>) -> usize
where
    S: Service<Request<String>, Response = http::Response<B>, Error = std::convert::Infallible>,
    B: Body,
{
    let mut total = 0;
    for req in reqs {
        total += call(svc, req);
    }
    total
}

fn measure<S, B>(svc: &mut S, n: usize, settle: &dyn Fn()) -> Counts
where
    S: Service<Request<String>, Response = http::Response<B>, Error = std::convert::Infallible>,
    B: Body,
{
    measure_with(svc, n, settle, request)
}

fn measure_with<S, B>(
    svc: &mut S,
    n: usize,
    settle: &dyn Fn(),
    request: impl Fn() -> Request<String>,
) -> Counts
where
    S: Service<Request<String>, Response = http::Response<B>, Error = std::convert::Infallible>,
    B: Body,
{
    // Warm up: lazy statics, thread-locals, the writers' buffers.
    for _ in 0..1000 {
        black_box(call(svc, request()));
    }
    settle();
    let reqs: Vec<_> = (0..n).map(|_| request()).collect();
    let thread_before = thread_allocations();
    let process_before = all_allocations();
    let start = Instant::now();
    black_box(measured_requests(svc, reqs));
    let elapsed = start.elapsed();
    let thread = thread_allocations() - thread_before;
    // Every line written: the writers' allocations are counted too.
    settle();
    let process = all_allocations() - process_before;
    #[allow(clippy::cast_precision_loss)]
    let per = |x: usize| x as f64 / n as f64;
    Counts {
        thread: per(thread),
        process: per(process),
        nanos: elapsed.as_nanos() as f64 / n as f64,
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--") || a == "--only")
        .collect();
    let (only, n) = match args.as_slice() {
        [flag, name, rest @ ..] if flag == "--only" => (
            Some(name.clone()),
            rest.first().and_then(|n| n.parse().ok()).unwrap_or(100_000),
        ),
        _ => (None, 20_000),
    };
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);

    let _tracing = support::install_tracing(std::io::sink());
    let (log, guard) = support::w3c_log_null();
    let handle = guard.handle();
    let flush_log = || handle.flush().expect("the log flushes");
    // tracing-appender's writer has no flush call: give its thread time to drain.
    let wait_trace = || std::thread::sleep(Duration::from_millis(200));
    let nothing = || {};

    let mut rows: Vec<(&str, Counts)> = Vec::new();
    let names = support::STACKS;
    if wanted(names[0]) {
        rows.push((names[0], measure(&mut support::bare(), n, &nothing)));
    }
    if wanted(names[1]) {
        rows.push((names[1], measure(&mut support::errors(), n, &nothing)));
    }
    if wanted(names[2]) {
        rows.push((names[2], measure(&mut support::log(&log), n, &flush_log)));
    }
    if wanted(names[3]) {
        rows.push((names[3], measure(&mut support::full(&log), n, &flush_log)));
    }
    if wanted(names[4]) {
        rows.push((names[4], measure(&mut support::trace(), n, &wait_trace)));
    }
    // The error path, per page: 404.3 to a loopback client (detailed page) and to
    // a remote one (custom page). Only on request (`--only "detailed 404.3"`).
    for (name, local) in [("detailed 404.3", true), ("custom 404.3", false)] {
        if only.as_deref() == Some(name) {
            let mut svc = tower::Layer::layer(
                &tower_iis::HttpErrorsLayer::new(),
                tower::service_fn(support::not_found_mime::<String>),
            );
            let conn = if local {
                tower_iis::ConnectionInfo::new(
                    "127.0.0.1:50412".parse().unwrap(),
                    "127.0.0.1:80".parse().unwrap(),
                )
            } else {
                support::connection()
            };
            let req = move || support::request_from(conn);
            rows.push((name, measure_with(&mut svc, n, &nothing, req)));
        }
    }
    // Request filtering with IIS's defaults alone in front of the handler, for
    // callgrind (`--only "request filtering"`).
    if only.as_deref() == Some("request filtering") {
        let mut svc = tower::Layer::layer(
            &tower_iis::RequestFilteringLayer::iis_defaults(),
            tower::service_fn(support::hello),
        );
        rows.push(("request filtering", measure(&mut svc, n, &nothing)));
    }
    assert!(
        !rows.is_empty(),
        "no stack named {only:?}; one of {names:?}"
    );

    if support::waits() > 0 {
        eprintln!(
            "note: {} polls waited for the log writer's queue (counted in the figures)",
            support::waits()
        );
    }
    let bare = rows
        .iter()
        .find(|(name, _)| *name == names[0])
        .map(|(_, c)| (c.thread, c.process));
    println!("allocations per request ({n} requests per stack)");
    println!(
        "| stack | request thread | whole process | added over bare (thread / process) | ns per request (unsteady) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, c) in &rows {
        let added = bare.map_or_else(
            || "-".to_owned(),
            |(t, p)| format!("{:+.2} / {:+.2}", c.thread - t, c.process - p),
        );
        println!(
            "| {name} | {:.2} | {:.2} | {added} | {:.0} |",
            c.thread, c.process, c.nanos
        );
    }
    // Every line is written already; skip tearing down the writers (their buffers'
    // release would otherwise show in callgrind's per-request counts).
    std::process::exit(0);
}
