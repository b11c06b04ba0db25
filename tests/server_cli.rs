//! The `tower-iis serve` command, run as a child process: it answers the README's
//! examples from `examples/wwwroot`, writes both logs, and on SIGTERM under load
//! finishes what is in flight and loses no line.
#![cfg(feature = "cli")]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower_iis::w3c::reader;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tower-iis-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts `tower-iis serve examples/wwwroot` on a free port; returns the child and
/// the address it printed.
fn spawn_cli(logs: &Path) -> (Child, SocketAddr) {
    spawn_cli_on(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wwwroot")),
        logs,
    )
}

/// Starts `tower-iis serve ROOT` on a free port.
fn spawn_cli_on(root: &Path, logs: &Path) -> (Child, SocketAddr) {
    spawn_cli_with(root, logs, &[])
}

/// Starts `tower-iis serve ROOT` on a free port with more arguments.
fn spawn_cli_with(root: &Path, logs: &Path, args: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tower-iis"))
        .arg("serve")
        .arg(root)
        .args(["--listen", "127.0.0.1:0", "--logs"])
        .arg(logs)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with("tower-iis serving "), "{line}");
    let addr = line
        .trim()
        .rsplit_once("http://")
        .and_then(|(_, a)| a.strip_suffix('/'))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let mut second = String::new();
    out.read_line(&mut second).unwrap();
    assert!(
        second.starts_with("W3C log: ") && second.contains("HTTPERR log: "),
        "{second}"
    );
    // Keep reading stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut rest = String::new();
        while out.read_line(&mut rest).unwrap_or(0) > 0 {}
    });
    (child, addr)
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait(mut child: Child) -> std::process::ExitStatus {
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the server did not stop within 10 s of SIGTERM");
}

async fn raw(addr: SocketAddr, req: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn entries(dir: &Path) -> Vec<reader::Entry> {
    let mut all = Vec::new();
    if let Ok(files) = std::fs::read_dir(dir) {
        let mut files: Vec<_> = files.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            all.extend(reader::read_file(&f).unwrap().entries);
        }
    }
    all
}

