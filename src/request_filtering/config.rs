//! The `<requestFiltering>` configuration: a builder with IIS's names, validated on
//! [`build`](RequestFilteringBuilder::build).

use std::sync::Arc;

use http::header::HeaderName;
use http::Method;

use super::layer::RequestFilteringLayer;
use crate::ConfigError;

/// IIS 10's default `maxAllowedContentLength`: 30,000,000 bytes (about 28.6 MB).
pub const DEFAULT_MAX_ALLOWED_CONTENT_LENGTH: u64 = 30_000_000;
/// IIS 10's default `maxUrl`: 4096 bytes.
pub const DEFAULT_MAX_URL: u32 = 4096;
/// IIS 10's default `maxQueryString`: 2048 bytes.
pub const DEFAULT_MAX_QUERY_STRING: u32 = 2048;

/// The eight `<hiddenSegments>` IIS 10 ships with, in the order of its configuration.
pub const DEFAULT_HIDDEN_SEGMENTS: [&str; 8] = [
    "web.config",
    "bin",
    "App_code",
    "App_GlobalResources",
    "App_LocalResources",
    "App_WebReferences",
    "App_Data",
    "App_Browsers",
];

/// The file extensions IIS 10 denies out of the box (`<fileExtensions>` rows with
/// `allowed="false"`), in the order of its configuration.
pub const DEFAULT_DENIED_FILE_EXTENSIONS: [&str; 44] = [
    ".asa",
    ".asax",
    ".ascx",
    ".master",
    ".skin",
    ".browser",
    ".sitemap",
    ".config",
    ".cs",
    ".csproj",
    ".vb",
    ".vbproj",
    ".webinfo",
    ".licx",
    ".resx",
    ".resources",
    ".mdb",
    ".vjsproj",
    ".java",
    ".jsl",
    ".ldb",
    ".dsdgm",
    ".ssdgm",
    ".lsad",
    ".ssmap",
    ".cd",
    ".dsprototype",
    ".lsaprototype",
    ".sdm",
    ".sdmDocument",
    ".mdf",
    ".ldf",
    ".ad",
    ".dd",
    ".ldd",
    ".sd",
    ".adprototype",
    ".lddprototype",
    ".exclude",
    ".refresh",
    ".compiled",
    ".msgx",
    ".vsdisco",
    ".rules",
];

/// Which IIS generation's codes the size limits answer with.
///
/// IIS 7.0 to 8.5 answered an oversized body with 404.13 and an oversized header
/// with 404.10; IIS 10 answers 413.1 and 431.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LimitCodes {
    /// IIS 10: `413.1` (content length) and `431.0` (header size). The default.
    #[default]
    Iis10,
    /// IIS 7.0 to 8.5: `404.13` (content length) and `404.10` (header size).
    Legacy,
}

/// A `<filteringRule>` (IIS 7.5+): deny strings looked for in the URL, the query
/// string and chosen headers, for some file extensions or for all.
///
/// ```
/// use tower_iis::request_filtering::FilteringRule;
///
/// let rule = FilteringRule::new("no-sql")
///     .scan_url(false)
///     .scan_query_string(true)
///     .scan_header("User-Agent")
///     .applies_to(".aspx")
///     .deny_string("select ")
///     .deny_string("union ");
/// # let _ = rule;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilteringRule {
    pub(crate) name: String,
    pub(crate) scan_url: bool,
    pub(crate) scan_query_string: bool,
    pub(crate) scan_headers: Vec<String>,
    pub(crate) applies_to: Vec<String>,
    pub(crate) deny_strings: Vec<String>,
}

