//! TLS for the webhook: rustls with ring only, TLS 1.2+, HTTP/2 and HTTP/1.1 by ALPN,
//! an optional client-certificate requirement, and certificates reloaded from disk
//! while serving — including the symlink swap of a Kubernetes Secret volume — without
//! touching open connections (new handshakes get the new certificate).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why certificates cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("cannot read {path}", path = .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No certificate in the PEM.
    #[error("{what}: no PEM certificate found")]
    NoCertificate {
        /// Which file.
        what: String,
    },
    /// The key does not parse.
    #[error("{what}: no PEM private key found")]
    NoKey {
        /// Which file.
        what: String,
    },
    /// rustls refused the pair (e.g. the key does not match the certificate).
    #[error("the certificate and key cannot be used together")]
    Rustls(#[from] rustls::Error),
    /// The client CA bundle cannot be used.
    #[error("cannot use the client CA bundle")]
    ClientCa(#[from] rustls::server::VerifierBuilderError),
}

/// The crypto provider: ring, and only ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { what: what.into() });
    }
    Ok(certs)
}

/// The serving certificate and key, checked to belong together, and the certificate's
/// expiry (Unix seconds).
pub fn certified_key(cert_pem: &[u8], key_pem: &[u8]) -> Result<(CertifiedKey, i64), TlsError> {
    let certs = certificates(cert_pem, "certificate")?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|_| TlsError::NoKey { what: "key".into() })?;
    let expiry = x509_parser::parse_x509_certificate(&certs[0])
        .map(|(_, c)| c.validity().not_after.timestamp())
        .unwrap_or(0);
    let key = CertifiedKey::from_der(certs, key, &provider())?;
    Ok((key, expiry))
}

/// Serves the current certificate; swapped atomically on reload.
#[derive(Debug)]
pub struct ReloadingResolver {
    current: ArcSwap<CertifiedKey>,
    expiry: AtomicI64,
}

impl ReloadingResolver {
    /// A resolver serving `key`.
    pub fn new(key: CertifiedKey, expiry: i64) -> Self {
        Self {
            current: ArcSwap::from_pointee(key),
            expiry: AtomicI64::new(expiry),
        }
    }

    /// Replaces the certificate for new handshakes.
    pub fn replace(&self, key: CertifiedKey, expiry: i64) {
        self.current.store(Arc::new(key));
        self.expiry.store(expiry, Ordering::Relaxed);
    }

    /// The current certificate's expiry (Unix seconds).
    pub fn expiry(&self) -> i64 {
        self.expiry.load(Ordering::Relaxed)
    }
}

impl ResolvesServerCert for ReloadingResolver {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The server configuration: TLS 1.2 and 1.3, h2 and http/1.1, and a client
/// certificate signed by `client_ca` when one is given.
pub fn server_config(
    resolver: Arc<ReloadingResolver>,
    client_ca: Option<&Path>,
) -> Result<ServerConfig, TlsError> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let pem = std::fs::read(path).map_err(|source| TlsError::Read {
                path: path.to_owned(),
                source,
            })?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates(&pem, &path.display().to_string())? {
                roots.add(cert)?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()).build()?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Loads the pair from files.
pub fn load(cert: &Path, key: &Path) -> Result<(CertifiedKey, i64), TlsError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| TlsError::Read {
            path: p.to_owned(),
            source,
        })
    };
    certified_key(&read(cert)?, &read(key)?)
}

/// Watches the certificate and key files and swaps the served certificate when they
/// change. Polling (every `interval`) follows Secret-volume symlink swaps, which file
/// notifications report unreliably; a pair that does not load yet (the certificate
/// written, the key not yet) is retried, and the old certificate kept meanwhile.
pub async fn watch(
    resolver: Arc<ReloadingResolver>,
    cert: PathBuf,
    key: PathBuf,
    interval: Duration,
) {
    let read_both = || Some((std::fs::read(&cert).ok()?, std::fs::read(&key).ok()?));
    let mut last = read_both();
    let mut last_error: Option<String> = None;
    loop {
        tokio::time::sleep(interval).await;
        let Some(now) = read_both() else { continue };
        if Some(&now) == last.as_ref() {
            continue;
        }
        match certified_key(&now.0, &now.1) {
            Ok((k, expiry)) => {
                resolver.replace(k, expiry);
                tracing::info!(cert = %cert.display(), expiry, "serving certificate reloaded");
                last = Some(now);
                last_error = None;
            }
            Err(e) => {
                let text = crate::shared::error_chain(&e);
                if last_error.as_deref() != Some(&text) {
                    tracing::warn!(error = %text, "new certificate not usable yet; keeping the current one");
                    last_error = Some(text);
                }
            }
        }
    }
}
