//! The load run: many keep-alive loopback connections sending a mix of successes,
//! IIS errors, request-filtering denials, caught panics, slow bodies and clients
//! that leave, across a forced log rollover, against [`super::server`]. Then every
//! request is matched to exactly one log line (our reader, and GoAccess when it is
//! installed), and peak memory and open files are reported.
//!
//! `tests/load.rs` runs it with 5 000 requests in `cargo test`; `examples/load.rs`
//! runs 100 000, or a soak.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::server::{app, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tower_iis::test_site::read_response;
use tower_iis::w3c::{ManualClock, Period, W3cLogLayer};

/// How the log is made to roll over during the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollover {
    /// `u_extendN.log` files of 1 MiB (IIS's smallest `truncateSize`).
    Size,
    /// Hourly files, the clock moved an hour on when half the requests are done.
    Clock,
}

/// What a run does.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub requests: u64,
    pub connections: usize,
    pub rollover: Rollover,
    pub dir: PathBuf,
    /// Also count the lines with GoAccess (when installed).
    pub goaccess: bool,
}

/// What a run saw.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub requests: u64,
    pub answered: u64,
    pub disconnects: u64,
    pub reached_stack: u64,
    /// Requests hyper dropped before the stack saw them (a client that closed
    /// right after sending, before the server read the request): no line is due.
    pub never_reached: u64,
    pub lines: u64,
    pub lines_lost: u64,
    pub lines_extra: u64,
    pub goaccess_valid: Option<u64>,
    pub files: usize,
    pub header_blocks: usize,
    pub elapsed: Duration,
    pub peak_rss_kib: u64,
    pub rss_after_warmup_kib: u64,
    pub rss_end_kib: u64,
    pub fds_before: usize,
    pub fds_after: usize,
    pub statuses: Vec<(String, u64)>,
    pub io_errors: u64,
    pub dropped: u64,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "requests sent      {} ({} client disconnects)",
            self.requests, self.disconnects
        )?;
        writeln!(f, "answers read       {}", self.answered)?;
        writeln!(
            f,
            "reached the stack  {} ({} dropped by hyper before the stack saw them)",
            self.reached_stack, self.never_reached
        )?;
        writeln!(
            f,
            "log lines          {} (lost {}, extra {})",
            self.lines, self.lines_lost, self.lines_extra
        )?;
        match self.goaccess_valid {
            Some(v) => writeln!(f, "GoAccess valid     {v}")?,
            None => writeln!(f, "GoAccess valid     (not run)")?,
        }
        writeln!(
            f,
            "log files          {} ({} header blocks)",
            self.files, self.header_blocks
        )?;
        writeln!(
            f,
            "writer             {} I/O errors, {} dropped",
            self.io_errors, self.dropped
        )?;
        let secs = self.elapsed.as_secs_f64();
        writeln!(
            f,
            "time               {secs:.1} s ({:.0} requests/s)",
            self.requests as f64 / secs
        )?;
        writeln!(
            f,
            "memory (VmRSS)     {} MiB after warm-up, {} MiB at the end, peak (VmHWM) {} MiB",
            self.rss_after_warmup_kib / 1024,
            self.rss_end_kib / 1024,
            self.peak_rss_kib / 1024
        )?;
        writeln!(
            f,
            "open files         {} before, {} after",
            self.fds_before, self.fds_after
        )?;
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}×{v}"))
            .collect();
        write!(f, "log statuses       {}", statuses.join(" "))
    }
}

/// The kinds of request in the mix, chosen by request number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ok,
    Missing,
    Filtered,
    Boom,
    Slow,
    Panic,
    Head,
    Post,
    /// Reads part of a streamed body, then closes the connection.
    LeaveMidBody,
    /// Closes the connection while the handler sleeps.
    LeaveInHandler,
}

