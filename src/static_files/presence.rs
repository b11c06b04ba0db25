//! Knowing that a path names nothing without asking the file system on every
//! request: an index of the content root kept fresh by a file watcher, or a
//! short-lived negative cache.
//!
//! Both only ever answer "certainly absent" or "ask the file system": a path they
//! report absent goes to the fallback (or 404.0) at once; anything else is looked
//! up and opened on disk as before, so a stale entry can never serve a file that is
//! gone, only route a request to the application (or 404.0) for the documented
//! delay.

use std::collections::hash_map::{DefaultHasher, Entry, RandomState};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

/// The default bound of the index: a content root with more entries (files,
/// folders and links, counted together) falls back to the negative cache.
pub const DEFAULT_INDEX_MAX_ENTRIES: usize = 100_000;
/// How long the negative cache trusts a "not there", by default.
pub const DEFAULT_CACHE_LIFETIME: Duration = Duration::from_secs(1);
/// How many paths the negative cache remembers at most, by default.
pub const DEFAULT_CACHE_MAX_ENTRIES: usize = 4_096;
/// The longest lifetime [`PathLookup::NegativeCache`] accepts.
pub const MAX_CACHE_LIFETIME: Duration = Duration::from_secs(60);
/// Paths longer than this (in bytes, once folded) are not cached.
/// How long after a folder appears it is walked again (see `on_event`).
const SETTLE: Duration = Duration::from_millis(25);
const MAX_CACHED_KEY: usize = 256;
/// Folders deeper than this under the root are not indexed: the file system is
/// asked for anything below them.
const MAX_DEPTH: usize = 64;
/// Shards of the negative cache (each behind its own lock).
const SHARDS: usize = 8;

/// How [`StaticFiles`](super::StaticFiles) tells that a request path names no file
/// or folder (and so goes to the fallback, or is answered 404.0) without a
/// file-system call per request.
///
/// Whatever is chosen, a path that may exist is still looked up and opened on disk
/// when it is served: these only decide "certainly nothing there".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathLookup {
    /// An in-memory index of the content root's names (files, folders, links;
    /// compared ignoring case), built when the service is built and kept fresh by
    /// a file watcher (inotify on Linux). A path the index does not hold goes to
    /// the application with no file-system call at all; a file created after
    /// start is seen as soon as the watcher reports it (a few milliseconds).
    ///
    /// A root holding more than `max_entries` entries, or one the watcher cannot
    /// follow (no watcher, the system's watch limit reached, events lost), falls
    /// back to [`NegativeCache`](Self::NegativeCache) with its defaults, with a
    /// warning. The default, with [`DEFAULT_INDEX_MAX_ENTRIES`].
    Index {
        /// The most entries the index holds.
        max_entries: usize,
    },
    /// Remembers, for `lifetime`, the paths (and the shortest missing folder of
    /// each: `/api` for `/api/items/42`) the file system reported missing, at
    /// most `max_entries` of them: requests for random paths cannot grow it. The
    /// first request for a path still asks the file system; a file created
    /// after start is seen within `lifetime`.
    NegativeCache {
        /// How long a "not there" is trusted (at most [`MAX_CACHE_LIFETIME`]).
        lifetime: Duration,
        /// The most paths remembered.
        max_entries: usize,
    },
    /// Asks the file system on every request.
    FileSystem,
}

impl Default for PathLookup {
    fn default() -> Self {
        Self::Index {
            max_entries: DEFAULT_INDEX_MAX_ENTRIES,
        }
    }
}

impl PathLookup {
    /// The negative cache with its defaults.
    #[must_use]
    pub const fn negative_cache() -> Self {
        Self::NegativeCache {
            lifetime: DEFAULT_CACHE_LIFETIME,
            max_entries: DEFAULT_CACHE_MAX_ENTRIES,
        }
    }

    /// Why this setting cannot be used, naming the bad value.
    pub(super) fn check(self) -> Result<(), String> {
        match self {
            Self::Index { max_entries: 0 } => {
                Err("PathLookup::Index max_entries 0: the index must hold at least one entry".into())
            }
            Self::NegativeCache { max_entries: 0, .. } => Err(
                "PathLookup::NegativeCache max_entries 0: use PathLookup::FileSystem for no cache"
                    .into(),
            ),
            Self::NegativeCache { lifetime, .. }
                if lifetime.is_zero() || lifetime > MAX_CACHE_LIFETIME =>
            {
                Err(format!(
                    "PathLookup::NegativeCache lifetime {lifetime:?}: between 1 ns and {MAX_CACHE_LIFETIME:?}"
                ))
            }
            _ => Ok(()),
        }
    }
}

