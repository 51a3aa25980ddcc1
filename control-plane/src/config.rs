//! The control plane's configuration: one typed struct, read from a TOML file
//! and overridden by flags and environment in the binary. Owns defaults and
//! their documentation; does not open files other than the JWT key.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Settings of the control-plane process. Every field has a default, so an
/// empty file (or none) is a valid configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlPlaneConfig {
    /// REST API address. Default `0.0.0.0:8080`.
    pub listen: SocketAddr,
    /// `sqlite://PATH` or `postgres://...`. Default: `sqlite://{data_dir}/control-plane.db`.
    pub database_url: Option<String>,
    /// Where the control plane keeps local files (the SQLite database and the
    /// generated token key). Default `./omnibus-data/control-plane`.
    pub data_dir: PathBuf,
    /// Lifetime of an access token, in seconds. Default 900 (15 minutes).
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token, in seconds. Default 2,592,000 (30 days).
    pub refresh_token_ttl_secs: u64,
    /// Failed logins one account may have within the window; beyond it,
    /// logins to it are refused (429) until the oldest leaves the window.
    /// Default 10.
    pub login_failures_per_account: u32,
    /// Failed logins one source address may have within the window. Default 100.
    pub login_failures_per_address: u32,
    /// The window of both login limits, in seconds. Default 900 (15 minutes).
    pub login_window_secs: u64,
    /// Mails (password resets, address checks) that may be asked for one
    /// address within the window; beyond it the requests are refused (429).
    /// Default 5.
    pub mail_requests_per_account: u32,
    /// Mail requests one source address may make within the window. Default 50.
    pub mail_requests_per_address: u32,
    /// The window of both mail-request limits, in seconds. Default 3600 (an hour).
    pub mail_request_window_secs: u64,
    /// Networks of the reverse proxies (load balancers) in front of the API,
    /// e.g. `["10.0.0.0/8"]`. From a peer in one of them, the client's address
    /// (for rate limits and the audit log) is the last address in
    /// `X-Forwarded-For` that is not itself a trusted proxy; from any other
    /// peer the header is ignored, so a client cannot choose its address.
    /// Default: none.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Sender of the emails the control plane sends (over SMTP when
    /// `secrets.smtp_url` is set, else to `{data_dir}/outbox`).
    /// Default `Omnibus <no-reply@localhost>`.
    pub mail_from: String,
    /// Where people reach the console and this API, for links in emails.
    /// Default `http://localhost:8080`.
    pub public_url: String,
    /// Regions, each with the fleet it starts with (named after the region).
    /// Platform operators may register more fleets, and regions, through
    /// `/v1/operator/fleets`. Default: one region `local` whose fleet is at
    /// `http://127.0.0.1:9190`.
    pub regions: Vec<RegionConfig>,
    /// Region of instances created without one. Default: the first region.
    pub default_region: Option<String>,
    /// How often the reconciler re-applies every instance, in seconds, to
    /// repair drift (a restarted broker, a lost call). Default 10.
    pub resync_interval_secs: u64,
    /// How often every fleet's sealed usage records are collected, in
    /// seconds. Default 10.
    pub usage_collect_interval_secs: u64,
    /// How often ended months' invoices are finalized and spend alerts
    /// checked, in seconds. Default 60.
    pub billing_interval_secs: u64,
    /// How long after a month ends its invoices are finalized, in seconds;
    /// usage that arrives later is billed on the next invoice. Default 3600.
    pub invoice_finalize_delay_secs: u64,
    /// Secrets, kept apart so they are never printed with the rest.
    #[serde(skip_serializing)]
    pub secrets: ControlPlaneSecrets,
}

/// A region and its first fleet: declared again at every start, so the
/// configuration's endpoint and capacity win over changes made through the
/// API (a drain is kept).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    pub name: String,
    /// `http://host:port` of any broker of the region's fleet.
    pub fleet_endpoint: String,
    /// Instances the fleet may hold. Default 1000.
    #[serde(default = "default_fleet_capacity")]
    pub fleet_capacity: u32,
}

fn default_fleet_capacity() -> u32 {
    1000
}

impl RegionConfig {
    /// A region whose fleet has the default capacity.
    pub fn new(name: impl Into<String>, fleet_endpoint: impl Into<String>) -> RegionConfig {
        RegionConfig {
            name: name.into(),
            fleet_endpoint: fleet_endpoint.into(),
            fleet_capacity: default_fleet_capacity(),
        }
    }
}

/// Secret settings. `Debug` prints nothing of them.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlPlaneSecrets {
    /// HMAC key signing access tokens. Default: 32 random bytes generated on
    /// first start and kept in `{data_dir}/jwt.key`; set it explicitly when
    /// several control-plane replicas must accept each other's tokens.
    pub jwt_secret: Option<String>,
    /// The SMTP server mail goes to, e.g. `smtps://user:password@smtp.example.com`
    /// (implicit TLS, port 465) or `smtp://user:password@smtp.example.com:587?tls=required`
    /// (STARTTLS); certificates are checked against the system's roots.
    /// Env `OMNIBUS_SMTP_URL`. Default: none, mail goes to `{data_dir}/outbox`.
    pub smtp_url: Option<String>,
}

impl std::fmt::Debug for ControlPlaneSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlaneSecrets")
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<redacted>"))
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Default for ControlPlaneConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            database_url: None,
            data_dir: PathBuf::from("./omnibus-data/control-plane"),
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            login_failures_per_account: 10,
            login_failures_per_address: 100,
            login_window_secs: 900,
            mail_requests_per_account: 5,
            mail_requests_per_address: 50,
            mail_request_window_secs: 3600,
            trusted_proxies: Vec::new(),
            mail_from: "Omnibus <no-reply@localhost>".into(),
            public_url: "http://localhost:8080".into(),
            regions: vec![RegionConfig::new("local", "http://127.0.0.1:9190")],
            default_region: None,
            resync_interval_secs: 10,
            usage_collect_interval_secs: 10,
            billing_interval_secs: 60,
            invoice_finalize_delay_secs: 3600,
            secrets: ControlPlaneSecrets::default(),
        }
    }
}

impl ControlPlaneConfig {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}/control-plane.db", self.data_dir.display()),
        }
    }

    /// The region new instances go to when none is named.
    pub fn default_region(&self) -> Option<&str> {
        self.default_region.as_deref().or_else(|| self.regions.first().map(|r| r.name.as_str()))
    }
}