fn kind(id: u64) -> Kind {
    match id % 100 {
        17 => Kind::LeaveMidBody,
        67 => Kind::LeaveInHandler,
        _ => match id % 20 {
            10 | 11 => Kind::Missing,
            12 => Kind::Filtered,
            13 => Kind::Boom,
            14 | 15 => Kind::Slow,
            16 => Kind::Panic,
            18 => Kind::Head,
            19 => Kind::Post,
            _ => Kind::Ok,
        },
    }
}

/// What the log line of a request must say: status, substatus, Win32 status.
fn expected(kind: Kind) -> (u16, u16, u32) {
    match kind {
        Kind::Ok | Kind::Slow | Kind::Head | Kind::Post => (200, 0, 0),
        Kind::Missing => (404, 3, 50),
        Kind::Filtered => (404, 7, 0),
        Kind::Boom => (500, 0, 0),
        Kind::Panic => (500, 0, 0),
        Kind::LeaveMidBody => (200, 0, 64),
        Kind::LeaveInHandler => (500, 0, 64),
    }
}

fn request(kind: Kind, id: u64) -> Vec<u8> {
    let (method, path, body) = match kind {
        Kind::Ok => ("GET", "/ok", ""),
        Kind::Missing => ("GET", "/missing", ""),
        Kind::Filtered => ("GET", "/source.cs", ""),
        Kind::Boom => ("GET", "/boom", ""),
        Kind::Slow => ("GET", "/slow", ""),
        Kind::Panic => ("GET", "/panic", ""),
        Kind::Head => ("HEAD", "/ok", ""),
        Kind::Post => ("POST", "/echo", "0123456789abcdef"),
        Kind::LeaveMidBody => ("GET", "/stream", ""),
        Kind::LeaveInHandler => ("GET", "/sleep", ""),
    };
    format!(
        "{method} {path}?id={id} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla/5.0 (load; tower-iis) {id}\r\n\
         Referer: http://localhost/load\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A `/proc/self/status` value in KiB (Linux; 0 elsewhere).
pub fn proc_status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
        })
        .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Open file descriptors of this process (Linux; 0 elsewhere).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Sends `config.requests` requests and checks the log. Run inside a multi-thread
