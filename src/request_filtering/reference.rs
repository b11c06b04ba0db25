//! The checks as written before the single-pass scan and the hashed extension table,
//! without any index: a plain reading of the rules, kept to pin the fast code
//! against (`check::tests`).

use http::Request;
use http_body::Body;

use super::check::{
    content_too_long, header_too_long, Denial, DOUBLE_ESCAPED, FILE_EXTENSION, FILTERING_RULE,
    HIDDEN_SEGMENT, HIGH_BIT, QUERY_SEQUENCE, QUERY_TOO_LONG, TOO_MANY_SEGMENTS, URL_SEQUENCE,
    URL_TOO_LONG, VERB,
};
use super::config::Config;
use crate::http_util;

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && hay.len() >= needle.len()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

fn any_ci(raw: &[u8], decoded: &[u8], needles: &[String]) -> bool {
    needles
        .iter()
        .any(|s| contains_ci(raw, s.as_bytes()) || contains_ci(decoded, s.as_bytes()))
}

fn decode(raw: &[u8]) -> Vec<u8> {
    percent_encoding::percent_decode(raw).collect()
}

fn segments(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|b| *b == b'/' || *b == b'\\')
}

/// The extension of the last segment, from its last dot; `.` when there is none.
pub(crate) fn extension(path: &[u8]) -> &[u8] {
    let last = segments(path).last().unwrap_or_default();
    match last.iter().rposition(|b| *b == b'.') {
        Some(i) => &last[i..],
        None => b".",
    }
}

fn has_escape(s: &[u8]) -> bool {
    s.windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// The rules in order; `None` when the request passes.
pub(crate) fn check<B: Body>(cfg: &Config, req: &Request<B>) -> Option<Denial> {
    let method = req.method();
    match cfg.verbs.iter().find(|(m, _)| m == method) {
        Some((_, false)) => return Some(VERB),
        None if !cfg.verbs_allow_unlisted => return Some(VERB),
        _ => {}
    }
    if http_util::content_length(req.headers()).is_some_and(|n| n > cfg.max_allowed_content_length)
        || req.body().size_hint().lower() > cfg.max_allowed_content_length
    {
        return Some(content_too_long(cfg.limit_codes));
    }
    let path = req.uri().path().as_bytes();
    let query = req.uri().query().unwrap_or("").as_bytes();
    if path.len() as u64 > u64::from(cfg.max_url) {
        return Some(URL_TOO_LONG);
    }
    if query.len() as u64 > u64::from(cfg.max_query_string) {
        return Some(QUERY_TOO_LONG);
    }
    for (name, limit) in &cfg.header_limits {
        let values: Vec<_> = req.headers().get_all(name).iter().collect();
        let size: u64 = values.iter().map(|v| v.len() as u64).sum::<u64>()
            + 2 * values.len().saturating_sub(1) as u64;
        if size > u64::from(*limit) {
            return Some(header_too_long(cfg.limit_codes));
        }
    }

    let decoded = decode(path);
    let allowed = cfg
        .always_allowed_urls
        .iter()
        .any(|u| u.as_bytes().eq_ignore_ascii_case(path));
    if !allowed {
        let escaped = path.contains(&b'%');
        if !cfg.allow_double_escaping
            && (path.contains(&b'+')
                || escaped && (decoded.contains(&b'+') || has_escape(&decoded)))
        {
            return Some(DOUBLE_ESCAPED);
        }
        if !cfg.allow_high_bit_characters
            && (path.iter().any(|b| *b >= 0x80) || decoded.iter().any(|b| *b >= 0x80))
        {
            return Some(HIGH_BIT);
        }
    }
    if let Some(max) = cfg.max_url_segments {
        if segments(&decoded).filter(|s| !s.is_empty()).count() as u64 > u64::from(max) {
            return Some(TOO_MANY_SEGMENTS);
        }
    }
    if !allowed {
        if any_ci(path, &decoded, &cfg.deny_url_sequences) {
            return Some(URL_SEQUENCE);
        }
        if segments(&decoded).any(|seg| {
            cfg.hidden_segments
                .iter()
                .any(|h| h.as_bytes().eq_ignore_ascii_case(seg))
        }) {
            return Some(HIDDEN_SEGMENT);
        }
        let ext = extension(&decoded);
        match cfg
            .file_extensions
            .iter()
            .find(|(e, _)| e.as_bytes().eq_ignore_ascii_case(ext))
        {
            Some((_, false)) => return Some(FILE_EXTENSION),
            None if !cfg.file_extensions_allow_unlisted => return Some(FILE_EXTENSION),
            _ => {}
        }
    }

    let query_allowed = cfg
        .always_allowed_query_strings
        .iter()
        .any(|q| q.as_bytes() == query);
    let query_decoded = if cfg.unescape_query_string {
        decode(query)
    } else {
        query.to_vec()
    };
    if !query_allowed && any_ci(query, &query_decoded, &cfg.deny_query_string_sequences) {
        return Some(QUERY_SEQUENCE);
    }
    let ext = extension(&decoded);
    for rule in &cfg.rules {
        if !rule.applies_to.is_empty()
            && !rule
                .applies_to
                .iter()
                .any(|e| e.as_bytes().eq_ignore_ascii_case(ext))
        {
            continue;
        }
        if rule.scan_url && !allowed && any_ci(path, &decoded, &rule.deny_strings) {
            return Some(FILTERING_RULE);
        }
        if rule.scan_query_string
            && !query_allowed
            && any_ci(query, &query_decoded, &rule.deny_strings)
        {
            return Some(FILTERING_RULE);
        }
        for h in &rule.scan_headers {
            if req.headers().get_all(h).iter().any(|v| {
                rule.deny_strings
                    .iter()
                    .any(|s| contains_ci(v.as_bytes(), s.as_bytes()))
            }) {
                return Some(FILTERING_RULE);
            }
        }
    }
    None
}
