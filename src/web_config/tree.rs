//! [`SiteConfig`]: every web.config of a site, merged per path as IIS merges
//! them, with `<location>` and section locking.

use std::path::{Path, PathBuf};

use roxmltree::{Document, Node};

use super::error::{source_lines, ErrorInner, HRESULT_INVALID_DATA, HRESULT_LOCK_VIOLATION};
use super::parse::Parser;
use super::sections::{Found, Section};
use super::{ConfigWarning, WebConfig, WebConfigError};

/// IIS's Config Error text for a section locked at a parent level.
pub(super) const LOCK_MESSAGE: &str = "This configuration section cannot be used at this path. This happens when the section is locked at a parent level. Locking is either by default (overrideModeDefault=\"Deny\"), or set explicitly by a location tag with overrideMode=\"Deny\" or the legacy allowOverride=\"false\".";

/// How deep [`SiteConfigBuilder::scan`] walks below the root.
pub const MAX_SCAN_DEPTH: usize = 32;
/// How many folders [`SiteConfigBuilder::scan`] looks into at most.
pub const MAX_SCAN_FOLDERS: usize = 20_000;
/// How many web.config files [`SiteConfigBuilder::scan`] reads at most.
pub const MAX_SCAN_FILES: usize = 1_000;

/// One web.config: the folder it configures and its text (or why it has none).
struct Source {
    /// Relative to the site root, `/`-separated, no leading or trailing `/`.
    folder: String,
    file: PathBuf,
    text: Result<String, WebConfigError>,
}

/// Every web.config of a site, merged into one effective [`WebConfig`] per
/// configuration path (the root, each folder with a web.config, each
/// `<location path>`). See the [module docs](super#folders-and-location).
#[derive(Debug, Clone)]
pub struct SiteConfig {
    levels: Vec<Level>,
    table: PathTable,
}

/// A configuration path and its effective configuration.
#[cfg(feature = "site")]
pub(crate) type LevelConfig = (String, Result<WebConfig, WebConfigError>);

/// One configuration path and its effective configuration.
#[derive(Debug, Clone)]
struct Level {
    path: String,
    config: Result<WebConfig, WebConfigError>,
}

/// Builds a [`SiteConfig`]. See [`SiteConfig::builder`].
#[derive(Debug)]
#[must_use]
pub struct SiteConfigBuilder {
    root: PathBuf,
    sources: Vec<Source>,
    iis_default_locks: bool,
    scan: bool,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("folder", &self.folder)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl SiteConfig {
    /// A builder for the site whose content root is `root` (the base of the
    /// web.config paths and of relative `httpErrors` files).
    pub fn builder(root: impl Into<PathBuf>) -> SiteConfigBuilder {
        SiteConfigBuilder {
            root: root.into(),
            sources: Vec::new(),
            iis_default_locks: false,
            scan: false,
        }
    }

    /// Every web.config under `root`, merged
    /// ([`scan`](SiteConfigBuilder::scan)).
    #[must_use]
    pub fn load(root: impl Into<PathBuf>) -> Self {
        Self::builder(root).scan().build()
    }

    /// The effective configuration of a URL path (decoded, `/`-separated, as
    /// `/blog/admin/page.htm`): that of the deepest configuration path it is
    /// in, compared ignoring case on whole segments. The `Err` of a level whose
    /// web.config (or a parent's) is bad is IIS's 500.19 for it.
    pub fn config_for(&self, url_path: &str) -> &Result<WebConfig, WebConfigError> {
        let segments = url_path.split(['/', '\\']).filter(|s| !s.is_empty());
        &self.levels[self.table.deepest(segments)].config
    }

    /// The configuration paths, shallowest first (`""` is the site root), with
    /// their effective configuration.
    pub fn levels(&self) -> impl Iterator<Item = (&str, &Result<WebConfig, WebConfigError>)> {
        self.levels.iter().map(|l| (l.path.as_str(), &l.config))
    }

    /// The site root's configuration.
    pub fn root(&self) -> &Result<WebConfig, WebConfigError> {
        &self.levels[0].config
    }

    pub(super) fn into_root(self) -> Result<WebConfig, WebConfigError> {
        self.levels.into_iter().next().map_or_else(
            || unreachable!("the root level is always there"),
            |l| l.config,
        )
    }

    #[cfg(feature = "site")]
    pub(crate) fn into_parts(self) -> (Vec<LevelConfig>, PathTable) {
        (
            self.levels
                .into_iter()
                .map(|l| (l.path, l.config))
                .collect(),
            self.table,
        )
    }
}

impl SiteConfigBuilder {
    /// Locks what IIS's stock `applicationHost.config` locks
    /// (`overrideModeDefault="Deny"`): among the sections read here,
    /// `security/ipSecurity` and `security/dynamicIpSecurity` (and, where they
    /// are read, `security/access` and the authentication sections). A
    /// web.config that sets one is then answered with 500.19 `0x80070021`, as
    /// on a freshly installed server.
    ///
    /// Off by default: a site moved from a server whose administrator
    /// unlocked those sections (Feature Delegation, `appcmd unlock config`)
    /// relies on them in its web.config, and that unlock lives in the old
    /// server's applicationHost.config, which does not move with the site.
    pub fn iis_default_locks(mut self, enabled: bool) -> Self {
        self.iis_default_locks = enabled;
        self
    }