impl FilteringRule {
    /// A rule named `name` that scans nothing yet (IIS's defaults: `scanUrl` and
    /// `scanQueryString` false, no headers, applies to every extension).
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            scan_url: false,
            scan_query_string: false,
            scan_headers: Vec::new(),
            applies_to: Vec::new(),
            deny_strings: Vec::new(),
        }
    }

    /// `scanUrl`: look for the deny strings in the URL path (raw and decoded).
    #[must_use]
    pub fn scan_url(mut self, scan: bool) -> Self {
        self.scan_url = scan;
        self
    }

    /// `scanQueryString`: look for the deny strings in the query string (raw, and
    /// decoded when `unescapeQueryString` is on).
    #[must_use]
    pub fn scan_query_string(mut self, scan: bool) -> Self {
        self.scan_query_string = scan;
        self
    }

    /// `<scanHeaders><add requestHeader=".."/>`: look in this request header's values.
    #[must_use]
    pub fn scan_header(mut self, header: impl Into<String>) -> Self {
        self.scan_headers.push(header.into());
        self
    }

    /// `<appliesTo><add fileExtension=".."/>`: apply the rule only to URLs with this
    /// extension (`.` for URLs without one). With no `appliesTo` the rule applies to all.
    #[must_use]
    pub fn applies_to(mut self, file_extension: impl Into<String>) -> Self {
        self.applies_to.push(file_extension.into());
        self
    }

    /// `<denyStrings><add string=".."/>`: a string that denies the request (404.19)
    /// when found, compared ASCII case-insensitively.
    #[must_use]
    pub fn deny_string(mut self, s: impl Into<String>) -> Self {
        self.deny_strings.push(s.into());
        self
    }
}

/// Builds a [`RequestFilteringLayer`]. Starts from the IIS 10 defaults; every method
/// carries the IIS attribute or collection name it sets.
///
/// ```
/// use tower_iis::request_filtering::{FilteringRule, RequestFilteringLayer};
///
/// let layer = RequestFilteringLayer::builder()
///     .max_allowed_content_length(1_000_000)
///     .deny_verb("TRACE")
///     .deny_url_sequence("..")
///     .deny_query_string_sequence("<script")
///     .hidden_segment("secrets")
///     .deny_file_extension(".bak")
///     .header_limit("Content-Type", 100)
///     .filtering_rule(FilteringRule::new("no-sql").scan_query_string(true).deny_string("union "))
///     .build()?;
/// # let _ = layer;
///
/// // A bad value is named in the error.
/// let err = RequestFilteringLayer::builder().deny_file_extension("bak").build().unwrap_err();
/// assert_eq!(err.value(), "bak");
/// # Ok::<(), tower_iis::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RequestFilteringBuilder {
    max_allowed_content_length: u64,
    max_url: u32,
    max_query_string: u32,
    max_url_segments: Option<u32>,
    allow_double_escaping: bool,
    allow_high_bit_characters: bool,
    unescape_query_string: bool,
    verbs_allow_unlisted: bool,
    verbs: Vec<(String, bool)>,
    file_extensions_allow_unlisted: bool,
    file_extensions: Vec<(String, bool)>,
    hidden_segments: Vec<String>,
    deny_url_sequences: Vec<String>,
    deny_query_string_sequences: Vec<String>,
    always_allowed_urls: Vec<String>,
    always_allowed_query_strings: Vec<String>,
    header_limits: Vec<(String, u32)>,
    filtering_rules: Vec<FilteringRule>,
    limit_codes: LimitCodes,
}

impl Default for RequestFilteringBuilder {
    fn default() -> Self {
        Self {
            max_allowed_content_length: DEFAULT_MAX_ALLOWED_CONTENT_LENGTH,
            max_url: DEFAULT_MAX_URL,
            max_query_string: DEFAULT_MAX_QUERY_STRING,
            max_url_segments: None,
            allow_double_escaping: false,
            allow_high_bit_characters: true,
            unescape_query_string: true,
            verbs_allow_unlisted: true,
            verbs: Vec::new(),
            file_extensions_allow_unlisted: true,
            file_extensions: DEFAULT_DENIED_FILE_EXTENSIONS
                .iter()
                .map(|e| ((*e).to_owned(), false))
                .collect(),
            hidden_segments: DEFAULT_HIDDEN_SEGMENTS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            deny_url_sequences: Vec::new(),
            deny_query_string_sequences: Vec::new(),
            always_allowed_urls: Vec::new(),
            always_allowed_query_strings: Vec::new(),
            header_limits: Vec::new(),
            filtering_rules: Vec::new(),
            limit_codes: LimitCodes::Iis10,
        }
    }
}

impl RequestFilteringBuilder {
    /// A builder holding the IIS 10 defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// `requestLimits@maxAllowedContentLength`: the largest request body, in bytes
    /// (IIS's range is 0 to 4,294,967,295). Default 30,000,000.
    pub fn max_allowed_content_length(mut self, bytes: u64) -> Self {
        self.max_allowed_content_length = bytes;
        self
    }

    /// `requestLimits@maxUrl`: the longest URL path, in bytes, query excluded. Default 4096.
    pub fn max_url(mut self, bytes: u32) -> Self {
        self.max_url = bytes;
        self
    }

