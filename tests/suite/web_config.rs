//! web.config: a sample with every supported section becomes the expected
//! configuration; each kind of bad file gives an error naming file, line, element
//! and attribute, and the 500.19 detail IIS would show.
#![cfg(feature = "web-config")]

use std::path::Path;
use std::time::Duration;

use tower_iis::http_errors::{ErrorMode, ErrorRow, ExistingResponse, ResponseMode};
use tower_iis::ip_security::DenyAction;
use tower_iis::web_config::{WebConfig, WebConfigError};

fn sample() -> WebConfig {
    WebConfig::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/web.config")).unwrap()
}

#[test]
fn http_errors_section() {
    let c = sample();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let he = &c.http_errors;
    assert_eq!(he.error_mode, Some(ErrorMode::Custom));
    assert_eq!(he.existing_response, Some(ExistingResponse::Replace));
    assert_eq!(he.default_response_mode, Some(ResponseMode::ExecuteUrl));
    assert_eq!(he.default_path.as_deref(), Some("/errors/other"));
    assert_eq!(
        he.more_information_link.as_deref(),
        Some("https://example.com/help")
    );
    assert!(!he.cleared);
    assert_eq!(he.removed, vec![(404, None), (500, None)]);
    assert_eq!(
        he.errors,
        vec![
            ErrorRow::file(404, base.join("site/errors/404.htm").display().to_string()),
            // responseMode left out: defaultResponseMode (ExecuteURL) applies.
            ErrorRow::execute_url(500, "/errors/config").substatus(19),
            ErrorRow::redirect(403, "https://example.com/no-listing").substatus(14),
            ErrorRow::file(503, "503.htm").prefix_language_file_path(base.join("site/custerr")),
        ]
    );
    // The rows load: the page files exist.
    let _layer = c.http_errors_layer().unwrap();
}

#[test]
fn request_filtering_section() {
    let c = sample();
    let rf = c.request_filtering.config();
    assert!(rf.allow_double_escaping());
    assert!(!rf.allow_high_bit_characters());
    assert!(!rf.unescape_query_string());
    assert_eq!(rf.max_allowed_content_length(), 1_000_000);
    assert_eq!(rf.max_url(), 1024);
    assert_eq!(rf.max_query_string(), 512);
    let headers: Vec<_> = rf
        .header_limits()
        .map(|(h, n)| (h.as_str().to_owned(), n))
        .collect();
    assert_eq!(headers, vec![("content-type".to_owned(), 100)]);
    assert!(!rf.file_extensions_allow_unlisted());
    let exts: Vec<_> = rf.file_extensions().collect();
    assert!(exts.contains(&(".htm", true)));
    assert!(exts.contains(&(".bak", false)));
    assert!(exts.contains(&(".config", false)), "inherited denial kept");
    assert!(!exts.iter().any(|(e, _)| *e == ".cs"), "removed");
    assert_eq!(exts.len(), 44 - 1 + 2);
    assert!(!rf.verbs_allow_unlisted());
    let verbs: Vec<_> = rf
        .verbs()
        .map(|(m, a)| (m.as_str().to_owned(), a))
        .collect();
    assert_eq!(
        verbs,
        vec![
            ("GET".to_owned(), true),
            ("HEAD".to_owned(), true),
            ("TRACE".to_owned(), false)
        ]
    );
    assert_eq!(
        rf.hidden_segments().collect::<Vec<_>>(),
        vec!["secrets", "bin"]
    );
    assert_eq!(
        rf.deny_url_sequences().collect::<Vec<_>>(),
        vec!["..", "./"]
    );
    assert_eq!(
        rf.deny_query_string_sequences().collect::<Vec<_>>(),
        vec!["<script"]
    );
    assert_eq!(rf.filtering_rules().collect::<Vec<_>>(), vec!["no-sql"]);
    assert_eq!(
        rf.always_allowed_urls().collect::<Vec<_>>(),
        vec!["/health"]
    );
    assert_eq!(
        rf.always_allowed_query_strings().collect::<Vec<_>>(),
        vec!["debug=1"]
    );
}

