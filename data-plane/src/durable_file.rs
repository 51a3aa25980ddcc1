//! Replacing a small file durably: after `replace` returns, a crash leaves
//! either the old content or the new, never a torn mix. Used for the broker's
//! metadata documents (tenancy, topic catalog). Blocking std I/O: callers run
//! it off the async workers.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;

/// Writes `bytes` to `dir/name` through a temporary file: write, fsync,
/// rename over the old file, fsync the directory.
pub fn replace(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let temp = dir.join(format!("{name}.tmp"));
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temp, dir.join(name))?;
    File::open(dir)?.sync_all()
}