    /// `requestLimits@maxQueryString`: the longest query string, in bytes, `?`
    /// excluded. Default 2048.
    pub fn max_query_string(mut self, bytes: u32) -> Self {
        self.max_query_string = bytes;
        self
    }

    /// The most path segments a URL may have before it is denied with 404.20
    /// (`None`, the default, turns the check off). IIS documents 404.20 "Too Many URL
    /// Segments" but no configuration attribute for it; http.sys's own
    /// `UrlSegmentMaxCount` defaults to 255.
    pub fn max_url_segments(mut self, segments: Option<u32>) -> Self {
        self.max_url_segments = segments;
        self
    }

    /// `allowDoubleEscaping`. Default false: a path that still holds an escape after
    /// one decoding, or any `+`, is denied with 404.11.
    pub fn allow_double_escaping(mut self, allow: bool) -> Self {
        self.allow_double_escaping = allow;
        self
    }

    /// `allowHighBitCharacters`. Default true; when false a path with a byte above
    /// 0x7F (raw or decoded) is denied with 404.12.
    pub fn allow_high_bit_characters(mut self, allow: bool) -> Self {
        self.allow_high_bit_characters = allow;
        self
    }

    /// `unescapeQueryString`. Default true: query-string deny sequences and filtering
    /// rules are matched against the raw and the decoded query.
    pub fn unescape_query_string(mut self, unescape: bool) -> Self {
        self.unescape_query_string = unescape;
        self
    }

    /// `verbs@allowUnlisted`. Default true; when false only verbs added with
    /// [`allow_verb`](Self::allow_verb) pass.
    pub fn verbs_allow_unlisted(mut self, allow: bool) -> Self {
        self.verbs_allow_unlisted = allow;
        self
    }

    /// `<verbs><add verb=".." allowed="true"/>`. Verbs are case-sensitive and exact.
    pub fn allow_verb(mut self, verb: impl Into<String>) -> Self {
        set_row(&mut self.verbs, verb.into(), true, false);
        self
    }

    /// `<verbs><add verb=".." allowed="false"/>`: the verb is denied with 404.6.
    pub fn deny_verb(mut self, verb: impl Into<String>) -> Self {
        set_row(&mut self.verbs, verb.into(), false, false);
        self
    }

    /// `fileExtensions@allowUnlisted`. Default true; when false only extensions added
    /// with [`allow_file_extension`](Self::allow_file_extension) pass, and a URL
    /// without an extension counts as the extension `.`.
    pub fn file_extensions_allow_unlisted(mut self, allow: bool) -> Self {
        self.file_extensions_allow_unlisted = allow;
        self
    }

    /// `<fileExtensions><add fileExtension=".." allowed="true"/>`, replacing a row for
    /// the same extension (so `allow_file_extension(".cs")` lifts a default denial).
    /// `.` stands for "no extension".
    pub fn allow_file_extension(mut self, ext: impl Into<String>) -> Self {
        set_row(&mut self.file_extensions, ext.into(), true, true);
        self
    }

    /// `<fileExtensions><add fileExtension=".." allowed="false"/>`: denied with 404.7.
    pub fn deny_file_extension(mut self, ext: impl Into<String>) -> Self {
        set_row(&mut self.file_extensions, ext.into(), false, true);
        self
    }

    /// `<fileExtensions><remove fileExtension=".."/>`.
    pub fn remove_file_extension(mut self, ext: &str) -> Self {
        self.file_extensions
            .retain(|(e, _)| !e.eq_ignore_ascii_case(ext));
        self
    }

    /// `<fileExtensions><clear/>`: drops every row, the default denials included.
    pub fn clear_file_extensions(mut self) -> Self {
        self.file_extensions.clear();
        self
    }

