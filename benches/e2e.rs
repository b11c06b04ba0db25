//! End to end over loopback: hyper serving the trivial handler bare, behind the full
//! tower-iis stack logging to a real file, and behind tower-http's `TraceLayer`
//! logging to a real file through `tracing-appender`; then the bare handler and the
//! full stack under `axum::serve` and under `tower_iis::server::serve` (which also
//! checks every head, runs http.sys's timers and counts bytes on the wire). Debian's `wrk` drives each
//! server over real keep-alive connections on 127.0.0.1, the stacks taking turns
//! (A B C A B C …), and the median requests per second of each is reported.
//!
//! ```text
//! cargo bench --features server --bench e2e
//! E2E_SECS=3 E2E_ROUNDS=5 E2E_CONNECTIONS=32 cargo bench --features server --bench e2e
//! ```
//!
//! Each run lasts `E2E_SECS` seconds (default 3); there are `E2E_ROUNDS` rounds
//! (default 5) after a one-second warm-up of each server. `E2E_ONLY=0|1|…|8` loads
//! only one server (for profiling), numbered in the order of the table.
//!
//! When Debian's nginx is installed (`apt-get install nginx-light`), the bench
//! starts two instances on loopback ports, answering the same body with `return
//! 200`, one without an access log and one logging to a file with `buffer=64k`,
//! and runs them in the same rounds; without nginx it says so and skips them.
//!
//! Other modes: `E2E_SERVE=<kind>` runs one server alone until stdin closes and
//! `E2E_CLIENT=<addr> E2E_N=<n>` sends it `n` requests (used by
//! `benches/server_cost.sh` to count instructions under callgrind);
//! `E2E_MEMORY=hyper|axum|server` measures the resident memory per idle
//! keep-alive connection (`E2E_IDLE`, default 10 000) and per request in flight
//! (`E2E_PARKED`, default 2 000).

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{service_fn, ServiceBuilder};
use tower_iis::w3c::W3cLogLayer;
use tower_iis::{ConnectionInfo, HttpErrorsLayer, RequestFilteringLayer};

mod support;

