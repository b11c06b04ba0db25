//! Who may see a folder, over a loopback socket: a folder's own web.config turns
//! Basic authentication on (anonymous off) while the site root stays anonymous,
//! and a root `<location overrideMode="Deny">` lock on the authentication
//! sections (as `appcmd lock config` writes it) makes a folder that sets them
//! anyway a 500.19. Exact status lines, challenge and W3C
//! columns (`cs-username`, `sc-status sc-substatus sc-win32-status`).
#![cfg(feature = "test-site")]

use tower_iis::authentication::StaticUsers;
use tower_iis::site::IisSite;
use tower_iis::test_site::TestSite;

use crate::common::TempDir;

/// `Authorization: Basic` for `user:password`.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// `private/web.config`: anonymous off, Basic on with a realm.
const PRIVATE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.webServer>
    <security>
      <authentication>
        <anonymousAuthentication enabled="false" />
        <basicAuthentication enabled="true" realm="Members" />
      </authentication>
    </security>
  </system.webServer>
</configuration>"#;

/// A content root with these files (paths relative to it).
fn site_root(name: &str, files: &[(&str, &str)]) -> TempDir {
    let root = TempDir::new(name);
    for (path, body) in files {
        let path = root.0.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    root
}

/// `cs-username sc-status sc-substatus sc-win32-status` of every line.
async fn columns(site: &TestSite) -> Vec<String> {
    site.log_lines()
        .await
        .iter()
        .map(|l| {
            format!(
                "{} {} {} {}",
                l.get("cs-username").unwrap(),
                l.status().unwrap(),
                l.substatus().unwrap(),
                l.win32_status().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn a_folder_turns_basic_on_and_the_root_stays_anonymous() {
    let root = site_root(
        "who-private",
        &[
            ("index.htm", "<p>everyone</p>"),
            ("private/index.htm", "<p>members only</p>"),
            ("private/web.config", PRIVATE),
        ],
    );
    let site = TestSite::start(
        IisSite::from_web_config(&root.0).credentials(StaticUsers::new().user("alice", "alice-pw")),
    )
    .await;

    // No credentials, then a wrong password: 401.2, then 401.1, each with the challenge.
    let wrong_auth = basic("alice", "nope");
    for (headers, title) in [
        (&[][..], "401.2 - Unauthorized"),
        (
            &[("Authorization", wrong_auth.as_str())][..],
            "401.1 - Unauthorized",
        ),
    ] {
        let res = site.request("GET", "/private/", headers, &[]).await;
        assert_eq!(res.status_line(), "HTTP/1.1 401 Unauthorized", "{title}");
        assert_eq!(
            res.header("www-authenticate"),
            Some(r#"Basic realm="Members""#),
            "{title}"
        );
        assert!(
            res.text()
                .contains(&format!("<title>IIS 10.0 Detailed Error - {title}</title>")),
            "{title}"
        );
    }

    let right = site
        .request(
            "GET",
            "/private/",
            &[("Authorization", &basic("alice", "alice-pw"))],
            &[],
        )
        .await;
    assert_eq!(right.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(right.text(), "<p>members only</p>");

    // The root and its files: anonymous, no challenge.
    let open = site.get("/").await;
    assert_eq!(open.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(open.text(), "<p>everyone</p>");
    assert_eq!(open.header("www-authenticate"), None);

    assert_eq!(
        columns(&site).await,
        [
            "- 401 2 5",
            "alice 401 1 1326",
            "alice 200 0 0",
            "- 200 0 0"
        ]
    );
    let lines = site.log_lines().await;
    let stems: Vec<_> = lines
        .iter()
        .map(|l| l.get("cs-uri-stem").unwrap())
        .collect();
    assert_eq!(stems, ["/private/", "/private/", "/private/", "/"]);
}

#[tokio::test]
async fn a_root_lock_on_authentication_makes_the_folder_a_500_19() {
    let root = site_root(
        "who-locked",
        &[
            ("index.htm", "<p>everyone</p>"),
            (
                "web.config",
                r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <location path="private" overrideMode="Deny">
    <system.webServer>
      <security>
        <authentication>
          <anonymousAuthentication />
          <basicAuthentication />
        </authentication>
      </security>
    </system.webServer>
  </location>
</configuration>"#,
            ),
            ("private/index.htm", "<p>members only</p>"),
            ("private/web.config", PRIVATE),
        ],
    );
    let site = TestSite::start(
        IisSite::from_web_config(&root.0)
            .credentials(StaticUsers::new().user("alice", "alice-pw"))
            .serve_config_errors(true),
    )
    .await;

    let locked = site
        .request(
            "GET",
            "/private/",
            &[("Authorization", &basic("alice", "alice-pw"))],
            &[],
        )
        .await;
    assert_eq!(locked.status_line(), "HTTP/1.1 500 Internal Server Error");
    let page = locked.text();
    assert!(
        page.contains("<title>IIS 10.0 Detailed Error - 500.19 - Internal Server Error</title>"),
        "{page}"
    );
    assert!(page.contains("0x80070021"), "{page}");
    assert_eq!(locked.header("www-authenticate"), None);

    let open = site.get("/").await;
    assert_eq!(open.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(open.text(), "<p>everyone</p>");

    let lines = site.log_lines().await;
    let got: Vec<_> = lines
        .iter()
        .map(|l| {
            format!(
                "{} {} {} {}",
                l.get("cs-uri-stem").unwrap(),
                l.status().unwrap(),
                l.substatus().unwrap(),
                l.win32_status().unwrap()
            )
        })
        .collect();
    assert_eq!(got, ["/private/ 500 19 33", "/ 200 0 0"]);
}