    /// `<hiddenSegments><add segment=".."/>`: a path segment denied with 404.8.
    pub fn hidden_segment(mut self, segment: impl Into<String>) -> Self {
        let segment = segment.into();
        if !self
            .hidden_segments
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&segment))
        {
            self.hidden_segments.push(segment);
        }
        self
    }

    /// Rows already made unique (a `web.config` collection, read with a hash
    /// index), set without the per-row duplicate scan of the public methods.
    #[cfg(feature = "web-config")]
    pub(crate) fn unique_rows(
        mut self,
        file_extensions: Vec<(String, bool)>,
        hidden_segments: Vec<String>,
        verbs: Vec<(String, bool)>,
    ) -> Self {
        self.file_extensions = file_extensions;
        self.hidden_segments = hidden_segments;
        self.verbs = verbs;
        self
    }

    /// `<hiddenSegments><remove segment=".."/>`.
    pub fn remove_hidden_segment(mut self, segment: &str) -> Self {
        self.hidden_segments
            .retain(|s| !s.eq_ignore_ascii_case(segment));
        self
    }

    /// `<hiddenSegments><clear/>`: drops the eight default segments too.
    pub fn clear_hidden_segments(mut self) -> Self {
        self.hidden_segments.clear();
        self
    }

    /// `<denyUrlSequences><add sequence=".."/>`: denied with 404.5.
    pub fn deny_url_sequence(mut self, sequence: impl Into<String>) -> Self {
        self.deny_url_sequences.push(sequence.into());
        self
    }

    /// `<denyQueryStringSequences><add sequence=".."/>`: denied with 404.18.
    pub fn deny_query_string_sequence(mut self, sequence: impl Into<String>) -> Self {
        self.deny_query_string_sequences.push(sequence.into());
        self
    }

    /// `<alwaysAllowedUrls><add url=".."/>`: a path (exact, ASCII case-insensitive,
    /// starting with `/`) exempt from the URL content rules.
    pub fn always_allowed_url(mut self, url: impl Into<String>) -> Self {
        self.always_allowed_urls.push(url.into());
        self
    }

    /// `<alwaysAllowedQueryStrings><add queryString=".."/>`: a raw query (exact,
    /// without `?`) exempt from the query-string rules.
    pub fn always_allowed_query_string(mut self, query: impl Into<String>) -> Self {
        self.always_allowed_query_strings.push(query.into());
        self
    }

    /// `<headerLimits><add header=".." sizeLimit=".."/>`: the largest size of a
    /// header's value in bytes (repeated headers counted joined by `, `); denied with
    /// 431 (IIS 10) or 404.10 (legacy).
    pub fn header_limit(mut self, header: impl Into<String>, size_limit: u32) -> Self {
        self.header_limits.push((header.into(), size_limit));
        self
    }

    /// `<filteringRules><filteringRule ..>`: denied with 404.19.
    pub fn filtering_rule(mut self, rule: FilteringRule) -> Self {
        self.filtering_rules.push(rule);
        self
    }

    /// Which codes the size limits answer with; [`LimitCodes::Iis10`] by default.
    pub fn limit_codes(mut self, codes: LimitCodes) -> Self {
        self.limit_codes = codes;
        self
    }

    /// Validates the configuration and builds the layer.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first bad value: an empty or space-holding verb,
    /// an extension without its leading dot, an empty or `/`-holding hidden segment,
    /// an empty deny string or sequence, a bad header name, an always-allowed URL
    /// without its leading `/`, a filtering rule without a name.
    pub fn build(self) -> Result<RequestFilteringLayer, ConfigError> {
        Ok(RequestFilteringLayer::from_config(Arc::new(
            self.validate()?,
        )))
    }

    fn validate(self) -> Result<Config, ConfigError> {
        let mut verbs = Vec::with_capacity(self.verbs.len());
        for (verb, allowed) in self.verbs {
            verbs.push((check_verb(&verb)?, allowed));
        }
        let mut file_extensions = Vec::with_capacity(self.file_extensions.len());
        for (ext, allowed) in self.file_extensions {
            check_extension("fileExtensions/add@fileExtension", &ext)?;
            file_extensions.push((ext, allowed));
        }
        for seg in &self.hidden_segments {
            check_hidden_segment(seg)?;
        }
        for seq in &self.deny_url_sequences {
            non_empty("denyUrlSequences/add@sequence", seq)?;
        }
        for seq in &self.deny_query_string_sequences {
            non_empty("denyQueryStringSequences/add@sequence", seq)?;
        }
        for url in &self.always_allowed_urls {
            check_always_allowed_url(url)?;
        }
        let mut header_limits = Vec::with_capacity(self.header_limits.len());
        for (name, limit) in self.header_limits {
            let header = header_name("headerLimits/add@header", &name)?;
            header_limits.push((header, limit));
        }
        let mut rules = Vec::with_capacity(self.filtering_rules.len());
        for rule in self.filtering_rules {
            check_rule_name(&rule.name)?;
            let mut scan_headers = Vec::with_capacity(rule.scan_headers.len());
            for h in &rule.scan_headers {
                scan_headers.push(header_name(
                    "filteringRule/scanHeaders/add@requestHeader",
                    h,
                )?);
            }
            for ext in &rule.applies_to {
                check_extension("filteringRule/appliesTo/add@fileExtension", ext)?;
            }
            check_rule_has_deny_strings(&rule.name, rule.deny_strings.len())?;
            for s in &rule.deny_strings {
                non_empty("filteringRule/denyStrings/add@string", s)?;
            }
            rules.push(Rule {
                name: rule.name,
                scan_url: rule.scan_url,
                scan_query_string: rule.scan_query_string,
                scan_headers,
                applies_to: rule.applies_to,
                deny_strings: rule.deny_strings,
            });
        }
        let plain = self.always_allowed_urls.is_empty()
            && self.deny_url_sequences.is_empty()
            && self.max_url_segments.is_none()
            && self.deny_query_string_sequences.is_empty()
            && rules.is_empty();
        Ok(Config {
            plain,
            max_allowed_content_length: self.max_allowed_content_length,
            max_url: self.max_url,
            max_query_string: self.max_query_string,
            max_url_segments: self.max_url_segments,
            allow_double_escaping: self.allow_double_escaping,
            allow_high_bit_characters: self.allow_high_bit_characters,
            unescape_query_string: self.unescape_query_string,
            verbs_allow_unlisted: self.verbs_allow_unlisted,
            verbs,
            file_extensions_allow_unlisted: self.file_extensions_allow_unlisted,
            extension_index: ExtensionIndex::new(&file_extensions),
            file_extensions,
            hidden_filter: HiddenFilter::new(&self.hidden_segments),
            hidden_segments: self.hidden_segments,
            deny_url_sequences: self.deny_url_sequences,
            deny_query_string_sequences: self.deny_query_string_sequences,
            always_allowed_urls: self.always_allowed_urls,
            always_allowed_query_strings: self.always_allowed_query_strings,
            header_limits,
            rules,
            limit_codes: self.limit_codes,
        })
    }
}