    /// Reads every `web.config` under the root when the site is built: a
    /// bounded walk ([`MAX_SCAN_DEPTH`] levels, [`MAX_SCAN_FOLDERS`] folders,
    /// [`MAX_SCAN_FILES`] files) that follows no symbolic link. A file that
    /// cannot be read is a 500.19 for its folder.
    pub fn scan(mut self) -> Self {
        self.scan = true;
        self
    }

    pub(super) fn source(
        mut self,
        folder: &str,
        file: PathBuf,
        text: Result<String, WebConfigError>,
    ) -> Self {
        self.sources.push(Source {
            folder: normalise_folder(folder),
            file,
            text,
        });
        self
    }

    /// The text of the web.config of `folder` (relative to the root,
    /// `/`-separated; `""` for the root's own).
    pub fn file(mut self, folder: &str, text: impl Into<String>) -> Self {
        let folder = normalise_folder(folder);
        let file = self.root.join(&folder).join("web.config");
        self.sources.push(Source {
            folder,
            file,
            text: Ok(text.into()),
        });
        self
    }

    /// A web.config read from disk for `folder` (see [`file`](Self::file)); a
    /// missing file is left out.
    pub fn load_file(mut self, folder: &str, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        if path.exists() {
            self.sources.push(Source {
                folder: normalise_folder(folder),
                file: path.to_path_buf(),
                text: super::read_text(path),
            });
        }
        self
    }

    /// Merges the files. Never fails: a bad file makes the levels at and
    /// below its folder an `Err`.
    #[must_use]
    pub fn build(mut self) -> SiteConfig {
        if self.scan {
            scan(&self.root, &mut self.sources);
        }
        merge(&self.root, &self.sources, self.iis_default_locks)
    }
}

fn normalise_folder(folder: &str) -> String {
    folder
        .split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Finds the web.config files under `root`, breadth first, without following links.
fn scan(root: &Path, sources: &mut Vec<Source>) {
    let mut queue = std::collections::VecDeque::from([(root.to_path_buf(), String::new(), 0)]);
    let mut folders = 0;
    let mut files = 0;
    while let Some((dir, rel, depth)) = queue.pop_front() {
        folders += 1;
        if folders > MAX_SCAN_FOLDERS {
            tracing::warn!(target: "tower_iis::web_config", root = %root.display(), "more than {MAX_SCAN_FOLDERS} folders: web.config files further down are not read");
            break;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            if kind.is_dir() {
                if depth < MAX_SCAN_DEPTH {
                    let child = if rel.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{rel}/{name}")
                    };
                    queue.push_back((entry.path(), child, depth + 1));
                }
            } else if kind.is_file() && name.eq_ignore_ascii_case("web.config") {
                files += 1;
                if files > MAX_SCAN_FILES {
                    tracing::warn!(target: "tower_iis::web_config", root = %root.display(), "more than {MAX_SCAN_FILES} web.config files: the rest are not read");
                    return;
                }
                // The site root's own file may have been given already.
                if sources.iter().any(|s| s.folder.eq_ignore_ascii_case(&rel)) {
                    continue;
                }
                let path = entry.path();
                sources.push(Source {
                    folder: rel.clone(),
                    text: super::read_text(&path),
                    file: path,
                });
            }
        }
    }
}

/// Whether a `<location>` locks or unlocks the sections it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OverrideMode {
    Allow,
    Deny,
}

