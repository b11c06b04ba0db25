//! A local attacker who can write inside the content root swaps a folder for a
//! symbolic link to a folder outside it, over and over, while files are requested
//! from that folder: nothing outside the root is ever served. Runs for 3 s
//! (`TOWER_IIS_RACE_SECS` for longer; RELIABILITY.md records a 60 s run).
#![cfg(all(feature = "static-files", target_os = "linux"))]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_iis::static_files::StaticFiles;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_swapped_for_a_link_never_serves_outside_files() {
    let secs: u64 = std::env::var("TOWER_IIS_RACE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = std::env::temp_dir().join(format!("tower-iis-race-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let www = dir.join("www");
    let outside = dir.join("outside");
    std::fs::create_dir_all(www.join("d")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(www.join("d/page.txt"), "inside").unwrap();
    std::fs::write(outside.join("page.txt"), "OUTSIDE").unwrap();
    std::os::unix::fs::symlink(&outside, www.join("l")).unwrap();
    let svc = StaticFiles::new(&www).unwrap();

    // The attacker: the folder and the link trade places, as fast as renames go.
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let www = www.clone();
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                std::fs::rename(www.join("d"), www.join("d.real")).unwrap();
                std::fs::rename(www.join("l"), www.join("d")).unwrap();
                std::fs::rename(www.join("d"), www.join("l")).unwrap();
                std::fs::rename(www.join("d.real"), www.join("d")).unwrap();
                swaps += 1;
            }
            swaps
        })
    };

    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut requests, mut inside, mut outside_reads) = (0u64, 0u64, 0u64);
    while Instant::now() < deadline {
        let req = Request::get("/d/page.txt").body(String::new()).unwrap();
        let res = svc.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        requests += 1;
        if status == 200 {
            match &body[..] {
                b"inside" => inside += 1,
                b"OUTSIDE" => outside_reads += 1,
                other => panic!("unexpected body {other:?}"),
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    eprintln!(
        "{secs} s: {requests} requests, {inside} served from inside, {outside_reads} from outside, {swaps} swaps"
    );
    assert!(inside > 0, "the file inside is served between swaps");
    assert_eq!(
        outside_reads, 0,
        "{outside_reads} of {requests} served from outside the root"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
