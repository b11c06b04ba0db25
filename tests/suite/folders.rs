//! Per-folder configuration: web.config files in sub-folders and `<location>`,
//! merged per path as IIS merges them, section locks (500.19 `0x80070021`), and a
//! bad folder's web.config confined to its folder. A table of merges, then a
//! site over real sockets.
#![cfg(all(feature = "site", feature = "test-site"))]

use tower_iis::http_errors::{ErrorMode, ExistingResponse};
use tower_iis::site::IisSite;
use tower_iis::test_site::TestSite;
use tower_iis::web_config::{
    SiteConfig, WebConfig, WebConfigError, HRESULT_DUPLICATE, HRESULT_INVALID_DATA,
    HRESULT_LOCK_VIOLATION,
};

use crate::common::TempDir;

/// A web.config holding `body` in `<system.webServer>`.
fn ws(body: &str) -> String {
    format!("<configuration>\n<system.webServer>\n{body}\n</system.webServer>\n</configuration>\n")
}

/// One row: the files of a site (folder, text), and what must hold.
struct Row {
    /// The IIS behaviour the row emulates.
    iis: &'static str,
    files: Vec<(&'static str, String)>,
    default_locks: bool,
    check: fn(&SiteConfig),
}

fn ok<'a>(site: &'a SiteConfig, url: &str) -> &'a WebConfig {
    match site.config_for(url) {
        Ok(c) => c,
        Err(e) => panic!("{url}: {e}"),
    }
}

fn err<'a>(site: &'a SiteConfig, url: &str) -> &'a WebConfigError {
    match site.config_for(url) {
        Ok(_) => panic!("{url}: expected a configuration error"),
        Err(e) => e,
    }
}

/// The error is in `folder`'s web.config (`""`: the root's), at `line`.
fn at(e: &WebConfigError, folder: &str, line: u32, hresult: u32) {
    let file = std::path::Path::new("/srv/site")
        .join(folder)
        .join("web.config");
    assert_eq!(e.file(), file, "{e}");
    assert_eq!(e.line(), line, "{e}");
    assert_eq!(e.hresult(), hresult, "{e}");
    let highlighted: Vec<_> = e.source_lines().iter().filter(|l| l.highlight).collect();
    assert_eq!(highlighted.len(), 1, "{e}");
    assert_eq!(highlighted[0].number, line, "{e}");
}

