//! Certificates for the webhook: a CA and a serving certificate signed by it, for
//! `stackhook certs` and for `serve` without certificates (self-signed mode).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// Why certificates could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// rcgen refused the parameters (e.g. an invalid DNS name).
    #[error("cannot make the certificates")]
    Generate(#[from] rcgen::Error),
    /// A file could not be written.
    #[error("cannot write {path}", path = .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A CA and a serving certificate, PEM-encoded.
pub struct Bundle {
    /// The CA certificate (the webhook configuration's `caBundle`).
    pub ca_pem: String,
    /// The serving certificate.
    pub cert_pem: String,
    /// The serving certificate's private key.
    pub key_pem: String,
}

/// How long the CA is valid.
const CA_DAYS: i64 = 3650;
/// How long the serving certificate is valid.
const CERT_DAYS: i64 = 365;

/// Makes a CA and a serving certificate for `dns_names` (the first is the subject),
/// plus 127.0.0.1 and ::1 when `localhost` is among them.
pub fn generate(dns_names: &[String]) -> Result<Bundle, CertError> {
    let now = OffsetDateTime::now_utc();
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name = DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::CommonName, "stackhook webhook CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = now - Duration::hours(1);
    ca.not_after = now + Duration::days(CA_DAYS);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

    let mut names = dns_names.to_vec();
    if names.iter().any(|n| n == "localhost") {
        names.push("127.0.0.1".into());
        names.push("::1".into());
    }
    let mut leaf = CertificateParams::new(names)?;
    leaf.distinguished_name = DistinguishedName::new();
    leaf.distinguished_name.push(
        DnType::CommonName,
        dns_names.first().map_or("stackhook", String::as_str),
    );
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.not_before = now - Duration::hours(1);
    leaf.not_after = now + Duration::days(CERT_DAYS);
    let key = KeyPair::generate()?;
    let cert = leaf.signed_by(&key, &ca)?;
    Ok(Bundle {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Writes `text` to `path`, owner-only when it is a private key.
pub fn write_file(path: &Path, text: &str, private: bool) -> Result<(), CertError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let err = |source| CertError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(path)
        .map_err(err)?;
    file.write_all(text.as_bytes()).map_err(err)
}

/// Writes `ca.crt`, `tls.crt` and `tls.key` into `dir`.
pub fn write_bundle(bundle: &Bundle, dir: &Path) -> Result<[PathBuf; 3], CertError> {
    let paths = [dir.join("ca.crt"), dir.join("tls.crt"), dir.join("tls.key")];
    write_file(&paths[0], &bundle.ca_pem, false)?;
    write_file(&paths[1], &bundle.cert_pem, false)?;
    write_file(&paths[2], &bundle.key_pem, true)?;
    Ok(paths)
}
