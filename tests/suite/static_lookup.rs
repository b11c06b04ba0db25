//! How `StaticFiles` tells a path that names nothing (the application's) from one
//! that may name a file, without a file-system call per request: over the index
//! kept by a file watcher (the default) and over the negative cache. Files created
//! after start are served, deleted files are never served, names compare ignoring
//! case, and random paths cannot grow either structure.
#![cfg(feature = "static-files")]

use std::convert::Infallible;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;
use tower_iis::static_files::{PathLookup, StaticFiles};

struct Root(PathBuf);

impl Root {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("tower-iis-lookup-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("css")).unwrap();
        std::fs::write(dir.join("css/Site.css"), "body{}").unwrap();
        std::fs::write(dir.join("index.htm"), "<p>home</p>").unwrap();
        Self(dir)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn app(req: Request<String>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from(format!(
        "app saw {}",
        req.uri().path()
    )))))
}

type Files = StaticFiles<tower::util::ServiceFn<fn(Request<String>) -> AppFuture>>;
type AppFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>,
>;

fn files(root: &Root, lookup: PathLookup) -> Files {
    fn boxed(req: Request<String>) -> AppFuture {
        Box::pin(app(req))
    }
    StaticFiles::builder(&root.0)
        .case_insensitive(true)
        .path_lookup(lookup)
        .build()
        .unwrap()
        .fallback(tower::service_fn(boxed as fn(Request<String>) -> AppFuture))
}