fn headers(c: &WebConfig) -> Vec<(&str, &str)> {
    c.custom_headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

const LOCK_TEXT: &str = "This configuration section cannot be used at this path. This happens when the section is locked at a parent level. Locking is either by default (overrideModeDefault=\"Deny\"), or set explicitly by a location tag with overrideMode=\"Deny\" or the legacy allowOverride=\"false\".";

fn rows() -> Vec<Row> {
    vec![
        // IIS: a folder's web.config inherits every section it does not set,
        // and sets only the attributes it names; the folder matches on whole
        // segments, ignoring case.
        Row {
            iis: "inheritance and attribute override",
            files: vec![
                ("", ws(r#"<httpErrors errorMode="Custom" existingResponse="Replace" /><directoryBrowse enabled="true" />"#)),
                ("sub", ws(r#"<httpErrors errorMode="Detailed" /><staticContent><mimeMap fileExtension=".xyz" mimeType="application/x-demo" /></staticContent>"#)),
            ],
            default_locks: false,
            check: |s| {
                let root = ok(s, "/page.htm");
                assert_eq!(root.http_errors.error_mode, Some(ErrorMode::Custom));
                assert_eq!(root.mime_map.get(".xyz"), None);
                for url in ["/sub", "/sub/", "/sub/a/b.htm", "/SUB/x", "/Sub/A"] {
                    let sub = ok(s, url);
                    assert_eq!(sub.http_errors.error_mode, Some(ErrorMode::Detailed), "{url}");
                    assert_eq!(sub.http_errors.existing_response, Some(ExistingResponse::Replace), "{url}");
                    assert!(sub.directory_browse, "{url}: inherited");
                    assert_eq!(sub.mime_map.get(".xyz"), Some("application/x-demo"), "{url}");
                    assert_eq!(sub.mime_map.get(".htm"), Some("text/html"), "{url}: inherited map");
                }
                // `/subway` is not in `/sub`.
                assert_eq!(ok(s, "/subway/x").mime_map.get(".xyz"), None);
            },
        },
        // IIS: collections inherit; a folder's <add> comes after the parent's entries.
        Row {
            iis: "collection add after the inherited entries",
            files: vec![
                ("", ws(r#"<httpProtocol><customHeaders><add name="X-A" value="1" /></customHeaders></httpProtocol>"#)),
                ("sub", ws(r#"<httpProtocol><customHeaders><add name="X-B" value="2" /></customHeaders></httpProtocol>"#)),
            ],
            default_locks: false,
            check: |s| {
                assert_eq!(headers(ok(s, "/")), vec![("X-A", "1")]);
                assert_eq!(headers(ok(s, "/sub/x")), vec![("X-A", "1"), ("X-B", "2")]);
            },
        },
        // IIS: adding an inherited key again without <remove> is 500.19 0x800700b7
        // ("Cannot add duplicate collection entry"), for that folder only.
        Row {
            iis: "duplicate <add> of an inherited key",
            files: vec![
                ("", ws(r#"<httpProtocol><customHeaders><add name="X-A" value="1" /></customHeaders></httpProtocol>"#)),
                ("sub", ws("<httpProtocol><customHeaders>\n<add name=\"x-a\" value=\"2\" />\n</customHeaders></httpProtocol>")),
            ],
            default_locks: false,
            check: |s| {
                assert_eq!(headers(ok(s, "/")), vec![("X-A", "1")]);
                let e = err(s, "/sub/page.htm");
                at(e, "sub", 4, HRESULT_DUPLICATE);
                assert!(e.message().contains("Cannot add duplicate collection entry of type 'add' with unique key attribute 'name' set to 'x-a'"), "{e}");
            },
        },
        // IIS: <remove> drops an inherited entry for the folder (then it may be added again).
        Row {
            iis: "<remove> of an inherited entry",
            files: vec![
                ("", ws(r#"<httpProtocol><customHeaders><add name="X-A" value="1" /><add name="X-C" value="3" /></customHeaders></httpProtocol>"#)),
                ("sub", ws(r#"<httpProtocol><customHeaders><remove name="X-A" /><add name="X-A" value="2" /></customHeaders></httpProtocol>"#)),
            ],
            default_locks: false,
            check: |s| {
                assert_eq!(headers(ok(s, "/")), vec![("X-A", "1"), ("X-C", "3")]);
                assert_eq!(headers(ok(s, "/sub/")), vec![("X-C", "3"), ("X-A", "2")]);
            },
        },
        // IIS: <clear/> empties the inherited collection for the folder and below.
        Row {
            iis: "<clear/> of an inherited collection",
            files: vec![
                ("sub", ws(r#"<defaultDocument><files><clear /><add value="home.htm" /></files></defaultDocument>"#)),
                ("sub/deeper", ws(r#"<defaultDocument enabled="false" />"#)),
            ],
            default_locks: false,
            check: |s| {
                assert_eq!(ok(s, "/").default_document.files.len(), 6);
                assert_eq!(ok(s, "/sub/").default_document.files, vec!["home.htm".to_owned()]);
                let deeper = ok(s, "/sub/deeper/");
                assert_eq!(deeper.default_document.files, vec!["home.htm".to_owned()]);
                assert!(!deeper.default_document.enabled);
                assert!(ok(s, "/sub/").default_document.enabled);
            },
        },
        // IIS: requestFiltering merges per folder: flags override, collections inherit.
        Row {
            iis: "requestFiltering per folder",
            files: vec![
                ("", ws(r#"<security><requestFiltering allowDoubleEscaping="true"><fileExtensions><add fileExtension=".log" allowed="false" /></fileExtensions></requestFiltering></security>"#)),
                ("sub", ws(r#"<security><requestFiltering><hiddenSegments><add segment="private" /></hiddenSegments></requestFiltering></security>"#)),
                ("open", ws(r#"<security><requestFiltering allowDoubleEscaping="false"><fileExtensions><remove fileExtension=".log" /></fileExtensions></requestFiltering></security>"#)),
            ],
            default_locks: false,
            check: |s| {
                let root = ok(s, "/").request_filtering.config();
                assert!(root.allow_double_escaping());
                assert!(root.file_extensions().any(|e| e == (".log", false)));
                assert!(!root.hidden_segments().any(|h| h == "private"));
                let sub = ok(s, "/sub/x").request_filtering.config();
                assert!(sub.allow_double_escaping(), "inherited flag");
                assert!(sub.file_extensions().any(|e| e == (".log", false)), "inherited entry");
                assert!(sub.hidden_segments().any(|h| h == "private"));
                assert!(sub.hidden_segments().any(|h| h == "bin"), "server-level entries too");
                let open = ok(s, "/open/x").request_filtering.config();
                assert!(!open.allow_double_escaping());
                assert!(!open.file_extensions().any(|(e, _)| e == ".log"));
                assert!(open.file_extensions().any(|e| e == (".config", false)));
            },
        },
        // IIS: <location path> configures a path without a web.config of its own;
        // `path="."` is the file's own level.
        Row {
            iis: "<location path> and path=\".\"",
            files: vec![(
                "",
                r#"<configuration>
<location path="."><system.webServer><httpErrors errorMode="Custom" /></system.webServer></location>
<location path="admin/tools"><system.webServer><directoryBrowse enabled="true" /></system.webServer></location>
</configuration>"#
                    .to_owned(),
            )],
            default_locks: false,
            check: |s| {
                assert_eq!(ok(s, "/").http_errors.error_mode, Some(ErrorMode::Custom));
                assert!(!ok(s, "/admin/x").directory_browse);
                let tools = ok(s, "/admin/Tools/");
                assert!(tools.directory_browse);
                assert_eq!(tools.http_errors.error_mode, Some(ErrorMode::Custom));
                assert!(!ok(s, "/admin/toolsets/").directory_browse);
            },
        },
        // IIS: a <location path> in a sub-folder's web.config is relative to that folder.
        Row {
            iis: "<location path> relative to its web.config",
            files: vec![(
                "sub",
                r#"<configuration><location path="deep"><system.webServer><directoryBrowse enabled="true" /></system.webServer></location></configuration>"#
                    .to_owned(),
            )],
            default_locks: false,
            check: |s| {
                assert!(ok(s, "/sub/deep/").directory_browse);
                assert!(!ok(s, "/deep/").directory_browse);
                assert!(!ok(s, "/sub/").directory_browse);
            },
        },
        // IIS: a parent file and its <location> for a folder come before the
        // folder's own web.config: the deepest file wins.
        Row {
            iis: "deepest last: a folder's web.config over its parent's <location>",
            files: vec![
                ("", r#"<configuration><location path="sub"><system.webServer><httpErrors errorMode="Custom" /></system.webServer></location></configuration>"#.to_owned()),
                ("sub", ws(r#"<httpErrors errorMode="Detailed" />"#)),
            ],
            default_locks: false,
            check: |s| {
                assert_eq!(ok(s, "/sub/x").http_errors.error_mode, Some(ErrorMode::Detailed));
                assert_eq!(ok(s, "/x").http_errors.error_mode, None);
            },
        },
        // IIS: a section a parent locks with <location overrideMode="Deny"> cannot
        // be set below: 500.19 0x80070021 on the child's section, its file and line.
        Row {
            iis: "overrideMode=\"Deny\" then a child sets the section",
            files: vec![
                ("", r#"<configuration><location path="." overrideMode="Deny"><system.webServer><httpErrors errorMode="Custom" /></system.webServer></location></configuration>"#.to_owned()),
                ("sub", ws("<staticContent />\n<httpErrors errorMode=\"Detailed\" />")),
                ("other", ws(r#"<directoryBrowse enabled="true" />"#)),
            ],
            default_locks: false,
            check: |s| {
                assert_eq!(ok(s, "/").http_errors.error_mode, Some(ErrorMode::Custom));
                let e = err(s, "/sub/page.htm");
                at(e, "sub", 4, HRESULT_LOCK_VIOLATION);
                assert_eq!(e.message(), LOCK_TEXT);
                assert_eq!(e.element(), "httpErrors");
                let detail = e.detail().unwrap();
                assert!(detail.contains("system.webServer/httpErrors is locked by the <location path=\".\">"), "{detail}");
                assert!(detail.contains("line 1"), "{detail}");
                // Another section in another folder is not locked.
                let other = ok(s, "/other/");
                assert!(other.directory_browse);
                assert_eq!(other.http_errors.error_mode, Some(ErrorMode::Custom));
            },
        },
        // IIS: the legacy allowOverride="false" locks as overrideMode="Deny" does,
        // for the location's path only.
        Row {
            iis: "allowOverride=\"false\" on one folder",
            files: vec![
                ("", r#"<configuration><location path="locked" allowOverride="false"><system.webServer><defaultDocument enabled="false" /></system.webServer></location></configuration>"#.to_owned()),
                ("locked/inner", ws(r#"<defaultDocument enabled="true" />"#)),
                ("free", ws(r#"<defaultDocument enabled="false" />"#)),
            ],
            default_locks: false,
            check: |s| {
                assert!(!ok(s, "/locked/").default_document.enabled);
                at(err(s, "/locked/inner/x"), "locked/inner", 3, HRESULT_LOCK_VIOLATION);
                assert!(!ok(s, "/free/").default_document.enabled);
            },
        },
        // IIS: without overrideMode (or with "Inherit"/allowOverride="true") a
        // <location> locks nothing; a more specific overrideMode="Allow" reopens
        // what a parent path's "Deny" locked.
        Row {
            iis: "Inherit / allowOverride=\"true\" / a deeper Allow",
            files: vec![
                ("", r#"<configuration>
<location path="." overrideMode="Deny"><system.webServer><httpErrors /></system.webServer></location>
<location path="open" overrideMode="Allow"><system.webServer><httpErrors /></system.webServer></location>
<location path="inherit" overrideMode="Inherit"><system.webServer><staticContent /></system.webServer></location>
<location path="legacy" allowOverride="true"><system.webServer><staticContent /></system.webServer></location>
</configuration>"#.to_owned()),
                ("open", ws(r#"<httpErrors errorMode="Custom" />"#)),
                ("closed", ws(r#"<httpErrors errorMode="Custom" />"#)),
                ("inherit", ws(r#"<staticContent><mimeMap fileExtension=".a1" mimeType="text/plain" /></staticContent>"#)),
                ("legacy", ws(r#"<staticContent><mimeMap fileExtension=".a2" mimeType="text/plain" /></staticContent>"#)),
            ],
            default_locks: false,
            check: |s| {
                assert_eq!(ok(s, "/open/").http_errors.error_mode, Some(ErrorMode::Custom));
                at(err(s, "/closed/"), "closed", 3, HRESULT_LOCK_VIOLATION);
                assert_eq!(ok(s, "/inherit/").mime_map.get(".a1"), Some("text/plain"));
                assert_eq!(ok(s, "/legacy/").mime_map.get(".a2"), Some("text/plain"));
            },
        },
        // IIS: a lock binds deeper files, not the file that holds it: the root may
        // lock a section and set it again in another <location>.
        Row {
            iis: "a lock does not bind its own file",
            files: vec![(
                "",
                r#"<configuration>
<location path="." overrideMode="Deny"><system.webServer><directoryBrowse enabled="false" /></system.webServer></location>
<location path="pub"><system.webServer><directoryBrowse enabled="true" /></system.webServer></location>
</configuration>"#
                    .to_owned(),
            )],
            default_locks: false,
            check: |s| {
                assert!(ok(s, "/pub/").directory_browse);
                assert!(!ok(s, "/").directory_browse);
            },
        },
        // IIS: applicationHost.config ships ipSecurity with overrideModeDefault="Deny":
        // on a stock server any web.config that sets it is 500.19 0x80070021.
        Row {
            iis: "stock applicationHost locks (iis_default_locks)",
            files: vec![
                ("", ws(r#"<httpErrors errorMode="Custom" />"#)),
                ("sub", ws("<security>\n<ipSecurity allowUnlisted=\"false\" />\n</security>")),
            ],
            default_locks: true,
            check: |s| {
                assert_eq!(ok(s, "/").http_errors.error_mode, Some(ErrorMode::Custom));
                let e = err(s, "/sub/");
                at(e, "sub", 4, HRESULT_LOCK_VIOLATION);
                assert_eq!(e.message(), LOCK_TEXT);
                assert!(e.detail().unwrap().contains("applicationHost.config"), "{e}");
            },
        },
        // The same site on a server whose administrator unlocked ipSecurity (our
        // default): the folder's restrictions merge over the root's.
        Row {
            iis: "ipSecurity unlocked: entries inherit, attributes override",
            files: vec![
                ("", ws(r#"<security><ipSecurity><add ipAddress="10.0.0.1" /></ipSecurity><dynamicIpSecurity><denyByConcurrentRequests enabled="true" maxConcurrentRequests="7" /></dynamicIpSecurity></security>"#)),
                ("sub", ws("<security>\n<ipSecurity allowUnlisted=\"false\"><add ipAddress=\"127.0.0.1\" allowed=\"true\" /></ipSecurity><dynamicIpSecurity><denyByConcurrentRequests maxConcurrentRequests=\"9\" /></dynamicIpSecurity>\n</security>")),
            ],
            default_locks: false,
            check: |s| {
                let root = &ok(s, "/").ip_security;
                assert!(root.allow_unlisted);
                assert_eq!(root.entries, vec![("10.0.0.1".to_owned(), false)]);
                let sub = &ok(s, "/sub/").ip_security;
                assert!(!sub.allow_unlisted);
                assert_eq!(sub.entries, vec![("10.0.0.1".to_owned(), false), ("127.0.0.1".to_owned(), true)]);
                assert_eq!(sub.max_concurrent_requests, Some(9), "enabled inherited, maximum overridden");
            },
        },
        // IIS: a malformed web.config in a folder is a 500.19 (0x8007000d) for
        // requests under that folder only; the rest of the site is served.
        Row {
            iis: "a bad child web.config is confined to its folder",
            files: vec![
                ("", ws(r#"<directoryBrowse enabled="true" />"#)),
                ("bad", "<configuration>\n<system.webServer>\n<httpErrors>\n</system.webServer>\n</configuration>\n".to_owned()),
                ("bad/deeper", ws(r#"<directoryBrowse enabled="false" />"#)),
            ],
            default_locks: false,
            check: |s| {
                assert!(ok(s, "/").directory_browse);
                assert!(ok(s, "/badge/").directory_browse);
                for url in ["/bad", "/bad/x.htm", "/BAD/deeper/y"] {
                    let e = err(s, url);
                    assert_eq!(e.hresult(), HRESULT_INVALID_DATA, "{url}");
                    assert_eq!(e.file(), std::path::Path::new("/srv/site/bad/web.config"));
                    assert_eq!(e.line(), 4);
                }
            },
        },
        // IIS: a value IIS refuses in a folder's section (here an errorMode) is a
        // 500.19 for the folder, naming its file and line.
        Row {
            iis: "an invalid value in a folder's section",
            files: vec![("sub", ws("\n<httpErrors errorMode=\"Loud\" />"))],
            default_locks: false,
            check: |s| {
                at(err(s, "/sub/"), "sub", 4, HRESULT_INVALID_DATA);
                assert!(ok(s, "/").http_errors.error_mode.is_none());
            },
        },
        // IIS: overrideMode and the legacy allowOverride on one <location> is an error.
        Row {
            iis: "overrideMode together with allowOverride",
            files: vec![(
                "",
                "<configuration>\n<location path=\"x\" overrideMode=\"Deny\" allowOverride=\"false\" />\n</configuration>".to_owned(),
            )],
            default_locks: false,
            check: |s| {
                at(err(s, "/"), "", 2, HRESULT_INVALID_DATA);
            },
        },
        // URL Rewrite: a folder inherits its parent's distributed rules (they run
        // first); <clear/> drops them; its own rules match relative to the folder.
        #[cfg(feature = "rewrite")]
        Row {
            iis: "rewrite rules inherit, <clear/>, relative to their folder",
            files: vec![
                ("", ws(r#"<rewrite><rules><rule name="R1"><match url="^old$" /><action type="Rewrite" url="new" /></rule></rules></rewrite>"#)),
                ("blog", ws(r#"<rewrite><rules><rule name="R2"><match url="^post/(\d+)$" /><action type="Rewrite" url="show.htm?id={R:1}" /></rule></rules></rewrite>"#)),
                ("api", ws(r#"<rewrite><rules><clear /></rules></rewrite>"#)),
            ],
            default_locks: false,
            check: |s| {
                let names = |c: &WebConfig| c.rewrite.rules.iter().map(|r| (r.name.clone(), r.scope.clone())).collect::<Vec<_>>();
                assert_eq!(names(ok(s, "/")), vec![("R1".to_owned(), String::new())]);
                assert_eq!(
                    names(ok(s, "/blog/post/1")),
                    vec![("R1".to_owned(), String::new()), ("R2".to_owned(), "blog".to_owned())]
                );
                assert!(names(ok(s, "/api/x")).is_empty());
            },
        },
    ]
}

#[test]
fn folders_merge_as_iis_merges_them() {
    for row in rows() {
        let mut b = SiteConfig::builder("/srv/site").iis_default_locks(row.default_locks);
        for (folder, text) in &row.files {
            b = b.file(folder, text.clone());
        }
        let site = b.build();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (row.check)(&site)));
        if let Err(e) = run {
            eprintln!("row failed: {}", row.iis);
            std::panic::resume_unwind(e);
        }
    }
}

#[test]
fn a_lock_violation_is_the_500_19_iis_shows() {
    let site = SiteConfig::builder("/srv/site")
        .file(
            "",
            r#"<configuration><location path="app" overrideMode="Deny"><system.webServer><staticContent /></system.webServer></location></configuration>"#,
        )
        .file("app", ws("<staticContent>\n</staticContent>"))
        .build();
    let e = err(&site, "/app/x.htm");
    let iis = e.to_iis_error();
    assert_eq!(iis.status().to_string(), "500.19");
    assert_eq!(iis.hresult(), 0x8007_0021);
    let detail = iis.config_error().unwrap();
    assert_eq!(detail.error, LOCK_TEXT);
    assert!(
        detail.file.ends_with("/srv/site/app/web.config"),
        "{}",
        detail.file
    );
    let lines: Vec<_> = detail
        .source_lines
        .iter()
        .map(|l| (l.number, l.text.as_str(), l.highlight))
        .collect();
    assert_eq!(
        lines,
        vec![
            (2, "<system.webServer>", false),
            (3, "<staticContent>", true),
            (4, "</staticContent>", false),
        ]
    );
}

/// A site whose `sub/web.config` has its own error page and its own request
/// filtering, and whose `bad/web.config` is broken.
#[tokio::test]
async fn a_folder_has_its_own_error_pages_and_filtering_over_a_socket() {
    let root = TempDir::new("folders-socket");
    let files: &[(&str, &str)] = &[
        ("index.htm", "root index"),
        ("readme.txt", "root readme"),
        ("sub/readme.txt", "sub readme"),
        ("sub/page.htm", "sub page"),
        ("sub/errors/notfound.htm", "<p>the sub folder's own 404 page</p>"),
        ("bad/page.htm", "never served"),
        ("badge/page.htm", "badge page"),
        ("locked/page.htm", "never served"),
        (
            "web.config",
            r#"<configuration>
  <location path="locked" overrideMode="Deny">
    <system.webServer><httpErrors /></system.webServer>
  </location>
</configuration>"#,
        ),
        (
            "locked/web.config",
            "<configuration>\n  <system.webServer>\n    <httpErrors errorMode=\"Detailed\" />\n  </system.webServer>\n</configuration>\n",
        ),
        (
            "sub/web.config",
            r#"<configuration>
  <system.webServer>
    <httpErrors errorMode="Custom">
      <remove statusCode="404" />
      <error statusCode="404" path="errors/notfound.htm" responseMode="File" />
    </httpErrors>
    <security>
      <requestFiltering>
        <fileExtensions>
          <add fileExtension=".txt" allowed="false" />
        </fileExtensions>
      </requestFiltering>
    </security>
  </system.webServer>
</configuration>"#,
        ),
        (
            "bad/web.config",
            "<configuration>\n  <system.webServer>\n    <httpErrors>\n  </system.webServer>\n</configuration>\n",
        ),
    ];
    for (path, body) in files {
        let path = root.0.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let builder = IisSite::from_web_config(&root.0).serve_config_errors(true);
    let site = TestSite::start(builder).await;

    // The root: IIS's defaults (a loopback client sees detailed pages).
    let res = site.get("/readme.txt").await;
    assert_eq!(res.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(res.text(), "root readme");
    let res = site.get("/missing.htm").await;
    assert_eq!(res.status, 404);
    assert!(res
        .text()
        .contains("<title>IIS 10.0 Detailed Error - 404.0 - Not Found</title>"));

    // The folder: its own denial (404.7) with its own page, for any case.
    let res = site.get("/Sub/readme.txt").await;
    assert_eq!(res.status_line(), "HTTP/1.1 404 Not Found");
    assert_eq!(res.text(), "<p>the sub folder's own 404 page</p>");
    let res = site.get("/sub/missing.htm").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.text(), "<p>the sub folder's own 404 page</p>");
    let res = site.get("/sub/page.htm").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "sub page");
    // Dot segments resolve before the folder is chosen.
    let res = site.get("/sub/../readme.txt").await;
    assert_eq!(res.text(), "root readme");

    // The broken folder: 500.19 for it only; `/badge` is another folder.
    let res = site.get("/bad/page.htm").await;
    assert_eq!(res.status_line(), "HTTP/1.1 500 Internal Server Error");
    let page = res.text();
    assert!(
        page.contains("<title>IIS 10.0 Detailed Error - 500.19 - Internal Server Error</title>")
    );
    assert!(page.contains("0x8007000d"), "{page}");
    assert!(page.contains(&format!("{}", root.0.join("bad/web.config").display())));
    let res = site.get("/badge/page.htm").await;
    assert_eq!(res.text(), "badge page");
    // A section the root locked for the folder: 500.19 0x80070021 on the child's line.
    let res = site.get("/locked/page.htm").await;
    assert_eq!(res.status, 500);
    let page = res.text();
    assert!(page.contains("0x80070021"), "{page}");
    assert!(page.contains("This configuration section cannot be used at this path."));
    assert!(page.contains(&format!("{}", root.0.join("locked/web.config").display())));
    assert!(
        page.contains("&lt;httpErrors errorMode=&quot;Detailed&quot; /&gt;"),
        "{page}"
    );
    assert_eq!(site.get("/").await.text(), "root index");

    let lines = site.log_lines().await;
    let logged: Vec<_> = lines
        .iter()
        .map(|e| {
            (
                e.value("cs-uri-stem").unwrap().to_owned(),
                e.status().unwrap(),
                e.substatus().unwrap(),
                e.win32_status().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        logged,
        vec![
            ("/readme.txt".to_owned(), 200, 0, 0),
            ("/missing.htm".to_owned(), 404, 0, 2),
            ("/Sub/readme.txt".to_owned(), 404, 7, 0),
            ("/sub/missing.htm".to_owned(), 404, 0, 2),
            ("/sub/page.htm".to_owned(), 200, 0, 0),
            ("/readme.txt".to_owned(), 200, 0, 0),
            ("/bad/page.htm".to_owned(), 500, 19, 13),
            ("/badge/page.htm".to_owned(), 200, 0, 0),
            ("/locked/page.htm".to_owned(), 500, 19, 33),
            ("/".to_owned(), 200, 0, 0),
        ]
    );
    // The same site as a value: the folder's error is listed, the root has none.
    let built = IisSite::from_web_config(&root.0)
        .serve_config_errors(true)
        .build()
        .unwrap();
    assert!(built.config_error().is_none());
    let errors: Vec<_> = built
        .folder_config_errors()
        .map(|(p, e)| (p.to_owned(), e.line()))
        .collect();
    assert_eq!(
        errors,
        vec![("bad".to_owned(), 4), ("locked".to_owned(), 3)]
    );
    // Without serve_config_errors the bad folder fails the build, naming it.
    let err = IisSite::from_web_config(&root.0).build().unwrap_err();
    assert!(err.to_string().contains("bad/web.config"), "{err}");
}
