//! Sending email (invitations today). The outbox writes each message as an
//! RFC 5322 `.eml` file into a directory (`{data_dir}/outbox`, read with
//! `ls`/`cat`; the README shows it). It is the only mailer so far: an SMTP
//! one, for production, is not built yet. Knows nothing of what the
//! messages say.

use std::path::{Path, PathBuf};

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// Plain text.
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct MailError {
    path: String,
    source: std::io::Error,
}

/// Writes messages as files, one per message, into `dir`.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    from: String,
}

impl Outbox {
    pub fn new(dir: PathBuf, from: String) -> Outbox {
        Outbox { dir, from }
    }

    /// Writes `mail` whole or not at all (a temporary file renamed into place).
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let id = uuid::Uuid::now_v7();
        let err = |path: &Path| {
            let path = path.display().to_string();
            move |source| MailError { path, source }
        };
        tokio::fs::create_dir_all(&self.dir).await.map_err(err(&self.dir))?;
        let date =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc2822).unwrap_or_default();
        let message = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <{id}@omnibus>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            self.from,
            header_safe(&mail.to),
            header_safe(&mail.subject),
            mail.body.replace('\n', "\r\n"),
        );
        let temporary = self.dir.join(format!(".{id}.tmp"));
        let path = self.dir.join(format!("{id}.eml"));
        tokio::fs::write(&temporary, message).await.map_err(err(&temporary))?;
        tokio::fs::rename(&temporary, &path).await.map_err(err(&path))?;
        tracing::info!(to = %mail.to, path = %path.display(), "mail written to the outbox");
        Ok(())
    }
}

/// A header value without line breaks, so nothing can add a header.
fn header_safe(value: &str) -> String {
    value.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}