/// File extension rows, looked up by hashing. Rows are unique ignoring ASCII case
/// (the builder replaces a row given twice).
///
/// Extensions of up to seven bytes (nearly all) are packed, lowercased, into one
/// integer with their length ([`pack`]) and kept in an open-addressing table, so a
/// lookup is a multiplication and, mostly, one comparison; longer ones are kept as
/// lowercase bytes, looked up by halving.
#[derive(Debug)]
pub(crate) struct ExtensionIndex {
    /// Packed keys with the `allowed` flag in the top bit ([`ALLOWED`]); 0 is an
    /// empty slot (a row's packed key is never 0: an extension has at least its dot).
    /// Its length is a power of two, at least four times the rows.
    short: Box<[u64]>,
    /// 64 minus the number of bits of a slot's index.
    shift: u32,
    long: Vec<(Box<[u8]>, bool)>,
}

/// The `allowed` flag of a slot of [`ExtensionIndex`]: free, since a packed key's
/// length (top byte) is at most 7.
const ALLOWED: u64 = 1 << 63;

impl ExtensionIndex {
    fn new(rows: &[(String, bool)]) -> Self {
        let short_rows = rows.iter().filter(|(e, _)| e.len() <= 7).count();
        let slots = (short_rows * 4).max(8).next_power_of_two();
        let mut index = ExtensionIndex {
            short: vec![0; slots].into_boxed_slice(),
            shift: 64 - slots.trailing_zeros(),
            long: Vec::new(),
        };
        for (ext, allowed) in rows {
            match pack(ext.as_bytes()) {
                Some(key) => {
                    let mut i = index.slot(key);
                    while index.short[i] != 0 {
                        i = (i + 1) & (slots - 1);
                    }
                    index.short[i] = key | if *allowed { ALLOWED } else { 0 };
                }
                None => index
                    .long
                    .push((ext.to_ascii_lowercase().into_bytes().into(), *allowed)),
            }
        }
        index.long.sort_by(|a, b| a.0.cmp(&b.0));
        index
    }

