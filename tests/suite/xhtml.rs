//! Every page the error layer writes is valid XHTML 1.0 Strict, checked with
//! `xmllint --valid` against the W3C DTDs (Debian `w3c-sgml-lib`), offline.
//! `tidy` must report no errors either.

use std::convert::Infallible;
use std::path::Path;
use std::process::Command;

use http::{Request, Response};
use http_body_util::BodyExt;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_iis::error::{ConfigErrorDetail, ConfigSourceLine};
use tower_iis::http_errors::{ErrorMode, HttpErrorsLayer};
use tower_iis::{ConnectionInfo, IisError, IisStatus};

fn tool_available(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is required in CI (install libxml2-utils, w3c-sgml-lib and tidy)"
        );
        eprintln!("skipping: {tool} is not installed");
    }
    found
}

async fn page(mode: ErrorMode, err: IisError, uri: &str) -> String {
    let layer = HttpErrorsLayer::builder().error_mode(mode).build().unwrap();
    let svc =
        ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(move |_req: Request<String>| {
                let err = err.clone();
                async move { Ok::<Response<String>, Infallible>(err.into_http_response()) }
            }));
    let mut req = Request::builder()
        .uri(uri)
        .header("host", "localhost:8080")
        .header("accept-language", "en-US")
        .body(String::new())
        .unwrap();
    req.extensions_mut().insert(ConnectionInfo::new(
        "127.0.0.1:1234".parse().unwrap(),
        "127.0.0.1:8080".parse().unwrap(),
    ));
    let res = svc.oneshot(req).await.unwrap();
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

fn pages_to_check() -> Vec<(String, ErrorMode, IisError, &'static str)> {
    let mut pages = Vec::new();
    for info in tower_iis::catalog::all()
        .iter()
        .filter(|i| i.status().code() >= 400)
    {
        pages.push((
            format!("detailed-{}", info.status()),
            ErrorMode::Detailed,
            IisError::new(info.status())
                .with_physical_path(r"C:\inetpub\wwwroot\<a&b>.htm")
                .with_source(std::io::Error::other("bad <thing> & \"quotes\"")),
            "/path/with'quote&amp/%3Cx%3E?q=%22",
        ));
    }
    pages.push((
        "detailed-500.19-config".to_owned(),
        ErrorMode::Detailed,
        IisError::new(IisStatus::new(500, 19)).with_config_error(ConfigErrorDetail {
            error: "Duplicate <error> row".into(),
            file: r"\\?\C:\inetpub\wwwroot\web.config".into(),
            source_lines: vec![
                ConfigSourceLine {
                    number: 1,
                    text: "<configuration>".into(),
                    highlight: false,
                },
                ConfigSourceLine {
                    number: 2,
                    text: "<error statusCode=\"404\" />".into(),
                    highlight: true,
                },
            ],
        }),
        "/",
    ));
    for status in [401u16, 403, 404, 405, 406, 412, 500, 501, 502] {
        pages.push((
            format!("custom-{status}"),
            ErrorMode::Custom,
            IisError::new(IisStatus::new(status, 0)),
            "/",
        ));
    }
    pages
}

#[tokio::test]
async fn pages_are_valid_xhtml_strict() {
    if !tool_available("xmllint") || !tool_available("tidy") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tower-iis-xhtml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = if Path::new("/etc/xml/catalog").exists() {
        "/etc/xml/catalog"
    } else {
        ""
    };
    // The check itself can fail: a page with a block element inside <h4> is rejected.
    let bad = dir.join("control.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>x</title></head><body><h4><div>x</div></h4></body></html>\n",
    )
    .unwrap();
    let out = Command::new("xmllint")
        .args(["--valid", "--noout", "--nonet"])
        .arg(&bad)
        .env("XML_CATALOG_FILES", catalog)
        .output()
        .unwrap();
    assert!(!out.status.success(), "xmllint must reject an invalid page");
    let mut checked = 0;
    for (name, mode, err, uri) in pages_to_check() {
        let html = page(mode, err, uri).await;
        assert!(
            html.starts_with("<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\""),
            "{name}"
        );
        let file = dir.join(format!("{name}.html"));
        std::fs::write(&file, &html).unwrap();
        let out = Command::new("xmllint")
            .args(["--valid", "--noout", "--nonet"])
            .arg(&file)
            .env("XML_CATALOG_FILES", catalog)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{name} is not valid XHTML 1.0 Strict:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new("tidy")
            .args(["-errors", "-q", "-xml"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "tidy found errors in {name}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        checked > 100,
        "every catalog error code and the nine custom pages: {checked}"
    );
}
