//! Authentication and URL Authorization through a whole site served on a loopback
//! socket, configured by the root web.config: the exact status line, challenge,
//! detailed page rows and W3C columns (`cs-username`, `sc-status sc-substatus
//! sc-win32-status`) of each case.
#![cfg(feature = "test-site")]

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use tower_iis::authentication::{AuthenticationSection, StaticUsers};
use tower_iis::authorization::AccessType;
use tower_iis::site::IisSite;
use tower_iis::test_site::{TestResponse, TestSite};
use tower_iis::web_config::WebConfig;
use tower_iis::{IisError, IisStatus, Logon};

use crate::common::TempDir;

/// `Authorization: Basic` for `user:password`.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn users() -> StaticUsers {
    StaticUsers::new()
        .user("alice", "alice-demo-pw")
        .user_in_roles("bob", "bob-demo-pw", ["Editors"])
        .user_in_roles("carol", "carol-demo-pw", ["Editors"])
        .user("dave", "dave-demo-pw")
}

/// The application: `/api/boom` fails with a 500.0, `/api/missing` answers a bare
/// 404 and `/api/login` a bare 401; anything else says who asked.
fn app() -> impl tower::Service<
    http::Request<tower_iis::request_filtering::LimitedBody<hyper::body::Incoming>>,
    Response = http::Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    tower::service_fn(|req: http::Request<_>| async move {
        if req.uri().path() == "/api/boom" {
            return Ok(IisError::new(IisStatus::INTERNAL_SERVER_ERROR).into_http_response());
        }
        let bare = match req.uri().path() {
            "/api/missing" => Some(404),
            "/api/login" => Some(401),
            _ => None,
        };
        if let Some(status) = bare {
            let mut res = http::Response::new(Full::default());
            *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
            return Ok(res);
        }
        let logon = req.extensions().get::<Logon>().expect("authentication ran");
        let who = logon.user().unwrap_or("(anonymous)");
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(format!(
            "app: {} {who} as {}",
            logon.method(),
            logon.identity()
        )))))
    })
}

/// A content root with `index.htm` and this `web.config`.
fn root(name: &str, web_config: &str) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::write(dir.0.join("index.htm"), "<p>members only</p>").unwrap();
    std::fs::create_dir_all(dir.0.join("sub")).unwrap();
    std::fs::write(dir.0.join("web.config"), web_config).unwrap();
    dir
}

const BASIC_ONLY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.webServer>
    <security>
      <authentication>
        <anonymousAuthentication enabled="false" />
        <basicAuthentication enabled="true" realm="Staff" />
      </authentication>
    </security>
  </system.webServer>
</configuration>"#;

fn row(page: &str, label: &str) -> Option<String> {
    let start = page.find(&format!("<th>{label}</th><td>&nbsp;&nbsp;&nbsp;"))?;
    let rest = &page[start..];
    let value = &rest[rest.find("&nbsp;&nbsp;&nbsp;")? + 18..];
    Some(value[..value.find("</td>")?].to_owned())
}

fn logon_rows(res: &TestResponse) -> (Option<String>, Option<String>) {
    let page = res.text();
    (row(&page, "Logon Method"), row(&page, "Logon User"))
}

/// `(cs-username, sc-status, sc-substatus, sc-win32-status)` of the n-th line.
/// A 401 with Basic's challenge for `realm` and the detailed page of `code`
/// (`"401.2"`), as a local client gets it.
fn assert_challenge(res: &TestResponse, realm: &str, code: &str) {
    assert_eq!(res.status_line(), "HTTP/1.1 401 Unauthorized", "{code}");
    assert_eq!(
        res.header("www-authenticate"),
        Some(format!("Basic realm=\"{realm}\"").as_str()),
        "{code}"
    );
    let title = format!("<title>IIS 10.0 Detailed Error - {code} - Unauthorized</title>");
    assert!(res.text().contains(&title), "{code}");
}

async fn columns(site: &TestSite, n: usize) -> (String, u16, u16, u32) {
    let lines = site.log_lines().await;
    let l = &lines[n];
    (
        l.get("cs-username").unwrap().to_owned(),
        l.status().unwrap(),
        l.substatus().unwrap(),
        l.win32_status().unwrap(),
    )
}

/// The site of `root`'s web.config with the test users and the test application.
async fn start(root: &TempDir) -> TestSite {
    TestSite::start(
        IisSite::from_web_config(&root.0)
            .credentials(users())
            .app(app()),
    )
    .await
}

