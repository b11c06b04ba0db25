//! Static files through the whole site (W3C log → httpErrors → request filtering →
//! static files) over a real loopback socket: status, the substatus on the
//! detailed page and in the log line (`sc-substatus`, `sc-win32-status`).
#![cfg(feature = "test-site")]

use std::path::{Path, PathBuf};

use tower_iis::site::IisSite;
use tower_iis::test_site::{TestResponse, TestSite};

/// A fresh content root with a secret file beside it (never inside).
struct Root {
    dir: PathBuf,
}

impl Root {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tower-iis-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let www = dir.join("wwwroot");
        std::fs::create_dir_all(www.join("images")).unwrap();
        std::fs::create_dir_all(www.join("docs/sub dir")).unwrap();
        std::fs::create_dir_all(www.join("home")).unwrap();
        std::fs::write(www.join("index.htm"), "<p>the index</p>").unwrap();
        std::fs::write(www.join("style.css"), "body{color:red}").unwrap();
        std::fs::write(www.join("report.xyz"), "no MIME map").unwrap();
        std::fs::write(www.join("data.txt"), "0123456789abcdefghij").unwrap();
        std::fs::write(www.join("images/logo.svg"), "<svg/>").unwrap();
        std::fs::write(www.join("docs/a&b 'c'.txt"), "escaped").unwrap();
        std::fs::write(www.join("home/INDEX.HTML"), "<p>upper-case default</p>").unwrap();
        std::fs::write(dir.join("secret.txt"), SECRET).unwrap();
        Self { dir }
    }

    fn www(&self) -> PathBuf {
        self.dir.join("wwwroot")
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const SECRET: &str = "TOP-SECRET-7f3a9c";

fn title(res: &TestResponse) -> Option<String> {
    let text = res.text();
    let start = text.find("<title>")? + 7;
    let end = text[start..].find("</title>")? + start;
    Some(text[start..end].to_owned())
}

async fn one_line(site: &TestSite) -> (u16, u16, u32) {
    let lines = site.log_lines().await;
    let last = lines.last().expect("a log line");
    (
        last.status().unwrap(),
        last.substatus().unwrap(),
        last.win32_status().unwrap(),
    )
}

/// Asserts status, the detailed page's title and the log columns of the last request.
async fn expect_error(site: &TestSite, res: &TestResponse, code: &str, reason: &str, win32: u32) {
    let (status, sub) = code.split_once('.').unwrap();
    assert_eq!(res.status.to_string(), status, "{code}: {}", res.text());
    assert_eq!(
        title(res).as_deref(),
        Some(format!("IIS 10.0 Detailed Error - {code} - {reason}").as_str()),
        "{code}"
    );
    let (s, ss, w) = one_line(site).await;
    assert_eq!(
        (s.to_string(), ss.to_string(), w),
        (status.to_owned(), sub.to_owned(), win32),
        "{code} in the log"
    );
}

#[tokio::test]
async fn each_static_file_case() {
    let root = Root::new("static-cases");
    let site = TestSite::start(IisSite::builder(root.www())).await;

    // Default document: / serves index.htm.
    let res = site.get("/").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "<p>the index</p>");
    assert_eq!(res.header("content-type"), Some("text/html"));
    assert_eq!(one_line(&site).await, (200, 0, 0));

    // Default documents match case-insensitively, as on Windows.
    let res = site.get("/home/").await;
    assert_eq!(res.text(), "<p>upper-case default</p>");

    // A file with a MIME map entry.
    let res = site.get("/style.css").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/css"));
    let etag = res.header("etag").map(str::to_owned);
    let last_modified = res.header("last-modified").unwrap().to_owned();

    // Conditional and range requests come from tower-http's file service.
    let res = site
        .request(
            "GET",
            "/style.css",
            &[("If-Modified-Since", &last_modified)],
            &[],
        )
        .await;
    assert_eq!(res.status, 304);
    assert_eq!(one_line(&site).await, (304, 0, 0));
    if let Some(etag) = &etag {
        let res = site
            .request("GET", "/style.css", &[("If-None-Match", etag)], &[])
            .await;
        assert_eq!(res.status, 304);
    }
    let res = site
        .request("GET", "/data.txt", &[("Range", "bytes=2-5")], &[])
        .await;
    assert_eq!(res.status, 206);
    assert_eq!(res.text(), "2345");
    assert_eq!(res.header("content-range"), Some("bytes 2-5/20"));
    let res = site
        .request("GET", "/data.txt", &[("Range", "bytes=50-60")], &[])
        .await;
    assert_eq!(res.status, 416);
    let res = site
        .request(
            "GET",
            "/data.txt",
            &[("If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")],
            &[],
        )
        .await;
    assert_eq!(res.status, 412);

    // Missing file: 404.0, HRESULT 0x80070002, the physical path.
    let res = site.get("/missing.htm").await;
    expect_error(&site, &res, "404.0", "Not Found", 2).await;
    let text = res.text();
    assert!(text.contains("0x80070002"));
    let physical = root.www().canonicalize().unwrap().join("missing.htm");
    assert!(text.contains(&physical.display().to_string()), "{text}");

    // No MIME map: 404.3, StaticFileModule, 0x80070032.
    let res = site.get("/report.xyz").await;
    expect_error(&site, &res, "404.3", "Not Found", 50).await;
    assert!(res.text().contains("StaticFileModule"));
    assert!(!res.text().contains("no MIME map"), "the file is not sent");

    // A folder without a default document: 403.14.
    let res = site.get("/images/").await;
    expect_error(&site, &res, "403.14", "Forbidden", 0).await;
    assert!(res.text().contains("DirectoryListingModule"));

    // A folder without its slash: IIS's courtesy redirect, 301.
    let res = site.get("/images?x=1").await;
    assert_eq!(res.status, 301);
    assert_eq!(
        res.header("location"),
        Some(format!("http://{}/images/?x=1", site.addr()).as_str())
    );
    assert!(res.text().contains("Document Moved"));
    assert_eq!(one_line(&site).await, (301, 0, 0));

    // Write verbs: 405.0 with IIS's Allow header.
    for verb in ["PUT", "DELETE", "POST", "PATCH"] {
        let res = site.request(verb, "/style.css", &[], b"x").await;
        expect_error(&site, &res, "405.0", "Method Not Allowed", 1).await;
        assert_eq!(
            res.header("allow"),
            Some("GET, HEAD, OPTIONS, TRACE"),
            "{verb}"
        );
    }
    // TRACE: 501.0 from the TRACE verb handler.
    let res = site.request("TRACE", "/style.css", &[], &[]).await;
    expect_error(&site, &res, "501.0", "Not Implemented", 0).await;
    assert!(res.text().contains("TRACEVerbHandler"));
    // OPTIONS lists the verbs.
    let res = site.request("OPTIONS", "/style.css", &[], &[]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("allow"), Some("GET, HEAD, OPTIONS, TRACE"));
    // HEAD: headers only.
    let res = site.request("HEAD", "/style.css", &[], &[]).await;
    assert_eq!(res.status, 200);
    assert!(res.body.is_empty());

    // A file named with a trailing slash is no folder.
    let res = site.get("/style.css/").await;
    expect_error(&site, &res, "404.0", "Not Found", 2).await;
}

