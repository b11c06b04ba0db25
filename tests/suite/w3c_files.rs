//! W3C log files: IIS's names for every period and the size limit, header blocks,
//! reopening, retention, and recovery from I/O errors. Time comes from a fake clock.

use crate::common;

use crate::common::{start, Svc};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use http_body_util::BodyExt;
use tower::{Service, ServiceBuilder, ServiceExt};
use tower_iis::w3c::{reader, CustomField, ManualClock, Period, W3cLogGuard};
use tower_iis::W3cLogLayer;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tower-iis-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn hit(svc: &mut Svc, path: &str, user_agent: &str) {
    let req = Request::get(path)
        .header("user-agent", user_agent)
        .body(String::new())
        .unwrap();
    let res = svc.ready().await.unwrap().call(req).await.unwrap();
    res.into_body().collect().await.unwrap();
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("W3SVC1"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("W3SVC1").join(name)).unwrap()
}

const DEFAULT_FIELDS: &str = "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n";

/// The file starts with IIS's 4-line header block.
fn assert_header_on_top(text: &str) {
    let mut lines = text.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("#Software: Microsoft Internet Information Services 10.0")
    );
    assert_eq!(lines.next(), Some("#Version: 1.0"));
    let date = lines.next().unwrap().strip_prefix("#Date: ").unwrap();
    assert_eq!(date.len(), 19, "{date}");
    assert!(lines.next().unwrap().starts_with("#Fields: date time "));
}

/// Logs one request at each time (UTC civil) and returns the file names.
async fn names_for(period: Period, times: &[(i32, u8, u8, u8, u8, u8)]) -> Vec<String> {
    let dir = temp_dir(&format!("period-{period}"));
    let (y, mo, d, h, mi, s) = times[0];
    let clock = Arc::new(ManualClock::at(y, mo, d, h, mi, s).unwrap());
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&dir)
            .period(period)
            .clock(clock.clone()),
    );
    for &(y, mo, d, h, mi, s) in times {
        let at = ManualClock::at(y, mo, d, h, mi, s).unwrap();
        clock.set(at.now_unix_for_tests());
        hit(&mut svc, "/", "t").await;
    }
    drop(guard);
    let names = files(&dir);
    let mut total = 0;
    for name in &names {
        let text = read(&dir, name);
        assert_header_on_top(&text);
        assert!(text.contains(DEFAULT_FIELDS));
        total += reader::parse(&text).unwrap().entries.len();
    }
    assert_eq!(total, times.len());
    let _ = std::fs::remove_dir_all(&dir);
    names
}

trait UnixSecs {
    fn now_unix_for_tests(&self) -> u64;
}

impl UnixSecs for ManualClock {
    fn now_unix_for_tests(&self) -> u64 {
        use tower_iis::w3c::Clock;
        self.now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }
}

#[tokio::test]
async fn hourly_daily_weekly_monthly_names() {
    assert_eq!(
        names_for(
            Period::Hourly,
            &[
                (2024, 3, 9, 23, 59, 58),
                (2024, 3, 9, 23, 59, 59),
                (2024, 3, 10, 0, 0, 1)
            ]
        )
        .await,
        ["u_ex24030923.log", "u_ex24031000.log"]
    );
    assert_eq!(
        names_for(
            Period::Daily,
            &[(2024, 2, 29, 23, 59, 59), (2024, 3, 1, 0, 0, 0)]
        )
        .await,
        ["u_ex240229.log", "u_ex240301.log"]
    );
    // March 2024: Fri 1 and Sat 2 are week 1, Sun 3 starts week 2, Sun 31 is week 6.
    assert_eq!(
        names_for(
            Period::Weekly,
            &[
                (2024, 3, 2, 23, 59, 59),
                (2024, 3, 3, 0, 0, 0),
                (2024, 3, 9, 12, 0, 0),
                (2024, 3, 10, 0, 0, 0),
                (2024, 3, 31, 0, 0, 0),
                (2024, 4, 1, 0, 0, 0),
            ]
        )
        .await,
        [
            "u_ex240301.log",
            "u_ex240302.log",
            "u_ex240303.log",
            "u_ex240306.log",
            "u_ex240401.log"
        ]
    );
    assert_eq!(
        names_for(
            Period::Monthly,
            &[(2023, 12, 31, 23, 59, 59), (2024, 1, 1, 0, 0, 0)]
        )
        .await,
        ["u_ex2312.log", "u_ex2401.log"]
    );
}

