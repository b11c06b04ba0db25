//! The W3C log writer facing a failing disk: a writer that fails on demand (all at
//! once or part-way through a write), a real full device, a real full file system
//! and a read-only one. The service keeps answering, errors are counted, and when
//! the disk comes back every line is there exactly once, whole, after a fresh
//! header block. (`tests/suite/w3c_files.rs` covers a removed directory and a file in the
//! directory's place.)

mod common;

use common::{start, Svc, TempDir};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Request;
use http_body_util::BodyExt;
use tower::{Service, ServiceExt};
use tower_iis::w3c::{reader, ManualClock, Period, Sink, W3cLogLayer};

/// Warnings the writer reported through `tracing` (target `tower_iis::w3c`).
static WARNINGS: AtomicU64 = AtomicU64::new(0);

struct CountWarnings;

impl tracing::Subscriber for CountWarnings {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        *m.level() == tracing::Level::WARN && m.target().starts_with("tower_iis::w3c")
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {
        WARNINGS.fetch_add(1, Ordering::SeqCst);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn count_warnings() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| tracing::subscriber::set_global_default(CountWarnings).unwrap());
}

/// Sends `/<n>` and reads the whole answer: the service must keep answering.
async fn hit(svc: &mut Svc, n: usize) {
    let req = Request::get(format!("/{n}"))
        .header("user-agent", "fault test agent with a few words in it")
        .body(String::new())
        .unwrap();
    let res = svc.ready().await.unwrap().call(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello");
}

/// The stems of every entry, in order; the text must read cleanly.
fn stems(text: &str) -> Vec<usize> {
    let log = reader::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    log.entries
        .iter()
        .map(|e| e.get("cs-uri-stem").unwrap()[1..].parse().unwrap())
        .collect()
}

/// Every line of a log text is a directive or a whole entry.
fn assert_no_torn_line(text: &str) {
    assert!(text.is_empty() || text.ends_with("\r\n"), "{text:?}");
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if let Some(d) = line.strip_prefix('#') {
            assert!(
                ["Software: ", "Version: ", "Date: ", "Fields: "]
                    .iter()
                    .any(|p| d.starts_with(p)),
                "torn directive {line:?}"
            );
            assert!(!d[1..].contains('#'), "two lines in one: {line:?}");
        } else {
            assert_eq!(line.split(' ').count(), 15, "torn entry {line:?}");
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Ok,
    /// Fail every write with this OS error.
    Fail(i32),
    /// Accept this many more bytes, then fail as the disk fills.
    FailAfter(usize),
}

/// A disk that fails on demand.
#[derive(Clone)]
struct Disk {
    data: Arc<Mutex<Vec<u8>>>,
    mode: Arc<Mutex<Mode>>,
}

impl Disk {
    fn new() -> Self {
        Self {
            data: Arc::default(),
            mode: Arc::new(Mutex::new(Mode::Ok)),
        }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn text(&self) -> String {
        String::from_utf8(self.data.lock().unwrap().clone()).unwrap()
    }
}

const ENOSPC: i32 = 28;
const EIO: i32 = 5;

impl Write for Disk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut mode = self.mode.lock().unwrap();
        match *mode {
            Mode::Ok => {
                self.data.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            Mode::Fail(code) => Err(io::Error::from_raw_os_error(code)),
            Mode::FailAfter(room) => {
                if room == 0 {
                    return Err(io::Error::from_raw_os_error(ENOSPC));
                }
                let n = room.min(buf.len());
                self.data.lock().unwrap().extend_from_slice(&buf[..n]);
                *mode = Mode::FailAfter(room - n);
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match *self.mode.lock().unwrap() {
            Mode::Fail(code) => Err(io::Error::from_raw_os_error(code)),
            _ => Ok(()),
        }
    }
}

#[tokio::test]
async fn a_failing_writer_loses_and_tears_nothing() {
    count_warnings();
    let disk = Disk::new();
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .sink(Sink::writer(disk.clone()))
            .flush_interval(Duration::from_millis(20)),
    );
    let handle = guard.handle();
    let mut n = 0;
    // The very first write stops inside the header block.
    disk.set(Mode::FailAfter(90));
    for _ in 0..10 {
        hit(&mut svc, n).await;
        n += 1;
    }
    assert!(handle.flush().is_err());
    disk.set(Mode::Ok);
    handle.flush().unwrap();
    assert_no_torn_line(&disk.text());

    // The disk fills in the middle of a line, then reports I/O errors; requests
    // are still answered, flushes report the failure, errors are counted.
    disk.set(Mode::FailAfter(1000));
    for _ in 0..20 {
        hit(&mut svc, n).await;
        n += 1;
    }
    assert!(handle.flush().is_err());
    disk.set(Mode::Fail(EIO));
    for _ in 0..20 {
        hit(&mut svc, n).await;
        n += 1;
    }
    assert!(handle.flush().is_err());
    let errors = handle.stats().io_errors;
    assert!(errors >= 2, "{errors}");
    assert!(
        WARNINGS.load(Ordering::SeqCst) >= 2,
        "each failure is reported"
    );

    // A partial write again, then the disk comes back.
    disk.set(Mode::FailAfter(333));
    assert!(handle.flush().is_err());
    disk.set(Mode::Ok);
    for _ in 0..10 {
        hit(&mut svc, n).await;
        n += 1;
    }
    handle.flush().unwrap();
    drop(guard);

    let text = disk.text();
    assert_no_torn_line(&text);
    assert_eq!(stems(&text), (0..n).collect::<Vec<_>>(), "{text}");
    let blocks = reader::parse(&text).unwrap().blocks.len();
    assert!(
        blocks >= 2,
        "a fresh header block after the failure: {text}"
    );
    let stats = handle.stats();
    assert_eq!((stats.lines, stats.dropped), (n as u64, 0));
}

fn site_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("W3SVC1"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn all_text(dir: &Path) -> String {
    site_files(dir)
        .iter()
        .filter(|p| p.is_file())
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// The log file is a link to `/dev/full`: the writer refuses to follow it (it would
/// fail every write with ENOSPC). When the link is gone, the writer creates a real
/// file with every kept line.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_full_device_then_recovery() {
    let tmp = TempDir::new("devfull");
    let site = tmp.0.join("W3SVC1");
    std::fs::create_dir_all(&site).unwrap();
    std::os::unix::fs::symlink("/dev/full", site.join("u_ex240101.log")).unwrap();
    let clock = Arc::new(ManualClock::at(2024, 1, 1, 12, 0, 0).unwrap());
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&tmp.0)
            .clock(clock)
            .flush_interval(Duration::from_millis(20)),
    );
    let handle = guard.handle();
    for n in 0..5 {
        hit(&mut svc, n).await;
    }
    let err = handle.flush().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other, "{err}");
    assert!(handle.stats().io_errors >= 1);
    std::fs::remove_file(site.join("u_ex240101.log")).unwrap();
    for n in 5..8 {
        hit(&mut svc, n).await;
    }
    handle.flush().unwrap();
    drop(guard);
    let text = all_text(&tmp.0);
    assert_no_torn_line(&text);
    assert_eq!(stems(&text), (0..8).collect::<Vec<_>>());
    assert_eq!(handle.stats().dropped, 0);
}

/// A small tmpfs mounted for the test (root only; skipped elsewhere).
struct Mount(TempDir);

impl Mount {
    fn tmpfs(name: &str, size: &str) -> Option<Self> {
        let dir = TempDir::new(name);
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(&dir.0)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("skipping: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Self(dir))
    }

    fn remount(&self, opts: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0 .0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0 .0).output();
    }
}

/// A real file system that fills up (writes stop part-way through a line) and then
/// turns read-only (EROFS, which stops root too, unlike file modes). Each time the
/// service keeps answering; when space and write access come back, the file holds
/// every line once, whole.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_real_full_then_read_only_file_system() {
    let Some(mount) = Mount::tmpfs("tmpfs", "256k") else {
        return;
    };
    let root = mount.0 .0.clone();
    let clock = Arc::new(ManualClock::at(2024, 1, 1, 12, 0, 0).unwrap());
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&root)
            .period(Period::Daily)
            .clock(clock)
            .flush_interval(Duration::from_millis(20)),
    );
    let handle = guard.handle();
    let mut n = 0;
    for _ in 0..20 {
        hit(&mut svc, n).await;
        n += 1;
    }
    handle.flush().unwrap();

    // Fill the file system. The log file can still fill the rest of its last
    // page, so its next write stops part-way through a line.
    let filler = root.join("filler");
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![b'x'; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    for _ in 0..400 {
        hit(&mut svc, n).await;
        n += 1;
    }
    assert!(handle.flush().is_err(), "the disk is full");
    assert!(handle.stats().io_errors >= 1);

    // Space comes back.
    std::fs::remove_file(&filler).unwrap();
    handle.flush().unwrap();
    let text = all_text(&root);
    assert_no_torn_line(&text);
    assert_eq!(stems(&text), (0..n).collect::<Vec<_>>());

    assert_eq!(handle.stats().dropped, 0);
    drop(guard);

    // Read-only (a file system with a file open for writing cannot be remounted,
    // so a second layer starts on it): opening fails with EROFS, even for root.
    mount.remount("ro");
    assert!(std::fs::remove_dir_all(root.join("W3SVC1")).is_err());
    let clock = Arc::new(ManualClock::at(2024, 1, 1, 13, 0, 0).unwrap());
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&root)
            .clock(clock)
            .flush_interval(Duration::from_millis(20)),
    );
    let handle = guard.handle();
    for _ in 0..30 {
        hit(&mut svc, n).await;
        n += 1;
    }
    let err = handle.flush().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other, "{err}");
    assert!(handle.stats().io_errors >= 1);
    mount.remount("rw");
    handle.flush().unwrap();
    drop(guard);

    let text = all_text(&root);
    assert_no_torn_line(&text);
    assert_eq!(stems(&text), (0..n).collect::<Vec<_>>());
    assert_eq!(handle.stats().dropped, 0);
    #[cfg(unix)]
    for f in site_files(&root) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&f).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640, "{}", f.display());
    }
}

