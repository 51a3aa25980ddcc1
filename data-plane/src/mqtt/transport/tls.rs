//! The TLS acceptor of the MQTT/TLS and MQTT/WSS listeners: rustls with the
//! `ring` provider, TLS 1.2 and 1.3, no client certificates.
//!
//! Owns reading the certificate chain and private key from the PEM files the
//! configuration names, once, at startup; every failure is an error naming
//! the file. Knows nothing of MQTT or WebSocket.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Why the TLS listeners cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls_cert_path is set but tls_key_path is not: set both, or neither for no TLS listeners")]
    KeyPathMissing,
    #[error("tls_key_path is set but tls_cert_path is not: set both, or neither for no TLS listeners")]
    CertPathMissing,
    #[error("cannot read the TLS {what} file {}: {source}", path.display())]
    Read { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("the TLS certificate file {} holds no PEM CERTIFICATE block", path.display())]
    NoCertificate { path: PathBuf },
    #[error("the TLS private key file {} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)", path.display())]
    NoKey { path: PathBuf },
    #[error("cannot parse the PEM in {}: {source}", path.display())]
    Pem { path: PathBuf, source: pem::Error },
    #[error("the TLS certificate {} and private key {} are not usable together: {source}", cert.display(), key.display())]
    Config { cert: PathBuf, key: PathBuf, source: rustls::Error },
}

/// The acceptor for `cert` and `key` when both are configured, `None` when
/// neither is (no TLS listeners), an error when only one is.
pub fn configured(cert: Option<&Path>, key: Option<&Path>) -> Result<Option<TlsAcceptor>, TlsError> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(TlsError::KeyPathMissing),
        (None, Some(_)) => Err(TlsError::CertPathMissing),
        (Some(cert), Some(key)) => acceptor(cert, key).map(Some),
    }
}

/// Reads the certificate chain (leaf first) from `cert_path` and its private
/// key from `key_path`, both PEM, and builds the acceptor.
pub fn acceptor(cert_path: &Path, key_path: &Path) -> Result<TlsAcceptor, TlsError> {
    let read = |what, path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read { what, path: path.to_owned(), source })
    };
    let pem_error = |path: &Path, source| TlsError::Pem { path: path.to_owned(), source };

    let chain = CertificateDer::pem_slice_iter(&read("certificate", cert_path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| pem_error(cert_path, source))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: cert_path.to_owned() });
    }
    let key = match PrivateKeyDer::from_pem_slice(&read("private key", key_path)?) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => return Err(TlsError::NoKey { path: key_path.to_owned() }),
        Err(source) => return Err(pem_error(key_path, source)),
    };

    let config_error = |source| TlsError::Config { cert: cert_path.to_owned(), key: key_path.to_owned(), source };
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(config_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(config_error)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// A throwaway CA and a server certificate it signed for `localhost` and
    /// 127.0.0.1, written as PEM into `dir`.
    pub struct TestPki {
        pub ca: CertificateDer<'static>,
        pub cert_path: PathBuf,
        pub key_path: PathBuf,
    }

    impl TestPki {
        pub fn new(dir: &Path) -> TestPki {
            std::fs::create_dir_all(dir).unwrap();
            let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
            ca_params.distinguished_name.push(DnType::CommonName, "omnibus test CA");
            ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
            params.distinguished_name.push(DnType::CommonName, "localhost");
            let cert = params.signed_by(&key, &ca).unwrap();
            let cert_path = dir.join("server.pem");
            let key_path = dir.join("server.key");
            std::fs::write(&cert_path, cert.pem() + &ca.pem()).unwrap();
            std::fs::write(&key_path, key.serialize_pem()).unwrap();
            TestPki { ca: ca.der().clone(), cert_path, key_path }
        }

        /// A client that trusts only this CA.
        pub fn connector(&self) -> tokio_rustls::TlsConnector {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca.clone()).unwrap();
            let config =
                rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_root_certificates(roots)
                    .with_no_client_auth();
            tokio_rustls::TlsConnector::from(Arc::new(config))
        }
    }

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("omnibus-dp-tls-{}", uuid::Uuid::new_v4()))
    }

    #[tokio::test]
    async fn a_client_trusting_the_ca_completes_the_handshake() {
        let dir = temp_dir();
        let pki = TestPki::new(&dir);
        let acceptor = acceptor(&pki.cert_path, &pki.key_path).unwrap();
        let (client, server) = tokio::io::duplex(16 * 1024);
        let server = tokio::spawn(async move {
            let mut stream = acceptor.accept(server).await.unwrap();
            let mut buf = [0; 5];
            stream.read_exact(&mut buf).await.unwrap();
            stream.write_all(&buf).await.unwrap();
            stream.shutdown().await.unwrap();
        });
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut client = pki.connector().connect(name, client).await.unwrap();
        client.write_all(b"hello").await.unwrap();
        let mut echoed = Vec::new();
        client.read_to_end(&mut echoed).await.unwrap();
        assert_eq!(echoed, b"hello");
        server.await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn every_loading_failure_names_its_file() {
        let dir = temp_dir();
        let pki = TestPki::new(&dir);
        let missing = dir.join("missing.pem");
        let error = acceptor(&missing, &pki.key_path).err().unwrap().to_string();
        assert!(error.contains("certificate file") && error.contains("missing.pem"), "{error}");
        let error = acceptor(&pki.cert_path, &missing).err().unwrap().to_string();
        assert!(error.contains("private key file") && error.contains("missing.pem"), "{error}");

        // The key where the certificate belongs, and the certificate where the key belongs.
        let error = acceptor(&pki.key_path, &pki.key_path).err().unwrap().to_string();
        assert!(error.contains("no PEM CERTIFICATE") && error.contains("server.key"), "{error}");
        let error = acceptor(&pki.cert_path, &pki.cert_path).err().unwrap().to_string();
        assert!(error.contains("no PEM private key") && error.contains("server.pem"), "{error}");

        // A key that is not the certificate's.
        let other = TestPki::new(&dir.join("other"));
        let error = acceptor(&pki.cert_path, &other.key_path).err().unwrap().to_string();
        assert!(error.contains("not usable together") && error.contains("other/server.key"), "{error}");

        assert!(matches!(configured(Some(&pki.cert_path), None), Err(TlsError::KeyPathMissing)));
        assert!(matches!(configured(None, Some(&pki.key_path)), Err(TlsError::CertPathMissing)));
        assert!(configured(None, None).unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
