//! Line formatting pinned to exact bytes.

use http::{HeaderValue, Request, Response};

use super::fields::{CustomField, FieldSet};
use super::record::{IpCache, LineFormat, LogKind, Record};
use super::{LogValues, LogonUser};
use crate::{ConnectionInfo, IisError, IisStatus};

fn format(fields: FieldSet, custom: Vec<CustomField>) -> LineFormat {
    LineFormat::new(
        LogKind::W3c,
        fields,
        custom.into(),
        "W3SVC1".into(),
        "WEB01".into(),
    )
}

fn line(fmt: &LineFormat, req: &Request<()>, res: &Response<()>, ms: u64) -> String {
    let mut rec = Record::capture(req, fmt);
    rec.on_response(res, fmt);
    rec.time_taken_ms = ms;
    let mut out = Vec::new();
    rec.write_line(
        &mut out,
        fmt,
        b"2024-01-01 00:00:00",
        &mut IpCache::default(),
    );
    String::from_utf8(out).unwrap()
}

fn request(uri: &str) -> Request<()> {
    let mut req = Request::get(uri)
        .header("user-agent", "Mozilla/5.0 (X11; Linux)")
        .body(())
        .unwrap();
    req.extensions_mut().insert(ConnectionInfo::new(
        "10.0.0.9:51000".parse().unwrap(),
        "10.0.0.1:80".parse().unwrap(),
    ));
    req
}

#[test]
fn default_fields_line() {
    let fmt = format(FieldSet::iis_defaults(), vec![]);
    assert_eq!(
        fmt.header_block("2024-01-01 00:00:00"),
        "#Software: Microsoft Internet Information Services 10.0\r\n\
         #Version: 1.0\r\n\
         #Date: 2024-01-01 00:00:00\r\n\
         #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip \
         cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n"
    );
    let res = IisError::new(IisStatus::new(404, 3))
        .with_win32_status(0)
        .into_http_response();
    assert_eq!(
        line(&fmt, &request("/index.html?a=1"), &res, 15),
        "2024-01-01 00:00:00 10.0.0.1 GET /index.html a=1 80 - 10.0.0.9 Mozilla/5.0+(X11;+Linux) - 404 3 0 15"
    );
    let ok = Response::new(());
    assert_eq!(
        line(&fmt, &Request::new(()), &ok, 0),
        "2024-01-01 00:00:00 - GET / - - - - - - 200 0 0 0"
    );
}

#[test]
fn all_fields_with_bytes_user_and_custom() {
    let fmt = format(
        FieldSet::all(),
        vec![
            CustomField::request_header(
                "X-Forwarded-For",
                http::HeaderName::from_static("x-forwarded-for"),
            ),
            CustomField::response_header("X-Cache", http::HeaderName::from_static("x-cache")),
            CustomField::app_value("Tenant", "tenant"),
        ],
    );
    assert_eq!(
        fmt.fields_line(),
        "date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port \
         cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status \
         sc-substatus sc-win32-status sc-bytes cs-bytes time-taken X-Forwarded-For X-Cache Tenant"
    );
    let mut req = request("/a%20b/c?q=x+y");
    let h = req.headers_mut();
    h.insert("host", HeaderValue::from_static("example.com"));
    h.insert("cookie", HeaderValue::from_static("a=1; b=2"));
    h.insert("referer", HeaderValue::from_static("http://example.com/"));
    h.append("x-forwarded-for", HeaderValue::from_static("203.0.113.1"));
    h.append("x-forwarded-for", HeaderValue::from_static("198.51.100.2"));
    h.insert("content-length", HeaderValue::from_static("5"));
    let mut res = Response::new(());
    res.headers_mut()
        .insert("x-cache", HeaderValue::from_static("HIT"));
    res.extensions_mut()
        .insert(LogonUser::new("CONTOSO\\alice"));
    res.extensions_mut()
        .insert(LogValues::new().with("tenant", "acme corp"));
    // cs-bytes: "GET /a%20b/c?q=x+y HTTP/1.1\r\n" (29) + user-agent (38) + host (19)
    // + cookie (18) + referer (30) + 2 x-forwarded-for (30 + 31) + content-length (19)
    // + "\r\n" (2) + body 5 = 221.
    // sc-bytes: "HTTP/1.1 200 OK\r\n" (17) + "x-cache: HIT\r\n" (14) + "\r\n" (2) = 33.
    assert_eq!(
        line(&fmt, &req, &res, 7),
        "2024-01-01 00:00:00 W3SVC1 WEB01 10.0.0.1 GET /a+b/c q=x+y 80 CONTOSO\\alice 10.0.0.9 \
         HTTP/1.1 Mozilla/5.0+(X11;+Linux) a=1;+b=2 http://example.com/ example.com 200 0 0 33 221 7 \
         203.0.113.1,198.51.100.2 HIT acme+corp"
    );
}

