//! Sending email (invitations, address checks, password resets), by one of
//! two mailers the configuration picks:
//! - SMTP (`secrets.smtp_url`), for production, through `lettre`: implicit
//!   TLS with `smtps://`, STARTTLS with `smtp://…?tls=required`, certificates
//!   checked against the system's roots; credentials in the URL.
//! - the outbox (the default), for development: each message an RFC 5322
//!   `.eml` file in `{data_dir}/outbox`, read with `ls`/`cat` (the README
//!   shows it).
//!
//! Knows nothing of what the messages say.

use std::path::{Path, PathBuf};

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// Plain text.
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot write {path}: {source}")]
    Outbox { path: String, source: std::io::Error },
    #[error("invalid address {address:?}: {source}")]
    Address { address: String, source: lettre::address::AddressError },
    #[error("cannot build the message: {0}")]
    Message(#[from] lettre::error::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// A bad SMTP setting, found at start. The URL itself is never shown: it may
/// hold a password.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("invalid smtp_url (expected smtps://[user:password@]host[:port] or smtp://…?tls=required): {0}")]
    Url(lettre::transport::smtp::Error),
    #[error("invalid mail_from: {0}")]
    From(lettre::address::AddressError),
}

/// The mailer in effect.
#[derive(Clone)]
pub enum Mailer {
    Outbox(Outbox),
    Smtp(Smtp),
}

impl Mailer {
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        match self {
            Mailer::Outbox(outbox) => outbox.send(mail).await,
            Mailer::Smtp(smtp) => smtp.send(mail).await,
        }
    }
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
            move |source| MailError::Outbox { path, source }
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

/// Hands messages to an SMTP server; a connection per message (mail is rare:
/// sign-ups, invitations, resets), closed after it.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    pub fn new(url: &str, from: &str) -> Result<Smtp, SmtpConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(SmtpConfigError::Url)?.build();
        let from = from.parse().map_err(SmtpConfigError::From)?;
        Ok(Smtp { transport, from })
    }

    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let to: Mailbox = mail.to.parse().map_err(|source| MailError::Address { address: mail.to.clone(), source })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(header_safe(&mail.subject))
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())?;
        self.transport.send(message).await?;
        tracing::info!(to = %mail.to, "mail handed to the SMTP server");
        Ok(())
    }
}

/// A header value without line breaks, so nothing can add a header.
fn header_safe(value: &str) -> String {
    value.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}
