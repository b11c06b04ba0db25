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

/// Requests over a socket with `%20`, `+`, UTF-8 escapes, raw UTF-8 and `%23` in the path: the
/// stems are written as IIS writes them, one way per file whatever the spelling, the
/// query raw; GoAccess and Filebeat's grok read every line.
#[tokio::test]
async fn stems_over_sockets_as_iis_writes_them() {
    let video = "\u{627}\u{644}\u{641}\u{64a}\u{62f}\u{64a}\u{648}";
    let arabic_file = format!("arabic/{video}.txt");
    let root = Root::new(
        "stems",
        &[
            ("nice ports,/Trinity.txt", "t"),
            (&arabic_file, "a"),
            ("x#y.txt", "h"),
            ("site.css", "c"),
        ],
    );
    let site = TestSite::start(IisSite::builder(&root.0)).await;
    let arabic_stem = format!("/{arabic_file}");
    let cases: &[(&str, u16, &str, &str)] = &[
        (
            "/nice%20ports%2C/Trinity.txt",
            200,
            "/nice+ports,/Trinity.txt",
            "-",
        ),
        (
            "/nice%20ports,/Tri%6Eity.txt?a=1+2&b=%20",
            200,
            "/nice+ports,/Trinity.txt",
            "a=1+2&b=%20",
        ),
        // `+` in a path is refused by request filtering (404.11); logged decoded all the same.
        (
            "/nice+ports,/Trinity.txt.bak",
            404,
            "/nice+ports,/Trinity.txt.bak",
            "-",
        ),
        (
            "/arabic/%D8%A7%D9%84%D9%81%D9%8A%D8%AF%D9%8A%D9%88.txt",
            200,
            &arabic_stem,
            "-",
        ),
        ("/x%23y.txt", 200, "/x#y.txt", "-"),
        ("/images/../site.css", 200, "/site.css", "-"),
        ("/caf%C3%A9%FF.txt", 400, "/caf\u{e9}+.txt", "-"),
    ];
    for (path, status, _, _) in cases {
        let res = site.get(path).await;
        assert_eq!(res.status, *status, "{path}");
    }
    let lines = site.log_lines().await;
    assert_eq!(lines.len(), cases.len());
    for (line, (path, _, stem, query)) in lines.iter().zip(cases) {
        assert_eq!(line.get("cs-uri-stem"), Some(*stem), "{path}");
        assert_eq!(line.get("cs-uri-query"), Some(*query), "{path}");
    }
    assert_eq!(lines[2].substatus(), Some(11));

    // Raw UTF-8 in the request line: served, and logged like its escaped spelling.
    let raw = site
        .send_raw(
            format!(
                "GET /arabic/{video}.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
    assert_eq!(raw.status, 200);
    let lines = site.log_lines().await;
    assert_eq!(lines.len(), cases.len() + 1);
    assert_eq!(
        lines[cases.len()].get("cs-uri-stem"),
        Some(arabic_stem.as_str())
    );

    let text = site.log_text().await;
    let pattern = crate::common::filebeat_default_pattern();
    let entries: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(entries.len(), cases.len() + 1);
    for line in &entries {
        let m = pattern
            .captures(line)
            .unwrap_or_else(|| panic!("Filebeat: {line}"));
        assert!(m["path"].starts_with('/'), "{line}");
    }
    let dir = std::env::temp_dir().join(format!("tower-iis-fid-goaccess-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("u_ex240501.log");
    std::fs::write(&file, &text).unwrap();
    let valid = crate::common::goaccess_valid(&[file], &dir.join("report.json"));
    assert_eq!(
        valid,
        Some(cases.len() as u64 + 1),
        "GoAccess reads every line"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn requested_url_keeps_the_query_escaped() {
    let root = Root::new("query", &[("index.htm", "home")]);
    let site = TestSite::start(IisSite::builder(&root.0)).await;
    let res = site.get("/page.asp?a=1&b=2").await;
    assert_eq!(res.status, 404);
    let page = res.text();
    let url = format!("http://{}/page.asp?a=1&amp;b=2", site.addr());
    assert!(
        page.contains(&format!(
            "<tr class=\"alt\"><th>Requested URL</th><td>&nbsp;&nbsp;&nbsp;{url}</td></tr>"
        )),
        "{page}"
    );
}

#[tokio::test]
async fn config_error_page_and_its_log_line() {
    let root = Root::new("config-error", &[("index.htm", "home")]);
    std::fs::write(
        root.0.join("web.config"),
        "<configuration>\n  <system.webServer>\n    <staticContent>\n      <mimeMap fileExtension=\".json\" mimeType=\"application/json\" />\n    </staticContent>\n  </system.webServer>\n</configuration>\n",
    )
    .unwrap();
    let site = TestSite::start(IisSite::from_web_config(&root.0).serve_config_errors(true)).await;
    let res = site.get("/").await;
    assert_eq!(res.status, 500);
    let page = res.text();
    // Config Source: `{number right-aligned to 5}: {text}`, one space after the colon.
    let source = section(&page, "Config Source:");
    assert!(
        source.contains(
            "<pre><code>    3:     &lt;staticContent&gt;\n<span class=\"highlight-code\">    4:       &lt;mimeMap fileExtension=&quot;.json&quot; mimeType=&quot;application/json&quot; /&gt;</span>\n    5:     &lt;/staticContent&gt;\n</code></pre>"
        ),
        "{source}"
    );
    // The log: `500 19 183`, and no user name (the page's "Not yet determined" is none).
    let line = site.log_lines().await.pop().unwrap();
    assert_eq!(
        (line.status(), line.substatus(), line.win32_status()),
        (Some(500), Some(19), Some(183))
    );
    assert_eq!(line.get("cs-username"), Some("-"));
}

#[tokio::test]
async fn custom_404_is_iis_shaped_crlf_with_named_entities() {
    let root = Root::new("custom-404", &[("index.htm", "home")]);
    let config = WebConfig::parse(
        r#"<configuration><system.webServer><httpErrors errorMode="Custom" /></system.webServer></configuration>"#,
        root.0.join("web.config"),
    )
    .unwrap();
    let site = TestSite::start(IisSite::builder(&root.0).web_config(config)).await;
    let res = site
        .request(
            "GET",
            "/missing?a=1&b=2",
            &[("Accept-Language", "en-US")],
            &[],
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.header("content-type"), Some("text/html"));
    let page = res.text();
    assert!(page.starts_with("<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n"));
    assert!(page.ends_with("</body>\r\n</html>\r\n"));
    assert!(
        !page.replace("\r\n", "").contains('\n'),
        "every line ends with CRLF"
    );
    assert!(page.contains("<title>404 - File or directory not found.</title>\r\n"));
    assert!(page.contains("<div id=\"header\"><h1>Server Error</h1></div>\r\n"));
    assert!(page.contains("  <h2>404 - File or directory not found.</h2>\r\n"));
    assert!(!page.contains("&#"), "named entities only: {page}");
}

/// A verb the static file handler does not support: `405 0 1` in the log, as IIS.
#[tokio::test]
async fn unsupported_verbs_log_405_0_1() {
    let root = Root::new("verbs", &[("index.htm", "home"), ("site.css", "c")]);
    let site = TestSite::start(IisSite::builder(&root.0)).await;
    for (verb, path) in [
        ("MTWT", "/"),
        ("PROPFIND", "/"),
        ("PUT", "/site.css"),
        ("DELETE", "/site.css"),
    ] {
        let res = site.request(verb, path, &[], &[]).await;
        assert_eq!(res.status, 405, "{verb} {path}");
        assert_eq!(res.header("allow"), Some("GET, HEAD, OPTIONS, TRACE"));
        assert!(res.text().contains("0x80070001"), "{verb}");
        let line = site.log_lines().await.pop().unwrap();
        assert_eq!(line.get("cs-method"), Some(verb));
        assert_eq!(
            (line.status(), line.substatus(), line.win32_status()),
            (Some(405), Some(0), Some(1)),
            "{verb} {path}"
        );
    }
}

/// Paths compare ignoring case, as on NTFS: on by default in `IisSite`, with a switch.
#[tokio::test]
async fn case_insensitive_paths_by_default() {
    let root = Root::new(
        "case",
        &[
            ("site.css", "body{}"),
            ("Images/Logo.png", "png"),
            ("docs/Index.htm", "docs home"),
            ("bin/secret.txt", "no"),
        ],
    );
    let site = TestSite::start(IisSite::builder(&root.0)).await;
    let res = site.get("/SITE.CSS").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "body{}");
    assert_eq!(res.header("content-type"), Some("text/css"));
    let res = site.get("/images/LOGO.PNG").await;
    assert_eq!((res.status, res.text().as_str()), (200, "png"));
    assert_eq!(res.header("content-type"), Some("image/png"));
    assert_eq!(site.get("/DOCS/").await.text(), "docs home");
    let res = site.get("/IMAGES").await;
    assert_eq!(res.status, 301, "the courtesy redirect for a folder");
    assert_eq!(site.get("/Images/Missing.png").await.status, 404);
    // Hidden segments and denied extensions stay refused in any case.
    let res = site.get("/BIN/secret.txt").await;
    assert_eq!(res.status, 404);
    assert_eq!(site.log_lines().await.pop().unwrap().substatus(), Some(8));
    assert_eq!(site.get("/Web.Config").await.status, 404);

    let strict = TestSite::start(IisSite::builder(&root.0).case_insensitive_paths(false)).await;
    assert_eq!(strict.get("/SITE.CSS").await.status, 404);
    assert_eq!(strict.get("/site.css").await.status, 200);
}