#[tokio::test]
async fn directory_listing_when_browsing_is_on() {
    let root = Root::new("static-listing");
    let site = TestSite::start(IisSite::builder(root.www()).directory_browse(true)).await;
    let res = site.get("/docs/").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    let page = res.text();
    assert!(page.contains("<title>127.0.0.1 - /docs/</title>"), "{page}");
    assert!(page.contains("<a href=\"/\">[To Parent Directory]</a>"));
    // Names are escaped in text and encoded in links.
    assert!(page.contains(">a&amp;b &#39;c&#39;.txt</a>"), "{page}");
    assert!(
        page.contains("href=\"/docs/a%26b%20&#39;c&#39;.txt\""),
        "{page}"
    );
    assert!(
        page.contains("&lt;dir&gt; <a href=\"/docs/sub%20dir/\">sub dir</a>"),
        "{page}"
    );
    assert!(!page.contains("a&b"));
    // The listed link works.
    let res = site.get("/docs/a%26b%20'c'.txt").await;
    assert_eq!(res.text(), "escaped");
    check_xhtml(&page, &root.dir.join("listing.html"));
}

/// The listing is XHTML 1.0 Strict when xmllint and the W3C DTDs are installed.
fn check_xhtml(page: &str, file: &Path) {
    let catalog = "/etc/xml/catalog";
    let available = std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok()
        && Path::new("/etc/xml/w3c-sgml-lib.xml").exists();
    if !available {
        assert!(
            std::env::var_os("CI").is_none(),
            "xmllint and w3c-sgml-lib are required in CI"
        );
        eprintln!("skipping the XHTML check: xmllint or the W3C DTDs are missing");
        return;
    }
    std::fs::write(file, page).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--valid", "--noout", "--nonet"])
        .arg(file)
        .env("XML_CATALOG_FILES", catalog)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn files_first_then_the_application() {
    use std::convert::Infallible;
    let root = Root::new("static-fallback");
    let app = tower::service_fn(|req: http::Request<_>| async move {
        let body = format!("app saw {}", req.uri().path());
        Ok::<_, Infallible>(http::Response::new(http_body_util::Full::new(
            bytes::Bytes::from(body),
        )))
    });
    let site = TestSite::start(IisSite::builder(root.www()).app(app)).await;
    assert_eq!(site.get("/style.css").await.text(), "body{color:red}");
    assert_eq!(site.get("/api/items").await.text(), "app saw /api/items");
    // A POST to a route the application owns is the application's business…
    let res = site.request("POST", "/api/items", &[], b"{}").await;
    assert_eq!(res.text(), "app saw /api/items");
    // …a POST to a file is the static handler's: 405.
    let res = site.request("POST", "/style.css", &[], b"{}").await;
    assert_eq!(res.status, 405);
    // Existing folders stay with the static handler.
    assert_eq!(site.get("/images/").await.status, 403);
}

/// Request targets that try to read outside the root, raw and encoded. None may
/// return the secret beside the root; each is answered 400 (refused before the
/// file system), 404 (request filtering or "not found") or, for the few that only
/// name a file inside the root, 200 with that file.
const TRAVERSALS: &[&str] = &[
    "/../secret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/images/../../secret.txt",
    "/images/%2e%2e/%2e%2e/secret.txt",
    "/images/..%2f..%2fsecret.txt",
    "/..\\secret.txt",
    "/..%5csecret.txt",
    "/..%5Csecret.txt",
    "/images\\..\\..\\secret.txt",
    "/%5c..%5c..%5csecret.txt",
    "/%252e%252e/secret.txt",
    "/%252e%252e%252fsecret.txt",
    "/..%252fsecret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/%c0%ae%c0%ae%c0%afsecret.txt",
    "/%e0%80%ae%e0%80%ae/secret.txt",
    "/..%c0%afsecret.txt",
    "/..%c1%9csecret.txt",
    "/%uff0e%uff0e/secret.txt",
    "/..%00/secret.txt",
    "/secret.txt%00.htm",
    "/index.htm%00../../secret.txt",
    "/%00",
    "/C:/secret.txt",
    "/c:%5csecret.txt",
    "/C%3a%5csecret.txt",
    "/..:/secret.txt",
    "/secret.txt::$DATA",
    "/index.htm::$DATA",
    "/web.config.",
    "/index.htm.",
    "/index.htm%20",
    "/CON",
    "/aux.txt",
    "//..//secret.txt",
    "/./../secret.txt",
    "/...//secret.txt",
    "/....//secret.txt",
    "/images/./../../secret.txt",
    "/%2f%2e%2e%2fsecret.txt",
    "/%2F..%2Fsecret.txt",
    "/images%2f..%2f..%2fsecret.txt",
    "/link-out/secret.txt",
    "/link-out",
    "/link-file",
    "/%",
    "/%zz/secret.txt",
    "/a%0d%0aX-Injected:%20yes",
];

#[tokio::test]
async fn path_traversal_never_leaves_the_root() {
    let root = Root::new("static-traversal");
    #[cfg(unix)]
    {
        // Links from inside the root to outside it are not followed.
        std::os::unix::fs::symlink(&root.dir, root.www().join("link-out")).unwrap();
        std::os::unix::fs::symlink(root.dir.join("secret.txt"), root.www().join("link-file"))
            .unwrap();
        // A link that stays inside is.
        std::os::unix::fs::symlink(root.www().join("style.css"), root.www().join("inside.css"))
            .unwrap();
    }
    let site = TestSite::start(IisSite::builder(root.www()).directory_browse(true)).await;
    #[cfg(unix)]
    assert_eq!(site.get("/inside.css").await.text(), "body{color:red}");

    let mut seen = Vec::new();
    for target in TRAVERSALS {
        let raw = format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            site.addr()
        );
        let res = site.send_raw(raw.as_bytes()).await;
        let text = res.text();
        assert!(
            !text.contains(SECRET),
            "{target} leaked the secret: {} {text}",
            res.status
        );
        assert!(
            [400, 404].contains(&res.status) || (res.status == 200 && !text.contains("secret")),
            "{target}: {} {text}",
            res.status
        );
        assert!(res.header("x-injected").is_none(), "{target}");
        seen.push((*target, res.status));
    }
    // The encoded dot-dot forms are refused outright, before the file system; the
    // literal ones are resolved as http.sys resolves them, never above the root,
    // where there is no secret.txt.
    for (target, status) in &seen {
        if target.contains("%2e%2e/") || target.contains("%c0%ae") {
            assert_eq!(*status, 400, "{target}");
        } else if target.starts_with("/../") || target.starts_with("/images/../") {
            assert_eq!(*status, 404, "{target}");
        }
    }
    // A request whose target hyper itself refuses never reaches the site; every
    // other one is logged.
    let logged = site.log_lines().await;
    assert!(logged.len() >= TRAVERSALS.len() - 5, "{}", logged.len());
}