/// A process that died in the middle of a write left half a line: the next one
/// cuts it before appending its header block, so the file reads cleanly.
#[tokio::test]
async fn a_line_torn_by_a_crash_is_cut_on_open() {
    let tmp = TempDir::new("crash");
    let site = tmp.0.join("W3SVC1");
    std::fs::create_dir_all(&site).unwrap();
    let clock = Arc::new(ManualClock::at(2024, 1, 1, 12, 0, 0).unwrap());
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&tmp.0)
            .clock(clock.clone()),
    );
    hit(&mut svc, 0).await;
    drop(guard);
    let path = site.join("u_ex240101.log");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"2024-01-01 12:00:00 127.0.0.1 GET /1 - 80 - 127.0.0.1 half")
        .unwrap();
    drop(f);
    let (mut svc, guard) = start(W3cLogLayer::builder().directory(&tmp.0).clock(clock));
    hit(&mut svc, 2).await;
    drop(guard);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_no_torn_line(&text);
    assert_eq!(stems(&text), [0, 2]);
    assert_eq!(reader::parse(&text).unwrap().blocks.len(), 2);
}

/// Extreme settings: a flush interval of "never" keeps the writer alive through a
/// failure (the retry time must not overflow), and a queue larger than memory is
/// refused when the layer is built instead of aborting the process.
#[tokio::test]
async fn extreme_settings_neither_kill_the_writer_nor_the_process() {
    let disk = Disk::new();
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .sink(Sink::writer(disk.clone()))
            .flush_interval(Duration::MAX),
    );
    let handle = guard.handle();
    disk.set(Mode::Fail(EIO));
    hit(&mut svc, 0).await;
    let err = handle.flush().unwrap_err();
    assert_ne!(
        err.kind(),
        io::ErrorKind::BrokenPipe,
        "the writer died: {err}"
    );
    disk.set(Mode::Ok);
    hit(&mut svc, 1).await;
    handle.flush().unwrap();
    drop(guard);
    assert_eq!(stems(&disk.text()), [0, 1]);

    let err = W3cLogLayer::builder()
        .sink(Sink::writer(Disk::new()))
        .queue_capacity(usize::MAX)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("queue capacity"), "{err}");
}

