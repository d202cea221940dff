//! `tls-init`: a small certificate authority and a server certificate signed by it, so
//! that TLS works on the first try.
//!
//! The usual one-line recipe (`openssl req -x509 ...`) makes a self-signed certificate
//! that says it is a CA (basic constraints `CA:TRUE`, OpenSSL's default). rustls, and so
//! this binary's own client commands, refuse such a certificate as a server's
//! (`CaUsedAsEndEntity`), as the Web PKI rules say they should. What works is the shape
//! every real deployment has: a CA that clients trust, and a server certificate, not a CA,
//! that it signed for the server's names. This command writes exactly that, and nothing
//! more: one CA, one server certificate, their keys (owner-only, like every file of the
//! registry that must stay private), and never over existing files unless told to.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{Datelike, Days, NaiveDate, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use super::CommandError;
use crate::private_files::create_private_file;

/// The names a certificate is made for when none are given: a server on this machine.
pub const DEFAULT_TLS_HOSTS: [&str; 2] = ["localhost", "127.0.0.1"];

/// How long the CA is valid: long, since replacing it means giving every client a new one.
const CA_DAYS: u64 = 10 * 365;
/// How long the server certificate is valid; a new one is signed by running the command
/// again into a new directory (which makes a new CA too).
const SERVER_DAYS: u64 = 2 * 365;

/// The four files `tls-init` writes into its directory.
#[derive(Debug, Clone)]
pub struct TlsInitFiles {
    /// The CA certificate, for clients (`TEACHER_REGISTRY_CA_FILE`) and `--tls-client-ca`.
    pub ca_cert: PathBuf,
    /// The CA's private key (0600): it signs certificates; keep it away from the server.
    pub ca_key: PathBuf,
    /// The server certificate followed by the CA certificate (`--tls-cert`).
    pub server_cert: PathBuf,
    /// The server's private key (0600, `--tls-key`).
    pub server_key: PathBuf,
}

impl TlsInitFiles {
    fn in_dir(dir: &Path) -> TlsInitFiles {
        TlsInitFiles {
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
        }
    }

    fn all(&self) -> [&Path; 4] {
        [
            &self.ca_cert,
            &self.ca_key,
            &self.server_cert,
            &self.server_key,
        ]
    }
}

/// Writes a CA and a server certificate for `hosts` (DNS names or IP addresses) into
/// `dir`, creating it if missing, and reports to `out` what each file is for. The keys
/// are created readable by their owner only.
///
/// Fails with a usage error for a host that is neither a DNS name nor an IP address, is
/// refused when any of the four files exists and `replace` is not set, and fails when a
/// file cannot be written.
pub fn tls_init(
    dir: &Path,
    hosts: &[String],
    replace: bool,
    out: &mut impl Write,
) -> anyhow::Result<TlsInitFiles> {
    let files = TlsInitFiles::in_dir(dir);
    if !replace {
        if let Some(existing) = files.all().into_iter().find(|path| path.exists()) {
            return Err(CommandError::Refused(format!(
                "{} already exists: a CA or key there may be in use; choose another \
                 directory, or add --force to replace all four files",
                existing.display()
            ))
            .into());
        }
    }
    let hosts: Vec<String> = match hosts {
        [] => DEFAULT_TLS_HOSTS.map(String::from).to_vec(),
        given => given.to_vec(),
    };
    let today = Utc::now().date_naive();

    let ca_key = KeyPair::generate().context("cannot generate the CA's key")?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = name("teacher-registry CA");
    // A path length of 0: this CA signs server (and client) certificates, never other CAs.
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    set_validity(&mut ca_params, today, CA_DAYS);
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .context("cannot sign the CA certificate")?;

    let server_key = KeyPair::generate().context("cannot generate the server's key")?;
    let mut server_params = CertificateParams::new(hosts.clone()).map_err(|e| {
        CommandError::Usage(format!(
            "--host takes DNS names and IP addresses ({}): {e}",
            hosts.join(", ")
        ))
    })?;
    server_params.distinguished_name = name(&hosts[0]);
    server_params.is_ca = IsCa::ExplicitNoCa;
    server_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.use_authority_key_identifier_extension = true;
    set_validity(&mut server_params, today, SERVER_DAYS);
    let server_cert = server_params
        .signed_by(&server_key, &Issuer::from_params(&ca_params, &ca_key))
        .context("cannot sign the server certificate")?;

    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_public(&files.ca_cert, &ca_cert.pem())?;
    write_private(&files.ca_key, &ca_key.serialize_pem())?;
    // The chain a client needs to build the path to the CA: server first, then the CA.
    write_public(
        &files.server_cert,
        &format!("{}{}", server_cert.pem(), ca_cert.pem()),
    )?;
    write_private(&files.server_key, &server_key.serialize_pem())?;

    let until = today + Days::new(SERVER_DAYS);
    writeln!(
        out,
        "{}  the CA certificate: clients trust it (TEACHER_REGISTRY_CA_FILE)",
        files.ca_cert.display()
    )?;
    writeln!(
        out,
        "{}  the CA's key (owner-only): it signs certificates; keep it off the server",
        files.ca_key.display()
    )?;
    writeln!(
        out,
        "{}  the server certificate for {}, valid until {until}",
        files.server_cert.display(),
        hosts.join(", ")
    )?;
    writeln!(
        out,
        "{}  the server's key (owner-only)",
        files.server_key.display()
    )?;
    writeln!(
        out,
        "serve with: --tls-cert {} --tls-key {}",
        files.server_cert.display(),
        files.server_key.display()
    )?;
    Ok(files)
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

/// From yesterday (a client whose clock is a little behind still accepts it) for `days`.
/// (rcgen's own default is 1975 to 4096.)
fn set_validity(params: &mut CertificateParams, today: NaiveDate, days: u64) {
    let at = |date: NaiveDate| {
        // A month is 1..=12 and a day 1..=31: both fit a u8.
        rcgen::date_time_ymd(date.year(), date.month() as u8, date.day() as u8)
    };
    params.not_before = at(today - Days::new(1));
    params.not_after = at(today + Days::new(days));
}

fn write_public(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    create_private_file(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}
