//! What an [`IisSite`] adds to a request its application answers (a path that
//! names no file or folder under the content root), next to the application alone.
//!
//! ```text
//! cargo bench --features site --bench site                       # criterion
//! target/release/deps/site-* --only "IisSite, app route" 20000   # one case, for callgrind
//! bash benches/callgrind_site.sh                                  # instructions per request
//! ```
//!
//! Every case answers the benches' usual browser-like
//! `GET /shop/products/item.aspx?id=42&colour=blue` with the usual trivial handler;
//! the content root (a temporary folder with 60 files in a few folders, like a
//! small site's scripts, styles and images) has no `shop` folder, so the static
//! files hand the request to the application.
//!
//! | case | what answers |
//! |---|---|
//! | app alone | the handler |
//! | StaticFiles, app route | [`StaticFiles`] with the handler as its fallback (the index) |
//! | StaticFiles (negative cache), app route | the same with [`PathLookup::NegativeCache`](tower_iis::static_files::PathLookup) |
//! | full stack | W3C log → error pages → request filtering → handler (as in `layers`) |
//! | IisSite, app route | [`IisSite`] (IIS's defaults, the W3C log to `io::sink()`) with the handler as its application |
//!
//! A future that is not ready at its first poll (a file-system call on tokio's
//! blocking pool) is driven to its end on a current-thread runtime, so a design
//! that asks the file system is measured with that cost included.

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::hint::black_box;
use std::path::PathBuf;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Buf;
use criterion::{BatchSize, Criterion};
use http::{Request, Response};
use http_body::Body;
use tower::Service;
use tower_iis::site::IisSite;
use tower_iis::static_files::StaticFiles;

mod support;

/// The cases, in the order they are reported.
const CASES: [&str; 5] = [
    "app alone",
    "StaticFiles, app route",
    "StaticFiles (negative cache), app route",
    "full stack",
    "IisSite, app route",
];

/// A content root like a small site's: 60 files in 6 folders.
fn content_root() -> PathBuf {
    let root = std::env::temp_dir().join(format!("tower-iis-bench-site-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for dir in ["css", "js", "images", "images/icons", "fonts", "docs"] {
        std::fs::create_dir_all(root.join(dir)).expect("the content root can be written");
        for i in 0..10 {
            std::fs::write(root.join(dir).join(format!("file{i}.txt")), "x")
                .expect("the content root can be written");
        }
    }
    std::fs::write(root.join("index.htm"), "<p>home</p>").expect("the content root can be written");
    root
}

/// Runs `fut`: polled once with a no-op waker (every design that decides in memory
/// answers then), else to its end on the runtime.
fn run<F: Future>(rt: &tokio::runtime::Runtime, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => rt.block_on(fut),
    }
}

/// One request through `svc`, its body read to the end. Returns the body length.
fn call<S, B, E>(rt: &tokio::runtime::Runtime, svc: &mut S, req: Request<String>) -> usize
where
    S: Service<Request<String>, Response = Response<B>, Error = E>,
    B: Body,
{
    let Ok(()) = run(rt, poll_fn(|cx| svc.poll_ready(cx))) else {
        panic!("the service failed");
    };
    let Ok(res) = run(rt, svc.call(req)) else {
        panic!("the service failed");
    };
    let mut body = pin!(res.into_body());
    let mut len = 0;
    while let Some(frame) = run(rt, poll_fn(|cx| body.as_mut().poll_frame(cx))) {
        let Ok(frame) = frame else {
            panic!("the body failed");
        };
        len += frame.data_ref().map_or(0, Buf::remaining);
    }
    len
}

/// The measured loop: `reqs` through `svc`. Not inlined, so that callgrind can
/// count only this function (`--toggle-collect=*measured_requests*`).
#[inline(never)]
fn measured_requests<S, B, E>(
    rt: &tokio::runtime::Runtime,
    svc: &mut S,
    reqs: Vec<Request<String>>,
) -> usize
where
    S: Service<Request<String>, Response = Response<B>, Error = E>,
    B: Body,
{
    let mut total = 0;
    for req in reqs {
        total += call(rt, svc, req);
    }
    total
}

/// `n` requests after 1 000 to warm up; prints the mean wall clock per request.
fn loop_case<S, B, E>(rt: &tokio::runtime::Runtime, name: &str, svc: &mut S, n: usize)
where
    S: Service<Request<String>, Response = Response<B>, Error = E>,
    B: Body,
{
    for _ in 0..1000 {
        assert_eq!(call(rt, svc, support::request()), 14, "{name}");
    }
    let reqs: Vec<_> = (0..n).map(|_| support::request()).collect();
    let start = Instant::now();
    black_box(measured_requests(rt, svc, reqs));
    #[allow(clippy::cast_precision_loss)]
    let ns = start.elapsed().as_nanos() as f64 / n as f64;
    println!("| {name} | {ns:.0} ns/request (unsteady) |");
}