/// Tokio runtime.
pub async fn run(config: &LoadConfig) -> LoadReport {
    let _ = std::fs::remove_dir_all(&config.dir);
    let fds_before = open_fds();
    let clock = Arc::new(ManualClock::at(2024, 6, 30, 23, 59, 0).unwrap());
    let mut builder = W3cLogLayer::builder()
        .directory(&config.dir)
        .clock(clock.clone());
    builder = match config.rollover {
        Rollover::Size => builder.period(Period::MaxSize).truncate_size(1024 * 1024),
        Rollover::Clock => builder.period(Period::Hourly),
    };
    let (layer, guard) = builder.build().unwrap();
    let handle = guard.handle();
    // Marks each request the stack sees (outside the log layer, in the same poll
    // as the log layer's call).
    let reached: Arc<Vec<AtomicU8>> =
        Arc::new((0..config.requests).map(|_| AtomicU8::new(0)).collect());
    let mark = {
        let reached = reached.clone();
        tower::util::MapRequestLayer::new(move |req: http::Request<axum::body::Body>| {
            if let Some(id) = query_id(req.uri().query()) {
                if let Some(slot) = reached.get(usize::try_from(id).unwrap_or(usize::MAX)) {
                    slot.fetch_add(1, Ordering::Relaxed);
                }
            }
            req
        })
    };
    let server = Server::start(app(layer, Arc::default()).layer(mark), None).await;
    let addr = server.addr;

    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..config.connections {
        let next = next.clone();
        let done = done.clone();
        let total = config.requests;
        workers.push(tokio::spawn(async move {
            let mut answered = 0u64;
            let mut left = 0u64;
            let mut conn: Option<BufReader<TcpStream>> = None;
            loop {
                let id = next.fetch_add(1, Ordering::Relaxed);
                if id >= total {
                    break;
                }
                let k = kind(id);
                let s = match conn.as_mut() {
                    Some(s) => s,
                    None => conn.insert(BufReader::new(TcpStream::connect(addr).await.unwrap())),
                };
                s.get_mut().write_all(&request(k, id)).await.unwrap();
                match k {
                    Kind::LeaveMidBody => {
                        let mut buf = [0u8; 1500];
                        let mut got = 0;
                        while got < 1500 {
                            let n = s.read(&mut buf).await.unwrap();
                            assert!(n > 0, "request {id}: the server closed early");
                            got += n;
                        }
                        conn = None;
                        left += 1;
                    }
                    Kind::LeaveInHandler => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        conn = None;
                        left += 1;
                    }
                    _ => {
                        let method = if k == Kind::Head { "HEAD" } else { "GET" };
                        let res =
                            tokio::time::timeout(Duration::from_secs(30), read_response(s, method))
                                .await
                                .unwrap_or_else(|_| panic!("request {id}: no answer in 30 s"))
                                .unwrap_or_else(|e| panic!("request {id} ({k:?}): {e}"));
                        assert_eq!(res.status, expected(k).0, "request {id} ({k:?})");
                        answered += 1;
                        // Request filtering closes the connection after a denial.
                        if res
                            .header("connection")
                            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
                        {
                            conn = None;
                        }
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            (answered, left)
        }));
    }

    // Watch memory, and force the clock rollover at half-way.
    let watch = {
        let done = done.clone();
        let total = config.requests;
        let rollover = config.rollover;
        tokio::spawn(async move {
            let mut warm = 0;
            let mut moved = false;
            while done.load(Ordering::Relaxed) < total {
                let d = done.load(Ordering::Relaxed);
                if warm == 0 && d >= total / 10 {
                    warm = proc_status_kib("VmRSS:");
                }
                if rollover == Rollover::Clock && !moved && d >= total / 2 {
                    clock.advance(Duration::from_secs(3600));
                    moved = true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            warm
        })
    };

    let mut report = LoadReport {
        requests: config.requests,
        fds_before,
        ..LoadReport::default()
    };
    for w in workers {
        let (answered, left) = w.await.unwrap();
        report.answered += answered;
        report.disconnects += left;
    }
    report.rss_after_warmup_kib = watch.await.unwrap();
    // Let the abandoned requests finish (handlers sleep 300 ms), then stop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.shutdown().await;
    let reached: Vec<u8> = reached.iter().map(|r| r.load(Ordering::SeqCst)).collect();
    report.reached_stack = reached.iter().filter(|r| **r > 0).count() as u64;
    report.never_reached = config.requests - report.reached_stack;
    drop(guard); // flushes and closes the last file
    report.elapsed = started.elapsed();
    report.peak_rss_kib = proc_status_kib("VmHWM:");
    report.rss_end_kib = proc_status_kib("VmRSS:");
    report.fds_after = open_fds();
    let stats = handle.stats();
    report.io_errors = stats.io_errors;
    report.dropped = stats.dropped;

    check_lines(config, &reached, &mut report);
    report
}

fn query_id(query: Option<&str>) -> Option<u64> {
    query?.strip_prefix("id=")?.parse().ok()
}

/// Reads every file back and matches lines to requests by their `id`.
fn check_lines(config: &LoadConfig, reached: &[u8], report: &mut LoadReport) {
    let files = super::log_files(&config.dir);
    report.files = files.len();
    let mut seen = vec![0u8; usize::try_from(config.requests).unwrap()];
    let mut statuses: HashMap<String, u64> = HashMap::new();
    for f in &files {
        // Every file, the rolled-over ones included, is private to its owner and group.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode & 0o037, 0, "{} has mode {mode:o}", f.display());
        }
        let raw = std::fs::read(f).unwrap();
        // Whole lines only: CRLF everywhere, no bare LF, no line glued to another.
        assert!(raw.ends_with(b"\r\n"), "{}", f.display());
        let text = String::from_utf8(raw).unwrap();
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "bare LF in {}",
            f.display()
        );
        let log =
            tower_iis::w3c::reader::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        report.header_blocks += log.blocks.len();
        for e in &log.entries {
            report.lines += 1;
            let id = query_id(e.get("cs-uri-query"))
                .unwrap_or_else(|| panic!("a line without an id: {e:?}"));
            let slot = &mut seen[usize::try_from(id).unwrap()];
            *slot = slot.saturating_add(1);
            let (mut status, mut sub, mut win32) = expected(kind(id));
            let got = (e.status(), e.substatus(), e.win32_status());
            if kind(id) == Kind::LeaveInHandler && got.0 == Some(200) {
                // The other side of a race: the handler answered before the server
                // saw the client go (a loaded machine can take longer than the
                // handler's 300 ms to run the connection's task). The answer was
                // then sent into a closed connection, or failed on it.
                (status, sub) = (200, 0);
                if got.2 == Some(0) {
                    win32 = 0;
                }
            }
            assert_eq!(
                got,
                (Some(status), Some(sub), Some(win32)),
                "request {id} ({:?})",
                kind(id)
            );
            *statuses
                .entry(format!("{status}.{sub}/{win32}"))
                .or_default() += 1;
        }
    }
    // Lost: a request the stack saw that has no line. A request hyper dropped
    // unseen has none, and must have none.
    report.lines_lost = seen
        .iter()
        .zip(reached)
        .filter(|(n, r)| **n == 0 && **r > 0)
        .count() as u64;
    let unseen_logged = seen
        .iter()
        .zip(reached)
        .filter(|(n, r)| **n > 0 && **r == 0)
        .count();
    assert_eq!(unseen_logged, 0, "a line for a request the stack never saw");
    for (id, (_, r)) in seen.iter().zip(reached).enumerate() {
        if *r == 0 {
            assert_eq!(
                kind(id as u64),
                Kind::LeaveInHandler,
                "request {id} never reached the stack"
            );
        }
    }
    report.lines_extra = seen.iter().map(|n| u64::from(n.saturating_sub(1))).sum();
    let mut statuses: Vec<_> = statuses.into_iter().collect();
    statuses.sort();
    report.statuses = statuses;
    if config.goaccess {
        report.goaccess_valid = super::goaccess_valid(&files, &config.dir.join("goaccess.json"));
    }
}

/// A soak: rounds of requests for `secs` seconds, each round's log checked, memory
/// and open files sampled between rounds.
pub async fn soak(secs: u64, connections: usize, dir: &Path) {
    let until = Instant::now() + Duration::from_secs(secs);
    let mut round = 0;
    let mut first: Option<(u64, usize)> = None;
    let mut total = 0;
    let mut unseen = 0;
    println!("round  requests  unseen  lost  VmRSS MiB  VmHWM MiB  fds");
    while Instant::now() < until {
        let config = LoadConfig {
            requests: 20_000,
            connections,
            rollover: if round % 2 == 0 {
                Rollover::Size
            } else {
                Rollover::Clock
            },
            dir: dir.join(format!("round-{}", round % 2)),
            goaccess: false,
        };
        let r = run(&config).await;
        assert_eq!((r.lines_lost, r.lines_extra), (0, 0), "round {round}");
        total += r.requests;
        unseen += r.never_reached;
        let rss = r.rss_end_kib;
        let fds = r.fds_after;
        first.get_or_insert((rss, fds));
        println!(
            "{round:>5}  {:>8}  {:>6}  {:>4}  {:>9}  {:>9}  {fds:>3}",
            r.requests,
            r.never_reached,
            r.lines_lost,
            rss / 1024,
            r.peak_rss_kib / 1024
        );
        round += 1;
    }
    let (rss0, fds0) = first.unwrap_or_default();
    println!(
        "soak: {round} rounds, {total} requests ({unseen} dropped by hyper unseen), 0 lines lost; VmRSS {} → {} MiB, peak {} MiB; fds {fds0} → {}",
        rss0 / 1024,
        proc_status_kib("VmRSS:") / 1024,
        proc_status_kib("VmHWM:") / 1024,
        open_fds()
    );
    let _ = std::fs::remove_dir_all(dir);
}
