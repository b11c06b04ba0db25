//! A log disk that hangs (writes to a FIFO nobody reads block, as on a hung network
//! mount): the server keeps answering, the lines it cannot keep are dropped and
//! counted, and shutdown finishes within its deadline. (A FIFO at a log file's
//! path is refused outright: `w3c_files.rs`.)
#![cfg(all(feature = "axum", feature = "test-site"))]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::server::{app, Server};
use crate::common::TempDir;
use tower_iis::w3c::{Sink, W3cLogLayer};

/// One `GET` on a new connection with a 5 s limit; the status line, or the error.
fn get(addr: SocketAddr, n: usize) -> Result<String, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // About 1 KB per line: the pipe's 64 KB buffer fills after some 60 lines.
    let pad = "p".repeat(1000);
    s.write_all(
        format!("GET /ok?n={n}&{pad} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .map_err(|e| format!("request {n}: {e}"))?;
    let text = String::from_utf8_lossy(&out);
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

#[test]
fn a_hung_log_disk_does_not_stop_the_server() {
    let dir = TempDir::new("fifo");
    let fifo = dir.0.join("hung.log");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // Read and write: the open does not wait for a reader, and nothing ever reads,
    // so writes block once the pipe's 64 KB are full.
    let hung = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();

    let (layer, guard) = W3cLogLayer::builder()
        .sink(Sink::writer(hung))
        .queue_capacity(8)
        .queue_wait(Duration::from_millis(200))
        .flush_interval(Duration::from_millis(20))
        .shutdown_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let handle = guard.handle();

    // The server runs on a runtime of its own (two workers), so a blocked worker
    // shows up as a client timeout rather than a hung test.
    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let server = Server::start(app(layer, Arc::default()), None).await;
            addr_tx.send(server.addr).unwrap();
            let _ = stop_rx.await;
            server.shutdown().await;
        });
        let started = Instant::now();
        drop(guard);
        done_tx.send(started.elapsed()).unwrap();
    });
    let addr = addr_rx.recv().unwrap();

    for n in 0..300 {
        let status = get(addr, n).unwrap_or_else(|e| panic!("the server stopped answering: {e}"));
        assert_eq!(status, "HTTP/1.1 200 OK", "request {n}");
    }
    let stats = handle.stats();
    assert!(
        stats.dropped >= 100 && stats.lines + stats.dropped <= 300,
        "lines that could not be kept are counted: {stats:?}"
    );

    // A flush gives up after its timeout instead of hanging.
    let t = Instant::now();
    assert!(handle.flush_timeout(Duration::from_millis(300)).is_err());
    assert!(t.elapsed() < Duration::from_secs(2));

    // Shutdown: the server stops and the guard gives up on the writer in time.
    stop_tx.send(()).unwrap();
    let took = done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("shutdown finishes");
    assert!(took < Duration::from_secs(2), "the guard waited {took:?}");
}

/// A writer that takes 3 ms for every write: a slow disk.
struct SlowDisk(Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for SlowDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(Duration::from_millis(3));
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_log_disk_loses_nothing() {
    use tower::{Service, ServiceExt};
    let out = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (svc, guard) = crate::common::start(
        W3cLogLayer::builder()
            .sink(Sink::writer(SlowDisk(out.clone())))
            .queue_capacity(4)
            .flush_interval(Duration::from_millis(1)),
    );
    let handle = guard.handle();
    let tasks: Vec<_> = (0..32)
        .map(|t| {
            let mut svc = svc.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    let req = http::Request::get(format!("/{t}/{i}"))
                        .body(String::new())
                        .unwrap();
                    let res = svc.ready().await.unwrap().call(req).await.unwrap();
                    assert_eq!(res.status(), 200);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    handle.flush().unwrap();
    let stats = handle.stats();
    assert_eq!((stats.lines, stats.dropped), (800, 0), "{stats:?}");
    drop(guard);
    let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
    let log = tower_iis::w3c::reader::parse(&text).unwrap();
    assert_eq!(log.entries.len(), 800);
}