fn bench_case<S, B, E>(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, mut svc: S)
where
    S: Service<Request<String>, Response = Response<B>, Error = E>,
    B: Body,
{
    // Every case answers the same page: the application's.
    assert_eq!(call(rt, &mut svc, support::request()), 14, "{name}");
    c.bench_function(name, |b| {
        b.iter_batched(
            support::request,
            |req| black_box(call(rt, &mut svc, req)),
            BatchSize::SmallInput,
        );
    });
}

/// The application: the benches' trivial handler, for any request body.
#[derive(Debug, Clone, Copy)]
struct App;

impl<B> Service<Request<B>> for App {
    type Response = Response<http_body_util::Full<bytes::Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        let mut res = Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
            b"Hello, world!\n",
        )));
        res.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        std::future::ready(Ok(res))
    }
}

fn app() -> App {
    App
}

/// How long after a file is written (or deleted) the static files see it, per
/// lookup: 50 rounds each, the median and the worst.
fn staleness(rt: &tokio::runtime::Runtime, root: &std::path::Path) {
    use tower_iis::static_files::PathLookup;
    println!("| lookup | created: median / worst | deleted: median / worst |");
    println!("|---|---:|---:|");
    for (name, lookup) in [
        ("index (default)", PathLookup::default()),
        ("negative cache, 1 s", PathLookup::negative_cache()),
        ("file system", PathLookup::FileSystem),
    ] {
        let mut svc = StaticFiles::builder(root)
            .case_insensitive(true)
            .path_lookup(lookup)
            .build()
            .expect("the content root")
            .fallback(app());
        let mut ask = |path: &str| {
            let mut req = support::request();
            *req.uri_mut() = path.parse().expect("a path");
            call(rt, &mut svc, req)
        };
        let (mut created, mut deleted) = (Vec::new(), Vec::new());
        for i in 0..50 {
            let path = format!("/fresh-{i}.txt");
            let file = root.join(&path[1..]);
            // The application answers first (14 bytes), so a cache remembers the miss.
            assert_eq!(ask(&path), 14);
            std::fs::write(&file, "a new file, 25 bytes long").expect("written");
            let start = Instant::now();
            while ask(&path) != 25 {
                assert!(
                    start.elapsed() < Duration::from_secs(5),
                    "{name}: never served"
                );
            }
            created.push(start.elapsed());
            std::fs::remove_file(&file).expect("removed");
            let start = Instant::now();
            while ask(&path) != 14 {
                assert!(
                    start.elapsed() < Duration::from_secs(5),
                    "{name}: served after delete"
                );
            }
            deleted.push(start.elapsed());
        }
        created.sort();
        deleted.sort();
        println!(
            "| {name} | {:?} / {:?} | {:?} / {:?} |",
            created[25], created[49], deleted[25], deleted[49]
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--") || a == "--only")
        .collect();
    let only = match args.as_slice() {
        [flag, name, rest @ ..] if flag == "--only" => Some((
            name.clone(),
            rest.first().and_then(|n| n.parse().ok()).unwrap_or(20_000),
        )),
        _ => None,
    };
    if let Some((name, _)) = &only {
        assert!(
            CASES.contains(&name.as_str()),
            "no case named {name:?}; one of {CASES:?}"
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let _enter = rt.enter();
    let root = content_root();
    let (log, guard) = support::w3c_log_null();
    let files_with = |lookup| {
        StaticFiles::builder(&root)
            .case_insensitive(true)
            .path_lookup(lookup)
            .build()
            .expect("the content root")
            .fallback(app())
    };
    let files = || files_with(tower_iis::static_files::PathLookup::default());
    let cached = || files_with(tower_iis::static_files::PathLookup::negative_cache());
    let (site_log, _site_guard) = support::w3c_log_null();
    let site = || {
        IisSite::builder(&root)
            .app(app())
            .log(site_log.clone())
            .build()
            .expect("the site")
    };
    // Whatever the site watches or caches has settled.
    std::thread::sleep(Duration::from_millis(200));

    if std::env::args().any(|a| a == "--staleness") {
        staleness(&rt, &root);
        let _ = std::fs::remove_dir_all(&root);
        return;
    }
    if let Some((name, n)) = only {
        match name.as_str() {
            "app alone" => loop_case(&rt, &name, &mut app(), n),
            "StaticFiles, app route" => loop_case(&rt, &name, &mut files(), n),
            "StaticFiles (negative cache), app route" => {
                loop_case(&rt, &name, &mut cached(), n);
            }
            "full stack" => loop_case(&rt, &name, &mut support::full(&log), n),
            _ => loop_case(&rt, &name, &mut site(), n),
        }
        guard.handle().flush().expect("the log flushes");
        let _ = std::fs::remove_dir_all(&root);
        // Skip tearing down the writers (their release would show in callgrind's
        // counts of the other threads).
        std::process::exit(0);
    }

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args();
    bench_case(&mut c, &rt, CASES[0], app());
    bench_case(&mut c, &rt, CASES[1], files());
    bench_case(&mut c, &rt, CASES[2], cached());
    bench_case(&mut c, &rt, CASES[3], support::full(&log));
    bench_case(&mut c, &rt, CASES[4], site());
    c.final_summary();
    let _ = std::fs::remove_dir_all(&root);
}
