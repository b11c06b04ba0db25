//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod body;
#[cfg(all(feature = "axum", feature = "test-site"))]
pub mod load;
#[cfg(all(feature = "axum", feature = "test-site"))]
pub mod server;

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;

use http::{Request, Response};
use tower::ServiceBuilder;
use tower_iis::w3c::{W3cLogBuilder, W3cLogGuard};

/// A log layer in front of a handler that answers `200 hello`, as a nameable type.
pub type Svc = tower_iis::w3c::W3cLog<
    tower::util::ServiceFn<
        fn(Request<String>) -> std::future::Ready<Result<Response<String>, Infallible>>,
    >,
>;

/// Answers `200 hello`.
pub fn hello(_req: Request<String>) -> std::future::Ready<Result<Response<String>, Infallible>> {
    std::future::ready(Ok(Response::new("hello".to_owned())))
}

/// Builds the log from `builder` in front of [`hello`].
pub fn start(builder: W3cLogBuilder) -> (Svc, W3cLogGuard) {
    let (layer, guard) = builder.build().unwrap();
    let f: fn(Request<String>) -> _ = hello;
    (ServiceBuilder::new().layer(layer).service_fn(f), guard)
}

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

/// GoAccess's valid-request count for some log files, `None` when it is missing.
pub fn goaccess_valid(files: &[PathBuf], out: &Path) -> Option<u64> {
    status_counts_from_goaccess(files, out).map(|c| {
        assert_eq!(c.failed, 0, "GoAccess found lines it could not parse");
        c.valid
    })
}

/// The W3C log files of site 1 under `dir`, sorted.
pub fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("W3SVC1"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Every entry of those files, read with the crate's reader (which fails on a line
/// whose column count differs from `#Fields`).
pub fn entries(dir: &Path) -> Vec<tower_iis::w3c::reader::Entry> {
    log_files(dir)
        .iter()
        .flat_map(|f| {
            tower_iis::w3c::reader::read_file(f)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
                .entries
        })
        .collect()
}

/// A fresh, empty temporary directory for one test, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tower-iis-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Filebeat's `iis` access pattern 1 (IIS's 15 default fields), its grok turned into
/// a regex: every line must match, with the stem in `path`.
pub fn filebeat_default_pattern() -> regex::Regex {
    let ts = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:?[0-9]{2}(?::?[0-9]{2}(?:[.,][0-9]+)?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?";
    let ip = r"(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)";
    let host = r"[0-9A-Za-z][0-9A-Za-z-]{0,62}(?:\.[0-9A-Za-z][0-9A-Za-z-]{0,62})*\.?";
    let iporhost = format!("(?:{ip}|{host})");
    let word = r"[A-Za-z0-9_]+";
    let ns = r"[^ \t\r\n]+";
    let num = r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)";
    let p = format!(
        "^(?P<time>{ts}) (?:-|{iporhost}) (?:-|(?P<method>{word})) (?:-|(?P<path>{ns})) (?:-|(?P<query>{ns})) \
         (?:-|(?P<port>{num})) (?:-|{ns}) (?:-|(?P<client>{iporhost})) (?:-|{ns}) (?:-|{ns}) \
         (?:-|(?P<status>{num})) (?:-|(?P<sub>{num})) (?:-|(?P<win32>{num})) (?:-|(?P<duration>{num}))\
         (?: (?:-|{iporhost}))?$"
    );
    regex::Regex::new(&p).unwrap()
}
