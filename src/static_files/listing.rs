//! The directory listing page (IIS's DirectoryListingModule, `directoryBrowse`).

use std::path::Path;
use std::time::SystemTime;

use askama::Template;

use super::path::encode_href;

#[derive(Template)]
#[template(path = "directory_listing.html")]
struct Listing<'a> {
    host: &'a str,
    path: &'a str,
    parent: Option<String>,
    entries: Vec<Entry>,
}

struct Entry {
    is_dir: bool,
    date: String,
    time: String,
    size: String,
    href: String,
    name: String,
}

/// IIS's `M/D/YYYY` and `h:mm AM` columns, in UTC.
fn date_time(modified: Option<SystemTime>) -> (String, String) {
    let Some(secs) = modified.and_then(|m| {
        let secs = m.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
        i64::try_from(secs).ok()
    }) else {
        return (String::new(), String::new());
    };
    // The W3C log's civil-date arithmetic: UTC needs no time zone database.
    let dt = crate::w3c::rollover::Civil::from_unix(secs);
    let hour = dt.hour;
    let (h12, ampm) = match hour {
        0 => (12, "AM"),
        1..=11 => (hour, "AM"),
        12 => (12, "PM"),
        _ => (hour - 12, "PM"),
    };
    (
        format!("{}/{}/{}", dt.month, dt.day, dt.year),
        format!("{h12}:{:02} {ampm}", dt.minute),
    )
}

/// Renders the listing of `dir`, shown at URL path `url_path` (ending with `/`).
/// A symbolic link is listed with its target's size and date only when the target
/// lies under `root` (canonical); a link leading out is not listed at all (it is
/// not served either).
pub(crate) async fn render(
    dir: &Path,
    root: &Path,
    host: &str,
    url_path: &str,
) -> std::io::Result<String> {
    let mut read = tokio::fs::read_dir(dir).await?;
    let mut entries = Vec::new();
    while let Some(entry) = read.next_entry().await? {
        // A name that is not UTF-8 cannot be requested by URL either.
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Ok(kind) = entry.file_type().await else {
            continue;
        };
        let path = if kind.is_symlink() {
            match tokio::fs::canonicalize(entry.path()).await {
                Ok(target) if target.starts_with(root) => target,
                _ => continue,
            }
        } else {
            entry.path()
        };
        let Ok(meta) = tokio::fs::symlink_metadata(&path).await else {
            continue;
        };
        let (date, time) = date_time(meta.modified().ok());
        let is_dir = meta.is_dir();
        let mut href = encode_href(&format!("{url_path}{name}"));
        if is_dir {
            href.push('/');
        }
        entries.push(Entry {
            is_dir,
            date,
            time,
            size: meta.len().to_string(),
            href,
            name,
        });
    }
    entries.sort_by_cached_key(|e| e.name.to_lowercase());
    let parent = (url_path != "/").then(|| {
        let trimmed = url_path.trim_end_matches('/');
        let cut = trimmed.rfind('/').map_or(0, |i| i + 1);
        encode_href(&trimmed[..cut])
    });
    let page = Listing {
        host,
        path: url_path,
        parent,
        entries,
    };
    page.render().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iis_date_columns() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(
            date_time(Some(t)),
            ("11/14/2023".to_owned(), "10:13 PM".to_owned())
        );
        let midnight = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(86_400 * 3 + 60);
        assert_eq!(date_time(Some(midnight)).1, "12:01 AM");
    }

    /// A link to a file outside the root is not listed: neither its size nor its
    /// date leaks. A link that stays inside is listed as its target.
    #[cfg(unix)]
    #[tokio::test]
    async fn links_out_of_the_root_are_not_listed() {
        let dir = std::env::temp_dir().join(format!("tower-iis-listing-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = dir.join("www");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(dir.join("secret.bin"), vec![0u8; 123_457]).unwrap();
        std::fs::write(root.join("inside.bin"), vec![0u8; 4_321]).unwrap();
        std::os::unix::fs::symlink(dir.join("secret.bin"), root.join("sub/out.bin")).unwrap();
        std::os::unix::fs::symlink(dir.join("www/inside.bin"), root.join("sub/in.bin")).unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        let page = render(&root.join("sub"), &root, "h", "/sub/")
            .await
            .unwrap();
        assert!(!page.contains("123457"), "{page}");
        assert!(!page.contains("out.bin"), "{page}");
        assert!(page.contains("in.bin") && page.contains("4321"), "{page}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