#[tokio::test]
async fn size_limit_rolls_to_numbered_files() {
    let dir = temp_dir("size");
    let clock = Arc::new(ManualClock::at(2024, 1, 1, 0, 0, 0).unwrap());
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&dir)
            .period(Period::MaxSize)
            .truncate_size(1000) // raised to IIS's minimum of 1 MiB
            .clock(clock),
    );
    let ua = "x".repeat(4000);
    for _ in 0..300 {
        hit(&mut svc, "/", &ua).await;
    }
    drop(guard);
    assert_eq!(files(&dir), ["u_extend1.log", "u_extend2.log"]);
    let one = read(&dir, "u_extend1.log");
    let two = read(&dir, "u_extend2.log");
    assert!(one.len() <= 1024 * 1024, "{}", one.len());
    assert!(one.len() > 1024 * 1024 - 5000, "{}", one.len());
    assert_header_on_top(&one);
    assert_header_on_top(&two);
    let lines =
        reader::parse(&one).unwrap().entries.len() + reader::parse(&two).unwrap().entries.len();
    assert_eq!(lines, 300);

    // A restart appends to the highest-numbered file, under a fresh header block.
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&dir)
            .period(Period::MaxSize),
    );
    hit(&mut svc, "/again", "t").await;
    drop(guard);
    assert_eq!(files(&dir), ["u_extend1.log", "u_extend2.log"]);
    let two = reader::parse(&read(&dir, "u_extend2.log")).unwrap();
    assert_eq!(two.blocks.len(), 2);
    assert_eq!(
        two.entries.last().unwrap().get("cs-uri-stem"),
        Some("/again")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn reopen_and_field_change_write_a_new_header_block() {
    let dir = temp_dir("reopen");
    let clock = Arc::new(ManualClock::at(2024, 5, 6, 7, 8, 9).unwrap());
    let (mut svc, guard) = start(W3cLogLayer::builder().directory(&dir).clock(clock.clone()));
    hit(&mut svc, "/first", "t").await;
    drop(guard);
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&dir)
            .clock(clock.clone())
            .fields(["time-taken", "sc-status", "date", "time", "cs-uri-stem"]),
    );
    hit(&mut svc, "/second", "t").await;
    drop(guard);
    assert_eq!(files(&dir), ["u_ex240506.log"]);
    let text = read(&dir, "u_ex240506.log");
    assert_header_on_top(&text);
    assert!(text.contains(
        "\r\n#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n\
         #Date: 2024-05-06 07:08:09\r\n#Fields: date time cs-uri-stem sc-status time-taken\r\n\
         2024-05-06 07:08:09 /second 200 0\r\n"
    ));
    let log = reader::parse(&text).unwrap();
    assert_eq!(log.blocks.len(), 2);
    assert_eq!(log.entries.len(), 2);
    assert_eq!(log.entries[0].get("cs-uri-stem"), Some("/first"));
    assert_eq!(log.entries[0].values().len(), 15);
    assert_eq!(log.entries[1].values().len(), 5);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn custom_fields_add_x_to_the_name() {
    let dir = temp_dir("custom");
    let clock = Arc::new(ManualClock::at(2017, 7, 3, 1, 0, 0).unwrap());
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&dir)
            .clock(clock)
            .custom_field(CustomField::request_header(
                "X-Forwarded-For",
                http::HeaderName::from_static("x-forwarded-for"),
            )),
    );
    hit(&mut svc, "/", "t").await;
    drop(guard);
    assert_eq!(files(&dir), ["u_ex170703_x.log"]);
    let text = read(&dir, "u_ex170703_x.log");
    assert!(text.contains(" time-taken X-Forwarded-For\r\n"));
    assert!(text.ends_with(" 200 0 0 0 -\r\n"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An hourly log in `dir` keeping two files, with one request in each of `hours`
/// hours from 00:30 on 1 January 2024.
async fn hourly_with_retention(dir: &Path, hours: usize) -> W3cLogGuard {
    let clock = Arc::new(ManualClock::at(2024, 1, 1, 0, 30, 0).unwrap());
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(dir)
            .period(Period::Hourly)
            .retain_files(2)
            .clock(clock.clone()),
    );
    for _ in 0..hours {
        hit(&mut svc, "/", "t").await;
        guard.handle().flush().unwrap();
        clock.advance(Duration::from_secs(3600));
    }
    guard
}

#[tokio::test]
async fn retention_keeps_the_newest_files() {
    let dir = temp_dir("retain");
    let guard = hourly_with_retention(&dir, 4).await;
    drop(guard);
    assert_eq!(files(&dir), ["u_ex24010102.log", "u_ex24010103.log"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Old files are deleted while the log runs, off the writer's thread: lines keep
/// going to the newest file meanwhile, and none is lost.
#[tokio::test]
async fn retention_deletes_while_the_log_runs() {
    let dir = temp_dir("retain-live");
    let guard = hourly_with_retention(&dir, 5).await;
    let want = ["u_ex24010103.log", "u_ex24010104.log"];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while files(&dir) != want && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(files(&dir), want, "the log still runs");
    assert_eq!(guard.handle().stats().lines, 5);
    // The deleting is done by a thread of its own, not the writer.
    #[cfg(target_os = "linux")]
    {
        let names: Vec<String> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
            .map(|c| c.trim().to_owned())
            .collect();
        assert!(names.iter().any(|n| n == "w3c-log-retain"), "{names:?}");
    }
    drop(guard);
    assert_eq!(files(&dir), want);
    for name in want {
        let text = read(&dir, name);
        assert_eq!(
            text.lines().filter(|l| !l.starts_with('#')).count(),
            1,
            "{text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn io_errors_are_counted_and_the_writer_recovers() {
    let dir = temp_dir("ioerr");
    let clock = Arc::new(ManualClock::at(2024, 1, 1, 0, 0, 0).unwrap());
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&dir)
            .flush_interval(Duration::from_millis(50))
            .clock(clock),
    );
    let handle = guard.handle();
    assert!(!dir.exists(), "nothing is created before the first request");
    hit(&mut svc, "/one", "t").await;
    handle.flush().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("W3SVC1/u_ex240101.log"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    // The directory disappears: the next flush recreates it with a fresh header.
    std::fs::remove_dir_all(&dir).unwrap();
    hit(&mut svc, "/two", "t").await;
    handle.flush().unwrap();
    let text = read(&dir, "u_ex240101.log");
    assert_header_on_top(&text);
    assert_eq!(reader::parse(&text).unwrap().entries.len(), 1);

    // A file where the directory should be: writes fail, requests do not.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("W3SVC1"), b"in the way").unwrap();
    hit(&mut svc, "/three", "t").await;
    assert!(handle.flush().is_err());
    hit(&mut svc, "/four", "t").await;
    assert!(handle.stats().io_errors >= 1);

    // Fixed: the kept lines land under a fresh header block.
    std::fs::remove_file(dir.join("W3SVC1")).unwrap();
    handle.flush().unwrap();
    let log = reader::parse(&read(&dir, "u_ex240101.log")).unwrap();
    let stems: Vec<_> = log
        .entries
        .iter()
        .map(|e| e.get("cs-uri-stem").unwrap())
        .collect();
    assert_eq!(stems, ["/three", "/four"]);
    assert_eq!(handle.stats().lines, 4);
    assert_eq!(handle.stats().dropped, 0);
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_configuration_is_named() {
    let err = W3cLogLayer::builder()
        .fields(["date", "time", "cs-uri-stemm"])
        .build()
        .unwrap_err();
    assert_eq!(
        (err.setting(), err.value()),
        ("logExtFileFlags", "cs-uri-stemm")
    );
    assert!(err.reason().contains("unknown W3C log field"), "{err}");
    assert!(err.to_string().contains("\"cs-uri-stemm\""));
    let err = W3cLogLayer::builder()
        .custom_field(CustomField::app_value("Tenant Id", "tenant"))
        .build()
        .unwrap_err();
    assert_eq!(err.value(), "Tenant Id");
    assert!(err.to_string().contains("\"Tenant Id\""), "{err}");
    let err = W3cLogLayer::builder()
        .custom_field(CustomField::app_value("X", "a"))
        .custom_field(CustomField::app_value("x", "b"))
        .build()
        .unwrap_err();
    assert_eq!(
        (err.setting(), err.value(), err.reason()),
        (
            "customFields/add@logFieldName",
            "x",
            "W3C log field is given twice"
        )
    );
    let err = W3cLogLayer::builder().build().unwrap_err();
    assert_eq!((err.setting(), err.value()), ("logFile@directory", ""));
    assert!(err.reason().contains("directory(..) or sink(..)"), "{err}");
    let err = W3cLogLayer::builder().retain_files(0).build().unwrap_err();
    assert_eq!(
        (err.setting(), err.value(), err.reason()),
        ("retain_files", "0", "the W3C log must keep at least 1 file")
    );
}

#[tokio::test]
async fn oneshot_through_the_crate_root_export() {
    let sink = tower_iis::w3c::MemorySink::new();
    let (layer, guard) = W3cLogLayer::builder()
        .sink(tower_iis::w3c::Sink::memory(&sink))
        .computer_name("WEB01")
        .fields([
            "s-computername",
            "sc-win32-status",
            "cs-method",
            "sc-status",
        ])
        .build()
        .unwrap();
    let svc = ServiceBuilder::new().layer(layer).service_fn(common::hello);
    let res = svc
        .oneshot(Request::post("/").body(String::new()).unwrap())
        .await
        .unwrap();
    drop(res.into_body()); // dropped before its end: the client went away
    guard.handle().flush().unwrap();
    let text = sink.contents();
    assert!(
        text.ends_with(
            "#Fields: s-computername cs-method sc-status sc-win32-status\r\nWEB01 POST 200 64\r\n"
        ),
        "{text}"
    );
    let _ = guard;
}

/// `#Date` is when the file got its first line, never later than that line's time,
/// even when the line waited for the flush.
#[tokio::test]
async fn header_date_is_never_later_than_the_first_line() {
    let dir = temp_dir("header-date");
    let clock = Arc::new(ManualClock::at(2024, 5, 1, 10, 0, 0).unwrap());
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&dir)
            .flush_interval(std::time::Duration::from_secs(3600))
            .clock(clock.clone()),
    );
    hit(&mut svc, "/first", "t").await;
    clock.advance(std::time::Duration::from_secs(59));
    hit(&mut svc, "/second", "t").await;
    guard.handle().flush().unwrap();
    drop(guard);
    let text = read(&dir, "u_ex240501.log");
    let log = reader::parse(&text).unwrap();
    assert_eq!(log.blocks[0].date.as_deref(), Some("2024-05-01 10:00:00"));
    let first = &log.entries[0];
    assert_eq!(
        (first.get("date"), first.get("time")),
        (Some("2024-05-01"), Some("10:00:00"))
    );
    assert_eq!(log.entries[1].get("time"), Some("10:00:59"));
}

/// A symlink or a FIFO at the log file's path is refused (counted, reported); the
/// file it points to is never cut or appended to, and no thread hangs on the FIFO.
#[cfg(unix)]
#[tokio::test]
async fn a_symlink_or_fifo_at_the_log_path_is_refused() {
    let dir = temp_dir("symlink");
    let site = dir.join("W3SVC1");
    std::fs::create_dir_all(&site).unwrap();
    let outside = dir.join("not-a-log.txt");
    let original = b"someone's data\nwith an unfinished last line";
    std::fs::write(&outside, original).unwrap();
    std::os::unix::fs::symlink(&outside, site.join("u_ex240101.log")).unwrap();
    let clock = Arc::new(ManualClock::at(2024, 1, 1, 0, 0, 0).unwrap());
    let (mut svc, guard) = start(
        W3cLogLayer::builder()
            .directory(&dir)
            .flush_interval(Duration::from_millis(50))
            .clock(clock.clone()),
    );
    let handle = guard.handle();
    hit(&mut svc, "/one", "t").await;
    let err = handle.flush().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Other, "{err}");
    assert_eq!(std::fs::read(&outside).unwrap(), original);
    assert!(handle.stats().io_errors >= 1);
    assert_eq!(handle.stats().files_opened, 0);

    // A FIFO in the next day's place: refused at once, no hang.
    clock.advance(Duration::from_secs(86_400));
    let fifo = site.join("u_ex240102.log");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    hit(&mut svc, "/two", "t").await;
    let started = std::time::Instant::now();
    assert!(handle.flush_timeout(Duration::from_secs(3)).is_err());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(handle.stats().files_opened, 0);

    // A regular file that is not a log (nor a hard link) is not cut either.
    std::fs::remove_file(&fifo).unwrap();
    std::fs::write(&fifo, original).unwrap();
    assert!(handle.flush().is_err());
    assert_eq!(std::fs::read(&fifo).unwrap(), original);
    std::fs::remove_file(&fifo).unwrap();
    std::fs::hard_link(dir.join("not-a-log.txt"), &fifo).unwrap();
    assert!(handle.flush().is_err());
    assert_eq!(std::fs::read(&outside).unwrap(), original);

    // Once it is gone, the kept lines land in a file of our own.
    std::fs::remove_file(&fifo).unwrap();
    handle.flush().unwrap();
    assert_eq!(std::fs::read(&outside).unwrap(), original);
    let log = reader::parse(&read(&dir, "u_ex240102.log")).unwrap();
    let stems: Vec<_> = log
        .entries
        .iter()
        .map(|e| e.get("cs-uri-stem").unwrap())
        .collect();
    assert_eq!(stems, ["/one", "/two"]);
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
}