/// The `<system.webServer>` of a file or of one of its `<location>` elements.
struct Contribution<'d, 'input> {
    source: usize,
    /// The depth of the file's folder.
    depth: usize,
    /// The configuration path it applies to, and its lower-cased segments.
    target: String,
    key: Vec<String>,
    mode: Option<OverrideMode>,
    /// The `<location>` element, when there is one.
    location: Option<Node<'d, 'input>>,
    sections: Result<Vec<Found<'d, 'input>>, WebConfigError>,
    warnings: Vec<ConfigWarning>,
}

fn segments_key(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn is_prefix(prefix: &[String], of: &[String]) -> bool {
    prefix.len() <= of.len() && prefix.iter().zip(of).all(|(a, b)| a == b)
}

fn merge(root: &Path, sources: &[Source], default_locks: bool) -> SiteConfig {
    // Parse every file once; the nodes below borrow these documents.
    let docs: Vec<Result<Document<'_>, WebConfigError>> = sources
        .iter()
        .map(|s| {
            let text = s.text.as_ref().map_err(Clone::clone)?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            Document::parse(text).map_err(|e| {
                let line = e.pos().row;
                WebConfigError::from(ErrorInner {
                    file: s.file.clone(),
                    line,
                    element: String::new(),
                    attribute: None,
                    message: "Configuration file is not well-formed XML".to_owned(),
                    detail: Some(e.to_string()),
                    hresult: HRESULT_INVALID_DATA,
                    source_lines: source_lines(text, line),
                })
            })
        })
        .collect();
    // A file whose whole is bad: every level at and below its folder fails.
    let mut bad: Vec<(Vec<String>, WebConfigError)> = Vec::new();
    let mut contributions = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let source = &sources[i];
        let folder_key = segments_key(&source.folder);
        match doc {
            Err(e) => bad.push((folder_key, e.clone())),
            Ok(doc) => match contributions_of(i, source, doc) {
                Ok(mut c) => contributions.append(&mut c),
                Err(e) => bad.push((folder_key, e)),
            },
        }
    }
    // The configuration paths: the root, every file's folder, every location.
    let mut paths: Vec<(Vec<String>, String)> = vec![(Vec::new(), String::new())];
    for s in sources {
        paths.push((segments_key(&s.folder), s.folder.clone()));
    }
    for c in &contributions {
        paths.push((c.key.clone(), c.target.clone()));
    }
    paths.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(&b.0)));
    paths.dedup_by(|a, b| a.0 == b.0);
    // Files first by depth, then a file's own level before its locations,
    // shallower locations first, then document order.
    let mut order: Vec<usize> = (0..contributions.len()).collect();
    order.sort_by_key(|&i| (contributions[i].depth, contributions[i].key.len(), i));
    let locks = Locks {
        contributions: &contributions,
        sources,
        default_locks,
    };
    let mut logged = vec![false; contributions.len()];
    let mut levels = Vec::with_capacity(paths.len());
    let mut table = PathTable::default();
    for (key, path) in paths {
        let config = if let Some((_, e)) = bad
            .iter()
            .filter(|(k, _)| is_prefix(k, &key))
            .min_by_key(|(k, _)| k.len())
        {
            Err(e.clone())
        } else {
            let applicable = order
                .iter()
                .copied()
                .filter(|&i| is_prefix(&contributions[i].key, &key));
            // The file of the level: the deepest web.config at or above it.
            let file = sources
                .iter()
                .filter(|s| is_prefix(&segments_key(&s.folder), &key))
                .max_by_key(|s| segments_key(&s.folder).len())
                .map_or_else(|| root.join("web.config"), |s| s.file.clone());
            level_config(
                file,
                sources,
                &docs,
                &contributions,
                &locks,
                applicable,
                &mut logged,
            )
        };
        table.insert(&key, levels.len());
        levels.push(Level { path, config });
    }
    SiteConfig { levels, table }
}

