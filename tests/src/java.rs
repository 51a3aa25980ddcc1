//! Apache Kafka's own Java client, through Kafka's command-line tools
//! (kafka-topics, kafka-console-producer, kafka-console-consumer,
//! kafka-consumer-groups), run as `java -cp {lib}/* {main class}`.
//!
//! `scripts/test` fetches `kafka-clients` and `kafka-tools` from Maven Central
//! into a directory (`tests/java/pom.xml`) and exports it as
//! `OMNIBUS_KAFKA_JAVA_LIB`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

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

/// Runs Kafka's tool `class` with `args`, feeding `input` to its standard
/// input; a short-lived JVM (C1 only, class-data sharing), at most 60 s.
pub async fn kafka_tool(class: &str, args: &[&str], input: &str) -> JavaRun {
    let classpath = format!("{}/*", kafka_java_lib().display());
    let mut command = Command::new("java");
    command
        .args(["-XX:TieredStopAtLevel=1", "-Xshare:auto", "-XX:+UseSerialGC", "-Xss1m", "-cp", &classpath, class])
        .args(args);
    let output = run_with_input(command, input, Duration::from_secs(60), &format!("{class} {args:?}")).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    JavaRun {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: stderr.lines().filter(|l| !l.starts_with("SLF4J:")).map(|l| format!("{l}\n")).collect(),
    }
}
