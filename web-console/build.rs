//! Builds the console with Vite into `OUT_DIR` and points the embedding at
//! it, so `cargo build` alone yields a binary that serves the console: `npm ci`
//! when `node_modules` is missing or older than `package-lock.json`, then
//! `npm run build` (type check and bundle). `OMNIBUS_CONSOLE_DIST` names an
//! already built `dist` folder instead, for builds without Node.js.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    println!("cargo::rerun-if-env-changed=OMNIBUS_CONSOLE_DIST");
    let dist = match std::env::var_os("OMNIBUS_CONSOLE_DIST") {
        Some(dist) => PathBuf::from(dist),
        None => {
            for input in
                ["src", "public", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json"]
            {
                println!("cargo::rerun-if-changed={}", here.join(input).display());
            }
            let dist = out.join("dist");
            if stale(&here.join("node_modules/.package-lock.json"), &here.join("package-lock.json")) {
                npm(&here, &["ci", "--no-audit", "--no-fund"]);
            }
            npm(&here, &["run", "build", "--", "--outDir", &dist.display().to_string(), "--emptyOutDir"]);
            dist
        }
    };
    assert!(dist.join("index.html").exists(), "{} has no index.html", dist.display());
    // The folder is absolute and per machine, so the derive is written here
    // rather than taking an interpolated path (as utoipa-swagger-ui does).
    let code = format!(
        "/// The built console, every file under its path in `dist`.\n\
         #[derive(rust_embed::Embed)]\n#[folder = {:?}]\npub struct Assets;\n",
        dist.display().to_string()
    );
    std::fs::write(out.join("assets.rs"), code).expect("write assets.rs");
}

/// Whether `installed` is missing or older than `lock`.
fn stale(installed: &Path, lock: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(installed), modified(lock)) {
        (Some(installed), Some(lock)) => installed < lock,
        _ => true,
    }
}

fn npm(dir: &Path, args: &[&str]) {
    let status = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run npm (Node.js 20+ builds the console; or set OMNIBUS_CONSOLE_DIST): {e}")
        });
    assert!(status.success(), "npm {} failed in {}", args.join(" "), dir.display());
}
