//! Runs the web console's Playwright suite (`web-console/e2e`) against a
//! running `omnibus dev`: Debian's Chromium, the dev outbox for the mailed
//! links, mosquitto_sub on the broker. Screenshots land in
//! `web-console/test-results/screenshots`.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::process::Omnibus;

pub fn console_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web-console")
}

pub fn screenshots_dir() -> PathBuf {
    console_dir().join("test-results/screenshots")
}

/// `npx playwright test` with the process's addresses; `env` adds more.
pub fn playwright(omnibus: &Omnibus, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("npx");
    command
        .args(["playwright", "test"])
        .current_dir(console_dir())
        // `localhost`, as the links in the mails say (`public_url`): one origin, one login.
        .env("OMNIBUS_URL", format!("http://localhost:{}", omnibus.http.port()))
        .env("OMNIBUS_OUTBOX", omnibus.data_dir.join("control-plane/outbox"))
        .env("OMNIBUS_MQTT", omnibus.mqtt.to_string())
        .env("OMNIBUS_SCREENSHOTS", screenshots_dir())
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .env("CI", "1");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run npx playwright (npm ci in web-console/ installs it; scripts/test does)")
}
