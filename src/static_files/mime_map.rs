//! [`MimeMap`]: IIS's `<staticContent>` MIME map.

use std::collections::HashMap;
use std::fmt;

/// The MIME types IIS 10 maps out of the box for the extensions people serve most
/// (IIS's `applicationHost.config` holds about 380; these are the common ones).
pub const IIS_DEFAULT_MIME_TYPES: &[(&str, &str)] = &[
    (".3gp", "video/3gpp"),
    (".7z", "application/x-7z-compressed"),
    (".aac", "audio/aac"),
    (".avi", "video/x-msvideo"),
    (".bmp", "image/bmp"),
    (".css", "text/css"),
    (".csv", "application/octet-stream"),
    (".doc", "application/msword"),
    (
        ".docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (".dtd", "text/xml"),
    (".eot", "application/vnd.ms-fontobject"),
    (".exe", "application/octet-stream"),
    (".flac", "audio/flac"),
    (".gif", "image/gif"),
    (".gz", "application/x-gzip"),
    (".htm", "text/html"),
    (".html", "text/html"),
    (".ico", "image/x-icon"),
    (".jpe", "image/jpeg"),
    (".jpeg", "image/jpeg"),
    (".jpg", "image/jpeg"),
    (".js", "application/javascript"),
    (".json", "application/json"),
    (".m4a", "audio/mp4"),
    (".m4v", "video/mp4"),
    (".manifest", "application/x-ms-manifest"),
    (".mid", "audio/mid"),
    (".mov", "video/quicktime"),
    (".mp3", "audio/mpeg"),
    (".mp4", "video/mp4"),
    (".mpeg", "video/mpeg"),
    (".mpg", "video/mpeg"),
    (".oga", "audio/ogg"),
    (".ogg", "video/ogg"),
    (".ogv", "video/ogg"),
    (".otf", "font/otf"),
    (".pdf", "application/pdf"),
    (".png", "image/png"),
    (".ppt", "application/vnd.ms-powerpoint"),
    (
        ".pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    (".rtf", "application/rtf"),
    (".svg", "image/svg+xml"),
    (".svgz", "image/svg+xml"),
    (".tar", "application/x-tar"),
    (".tif", "image/tiff"),
    (".tiff", "image/tiff"),
    (".ttf", "application/octet-stream"),
    (".txt", "text/plain"),
    (".wasm", "application/wasm"),
    (".wav", "audio/wav"),
    (".weba", "audio/webm"),
    (".webm", "video/webm"),
    (".webp", "image/webp"),
    (".woff", "application/font-woff"),
    (".woff2", "application/font-woff2"),
    (".xap", "application/x-silverlight-app"),
    (".xhtml", "application/xhtml+xml"),
    (".xls", "application/vnd.ms-excel"),
    (
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (".xml", "text/xml"),
    (".xsd", "text/xml"),
    (".xsl", "text/xml"),
    (".xslt", "text/xml"),
    (".zip", "application/x-zip-compressed"),
];

/// IIS's `<staticContent>` MIME map: which extensions the static file handler
/// serves, and with which `Content-Type`.
///
/// A file whose extension has no entry is answered `404.3`. Extensions are
/// compared ASCII case-insensitively and written with their dot (`.htm`). Two
/// special keys exist, as in IIS: `.` for files without an extension and `.*` for
/// every extension without an entry of its own.
///
/// ```
/// use tower_iis::static_files::MimeMap;
///
/// let mut map = MimeMap::iis_defaults();
/// assert_eq!(map.get(".HTM"), Some("text/html"));
/// assert_eq!(map.get(".xyz"), None); // 404.3
/// map.insert(".xyz", "application/x-demo").unwrap();
/// assert_eq!(map.mime_type_for("report.xyz"), Some("application/x-demo"));
/// map.remove(".htm");
/// assert_eq!(map.get(".htm"), None);
/// assert!(map.insert("xyz", "text/plain").is_err()); // the dot is required
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct MimeMap {
    map: HashMap<String, String>,
}

/// A MIME map entry [`MimeMap::insert`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimeMapError {
    extension: String,
    mime_type: String,
    reason: &'static str,
}

impl fmt::Display for MimeMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid mimeMap fileExtension={:?} mimeType={:?}: {}",
            self.extension, self.mime_type, self.reason
        )
    }
}

impl std::error::Error for MimeMapError {}

