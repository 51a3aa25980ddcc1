//! The local-directory backend, the embedded default: an object is a file under the root, its key the
//! relative path. A write goes to a temporary file beside the target, is fsynced and renamed over it (and
//! the directory fsynced), so an object is whole or absent across a crash. Blocking file I/O runs on
//! tokio's blocking pool.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::{BoxFuture, ObjectMeta, ObjectStore, StoreError, check_key};

/// Temporary files carry this in their name and are never listed.
const TEMP_MARK: &str = ".tmp-";

#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// Creates the root if missing.
    pub fn open(root: &Path) -> Result<LocalDir, StoreError> {
        fs::create_dir_all(root)?;
        Ok(LocalDir { root: root.to_path_buf() })
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    /// Writes what `fill` writes into a temporary file, then makes it the object at `path`.
    fn replace(path: &Path, fill: impl FnOnce(&mut File) -> io::Result<u64>) -> Result<u64, StoreError> {
        let dir = path.parent().ok_or_else(|| StoreError::InvalidKey(path.display().to_string()))?;
        fs::create_dir_all(dir)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("object");
        let temp = dir.join(format!("{name}{TEMP_MARK}{}", uuid::Uuid::new_v4()));
        let written = (|| {
            let mut file = File::create(&temp)?;
            let size = fill(&mut file)?;
            file.sync_all()?;
            fs::rename(&temp, path)?;
            File::open(dir)?.sync_all()?;
            Ok::<_, io::Error>(size)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        Ok(written?)
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| StoreError::Io(io::Error::other(e)))?
}

fn not_found(key: &str) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |e| if e.kind() == io::ErrorKind::NotFound { StoreError::NotFound(key.to_string()) } else { e.into() }
}

impl ObjectStore for LocalDir {
    fn put<'a>(&'a self, key: &'a str, body: Bytes) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            blocking(move || {
                Self::replace(&path, |file| io::Write::write_all(file, &body).map(|()| body.len() as u64)).map(drop)
            })
            .await
        })
    }

    fn put_file<'a>(&'a self, key: &'a str, source: &'a Path) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            let source = source.to_path_buf();
            blocking(move || {
                let mut from = File::open(&source)?;
                Self::replace(&path, |file| io::copy(&mut from, file))
            })
            .await
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Bytes, StoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            let owned = key.to_string();
            blocking(move || fs::read(&path).map(Bytes::from).map_err(not_found(&owned))).await
        })
    }

    fn get_range<'a>(&'a self, key: &'a str, range: Range<u64>) -> BoxFuture<'a, Result<Bytes, StoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            let owned = key.to_string();
            blocking(move || {
                let mut file = File::open(&path).map_err(not_found(&owned))?;
                file.seek(SeekFrom::Start(range.start))?;
                let mut buf = Vec::with_capacity(usize::try_from(range.end - range.start).unwrap_or(0));
                file.take(range.end.saturating_sub(range.start)).read_to_end(&mut buf)?;
                Ok(Bytes::from(buf))
            })
            .await
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<ObjectMeta>, StoreError>> {
        Box::pin(async move {
            let root = self.root.clone();
            let prefix = prefix.to_string();
            blocking(move || {
                // Only the directories the prefix can reach are walked.
                let start = match prefix.rfind('/') {
                    Some(i) => root.join(&prefix[..i]),
                    None => root.clone(),
                };
                let mut found = Vec::new();
                let mut pending = vec![start];
                while let Some(dir) = pending.pop() {
                    let entries = match fs::read_dir(&dir) {
                        Ok(entries) => entries,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e.into()),
                    };
                    for entry in entries {
                        let entry = entry?;
                        let kind = entry.file_type()?;
                        let path = entry.path();
                        if kind.is_dir() {
                            pending.push(path);
                            continue;
                        }
                        let Some(key) = path.strip_prefix(&root).ok().and_then(Path::to_str) else { continue };
                        if key.starts_with(&prefix) && !key.contains(TEMP_MARK) {
                            found.push(ObjectMeta { key: key.to_string(), size: entry.metadata()?.len() });
                        }
                    }
                }
                found.sort_by(|a, b| a.key.cmp(&b.key));
                Ok(found)
            })
            .await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            blocking(move || match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
                _ => Ok(()),
            })
            .await
        })
    }
}
