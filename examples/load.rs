//! Load and soak for the whole stack over loopback: many keep-alive connections
//! sending a mix of successes, IIS errors, request-filtering denials, caught
//! panics, slow bodies and clients that leave, across a forced log rollover. Then
//! every request is matched to exactly one log line (our reader, and GoAccess when
//! it is installed), and peak memory and open files are reported.
//!
//! ```text
//! cargo run --release --features axum,test-site --example load      # 100 000 requests, 64 connections
//! cargo run --release --features axum,test-site --example load -- --requests 20000 --connections 32
//! cargo run --release --features axum,test-site --example load -- --soak 300   # 5 minutes: memory and fds flat?
//! ```
//!
//! The run itself is `tests/common/load.rs`; `tests/load.rs` runs it with 5 000
//! requests in `cargo test`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

use common::load::{run, soak, LoadConfig, Rollover};

fn main() {
    let mut requests = 100_000;
    let mut connections = 64;
    let mut soak_secs = None;
    let mut dir = std::env::temp_dir().join(format!("tower-iis-load-{}", std::process::id()));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().expect("a value after the flag");
        match a.as_str() {
            "--requests" => requests = value().parse().expect("a number of requests"),
            "--connections" => connections = value().parse().expect("a number of connections"),
            "--soak" => soak_secs = Some(value().parse().expect("seconds")),
            "--dir" => dir = PathBuf::from(value()),
            other => panic!("unknown argument {other}"),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if let Some(secs) = soak_secs {
            soak(secs, connections, &dir).await;
            return;
        }
        let config = LoadConfig {
            requests,
            connections,
            rollover: Rollover::Size,
            dir: dir.clone(),
            goaccess: true,
        };
        let report = run(&config).await;
        println!("{report}");
        assert_eq!((report.lines_lost, report.lines_extra), (0, 0));
        let _ = std::fs::remove_dir_all(&dir);
    });
}