#[tokio::test]
async fn a_bad_web_config_answers_every_request_with_500_19() {
    let root = Root::new("static-bad-config");
    std::fs::write(
        root.www().join("web.config"),
        "<configuration>\n  <system.webServer>\n    <staticContent>\n      <mimeMap fileExtension=\".json\" mimeType=\"application/json\" />\n    </staticContent>\n  </system.webServer>\n</configuration>\n",
    )
    .unwrap();
    // Without the option the site refuses to build, naming the line.
    let err = IisSite::from_web_config(root.www()).build().unwrap_err();
    assert!(err.to_string().contains("line 4"), "{err}");

    let site =
        TestSite::start(IisSite::from_web_config(root.www()).serve_config_errors(true)).await;
    for path in ["/", "/style.css", "/missing"] {
        let res = site.get(path).await;
        expect_error(&site, &res, "500.19", "Internal Server Error", 183).await;
        let page = res.text();
        assert!(
            page.contains("Cannot add duplicate collection entry of type &#39;mimeMap&#39;")
                || page
                    .contains("Cannot add duplicate collection entry of type &#x27;mimeMap&#x27;")
                || page.contains("Cannot add duplicate collection entry of type 'mimeMap'"),
            "{page}"
        );
        assert!(
            page.contains("<span class=\"highlight-code\">    4:"),
            "{page}"
        );
        assert!(page.contains("0x800700b7"));
        assert!(page.contains("web.config"));
    }
}
