//! `DetailedLocalOnly` against a client that really is remote: a network namespace
//! with a veth pair on addresses this test creates (198.18.0.0/15, the range set
//! aside for network tests), a server bound to the host's end, and requests sent
//! from inside the namespace with every header that claims to be local. None of
//! them sees the physical path, the source error or the details table, and the
//! log records the real client address.
//!
//! Needs root and `ip` (iproute2); skipped elsewhere. `tests/suite/examples.rs` covers
//! the same rule by rewriting the client address, which runs anywhere.
#![cfg(all(feature = "axum", feature = "test-site"))]

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::common::server::{app, get_once, Server};
use crate::common::{entries, TempDir};
use tower_iis::w3c::W3cLogLayer;

/// A network namespace joined to this one by a veth pair, removed on drop.
struct Netns {
    name: String,
    host: Ipv4Addr,
    peer: Ipv4Addr,
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Netns {
    fn create() -> Option<Self> {
        let pid = std::process::id();
        let name = format!("tiis{pid}");
        // A /30 of 198.18.0.0/15 chosen by pid, so parallel runs do not collide.
        let block = (pid % (1 << 15)) * 4;
        let base = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + block;
        let host = Ipv4Addr::from(base + 1);
        let peer = Ipv4Addr::from(base + 2);
        let (vh, vn) = (format!("vh{pid}"), format!("vn{pid}"));
        if !ip(&["netns", "add", &name]) {
            eprintln!("skipping: cannot create a network namespace (needs root and iproute2)");
            return None;
        }
        let ns = Self { name, host, peer };
        let host_cidr = format!("{host}/30");
        let peer_cidr = format!("{peer}/30");
        let ok = ip(&["link", "add", &vh, "type", "veth", "peer", "name", &vn])
            && ip(&["link", "set", &vn, "netns", &ns.name])
            && ip(&["addr", "add", &host_cidr, "dev", &vh])
            && ip(&["link", "set", &vh, "up"])
            && ip(&[
                "netns", "exec", &ns.name, "ip", "addr", "add", &peer_cidr, "dev", &vn,
            ])
            && ip(&["netns", "exec", &ns.name, "ip", "link", "set", &vn, "up"])
            && ip(&["netns", "exec", &ns.name, "ip", "link", "set", "lo", "up"]);
        if !ok {
            eprintln!("skipping: could not set up the veth pair");
            return None;
        }
        Some(ns)
    }

    /// Sends `raw` from inside the namespace and returns what came back.
    fn send(&self, to: SocketAddr, raw: &str) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, "bash", "-c"])
            .arg(format!(
                "exec 3<>/dev/tcp/{}/{} && printf '%s' \"$REQ\" >&3 && timeout 10 cat <&3",
                to.ip(),
                to.port()
            ))
            .env("REQ", raw)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes its end of the pair, and with it the other.
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// What only a local client may see.
const DETAILS: &[&str] = &[
    "Detailed Error",
    "details-left",
    "C:\\inetpub",
    "panicked on purpose",
    "404.3",
    "StaticFileModule",
    "Physical Path",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_in_another_network_namespace_never_sees_details() {
    let Some(ns) = Netns::create() else {
        return;
    };
    let dir = TempDir::new("netns");
    let (layer, guard) = W3cLogLayer::builder().directory(&dir.0).build().unwrap();
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((ns.host, 0)))
        .await
        .unwrap();
    let server = Server::start_on(listener, app(layer.clone(), Arc::default()), None);
    let addr = server.addr;

    // The same application on loopback shows the details: the markers are right.
    let local = Server::start(app(layer, Arc::default()), None).await;
    let page = get_once(local.addr, "/missing").await.text();
    for d in DETAILS.iter().filter(|d| !d.contains("panicked")) {
        assert!(page.contains(d), "{d} missing from the local page");
    }
    assert!(get_once(local.addr, "/panic")
        .await
        .text()
        .contains("panicked on purpose"));

    let claims = [
        "",
        "X-Forwarded-For: 127.0.0.1\r\n",
        "X-Forwarded-For: ::1, 127.0.0.1\r\n",
        "Forwarded: for=127.0.0.1;host=localhost;proto=http\r\n",
        "X-Real-IP: 127.0.0.1\r\nX-Client-IP: 127.0.0.1\r\nTrue-Client-IP: 127.0.0.1\r\n",
        "X-Original-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: localhost\r\n",
    ];
    let hosts = ["localhost", "127.0.0.1", "[::1]", "localhost:80"];
    let mut sent = 0;
    for target in [
        "/missing",
        "/nowhere.htm",
        "/panic",
        "http://localhost/missing",
    ] {
        for claim in claims {
            for host in hosts {
                let raw = format!(
                    "GET {target} HTTP/1.1\r\nHost: {host}\r\n{claim}Accept-Language: en-US\r\nConnection: close\r\n\r\n"
                );
                let ns_ref = &ns;
                let answer = tokio::task::block_in_place(|| ns_ref.send(addr, &raw));
                sent += 1;
                let status = answer.get(9..12).unwrap_or("");
                assert!(
                    ["404", "500"].contains(&status),
                    "{target} {claim:?}: {answer}"
                );
                assert!(
                    answer.contains("<title>404 - File or directory not found.</title>")
                        || answer.contains("<title>500 - Internal server error.</title>"),
                    "{target} {claim:?} {host}: {answer}"
                );
                for d in DETAILS {
                    assert!(
                        !answer.contains(d),
                        "{d} leaked to {target} {claim:?} {host}: {answer}"
                    );
                }
            }
        }
    }

    server.shutdown().await;
    local.shutdown().await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    drop(guard);
    let peer = ns.peer.to_string();
    let remote_lines: Vec<_> = entries(&dir.0)
        .into_iter()
        .filter(|e| e.get("s-ip") == Some(ns.host.to_string().as_str()))
        .collect();
    assert_eq!(remote_lines.len(), sent);
    for e in &remote_lines {
        assert_eq!(e.get("c-ip"), Some(peer.as_str()), "{e:?}");
    }
}