#[test]
fn user_from_error_and_mapped_addresses() {
    let fmt = format(
        FieldSet::parse([
            "c-ip",
            "cs-username",
            "s-ip",
            "sc-win32-status",
            "sc-status",
        ])
        .unwrap(),
        vec![CustomField::app_value("Tenant", "tenant")],
    );
    let mut req = Request::new(());
    req.extensions_mut().insert(ConnectionInfo::new(
        "[::ffff:127.0.0.1]:1".parse().unwrap(),
        "[::1]:8080".parse().unwrap(),
    ));
    let res = IisError::new(IisStatus::new(401, 1))
        .with_logon_user("bob smith")
        .into_http_response();
    let win32 = IisError::new(IisStatus::new(401, 1)).win32_status();
    assert_eq!(
        line(&fmt, &req, &res, 0),
        format!("::1 bob+smith 127.0.0.1 401 {win32} -")
    );
    // The anonymous default is not a user.
    let res = IisError::new(IisStatus::new(500, 0)).into_http_response();
    assert!(line(&fmt, &req, &res, 0).starts_with("::1 - 127.0.0.1 500 "));
}

#[test]
fn hostile_values_stay_one_column_each() {
    let fmt = format(FieldSet::all(), vec![]);
    // Every byte a header value may carry (tab, space, visible ASCII, obs-text), 4 KB.
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i % 256) as u8)
        .filter(|b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f))
        .collect();
    let mut req = request("/x");
    *req.uri_mut() = "/p%0D%0Ath?a=%09b&c=%22d%22".parse().unwrap();
    let h = req.headers_mut();
    h.insert(
        "user-agent",
        HeaderValue::from_bytes(&[b'a', b'\t', b' ', 0x80, 0xff, b'b']).unwrap(),
    );
    h.insert("referer", HeaderValue::from_bytes(&junk[1..]).unwrap());
    let l = line(&fmt, &req, &Response::new(()), 1);
    assert_eq!(l.split(' ').count(), 22, "{l}");
    assert!(!l.contains(['\t', '\r', '\n', '\0']));
    assert!(l.contains(" a++++b "), "{l}");
    // The stem decoded (CR and LF as `+`), the query as received.
    assert!(l.contains(" /p++th a=%09b&c=%22d%22 "), "{l}");
}

