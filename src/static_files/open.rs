//! Opening a file so that what is opened is what was checked.
//!
//! [`lookup`](super::lookup) resolves a request's path and checks that it lies under
//! the content root, but a path can change between that check and the open: a
//! folder swapped for a symbolic link to somewhere else would have the open follow
//! the link. So the file is opened by walking its canonical path from the root one
//! component at a time, each relative to the folder opened before (through
//! `/proc/self/fd`) and with `O_NOFOLLOW`: a link swapped in anywhere on the way
//! makes the open fail instead of leaving the root. The file is then served from
//! that open file (its `/proc/self/fd` entry names exactly it), never by path
//! again.
//!
//! Where `/proc/self/fd` is not there (not Linux, or no procfs), the last
//! component is still opened with `O_NOFOLLOW`, but a folder swapped higher up is
//! not caught.

use std::io;
use std::path::{Component, Path, PathBuf};

use tokio::fs::{File, OpenOptions};

/// A file opened beneath the root, and a path that names exactly that open file.
pub(super) struct Opened {
    /// Kept open while the path is in use.
    _file: File,
    pub(super) path: PathBuf,
}

#[cfg(target_os = "linux")]
fn fd_path(file: &File) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

async fn open_with(path: &Path, flags: i32) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    opts.custom_flags(flags | libc::O_NOFOLLOW | libc::O_CLOEXEC);
    #[cfg(not(unix))]
    let _ = flags;
    opts.open(path).await
}

/// Opens `canonical` (a regular file under `root`, both canonical) without
/// following any link on the way. `NotFound` when something on the path changed
/// into a link (or went away); `InvalidInput` when the result is not a regular file.
pub(super) async fn open_beneath(root: &Path, canonical: &Path) -> io::Result<Opened> {
    let rel = canonical
        .strip_prefix(root)
        .map_err(|_| io::Error::new(io::ErrorKind::NotFound, "outside the content root"))?;
    let parts: Vec<&std::ffi::OsStr> = rel
        .components()
        .map(|c| match c {
            Component::Normal(p) => Ok(p),
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "not a plain path")),
        })
        .collect::<io::Result<_>>()?;
    let Some((last, dirs)) = parts.split_last() else {
        return Err(io::Error::new(io::ErrorKind::NotFound, "the root itself"));
    };
    #[cfg(unix)]
    let (dir_flags, file_flags) = (libc::O_DIRECTORY, libc::O_NONBLOCK);
    #[cfg(not(unix))]
    let (dir_flags, file_flags) = (0, 0);
    let file = if cfg!(target_os = "linux") && Path::new("/proc/self/fd").is_dir() {
        #[cfg(target_os = "linux")]
        {
            let mut dir = open_with(root, dir_flags).await?;
            for part in dirs {
                dir = open_with(&fd_path(&dir).join(part), dir_flags)
                    .await
                    .map_err(swapped)?;
            }
            open_with(&fd_path(&dir).join(last), file_flags)
                .await
                .map_err(swapped)?
        }
        #[cfg(not(target_os = "linux"))]
        unreachable!()
    } else {
        let _ = dirs;
        open_with(canonical, file_flags).await.map_err(swapped)?
    };
    if !file.metadata().await?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    #[cfg(target_os = "linux")]
    let path = if Path::new("/proc/self/fd").is_dir() {
        fd_path(&file)
    } else {
        canonical.to_path_buf()
    };
    #[cfg(not(target_os = "linux"))]
    let path = canonical.to_path_buf();
    Ok(Opened { _file: file, path })
}

/// A link met on the way (`ELOOP`, `ENOTDIR`) reads as "not there".
fn swapped(e: io::Error) -> io::Error {
    #[cfg(unix)]
    if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) {
        return io::Error::new(io::ErrorKind::NotFound, "a link on the path");
    }
    e
}