/// Accepts connections on `listener`, serving each with the service `make` builds
/// for it.
async fn serve<F, S, B>(listener: TcpListener, make: F)
where
    F: Fn(ConnectionInfo) -> S + Send + 'static,
    S: tower::Service<Request<Incoming>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let local = listener.local_addr().expect("bound");
    loop {
        let Ok((stream, remote)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let svc = TowerToHyperService::new(make(ConnectionInfo::new(remote, local)));
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
struct Run {
    rps: f64,
    p99_ms: f64,
    requests: u64,
    errors: u64,
    load: f64,
    /// CPU time this process (the server, its log writers) spent per response.
    cpu_us: f64,
}

/// User plus system CPU time of this process (all threads), in microseconds.
fn process_cpu_us() -> f64 {
    cpu_us_of("self")
}

/// User plus system CPU time of process `pid` (all threads), in microseconds.
fn cpu_us_of(pid: &str) -> f64 {
    // Fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the command name, field 14 (utime) is the 12th value (index 11).
    (ticks(11) + ticks(12)) * 10_000.0
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

fn wrk(wrk: &Path, addr: SocketAddr, secs: u64, connections: u32, cpu_us: &dyn Fn() -> f64) -> Run {
    let load = load_average();
    let cpu_before = cpu_us();
    let url = format!("http://{addr}{}", support::TARGET);
    let out = Command::new(wrk)
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "--latency",
        ])
        .args(["-H", &format!("User-Agent: {}", support::USER_AGENT)])
        .args([
            "-H",
            "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ])
        .args(["-H", "Accept-Language: en-US,en;q=0.9"])
        .args(["-H", "Accept-Encoding: gzip, deflate, br"])
        .args(["-H", "Referer: https://www.example.com/shop/products/"])
        .arg(&url)
        .output()
        .expect("wrk runs");
    let cpu = cpu_us() - cpu_before;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk failed: {text}");
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in {text}"));
    let p99_ms = field("99%").map_or(f64::NAN, parse_latency);
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let errors = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        + u64::from(text.contains("Socket errors:"));
    #[allow(clippy::cast_precision_loss)]
    let cpu_us = cpu / requests.max(1) as f64;
    Run {
        rps,
        p99_ms,
        requests,
        errors,
        load,
        cpu_us,
    }
}

/// `123.45us`, `1.20ms`, `2.00s` in milliseconds.
fn parse_latency(v: &str) -> f64 {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (v, f64::NAN)
    };
    num.parse::<f64>().map_or(f64::NAN, |n| n * scale)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Lines (not `#` directives) in the files under `dir`.
fn count_lines(dir: &Path) -> u64 {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            n += count_lines(&path);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            n += text.lines().filter(|l| !l.starts_with('#')).count() as u64;
        }
    }
    n
}

/// Debian's nginx serving the same 14-byte `text/plain` answer on a loopback
/// port, from a configuration written for the bench: two worker processes (the
/// tokio runtimes here have two workers), keep-alive without a request limit, and
/// the access log off or in nginx's `combined` format to a file through a 64 KiB
/// buffer.
struct Nginx {
    master: std::process::Child,
    addr: SocketAddr,
}

impl Nginx {
    fn start(bin: &Path, dir: &Path, name: &str, access_log: Option<&Path>) -> Nginx {
        let prefix = dir.join(name);
        std::fs::create_dir_all(&prefix).expect("nginx directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = access_log.map_or_else(
            || "access_log off;".to_owned(),
            |f| format!("access_log {} combined buffer=64k;", f.display()),
        );
        let p = prefix.display();
        let conf = format!(
            "daemon off;\nworker_processes 2;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n  {log}\n  keepalive_requests 1000000;\n  keepalive_timeout 120s;\n\
             client_body_temp_path {p}/body;\n  proxy_temp_path {p}/proxy;\n\
             server {{\n    listen {addr};\n\
             location / {{ default_type text/plain; return 200 \"Hello, world!\\n\"; }}\n  }}\n}}\n"
        );
        let conf_path = prefix.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("nginx configuration");
        let master = Command::new(bin)
            .args(["-p", &p.to_string(), "-c"])
            .arg(&conf_path)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nginx starts");
        for _ in 0..100 {
            if std::net::TcpStream::connect(addr).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx { master, addr }
    }

    /// CPU time of the master and its workers, in microseconds.
    fn cpu_us(&self) -> f64 {
        let pid = self.master.id();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        cpu_us_of(&pid.to_string()) + children.split_whitespace().map(cpu_us_of).sum::<f64>()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers (a SIGKILL would orphan them).
        let _ = Command::new("kill")
            .args(["-TERM", &self.master.id().to_string()])
            .status();
        let _ = self.master.wait();
    }
}

/// The servers `E2E_SERVE=<kind>` runs alone (for callgrind): `hyper`, `axum`,
/// `server` serve the bare handler; `full-hyper`, `full-axum`, `full-server` the
/// full stack logging to a file.
const KINDS: [&str; 6] = [
    "hyper",
    "axum",
    "server",
    "full-hyper",
    "full-axum",
    "full-server",
];

/// Runs one server on a current-thread runtime, prints its address, and exits
/// (through `exit`, so callgrind writes its counts) when stdin closes.
fn serve_alone(kind: &str) {
    assert!(KINDS.contains(&kind), "E2E_SERVE: one of {KINDS:?}");
    let dir = std::env::temp_dir().join(format!("tower-iis-e2e-{}", std::process::id()));
    // The W3C log only where it is used: a bare server's process has none.
    let (log, guard) = if kind.starts_with("full") {
        let (log, guard) = W3cLogLayer::builder()
            .directory(dir.join("w3c"))
            .build()
            .expect("valid log configuration");
        (Some(log), Some(guard))
    } else {
        (None, None)
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        let full = || {
            ServiceBuilder::new()
                .layer(log.clone().expect("a full stack has its log"))
                .layer(HttpErrorsLayer::new())
                .layer(RequestFilteringLayer::iis_defaults())
        };
        match kind {
            "hyper" => {
                tokio::spawn(serve(listener, |_| service_fn(support::hello::<Incoming>)));
            }
            "full-hyper" => {
                let full = full();
                tokio::spawn(serve(listener, move |conn| {
                    ServiceBuilder::new()
                        .map_request(move |mut req: Request<Incoming>| {
                            req.extensions_mut().insert(conn);
                            req
                        })
                        .layer(full.clone())
                        .service_fn(support::hello)
                }));
            }
            "axum" => {
                let router = axum::Router::new()
                    .fallback_service(service_fn(support::hello::<axum::body::Body>));
                tokio::spawn(async move { axum::serve(listener, router).await });
            }
            "full-axum" => {
                let router =
                    axum::Router::new().fallback_service(full().service_fn(support::hello));
                tokio::spawn(async move {
                    axum::serve(
                        listener,
                        router.into_make_service_with_connect_info::<SocketAddr>(),
                    )
                    .await
                });
            }
            "server" => {
                tokio::spawn(
                    tower_iis::server::serve(listener, service_fn(support::hello::<Incoming>))
                        .signals(false)
                        .into_future(),
                );
            }
            _ => {
                let svc = full().service_fn(support::hello);
                tokio::spawn(
                    tower_iis::server::serve(listener, svc)
                        .signals(false)
                        .into_future(),
                );
            }
        }
        // stdin closing is the signal to stop.
        tokio::task::spawn_blocking(|| {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        })
        .await
        .unwrap();
    });
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
    std::process::exit(0);
}

/// Sends `n` requests (the benches' browser-like GET) over `connections`
/// keep-alive connections to `addr`, one request per connection at a time, every
/// connection's request sent before the answers are read.
fn client(addr: &str, n: usize, connections: usize) {
    use std::io::{Read, Write};
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {}\r\nAccept: \
         text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
         Accept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br\r\n\
         Referer: https://www.example.com/shop/products/\r\n\r\n",
        support::TARGET,
        support::USER_AGENT
    );
    let mut socks: Vec<std::net::TcpStream> = (0..connections)
        .map(|_| {
            let s = std::net::TcpStream::connect(addr).expect("connects");
            s.set_nodelay(true).unwrap();
            s
        })
        .collect();
    let body = b"Hello, world!\n";
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0;
    while sent < n {
        let batch = connections.min(n - sent);
        for s in &mut socks[..batch] {
            s.write_all(request.as_bytes()).expect("sends");
        }
        for s in &mut socks[..batch] {
            let mut have = 0;
            loop {
                let k = s.read(&mut buf[have..]).expect("reads");
                assert!(k > 0, "the server closed the connection");
                have += k;
                if buf[..have].ends_with(body) {
                    break;
                }
            }
            assert!(buf.starts_with(b"HTTP/1.1 200 OK\r\n"));
        }
        sent += batch;
    }
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// `E2E_MEMORY=<kind>`: the memory a server holds per idle keep-alive connection
/// (after one request each) and per request in flight (parked in the handler).
/// A child process (`E2E_HOLD`) opens the connections, so the two sides' file
/// descriptors and buffers are counted apart.
fn memory(kind: &str) {
    use std::io::{BufRead, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let idle: usize = env_or("E2E_IDLE", 10_000);
    let parked_n: usize = env_or("E2E_PARKED", 2_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let parked = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(tokio::sync::Notify::new());
    let handler = parking::<Incoming>(&parked, &release);
    let addr = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        match kind {
            "hyper" => {
                tokio::spawn(serve(listener, move |_| handler.clone()));
            }
            "axum" => {
                let router = axum::Router::new()
                    .fallback_service(parking::<axum::body::Body>(&parked, &release));
                tokio::spawn(async move { axum::serve(listener, router).await });
            }
            _ => {
                tokio::spawn(
                    tower_iis::server::serve(listener, handler)
                        .signals(false)
                        .into_future(),
                );
            }
        }
        addr
    });
    std::thread::sleep(Duration::from_millis(300));
    let base = rss_kib();
    let mut child = Command::new(std::env::current_exe().expect("this bench"))
        .env("E2E_HOLD", format!("{addr} {idle} {parked_n}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the client starts");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("idle"));
    std::thread::sleep(Duration::from_millis(500));
    let with_idle = rss_kib();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "park").unwrap();
    while parked.load(Ordering::SeqCst) < parked_n {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let with_parked = rss_kib();
    release.notify_waiters();
    drop(stdin);
    let _ = child.wait();
    #[allow(clippy::cast_precision_loss)]
    let per = |kib: u64, n: usize| kib as f64 * 1024.0 / n as f64;
    println!(
        "{kind}: RSS {base} KiB at rest; {idle} idle keep-alive connections: +{} KiB, {:.0} B each; \
         {parked_n} more requests in flight: +{} KiB, {:.0} B each",
        with_idle - base,
        per(with_idle - base, idle),
        with_parked - with_idle,
        per(with_parked - with_idle, parked_n)
    );
    rt.shutdown_timeout(Duration::from_secs(1));
}

/// The trivial handler, except that a request for `/park` waits for `release`
/// (counted in `parked`).
fn parking<B: Send + 'static>(
    parked: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
    release: &std::sync::Arc<tokio::sync::Notify>,
) -> impl tower::Service<
    Request<B>,
    Response = http::Response<http_body_util::Full<bytes::Bytes>>,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    let (p, r) = (parked.clone(), release.clone());
    service_fn(move |req: Request<B>| {
        let (p, r) = (p.clone(), r.clone());
        async move {
            if req.uri().path() == "/park" {
                let notified = r.notified();
                p.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                notified.await;
            }
            support::hello(req).await
        }
    })
}

