//! franz-go, the Go Kafka client, through `tests/go/kafkacheck`: a small Go
//! program whose subcommands (admin, codecs, group, auth, isolation) each
//! print one JSON document for a test to judge.
//!
//! It is built with `go build` the first time a test needs it, into
//! `{OMNIBUS_CACHE or /var/tmp/omnibus-cache}/go-bin/kafkacheck.{hash}/kafkacheck`, where
//! the hash covers every file of `tests/go`, so an edit rebuilds it and an
//! unchanged tree reuses it. `GOFLAGS=-mod=readonly`: `go.sum` pins every
//! module, and a cold module cache is filled from the Go module proxy
//! (`scripts/test` runs `go mod download` first).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::clients::{KafkaLogin, run_with_input};
use crate::process::Omnibus;

/// The Go module: `tests/go`.
fn module_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("go")
}

/// The kafkacheck binary, built on first use (once per test process).
pub fn kafkacheck_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build)
}

fn build() -> PathBuf {
    build_module(&module_dir(), "./kafkacheck", "kafkacheck")
}

/// Builds `package` of the Go module in `module` as `name`, into
/// `{cache}/go-bin/{name}.{hash of the module's files}/{name}` unless it is
/// there already; answers that path.
pub(crate) fn build_module(module: &Path, package: &str, name: &str) -> PathBuf {
    let cache = std::env::var_os("OMNIBUS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/omnibus-cache"))
        .join("go-bin");
    let dir = cache.join(format!("{name}.{}", tree_hash(module)));
    let bin = dir.join(name);
    if bin.exists() {
        return bin;
    }
    std::fs::create_dir_all(&dir).expect("create the Go binary cache");
    // Built beside its final name and renamed, so a concurrent test process
    // never runs half a binary.
    let partial = dir.join(format!("{name}.{}.partial", std::process::id()));
    let output = Command::new("go")
        .args(["build", "-trimpath", "-buildvcs=false", "-o"])
        .arg(&partial)
        .arg(package)
        .current_dir(module)
        .env("GOFLAGS", "-mod=readonly")
        .output()
        .unwrap_or_else(|e| panic!("cannot run `go build` (Go 1.26+ is needed): {e}"));
    assert!(
        output.status.success(),
        "go build {package} in {} failed:\n{}",
        module.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(&partial, &bin).expect("move the binary into place");
    bin
}

/// SHA-256 over the relative path and contents of every file under `dir`,
/// in path order.
fn tree_hash(dir: &Path) -> String {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read a Go module") {
            let path = entry.expect("read a Go module").path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut all = Vec::new();
    files(dir, &mut all);
    all.sort();
    let mut hash = Sha256::new();
    for path in all {
        let relative = path.strip_prefix(dir).expect("under the module");
        hash.update(relative.to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update(std::fs::read(&path).expect("read a Go module's file"));
        hash.update([0]);
    }
    hash.finalize().iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Runs `kafkacheck {subcommand}` as `login` over SASL `mechanism` with
/// `args`, and returns the JSON it printed. Panics, with kgo's log and the
/// broker's, if it fails or prints no JSON. `KAFKACHECK_LOG=debug` in the
/// environment makes kgo's log show every request.
pub async fn kafkacheck(
    omnibus: &Omnibus,
    login: &KafkaLogin,
    mechanism: &str,
    subcommand: &str,
    args: &[&str],
) -> serde_json::Value {
    let mut command = tokio::process::Command::new(kafkacheck_bin());
    command
        .arg(subcommand)
        .args(["-bootstrap", &login.bootstrap, "-user", &login.username, "-password", &login.password])
        .args(["-mechanism", mechanism])
        .args(args);
    // kafkacheck gives up by itself after 90 s.
    let what = format!("kafkacheck {subcommand}");
    let output = run_with_input(command, "", Duration::from_secs(100), &what).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parsed = serde_json::from_str::<serde_json::Value>(&stdout);
    match parsed {
        Ok(json) if output.status.success() => json,
        _ => panic!(
            "{what} {args:?} failed ({}):\n--- stdout\n{stdout}\n--- kgo log\n{}\n--- broker log\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            omnibus.log_text()
        ),
    }
}
