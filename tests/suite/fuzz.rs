//! Fuzz targets, run for a bounded time: the `web.config` parser, the W3C log
//! reader, request filtering's URL checks and the static-file path resolver get
//! generated hostile input (random text, and valid input mutated: bytes flipped,
//! cut, spliced, escapes and dot segments inserted) until their time is up.
//! Nothing may panic, and each answer must keep its promise.
//!
//! Each target runs `TOWER_IIS_FUZZ_SECS` seconds (default 3; CI keeps the
//! default). The figures of longer runs are in RELIABILITY.md.
#![cfg(all(feature = "web-config", feature = "static-files"))]

use std::time::{Duration, Instant};

use http::{Request, StatusCode};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tower::ServiceExt;
use tower_iis::request_filtering::RequestFilteringLayer;
use tower_iis::static_files::StaticFiles;
use tower_iis::web_config::WebConfig;
use tower_iis::IisError;

fn budget() -> Duration {
    let secs = std::env::var("TOWER_IIS_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    Duration::from_secs_f64(secs)
}

/// Runs `test` on values of `strategy` in rounds of 256 fresh cases until the
/// time budget is spent; returns the number of cases.
fn fuzz<S: Strategy>(
    name: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u64 {
    let started = Instant::now();
    let mut cases = 0;
    while started.elapsed() < budget() || cases == 0 {
        let mut runner = TestRunner::new(Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        });
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("{name}: {e}");
        }
        cases += 256;
    }
    eprintln!("fuzz {name}: {cases} cases in {:.1?}", started.elapsed());
    cases
}

