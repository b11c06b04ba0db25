//! URL Rewrite through a whole site served on a loopback socket: the rules of
//! `tests/data/rewrite/web.config`, written as real sites write them, each
//! request checked for its status, `Location`, the page or handler it reached
//! and its W3C line (`cs-uri-stem`, `cs-uri-query`, `sc-status`, `sc-substatus`).
#![cfg(feature = "test-site")]

use std::convert::Infallible;
use std::path::PathBuf;

use tower_iis::rewrite::{Action, Condition, OriginalUrl, RewriteLayer, RewriteMap, Rule};
use tower_iis::site::IisSite;
use tower_iis::test_site::{TestResponse, TestSite};
use tower_iis::web_config::WebConfig;

const RULES: &str = include_str!("../data/rewrite/web.config");

/// A content root holding the rules' web.config and the files they point at.
struct Root(PathBuf);

impl Root {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("tower-iis-rewrite-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in [
            ("web.config", RULES),
            ("spa/index.html", "<p>spa shell</p>"),
            ("spa/app.js", "console.log(1)"),
            ("campaigns/spring.html", "<p>spring</p>"),
            ("sitemap.xml", "<urlset/>"),
            ("guides/intro/index.htm", "<p>intro guide</p>"),
            ("blog/archive/index.htm", "<p>archive</p>"),
            ("files/public/a.txt", "public file"),
        ] {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        Self(dir)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a request must reach.
#[derive(Debug)]
enum Reached {
    /// The application, which answers `app saw <uri>` (and `(was <uri>)` after a rewrite).
    App(&'static str),
    /// A static file's exact content.
    File(&'static str),
    /// A detailed error page: its title, and the summary under its heading.
    Page(&'static str, Option<&'static str>),
    /// IIS's "Document Moved" body of a redirect.
    Moved,
    /// No body, `Connection: close` (AbortRequest).
    Aborted,
}

struct Row {
    method: &'static str,
    path: &'static str,
    host: Option<&'static str>,
    headers: &'static [(&'static str, &'static str)],
    status: u16,
    location: Option<&'static str>,
    reached: Reached,
    /// `cs-uri-stem`, `cs-uri-query` (`-` for none), `sc-substatus`.
    log: (&'static str, &'static str, u16),
}

const fn get(path: &'static str, status: u16, reached: Reached) -> Row {
    Row {
        method: "GET",
        path,
        host: None,
        headers: &[],
        status,
        location: None,
        reached,
        log: (path, "-", 0),
    }
}

impl Row {
    const fn host(mut self, host: &'static str) -> Self {
        self.host = Some(host);
        self
    }
    const fn headers(mut self, headers: &'static [(&'static str, &'static str)]) -> Self {
        self.headers = headers;
        self
    }
    const fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }
    const fn location(mut self, location: &'static str) -> Self {
        self.location = Some(location);
        self
    }
    const fn log(mut self, stem: &'static str, query: &'static str, sub: u16) -> Self {
        self.log = (stem, query, sub);
        self
    }
}

use Reached::{Aborted, App, File, Moved, Page};

/// `{port}` in a row stands for the site's port.
const ROWS: &[Row] = &[
    // Canonical host, HTTPS behind a load balancer, HTTPS on a host.
    get("/", 301, Moved)
        .host("example.com")
        .location("https://www.example.com/"),
    get("/shop/hat?x=1", 301, Moved)
        .host("example.com")
        .location("https://www.example.com/shop/hat?x=1")
        .log("/shop/hat", "x=1", 0),
    get("/a?b=1", 301, Moved)
        .headers(&[("X-Forwarded-Proto", "http")])
        .location("https://127.0.0.1:{port}/a?b=1")
        .log("/a", "b=1", 0),
    get("/pay?x=1", 302, Moved)
        .host("secure.example.com")
        .location("https://secure.example.com/pay?x=1")
        .log("/pay", "x=1", 0),
    // AbortRequest.
    get("/wp-login.php", 400, Aborted),
    get("/xmlrpc.php", 400, Aborted),
    // CustomResponse with the site's own reasons and substatus codes.
    get(
        "/anything",
        403,
        Page(
            "IIS 10.0 Detailed Error - 403.0 - Forbidden",
            Some("Crawlers of this kind are not welcome."),
        ),
    )
    .headers(&[("User-Agent", "BadBot/1.0")]),
    get(
        "/.git/config",
        404,
        Page(
            "IIS 10.0 Detailed Error - 404.8 - Not Found",
            Some("Hidden."),
        ),
    )
    .log("/.git/config", "-", 8),
    get(
        "/admin/",
        403,
        Page(
            "IIS 10.0 Detailed Error - 403.502 - Forbidden: Admin Only",
            Some("The admin area needs its token."),
        ),
    )
    .log("/admin/", "-", 502),
    get(
        "/admin/",
        200,
        App("app saw /app/catch-all?was=%2fadmin%2f (was /admin/)"),
    )
    .headers(&[("X-Admin-Token", "letmein")]),
    get(
        "/upload/file",
        405,
        Page(
            "IIS 10.0 Detailed Error - 405.0 - Method Not Allowed",
            Some("Uploads are POSTed."),
        ),
    ),
    get(
        "/upload/file",
        200,
        App("app saw /app/catch-all?was=%2fupload%2ffile (was /upload/file)"),
    )
    .method("POST"),
    get(
        "/files/secret.txt",
        404,
        Page(
            "IIS 10.0 Detailed Error - 404.0 - Not Found",
            Some("No such file."),
        ),
    ),
    get("/files/public/a.txt", 200, File("public file")),
    get(
        "/documentation/retired",
        410,
        Page(
            "IIS 10.0 Detailed Error - 410.0 - Gone",
            Some("This page was retired."),
        ),
    ),
    // Lower-case URLs.
    get("/Products/1/Hat", 301, Moved).location("/products/1/hat"),
    // Rewrite maps: redirects and rewrites.
    get("/old-page.aspx", 301, Moved).location("/new-page"),
    get("/about-us.html", 301, Moved).location("/about"),
    get("/promo", 200, File("<p>spring</p>")),
    // Trailing slashes, with IsFile / IsDirectory.
    get("/blog/post-1/", 301, Moved).location("/blog/post-1"),
    get("/blog/archive/", 200, File("<p>archive</p>")),
    get("/guides/intro", 301, Moved).location("/guides/intro/"),
    get("/guides/intro/", 200, File("<p>intro guide</p>")),
    // Single-page application fallback.
    get("/spa/dashboard/settings", 200, File("<p>spa shell</p>")),
    get("/spa/app.js", 200, File("console.log(1)")),
    // Clean URLs to the application; the log keeps the URL the client sent.
    get(
        "/products/42/red-hat",
        200,
        App("app saw /app/product?id=42&slug=red-hat (was /products/42/red-hat)"),
    ),
    get(
        "/articles/2024/hello",
        200,
        App("app saw /app/article?year=2024&name=hello (was /articles/2024/hello)"),
    ),
    get("/sitemap", 200, File("<urlset/>")),
    // Every redirect type.
    get("/legacy/contact.php", 307, Moved).location("/contact"),
    get("/feed", 302, Moved).location("/rss.xml"),
    get("/contact/sent", 303, Moved)
        .method("POST")
        .location("/contact/thanks"),
    // logRewrittenUrl: the log shows the rewritten URL.
    get(
        "/api/v1/items?page=2",
        200,
        App("app saw /api/items?page=2 (was /api/v1/items?page=2)"),
    )
    .log("/api/items", "page=2", 0),
    // stopProcessing: the rewritten URL is not matched again…
    get(
        "/docs/intro",
        200,
        App("app saw /documentation/intro (was /docs/intro)"),
    ),
    get(
        "/docs/retired",
        200,
        App("app saw /documentation/retired (was /docs/retired)"),
    ),
    // …and without it, later rules see the rewritten URL.
    get(
        "/shop/hat",
        200,
        App("app saw /app/store?item=hat (was /shop/hat)"),
    ),
    // MatchAny, trackAllCaptures, a back-reference in the pattern.
    get(
        "/partners/acme",
        200,
        App("app saw /app/partners?p=acme (was /partners/acme)"),
    )
    .headers(&[("X-Partner", "acme")]),
    get(
        "/partners/acme",
        200,
        App("app saw /app/partners?p=acme (was /partners/acme)"),
    )
    .headers(&[("Referer", "https://partner-a.example/")]),
    get(
        "/partners/acme",
        200,
        App("app saw /app/catch-all?was=%2fpartners%2facme (was /partners/acme)"),
    ),
    get("/geo", 302, Moved)
        .headers(&[("X-Country", "de"), ("X-Lang", "en")])
        .location("/de/en/"),
    get(
        "/mirror/abc/abc",
        200,
        App("app saw /app/mirror?w=abc (was /mirror/abc/abc)"),
    ),
    get(
        "/mirror/abc/xyz",
        200,
        App("app saw /app/catch-all?was=%2fmirror%2fabc%2fxyz (was /mirror/abc/xyz)"),
    ),
    // Functions and server variables.
    get("/search/red%20shoes", 302, Moved)
        .location("/find?q=red+shoes&e=red%20shoes")
        // IIS logs the stem decoded, a space as `+`.
        .log("/search/red+shoes", "-", 0),
    get(
        "/whereami?x=1",
        200,
        App("app saw /app/where?port={port}&method=GET&https=off (was /whereami?x=1)"),
    )
    .log("/whereami", "x=1", 0),
    get(
        "/q/a?b=1",
        200,
        App("app saw /app/q?x=a&b=1 (was /q/a?b=1)"),
    )
    .log("/q/a", "b=1", 0),
    // None with stopProcessing; a disabled rule.
    get("/health", 200, App("app saw /health")),
    get("/off", 200, App("app saw /off")),
    // Request filtering answers before any rule (the last rules would rewrite these).
    get(
        "/web.config",
        404,
        Page("IIS 10.0 Detailed Error - 404.8 - Not Found", None),
    )
    .log("/web.config", "-", 8),
    get(
        "/bin/tool.dll",
        404,
        Page("IIS 10.0 Detailed Error - 404.8 - Not Found", None),
    )
    .log("/bin/tool.dll", "-", 8),
    get(
        "/nothing-here",
        200,
        App("app saw /app/catch-all?was=%2fnothing-here (was /nothing-here)"),
    ),
];

async fn send(site: &TestSite, row: &Row) -> TestResponse {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nAccept-Language: en-US\r\nConnection: close\r\n",
        row.method,
        row.path,
        row.host
            .map_or_else(|| site.addr().to_string(), str::to_owned)
    );
    if !row.headers.iter().any(|(n, _)| *n == "User-Agent") {
        head.push_str("User-Agent: tower-iis-test-site\r\n");
    }
    for (n, v) in row.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if row.method == "POST" {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    site.send_raw(head.as_bytes()).await
}

fn title(text: &str) -> Option<&str> {
    let start = text.find("<title>")? + 7;
    Some(&text[start..start + text[start..].find("</title>")?])
}

/// Runs every row against `site`, checking the response and the log line.
async fn check_rows(site: &TestSite) {
    let port = site.addr().port().to_string();
    assert!(ROWS.len() >= 30);
    for (i, row) in ROWS.iter().enumerate() {
        let what = format!("row {i}: {} {}", row.method, row.path);
        let res = send(site, row).await;
        let text = res.text();
        assert_eq!(res.status, row.status, "{what}: {text}");
        let location = row.location.map(|l| l.replace("{port}", &port));
        assert_eq!(res.header("location"), location.as_deref(), "{what}");
        match &row.reached {
            App(expected) => assert_eq!(text, expected.replace("{port}", &port), "{what}"),
            File(expected) => assert_eq!(text, *expected, "{what}"),
            Page(expected, summary) => {
                assert_eq!(title(&text), Some(*expected), "{what}");
                if let Some(s) = summary {
                    assert!(text.contains(&format!("<h4>{s}</h4>")), "{what}: {text}");
                }
            }
            Moved => {
                assert!(
                    text.contains("<title>Document Moved</title>"),
                    "{what}: {text}"
                );
                assert!(
                    text.contains(&format!(
                        "<a href=\"{}\">",
                        location.as_deref().unwrap().replace('&', "&amp;")
                    )),
                    "{what}: {text}"
                );
            }
            Aborted => {
                assert!(text.is_empty(), "{what}: {text}");
                assert_eq!(res.header("connection"), Some("close"), "{what}");
            }
        }
        let lines = site.log_lines().await;
        let line = lines.last().expect("a log line");
        let (stem, query, sub) = row.log;
        assert_eq!(
            (
                line.get("cs-method"),
                line.get("cs-uri-stem"),
                line.get("cs-uri-query"),
                line.status(),
                line.substatus(),
                line.win32_status()
            ),
            (
                Some(row.method),
                Some(stem),
                Some(query),
                Some(row.status),
                Some(sub),
                Some(0)
            ),
            "{what}: the log line"
        );
    }
    assert_eq!(site.log_lines().await.len(), ROWS.len());
}

#[tokio::test]
async fn rules_from_web_config_over_a_socket() {
    let root = Root::new("table");
    let app = tower::service_fn(|req: http::Request<_>| async move {
        let mut body = format!("app saw {}", req.uri());
        if let Some(OriginalUrl(was)) = req.extensions().get() {
            body.push_str(&format!(" (was {was})"));
            // The header IIS sets for the application, path and query as sent.
            assert_eq!(req.headers()["x-original-url"], was.to_string().as_str());
        }
        Ok::<_, Infallible>(http::Response::new(http_body_util::Full::new(
            bytes::Bytes::from(body),
        )))
    });
    let builder = IisSite::from_web_config(&root.0).app(app);
    let site = TestSite::start(builder).await;
    check_rows(&site).await;
}

#[tokio::test]
async fn the_section_reads_every_rule_and_warns_about_outbound_rules() {
    let config = WebConfig::parse(RULES, "/srv/site/web.config").unwrap();
    assert_eq!(config.rewrite.rules.len(), 37);
    assert_eq!(config.rewrite.maps.len(), 2);
    assert!(
        !config
            .rewrite
            .rules
            .iter()
            .find(|r| r.name == "Switched off")
            .unwrap()
            .enabled
    );
    let outbound: Vec<_> = config
        .warnings
        .iter()
        .filter(|w| w.element == "outboundRules")
        .collect();
    assert_eq!(outbound.len(), 1);
    assert_eq!(config.rewrite.layer("/srv/site").rule_count(), 36);
}

const MINIMAL: &str = r#"<configuration>
  <system.webServer>
    <rewrite>
      <rules>
        <rule name="R1">
          MATCH
          <action ACTION />
        </rule>
      </rules>
    </rewrite>
  </system.webServer>
</configuration>"#;

fn bad(matcher: &str, action: &str) -> tower_iis::web_config::WebConfigError {
    let text = MINIMAL.replace("MATCH", matcher).replace("ACTION", action);
    WebConfig::parse(&text, "/srv/site/web.config").unwrap_err()
}

#[test]
fn bad_rules_are_500_19_on_their_line() {
    // <match>, <action> attributes, then the error's line, element, attribute and message.
    type Case = (
        &'static str,
        &'static str,
        u32,
        &'static str,
        Option<&'static str>,
        &'static str,
    );
    let cases: &[Case] = &[
        (r#"<match url="(" />"#, r#"type="None""#, 6, "match", Some("url"), "The attribute 'url' of rule 'R1' has an invalid value '(': not a valid regular expression"),
        (r#"<match url="x" />"#, r#"type="Rewrite" url="{NO_SUCH_VAR}""#, 7, "action", Some("url"), "unknown server variable 'NO_SUCH_VAR'"),
        (r#"<match url="x" />"#, r#"type="Redirect" url="{Missing:{R:1}}""#, 7, "action", Some("url"), "'Missing' is neither a function"),
        (r#"<match url="x" />"#, r#"type="Proxy" url="/""#, 7, "action", Some("type"), "The attribute 'type' has an invalid value 'Proxy' (expected one of None, Rewrite, Redirect, CustomResponse, AbortRequest)"),
        (r#"<match url="x" />"#, r#"type="Redirect" url="/" redirectType="Moved""#, 7, "action", Some("redirectType"), "expected one of Permanent, Found, SeeOther, Temporary"),
        (r#"<match url="x" />"#, r#"type="CustomResponse" statusCode="4040""#, 7, "action", Some("statusCode"), "expected a number from 0 to 999"),
        (r#"<match url="x" />"#, r#"type="CustomResponse""#, 7, "action", None, "Missing required attribute 'statusCode'"),
        (r#"<match url="x" negated="true" />"#, r#"type="None""#, 6, "match", Some("negated"), "Unrecognized attribute 'negated'"),
        (r#""#, r#"type="None""#, 5, "rule", None, "Missing required element 'match'"),
    ];
    for (matcher, action, line, element, attribute, message) in cases {
        let e = bad(matcher, action);
        assert_eq!(
            (e.line(), e.element(), e.attribute()),
            (*line, *element, *attribute),
            "{e}"
        );
        // IIS's text is the message; the parser's own words follow in the detail.
        assert!(e.to_string().contains(message), "{e}");
        assert!(e.to_string().contains(e.message()), "{e}");
        let iis = e.to_iis_error();
        assert_eq!(iis.status().to_string(), "500.19");
        assert_eq!(iis.hresult(), 0x8007_000d);
    }
}

#[test]
fn bad_rules_from_code_name_the_rule_and_attribute() {
    let e = RewriteLayer::builder()
        .rule(
            Rule::new("Canonical host", "(.*)")
                .condition(Condition::pattern("{HTTP_HOST", "^example\\.com$"))
                .action(Action::redirect("https://www.example.com/{R:1}")),
        )
        .build()
        .unwrap_err();
    assert_eq!(
        e.setting(),
        "rewrite rule 'Canonical host' conditions/add[1]@input"
    );
    assert_eq!(e.value(), "{HTTP_HOST");
    let e = RewriteLayer::builder()
        .rule(
            Rule::new("SPA", "^spa/")
                .condition(Condition::is_file("{REQUEST_FILENAME}").negate(true)),
        )
        .build()
        .unwrap_err();
    assert_eq!(
        e.setting(),
        "rewrite rule 'SPA' conditions/add[1]@matchType"
    );
    assert!(e.reason().contains("physical root"));
    let e = RewriteLayer::builder()
        .rule(Rule::new("Custom", "x").action(Action::custom_response(1000, 0)))
        .build()
        .unwrap_err();
    assert_eq!(e.setting(), "rewrite rule 'Custom' action@statusCode");
    let e = RewriteLayer::builder()
        .rule(Rule::new("A", "x"))
        .rule(Rule::new("A", "y"))
        .build()
        .unwrap_err();
    assert_eq!((e.setting(), e.value()), ("rewrite rule@name", "A"));
    let e = RewriteLayer::builder()
        .map(RewriteMap::new("M"))
        .map(RewriteMap::new("m"))
        .build()
        .unwrap_err();
    assert_eq!(e.setting(), "rewriteMaps/rewriteMap@name");
}