#[tokio::test]
async fn serve_answers_the_readme_examples_and_writes_both_logs() {
    let logs = TempDir::new("cli-logs");
    let (child, addr) = spawn_cli(&logs.0);
    let get =
        |path: &str| format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let home = raw(addr, get("/").as_bytes()).await;
    assert!(home.starts_with("HTTP/1.1 200 OK\r\n"), "{home}");
    let xyz = raw(addr, get("/report.xyz").as_bytes()).await;
    assert!(xyz.starts_with("HTTP/1.1 404 Not Found\r\n"));
    assert!(xyz.contains("<title>IIS 10.0 Detailed Error - 404.3 - Not Found</title>"));
    let hidden = raw(addr, get("/web.config").as_bytes()).await;
    assert!(hidden.starts_with("HTTP/1.1 404 Not Found\r\n"));
    let bad = raw(
        addr,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad: \x01\r\n\r\n",
    )
    .await;
    assert!(bad.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{bad}");
    assert!(bad.contains("<h2>Bad Request - Invalid Header</h2>"));
    let long = raw(addr, get(&format!("/{}", "x".repeat(300))).as_bytes()).await;
    assert!(
        long.contains("<h2>Bad Request - Invalid URL</h2>"),
        "{long}"
    );

    sigterm(&child);
    assert!(wait(child).success(), "serve exits 0 after a graceful stop");
    let w3c = entries(&logs.0.join("W3SVC1"));
    let statuses: Vec<_> = w3c.iter().map(|e| (e.status(), e.substatus())).collect();
    assert_eq!(
        statuses,
        [
            (Some(200), Some(0)),
            (Some(404), Some(3)),
            (Some(404), Some(8))
        ]
    );
    let httperr_file = logs.0.join("HTTPERR").join("httperr1.log");
    let text = std::fs::read_to_string(&httperr_file).unwrap();
    assert!(text.starts_with("#Software: Microsoft HTTP API 2.0\r\n#Version: 1.0\r\n#Date: "));
    assert!(text.contains("\r\n#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri streamid sc-status s-siteid s-reason s-queuename\r\n"));
    let httperr = reader::read_file(&httperr_file).unwrap().entries;
    let reasons: Vec<_> = httperr
        .iter()
        .map(|e| e.get("s-reason").unwrap().to_owned())
        .collect();
    assert_eq!(reasons, ["Header", "URL"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_line() {
    let logs = TempDir::new("cli-sigterm");
    let (child, addr) = spawn_cli(&logs.0);
    let answered = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..150 {
        let answered = answered.clone();
        clients.push(tokio::spawn(async move {
            let Ok(mut s) = TcpStream::connect(addr).await else {
                return;
            };
            let mut buf = vec![0u8; 64 * 1024];
            // Keep-alive requests until the server closes the connection.
            for _ in 0..10_000 {
                if s.write_all(b"GET /site.css HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let mut got = Vec::new();
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                    if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                answered.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = answered.load(Ordering::Relaxed);
    sigterm(&child);
    for c in clients {
        c.await.unwrap();
    }
    let status = tokio::task::spawn_blocking(move || wait(child))
        .await
        .unwrap();
    assert!(
        status.success(),
        "serve exits 0: every line reached the disk"
    );
    let total = answered.load(Ordering::Relaxed);
    let lines = entries(&logs.0.join("W3SVC1"));
    eprintln!(
        "SIGTERM under load: {before} answered before the signal, {total} in all, {} lines",
        lines.len()
    );
    assert!(before > 150, "the load was running");
    assert_eq!(
        lines.len() as u64,
        total,
        "one line per answered request, none lost"
    );
    assert!(lines.iter().all(|e| e.status() == Some(200)));
}

/// A folder whose web.config carries URL Rewrite rules behaves over the command's
/// sockets as it does in the rewrite suite, and every failure gets its trace.
#[tokio::test]
async fn serve_follows_the_folder_rewrite_rules_and_traces_failures() {
    let root = TempDir::new("cli-rewrite-root");
    std::fs::write(
        root.0.join("web.config"),
        include_str!("data/rewrite/web.config"),
    )
    .unwrap();
    let logs = TempDir::new("cli-rewrite-logs");
    let (child, addr) = spawn_cli_on(&root.0, &logs.0);
    let get = |path: &str, host: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
    };
    let canonical = raw(addr, get("/shop?x=1", "example.com").as_bytes()).await;
    assert!(
        canonical.starts_with("HTTP/1.1 301 Moved Permanently\r\n"),
        "{canonical}"
    );
    assert!(
        canonical.contains("\r\nLocation: https://www.example.com/shop?x=1\r\n"),
        "{canonical}"
    );
    let lower = raw(addr, get("/Docs/Page", "localhost").as_bytes()).await;
    assert!(
        lower.starts_with("HTTP/1.1 301 Moved Permanently\r\n"),
        "{lower}"
    );
    assert!(lower.contains("\r\nLocation: /docs/page\r\n"), "{lower}");
    let git = raw(addr, get("/.git/config", "localhost").as_bytes()).await;
    assert!(git.starts_with("HTTP/1.1 404 Not Found\r\n"), "{git}");
    assert!(
        git.contains("<title>IIS 10.0 Detailed Error - 404.8 - Not Found</title>"),
        "{git}"
    );
    sigterm(&child);
    assert!(wait(child).success());
    let lines = entries(&logs.0.join("W3SVC1"));
    let seen: Vec<_> = lines
        .iter()
        .map(|e| {
            (
                e.get("cs-uri-stem").unwrap().to_owned(),
                e.get("sc-status").unwrap().to_owned(),
                e.get("sc-substatus").unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("/shop", "301", "0"),
        ("/Docs/Page", "301", "0"),
        ("/.git/config", "404", "8"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(seen, expected);
    // Only the 404.8 is a failure (400-599): one trace, naming its status.
    let traces = logs.0.join("FailedReqLogFiles").join("W3SVC1");
    let trace = std::fs::read_to_string(traces.join("fr000001.xml")).unwrap();
    assert!(trace.contains(r#"statusCode="404.8""#), "{trace}");
    assert!(!traces.join("fr000002.xml").exists());
}

#[tokio::test]
async fn serve_believes_only_the_trusted_proxy() {
    let logs = TempDir::new("cli-proxy");
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wwwroot"));
    let (child, addr) = spawn_cli_with(
        root,
        &logs.0,
        &[
            "--trusted-proxy",
            "127.0.0.1",
            "--trusted-proxy",
            "10.0.0.0/8",
        ],
    );
    let get = |from: &str| {
        format!("GET /missing.txt HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: {from}\r\nConnection: close\r\n\r\n")
    };
    // From the proxy on loopback: the named client is remote.
    let remote = raw(addr, get("203.0.113.9, 10.1.2.3").as_bytes()).await;
    // From 127.0.0.2, which is not trusted: still local, the header ignored.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut s = sock.connect(addr).await.unwrap();
    s.write_all(get("203.0.113.9").as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let local = String::from_utf8_lossy(&out).into_owned();
    sigterm(&child);
    assert!(wait(child).success());
    assert!(remote.starts_with("HTTP/1.1 404 Not Found\r\n"), "{remote}");
    assert!(!remote.contains("Detailed Error"), "{remote}");
    assert!(!remote.contains("wwwroot"), "no physical path: {remote}");
    assert!(
        local.contains("Detailed Error - 404.0 - Not Found"),
        "{local}"
    );
    let w3c = entries(&logs.0.join("W3SVC1"));
    let clients: Vec<_> = w3c.iter().map(|e| e.get("c-ip").unwrap()).collect();
    assert_eq!(clients, ["203.0.113.9", "127.0.0.2"]);
    // The HTTPERR log would keep the peer, as http.sys does; nothing was refused here.

    // A value that is not an address or range is refused, by name.
    let out = Command::new(env!("CARGO_BIN_EXE_tower-iis"))
        .args([
            "serve",
            ".",
            "--listen",
            "127.0.0.1:0",
            "--trusted-proxy",
            "10.0.0.0/33",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"10.0.0.0/33\""), "{err}");
}

#[tokio::test]
async fn serve_signs_basic_users_in_where_a_folder_turns_basic_on() {
    let root = TempDir::new("cli-basic-root");
    let logs = TempDir::new("cli-basic-logs");
    std::fs::create_dir_all(root.0.join("private")).unwrap();
    std::fs::write(root.0.join("index.htm"), "<p>everyone</p>").unwrap();
    std::fs::write(root.0.join("private/index.htm"), "<p>members</p>").unwrap();
    std::fs::write(
        root.0.join("private/web.config"),
        r#"<configuration>
  <system.webServer>
    <security>
      <authentication>
        <anonymousAuthentication enabled="false" />
        <basicAuthentication enabled="true" realm="Members" />
      </authentication>
    </security>
  </system.webServer>
</configuration>"#,
    )
    .unwrap();
    let (child, addr) = spawn_cli_with(&root.0, &logs.0, &["--basic-user", "alice:pw"]);
    let get = |auth: &str| {
        format!("GET /private/ HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n")
    };
    let none = raw(addr, get("").as_bytes()).await;
    // alice:pw
    let right = raw(
        addr,
        get("Authorization: Basic YWxpY2U6cHc=\r\n").as_bytes(),
    )
    .await;
    let open = raw(
        addr,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    sigterm(&child);
    assert!(wait(child).success());
    assert!(none.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{none}");
    assert!(
        none.to_ascii_lowercase()
            .contains("\r\nwww-authenticate: basic realm=\"members\"\r\n"),
        "{none}"
    );
    assert!(
        none.contains("<title>IIS 10.0 Detailed Error - 401.2 - Unauthorized</title>"),
        "{none}"
    );
    assert!(right.starts_with("HTTP/1.1 200 OK\r\n"), "{right}");
    assert!(right.ends_with("\r\n\r\n<p>members</p>"), "{right}");
    assert!(open.starts_with("HTTP/1.1 200 OK\r\n"), "{open}");
    let w3c = entries(&logs.0.join("W3SVC1"));
    let got: Vec<String> = w3c
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {} {}",
                e.get("cs-uri-stem").unwrap(),
                e.get("cs-username").unwrap(),
                e.get("sc-status").unwrap(),
                e.get("sc-substatus").unwrap(),
                e.get("sc-win32-status").unwrap()
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "/private/ - 401 2 5",
            "/private/ alice 200 0 0",
            "/ - 200 0 0"
        ]
    );

    // A value without a colon is refused, by name.
    let out = Command::new(env!("CARGO_BIN_EXE_tower-iis"))
        .args([
            "serve",
            ".",
            "--listen",
            "127.0.0.1:0",
            "--basic-user",
            "alice",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--basic-user \"alice\""), "{err}");
}

/// One request on an open keep-alive connection, and its whole response (the body
/// read to its `Content-Length`).
async fn exchange(s: &mut TcpStream, path: &str) -> String {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(
            n > 0,
            "the connection closed: {}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

/// Asks `path` on new connections until the answer starts with `status`.
async fn until(addr: SocketAddr, path: &str, status: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        last = raw(
            addr,
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await;
        if last.starts_with(status) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {status} for {path} within 10 s; the last answer: {last}");
}

/// IIS applies a changed web.config to the next requests, without a restart: so
/// does `tower-iis serve`, on connections already open as on new ones. A broken
/// web.config is answered with 500.19, and mending it mends the site.
#[tokio::test]
async fn serve_applies_a_changed_web_config_to_the_next_requests() {
    let root = TempDir::new("cli-reload-root");
    let logs = TempDir::new("cli-reload-logs");
    std::fs::write(root.0.join("a.txt"), "text").unwrap();
    let config = |header: &str, deny_txt: bool| {
        let deny = if deny_txt {
            r#"<security><requestFiltering><fileExtensions><add fileExtension=".txt" allowed="false" /></fileExtensions></requestFiltering></security>"#
        } else {
            ""
        };
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.webServer>
    <httpProtocol><customHeaders><add name="X-Site" value="{header}" /></customHeaders></httpProtocol>
    {deny}
  </system.webServer>
</configuration>"#
        )
    };
    std::fs::write(root.0.join("web.config"), config("one", false)).unwrap();
    let (child, addr) = spawn_cli_on(&root.0, &logs.0);
    let mut kept = TcpStream::connect(addr).await.unwrap();
    let first = exchange(&mut kept, "/a.txt").await;
    std::fs::write(root.0.join("web.config"), config("two", false)).unwrap();
    // The same keep-alive connection sees the new header once the site is rebuilt.
    let mut second = String::new();
    for _ in 0..100 {
        second = exchange(&mut kept, "/a.txt").await;
        if second.to_ascii_lowercase().contains("\r\nx-site: two\r\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::write(root.0.join("web.config"), config("three", true)).unwrap();
    let denied = until(addr, "/a.txt", "HTTP/1.1 404 ").await;
    std::fs::write(
        root.0.join("web.config"),
        "<configuration><system.webServer>",
    )
    .unwrap();
    let broken = until(addr, "/a.txt", "HTTP/1.1 500 ").await;
    std::fs::remove_file(root.0.join("web.config")).unwrap();
    let mended = until(addr, "/a.txt", "HTTP/1.1 200 ").await;
    sigterm(&child);
    assert!(wait(child).success());

    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert!(
        first.to_ascii_lowercase().contains("\r\nx-site: one\r\n"),
        "{first}"
    );
    assert!(first.ends_with("\r\n\r\ntext"), "{first}");
    assert!(second.starts_with("HTTP/1.1 200 OK\r\n"), "{second}");
    assert!(
        second.to_ascii_lowercase().contains("\r\nx-site: two\r\n"),
        "{second}"
    );
    assert!(denied.starts_with("HTTP/1.1 404 Not Found\r\n"), "{denied}");
    assert!(
        denied.contains("<title>IIS 10.0 Detailed Error - 404.7 - Not Found</title>"),
        "{denied}"
    );
    assert!(
        broken.contains("<title>IIS 10.0 Detailed Error - 500.19 - Internal Server Error</title>"),
        "{broken}"
    );
    assert!(mended.ends_with("\r\n\r\ntext"), "{mended}");
    assert!(!mended.to_ascii_lowercase().contains("x-site"), "{mended}");
    // The log holds each answer as it was given.
    let w3c = entries(&logs.0.join("W3SVC1"));
    let codes: Vec<String> = w3c
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e.get("sc-status").unwrap(),
                e.get("sc-substatus").unwrap()
            )
        })
        .collect();
    assert_eq!(
        codes.first().map(String::as_str),
        Some("200 0"),
        "{codes:?}"
    );
    assert!(codes.iter().any(|c| c == "404 7"), "{codes:?}");
    assert!(codes.iter().any(|c| c == "500 19"), "{codes:?}");
    assert_eq!(codes.last().map(String::as_str), Some("200 0"), "{codes:?}");
    assert_eq!(codes.len(), w3c.len());
}