    /// The first slot to probe for `key`: the top bits of a multiplicative hash.
    #[inline]
    fn slot(&self, key: u64) -> usize {
        // The product's top bits, as many as index the slots: they fit in `usize`.
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The `allowed` flag of the row for the extension made of the last `ext` bytes
    /// of `path` (ASCII case ignored; `.` when `ext` is 0), if there is one.
    #[inline(always)]
    pub(crate) fn get(&self, path: &[u8], ext: usize) -> Option<bool> {
        if let Some(key) = pack_suffix(path, ext) {
            let mask = self.short.len() - 1;
            let mut i = self.slot(key);
            loop {
                let slot = *self.short.get(i)?;
                if slot == 0 {
                    return None;
                }
                if slot & !ALLOWED == key {
                    return Some(slot & ALLOWED != 0);
                }
                i = (i + 1) & mask;
            }
        }
        self.get_long(path, ext)
    }

    /// [`get`](Self::get) for an extension of eight bytes or more.
    #[inline(never)]
    fn get_long(&self, path: &[u8], ext: usize) -> Option<bool> {
        let ext = path.get(path.len().checked_sub(ext)?..)?;
        let folded = ext.iter().map(u8::to_ascii_lowercase);
        let i = self
            .long
            .binary_search_by(|(key, _)| key.iter().copied().cmp(folded.clone()))
            .ok()?;
        Some(self.long[i].1)
    }
}

/// Up to seven bytes, ASCII-lowercased, with their length in the top byte; `None`
/// for a longer `ext`.
pub(crate) fn pack(ext: &[u8]) -> Option<u64> {
    pack_suffix(ext, ext.len())
}

/// [`pack`] of the last `n` bytes of `path`, `.` when `n` is 0; `None` when `n` is
/// above 7 or `path` shorter than `n`.
#[inline(always)]
fn pack_suffix(path: &[u8], n: usize) -> Option<u64> {
    if n == 0 {
        return Some(1 << 56 | u64::from(b'.'));
    }
    if n > 7 || n > path.len() {
        return None;
    }
    let bytes = match path.len().checked_sub(8).and_then(|at| path.get(at..)) {
        // The last eight bytes at once, the extension's shifted down to the low end.
        Some(last) => u64::from_le_bytes(last.try_into().unwrap_or_default()) >> (8 * (8 - n)),
        // A short path: byte by byte (no copy of a variable length).
        None => path[path.len() - n..]
            .iter()
            .rev()
            .fold(0u64, |key, &b| (key << 8) | u64::from(b)),
    };
    // All the letters lowercased at once.
    Some(lowercase(bytes) | (n as u64) << 56)
}

/// Each byte of `word` ASCII-lowercased, as [`u8::to_ascii_lowercase`] does: `A` to
/// `Z` gain 0x20, every other byte (those above 0x7F included) stays.
#[inline(always)]
pub(crate) fn lowercase(word: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const LOW7: u64 = ONES * 0x7f;
    const HIGH: u64 = ONES * 0x80;
    // Per byte, on its low seven bits `x`: `x + 0x3f` reaches the top bit when
    // `x >= 0x41` ('A'), `x + 0x25` when `x >= 0x5B` (past 'Z'); no sum carries
    // into the next byte (0x7f + 0x3f < 0x100).
    let x = word & LOW7;
    let upper = (x + ONES * 0x3f) & !(x + ONES * 0x25) & !word & HIGH;
    word | upper >> 2
}

/// Which (length, first letter) pairs the hidden segments have, so that most
/// segments of a path need no comparison: a bit per first byte, folded as
/// `(byte | 0x20) & 31` (the same for a letter's two cases), per length modulo 64
/// (a segment of 70 bytes shares the row of 6: a filter may let through what then
/// fails the comparison, never the other way).
#[derive(Debug, Clone)]
pub(crate) struct HiddenFilter([u32; 64]);

impl HiddenFilter {
    fn new(segments: &[String]) -> Self {
        let mut rows = [0u32; 64];
        for seg in segments {
            if let Some(&first) = seg.as_bytes().first() {
                rows[seg.len() % 64] |= 1 << ((first | 0x20) & 31);
            }
        }
        Self(rows)
    }

    /// Whether some hidden segment may have `len` bytes.
    #[inline]
    pub(crate) fn has_length(&self, len: usize) -> bool {
        self.0[len % 64] != 0
    }