/// A long outage: the writer keeps at most 1 MiB of unwritten lines; beyond that
/// lines are dropped, and every one of them is counted. Nothing else is lost.
#[tokio::test]
async fn a_long_outage_drops_only_what_it_counts() {
    let disk = Disk::new();
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .sink(Sink::writer(disk.clone()))
            .flush_interval(Duration::from_millis(10)),
    );
    let handle = guard.handle();
    disk.set(Mode::Fail(ENOSPC));
    let n = 12_000;
    for i in 0..n {
        hit(&mut svc, i).await;
    }
    assert!(handle.flush().is_err());
    disk.set(Mode::Ok);
    handle.flush().unwrap();
    drop(guard);
    let text = disk.text();
    assert_no_torn_line(&text);
    let written = stems(&text);
    let stats = handle.stats();
    assert!(stats.dropped > 0, "the outage outlasted the buffer");
    assert_eq!(written.len() as u64 + stats.dropped, n as u64);
    assert_eq!(stats.lines, written.len() as u64);
    // The oldest lines are kept; the newest are the ones dropped.
    assert_eq!(written, (0..written.len()).collect::<Vec<_>>());
    eprintln!(
        "outage: {} lines kept, {} dropped and counted",
        written.len(),
        stats.dropped
    );
}

/// The disk is full at shutdown: every line that did not reach it is counted.
#[tokio::test]
async fn lines_lost_at_shutdown_are_counted() {
    for (mode, name) in [
        (Mode::Fail(ENOSPC), "full"),
        (Mode::FailAfter(700), "fills"),
    ] {
        let disk = Disk::new();
        let (mut svc, guard) = start(
            W3cLogLayer::builder()
                .sink(Sink::writer(disk.clone()))
                .flush_interval(Duration::from_secs(3600)),
        );
        let handle = guard.handle();
        for n in 0..10 {
            hit(&mut svc, n).await;
        }
        handle.flush().unwrap();
        disk.set(mode);
        for n in 10..25 {
            hit(&mut svc, n).await;
        }
        let stats = guard.close();
        assert_eq!(stats, handle.stats());
        let on_disk = stems(&whole_lines(&disk.text())).len() as u64;
        assert_eq!(stats.lines, 25, "{name}");
        assert!(on_disk < 25, "{name}: {on_disk}");
        assert_eq!(stats.dropped, 25 - on_disk, "{name}: {stats:?}");
        assert_eq!(stats.written, on_disk, "{name}: {stats:?}");
    }
}