/// The configuration of one level: IIS's defaults, then every contribution
/// that applies to it, in order.
fn level_config(
    file: PathBuf,
    sources: &[Source],
    docs: &[Result<Document<'_>, WebConfigError>],
    contributions: &[Contribution<'_, '_>],
    locks: &Locks<'_, '_, '_>,
    applicable: impl Iterator<Item = usize>,
    logged: &mut [bool],
) -> Result<WebConfig, WebConfigError> {
    let mut config = WebConfig::defaults(file);
    for i in applicable {
        let c = &contributions[i];
        let source = &sources[c.source];
        let sections = c.sections.as_ref().map_err(Clone::clone)?;
        let (Ok(text), Ok(doc)) = (&source.text, &docs[c.source]) else {
            unreachable!("contributions come from files that parsed");
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut p = Parser {
            text,
            doc,
            file: &source.file,
            base: source
                .file
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            scope: c.target.clone(),
            warnings: c.warnings.clone(),
        };
        for (section, node) in sections {
            locks.check(&p, c, section, *node)?;
            (section.read)(&mut p, *node, &mut config)?;
        }
        if !logged[i] {
            logged[i] = true;
            for w in &p.warnings {
                tracing::warn!(target: "tower_iis::web_config", file = %source.file.display(), "{w}");
            }
        }
        config.warnings.append(&mut p.warnings);
    }
    Ok(config)
}

/// The `<system.webServer>` elements of one file, at its level and in its
/// `<location>` elements.
fn contributions_of<'d, 'input>(
    index: usize,
    source: &Source,
    doc: &'d Document<'input>,
) -> Result<Vec<Contribution<'d, 'input>>, WebConfigError> {
    let text = source.text.as_deref().unwrap_or_default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser {
        text,
        doc,
        file: &source.file,
        base: PathBuf::new(),
        scope: source.folder.clone(),
        warnings: Vec::new(),
    };
    let root = doc.root_element();
    if root.tag_name().name() != "configuration" {
        return Err(p.error(
            root,
            None,
            format!(
                "The root element must be <configuration>, not <{}>",
                root.tag_name().name()
            ),
        ));
    }
    let depth = segments_key(&source.folder).len();
    let mut out = Vec::new();
    let mut seen_web_server = false;
    for child in Parser::elements(root) {
        match child.tag_name().name() {
            "system.webServer" => {
                if seen_web_server {
                    return Err(p.error(
                        child,
                        None,
                        "There is a duplicate 'system.webServer' section defined".to_owned(),
                    ));
                }
                seen_web_server = true;
                let sections = p.sections(child);
                out.push(Contribution {
                    source: index,
                    depth,
                    target: source.folder.clone(),
                    key: segments_key(&source.folder),
                    mode: None,
                    location: None,
                    sections,
                    warnings: std::mem::take(&mut p.warnings),
                });
            }
            "location" => {
                if let Some(c) = location(&mut p, index, source, depth, child)? {
                    out.push(c);
                }
            }
            _ => p.warn(child, None),
        }
    }
    // Warnings about the file's own structure go with its first contribution.
    if let Some(first) = out.first_mut() {
        first.warnings.append(&mut p.warnings);
    } else {
        for w in &p.warnings {
            tracing::warn!(target: "tower_iis::web_config", file = %source.file.display(), "{w}");
        }
    }
    Ok(out)
}

/// `<location path overrideMode allowOverride inheritInChildApplications>`.
fn location<'d, 'input>(
    p: &mut Parser<'_, 'input>,
    index: usize,
    source: &Source,
    depth: usize,
    node: Node<'d, 'input>,
) -> Result<Option<Contribution<'d, 'input>>, WebConfigError> {
    p.attributes(
        node,
        &[
            "path",
            "overrideMode",
            "allowOverride",
            "inheritInChildApplications",
        ],
        &[],
    )?;
    let raw = node.attribute("path").unwrap_or("");
    let rel: Vec<&str> = raw
        .split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if rel.contains(&"..") || raw.contains(['*', '?', ':']) {
        return Err(p.invalid(
            node,
            "path",
            raw,
            "expected a path below this web.config's folder",
        ));
    }
    let mut target = source.folder.clone();
    for seg in rel {
        if !target.is_empty() {
            target.push('/');
        }
        target.push_str(seg);
    }
    let override_mode = p.enum_attr(
        node,
        "overrideMode",
        &[
            ("Allow", Some(OverrideMode::Allow)),
            ("Deny", Some(OverrideMode::Deny)),
            ("Inherit", None),
        ],
    )?;
    let allow_override = p.bool_attr(node, "allowOverride")?;
    if override_mode.is_some() && allow_override.is_some() {
        return Err(p
            .error(
                node,
                Some("allowOverride"),
                "The 'allowOverride' and 'overrideMode' attributes cannot both be specified"
                    .to_owned(),
            )
            .with_detail("use overrideMode alone"));
    }
    let mode = override_mode.flatten().or(allow_override.map(|allow| {
        if allow {
            OverrideMode::Allow
        } else {
            OverrideMode::Deny
        }
    }));
    p.bool_attr(node, "inheritInChildApplications")?;
    let mut web_server = None;
    for child in Parser::elements(node) {
        if child.tag_name().name() != "system.webServer" {
            p.warn(child, None);
            continue;
        }
        if web_server.is_some() {
            return Err(p.error(
                child,
                None,
                "There is a duplicate 'system.webServer' section defined".to_owned(),
            ));
        }
        web_server = Some(child);
    }
    let Some(web_server) = web_server else {
        return Ok(None);
    };
    let warnings_before = p.warnings.len();
    let sections = p.sections(web_server);
    let warnings = p.warnings.split_off(warnings_before);
    Ok(Some(Contribution {
        source: index,
        depth,
        key: segments_key(&target),
        target,
        mode,
        location: Some(node),
        sections,
        warnings,
    }))
}

/// The lock rules: applicationHost.config's defaults, and every `<location>`
/// with `overrideMode` or `allowOverride`.
struct Locks<'c, 'd, 'input> {
    contributions: &'c [Contribution<'d, 'input>],
    sources: &'c [Source],
    default_locks: bool,
}

impl Locks<'_, '_, '_> {
    /// Refuses `section` in `c` when a parent level locked it: 500.19
    /// `0x80070021` on the section's element in the child file.
    fn check(
        &self,
        p: &Parser<'_, '_>,
        c: &Contribution<'_, '_>,
        section: &Section,
        node: Node<'_, '_>,
    ) -> Result<(), WebConfigError> {
        let refuse = |why: String| {
            Err(p
                .error_at(
                    node.range().start,
                    node.tag_name().name(),
                    None,
                    LOCK_MESSAGE.to_owned(),
                    HRESULT_LOCK_VIOLATION,
                )
                .with_detail(why))
        };
        if self.default_locks && section.locked_by_default {
            return refuse(format!(
                "system.webServer/{} is locked by IIS's applicationHost.config (overrideModeDefault=\"Deny\"; see iis_default_locks)",
                section.path
            ));
        }
        // The most specific rule of a parent file for this section and path.
        let rule = self
            .contributions
            .iter()
            .enumerate()
            .filter(|(_, l)| l.mode.is_some() && l.depth < c.depth && is_prefix(&l.key, &c.key))
            .filter(|(_, l)| {
                l.sections
                    .as_ref()
                    .is_ok_and(|s| s.iter().any(|(s, _)| s.path == section.path))
            })
            .max_by_key(|(i, l)| (l.key.len(), l.depth, *i));
        match rule {
            Some((_, l)) if l.mode == Some(OverrideMode::Deny) => {
                let line = l
                    .location
                    .map_or(0, |n| line_of_node(&self.sources[l.source], n));
                refuse(format!(
                    "system.webServer/{} is locked by the <location path=\"{}\"> of {}, line {line}",
                    section.path,
                    l.location.and_then(|n| n.attribute("path")).unwrap_or(""),
                    self.sources[l.source].file.display()
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The 1-based line of `node` in `source`.
fn line_of_node(source: &Source, node: Node<'_, '_>) -> usize {
    let text = source.text.as_deref().unwrap_or_default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.get(..node.range().start)
        .map_or(0, |before| before.matches('\n').count() + 1)
}

/// The configuration paths as a tree of segments, for finding the deepest one a
/// URL is in without allocating.
#[derive(Debug, Clone, Default)]
pub(crate) struct PathTable {
    nodes: Vec<TableNode>,
}

#[derive(Debug, Clone, Default)]
struct TableNode {
    /// Lower-cased segment, node index.
    children: Vec<(String, usize)>,
    level: Option<usize>,
}

impl PathTable {
    fn insert(&mut self, key: &[String], level: usize) {
        if self.nodes.is_empty() {
            self.nodes.push(TableNode::default());
        }
        let mut at = 0;
        for seg in key {
            let next = self.nodes[at]
                .children
                .iter()
                .find(|(s, _)| s == seg)
                .map(|(_, n)| *n);
            at = if let Some(n) = next {
                n
            } else {
                self.nodes.push(TableNode::default());
                let n = self.nodes.len() - 1;
                self.nodes[at].children.push((seg.clone(), n));
                n
            };
        }
        self.nodes[at].level = Some(level);
    }

    /// Whether there is anything beside the root.
    #[cfg(feature = "site")]
    pub(crate) fn has_folders(&self) -> bool {
        self.nodes.len() > 1
    }

    /// The level of the deepest configuration path the segments are in (0: the
    /// root). Segments compare ignoring case; a `.` or `..` segment stops the
    /// walk where it is.
    pub(crate) fn deepest<'s>(&self, segments: impl Iterator<Item = &'s str>) -> usize {
        let mut at = 0;
        let mut level = 0;
        if self.nodes.is_empty() {
            return 0;
        }
        for seg in segments {
            if seg == "." || seg == ".." {
                return 0;
            }
            let Some((_, n)) = self.nodes[at]
                .children
                .iter()
                .find(|(s, _)| eq_ignore_case(s, seg))
            else {
                break;
            };
            at = *n;
            if let Some(l) = self.nodes[at].level {
                level = l;
            }
        }
        level
    }
}

/// `lower` (already lower-cased) against `seg`, ignoring case, without allocating.
fn eq_ignore_case(lower: &str, seg: &str) -> bool {
    if seg.is_ascii() {
        return lower.len() == seg.len()
            && lower
                .bytes()
                .zip(seg.bytes())
                .all(|(a, b)| a == b.to_ascii_lowercase());
    }
    lower.chars().eq(seg.chars().flat_map(char::to_lowercase))
}