/// A name folded for a case-insensitive comparison (Unicode upper case, as NTFS's
/// up-case table compares names).
pub(super) fn fold_case(name: &str) -> String {
    if name.is_ascii() {
        name.to_ascii_uppercase()
    } else {
        name.to_uppercase()
    }
}

/// Calls `f` with `seg` folded, without allocating for short ASCII names.
fn with_folded<R>(seg: &str, f: impl FnOnce(&str) -> R) -> R {
    const INLINE: usize = 64;
    if seg.len() <= INLINE && seg.is_ascii() {
        let mut buf = [0u8; INLINE];
        for (d, s) in buf.iter_mut().zip(seg.bytes()) {
            *d = s.to_ascii_uppercase();
        }
        f(std::str::from_utf8(&buf[..seg.len()]).unwrap_or_default())
    } else {
        f(&fold_case(seg))
    }
}

/// [`with_folded`] as bytes, for the index's keys: no UTF-8 check of the folded
/// copy (upper-casing ASCII leaves it ASCII).
fn with_folded_bytes<R>(seg: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    const INLINE: usize = 64;
    if seg.len() <= INLINE && seg.is_ascii() {
        let mut buf = [0u8; INLINE];
        for (d, s) in buf.iter_mut().zip(seg.bytes()) {
            *d = s.to_ascii_uppercase();
        }
        f(&buf[..seg.len()])
    } else {
        f(fold_case(seg).as_bytes())
    }
}

fn spelling_hash(name: &str) -> u64 {
    let mut h = DefaultHasher::new();
    name.hash(&mut h);
    h.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    /// A link, an unreadable folder, names that differ only in case but not in
    /// kind, a folder too deep: the file system is asked for it and anything
    /// below it.
    Opaque,
}

/// Names from the disk, not from requests: a fast hash without a random key.
/// Keyed by the folded name's bytes, so a lookup needs no UTF-8 check.
type Children = HashMap<Box<[u8]>, Node, rustc_hash::FxBuildHasher>;

#[derive(Debug)]
struct Node {
    kind: Kind,
    /// A hash of the name as spelled on disk (the key is folded).
    spelling: u64,
    /// Two names on disk fold to this one.
    collides: bool,
    children: Children,
}

impl Node {
    fn new(kind: Kind, name: &str) -> Self {
        Self {
            kind,
            spelling: spelling_hash(name),
            collides: false,
            children: Children::default(),
        }
    }

    /// This node and everything below it.
    fn count(&self) -> usize {
        1 + self.children.values().map(Node::count).sum::<usize>()
    }

    /// Adds `node` under `key`, merging names that fold alike.
    fn insert_child(&mut self, key: String, node: Node) {
        match self.children.entry(key.into_bytes().into_boxed_slice()) {
            Entry::Vacant(v) => {
                v.insert(node);
            }
            Entry::Occupied(mut o) => {
                let old = o.get_mut();
                if old.spelling == node.spelling && !old.collides {
                    *old = node;
                } else {
                    old.collides = true;
                    if old.kind != node.kind || old.kind == Kind::Dir {
                        // Two folders (or a folder and a file) one name apart in
                        // case: let the file system decide below them.
                        old.kind = Kind::Opaque;
                        old.children.clear();
                    }
                }
            }
        }
    }
}

/// Reads `dir` into a node, spending at most `budget` entries.
fn walk(dir: &Path, name: &str, depth: usize, budget: &mut usize) -> Result<Node, TooBig> {
    let mut node = Node::new(Kind::Dir, name);
    if depth >= MAX_DEPTH {
        node.kind = Kind::Opaque;
        return Ok(node);
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        node.kind = Kind::Opaque;
        return Ok(node);
    };
    for entry in entries {
        let Ok(entry) = entry else {
            node.kind = Kind::Opaque;
            node.children.clear();
            return Ok(node);
        };
        // A name that is not UTF-8 cannot be named by a request path.
        let Ok(child) = entry.file_name().into_string() else {
            continue;
        };
        *budget = budget.checked_sub(1).ok_or(TooBig)?;
        let child_node = match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&entry.path(), &child, depth + 1, budget)?,
            Ok(t) if t.is_file() => Node::new(Kind::File, &child),
            _ => Node::new(Kind::Opaque, &child),
        };
        node.insert_child(fold_case(&child), child_node);
    }
    Ok(node)
}