/// The client side of [`memory`]: `idle` connections with one request answered
/// each, then (on a line from stdin) `parked` connections each with a request
/// the handler holds.
fn hold(spec: &str) {
    use std::io::{BufRead, Read, Write};
    let mut it = spec.split_whitespace();
    let addr = it.next().unwrap().to_owned();
    let idle: usize = it.next().unwrap().parse().unwrap();
    let parked: usize = it.next().unwrap().parse().unwrap();
    let get = |path: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {}\r\n\r\n",
            support::USER_AGENT
        )
    };
    let mut socks = Vec::with_capacity(idle + parked);
    let mut buf = [0u8; 4096];
    for _ in 0..idle {
        let mut s = std::net::TcpStream::connect(&addr).expect("connects");
        s.write_all(get(support::TARGET).as_bytes()).unwrap();
        let mut have = 0;
        while !buf[..have].ends_with(b"Hello, world!\n") {
            let k = s.read(&mut buf[have..]).expect("reads");
            assert!(k > 0, "closed");
            have += k;
        }
        socks.push(s);
    }
    println!("idle");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
    for _ in 0..parked {
        let mut s = std::net::TcpStream::connect(&addr).expect("connects");
        s.write_all(get("/park").as_bytes()).unwrap();
        socks.push(s);
    }
    // Until the parent is done.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