async fn get(files: &Files, path: &str) -> (StatusCode, String) {
    let res = files
        .clone()
        .oneshot(Request::get(path).body(String::new()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// Asks for `path` until `want` answers, for at most `limit`; returns how long it
/// took.
async fn until(files: &Files, path: &str, want: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (_, body) = get(files, path).await;
        if body == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{path} still answered {body:?} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn the_index_sees_new_and_deleted_files_and_ignores_case() {
    let root = Root::new("index");
    let files = files(&root, PathLookup::default());
    assert!(
        matches!(files.path_lookup(), PathLookup::Index { .. }),
        "{:?}",
        files.path_lookup()
    );
    // css, css/Site.css, index.htm.
    assert_eq!(files.path_lookup_len(), 3);

    // Files, ignoring case; everything else is the application's.
    assert_eq!(
        get(&files, "/CSS/site.CSS").await,
        (StatusCode::OK, "body{}".into())
    );
    assert_eq!(
        get(&files, "/api/items/42").await.1,
        "app saw /api/items/42"
    );
    assert_eq!(
        get(&files, "/css/site.css/x").await.1,
        "app saw /css/site.css/x"
    );

    // A file created after start is served once the watcher reports it.
    assert_eq!(
        get(&files, "/new/Page.txt").await.1,
        "app saw /new/Page.txt"
    );
    std::fs::create_dir(root.0.join("New")).unwrap();
    std::fs::write(root.0.join("New/page.TXT"), "fresh").unwrap();
    let seen = until(&files, "/new/Page.txt", "fresh", Duration::from_secs(5)).await;
    eprintln!("a new file was served {seen:?} after it was written");
    assert_eq!(files.path_lookup_len(), 5);

    // A deleted file is never served: right after the delete, whether or not the
    // watcher has reported it, the request goes to the application.
    for i in 0..20 {
        let name = format!("gone{i}.txt");
        std::fs::write(root.0.join(&name), "stale").unwrap();
        until(&files, &format!("/{name}"), "stale", Duration::from_secs(5)).await;
        std::fs::remove_file(root.0.join(&name)).unwrap();
        assert_eq!(
            get(&files, &format!("/{name}")).await,
            (StatusCode::OK, format!("app saw /{name}"))
        );
    }
    // A folder removed with what it held.
    std::fs::remove_dir_all(root.0.join("New")).unwrap();
    until(
        &files,
        "/new/page.txt",
        "app saw /new/page.txt",
        Duration::from_secs(5),
    )
    .await;
    let start = Instant::now();
    while files.path_lookup_len() != 3 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{}",
            files.path_lookup_len()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    // Random paths do not grow the index.
    for i in 0..2_000u32 {
        get(&files, &format!("/r{i:x}/{i}")).await;
    }
    assert_eq!(files.path_lookup_len(), 3);
}

#[tokio::test]
async fn the_negative_cache_sees_new_and_deleted_files_and_ignores_case() {
    let root = Root::new("cache");
    let lifetime = Duration::from_millis(300);
    let files = files(
        &root,
        PathLookup::NegativeCache {
            lifetime,
            max_entries: 64,
        },
    );
    assert!(matches!(
        files.path_lookup(),
        PathLookup::NegativeCache { .. }
    ));
    assert_eq!(
        get(&files, "/CSS/site.CSS").await,
        (StatusCode::OK, "body{}".into())
    );

    // The first miss is remembered by its shortest missing prefix…
    assert_eq!(get(&files, "/api/items/1").await.1, "app saw /api/items/1");
    assert_eq!(files.path_lookup_len(), 1);
    // …so the next path below it, in any case, is the application's at once.
    assert_eq!(get(&files, "/API/items/2").await.1, "app saw /API/items/2");
    assert_eq!(files.path_lookup_len(), 1);

    // A file created after a miss is served within the lifetime.
    assert_eq!(get(&files, "/late.txt").await.1, "app saw /late.txt");
    let created = Instant::now();
    std::fs::write(root.0.join("Late.TXT"), "late").unwrap();
    until(
        &files,
        "/late.txt",
        "late",
        lifetime + Duration::from_secs(2),
    )
    .await;
    let seen = created.elapsed();
    eprintln!("a new file was served {seen:?} after it was written (lifetime {lifetime:?})");
    assert!(
        seen >= lifetime / 2,
        "served after {seen:?}, before its miss expired"
    );

    // A deleted file is never served: the cache only remembers what is missing.
    std::fs::remove_file(root.0.join("Late.TXT")).unwrap();
    assert_eq!(get(&files, "/late.txt").await.1, "app saw /late.txt");
}

#[tokio::test]
async fn random_paths_cannot_grow_the_negative_cache() {
    let root = Root::new("hostile");
    let files = files(
        &root,
        PathLookup::NegativeCache {
            lifetime: Duration::from_secs(60),
            max_entries: 64,
        },
    );
    for i in 0..5_000u32 {
        let path = format!("/{:x}/{}", i.wrapping_mul(2_654_435_761), "y".repeat(300));
        assert_eq!(get(&files, &path).await.0, StatusCode::OK);
        assert!(files.path_lookup_len() <= 64, "{}", files.path_lookup_len());
    }
    assert!(files.path_lookup_len() >= 32, "{}", files.path_lookup_len());
    // Files are still served, and a remembered miss still answers.
    assert_eq!(get(&files, "/index.htm").await.1, "<p>home</p>");
}

#[tokio::test]
async fn a_root_too_large_for_the_index_falls_back_to_the_cache() {
    let root = Root::new("large");
    for i in 0..10 {
        std::fs::write(root.0.join(format!("f{i}.txt")), "x").unwrap();
    }
    let files = files(&root, PathLookup::Index { max_entries: 5 });
    assert_eq!(files.path_lookup(), PathLookup::negative_cache());
    assert_eq!(get(&files, "/f3.txt").await.1, "x");
    assert_eq!(get(&files, "/api/x").await.1, "app saw /api/x");
    assert_eq!(get(&files, "/api/y").await.1, "app saw /api/y");
    assert_eq!(files.path_lookup_len(), 1);
}

#[test]
fn bad_lookup_settings_fail_the_build_naming_the_value() {
    let root = Root::new("bad");
    let e = StaticFiles::builder(&root.0)
        .path_lookup(PathLookup::NegativeCache {
            lifetime: Duration::from_secs(600),
            max_entries: 10,
        })
        .build()
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "PathLookup::NegativeCache lifetime 600s: between 1 ns and 60s"
    );
    let e = StaticFiles::builder(&root.0)
        .path_lookup(PathLookup::Index { max_entries: 0 })
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("PathLookup::Index max_entries 0"), "{e}");
}

#[tokio::test]
async fn every_lookup_answers_alike() {
    let root = Root::new("alike");
    for lookup in [
        PathLookup::default(),
        PathLookup::negative_cache(),
        PathLookup::FileSystem,
    ] {
        let files = files(&root, lookup);
        for (path, want) in [
            ("/css/Site.css", "body{}"),
            ("/Index.HTM", "<p>home</p>"),
            ("/", "<p>home</p>"),
            ("/api/items", "app saw /api/items"),
            ("/api%20x/items", "app saw /api%20x/items"),
            ("/css/../index.htm", "<p>home</p>"),
            ("/index.htm/", "app saw /index.htm/"),
        ] {
            assert_eq!(get(&files, path).await.1, want, "{lookup:?} {path}");
        }
        // Twice: the second answer comes from the index or the cache.
        assert_eq!(get(&files, "/api/items").await.1, "app saw /api/items");
        assert_eq!(get(&files, "/%2e%2e/x").await.0, StatusCode::BAD_REQUEST);
        assert_eq!(get(&files, "/css").await.0, StatusCode::MOVED_PERMANENTLY);
    }
}

#[cfg(feature = "site")]
#[tokio::test]
async fn a_site_hands_unknown_paths_to_its_application_and_sees_new_files() {
    use tower_iis::site::IisSite;
    let root = Root::new("site");
    let app = tower::service_fn(|req: Request<_>| async move {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
            "app saw {}",
            req.uri().path()
        )))))
    });
    for lookup in [None, Some(PathLookup::negative_cache())] {
        let mut builder = IisSite::builder(&root.0).app(app);
        if let Some(l) = lookup {
            builder = builder.path_lookup(l);
        }
        let site = builder.build().unwrap();
        let get = |path: &str| {
            let site = site.clone();
            let req = Request::get(path)
                .header("host", "localhost")
                .body(String::new())
                .unwrap();
            async move {
                let body = site.oneshot(req).await.unwrap().into_body();
                String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap()
            }
        };
        assert_eq!(get("/api/items").await, "app saw /api/items");
        assert_eq!(get("/CSS/site.css").await, "body{}");
        let name = format!("added-{}.txt", lookup.is_some());
        assert_eq!(get(&format!("/{name}")).await, format!("app saw /{name}"));
        std::fs::write(root.0.join(&name), "added").unwrap();
        let start = Instant::now();
        while get(&format!("/{name}")).await != "added" {
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "{lookup:?}: {name} never served"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        std::fs::remove_file(root.0.join(&name)).unwrap();
        assert_eq!(get(&format!("/{name}")).await, format!("app saw /{name}"));
    }
}