#[derive(Debug)]
struct TooBig;

enum IndexState {
    /// The root is being walked; the paths events named meanwhile.
    Building(Vec<PathBuf>),
    Ready {
        root: Node,
        entries: usize,
    },
    /// The index could not be kept: the negative cache answers.
    Off,
}

struct Index {
    root: PathBuf,
    max_entries: usize,
    state: RwLock<IndexState>,
}

impl Index {
    /// `Some(true)`: certainly absent; `Some(false)`: may exist; `None`: the index
    /// is not in use.
    fn absent<'a>(&self, segments: impl Iterator<Item = &'a str>) -> Option<bool> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let IndexState::Ready { root, .. } = &*state else {
            return None;
        };
        let mut node = root;
        for seg in segments {
            match node.kind {
                Kind::Opaque => return Some(false),
                // Nothing lies below a file.
                Kind::File => return Some(true),
                Kind::Dir => {}
            }
            match with_folded_bytes(seg, |k| node.children.get(k)) {
                Some(n) => node = n,
                None => return Some(true),
            }
        }
        Some(false)
    }

    fn turn_off(&self, why: &str) {
        tracing::warn!(
            target: "tower_iis::static_files",
            root = %self.root.display(),
            "{why}: paths that name nothing are remembered for a short time instead"
        );
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = IndexState::Off;
    }

    fn is_building(&self) -> bool {
        matches!(
            *self.state.read().unwrap_or_else(PoisonError::into_inner),
            IndexState::Building(_)
        )
    }

    /// Walks the whole root again.
    fn rebuild(&self) {
        let mut budget = self.max_entries;
        match walk(&self.root, "", 0, &mut budget) {
            Ok(root) => {
                let entries = root.count() - 1;
                let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                if !matches!(*state, IndexState::Off) {
                    *state = IndexState::Ready { root, entries };
                }
            }
            Err(TooBig) => self.turn_off(&format!(
                "the content root holds more than {} entries (PathLookup::Index max_entries)",
                self.max_entries
            )),
        }
    }

    /// Brings what the index holds for `path` up to date with the disk.
    fn refresh(&self, path: &Path) {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return;
        };
        let mut segs = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(s) => match s.to_str() {
                    Some(s) => segs.push(s),
                    None => return,
                },
                _ => return,
            }
        }
        {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            match &mut *state {
                IndexState::Building(pending) => {
                    pending.push(path.to_owned());
                    return;
                }
                IndexState::Off => return,
                IndexState::Ready { .. } => {}
            }
        }
        let Some((last, parents)) = segs.split_last() else {
            // The root itself changed (renamed, removed): start over.
            if self.root.is_dir() {
                self.rebuild();
            } else {
                self.turn_off("the content root went away");
            }
            return;
        };
        // Read the disk without holding the lock.
        let mut budget = self.max_entries;
        let new = match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Ok(m) if m.is_dir() => match walk(path, last, parents.len() + 1, &mut budget) {
                Ok(n) => Some(n),
                Err(TooBig) => {
                    self.turn_off("a folder too large for the index appeared");
                    return;
                }
            },
            Ok(m) if m.is_file() => Some(Node::new(Kind::File, last)),
            _ => Some(Node::new(Kind::Opaque, last)),
        };
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let IndexState::Ready { root, entries } = &mut *state else {
            return;
        };
        let mut node = root;
        for p in parents {
            if node.kind == Kind::Opaque {
                return;
            }
            let key = fold_case(p);
            if new.is_none() && !node.children.contains_key(key.as_bytes()) {
                return;
            }
            node.kind = Kind::Dir;
            node = node
                .children
                .entry(key.into_bytes().into_boxed_slice())
                .or_insert_with(|| {
                    *entries += 1;
                    Node::new(Kind::Dir, p)
                });
        }
        if node.kind == Kind::Opaque {
            return;
        }
        node.kind = Kind::Dir;
        let key = fold_case(last);
        match new {
            Some(n) => {
                let before = node.children.get(key.as_bytes()).map_or(0, Node::count);
                node.insert_child(key.clone(), n);
                let after = node.children.get(key.as_bytes()).map_or(0, Node::count);
                *entries = *entries + after - before;
            }
            None => {
                if let Some(old) = node.children.get_mut(key.as_bytes()) {
                    if old.collides {
                        // Another spelling may still be there: ask the disk.
                        *entries -= old.count() - 1;
                        old.kind = Kind::Opaque;
                        old.children.clear();
                    } else if old.spelling == spelling_hash(last) {
                        *entries -= old.count();
                        node.children.remove(key.as_bytes());
                    }
                }
            }
        }
        if *entries > self.max_entries {
            drop(state);
            self.turn_off(&format!(
                "the content root grew past {} entries (PathLookup::Index max_entries)",
                self.max_entries
            ));
        }
    }

    fn on_event(&self, res: notify::Result<notify::Event>) {
        use notify::event::{EventKind, ModifyKind};
        let event = match res {
            Ok(e) => e,
            Err(e) => {
                self.turn_off(&format!("the file watcher failed ({e})"));
                return;
            }
        };
        if event.need_rescan() {
            if self.is_building() {
                self.state
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pending_rescan();
            } else {
                self.rebuild();
            }
            return;
        }
        match event.kind {
            EventKind::Access(_)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Metadata(_)) => {}
            // Something created in a folder that is no longer where the watcher
            // thinks: the folder was renamed and its watch still carries the old
            // name, so the event's path is stale. Only a walk sees it.
            EventKind::Create(_)
                if event
                    .paths
                    .iter()
                    .any(|p| p.parent().is_some_and(|d| !d.is_dir())) =>
            {
                self.rebuild();
            }
            kind => {
                for p in &event.paths {
                    self.refresh(p);
                }
                // A folder that appeared (created, or renamed into place) is
                // watched from a moment after it appears: what was created in it
                // in between has no event. Walk it once more after that moment.
                let appeared = matches!(
                    kind,
                    EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_))
                );
                if appeared && event.paths.iter().any(|p| p.is_dir()) {
                    std::thread::sleep(SETTLE);
                    for p in event.paths.iter().filter(|p| p.is_dir()) {
                        self.refresh(p);
                    }
                }
            }
        }
    }
}

