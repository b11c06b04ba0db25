//! [`MimeMap`]: IIS's `<staticContent>` MIME map.

use std::collections::HashMap;
use std::fmt;

/// IIS 10's default `<staticContent>` MIME map: the 378 `<mimeMap>` entries of the
/// `applicationHost.config` that IIS 10 (IIS Express 10, as Visual Studio 2022
/// generates it in `.vs/<project>/config/applicationhost.config`) ships, in its
/// order and with its spelling (`.IVF`; `.woff` as `font/x-woff`; `.map` as
/// `text/plain`; `.csv` as `application/octet-stream`).
///
/// The two entries with two dots (`.dll.config`, `.exe.config`) are kept as data;
/// the static file handler looks a file up by its last extension, and request
/// filtering denies `.config` first anyway. IIS 10 has no entry for `.mjs`,
/// `.webp`, `.avif` or `.webmanifest`: sites add them in their `web.config` (see
/// [`MODERN_MIME_TYPES`] and [`MimeMap::with_modern_types`]).
pub const IIS_DEFAULT_MIME_TYPES: &[(&str, &str)] = &[
    (".323", "text/h323"),
    (".3g2", "video/3gpp2"),
    (".3gp2", "video/3gpp2"),
    (".3gp", "video/3gpp"),
    (".3gpp", "video/3gpp"),
    (".aac", "audio/aac"),
    (".aaf", "application/octet-stream"),
    (".aca", "application/octet-stream"),
    (".accdb", "application/msaccess"),
    (".accde", "application/msaccess"),
    (".accdt", "application/msaccess"),
    (".acx", "application/internet-property-stream"),
    (".adt", "audio/vnd.dlna.adts"),
    (".adts", "audio/vnd.dlna.adts"),
    (".afm", "application/octet-stream"),
    (".ai", "application/postscript"),
    (".aif", "audio/x-aiff"),
    (".aifc", "audio/aiff"),
    (".aiff", "audio/aiff"),
    (".appcache", "text/cache-manifest"),
    (".application", "application/x-ms-application"),
    (".art", "image/x-jg"),
    (".asd", "application/octet-stream"),
    (".asf", "video/x-ms-asf"),
    (".asi", "application/octet-stream"),
    (".asm", "text/plain"),
    (".asr", "video/x-ms-asf"),
    (".asx", "video/x-ms-asf"),
    (".atom", "application/atom+xml"),
    (".au", "audio/basic"),
    (".avi", "video/avi"),
    (".axs", "application/olescript"),
    (".bas", "text/plain"),
    (".bcpio", "application/x-bcpio"),
    (".bin", "application/octet-stream"),
    (".bmp", "image/bmp"),
    (".c", "text/plain"),
    (".cab", "application/vnd.ms-cab-compressed"),
    (".calx", "application/vnd.ms-office.calx"),
    (".cat", "application/vnd.ms-pki.seccat"),
    (".cdf", "application/x-cdf"),
    (".chm", "application/octet-stream"),
    (".class", "application/x-java-applet"),
    (".clp", "application/x-msclip"),
    (".cmx", "image/x-cmx"),
    (".cnf", "text/plain"),
    (".cod", "image/cis-cod"),
    (".cpio", "application/x-cpio"),
    (".cpp", "text/plain"),
    (".crd", "application/x-mscardfile"),
    (".crl", "application/pkix-crl"),
    (".crt", "application/x-x509-ca-cert"),
    (".csh", "application/x-csh"),
    (".css", "text/css"),
    (".csv", "application/octet-stream"),
    (".cur", "application/octet-stream"),
    (".dcr", "application/x-director"),
    (".deploy", "application/octet-stream"),
    (".der", "application/x-x509-ca-cert"),
    (".dib", "image/bmp"),
    (".dir", "application/x-director"),
    (".disco", "text/xml"),
    (".dll", "application/x-msdownload"),
    (".dll.config", "text/xml"),
    (".dlm", "text/dlm"),
    (".doc", "application/msword"),
    (".docm", "application/vnd.ms-word.document.macroEnabled.12"),
    (
        ".docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (".dot", "application/msword"),
    (".dotm", "application/vnd.ms-word.template.macroEnabled.12"),
    (
        ".dotx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    ),
    (".dsp", "application/octet-stream"),
    (".dtd", "text/xml"),
    (".dvi", "application/x-dvi"),
    (".dvr-ms", "video/x-ms-dvr"),
    (".dwf", "drawing/x-dwf"),
    (".dwp", "application/octet-stream"),
    (".dxr", "application/x-director"),
    (".eml", "message/rfc822"),
    (".emz", "application/octet-stream"),
    (".eot", "application/vnd.ms-fontobject"),
    (".eps", "application/postscript"),
    (".esd", "application/vnd.ms-cab-compressed"),
    (".etx", "text/x-setext"),
    (".evy", "application/envoy"),
    (".exe", "application/octet-stream"),
    (".exe.config", "text/xml"),
    (".fdf", "application/vnd.fdf"),
    (".fif", "application/fractals"),
    (".fla", "application/octet-stream"),
    (".flr", "x-world/x-vrml"),
    (".flv", "video/x-flv"),
    (".gif", "image/gif"),
    (".glb", "model/gltf-binary"),
    (".gtar", "application/x-gtar"),
    (".gz", "application/x-gzip"),
    (".h", "text/plain"),
    (".hdf", "application/x-hdf"),
    (".hdml", "text/x-hdml"),
    (".hhc", "application/x-oleobject"),
    (".hhk", "application/octet-stream"),
    (".hhp", "application/octet-stream"),
    (".hlp", "application/winhlp"),
    (".hqx", "application/mac-binhex40"),
    (".hta", "application/hta"),
    (".htc", "text/x-component"),
    (".htm", "text/html"),
    (".html", "text/html"),
    (".htt", "text/webviewhtml"),
    (".hxt", "text/html"),
    (".ico", "image/x-icon"),
    (".ics", "text/calendar"),
    (".ief", "image/ief"),
    (".iii", "application/x-iphone"),
    (".inf", "application/octet-stream"),
    (".ins", "application/x-internet-signup"),
    (".isp", "application/x-internet-signup"),
    (".IVF", "video/x-ivf"),
    (".jar", "application/java-archive"),
    (".java", "application/octet-stream"),
    (".jck", "application/liquidmotion"),
    (".jcz", "application/liquidmotion"),
    (".jfif", "image/pjpeg"),
    (".jpb", "application/octet-stream"),
    (".jpe", "image/jpeg"),
    (".jpeg", "image/jpeg"),
    (".jpg", "image/jpeg"),
    (".js", "application/javascript"),
    (".json", "application/json"),
    (".jsonld", "application/ld+json"),
    (".jsx", "text/jscript"),
    (".latex", "application/x-latex"),
    (".less", "text/css"),
    (".lit", "application/x-ms-reader"),
    (".lpk", "application/octet-stream"),
    (".lsf", "video/x-la-asf"),
    (".lsx", "video/x-la-asf"),
    (".lzh", "application/octet-stream"),
    (".m13", "application/x-msmediaview"),
    (".m14", "application/x-msmediaview"),
    (".m1v", "video/mpeg"),
    (".m2ts", "video/vnd.dlna.mpeg-tts"),
    (".m3u", "audio/x-mpegurl"),
    (".m4a", "audio/mp4"),
    (".m4v", "video/mp4"),
    (".man", "application/x-troff-man"),
    (".manifest", "application/x-ms-manifest"),
    (".map", "text/plain"),
    (".mdb", "application/x-msaccess"),
    (".mdp", "application/octet-stream"),
    (".me", "application/x-troff-me"),
    (".mht", "message/rfc822"),
    (".mhtml", "message/rfc822"),
    (".mid", "audio/mid"),
    (".midi", "audio/mid"),
    (".mix", "application/octet-stream"),
    (".mmf", "application/x-smaf"),
    (".mno", "text/xml"),
    (".mny", "application/x-msmoney"),
    (".mov", "video/quicktime"),
    (".movie", "video/x-sgi-movie"),
    (".mp2", "video/mpeg"),
    (".mp3", "audio/mpeg"),
    (".mp4", "video/mp4"),
    (".mp4v", "video/mp4"),
    (".mpa", "video/mpeg"),
    (".mpe", "video/mpeg"),
    (".mpeg", "video/mpeg"),
    (".mpg", "video/mpeg"),
    (".mpp", "application/vnd.ms-project"),
    (".mpv2", "video/mpeg"),
    (".ms", "application/x-troff-ms"),
    (".msi", "application/octet-stream"),
    (".mso", "application/octet-stream"),
    (".mvb", "application/x-msmediaview"),
    (".mvc", "application/x-miva-compiled"),
    (".nc", "application/x-netcdf"),
    (".nsc", "video/x-ms-asf"),
    (".nws", "message/rfc822"),
    (".ocx", "application/octet-stream"),
    (".oda", "application/oda"),
    (".odc", "text/x-ms-odc"),
    (".ods", "application/oleobject"),
    (".oga", "audio/ogg"),
    (".ogg", "video/ogg"),
    (".ogv", "video/ogg"),
    (".one", "application/onenote"),
    (".onea", "application/onenote"),
    (".onetoc", "application/onenote"),
    (".onetoc2", "application/onenote"),
    (".onetmp", "application/onenote"),
    (".onepkg", "application/onenote"),
    (".osdx", "application/opensearchdescription+xml"),
    (".otf", "font/otf"),
    (".p10", "application/pkcs10"),
    (".p12", "application/x-pkcs12"),
    (".p7b", "application/x-pkcs7-certificates"),
    (".p7c", "application/pkcs7-mime"),
    (".p7m", "application/pkcs7-mime"),
    (".p7r", "application/x-pkcs7-certreqresp"),
    (".p7s", "application/pkcs7-signature"),
    (".pbm", "image/x-portable-bitmap"),
    (".pcx", "application/octet-stream"),
    (".pcz", "application/octet-stream"),
    (".pdf", "application/pdf"),
    (".pfb", "application/octet-stream"),
    (".pfm", "application/octet-stream"),
    (".pfx", "application/x-pkcs12"),
    (".pgm", "image/x-portable-graymap"),
    (".pko", "application/vnd.ms-pki.pko"),
    (".pma", "application/x-perfmon"),
    (".pmc", "application/x-perfmon"),
    (".pml", "application/x-perfmon"),
    (".pmr", "application/x-perfmon"),
    (".pmw", "application/x-perfmon"),
    (".png", "image/png"),
    (".pnm", "image/x-portable-anymap"),
    (".pnz", "image/png"),
    (".pot", "application/vnd.ms-powerpoint"),
    (
        ".potm",
        "application/vnd.ms-powerpoint.template.macroEnabled.12",
    ),
    (
        ".potx",
        "application/vnd.openxmlformats-officedocument.presentationml.template",
    ),
    (
        ".ppam",
        "application/vnd.ms-powerpoint.addin.macroEnabled.12",
    ),
    (".ppm", "image/x-portable-pixmap"),
    (".pps", "application/vnd.ms-powerpoint"),
    (
        ".ppsm",
        "application/vnd.ms-powerpoint.slideshow.macroEnabled.12",
    ),
    (
        ".ppsx",
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
    ),
    (".ppt", "application/vnd.ms-powerpoint"),
    (
        ".pptm",
        "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
    ),
    (
        ".pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    (".prf", "application/pics-rules"),
    (".prm", "application/octet-stream"),
    (".prx", "application/octet-stream"),
    (".ps", "application/postscript"),
    (".psd", "application/octet-stream"),
    (".psm", "application/octet-stream"),
    (".psp", "application/octet-stream"),
    (".pub", "application/x-mspublisher"),
    (".qt", "video/quicktime"),
    (".qtl", "application/x-quicktimeplayer"),
    (".qxd", "application/octet-stream"),
    (".ra", "audio/x-pn-realaudio"),
    (".ram", "audio/x-pn-realaudio"),
    (".rar", "application/octet-stream"),
    (".ras", "image/x-cmu-raster"),
    (".rf", "image/vnd.rn-realflash"),
    (".rgb", "image/x-rgb"),
    (".rm", "application/vnd.rn-realmedia"),
    (".rmi", "audio/mid"),
    (".roff", "application/x-troff"),
    (".rpm", "audio/x-pn-realaudio-plugin"),
    (".rtf", "application/rtf"),
    (".rtx", "text/richtext"),
    (".scd", "application/x-msschedule"),
    (".sct", "text/scriptlet"),
    (".sea", "application/octet-stream"),
    (".setpay", "application/set-payment-initiation"),
    (".setreg", "application/set-registration-initiation"),
    (".sgml", "text/sgml"),
    (".sh", "application/x-sh"),
    (".shar", "application/x-shar"),
    (".sit", "application/x-stuffit"),
    (
        ".sldm",
        "application/vnd.ms-powerpoint.slide.macroEnabled.12",
    ),
    (
        ".sldx",
        "application/vnd.openxmlformats-officedocument.presentationml.slide",
    ),
    (".smd", "audio/x-smd"),
    (".smi", "application/octet-stream"),
    (".smx", "audio/x-smd"),
    (".smz", "audio/x-smd"),
    (".snd", "audio/basic"),
    (".snp", "application/octet-stream"),
    (".spc", "application/x-pkcs7-certificates"),
    (".spl", "application/futuresplash"),
    (".spx", "audio/ogg"),
    (".src", "application/x-wais-source"),
    (".ssm", "application/streamingmedia"),
    (".sst", "application/vnd.ms-pki.certstore"),
    (".stl", "application/vnd.ms-pki.stl"),
    (".sv4cpio", "application/x-sv4cpio"),
    (".sv4crc", "application/x-sv4crc"),
    (".svg", "image/svg+xml"),
    (".svgz", "image/svg+xml"),
    (".swf", "application/x-shockwave-flash"),
    (".t", "application/x-troff"),
    (".tar", "application/x-tar"),
    (".tcl", "application/x-tcl"),
    (".tex", "application/x-tex"),
    (".texi", "application/x-texinfo"),
    (".texinfo", "application/x-texinfo"),
    (".tgz", "application/x-compressed"),
    (".thmx", "application/vnd.ms-officetheme"),
    (".thn", "application/octet-stream"),
    (".tif", "image/tiff"),
    (".tiff", "image/tiff"),
    (".toc", "application/octet-stream"),
    (".tr", "application/x-troff"),
    (".trm", "application/x-msterminal"),
    (".ts", "video/vnd.dlna.mpeg-tts"),
    (".tsv", "text/tab-separated-values"),
    (".ttf", "application/octet-stream"),
    (".tts", "video/vnd.dlna.mpeg-tts"),
    (".txt", "text/plain"),
    (".u32", "application/octet-stream"),
    (".uls", "text/iuls"),
    (".ustar", "application/x-ustar"),
    (".vbs", "text/vbscript"),
    (".vcf", "text/x-vcard"),
    (".vcs", "text/plain"),
    (".vdx", "application/vnd.ms-visio.viewer"),
    (".vml", "text/xml"),
    (".vsd", "application/vnd.visio"),
    (".vss", "application/vnd.visio"),
    (".vst", "application/vnd.visio"),
    (".vsto", "application/x-ms-vsto"),
    (".vsw", "application/vnd.visio"),
    (".vsx", "application/vnd.visio"),
    (".vtx", "application/vnd.visio"),
    (".wasm", "application/wasm"),
    (".wav", "audio/wav"),
    (".wax", "audio/x-ms-wax"),
    (".wbmp", "image/vnd.wap.wbmp"),
    (".wcm", "application/vnd.ms-works"),
    (".wdb", "application/vnd.ms-works"),
    (".webm", "video/webm"),
    (".wks", "application/vnd.ms-works"),
    (".wm", "video/x-ms-wm"),
    (".wma", "audio/x-ms-wma"),
    (".wmd", "application/x-ms-wmd"),
    (".wmf", "application/x-msmetafile"),
    (".wml", "text/vnd.wap.wml"),
    (".wmlc", "application/vnd.wap.wmlc"),
    (".wmls", "text/vnd.wap.wmlscript"),
    (".wmlsc", "application/vnd.wap.wmlscriptc"),
    (".wmp", "video/x-ms-wmp"),
    (".wmv", "video/x-ms-wmv"),
    (".wmx", "video/x-ms-wmx"),
    (".wmz", "application/x-ms-wmz"),
    (".woff", "font/x-woff"),
    (".woff2", "application/font-woff2"),
    (".wps", "application/vnd.ms-works"),
    (".wri", "application/x-mswrite"),
    (".wrl", "x-world/x-vrml"),
    (".wrz", "x-world/x-vrml"),
    (".wsdl", "text/xml"),
    (".wtv", "video/x-ms-wtv"),
    (".wvx", "video/x-ms-wvx"),
    (".x", "application/directx"),
    (".xaf", "x-world/x-vrml"),
    (".xaml", "application/xaml+xml"),
    (".xap", "application/x-silverlight-app"),
    (".xbap", "application/x-ms-xbap"),
    (".xbm", "image/x-xbitmap"),
    (".xdr", "text/plain"),
    (".xht", "application/xhtml+xml"),
    (".xhtml", "application/xhtml+xml"),
    (".xla", "application/vnd.ms-excel"),
    (".xlam", "application/vnd.ms-excel.addin.macroEnabled.12"),
    (".xlc", "application/vnd.ms-excel"),
    (".xlm", "application/vnd.ms-excel"),
    (".xls", "application/vnd.ms-excel"),
    (
        ".xlsb",
        "application/vnd.ms-excel.sheet.binary.macroEnabled.12",
    ),
    (".xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12"),
    (
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (".xlt", "application/vnd.ms-excel"),
    (".xltm", "application/vnd.ms-excel.template.macroEnabled.12"),
    (
        ".xltx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    ),
    (".xlw", "application/vnd.ms-excel"),
    (".xml", "text/xml"),
    (".xof", "x-world/x-vrml"),
    (".xpm", "image/x-xpixmap"),
    (".xps", "application/vnd.ms-xpsdocument"),
    (".xsd", "text/xml"),
    (".xsf", "text/xml"),
    (".xsl", "text/xml"),
    (".xslt", "text/xml"),
    (".xsn", "application/octet-stream"),
    (".xtp", "application/octet-stream"),
    (".xwd", "image/x-xwindowdump"),
    (".z", "application/x-compress"),
    (".zip", "application/x-zip-compressed"),
];

/// Types that IIS 10's default map lacks and that today's sites add in their
/// `web.config` (`<remove fileExtension>` then `<mimeMap>`): ES modules, WebP and
/// AVIF images, web app manifests. Used by [`MimeMap::with_modern_types`].
pub const MODERN_MIME_TYPES: &[(&str, &str)] = &[
    (".mjs", "text/javascript"),
    (".webp", "image/webp"),
    (".avif", "image/avif"),
    (".webmanifest", "application/manifest+json"),
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

    /// IIS 10's defaults, [`IIS_DEFAULT_MIME_TYPES`].
    #[must_use]
    pub fn iis_defaults() -> Self {
        Self {
            map: IIS_DEFAULT_MIME_TYPES
                .iter()
                .map(|(e, m)| (e.to_ascii_lowercase(), (*m).to_owned()))
                .collect(),
        }
    }

    /// Adds [`MODERN_MIME_TYPES`] where the map has no entry of its own, as a
    /// site's `web.config` would.
    ///
    /// ```
    /// use tower_iis::static_files::MimeMap;
    ///
    /// assert_eq!(MimeMap::iis_defaults().get(".mjs"), None); // 404.3 on IIS 10
    /// let map = MimeMap::iis_defaults().with_modern_types();
    /// assert_eq!(map.get(".mjs"), Some("text/javascript"));
    /// assert_eq!(map.get(".avif"), Some("image/avif"));
    /// ```
    #[must_use]
    pub fn with_modern_types(mut self) -> Self {
        for (e, m) in MODERN_MIME_TYPES {
            self.map
                .entry((*e).to_owned())
                .or_insert_with(|| (*m).to_owned());
        }
        self
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
    // IIS's own list has two keys with two dots; a web.config may name them again.
    IIS_DEFAULT_MIME_TYPES
        .iter()
        .any(|(e, _)| e.eq_ignore_ascii_case(ext))
        || ext == "."
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