#[tokio::test]
async fn the_index_follows_renamed_folders() {
    let root = Root::new("rename");
    let files = files(&root, PathLookup::default());
    assert!(matches!(files.path_lookup(), PathLookup::Index { .. }));
    std::fs::rename(root.0.join("css"), root.0.join("styles")).unwrap();
    let limit = Duration::from_secs(5);
    until(&files, "/styles/site.css", "body{}", limit).await;
    until(&files, "/css/site.css", "app saw /css/site.css", limit).await;
    // Files created in the renamed folder, and in a folder below it, are seen.
    std::fs::write(root.0.join("styles/new.css"), "new").unwrap();
    until(&files, "/styles/new.css", "new", limit).await;
    std::fs::create_dir(root.0.join("styles/deep")).unwrap();
    std::fs::write(root.0.join("styles/deep/a.css"), "deep").unwrap();
    until(&files, "/styles/deep/a.css", "deep", limit).await;
    // Moved back, and a file created there.
    std::fs::rename(root.0.join("styles"), root.0.join("css")).unwrap();
    std::fs::write(root.0.join("css/back.css"), "back").unwrap();
    until(&files, "/css/back.css", "back", limit).await;
    until(&files, "/css/deep/a.css", "deep", limit).await;
    until(&files, "/styles/new.css", "app saw /styles/new.css", limit).await;
    assert!(matches!(files.path_lookup(), PathLookup::Index { .. }));
}