impl IndexState {
    /// While building: redo the whole walk once it is done.
    fn pending_rescan(&mut self) {
        if let Self::Building(pending) = self {
            pending.push(PathBuf::new());
        }
    }
}

/// Paths the file system reported missing, and when.
struct NegativeCache {
    lifetime: Duration,
    per_shard: usize,
    hasher: RandomState,
    shards: [Mutex<HashMap<Box<str>, Instant>>; SHARDS],
}

impl NegativeCache {
    fn new(lifetime: Duration, max_entries: usize) -> Self {
        Self {
            lifetime,
            per_shard: max_entries.div_ceil(SHARDS),
            hasher: RandomState::new(),
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<HashMap<Box<str>, Instant>> {
        #[allow(clippy::cast_possible_truncation)]
        let i = (self.hasher.hash_one(key) as usize) % SHARDS;
        &self.shards[i]
    }

    /// Whether `key` was found missing less than `lifetime` ago.
    fn fresh(&self, key: &str, now: &mut Option<Instant>) -> bool {
        let shard = self
            .shard(key)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match shard.get(key) {
            Some(at) => now.get_or_insert_with(Instant::now).duration_since(*at) < self.lifetime,
            None => false,
        }
    }

    fn insert(&self, key: &str) {
        if key.len() > MAX_CACHED_KEY {
            return;
        }
        let now = Instant::now();
        let mut shard = self
            .shard(key)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if shard.len() >= self.per_shard && !shard.contains_key(key) {
            shard.retain(|_, at| now.duration_since(*at) < self.lifetime);
            if shard.len() >= self.per_shard {
                // Full of fresh entries (random paths, say): make room.
                if let Some(k) = shard.keys().next().cloned() {
                    shard.remove(&k);
                }
            }
        }
        shard.insert(key.into(), now);
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

/// What a [`StaticFiles`](super::StaticFiles) knows about the content root's names.
pub(super) struct Presence {
    index: Option<Arc<Index>>,
    /// Kept to be dropped with the service, which stops watching.
    _watcher: Option<Mutex<notify::RecommendedWatcher>>,
    cache: Option<NegativeCache>,
    case_insensitive: bool,
}

impl fmt::Debug for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Presence")
            .field("in_use", &self.in_use())
            .finish_non_exhaustive()
    }
}

impl Presence {
    /// Sets up `lookup` over the canonical `root`; builds the index, when asked
    /// for, before returning.
    pub(super) fn new(lookup: PathLookup, root: &Path, case_insensitive: bool) -> Self {
        let (lifetime, cache_entries) = match lookup {
            PathLookup::FileSystem => {
                return Self {
                    index: None,
                    _watcher: None,
                    cache: None,
                    case_insensitive,
                }
            }
            PathLookup::NegativeCache {
                lifetime,
                max_entries,
            } => (lifetime, max_entries),
            PathLookup::Index { .. } => (DEFAULT_CACHE_LIFETIME, DEFAULT_CACHE_MAX_ENTRIES),
        };
        let cache = Some(NegativeCache::new(lifetime, cache_entries));
        let PathLookup::Index { max_entries } = lookup else {
            return Self {
                index: None,
                _watcher: None,
                cache,
                case_insensitive,
            };
        };
        let index = Arc::new(Index {
            root: root.to_owned(),
            max_entries,
            state: RwLock::new(IndexState::Building(Vec::new())),
        });
        let watcher = start_watcher(&index);
        if watcher.is_some() {
            index.rebuild_after_start();
        }
        Self {
            index: Some(index),
            _watcher: watcher.map(Mutex::new),
            cache,
            case_insensitive,
        }
    }

    /// What answers now.
    pub(super) fn in_use(&self) -> PathLookup {
        if let Some(index) = &self.index {
            if let IndexState::Ready { .. } =
                *index.state.read().unwrap_or_else(PoisonError::into_inner)
            {
                return PathLookup::Index {
                    max_entries: index.max_entries,
                };
            }
        }
        match &self.cache {
            Some(c) => PathLookup::NegativeCache {
                lifetime: c.lifetime,
                max_entries: c.per_shard * SHARDS,
            },
            None => PathLookup::FileSystem,
        }
    }

    /// Entries the index holds, or paths the cache remembers.
    pub(super) fn len(&self) -> usize {
        if let Some(index) = &self.index {
            if let IndexState::Ready { entries, .. } =
                *index.state.read().unwrap_or_else(PoisonError::into_inner)
            {
                return entries;
            }
        }
        self.cache.as_ref().map_or(0, NegativeCache::len)
    }

    /// Whether the decoded `segments` certainly name nothing on disk.
    pub(super) fn known_absent<'a, I>(&self, segments: I) -> bool
    where
        I: Iterator<Item = &'a str> + Clone,
    {
        if let Some(index) = &self.index {
            if let Some(absent) = index.absent(segments.clone()) {
                return absent;
            }
        }
        let Some(cache) = &self.cache else {
            return false;
        };
        let mut key = String::new();
        let mut now = None;
        for seg in segments {
            if !key.is_empty() {
                key.push('/');
            }
            self.push_key(&mut key, seg);
            if key.len() > MAX_CACHED_KEY {
                return false;
            }
            if cache.fresh(&key, &mut now) {
                return true;
            }
        }
        false
    }

    /// Whether a lookup that finds nothing should say where it stopped.
    pub(super) fn wants_missing_depth(&self) -> bool {
        self.cache.is_some()
    }

    /// The file system found nothing at `segments[..depth]`.
    pub(super) fn record_absent(&self, segments: &[String], depth: usize) {
        let Some(cache) = &self.cache else {
            return;
        };
        let mut key = String::new();
        for seg in segments.iter().take(depth.max(1)) {
            if !key.is_empty() {
                key.push('/');
            }
            self.push_key(&mut key, seg);
        }
        cache.insert(&key);
    }

    fn push_key(&self, key: &mut String, seg: &str) {
        if self.case_insensitive {
            with_folded(seg, |f| key.push_str(f));
        } else {
            key.push_str(seg);
        }
    }
}

impl Index {
    /// The first walk, once the watcher is started (so nothing changed meanwhile is
    /// missed), then the paths events named during the walk.
    fn rebuild_after_start(&self) {
        let mut budget = self.max_entries;
        let walked = walk(&self.root, "", 0, &mut budget);
        let Ok(root) = walked else {
            self.turn_off(&format!(
                "the content root holds more than {} entries (PathLookup::Index max_entries)",
                self.max_entries
            ));
            return;
        };
        let pending = {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            let pending = match std::mem::replace(&mut *state, IndexState::Off) {
                IndexState::Building(p) => p,
                // The watcher failed while walking.
                _ => return,
            };
            let entries = root.count() - 1;
            *state = IndexState::Ready { root, entries };
            pending
        };
        for p in pending {
            if p.as_os_str().is_empty() {
                self.rebuild();
            } else {
                self.refresh(&p);
            }
        }
    }
}

fn start_watcher(index: &Arc<Index>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let weak: Weak<Index> = Arc::downgrade(index);
    let handler = move |res: notify::Result<notify::Event>| {
        if let Some(index) = weak.upgrade() {
            index.on_event(res);
        }
    };
    let config = notify::Config::default().with_follow_symlinks(false);
    let started = notify::RecommendedWatcher::new(handler, config).and_then(|mut w| {
        w.watch(&index.root, notify::RecursiveMode::Recursive)
            .map(|()| w)
    });
    match started {
        Ok(w) => Some(w),
        Err(e) => {
            index.turn_off(&format!("cannot watch the content root ({e})"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_named() {
        let e = PathLookup::NegativeCache {
            lifetime: Duration::ZERO,
            max_entries: 10,
        }
        .check()
        .unwrap_err();
        assert!(e.contains("lifetime 0ns"), "{e}");
        let e = PathLookup::NegativeCache {
            lifetime: Duration::from_secs(61),
            max_entries: 10,
        }
        .check()
        .unwrap_err();
        assert!(e.contains("lifetime 61s"), "{e}");
        let e = PathLookup::Index { max_entries: 0 }.check().unwrap_err();
        assert!(e.contains("max_entries 0"), "{e}");
        assert!(PathLookup::default().check().is_ok());
        assert!(PathLookup::negative_cache().check().is_ok());
        assert!(PathLookup::FileSystem.check().is_ok());
    }

    #[test]
    fn the_cache_stays_bounded_under_random_paths() {
        let cache = NegativeCache::new(Duration::from_secs(60), 64);
        for i in 0..100_000u32 {
            cache.insert(&format!("RANDOM-{i:x}"));
        }
        assert!(cache.len() <= 64, "{} entries", cache.len());
        // A key too long to be worth keeping is not kept.
        cache.insert(&"X".repeat(MAX_CACHED_KEY + 1));
        assert!(cache.len() <= 64);
        let mut now = None;
        assert!(!cache.fresh(&"X".repeat(MAX_CACHED_KEY + 1), &mut now));
    }

    fn index_of(root: &Path) -> Index {
        let index = Index {
            root: root.to_owned(),
            max_entries: 1000,
            state: RwLock::new(IndexState::Ready {
                root: Node::new(Kind::Dir, ""),
                entries: 0,
            }),
        };
        index.rebuild();
        index
    }

    fn absent(index: &Index, path: &str) -> bool {
        index
            .absent(path.split('/').filter(|s| !s.is_empty()))
            .expect("the index is in use")
    }

    #[test]
    fn names_one_case_apart_are_left_to_the_file_system() {
        let root = std::env::temp_dir().join(format!("tower-iis-fold-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("Docs")).unwrap();
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(root.join("Docs/a.txt"), "a").unwrap();
        std::fs::write(root.join("docs/b.txt"), "b").unwrap();
        std::fs::write(root.join("Page.htm"), "1").unwrap();
        std::fs::write(root.join("page.htm"), "2").unwrap();
        let index = index_of(&root);
        // Two folders one case apart: anything below them may exist.
        assert!(!absent(&index, "/DOCS/a.txt"));
        assert!(!absent(&index, "/docs/anything"));
        assert!(!absent(&index, "/PAGE.HTM"));
        assert!(absent(&index, "/other"));
        // One spelling removed, the other still there: still not "absent".
        std::fs::remove_file(root.join("page.htm")).unwrap();
        index.refresh(&root.join("page.htm"));
        assert!(!absent(&index, "/page.htm"));
        // The same for a refresh of one folder's spelling.
        index.refresh(&root.join("docs"));
        assert!(!absent(&index, "/docs/a.txt"));
        // A plain name is removed with its last spelling.
        std::fs::write(root.join("solo.txt"), "s").unwrap();
        index.refresh(&root.join("solo.txt"));
        assert!(!absent(&index, "/SOLO.txt"));
        std::fs::remove_file(root.join("solo.txt")).unwrap();
        index.refresh(&root.join("solo.txt"));
        assert!(absent(&index, "/solo.txt"));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn folding_matches_fold_case() {
        for s in ["abc", "Site.CSS", "café", &"a".repeat(100), "ß"] {
            with_folded(s, |f| assert_eq!(f, fold_case(s)));
            with_folded_bytes(s, |f| assert_eq!(f, fold_case(s).as_bytes()));
        }
        // Every ASCII byte, and names on either side of the inline buffer's size.
        for b in 0..=0x7fu8 {
            for len in [1, 63, 64, 65] {
                let s = String::from(char::from(b)).repeat(len);
                with_folded_bytes(&s, |f| {
                    assert_eq!(f, fold_case(&s).as_bytes(), "{b:#x} x {len}")
                });
            }
        }
    }
}
