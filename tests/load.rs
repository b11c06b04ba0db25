//! The load run of `tests/common/load.rs`, smaller: 5 000 requests over 64
//! keep-alive loopback connections with a forced rollover; exactly one whole line
//! per request, by our reader and by GoAccess.
//! `cargo run --release --features axum --example load` runs 100 000 (see
//! RELIABILITY.md).
//!
//! A process of its own: it checks the process's open files and peak memory.
#![cfg(all(feature = "axum", feature = "test-site"))]

mod common;

use common::load::{self, LoadConfig, Rollover};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_requests_one_line_each_across_a_rollover() {
    let requests = std::env::var("TOWER_IIS_LOAD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let config = LoadConfig {
        requests,
        connections: 64,
        rollover: Rollover::Clock,
        dir: std::env::temp_dir().join(format!("tower-iis-{}-load", std::process::id())),
        goaccess: true,
    };
    let report = load::run(&config).await;
    eprintln!("{report}");
    assert_eq!(report.lines_lost, 0, "{report}");
    assert_eq!(report.lines_extra, 0, "{report}");
    // A client that leaves right after sending may be gone before hyper hands the
    // request to the stack; that request has no line, and is not lost.
    assert_eq!(report.lines, report.reached_stack, "{report}");
    assert!(report.never_reached <= report.disconnects / 2, "{report}");
    assert_eq!(report.answered + report.disconnects, requests);
    assert!(report.disconnects > 0);
    assert_eq!(
        report.files, 2,
        "the clock rolled the log over once: {report}"
    );
    assert_eq!((report.io_errors, report.dropped), (0, 0));
    if let Some(valid) = report.goaccess_valid {
        assert_eq!(valid, report.lines, "{report}");
    }
    // Memory stays bounded: well under 256 MiB for the whole test process.
    assert!(report.peak_rss_kib < 256 * 1024, "{report}");
    // No connection or file left open (a little slack for the runtime).
    assert!(report.fds_after <= report.fds_before + 4, "{report}");
    let _ = std::fs::remove_dir_all(&config.dir);
}
