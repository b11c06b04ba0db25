//! Fidelity to IIS in what people and tools see: the MIME map of IIS 10, the error
//! pages' stylesheet and sections, the custom error files, the one-line bodies.
#![cfg(feature = "test-site")]

use std::path::PathBuf;

use tower_iis::site::IisSite;
use tower_iis::static_files::{MimeMap, IIS_DEFAULT_MIME_TYPES, MODERN_MIME_TYPES};
use tower_iis::test_site::TestSite;
use tower_iis::web_config::WebConfig;

/// A content root removed on drop.
struct Root(PathBuf);

impl Root {
    fn new(name: &str, files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("tower-iis-fid-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, body) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        Root(dir)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn mime_map_is_iis_10s_list() {
    assert_eq!(IIS_DEFAULT_MIME_TYPES.len(), 378);
    let map = MimeMap::iis_defaults();
    assert_eq!(map.len(), 378, "no extension twice");
    for (ext, mime) in [
        (".323", "text/h323"),
        (".css", "text/css"),
        (".js", "application/javascript"),
        (".json", "application/json"),
        (".jsonld", "application/ld+json"),
        (".map", "text/plain"),
        (".svg", "image/svg+xml"),
        (".woff", "font/x-woff"),
        (".woff2", "application/font-woff2"),
        (".wasm", "application/wasm"),
        (".webm", "video/webm"),
        (".mp4", "video/mp4"),
        (".csv", "application/octet-stream"),
        (".ivf", "video/x-ivf"),
        (
            ".xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (".zip", "application/x-zip-compressed"),
    ] {
        assert_eq!(map.get(ext), Some(mime), "{ext}");
    }
    // Not in IIS 10's list: 404.3 there, and here unless the site adds them.
    for ext in [".mjs", ".webp", ".avif", ".webmanifest"] {
        assert_eq!(map.get(ext), None, "{ext}");
    }
    let modern = MimeMap::iis_defaults().with_modern_types();
    assert_eq!(modern.len(), 378 + MODERN_MIME_TYPES.len());
    assert_eq!(modern.get(".webp"), Some("image/webp"));
    // An entry of the site's own is kept.
    let mut own = MimeMap::iis_defaults();
    own.insert(".mjs", "application/javascript").unwrap();
    assert_eq!(
        own.with_modern_types().get(".mjs"),
        Some("application/javascript")
    );
}

#[tokio::test]
async fn modern_files_are_served_with_iis_types() {
    let root = Root::new(
        "mime",
        &[
            ("fonts/a.woff2", "w2"),
            ("app.wasm", "\0asm"),
            ("data.json", "{}"),
            ("app.js.map", "{}"),
            ("module.mjs", "export {}"),
        ],
    );
    let site = TestSite::start(IisSite::builder(&root.0)).await;
    for (path, mime) in [
        ("/fonts/a.woff2", "application/font-woff2"),
        ("/app.wasm", "application/wasm"),
        ("/data.json", "application/json"),
        ("/app.js.map", "text/plain"),
    ] {
        let res = site.get(path).await;
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.header("content-type"), Some(mime), "{path}");
    }
    let res = site.get("/module.mjs").await;
    assert_eq!(res.status, 404);
    assert_eq!(site.log_lines().await.last().unwrap().substatus(), Some(3));

    // What a site does on IIS 10 to serve ES modules.
    let config = WebConfig::parse(
        r#"<configuration><system.webServer><staticContent>
             <remove fileExtension=".mjs" />
             <mimeMap fileExtension=".mjs" mimeType="text/javascript" />
           </staticContent></system.webServer></configuration>"#,
        root.0.join("web.config"),
    )
    .unwrap();
    let site = TestSite::start(IisSite::builder(&root.0).web_config(config)).await;
    let res = site.get("/module.mjs").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/javascript"));
}
