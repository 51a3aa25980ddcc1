//! Apache Kafka's own Java client: through Kafka's command-line tools
//! (kafka-topics, kafka-console-producer, kafka-console-consumer,
//! kafka-consumer-groups), run as `java -cp {lib}/* {main class}`, and through
//! `java/src/KafkaCheck.java`, a small program on kafka-clients alone whose
//! subcommands produce, read, join a group and administer (see its header),
//! compiled here with `javac` on first use.
//!
//! `scripts/test` fetches `kafka-clients` and `kafka-tools` from Maven Central
//! into a directory (`tests/java/pom.xml`) and exports it as
//! `OMNIBUS_KAFKA_JAVA_LIB`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{OnceCell, mpsc};
use tokio::task::JoinHandle;

use crate::clients::{KafkaLogin, run_with_input};

/// The main classes of Kafka's `bin/*.sh` scripts, as of kafka-tools 4.x.
pub const TOPICS: &str = "org.apache.kafka.tools.TopicCommand";
pub const CONSOLE_PRODUCER: &str = "org.apache.kafka.tools.ConsoleProducer";
pub const CONSOLE_CONSUMER: &str = "org.apache.kafka.tools.consumer.ConsoleConsumer";
pub const CONSUMER_GROUPS: &str = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand";

/// The directory of Kafka's jars: `OMNIBUS_KAFKA_JAVA_LIB`, else the cache
/// `scripts/test` fills.
pub fn kafka_java_lib() -> PathBuf {
    let lib = std::env::var_os("OMNIBUS_KAFKA_JAVA_LIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/omnibus-cache/kafka-java-lib"));
    assert!(
        kafka_version(&lib).is_some_and(|v| lib.join(format!("kafka-tools-{v}.jar")).exists()),
        "no Kafka jars in {}: run scripts/test (it fetches them with Maven) or set OMNIBUS_KAFKA_JAVA_LIB",
        lib.display()
    );
    lib
}

/// The version of the `kafka-clients-*.jar` in `lib`.
pub fn kafka_version(lib: &Path) -> Option<String> {
    std::fs::read_dir(lib).ok()?.filter_map(Result::ok).find_map(|entry| {
        let name = entry.file_name().into_string().ok()?;
        Some(name.strip_prefix("kafka-clients-")?.strip_suffix(".jar")?.to_string())
    })
}