    /// Whether a hidden segment may equal `seg` (ASCII case ignored): false means
    /// none does.
    #[inline]
    pub(crate) fn may_match(&self, seg: &[u8]) -> bool {
        let row = self.0[seg.len() % 64];
        row != 0
            && seg
                .first()
                .is_some_and(|&b| row & 1 << ((b | 0x20) & 31) != 0)
    }
}

fn set_row(rows: &mut Vec<(String, bool)>, key: String, allowed: bool, ignore_case: bool) {
    let same = |k: &String| {
        if ignore_case {
            k.eq_ignore_ascii_case(&key)
        } else {
            *k == key
        }
    };
    if let Some(row) = rows.iter_mut().find(|(k, _)| same(k)) {
        row.1 = allowed;
    } else {
        rows.push((key, allowed));
    }
}

/// A `<verbs>` entry: one HTTP token.
pub(crate) fn check_verb(verb: &str) -> Result<Method, ConfigError> {
    Method::from_bytes(verb.as_bytes())
        .ok()
        .filter(|_| !verb.is_empty())
        .ok_or_else(|| {
            ConfigError::new(
                "verbs/add@verb",
                verb,
                "a verb is one HTTP token: no spaces or separators",
            )
        })
}

/// A `<hiddenSegments>` entry: one non-empty path segment.
pub(crate) fn check_hidden_segment(seg: &str) -> Result<(), ConfigError> {
    if seg.is_empty() || seg.contains(['/', '\\']) {
        return Err(ConfigError::new(
            "hiddenSegments/add@segment",
            seg,
            "a hidden segment is one non-empty path segment without `/` or `\\`",
        ));
    }
    Ok(())
}

/// An `<alwaysAllowedUrls>` entry: a path starting with `/`.
pub(crate) fn check_always_allowed_url(url: &str) -> Result<(), ConfigError> {
    if !url.starts_with('/') {
        return Err(ConfigError::new(
            "alwaysAllowedUrls/add@url",
            url,
            "an always-allowed URL is a path starting with `/`",
        ));
    }
    Ok(())
}

/// A `<filteringRule>` name: not empty.
pub(crate) fn check_rule_name(name: &str) -> Result<(), ConfigError> {
    if name.is_empty() {
        return Err(ConfigError::new(
            "filteringRules/filteringRule@name",
            "",
            "a filtering rule needs a name",
        ));
    }
    Ok(())
}

/// A `<filteringRule>` denies something: at least one deny string.
pub(crate) fn check_rule_has_deny_strings(name: &str, count: usize) -> Result<(), ConfigError> {
    if count == 0 {
        return Err(ConfigError::new(
            "filteringRule/denyStrings",
            name,
            "a filtering rule needs at least one deny string",
        ));
    }
    Ok(())
}

/// A file extension: a leading `.`, no other `.`, no `/` or `\`.
pub(crate) fn check_extension(setting: &'static str, ext: &str) -> Result<(), ConfigError> {
    if !ext.starts_with('.') {
        return Err(ConfigError::new(
            setting,
            ext,
            "a file extension starts with `.` (`.` alone means no extension)",
        ));
    }
    if ext[1..].contains(['.', '/', '\\']) {
        return Err(ConfigError::new(
            setting,
            ext,
            "a file extension has one `.` and no `/` or `\\`",
        ));
    }
    Ok(())
}

/// A sequence or deny string: not empty.
pub(crate) fn non_empty(setting: &'static str, s: &str) -> Result<(), ConfigError> {
    if s.is_empty() {
        Err(ConfigError::new(setting, s, "must not be empty"))
    } else {
        Ok(())
    }
}

/// A header name of `<headerLimits>` or a rule's `<scanHeaders>`.
pub(crate) fn header_name(setting: &'static str, name: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ConfigError::new(setting, name, "not a valid HTTP header name"))
}

/// A validated rule of `<filteringRules>`.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) name: String,
    pub(crate) scan_url: bool,
    pub(crate) scan_query_string: bool,
    pub(crate) scan_headers: Vec<HeaderName>,
    pub(crate) applies_to: Vec<String>,
    pub(crate) deny_strings: Vec<String>,
}