#[tokio::test]
async fn basic_only_from_the_root_web_config() {
    let root = root("auth-basic", BASIC_ONLY);
    let site = start(&root).await;

    // No credentials: 401.2 with the challenge.
    let res = site.get("/index.htm").await;
    assert_challenge(&res, "Staff", "401.2");
    assert_eq!(
        logon_rows(&res),
        (
            Some("Not yet determined".into()),
            Some("Not yet determined".into())
        )
    );
    let page = res.text();
    assert_eq!(row(&page, "Module").as_deref(), Some("IIS Web Core"));
    assert_eq!(
        row(&page, "Notification").as_deref(),
        Some("AuthenticateRequest")
    );
    assert_eq!(row(&page, "Error Code").as_deref(), Some("0x80070005"));
    assert_eq!(columns(&site, 0).await, ("-".into(), 401, 2, 5));

    // A wrong password: 401.1, the attempted name logged.
    let auth = basic("alice", "wrong");
    let res = site
        .request("GET", "/index.htm", &[("Authorization", &auth)], b"")
        .await;
    assert_challenge(&res, "Staff", "401.1");
    assert!(res.text().contains("0x8007052e"));
    assert_eq!(columns(&site, 1).await, ("alice".into(), 401, 1, 1326));

    // An unknown user is a wrong password too.
    let auth = basic("mallory", "alice-demo-pw");
    let res = site
        .request("GET", "/index.htm", &[("Authorization", &auth)], b"")
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(columns(&site, 2).await, ("mallory".into(), 401, 1, 1326));

    // The right password: the file, the user logged.
    let auth = basic("alice", "alice-demo-pw");
    let res = site
        .request("GET", "/index.htm", &[("Authorization", &auth)], b"")
        .await;
    assert_eq!(res.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(res.text(), "<p>members only</p>");
    assert_eq!(res.header("www-authenticate"), None);
    assert_eq!(columns(&site, 3).await, ("alice".into(), 200, 0, 0));

    // The application sees the logon.
    let auth = basic("ALICE", "alice-demo-pw");
    let res = site
        .request("GET", "/api/who", &[("Authorization", &auth)], b"")
        .await;
    assert_eq!(res.text(), "app: Basic alice as alice");
    assert_eq!(columns(&site, 4).await, ("alice".into(), 200, 0, 0));

    // Errors made after the logon, by the static files (403.14) or the
    // application (a 500, a bare 404 IIS renders a page for): the page names the
    // logon and the log line the user.
    for (line, path, status, substatus, title) in [
        (5, "/sub/", 403, 14, "403.14 - Forbidden"),
        (6, "/api/boom", 500, 0, "500.0 - Internal Server Error"),
        (7, "/api/missing", 404, 0, "404.0 - Not Found"),
    ] {
        let res = site
            .request("GET", path, &[("Authorization", &auth)], b"")
            .await;
        assert_eq!(res.status, status, "{path}");
        assert!(
            res.text()
                .contains(&format!("<title>IIS 10.0 Detailed Error - {title}</title>")),
            "{path}"
        );
        assert_eq!(
            logon_rows(&res),
            (Some("Basic".into()), Some("alice".into())),
            "{path}"
        );
        assert_eq!(
            columns(&site, line).await,
            ("alice".into(), status, substatus, 0),
            "{path}"
        );
    }

    // Malformed credentials: 401.1, logged with ERROR_INVALID_PARAMETER and no user.
    let huge = format!("Basic {}", "QUFB".repeat(2000));
    for (i, bad) in [
        "Basic !!!notbase64",
        "Basic bm8tY29sb24=",
        "Basic",
        huge.as_str(),
    ]
    .into_iter()
    .enumerate()
    {
        let res = site
            .request("GET", "/index.htm", &[("Authorization", bad)], b"")
            .await;
        assert_challenge(&res, "Staff", "401.1");
        assert_eq!(
            columns(&site, 8 + i).await,
            ("-".into(), 401, 1, 87),
            "{bad:.30}"
        );
    }
    // Another scheme is no credentials at all.
    let res = site
        .request("GET", "/index.htm", &[("Authorization", "Bearer abc")], b"")
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(columns(&site, 12).await, ("-".into(), 401, 2, 5));
}

#[tokio::test]
async fn without_a_credential_check_every_basic_sign_in_fails() {
    let root = root("auth-no-check", BASIC_ONLY);
    let site = TestSite::start(IisSite::from_web_config(&root.0)).await;
    let auth = basic("alice", "alice-demo-pw");
    let res = site
        .request("GET", "/index.htm", &[("Authorization", &auth)], b"")
        .await;
    assert_eq!(res.status_line(), "HTTP/1.1 401 Unauthorized");
    assert_eq!(columns(&site, 0).await, ("alice".into(), 401, 1, 1326));
}

#[tokio::test]
async fn anonymous_requests_show_anonymous_and_log_a_dash() {
    let root = root(
        "auth-anon",
        r#"<configuration><system.webServer><security><authentication>
             <anonymousAuthentication userName="WebGuest" />
             <basicAuthentication enabled="true" />
           </authentication></security></system.webServer></configuration>"#,
    );
    let site = start(&root).await;
    let res = site.get("/api/who").await;
    assert_eq!(res.text(), "app: Anonymous (anonymous) as WebGuest");
    assert_eq!(columns(&site, 0).await, ("-".into(), 200, 0, 0));
    let res = site.get("/api/missing").await;
    assert_eq!(res.status, 404);
    assert_eq!(
        logon_rows(&res),
        (Some("Anonymous".into()), Some("Anonymous".into()))
    );
    // Credentials are still checked when they come.
    let auth = basic("bob", "bob-demo-pw");
    let res = site
        .request("GET", "/api/who", &[("Authorization", &auth)], b"")
        .await;
    assert_eq!(res.text(), "app: Basic bob as bob");
    // A 401 from the application gets the challenge; the realm is the host name.
    let res = site.get("/api/login").await;
    assert_eq!(res.status_line(), "HTTP/1.1 401 Unauthorized");
    assert_eq!(
        res.header("www-authenticate"),
        Some(r#"Basic realm="127.0.0.1""#)
    );
    assert_eq!(columns(&site, 3).await, ("-".into(), 401, 0, 0));
}

/// A user name and password, or anonymous.
type Who = Option<(&'static str, &'static str)>;

const RULES: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.webServer>
    <security>
      <authentication>
        <basicAuthentication enabled="true" realm="Team" />
      </authentication>
      <authorization>
        <remove users="*" roles="" verbs="" />
        <add accessType="Deny" users="?" />
        <add accessType="Allow" users="alice" verbs="GET" />
        <add accessType="Allow" roles="Editors" />
        <add accessType="Deny" users="carol" />
        <add accessType="Allow" users="*" verbs="OPTIONS" />
      </authorization>
    </security>
  </system.webServer>
</configuration>"#;

#[tokio::test]
async fn url_authorization_rules_over_a_socket() {
    let root = root("authz", RULES);
    let site = start(&root).await;
    // (who, method, path, status)
    let rows: &[(Who, &str, &str, u16)] = &[
        // `?` denied first, even for the OPTIONS everyone else may send.
        (None, "GET", "/index.htm", 401),
        (None, "OPTIONS", "/api/x", 401),
        // alice: GET only.
        (Some(("alice", "alice-demo-pw")), "GET", "/index.htm", 200),
        (Some(("alice", "alice-demo-pw")), "POST", "/api/x", 401),
        // bob, an editor: any verb.
        (Some(("bob", "bob-demo-pw")), "POST", "/api/x", 200),
        (Some(("bob", "bob-demo-pw")), "GET", "/index.htm", 200),
        // carol is an editor, but a deny rule wins over any allow rule.
        (Some(("carol", "carol-demo-pw")), "GET", "/index.htm", 401),
        // dave: only `*` for OPTIONS.
        (Some(("dave", "dave-demo-pw")), "OPTIONS", "/api/x", 200),
        (Some(("dave", "dave-demo-pw")), "GET", "/index.htm", 401),
    ];
    for (i, (who, method, path, status)) in rows.iter().enumerate() {
        let auth = who.map(|(u, p)| basic(u, p));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let res = site.request(method, path, &headers, b"").await;
        assert_eq!(res.status, *status, "row {i}: {who:?} {method} {path}");
        let (user, st, sub, win32) = columns(&site, i).await;
        assert_eq!(user, who.map_or("-", |w| w.0), "row {i}");
        if *status == 401 {
            // URL Authorization's 401.2, with Basic's challenge added on the way out.
            assert_eq!((st, sub, win32), (401, 2, 5), "row {i}");
            assert_eq!(
                res.header("www-authenticate"),
                Some(r#"Basic realm="Team""#)
            );
            {
                let page = res.text();
                assert!(
                    page.contains("<title>IIS 10.0 Detailed Error - 401.2 - Unauthorized</title>")
                );
                assert_eq!(
                    row(&page, "Module").as_deref(),
                    Some("UrlAuthorizationModule")
                );
                assert_eq!(
                    row(&page, "Notification").as_deref(),
                    Some("AuthorizeRequest")
                );
                assert_eq!(row(&page, "Error Code").as_deref(), Some("0x80070005"));
                let expected = match who {
                    Some((u, _)) => (Some("Basic".to_owned()), Some((*u).to_owned())),
                    None => (Some("Anonymous".to_owned()), Some("Anonymous".to_owned())),
                };
                assert_eq!(logon_rows(&res), expected, "row {i}");
            }
        } else {
            assert_eq!((st, sub, win32), (*status, 0, 0), "row {i}");
        }
    }
}

#[test]
fn the_sections_are_read_with_clear_errors() {
    let c = WebConfig::parse(RULES, "web.config").unwrap();
    let a: &AuthenticationSection = &c.authentication;
    assert!(a.anonymous.enabled);
    assert_eq!(a.anonymous.user_name, "IUSR");
    assert!(a.basic.enabled);
    assert_eq!(a.basic.realm, "Team");
    let kinds: Vec<(AccessType, &str, &str, &str)> = c
        .authorization
        .rules()
        .iter()
        .map(|r| {
            (
                r.access_type(),
                r.users_attr(),
                r.roles_attr(),
                r.verbs_attr(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (AccessType::Deny, "?", "", ""),
            (AccessType::Allow, "alice", "", "GET"),
            (AccessType::Allow, "", "Editors", ""),
            (AccessType::Deny, "carol", "", ""),
            (AccessType::Allow, "*", "", "OPTIONS"),
        ]
    );

    // IIS's default rule is inherited: adding it again is a duplicate.
    let dup = r#"<configuration><system.webServer><security><authorization>
<add accessType="Allow" users="*" />
</authorization></security></system.webServer></configuration>"#;
    let err = WebConfig::parse(dup, "web.config").unwrap_err();
    assert_eq!((err.line(), err.element()), (2, "add"));
    assert_eq!(
        err.message(),
        "Cannot add duplicate collection entry of type 'add' with combined key attributes 'users, roles, verbs' respectively set to '*, , '"
    );
    assert_eq!(err.to_iis_error().hresult(), 0x8007_00b7);

    for (xml, attr, text) in [
        (
            r#"<authorization><add users="x" /></authorization>"#,
            None,
            "Missing required attribute 'accessType'",
        ),
        (
            r#"<authorization><add accessType="Maybe" users="x" /></authorization>"#,
            Some("accessType"),
            "The attribute 'accessType' has an invalid value 'Maybe'",
        ),
        (
            r#"<authorization><add accessType="Allow" user="x" /></authorization>"#,
            Some("user"),
            "Unrecognized attribute 'user'. Note that attribute names are case-sensitive.",
        ),
        (
            r#"<authorization><allow users="x" /></authorization>"#,
            None,
            "Unrecognized element 'allow'",
        ),
        (
            r#"<authentication><basicAuthentication enabled="yes" /></authentication>"#,
            Some("enabled"),
            "The attribute 'enabled' has an invalid value 'yes'",
        ),
        (
            r#"<authentication><anonymousAuthentication enabled="true" user="x" /></authentication>"#,
            Some("user"),
            "Unrecognized attribute 'user'. Note that attribute names are case-sensitive.",
        ),
        (
            r#"<authentication><basicAuthentication realm="a&#10;b" /></authentication>"#,
            Some("realm"),
            "The attribute 'realm' has an invalid value 'a\nb'",
        ),
    ] {
        let text_xml = format!(
            "<configuration><system.webServer><security>{xml}</security></system.webServer></configuration>"
        );
        let err = WebConfig::parse(&text_xml, "web.config").unwrap_err();
        assert_eq!(err.attribute(), attr, "{xml}");
        assert_eq!(err.message(), text, "{xml}");
        assert_eq!(
            err.to_iis_error().status(),
            IisStatus::INTERNAL_SERVER_ERROR_CONFIGURATION_DATA_INVALID
        );
    }
}

#[test]
fn windows_and_digest_authentication_are_warned_about() {
    let xml = r#"<configuration><system.webServer><security><authentication>
<windowsAuthentication enabled="true"><providers><add value="Negotiate" /></providers></windowsAuthentication>
<digestAuthentication enabled="false" />
<basicAuthentication enabled="true" logonMethod="Network" />
</authentication></security></system.webServer></configuration>"#;
    let c = WebConfig::parse(xml, "web.config").unwrap();
    let w: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "line 2: attribute 'enabled' of <windowsAuthentication> is not supported and was ignored",
            "line 4: attribute 'logonMethod' of <basicAuthentication> is not supported and was ignored",
        ]
    );
    assert!(c.authentication.basic.enabled);
}
