//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Valid and failed requests, and hits per status code, as GoAccess counted them.
pub struct GoAccessCounts {
    pub valid: u64,
    pub failed: u64,
    pub codes: Vec<(u16, u64)>,
}

pub fn status_counts_from_goaccess(files: &[PathBuf], out: &Path) -> Option<GoAccessCounts> {
    let run = Command::new("goaccess")
        .args(files)
        .args(["--log-format=W3C", "--no-global-config", "-o"])
        .arg(out)
        .output();
    let run = match run {
        Ok(r) => r,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "goaccess is required in CI but could not be run: {e}"
            );
            eprintln!("skipping the GoAccess check: goaccess not found ({e})");
            return None;
        }
    };
    assert!(
        run.status.success(),
        "goaccess failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    let general = &json["general"];
    let valid = general["valid_requests"].as_u64().unwrap();
    let failed = general["failed_requests"].as_u64().unwrap();
    let mut codes = Vec::new();
    for group in json["status_codes"]["data"].as_array().unwrap() {
        for item in group["items"].as_array().unwrap() {
            let code: u16 = item["data"].as_str().unwrap()[..3].parse().unwrap();
            codes.push((code, item["hits"]["count"].as_u64().unwrap()));
        }
    }
    codes.sort_unstable();
    Some(GoAccessCounts {
        valid,
        failed,
        codes,
    })
}