/// The validated configuration a [`RequestFilteringLayer`] runs with. Read it back
/// with [`RequestFilteringLayer::config`].
#[derive(Debug)]
pub struct Config {
    /// No always-allowed URLs, URL sequences, segment limit, query-string sequences
    /// or filtering rules (IIS's defaults): a path without `%` needs only the
    /// escaping, high-bit, hidden-segment and extension rules.
    pub(crate) plain: bool,
    pub(crate) max_allowed_content_length: u64,
    pub(crate) max_url: u32,
    pub(crate) max_query_string: u32,
    pub(crate) max_url_segments: Option<u32>,
    pub(crate) allow_double_escaping: bool,
    pub(crate) allow_high_bit_characters: bool,
    pub(crate) unescape_query_string: bool,
    pub(crate) verbs_allow_unlisted: bool,
    pub(crate) verbs: Vec<(Method, bool)>,
    pub(crate) file_extensions_allow_unlisted: bool,
    pub(crate) file_extensions: Vec<(String, bool)>,
    /// `file_extensions`, for a lookup per request.
    pub(crate) extension_index: ExtensionIndex,
    pub(crate) hidden_segments: Vec<String>,
    /// The lengths and first letters of `hidden_segments`: most segments need no
    /// comparison.
    pub(crate) hidden_filter: HiddenFilter,
    pub(crate) deny_url_sequences: Vec<String>,
    pub(crate) deny_query_string_sequences: Vec<String>,
    pub(crate) always_allowed_urls: Vec<String>,
    pub(crate) always_allowed_query_strings: Vec<String>,
    pub(crate) header_limits: Vec<(HeaderName, u32)>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) limit_codes: LimitCodes,
}

impl Config {
    /// `maxAllowedContentLength`, in bytes.
    #[must_use]
    pub fn max_allowed_content_length(&self) -> u64 {
        self.max_allowed_content_length
    }

    /// `maxUrl`, in bytes.
    #[must_use]
    pub fn max_url(&self) -> u32 {
        self.max_url
    }

    /// `maxQueryString`, in bytes.
    #[must_use]
    pub fn max_query_string(&self) -> u32 {
        self.max_query_string
    }

    /// The URL segment limit (404.20), `None` when off.
    #[must_use]
    pub fn max_url_segments(&self) -> Option<u32> {
        self.max_url_segments
    }

    /// `allowDoubleEscaping`.
    #[must_use]
    pub fn allow_double_escaping(&self) -> bool {
        self.allow_double_escaping
    }

    /// `allowHighBitCharacters`.
    #[must_use]
    pub fn allow_high_bit_characters(&self) -> bool {
        self.allow_high_bit_characters
    }

    /// `unescapeQueryString`.
    #[must_use]
    pub fn unescape_query_string(&self) -> bool {
        self.unescape_query_string
    }

    /// `verbs@allowUnlisted`.
    #[must_use]
    pub fn verbs_allow_unlisted(&self) -> bool {
        self.verbs_allow_unlisted
    }

    /// The `<verbs>` rows: verb and `allowed`.
    pub fn verbs(&self) -> impl Iterator<Item = (&Method, bool)> {
        self.verbs.iter().map(|(m, a)| (m, *a))
    }

    /// `fileExtensions@allowUnlisted`.
    #[must_use]
    pub fn file_extensions_allow_unlisted(&self) -> bool {
        self.file_extensions_allow_unlisted
    }

    /// The `<fileExtensions>` rows: extension and `allowed`.
    pub fn file_extensions(&self) -> impl Iterator<Item = (&str, bool)> {
        self.file_extensions.iter().map(|(e, a)| (e.as_str(), *a))
    }

    /// The `<hiddenSegments>`.
    pub fn hidden_segments(&self) -> impl Iterator<Item = &str> {
        self.hidden_segments.iter().map(String::as_str)
    }

    /// The `<denyUrlSequences>`.
    pub fn deny_url_sequences(&self) -> impl Iterator<Item = &str> {
        self.deny_url_sequences.iter().map(String::as_str)
    }

    /// The `<denyQueryStringSequences>`.
    pub fn deny_query_string_sequences(&self) -> impl Iterator<Item = &str> {
        self.deny_query_string_sequences.iter().map(String::as_str)
    }

    /// The `<alwaysAllowedUrls>`.
    pub fn always_allowed_urls(&self) -> impl Iterator<Item = &str> {
        self.always_allowed_urls.iter().map(String::as_str)
    }

    /// The `<alwaysAllowedQueryStrings>`.
    pub fn always_allowed_query_strings(&self) -> impl Iterator<Item = &str> {
        self.always_allowed_query_strings.iter().map(String::as_str)
    }

    /// The `<headerLimits>`: header and `sizeLimit`.
    pub fn header_limits(&self) -> impl Iterator<Item = (&HeaderName, u32)> {
        self.header_limits.iter().map(|(h, l)| (h, *l))
    }

    /// The names of the `<filteringRules>`.
    pub fn filtering_rules(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// Which codes the size limits answer with.
    #[must_use]
    pub fn limit_codes(&self) -> LimitCodes {
        self.limit_codes
    }
}