fn main() {
    if let Ok(spec) = std::env::var("E2E_HOLD") {
        return hold(&spec);
    }
    if let Ok(kind) = std::env::var("E2E_MEMORY") {
        return memory(&kind);
    }
    if let Ok(kind) = std::env::var("E2E_SERVE") {
        return serve_alone(&kind);
    }
    if let Ok(addr) = std::env::var("E2E_CLIENT") {
        return client(&addr, env_or("E2E_N", 10_000), env_or("E2E_CONNECTIONS", 8));
    }
    let wrk_path = ["/usr/bin/wrk", "/usr/local/bin/wrk"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let Some(wrk_path) = wrk_path else {
        eprintln!("e2e: wrk not found (Debian: apt-get install wrk); skipped");
        return;
    };
    let secs: u64 = env_or("E2E_SECS", 3);
    let rounds: usize = env_or("E2E_ROUNDS", 5);
    let connections: u32 = env_or("E2E_CONNECTIONS", 32);

    let dir = std::env::temp_dir().join(format!("tower-iis-e2e-{}", std::process::id()));
    let trace_dir = dir.join("trace");
    let w3c_dir = dir.join("w3c");
    let trace_guard =
        support::install_tracing(tracing_appender::rolling::never(&trace_dir, "access.log"));
    let (log, log_guard) = W3cLogLayer::builder()
        .directory(&w3c_dir)
        .build()
        .expect("valid log configuration");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut names = vec![
        "bare hyper",
        "full stack, W3C file",
        "TraceLayer, file",
        "bare, axum::serve",
        "bare, server::serve",
        "full, axum::serve",
        "full, server::serve",
    ];
    let (log2, log2_guard) = W3cLogLayer::builder()
        .directory(dir.join("w3c-axum"))
        .build()
        .expect("valid log configuration");
    let (log3, log3_guard) = W3cLogLayer::builder()
        .directory(dir.join("w3c-server"))
        .build()
        .expect("valid log configuration");
    let addrs: Vec<SocketAddr> = rt.block_on(async {
        let bare = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ours = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let trace = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addrs = vec![
            bare.local_addr().unwrap(),
            ours.local_addr().unwrap(),
            trace.local_addr().unwrap(),
        ];
        tokio::spawn(serve(bare, |_conn| service_fn(support::hello::<Incoming>)));
        let errors = HttpErrorsLayer::new();
        let filtering = RequestFilteringLayer::iis_defaults();
        tokio::spawn(serve(ours, move |conn| {
            ServiceBuilder::new()
                .map_request(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(conn);
                    req
                })
                .layer(log.clone())
                .layer(errors.clone())
                .layer(filtering.clone())
                .service_fn(support::hello)
        }));
        tokio::spawn(serve(trace, |_conn| {
            ServiceBuilder::new()
                .layer(support::trace_layer())
                .service_fn(support::hello::<Incoming>)
        }));
        let mut addrs = addrs;
        let bind = || async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            (l.local_addr().unwrap(), l)
        };
        let (a, axum_bare) = bind().await;
        addrs.push(a);
        let (a, server_bare) = bind().await;
        addrs.push(a);
        let (a, axum_full) = bind().await;
        addrs.push(a);
        let (a, server_full) = bind().await;
        addrs.push(a);
        let bare_router =
            axum::Router::new().fallback_service(service_fn(support::hello::<axum::body::Body>));
        tokio::spawn(async move { axum::serve(axum_bare, bare_router).await });
        tokio::spawn(async move {
            tower_iis::server::serve(server_bare, service_fn(support::hello::<Incoming>))
                .signals(false)
                .await
        });
        let full_router = axum::Router::new().fallback_service(
            ServiceBuilder::new()
                .layer(log2)
                .layer(HttpErrorsLayer::new())
                .layer(RequestFilteringLayer::iis_defaults())
                .service_fn(support::hello),
        );
        tokio::spawn(async move {
            axum::serve(
                axum_full,
                full_router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        let full = ServiceBuilder::new()
            .layer(log3)
            .layer(HttpErrorsLayer::new())
            .layer(RequestFilteringLayer::iis_defaults())
            .service_fn(support::hello);
        tokio::spawn(async move {
            tower_iis::server::serve(server_full, full)
                .signals(false)
                .await
        });
        addrs
    });

    let mut addrs = addrs;
    let mut cpu: Vec<Box<dyn Fn() -> f64>> = addrs
        .iter()
        .map(|_| Box::new(process_cpu_us) as Box<dyn Fn() -> f64>)
        .collect();
    let nginx_path = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let mut nginx_log = None;
    if let Some(bin) = nginx_path {
        let quiet = std::sync::Arc::new(Nginx::start(&bin, &dir, "nginx-nolog", None));
        let log_file = dir.join("nginx-log").join("access.log");
        let logged = std::sync::Arc::new(Nginx::start(&bin, &dir, "nginx-log", Some(&log_file)));
        nginx_log = Some(log_file);
        for (name, n) in [("nginx, no log", quiet), ("nginx, access_log 64k", logged)] {
            names.push(name);
            addrs.push(n.addr);
            cpu.push(Box::new(move || n.cpu_us()));
        }
    } else {
        eprintln!(
            "e2e: nginx not found (Debian: apt-get install nginx-light); the nginx rows are skipped"
        );
    }
    println!(
        "e2e: wrk -t1 -c{connections} -d{secs}s, {rounds} rounds, {} CPUs",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    // E2E_ONLY=1 (say) loads one server only, e.g. to profile it.
    let only: Option<usize> = std::env::var("E2E_ONLY").ok().and_then(|v| v.parse().ok());
    let chosen = |i: &usize| only.is_none_or(|o| o == *i);
    let warm: Vec<Run> = addrs
        .iter()
        .zip(&cpu)
        .map(|(addr, cpu)| wrk(&wrk_path, *addr, 1, connections, cpu))
        .collect();
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); names.len()];
    for round in 1..=rounds {
        for (i, addr) in addrs.iter().enumerate().filter(|(i, _)| chosen(i)) {
            let run = wrk(&wrk_path, *addr, secs, connections, &cpu[i]);
            println!(
                "round {round} {:<22} {:>9.0} req/s  p99 {:>6.2} ms  server CPU {:>5.1} us/req  load {:.2}{}",
                names[i],
                run.rps,
                run.p99_ms,
                run.cpu_us,
                run.load,
                if run.errors > 0 { "  ERRORS" } else { "" }
            );
            runs[i].push(run);
        }
    }

    log_guard.handle().flush().expect("the W3C log flushes");
    let stats = log_guard.handle().stats();
    drop(log_guard);
    drop((log2_guard, log3_guard));
    drop(trace_guard);
    let logged = count_lines(&w3c_dir);

    if only.is_some() {
        rt.shutdown_timeout(Duration::from_secs(1));
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let bare = median(runs[0].iter().map(|r| r.rps).collect());
    println!();
    let bare_cpu = median(runs[0].iter().map(|r| r.cpu_us).collect());
    println!(
        "| server | median req/s | min | max | ratio to bare | median p99 (ms) | server CPU µs/req | CPU ratio to bare |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, rs) in names.iter().zip(&runs) {
        let rps: Vec<f64> = rs.iter().map(|r| r.rps).collect();
        let m = median(rps.clone());
        let cpu = median(rs.iter().map(|r| r.cpu_us).collect());
        println!(
            "| {name} | {m:.0} | {:.0} | {:.0} | {:.3} | {:.2} | {cpu:.1} | {:.3} |",
            rps.iter().copied().fold(f64::INFINITY, f64::min),
            rps.iter().copied().fold(0.0, f64::max),
            m / bare,
            median(rs.iter().map(|r| r.p99_ms).collect()),
            cpu / bare_cpu,
        );
    }
    println!(
        "load average during the runs: {:.2} to {:.2}",
        runs.iter()
            .flatten()
            .map(|r| r.load)
            .fold(f64::INFINITY, f64::min),
        runs.iter().flatten().map(|r| r.load).fold(0.0, f64::max)
    );
    let pair = |full: usize, bare: usize| {
        median(runs[full].iter().map(|r| r.rps).collect())
            / median(runs[bare].iter().map(|r| r.rps).collect())
    };
    let cpu_pair = |full: usize, bare: usize| {
        median(runs[full].iter().map(|r| r.cpu_us).collect())
            / median(runs[bare].iter().map(|r| r.cpu_us).collect())
    };
    println!();
    println!("| logging / bare | req/s ratio | CPU per request ratio |");
    println!("|---|---:|---:|");
    let mut pairs = vec![
        ("hyper: full stack / bare", 1, 0),
        ("axum::serve: full / bare", 5, 3),
        ("server::serve: full / bare", 6, 4),
    ];
    if names.len() > 8 {
        pairs.push(("nginx: access_log / no log", 8, 7));
    }
    for (label, full, bare) in pairs {
        println!(
            "| {label} | {:.3} | {:.3} |",
            pair(full, bare),
            cpu_pair(full, bare)
        );
    }
    if let Some(file) = &nginx_log {
        let lines = std::fs::read_to_string(file).map_or(0, |t| t.lines().count());
        println!("nginx access log: {lines} lines");
    }
    let answered = warm[1].requests + runs[1].iter().map(|r| r.requests).sum::<u64>();
    println!(
        "W3C log: wrk counted {answered} responses of the full stack; {logged} lines in the \
         files ({} written, {} dropped, {} I/O errors)",
        stats.lines, stats.dropped, stats.io_errors
    );
    drop(cpu);
    rt.shutdown_timeout(Duration::from_secs(1));
    let _ = std::fs::remove_dir_all(&dir);
}
