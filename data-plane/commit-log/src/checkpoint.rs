//! The `log-start-offset` checkpoint: the log start moved forward by DeleteRecords, written atomically
//! (temp file + fsync + rename + fsync of the directory). Owns only that file.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

const NAME: &str = "log-start-offset";
const TEMP: &str = "log-start-offset.tmp";

/// The checkpointed log start, if any. An unreadable checkpoint is ignored with a warning: the log then
/// starts at its first segment, which loses nothing.
pub(crate) fn read(dir: &Path) -> io::Result<Option<i64>> {
    match fs::remove_file(dir.join(TEMP)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    match fs::read_to_string(dir.join(NAME)) {
        Ok(text) => match text.trim().parse::<i64>() {
            Ok(offset) => Ok(Some(offset)),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "ignoring unreadable log-start-offset checkpoint");
                Ok(None)
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Durably records `offset` as the log start.
pub(crate) fn write(dir: &Path, offset: i64) -> io::Result<()> {
    let temp = dir.join(TEMP);
    let mut file = File::create(&temp)?;
    writeln!(file, "{offset}")?;
    file.sync_all()?;
    fs::rename(&temp, dir.join(NAME))?;
    File::open(dir)?.sync_all()
}

pub(crate) fn remove(dir: &Path) -> io::Result<()> {
    match fs::remove_file(dir.join(NAME)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
