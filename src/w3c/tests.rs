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

/// Column by column, the plain way (each field formatted on its own, the columns
/// joined with spaces): what the line writer's fused columns, constant runs and
/// separators must match.
fn line_by_field(rec: &Record, fmt: &LineFormat) -> String {
    use super::fields::{push_value_limited, Field, MAX_FIELD_LENGTH};
    use super::record::CustomValue;
    use std::net::SocketAddr;
    let token = |v: &[u8]| {
        let mut out = Vec::new();
        push_value_limited(&mut out, v, MAX_FIELD_LENGTH);
        String::from_utf8(out).unwrap()
    };
    let ip = |a: Option<&SocketAddr>| match a.map(|a| a.ip().to_canonical()) {
        Some(ip) if !ip.is_unspecified() => ip.to_string(),
        _ => "-".to_owned(),
    };
    let text = |span| token(rec.text.get(span));
    let conn = rec.conn.as_ref();
    let mut columns: Vec<String> = fmt
        .fields
        .iter()
        .map(|field| match field {
            Field::Date => "2024-01-01".to_owned(),
            Field::Time => "00:00:00".to_owned(),
            Field::SiteName => token(b"W3SVC1"),
            Field::ComputerName => token(b"WEB01"),
            Field::ServerIp => ip(conn.map(|c| &c.local)),
            Field::Method => token(rec.method.as_ref().map_or("", |m| m.as_str()).as_bytes()),
            Field::UriStem => {
                let mut out = Vec::new();
                super::stem::push_stem(&mut out, rec.text.get(rec.path));
                String::from_utf8(out).unwrap()
            }
            Field::UriQuery => text(rec.query),
            Field::ServerPort => match conn.map(|c| c.local.port()) {
                Some(p) if p != 0 => p.to_string(),
                _ => "-".to_owned(),
            },
            Field::UserName => token(rec.user.as_ref().map_or("", LogonUser::name).as_bytes()),
            Field::ClientIp => ip(conn.map(|c| &c.remote)),
            Field::ProtocolVersion => match rec.version {
                http::Version::HTTP_09 => "HTTP/0.9",
                http::Version::HTTP_10 => "HTTP/1.0",
                http::Version::HTTP_2 => "HTTP/2",
                http::Version::HTTP_3 => "HTTP/3",
                _ => "HTTP/1.1",
            }
            .to_owned(),
            Field::UserAgent => text(rec.user_agent),
            Field::Cookie => text(rec.cookie),
            Field::Referer => text(rec.referer),
            Field::Host => text(rec.host.or(rec.authority)),
            Field::HttpStatus => rec.status.to_string(),
            Field::HttpSubStatus => rec.substatus.to_string(),
            Field::Win32Status => rec.win32.to_string(),
            Field::BytesSent => rec.sc_bytes.to_string(),
            Field::BytesRecv => rec.cs_bytes.to_string(),
            Field::TimeTaken => rec.time_taken_ms.to_string(),
        })
        .collect();
    for value in &rec.custom {
        let bytes = match value {
            Some(CustomValue::Header(v)) => v.as_bytes(),
            Some(CustomValue::Request(span)) => rec.text.get(Some(*span)),
            Some(CustomValue::Text(s)) => s.as_bytes(),
            None => b"",
        };
        columns.push(token(bytes));
    }
    let mut line = columns.join(" ");
    if line.starts_with('#') {
        line.replace_range(..1, "+");
    }
    line
}

#[test]
fn the_line_writer_matches_the_columns_one_by_one() {
    // Requests whose values take every path: the usual browser request, values
    // with `#`, controls, non-ASCII bytes, empty ones, long ones; IPv6, mapped and
    // missing addresses; HTTP/2 without `Host`; statuses of every width.
    let mut requests = vec![request("/index.html?a=1"), Request::new(())];
    let mut odd = Request::builder()
        .method(http::Method::from_bytes(b"#PROPFIND").unwrap())
        .uri("http://example.com:8080/p%0D/./x/../y?%23q=%09")
        .version(http::Version::HTTP_2)
        .header(
            "user-agent",
            HeaderValue::from_bytes(b"#a\tb \x80\xffc").unwrap(),
        )
        .header("cookie", "c=".repeat(400))
        .header(
            "referer",
            HeaderValue::from_bytes("caf\u{e9} \u{a0}x".as_bytes()).unwrap(),
        )
        .body(())
        .unwrap();
    odd.extensions_mut().insert(ConnectionInfo::new(
        "[::ffff:203.0.113.9]:1".parse().unwrap(),
        "[2001:db8::1]:0".parse().unwrap(),
    ));
    requests.push(odd);
    let mut long = request(&format!("/{}", "p".repeat(5000)));
    long.headers_mut().insert(
        "user-agent",
        HeaderValue::from_str(&"u ".repeat(3000)).unwrap(),
    );
    long.headers_mut()
        .insert("host", HeaderValue::from_static("#h"));
    requests.push(long);
    let responses = [
        Response::new(()),
        IisError::new(IisStatus::new(404, 3)).into_http_response(),
        IisError::new(IisStatus::new(500, 19))
            .with_win32_status(1236)
            .into_http_response(),
        IisError::new(IisStatus::new(401, 2))
            .with_logon_user("bob smith")
            .into_http_response(),
    ];
    let custom = vec![
        CustomField::request_header("X-Fwd", http::HeaderName::from_static("x-fwd")),
        CustomField::app_value("Tenant", "tenant"),
    ];
    // Every field alone, every pair, and pseudo-random sets; with and without
    // custom fields.
    let all = super::fields::Field::ALL;
    let mut sets: Vec<FieldSet> = all.iter().map(|&f| FieldSet::empty().with(f)).collect();
    for (i, &a) in all.iter().enumerate() {
        for &b in &all[i + 1..] {
            sets.push(FieldSet::empty().with(a).with(b));
        }
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..300 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        sets.push(
            all.iter()
                .enumerate()
                .filter(|(i, _)| seed >> i & 1 == 1)
                .map(|(_, &f)| f)
                .collect(),
        );
    }
    sets.extend([FieldSet::iis_defaults(), FieldSet::all(), FieldSet::empty()]);
    let mut ips = IpCache::default();
    for set in sets {
        for custom in [vec![], custom.clone()] {
            let fmt = format(set, custom);
            for req in &requests {
                for (n, res) in responses.iter().enumerate() {
                    let mut rec = Record::capture(req, &fmt);
                    rec.on_response(res, &fmt);
                    rec.time_taken_ms = [0, 7, 42, 999, 1000, u64::MAX][n % 6];
                    rec.sc_bytes = [0, 9, 10, 99, 100, 12_345][n % 6];
                    let mut out = Vec::new();
                    rec.write_line(&mut out, &fmt, b"2024-01-01 00:00:00", &mut ips);
                    let expected = line_by_field(&rec, &fmt);
                    assert_eq!(String::from_utf8(out).unwrap(), expected, "{set:?}");
                }
            }
        }
    }
}