/// Writes the client properties of `login` over SASL `mechanism` (PLAIN,
/// SCRAM-SHA-256 or SCRAM-SHA-512), plus `extra` lines, to `dir/{name}`.
pub fn client_properties(dir: &Path, name: &str, login: &KafkaLogin, mechanism: &str, extra: &[&str]) -> PathBuf {
    let module = if mechanism == "PLAIN" {
        "org.apache.kafka.common.security.plain.PlainLoginModule"
    } else {
        "org.apache.kafka.common.security.scram.ScramLoginModule"
    };
    let mut text = format!(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism={mechanism}\n\
         sasl.jaas.config={module} required username=\"{}\" password=\"{}\";\n",
        login.username, login.password
    );
    for line in extra {
        text.push_str(line);
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write client properties");
    path
}

/// The outcome of one tool run.
#[derive(Debug)]
pub struct JavaRun {
    pub success: bool,
    pub stdout: String,
    /// Without SLF4J's "no binding" notice.
    pub stderr: String,
}

impl JavaRun {
    /// Standard output as one JSON value per line (what KafkaCheck prints);
    /// panics unless the run succeeded and every line is JSON.
    pub fn json_lines(&self) -> Vec<Value> {
        assert!(self.success, "{self:?}");
        let parse = |l: &str| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{self:?}"));
        self.stdout.lines().map(parse).collect()
    }
}

/// Runs Kafka's tool `class` with `args`, feeding `input` to its standard
/// input; a short-lived JVM (C1 only, class-data sharing), at most 60 s.
pub async fn kafka_tool(class: &str, args: &[&str], input: &str) -> JavaRun {
    let classpath = format!("{}/*", kafka_java_lib().display());
    let mut command = java(&classpath, class);
    command.args(args);
    run(command, input, &format!("{class} {args:?}")).await
}

/// `java` for a short-lived client JVM (C1 only, class-data sharing) running `class`.
fn java(classpath: &str, class: &str) -> Command {
    let mut command = Command::new("java");
    command.args(["-XX:TieredStopAtLevel=1", "-Xshare:auto", "-XX:+UseSerialGC", "-Xss1m", "-cp", classpath, class]);
    command
}

async fn run(command: Command, input: &str, what: &str) -> JavaRun {
    let output = run_with_input(command, input, Duration::from_secs(60), what).await;
    JavaRun {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: without_slf4j_notice(&String::from_utf8_lossy(&output.stderr)),
    }
}

fn without_slf4j_notice(stderr: &str) -> String {
    stderr.lines().filter(|l| !l.starts_with("SLF4J:")).map(|l| format!("{l}\n")).collect()
}

const KAFKA_CHECK_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/java/src/KafkaCheck.java");

static KAFKA_CHECK_CLASSES: OnceCell<PathBuf> = OnceCell::const_new();

/// `java` running KafkaCheck as `login` over SASL `mechanism` with `args`
/// (a subcommand and its arguments); for a process the test talks to while
/// it runs. See [`kafka_check`] for one that runs to its end.
pub async fn kafka_check_command(login: &KafkaLogin, mechanism: &str, args: &[&str]) -> Command {
    let classes = KAFKA_CHECK_CLASSES.get_or_init(compile_kafka_check).await;
    let classpath = format!("{}:{}/*", classes.display(), kafka_java_lib().display());
    let mut command = java(&classpath, "KafkaCheck");
    command.args([&login.bootstrap, mechanism, &login.username, &login.password]).args(args);
    command
}

/// Runs KafkaCheck's subcommand `args` as `login` over `mechanism`, feeding
/// `input` to it, and waits (at most 60 s) for its end.
pub async fn kafka_check(login: &KafkaLogin, mechanism: &str, args: &[&str], input: &str) -> JavaRun {
    let command = kafka_check_command(login, mechanism, args).await;
    run(command, input, &format!("KafkaCheck {args:?}")).await
}

/// Compiles KafkaCheck.java against the kafka-clients jar (only) into
/// `{target}/debug/kafka-check-{key}`, keyed by the source and the jar's
/// version: a warm cache costs nothing, an edited source compiles again.
async fn compile_kafka_check() -> PathBuf {
    let lib = kafka_java_lib();
    let version = kafka_version(&lib).expect("a kafka-clients jar");
    let source = std::fs::read(KAFKA_CHECK_SOURCE).expect("read KafkaCheck.java");
    let digest = Sha256::new().chain_update(&source).chain_update(version.as_bytes()).finalize();
    let key: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let exe = std::env::current_exe().expect("current exe");
    let target = exe.parent().and_then(Path::parent).expect("target dir");
    let classes = target.join(format!("kafka-check-{key}"));
    if classes.join("KafkaCheck.class").exists() {
        return classes;
    }
    // Compiled aside and renamed into place, so another test process never
    // sees half a directory.
    let scratch = target.join(format!("kafka-check-{key}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let output = Command::new("javac")
        .args(["--release", "17", "-Xlint:all", "-encoding", "UTF-8", "-d"])
        .arg(&scratch)
        .arg("-cp")
        .arg(lib.join(format!("kafka-clients-{version}.jar")))
        .arg(KAFKA_CHECK_SOURCE)
        .output()
        .await
        .expect("javac runs (a JDK 17 or newer; scripts/test checks for it)");
    assert!(output.status.success(), "javac KafkaCheck.java failed:\n{}", String::from_utf8_lossy(&output.stderr));
    if std::fs::rename(&scratch, &classes).is_err() {
        // Another process got there first with the same classes.
        let _ = std::fs::remove_dir_all(&scratch);
        assert!(classes.join("KafkaCheck.class").exists(), "cannot move the classes to {}", classes.display());
    }
    classes
}

/// A running `KafkaCheck group-member`: each JSON line it prints is sent to
/// the test as (member name, line).
pub struct GroupMember {
    pub name: String,
    child: Child,
    stdin: ChildStdin,
    stdout: JoinHandle<()>,
    stderr: JoinHandle<String>,
}

impl GroupMember {
    pub async fn start(
        login: &KafkaLogin,
        mechanism: &str,
        topic: &str,
        group: &str,
        name: &str,
        events: mpsc::UnboundedSender<(String, Value)>,
    ) -> GroupMember {
        let mut command = kafka_check_command(login, mechanism, &["group-member", topic, group, name]).await;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("java runs");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let member = name.to_string();
        let stdout = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let event = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{member} printed {line:?}: {e}"));
                if events.send((member.clone(), event)).is_err() {
                    return;
                }
            }
        });
        let mut err = child.stderr.take().expect("stderr");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text).await;
            without_slf4j_notice(&text)
        });
        let stdin = child.stdin.take().expect("stdin");
        GroupMember { name: name.to_string(), child, stdin, stdout, stderr }
    }

    /// Tells the member to leave (commit, close, LeaveGroup) and waits at
    /// most 30 s for it to exit 0 with every line it printed delivered.
    pub async fn leave(mut self) {
        self.stdin.write_all(b"leave\n").await.unwrap_or_else(|e| panic!("tell {} to leave: {e}", self.name));
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not leave within 30 s", self.name))
            .expect("wait for java");
        let stderr = self.stderr.await.unwrap_or_default();
        assert!(status.success(), "{} exited with {status}:\n{stderr}", self.name);
        self.stdout.await.expect("the member's output was read");
    }
}