#[test]
fn ip_security_sections() {
    let c = sample();
    let ip = &c.ip_security;
    assert!(!ip.allow_unlisted);
    assert_eq!(ip.deny_action, DenyAction::NotFound);
    assert_eq!(
        ip.entries,
        vec![
            ("127.0.0.1".to_owned(), true),
            ("10.0.0.0/255.0.0.0".to_owned(), true)
        ]
    );
    assert_eq!(ip.max_concurrent_requests, Some(7));
    assert_eq!(ip.request_rate, Some((30, Duration::from_millis(1000))));
    assert!(ip.logging_only);
    let _layer = c.ip_security_layer();
}

#[test]
fn static_sections_and_headers() {
    let c = sample();
    assert!(c.default_document.enabled);
    assert_eq!(
        c.default_document.files,
        vec![
            "Default.htm",
            "index.htm",
            "index.html",
            "iisstart.htm",
            "home.html"
        ]
    );
    assert!(c.directory_browse);
    assert_eq!(
        c.mime_map.get(".json"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(c.mime_map.get(".xyz"), Some("application/x-demo"));
    assert_eq!(c.mime_map.get(".zip"), None);
    assert_eq!(c.mime_map.get(".htm"), Some("text/html"));
    assert_eq!(
        c.custom_headers,
        vec![
            ("X-Powered-By".to_owned(), "ASP.NET".to_owned()),
            ("X-Frame-Options".to_owned(), "DENY".to_owned())
        ]
    );
    let layer = c.custom_headers_layer();
    assert_eq!(layer.headers().count(), 2);
}

#[test]
fn unsupported_parts_are_listed() {
    let c = sample();
    let listed: Vec<(String, Option<String>)> = c
        .warnings
        .iter()
        .map(|w| (w.element.clone(), w.attribute.clone()))
        .collect();
    // With feature `authentication` the section is read and only the Windows
    // authentication it turns on is not emulated; without it, the whole section.
    let authentication = if cfg!(feature = "authentication") {
        ("windowsAuthentication", Some("enabled"))
    } else {
        ("authentication", None)
    };
    for expected in [
        ("appSettings", None),
        ("requestFiltering", Some("removeServerHeader")),
        ("fileExtensions", Some("applyToWebDAV")),
        authentication,
        ("directoryBrowse", Some("showFlags")),
        ("clientCache", None),
        ("outboundRules", None),
        ("system.web", None),
    ] {
        let expected = (expected.0.to_owned(), expected.1.map(str::to_owned));
        assert!(listed.contains(&expected), "{expected:?} in {listed:?}");
    }
    // URL Rewrite's inbound rules are read; its outbound rules are not emulated.
    assert!(!listed.iter().any(|(e, _)| e == "rewrite"));
    let outbound = c
        .warnings
        .iter()
        .find(|w| w.element == "outboundRules")
        .unwrap();
    assert_eq!(outbound.line, 105);
    assert!(outbound
        .to_string()
        .contains("line 105: <outboundRules> is not supported"));
}

const MINIMAL: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.webServer>
    SECTION
  </system.webServer>
</configuration>
"#;

fn bad(section: &str) -> WebConfigError {
    let text = MINIMAL.replace("SECTION", section);
    WebConfig::parse(&text, "/srv/site/web.config").unwrap_err()
}

fn assert_names(
    err: &WebConfigError,
    line: u32,
    element: &str,
    attribute: Option<&str>,
    text: &str,
) {
    assert_eq!(err.file(), Path::new("/srv/site/web.config"));
    assert_eq!(err.line(), line, "{err}");
    assert_eq!(err.element(), element, "{err}");
    assert_eq!(err.attribute(), attribute, "{err}");
    let shown = err.to_string();
    assert!(shown.starts_with("/srv/site/web.config"), "{shown}");
    assert!(shown.contains(&format!("line {line}")), "{shown}");
    if !element.is_empty() {
        assert!(shown.contains(&format!("<{element}>")), "{shown}");
    }
    if let Some(a) = attribute {
        assert!(shown.contains(&format!("'{a}'")), "{shown}");
    }
    assert!(shown.contains(text), "{shown}");
    // The offending line is highlighted in the Config Source block.
    let hl: Vec<_> = err.source_lines().iter().filter(|l| l.highlight).collect();
    assert_eq!(hl.len(), 1, "{err}");
    assert_eq!(hl[0].number, line);
}

#[test]
fn malformed_xml() {
    let err = bad(r#"<httpErrors errorMode="Custom">"#);
    assert_names(
        &err,
        5,
        "",
        None,
        "Configuration file is not well-formed XML",
    );
    assert_eq!(err.hresult(), 0x8007_000d);
    let iis = err.to_iis_error();
    assert_eq!(iis.status().to_string(), "500.19");
    assert_eq!(iis.hresult(), 0x8007_000d);
    assert_eq!(iis.win32_status(), 13);
    assert_eq!(iis.notification(), "Unknown");
    assert_eq!(iis.handler(), "Not yet determined");
    let detail = iis.config_error().unwrap();
    // IIS's text on the page; the XML parser's message stays in the error.
    assert_eq!(detail.error, "Configuration file is not well-formed XML");
    assert!(err.detail().is_some_and(|d| !d.is_empty()));
    assert!(err
        .to_string()
        .ends_with(&format!("({})", err.detail().unwrap())));
    assert!(detail.file.ends_with("web.config"));
}

#[test]
fn unknown_attribute_value() {
    let err = bad(r#"<httpErrors errorMode="Loud" />"#);
    assert_names(
        &err,
        4,
        "httpErrors",
        Some("errorMode"),
        "invalid value 'Loud'",
    );
    // The page shows IIS's text; the accepted values are the parser's detail.
    assert_eq!(
        err.message(),
        "The attribute 'errorMode' has an invalid value 'Loud'"
    );
    assert!(err
        .detail()
        .unwrap()
        .contains("DetailedLocalOnly, Custom, Detailed"));
    assert_eq!(err.hresult(), 0x8007_000d);

    let err = bad(r#"<directoryBrowse enabled="yes" />"#);
    assert_names(
        &err,
        4,
        "directoryBrowse",
        Some("enabled"),
        "expected true or false",
    );

    let err = bad(
        "<security>\n      <requestFiltering>\n        <requestLimits maxUrl=\"-5\" />\n      </requestFiltering>\n    </security>",
    );
    assert_names(
        &err,
        6,
        "requestLimits",
        Some("maxUrl"),
        "invalid value '-5'",
    );

    let err = bad(
        "<security><ipSecurity>\n<add ipAddress=\"300.1.1.1\" allowed=\"true\" />\n</ipSecurity></security>",
    );
    assert_names(&err, 5, "add", Some("ipAddress"), "300.1.1.1");

    // A value the request-filtering rules refuse is placed on its element too.
    let err = bad(
        "<security><requestFiltering><fileExtensions>\n<add fileExtension=\"bak\" allowed=\"false\" />\n</fileExtensions></requestFiltering></security>",
    );
    assert_names(&err, 5, "add", Some("fileExtension"), "\"bak\"");
}

#[test]
fn unknown_attribute_or_element() {
    let err = bad(r#"<httpErrors errormode="Custom" />"#);
    assert_names(
        &err,
        4,
        "httpErrors",
        Some("errormode"),
        "Unrecognized attribute 'errormode'",
    );
    let err = bad("<staticContent>\n      <mimeMapp fileExtension=\".x\" mimeType=\"text/plain\" />\n    </staticContent>");
    assert_names(&err, 5, "mimeMapp", None, "Unrecognized element 'mimeMapp'");
}

#[test]
fn missing_required_attribute() {
    let err = bad("<staticContent>\n<mimeMap fileExtension=\".zzz\" />\n</staticContent>");
    assert_names(
        &err,
        5,
        "mimeMap",
        None,
        "Missing required attribute 'mimeType'",
    );
}

#[test]
fn duplicate_entries() {
    // Already in IIS's inherited MIME map.
    let err = bad("<staticContent>\n      <mimeMap fileExtension=\".JSON\" mimeType=\"application/json\" />\n    </staticContent>");
    assert_names(
        &err,
        5,
        "mimeMap",
        Some("fileExtension"),
        "Cannot add duplicate collection entry of type 'mimeMap' with unique key attribute 'fileExtension' set to '.JSON'",
    );
    assert_eq!(err.hresult(), 0x8007_00b7);
    assert_eq!(err.to_iis_error().win32_status(), 183);

    // An inherited httpErrors row, re-added without <remove>.
    let err = bad("<httpErrors>\n      <error statusCode=\"404\" path=\"/x\" responseMode=\"ExecuteURL\" />\n    </httpErrors>");
    assert_names(
        &err,
        5,
        "error",
        Some("statusCode"),
        "combined key attributes 'statusCode, subStatusCode' set to '404, -1'",
    );
    let src = err.source_lines();
    assert_eq!(src.len(), 3);
    assert_eq!((src[0].number, src[1].number, src[2].number), (4, 5, 6));
    assert!(src[1].text.contains("statusCode=\"404\""));

    // Twice in the same file.
    let err = bad("<httpProtocol><customHeaders>\n<add name=\"X-A\" value=\"1\" />\n<add name=\"x-a\" value=\"2\" />\n</customHeaders></httpProtocol>");
    assert_names(&err, 6, "add", Some("name"), "set to 'x-a'");
    let err =
        bad("<defaultDocument><files>\n<add value=\"index.HTML\" />\n</files></defaultDocument>");
    assert_names(&err, 5, "add", Some("value"), "set to 'index.HTML'");
    let err = bad("<security><requestFiltering><hiddenSegments>\n<add segment=\"bin\" />\n</hiddenSegments></requestFiltering></security>");
    assert_names(&err, 5, "add", Some("segment"), "set to 'bin'");
    // A duplicate section.
    let err =
        bad("<directoryBrowse enabled=\"true\" />\n    <directoryBrowse enabled=\"false\" />");
    assert_names(
        &err,
        5,
        "directoryBrowse",
        None,
        "duplicate 'system.webServer/directoryBrowse' section",
    );
}

#[test]
fn unreadable_file() {
    let err = WebConfig::load("/no/such/dir/web.config").unwrap_err();
    assert_eq!(err.line(), 0);
    assert!(err.to_string().contains("Cannot read configuration file"));
    assert_eq!(err.hresult(), 0x8007_0003);
}

#[test]
fn removing_then_adding_is_allowed() {
    let c = WebConfig::parse(
        &MINIMAL.replace(
            "SECTION",
            "<staticContent><remove fileExtension=\".json\" /><mimeMap fileExtension=\".json\" mimeType=\"text/json\" /></staticContent>\
             <httpErrors><clear /><error statusCode=\"404\" path=\"/e\" responseMode=\"ExecuteURL\" /></httpErrors>",
        ),
        "web.config",
    )
    .unwrap();
    assert_eq!(c.mime_map.get(".json"), Some("text/json"));
    assert!(c.http_errors.cleared);
    assert_eq!(c.http_errors.errors.len(), 1);
    assert!(c.warnings.is_empty());
}

/// A `web.config` with `n` entries in each of `hiddenSegments`, `fileExtensions`,
/// `mimeMap`, `customHeaders` and `httpErrors`.
pub(crate) fn big_config(n: usize) -> String {
    use std::fmt::Write;
    let mut hidden = String::new();
    let mut exts = String::new();
    let mut mime = String::new();
    let mut headers = String::new();
    let mut errors = String::new();
    for i in 0..n {
        writeln!(hidden, r#"<add segment="seg{i}"/>"#).unwrap();
        writeln!(exts, r#"<add fileExtension=".e{i}" allowed="false"/>"#).unwrap();
        writeln!(
            mime,
            r#"<mimeMap fileExtension=".zq{i}" mimeType="application/x-m{i}"/>"#
        )
        .unwrap();
        writeln!(headers, r#"<add name="X-H{i}" value="v{i}"/>"#).unwrap();
        writeln!(
            errors,
            r#"<error statusCode="{}" subStatusCode="{}" path="e.htm"/>"#,
            400 + i % 600,
            i / 600
        )
        .unwrap();
    }
    format!(
        r#"<configuration><system.webServer>
<security><requestFiltering>
<fileExtensions>{exts}</fileExtensions>
<hiddenSegments>{hidden}</hiddenSegments>
</requestFiltering></security>
<staticContent>{mime}</staticContent>
<httpProtocol><customHeaders>{headers}</customHeaders></httpProtocol>
<httpErrors>{errors}</httpErrors>
</system.webServer></configuration>"#
    )
}

/// Collections are read in linear time: 20 000 entries in each of five
/// collections take well under a second in a release build (200 000 each: see
/// RELIABILITY.md); with a duplicate check by scanning, this debug run took 41 s.
/// `TOWER_IIS_BIG_CONFIG` sets the count.
#[test]
fn large_collections_are_read_in_linear_time() {
    let n: usize = std::env::var("TOWER_IIS_BIG_CONFIG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let text = big_config(n);
    let started = std::time::Instant::now();
    let config = WebConfig::parse(&text, "web.config").unwrap();
    let took = started.elapsed();
    eprintln!("{n} entries x 5 collections: {took:?}");
    assert_eq!(config.custom_headers.len(), n);
    assert_eq!(
        config.mime_map.get(&format!(".zq{}", n - 1)),
        Some(format!("application/x-m{}", n - 1).as_str())
    );
    assert!(took < Duration::from_secs(10), "{took:?}");

    // One collection alone, as a site with a long list of hidden segments has it.
    let mut hidden = String::new();
    for i in 0..n {
        hidden.push_str(&format!(r#"<add segment="seg{i}"/>"#));
    }
    let text = format!(
        "<configuration><system.webServer><security><requestFiltering><hiddenSegments>{hidden}</hiddenSegments></requestFiltering></security></system.webServer></configuration>"
    );
    let started = std::time::Instant::now();
    let config = WebConfig::parse(&text, "web.config").unwrap();
    let took = started.elapsed();
    eprintln!("{n} hiddenSegments: {took:?}");
    // After the eight inherited ones.
    assert_eq!(
        config.request_filtering.config().hidden_segments().count(),
        n + 8
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// IIS reads UTF-8 with or without a BOM and UTF-16 (either byte order) with a
/// BOM; any other bytes are a not-well-formed file, with the line and the byte.
#[test]
fn encodings() {
    let dir = std::env::temp_dir().join(format!("tower-iis-{}-enc", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = "<?xml version=\"1.0\"?>\r\n<configuration><system.webServer>\r\n<httpProtocol><customHeaders>\r\n<add name=\"X-Greeting\" value=\"Grüße, 世界 𝄞\"/>\r\n</customHeaders></httpProtocol>\r\n</system.webServer></configuration>\r\n";
    // As Windows tools write it, with the encoding declared.
    let text16 = text.replace(
        "<?xml version=\"1.0\"?>",
        "<?xml version=\"1.0\" encoding=\"utf-16\"?>",
    );
    let utf16 = |big: bool| {
        let mut out = if big {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for u in text16.encode_utf16() {
            out.extend(if big {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            });
        }
        out
    };
    let mut bom8 = vec![0xEF, 0xBB, 0xBF];
    bom8.extend_from_slice(text.as_bytes());
    for (name, bytes) in [
        ("utf8", text.as_bytes().to_vec()),
        ("utf8bom", bom8),
        ("utf16le", utf16(false)),
        ("utf16be", utf16(true)),
    ] {
        let path = dir.join(format!("{name}.config"));
        std::fs::write(&path, &bytes).unwrap();
        let config = WebConfig::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            config.custom_headers,
            [("X-Greeting".to_owned(), "Grüße, 世界 𝄞".to_owned())],
            "{name}"
        );
    }

    // Latin-1 "ü" (0xFC) on line 4; UTF-16 with a lone surrogate on line 4.
    let latin1: Vec<u8> = text
        .replace("Grüße, 世界 𝄞", "Gr\u{fc}\u{df}e")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    let bad_at = latin1.iter().position(|&b| b == 0xFC).unwrap();
    let mut lone = utf16(false);
    let at = 2 + 2 * text16[..text16.find("Grüße").unwrap()]
        .encode_utf16()
        .count();
    lone[at..at + 2].copy_from_slice(&0xD800u16.to_le_bytes());
    for (name, bytes, byte) in [("latin1", latin1, bad_at), ("lone", lone, at)] {
        let path = dir.join(format!("{name}.config"));
        std::fs::write(&path, &bytes).unwrap();
        let err = WebConfig::load(&path).unwrap_err();
        assert_eq!(err.hresult(), 0x8007_000d, "{name}: {err}");
        assert_eq!(err.line(), 4, "{name}: {err}");
        assert!(
            err.message()
                .starts_with("Configuration file is not well-formed XML"),
            "{name}: {err}"
        );
        // IIS's text is the message; where the bad byte is, the detail.
        assert!(
            err.detail()
                .is_some_and(|d| d.contains(&format!("line 4, byte {byte}"))),
            "{name}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
