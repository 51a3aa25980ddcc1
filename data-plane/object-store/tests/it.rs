//! One conformance suite, run on both backends: the local directory and S3 against a real S3-compatible
//! server (moto's, from PyPI, started here on loopback; `OMNIBUS_PYTHON` names the Python whose
//! environment has it, as `scripts/test` sets up).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use omnibus_object_store::local::LocalDir;
use omnibus_object_store::s3::S3Store;
use omnibus_object_store::{ObjectStore, StoreError};

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("omnibus-object-store-{}", uuid::Uuid::new_v4()))
}

/// moto's S3 server on a free loopback port, stopped on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let python = std::env::var("OMNIBUS_PYTHON").unwrap_or_else(|_| "python3".into());
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python} -m moto.server (scripts/test installs moto[server]): {e}"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto's server did not start (is moto[server] installed for {python}?)");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { child, endpoint: format!("http://127.0.0.1:{port}") }
    }

    async fn bucket(&self, bucket: &str, prefix: &str) -> S3Store {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "test"))
            .force_path_style(true)
            .http_client(omnibus_object_store::s3::http_client())
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        if let Err(e) = client.create_bucket().bucket(bucket).send().await {
            let already = e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you());
            assert!(already, "create bucket: {}", aws_sdk_s3::error::DisplayErrorContext(e));
        }
        S3Store::new(client, bucket, prefix)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What every backend must do. `other` is a second store over the same backing service with another root
/// or prefix: the two must not see each other's objects.
async fn conformance(store: Arc<dyn ObjectStore>, other: Arc<dyn ObjectStore>) {
    // Put, get, replace.
    store.put("ns/t-0/manifest.json", Bytes::from_static(b"{\"v\":1}")).await.unwrap();
    assert_eq!(&store.get("ns/t-0/manifest.json").await.unwrap()[..], b"{\"v\":1}");
    store.put("ns/t-0/manifest.json", Bytes::from_static(b"{\"v\":2}")).await.unwrap();
    assert_eq!(&store.get("ns/t-0/manifest.json").await.unwrap()[..], b"{\"v\":2}", "a put replaces");

    // Ranges: inside, running past the end, starting past the end.
    let body: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    store.put("ns/t-0/00000000000000000000.log", Bytes::from(body.clone())).await.unwrap();
    assert_eq!(store.get_range("ns/t-0/00000000000000000000.log", 100..356).await.unwrap(), body[100..356]);
    assert_eq!(store.get_range("ns/t-0/00000000000000000000.log", 9_900..20_000).await.unwrap(), body[9_900..]);
    assert!(store.get_range("ns/t-0/00000000000000000000.log", 10_000..10_100).await.unwrap().is_empty());

    // Missing objects are NotFound, for whole and ranged reads.
    assert!(matches!(store.get("ns/t-0/missing").await, Err(StoreError::NotFound(k)) if k == "ns/t-0/missing"));
    assert!(matches!(store.get_range("ns/t-9/x", 0..10).await, Err(StoreError::NotFound(_))));

    // Files: a small one in one put, a large one (over the multipart threshold on S3) from disk.
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let small = dir.join("small");
    std::fs::write(&small, b"small segment").unwrap();
    assert_eq!(store.put_file("ns/t-1/00000000000000000000.log", &small).await.unwrap(), 13);
    let large = dir.join("large");
    let large_body: Vec<u8> = (0..(40u32 << 20) / 4).flat_map(u32::to_be_bytes).collect();
    std::fs::write(&large, &large_body).unwrap();
    assert_eq!(store.put_file("ns/t-1/00000000000000000100.log", &large).await.unwrap(), 40 << 20);
    let read = store.get("ns/t-1/00000000000000000100.log").await.unwrap();
    assert!(read == large_body[..], "a multipart object reads back whole");
    let far = (33u64 << 20) + 7;
    assert_eq!(
        store.get_range("ns/t-1/00000000000000000100.log", far..far + 64).await.unwrap(),
        large_body[far as usize..far as usize + 64]
    );
    std::fs::remove_dir_all(&dir).unwrap();

    // Listing: by prefix, sorted, with sizes, never a sibling that merely shares characters.
    store.put("ns/t-10/00000000000000000000.log", Bytes::from_static(b"x")).await.unwrap();
    let listed = store.list("ns/t-1/").await.unwrap();
    let keys: Vec<_> = listed.iter().map(|o| (o.key.as_str(), o.size)).collect();
    assert_eq!(keys, [("ns/t-1/00000000000000000000.log", 13), ("ns/t-1/00000000000000000100.log", 40 << 20)]);
    assert_eq!(store.list("ns/").await.unwrap().len(), 5);
    assert_eq!(store.list("ns/t-1").await.unwrap().len(), 3, "a prefix is characters, not a folder");
    assert!(store.list("nothing/").await.unwrap().is_empty());

    // Delete, and delete again.
    store.delete("ns/t-1/00000000000000000000.log").await.unwrap();
    store.delete("ns/t-1/00000000000000000000.log").await.unwrap();
    assert!(matches!(store.get("ns/t-1/00000000000000000000.log").await, Err(StoreError::NotFound(_))));
    assert_eq!(store.list("ns/t-1/").await.unwrap().len(), 1);

    // Keys that would leave the root are refused before any I/O.
    for bad in ["../escape", "/abs", "a//b", ""] {
        assert!(matches!(store.put(bad, Bytes::new()).await, Err(StoreError::InvalidKey(_))), "{bad:?}");
    }

    // Another root or prefix is another namespace.
    assert!(other.list("ns/").await.unwrap().is_empty());
    other.put("ns/t-0/manifest.json", Bytes::from_static(b"other")).await.unwrap();
    assert_eq!(&store.get("ns/t-0/manifest.json").await.unwrap()[..], b"{\"v\":2}");
}

#[tokio::test]
async fn local_directory_conforms() {
    let root = temp_dir();
    let store = Arc::new(LocalDir::open(&root.join("a")).unwrap());
    let other = Arc::new(LocalDir::open(&root.join("b")).unwrap());
    conformance(store, other).await;
    // No temporary file is left behind by the writes.
    let leftovers = walk(&root.join("a")).into_iter().filter(|p| p.to_string_lossy().contains(".tmp-")).count();
    assert_eq!(leftovers, 0);
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn s3_conforms_against_a_real_s3_server() {
    let moto = Moto::start();
    let store = Arc::new(moto.bucket("tiered", "fleet-a/").await);
    let other = Arc::new(moto.bucket("tiered", "fleet-b").await);
    conformance(store, other).await;
}

#[tokio::test]
async fn s3_reports_a_vanished_server_within_bounded_retries() {
    let mut moto = Moto::start();
    let store = moto.bucket("gone", "").await;
    store.put("k", Bytes::from_static(b"v")).await.unwrap();
    let _ = moto.child.kill();
    let _ = moto.child.wait();
    let started = Instant::now();
    assert!(matches!(store.put("k2", Bytes::from_static(b"v")).await, Err(StoreError::Backend(_))));
    assert!(matches!(store.get("k").await, Err(StoreError::Backend(_))));
    assert!(started.elapsed() < Duration::from_secs(60), "the SDK's retries are bounded");
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}