impl MimeMap {
    /// An empty map: every file is answered `404.3` (IIS's `<clear/>`).
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// The common IIS 10 defaults, [`IIS_DEFAULT_MIME_TYPES`].
    #[must_use]
    pub fn iis_defaults() -> Self {
        Self {
            map: IIS_DEFAULT_MIME_TYPES
                .iter()
                .map(|(e, m)| ((*e).to_owned(), (*m).to_owned()))
                .collect(),
        }
    }

    /// Adds or replaces the entry for `extension` (`.xyz`, `.` or `.*`).
    ///
    /// # Errors
    ///
    /// An extension without its leading dot, with a second dot, a `/` or a `\`; a
    /// MIME type that cannot be a `Content-Type` header value.
    pub fn insert(
        &mut self,
        extension: impl Into<String>,
        mime_type: impl Into<String>,
    ) -> Result<Option<String>, MimeMapError> {
        let extension = extension.into();
        let mime_type = mime_type.into();
        let err = |reason| MimeMapError {
            extension: extension.clone(),
            mime_type: mime_type.clone(),
            reason,
        };
        if !valid_extension(&extension) {
            return Err(err(
                "an extension starts with `.` and has no other `.`, `/` or `\\` (`.` alone: no extension, `.*`: any)",
            ));
        }
        if mime_type.is_empty()
            || http::HeaderValue::from_str(&mime_type).is_err()
            || mime_type.parse::<mime::Mime>().is_err()
            || !mime_type
                .split(';')
                .next()
                .and_then(|e| e.trim().split_once('/'))
                .is_some_and(|(t, sub)| !t.is_empty() && !sub.is_empty())
        {
            return Err(err("a MIME type looks like `type/subtype`"));
        }
        Ok(self.map.insert(extension.to_ascii_lowercase(), mime_type))
    }

    /// Removes the entry for `extension` (IIS's `<remove fileExtension>`); returns it.
    pub fn remove(&mut self, extension: &str) -> Option<String> {
        self.map.remove(&extension.to_ascii_lowercase())
    }

    /// Removes every entry (IIS's `<clear/>`).
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// The MIME type of an extension (`.htm`), exactly as listed: `.*` is not applied.
    #[must_use]
    pub fn get(&self, extension: &str) -> Option<&str> {
        self.map
            .get(&extension.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The MIME type the static file handler uses for a file name: its extension's
    /// entry, `.` for a name without an extension, else the `.*` entry.
    #[must_use]
    pub fn mime_type_for(&self, file_name: &str) -> Option<&str> {
        let ext = match file_name.rfind('.') {
            Some(i) if i > 0 || file_name.len() > 1 => &file_name[i..],
            _ => ".",
        };
        self.get(ext).or_else(|| self.get(".*"))
    }

    /// The entries, extension and MIME type, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(e, m)| (e.as_str(), m.as_str()))
    }

    /// How many entries there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the map is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl fmt::Debug for MimeMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut entries: Vec<_> = self.iter().collect();
        entries.sort_unstable();
        f.debug_map().entries(entries).finish()
    }
}

fn valid_extension(ext: &str) -> bool {
    ext == "."
        || ext == ".*"
        || (ext.len() > 1
            && ext.starts_with('.')
            && !ext[1..].contains(['.', '/', '\\', '*'])
            && !ext.bytes().any(|b| b.is_ascii_control() || b == b' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_rules() {
        let mut m = MimeMap::empty();
        assert_eq!(m.mime_type_for("README"), None);
        m.insert(".", "text/plain").unwrap();
        assert_eq!(m.mime_type_for("README"), Some("text/plain"));
        assert_eq!(m.mime_type_for("a.bin"), None);
        m.insert(".*", "application/octet-stream").unwrap();
        assert_eq!(m.mime_type_for("a.bin"), Some("application/octet-stream"));
        assert_eq!(m.mime_type_for(".hidden"), Some("application/octet-stream"));
        for bad in ["", "htm", ".a.b", "./x", ".a b", ".**"] {
            assert!(m.insert(bad, "text/plain").is_err(), "{bad}");
        }
        for bad in ["", "text", "text/", "/x", "te xt/plain", "a/b\n"] {
            assert!(m.insert(".x", bad).is_err(), "{bad:?}");
        }
        assert!(m.insert(".x", "text/plain; charset=utf-8").is_ok());
    }
}
