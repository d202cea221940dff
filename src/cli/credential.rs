//! The credential commands: `credential-key` (make the signing key), `credential issue`
//! (ask the registry for a certificate's credential and write its text and QR code) and
//! `verify-credential` (check one offline, with nothing but the public key).
//!
//! `verify-credential` is what an employer runs: it needs no server and no token, only
//! the registry's published public key. It can tell a forged credential from a genuine
//! one; whether a genuine one still holds (the certificate revoked since, the holder's
//! name changed) only the registry knows, so it says so and names the online check.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::FixedOffset;
use clap::{Args, Subcommand};

use super::{connect_channel, refusal, CommandError};
use crate::api::pb;
use crate::api::pb::credential_service_client::CredentialServiceClient;
use crate::credential::{self, CredentialError, CredentialFacts, PublicKey, SigningKey, PREFIX};

/// `teacher-registry credential-key FILE`.
#[derive(Debug, Args)]
pub struct CredentialKeyArgs {
    /// The key file to write: new (an existing file is never replaced), readable by you
    /// only. Give it to `serve --credential-key`.
    pub file: PathBuf,
}

/// `teacher-registry credential ...`.
#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Ask the registry for a certificate's signed credential and write it to
    /// DIR/credential.txt and its QR code to DIR/credential.png (admins; county staff for
    /// their county's certificates).
    Issue {
        /// The certificate's 17-digit number.
        certificate_number: String,
        /// The directory to write into (created if missing; the files are replaced).
        #[arg(long)]
        out: PathBuf,
        /// The registry: host:port, http://host:port, or https://host:port for TLS.
        #[arg(long, default_value = super::DEFAULT_SERVER, env = "TEACHER_REGISTRY_SERVER")]
        server: String,
    },
}

/// `teacher-registry verify-credential`.
#[derive(Debug, Args)]
pub struct VerifyCredentialArgs {
    /// The credential: its text (it starts with TRC1.) or a file holding it, such as
    /// credential.txt.
    pub credential: String,
    /// The registry's public key (ed25519:..., as `credential-key` printed it), or a file
    /// holding it.
    #[arg(long)]
    pub public_key: String,
}

/// Writes a new signing key to `args.file` and prints its public key alone on `out`.
pub fn run_credential_key(args: &CredentialKeyArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let public = SigningKey::create(&args.file)?;
    writeln!(out, "{public}")?;
    eprintln!(
        "key id {}: serve with --credential-key {}; publish the public key above for \
         employers (`verify-credential --public-key`), and keep the file secret",
        public.id(),
        args.file.display()
    );
    Ok(())
}

/// Runs a `credential` subcommand, printing what it did to `out`.
pub async fn run_credential(
    command: &CredentialCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let CredentialCommand::Issue {
        certificate_number,
        out: dir,
        server,
    } = command;
    let (channel, token) = connect_channel(server).await?;
    let mut client = CredentialServiceClient::with_interceptor(channel, token);
    let response = client
        .issue_credential(pb::IssueCredentialRequest {
            certificate_number: certificate_number.clone(),
        })
        .await
        .map_err(|status| refusal(status, "the credential was not issued"))?
        .into_inner();
    let key = response
        .key
        .as_ref()
        .map(|k| PublicKey::parse(&k.public_key))
        .transpose()?
        .context("the registry sent no public key with the credential")?;
    // Checked here as an employer will check it, before anything is written.
    let facts = credential::verify(&response.credential, &key)
        .context("the registry's credential does not verify under its own key")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let text_file = dir.join("credential.txt");
    let png_file = dir.join("credential.png");
    write(&text_file, format!("{}\n", response.credential).as_bytes())?;
    write(&png_file, &response.qr_png)?;
    writeln!(
        out,
        "credential for certificate {}",
        facts.certificate_number
    )?;
    write_facts(out, &facts)?;
    writeln!(out, "public key         {key}")?;
    writeln!(out, "written            {}", text_file.display())?;
    writeln!(out, "                   {}", png_file.display())?;
    Ok(())
}

/// Checks a credential's signature offline and prints what it states. A forged or
/// malformed credential is refused (exit 1), a public key that cannot be read is a usage
/// error (exit 2), a file that cannot be read exit 3.
pub fn run_verify_credential(
    args: &VerifyCredentialArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let key = public_key(&args.public_key)?;
    let text = if args.credential.trim().starts_with(&format!("{PREFIX}.")) {
        args.credential.clone()
    } else {
        std::fs::read_to_string(&args.credential)
            .with_context(|| format!("cannot read the credential file {}", args.credential))?
    };
    let facts = credential::verify(&text, &key).map_err(|error| match error {
        CredentialError::Malformed(_) => CommandError::Refused(error.to_string()),
        CredentialError::Forged { .. } | CredentialError::OtherKey { .. } => {
            CommandError::Refused(format!("FORGED: {error}"))
        }
    })?;
    writeln!(
        out,
        "signature valid: signed by the registry's key {}",
        key.id()
    )?;
    write_facts(out, &facts)?;
    writeln!(
        out,
        "checked offline: whether the certificate has been revoked, or these facts have \
         changed, since the credential was issued, only the registry can say \
         (CheckCredential)"
    )?;
    Ok(())
}

/// The key as given, or read from the file named.
fn public_key(given: &str) -> anyhow::Result<PublicKey> {
    let text = if given.trim().starts_with("ed25519:") {
        given.to_string()
    } else {
        std::fs::read_to_string(given)
            .with_context(|| format!("--public-key {given}: neither ed25519:... nor a file"))?
    };
    PublicKey::parse(&text).map_err(|e| CommandError::Usage(format!("--public-key: {e}")).into())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// The facts, one a line.
fn write_facts(out: &mut impl Write, facts: &CredentialFacts) -> std::io::Result<()> {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    let registered = facts
        .registration_valid_until
        .map_or_else(|| "no registration recorded".to_string(), |d| d.to_string());
    writeln!(out, "certificate number {}", facts.certificate_number)?;
    writeln!(out, "holder             {}", facts.holder_name)?;
    writeln!(out, "kind               {}", facts.kind)?;
    writeln!(out, "certified on       {}", facts.certified_on)?;
    writeln!(out, "issuing authority  {}", facts.issuing_authority)?;
    writeln!(out, "registered until   {registered}")?;
    writeln!(
        out,
        "issued             {}",
        facts
            .issued_at
            .with_timezone(&cst)
            .format("%Y-%m-%d %H:%M:%S %:z")
    )?;
    writeln!(out, "key id             {}", facts.key_id)
}