/// The text up to its last line end (what a reader of a torn file keeps).
fn whole_lines(text: &str) -> String {
    text.rfind('\n')
        .map_or(String::new(), |i| text[..=i].to_owned())
}

/// A header block cut mid-line at the end of a file (the disk filled while it was
/// written, then the process stopped) is cut cleanly at the next start.
#[tokio::test]
async fn a_header_block_cut_at_the_end_is_cut_at_the_next_start() {
    let tmp = TempDir::new("cuthead");
    let site = tmp.0.join("W3SVC1");
    std::fs::create_dir_all(&site).unwrap();
    let clock = Arc::new(ManualClock::at(2024, 1, 1, 12, 0, 0).unwrap());
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&tmp.0)
            .clock(clock.clone()),
    );
    hit(&mut svc, 0).await;
    drop(guard);
    let path = site.join("u_ex240101.log");
    let whole = std::fs::read_to_string(&path).unwrap();
    let fields_at = whole.find("#Fields").unwrap();
    for cut in [10, fields_at - 5, fields_at + 20] {
        let mut text = whole.clone();
        text.push_str(&whole[..cut]);
        std::fs::write(&path, &text).unwrap();
        let (mut svc, guard) = start(
            W3cLogLayer::builder()
                .directory(&tmp.0)
                .clock(clock.clone()),
        );
        hit(&mut svc, 2).await;
        drop(guard);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_no_torn_line(&text);
        assert_eq!(stems(&text), [0, 2], "cut at {cut}");
        let log = reader::parse(&text).unwrap();
        assert_eq!(log.blocks.len(), 2, "cut at {cut}: {text}");
        assert!(
            !text.contains("#Version: 1.0\r\n#Software"),
            "cut at {cut}: {text}"
        );
    }
}