/// Mutations of `seed`: byte flips, cuts, duplicated ranges and inserted pieces.
fn mutated(seed: &'static str, pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    let edit = prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| (0, i, b, 0usize)),
        (any::<prop::sample::Index>(), 0..pieces.len()).prop_map(|(i, p)| (1, i, 0, p)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, n)| (2, i, n, 0)),
    ];
    prop::collection::vec(edit, 0..8).prop_map(move |edits| {
        let mut bytes = seed.as_bytes().to_vec();
        for (kind, at, b, p) in edits {
            let i = at.index(bytes.len() + 1);
            match kind {
                0 if i < bytes.len() => bytes[i] = b,
                1 => {
                    bytes.splice(i..i, pieces[p].bytes());
                }
                2 => {
                    let end = (i + usize::from(b)).min(bytes.len());
                    bytes.drain(i..end);
                }
                _ => {}
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

const WEB_CONFIG: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.webServer>
    <httpErrors errorMode="Custom" existingResponse="Replace">
      <remove statusCode="404" subStatusCode="-1" />
      <error statusCode="404" path="/404.htm" responseMode="ExecuteURL" />
      <error statusCode="500" subStatusCode="19" path="e.htm" />
    </httpErrors>
    <security>
      <requestFiltering allowDoubleEscaping="false">
        <requestLimits maxUrl="4096" maxQueryString="2048"><headerLimits><add header="X-A" sizeLimit="10" /></headerLimits></requestLimits>
        <fileExtensions allowUnlisted="true"><add fileExtension=".cs" allowed="false" /><remove fileExtension=".config" /></fileExtensions>
        <hiddenSegments><clear /><add segment="bin" /></hiddenSegments>
        <verbs allowUnlisted="false"><add verb="GET" allowed="true" /></verbs>
        <denyUrlSequences><add sequence=".." /></denyUrlSequences>
        <filteringRules><filteringRule name="r" scanUrl="true"><denyStrings><add string="evil" /></denyStrings></filteringRule></filteringRules>
      </requestFiltering>
      <ipSecurity allowUnlisted="true"><add ipAddress="10.0.0.0" subnetMask="255.0.0.0" allowed="false" /></ipSecurity>
    </security>
    <defaultDocument enabled="true"><files><clear /><add value="index.htm" /></files></defaultDocument>
    <directoryBrowse enabled="false" />
    <staticContent><mimeMap fileExtension=".x" mimeType="text/plain" /></staticContent>
    <httpProtocol><customHeaders><add name="X-Powered-By" value="ASP.NET" /></customHeaders></httpProtocol>
  </system.webServer>
</configuration>"#;

const XML_PIECES: &[&str] = &[
    "<",
    ">",
    "/>",
    "\"",
    "'",
    "&amp;",
    "&#0;",
    "&#x10FFFF;",
    "&undefined;",
    "<!DOCTYPE a [<!ENTITY e \"x\">]>",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<clear/>",
    "<remove/>",
    "<add/>",
    " statusCode=\"999\"",
    " subStatusCode=\"-2\"",
    " allowed=\"maybe\"",
    " fileExtension=\"\"",
    "\u{0}",
    "\u{feff}",
    "\r\n",
    "<error statusCode=\"404\" path=\"x\"/>",
    "<add segment=\"bin\"/>",
    " lockAttributes=\"*\"",
];

#[test]
fn fuzz_web_config_parser() {
    fuzz(
        "web.config parser",
        prop_oneof![mutated(WEB_CONFIG, XML_PIECES), any::<String>()],
        |text| {
            let lines = u32::try_from(text.lines().count() + 1).unwrap();
            match WebConfig::parse(&text, "web.config") {
                Ok(config) => {
                    // A configuration that reads also builds its layers or
                    // names what is wrong.
                    let _ = config.http_errors_layer();
                }
                Err(e) => {
                    prop_assert!(e.line() <= lines, "line {} of {lines}: {e}", e.line());
                    prop_assert!(!e.message().is_empty());
                    let page = e.to_iis_error();
                    prop_assert_eq!(page.status().to_string(), "500.19");
                }
            }
            Ok(())
        },
    );
}

const W3C_LOG: &str = "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: 2024-01-01 00:00:00\r\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n2024-01-01 00:00:01 127.0.0.1 GET /a - 80 - 127.0.0.1 curl/8 - 200 0 0 1\r\n2024-01-01 00:00:02 127.0.0.1 GET /b q=1 80 - 127.0.0.1 - - 404 7 2 3\r\n";

const LOG_PIECES: &[&str] = &[
    "#Fields: date time\r\n",
    "#Fields:\r\n",
    "#Date: x\r\n",
    "#Software:",
    " ",
    "\r\n",
    "\n",
    "\r",
    "-",
    "+",
    "99999999999999999999",
    "2024-13-45",
    "25:61:61",
    "\u{0}",
    "\u{fffd}",
];

#[test]
fn fuzz_w3c_reader() {
    fuzz(
        "W3C reader",
        prop_oneof![mutated(W3C_LOG, LOG_PIECES), any::<String>()],
        |text| {
            match tower_iis::w3c::reader::parse(&text) {
                Ok(log) => {
                    for e in &log.entries {
                        // Every entry has a value for each of its block's fields.
                        let _ = (e.status(), e.substatus(), e.win32_status());
                    }
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        },
    );
}

/// A request target: path and query from pieces that matter to the checks.
fn target() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("/".to_owned()),
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("%2e".to_owned()),
        Just("%2f".to_owned()),
        Just("%5c".to_owned()),
        Just("%25".to_owned()),
        Just("%252e".to_owned()),
        Just("%c0%ae".to_owned()),
        Just("%00".to_owned()),
        Just("+".to_owned()),
        Just("bin".to_owned()),
        Just(".config".to_owned()),
        Just("web.config".to_owned()),
        Just(";".to_owned()),
        Just("evil".to_owned()),
        Just("%".to_owned()),
        Just("~".to_owned()),
        Just("CON".to_owned()),
        "[a-zA-Z0-9._-]{1,12}",
        "%[0-9a-fA-F]{2}",
    ];
    (
        prop::collection::vec(piece.clone(), 0..16),
        prop::option::of(prop::collection::vec(piece, 0..6)),
    )
        .prop_map(|(path, query)| {
            let mut t = String::from("/");
            t.push_str(&path.concat());
            if let Some(q) = query {
                t.push('?');
                t.push_str(&q.concat());
            }
            t
        })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn fuzz_request_filtering_urls() {
    let rt = runtime();
    let layer = RequestFilteringLayer::iis_defaults();
    fuzz("request filtering URLs", target(), |t| {
        let Ok(req) = Request::get(t.as_str()).body(String::new()) else {
            return Ok(());
        };
        let svc = tower::ServiceBuilder::new()
            .layer(layer.clone())
            .service(tower::service_fn(|_req: Request<_>| async {
                Ok::<_, std::convert::Infallible>(http::Response::new("ok".to_owned()))
            }));
        let res = rt.block_on(svc.oneshot(req)).unwrap();
        let status = res.status();
        if status == StatusCode::OK {
            // What passes holds no dot-dot segment and no hidden segment.
            let path = t.split('?').next().unwrap().to_ascii_lowercase();
            prop_assert!(!path.split('/').any(|s| s == "bin"), "{t}");
        } else {
            let err = res.extensions().get::<IisError>();
            prop_assert!(err.is_some(), "{t}: {status} without an IisError");
        }
        Ok(())
    });
}

#[test]
fn fuzz_static_file_paths() {
    let rt = runtime();
    let dir = std::env::temp_dir().join(format!("tower-iis-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let www = dir.join("www");
    std::fs::create_dir_all(www.join("sub")).unwrap();
    std::fs::write(www.join("a.txt"), "inside").unwrap();
    std::fs::write(www.join("sub/b.txt"), "inside").unwrap();
    std::fs::write(dir.join("secret.txt"), "SECRET").unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), www.join("link.txt")).unwrap();
    let svc = StaticFiles::new(&www).unwrap();
    fuzz("static-file paths", target(), |t| {
        let Ok(req) = Request::get(t.as_str()).body(String::new()) else {
            return Ok(());
        };
        let res = rt.block_on(svc.clone().oneshot(req)).unwrap();
        let status = res.status();
        let body = rt.block_on(res.into_body().collect()).unwrap().to_bytes();
        prop_assert!(
            !body.windows(6).any(|w| w == b"SECRET"),
            "{t}: {status} served the file outside the root"
        );
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
}
