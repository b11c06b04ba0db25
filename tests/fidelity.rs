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

/// The body of the page between `<style …>` and `</style>`.
fn stylesheet(page: &str) -> &str {
    let start = page.find("<style").unwrap();
    let end = page.find("</style>").unwrap();
    &page[start..end]
}

/// The CSS rule for `selector` (the text between its braces), if the sheet has it.
fn rule<'a>(css: &'a str, selector: &str) -> Option<&'a str> {
    css.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(selector)?.strip_prefix('{'))
        .map(|r| r.split('}').next().unwrap())
}

#[tokio::test]
async fn detailed_page_stylesheet_and_sections_follow_iis() {
    let root = Root::new("detailed", &[("index.htm", "home")]);
    let site = TestSite::start(IisSite::builder(&root.0)).await;
    let res = site.get("/missing.htm").await;
    assert_eq!(res.status, 404);
    let page = res.text();
    let css = stylesheet(&page);
    // IIS 8.5/10 leave the alternate rows unshaded: their rule is empty.
    assert_eq!(rule(css, "table tr.alt td,table tr.alt th"), Some(""));
    assert!(!css.contains("tr.alt td,tr.alt th{background"), "{css}");
    assert_eq!(
        rule(css, ".content-container p"),
        Some("margin:0 0 10px 0;")
    );
    assert_eq!(
        rule(css, "a:link,a:visited"),
        Some("color:#007EFF;font-weight:bold;")
    );
    assert_eq!(rule(css, "a:hover"), Some("text-decoration:none;"));
    assert!(rule(css, "#header")
        .unwrap()
        .contains("background-color:#5C87B2;"));
    assert!(rule(css, "#server_version")
        .unwrap()
        .contains("background-color:#5A7FA5;"));
    assert!(rule(css, "legend").unwrap().contains("color:#333;"));
    assert!(!css.contains("#4b6f96"));
    // `code` is bold; inside the config source it stays bold and turns black.
    assert!(rule(css, "code").unwrap().contains("font-weight:bold;"));
    assert_eq!(
        rule(css, ".config_source code"),
        Some("font-size:.8em;color:#000;")
    );
    assert_eq!(
        rule(css, "pre"),
        Some("margin:0;font-size:1.4em;word-wrap:break-word;")
    );

    // "Things you can try" ends with tracing the failed request.
    let things = section(&page, "Things you can try:");
    let last = things.rsplit("<li>").next().unwrap();
    assert!(
        last.starts_with("Record a trace of the requests that fail"),
        "{last}"
    );
    assert!(
        last.contains("<a href=\"https://docs.rs/tower-iis/latest/tower_iis/\">"),
        "{last}"
    );

    // More Information: the 404 family's own paragraph, then IIS's link.
    let more = section(&page, "More Information:");
    assert!(
        more.contains("A 404 status means nothing was served for this URL."),
        "{more}"
    );
    assert!(more.contains("IIS70Error=404,0,0x80070002,"), "{more}");
}

/// The text of the content container whose heading is `heading`.
fn section<'a>(page: &'a str, heading: &str) -> &'a str {
    let start = page.find(&format!("<h4>{heading}</h4>")).unwrap();
    let end = page[start..].find("</fieldset>").unwrap() + start;
    &page[start..end]
}

#[tokio::test]
async fn more_information_differs_per_status_family() {
    let root = Root::new("families", &[("a.xyz", "no MIME type")]);
    let config = WebConfig::parse(
        r#"<configuration><system.webServer>
             <security><requestFiltering><hiddenSegments><add segment="private" /></hiddenSegments></requestFiltering></security>
           </system.webServer></configuration>"#,
        root.0.join("web.config"),
    )
    .unwrap();
    let site = TestSite::start(IisSite::builder(&root.0).web_config(config)).await;
    let paragraph = |page: String| {
        let more = section(&page, "More Information:").to_owned();
        more.split("</h4>")
            .nth(1)
            .unwrap()
            .split("<p>")
            .next()
            .unwrap()
            .trim()
            .to_owned()
    };
    let not_found = paragraph(site.get("/missing").await.text());
    let mime = paragraph(site.get("/a.xyz").await.text());
    let forbidden = paragraph(site.get("/").await.text()); // 403.14, no listing
    let verb = site.request("DELETE", "/a.xyz", &[], &[]).await;
    assert_eq!(not_found, mime, "one paragraph for the 404 family");
    assert!(forbidden.starts_with("A 403 status"), "{forbidden}");
    assert_ne!(forbidden, not_found);
    assert!(verb.status >= 400);
    let verb = paragraph(verb.text());
    assert_ne!(verb, not_found);
    assert_ne!(verb, forbidden);
}