#[test]
fn a_line_never_starts_with_a_hash() {
    // Without `date` first, the first column may come from the request: a method
    // token may start with `#`, and so may a header.
    let fmt = format(FieldSet::parse(["cs-method", "sc-status"]).unwrap(), vec![]);
    let mut req = Request::new(());
    *req.method_mut() = http::Method::from_bytes(b"#Remark").unwrap();
    assert_eq!(line(&fmt, &req, &Response::new(()), 0), "+Remark 200");
    let fmt = format(FieldSet::parse(["cs(User-Agent)"]).unwrap(), vec![]);
    let mut req = Request::new(());
    req.headers_mut()
        .insert("user-agent", HeaderValue::from_static("#Fields: date"));
    assert_eq!(line(&fmt, &req, &Response::new(()), 0), "+Fields:+date");
    // Further in too: no value starts with `#`, so no reader that splits a line
    // into values can take one for a directive. Later `#`s are just characters.
    let fmt = format(
        FieldSet::parse(["cs-method", "cs(User-Agent)"]).unwrap(),
        vec![],
    );
    assert_eq!(line(&fmt, &req, &Response::new(()), 0), "GET +Fields:+date");
    req.headers_mut()
        .insert("user-agent", HeaderValue::from_static("a#Fields"));
    assert_eq!(line(&fmt, &req, &Response::new(()), 0), "GET a#Fields");
}

#[test]
fn long_values_spill_out_of_the_record() {
    let fmt = format(
        FieldSet::parse(["cs-uri-stem", "cs(User-Agent)", "cs(Cookie)", "cs-host"]).unwrap(),
        vec![CustomField::request_header(
            "X-Long",
            http::HeaderName::from_static("x-long"),
        )],
    );
    let path = format!("/{}", "p".repeat(300));
    let cookie = format!("session={}", "c".repeat(3000));
    let long = "l".repeat(500);
    let mut req = request(&path);
    let h = req.headers_mut();
    h.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
    h.insert("x-long", HeaderValue::from_str(&long).unwrap());
    // No Host header: the URI's authority is logged.
    *req.uri_mut() = format!("http://example.com:8080{path}").parse().unwrap();
    assert_eq!(
        line(&fmt, &req, &Response::new(()), 0),
        format!("{path} Mozilla/5.0+(X11;+Linux) {cookie} example.com:8080 {long}")
    );
}

#[test]
fn ipv4_addresses_of_every_width() {
    let fmt = format(FieldSet::parse(["s-ip", "c-ip"]).unwrap(), vec![]);
    for (remote, local) in [
        ("203.0.113.255", "1.20.100.0"),
        ("9.99.199.254", "255.255.255.255"),
    ] {
        let mut req = Request::new(());
        req.extensions_mut().insert(ConnectionInfo::new(
            format!("{remote}:1").parse().unwrap(),
            format!("{local}:80").parse().unwrap(),
        ));
        assert_eq!(
            line(&fmt, &req, &Response::new(()), 0),
            format!("{local} {remote}")
        );
    }
}

#[test]
fn fused_columns_match_the_fields_they_stand_for() {
    // `date time` and the three status codes are written as one copy each when
    // all of them are logged; alone, or with codes of more than one digit, each
    // column is written as it always was.
    let res = IisError::new(IisStatus::new(500, 19))
        .with_win32_status(1236)
        .into_http_response();
    let mut req = request("/");
    *req.method_mut() = http::Method::from_bytes(b"#PROPFIND").unwrap();
    let all = [
        "date",
        "time",
        "cs-method",
        "sc-status",
        "sc-substatus",
        "sc-win32-status",
    ];
    let fmt = format(FieldSet::parse(all).unwrap(), vec![]);
    assert_eq!(
        line(&fmt, &req, &res, 0),
        "2024-01-01 00:00:00 +PROPFIND 500 19 1236"
    );
    let fmt = format(
        FieldSet::parse(["time", "sc-status", "sc-win32-status"]).unwrap(),
        vec![],
    );
    assert_eq!(line(&fmt, &req, &res, 0), "00:00:00 500 1236");
    let fmt = format(
        FieldSet::parse(["date", "cs-method", "sc-substatus"]).unwrap(),
        vec![],
    );
    assert_eq!(line(&fmt, &req, &res, 0), "2024-01-01 +PROPFIND 19");
    let ok = Response::new(());
    let fmt = format(FieldSet::parse(all).unwrap(), vec![]);
    assert_eq!(
        line(&fmt, &request("/"), &ok, 0),
        "2024-01-01 00:00:00 GET 200 0 0"
    );
}
