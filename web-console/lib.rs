//! The web console's files as Vite built them, embedded at compile time
//! (`build.rs` runs the build). Owns only the lookup; how they are served
//! (routes, caching, headers) is the control plane's `http::console`.

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// One built file.
pub struct Asset {
    pub bytes: std::borrow::Cow<'static, [u8]>,
    pub content_type: String,
    /// The SHA-256 of `bytes`, hex: a strong ETag.
    pub digest: String,
}

/// The file at `path` (relative to the console's root, no leading `/`).
pub fn asset(path: &str) -> Option<Asset> {
    let file = Assets::get(path)?;
    let digest = file.metadata.sha256_hash().iter().map(|b| format!("{b:02x}")).collect();
    Some(Asset { content_type: file.metadata.mimetype().to_owned(), bytes: file.data, digest })
}
