//! The auth file (TOML): reading it for the server, and the `token` command's edits to
//! it (add a principal, revoke one, rotate one's token).
//!
//! Tokens are made here from 32 random bytes and returned once; the file keeps only their
//! SHA-256. Every edit writes a whole new file beside the old one and renames it over,
//! so a server reloading at that moment reads either the old file or the new one. Errors
//! about the file give its path, the principal's name and a line number, but never a
//! line's text: a server log should not carry even token hashes.

use std::path::Path;

use anyhow::{bail, Context};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Principal, Role};
use crate::domain::{CityCode, CountyCode};

/// Each principal with the SHA-256 of its token, and of its pinned client certificate.
pub(super) type Principals = Vec<Entry>;

#[derive(Debug)]
pub(super) struct Entry {
    pub(super) principal: Principal,
    pub(super) token_sha256: [u8; 32],
    /// The client certificate (SHA-256 of its DER) the principal must present, if pinned.
    pub(super) client_cert_sha256: Option<[u8; 32]>,
}

/// The auth file: `[[principal]]` tables.
#[derive(Debug, Default, Serialize, Deserialize)]
struct AuthFile {
    #[serde(default, rename = "principal")]
    principals: Vec<PrincipalEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PrincipalEntry {
    name: String,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    county: Option<String>,
    /// For city principals: the prefecture-level code (e.g. 350700).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    /// Hex SHA-256 of the token.
    token_sha256: String,
    /// Optional: the SHA-256 of the client certificate (DER) this principal must present
    /// over mutual TLS, in hex, colons allowed (as `openssl x509 -noout -fingerprint
    /// -sha256` prints it). Its token alone, from any other certificate or without TLS,
    /// is then UNAUTHENTICATED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_cert_sha256: Option<String>,
}

/// The principals of the auth file at `path`, checked: printable unique names, a county
/// where the role needs one, unique well-formed hashes, at least one principal.
pub(super) fn principals(path: &Path) -> anyhow::Result<Principals> {
    let file = existing(path)?;
    let mut principals: Principals = Vec::new();
    for entry in file.principals {
        let principal = check_entry(&entry)
            .with_context(|| format!("principal {:?} in {}", entry.name, path.display()))?;
        let hash = decode_hash(&entry.token_sha256)
            .with_context(|| format!("principal {:?}: token_sha256", entry.name))?;
        let pinned = match &entry.client_cert_sha256 {
            Some(text) => Some(
                decode_hash(&text.replace(':', ""))
                    .with_context(|| format!("principal {:?}: client_cert_sha256", entry.name))?,
            ),
            None => None,
        };
        if principals
            .iter()
            .any(|e| e.principal.name == principal.name || e.token_sha256 == hash)
        {
            bail!(
                "principal {:?} in {}: names and tokens must be unique",
                principal.name,
                path.display()
            );
        }
        principals.push(Entry {
            principal,
            token_sha256: hash,
            client_cert_sha256: pinned,
        });
    }
    if principals.is_empty() {
        bail!("the auth file {} lists no principal", path.display());
    }
    Ok(principals)
}

/// Adds a principal to the auth file (created if missing) and returns its new token,
/// which is stored only as a hash. Refuses a name already in the file.
pub fn add_principal(
    path: &Path,
    name: &str,
    role: Role,
    county: Option<&str>,
) -> anyhow::Result<String> {
    let mut file = read(path)?.unwrap_or_default();
    if file.principals.iter().any(|p| p.name == name.trim()) {
        bail!("the auth file already has a principal named {name:?}");
    }
    let (token, token_sha256) = new_token();
    // `county` is the principal's area: a city principal's is its city.
    let area = county.map(|c| c.trim().to_string());
    let (county, city) = match role {
        Role::City => (None, area),
        _ => (area, None),
    };
    let entry = PrincipalEntry {
        name: name.trim().to_string(),
        role,
        county,
        city,
        token_sha256,
        client_cert_sha256: None,
    };
    check_entry(&entry)?;
    file.principals.push(entry);
    write(path, &file)?;
    Ok(token)
}

/// Removes the principal named `name` from the auth file. Its token stops working when a
/// server reloads the file (SIGHUP) or restarts. Refuses to remove the last principal (a
/// server will not start on an auth file without one) and an unknown name.
pub fn revoke_principal(path: &Path, name: &str) -> anyhow::Result<()> {
    let mut file = existing(path)?;
    let position = position(&file, path, name)?;
    if file.principals.len() == 1 {
        bail!(
            "{name:?} is the only principal in {}: a server needs at least one; add another \
             principal first",
            path.display()
        );
    }
    file.principals.remove(position);
    write(path, &file)
}

/// Gives the principal named `name` a new token and returns it; the old one stops working
/// when a server reloads the file (SIGHUP) or restarts. Name, role and county stay.
pub fn rotate_token(path: &Path, name: &str) -> anyhow::Result<String> {
    let mut file = existing(path)?;
    let position = position(&file, path, name)?;
    let (token, token_sha256) = new_token();
    file.principals[position].token_sha256 = token_sha256;
    write(path, &file)?;
    Ok(token)
}

/// The file at `path`; `None` if there is none.
fn read(path: &Path) -> anyhow::Result<Option<AuthFile>> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read the auth file {}", path.display())),
    }
}

/// The file at `path`, which must be there.
fn existing(path: &Path) -> anyhow::Result<AuthFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the auth file {}", path.display()))?;
    parse(path, &text)
}

fn parse(path: &Path, text: &str) -> anyhow::Result<AuthFile> {
    toml::from_str(text).map_err(|e| {
        // toml's own display quotes the offending line, which may hold a token hash.
        let line = e.span().map(|span| {
            let before = &text[..span.start.min(text.len())];
            before.matches('\n').count() + 1
        });
        let at = line
            .map(|line| format!(" at line {line}"))
            .unwrap_or_default();
        anyhow::anyhow!(
            "the auth file {} is not valid{at}: {}",
            path.display(),
            e.message().trim_end()
        )
    })
}

fn position(file: &AuthFile, path: &Path, name: &str) -> anyhow::Result<usize> {
    file.principals
        .iter()
        .position(|p| p.name == name.trim())
        .with_context(|| format!("{} has no principal named {name:?}", path.display()))
}

/// Writes the file beside `path`, then renames it over. A file that existed keeps its
/// permissions (the server may run as another user, allowed to read it by its group); a
/// new one gets the umask's, as before: it holds hashes of random tokens, nothing a reader
/// could turn back into a token.
fn write(path: &Path, file: &AuthFile) -> anyhow::Result<()> {
    let text = toml::to_string_pretty(file)?;
    let aside = path.with_extension("tmp");
    let written = (|| -> std::io::Result<()> {
        // Owner-only unless the file it replaces was opened wider (a group that runs the
        // server, say): edits keep an operator's choice, and a new file is private.
        let mut out = crate::private_files::create_private_file(&aside)?;
        if let Ok(existing) = std::fs::metadata(path) {
            out.set_permissions(existing.permissions())?;
        }
        std::io::Write::write_all(&mut out, text.as_bytes())?;
        out.sync_all()
    })();
    written.with_context(|| format!("cannot write {}", aside.display()))?;
    std::fs::rename(&aside, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// A new token and the hex SHA-256 the file keeps of it.
fn new_token() -> (String, String) {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!("trg_{}", URL_SAFE_NO_PAD.encode(secret));
    let hash = Sha256::digest(token.as_bytes());
    (token, hex::encode(hash))
}

fn check_entry(entry: &PrincipalEntry) -> anyhow::Result<Principal> {
    if entry.name.trim().is_empty() || entry.name.chars().any(char::is_control) {
        bail!("a principal needs a printable name");
    }
    let county = match &entry.county {
        Some(code) => Some(CountyCode::parse(code).map_err(|e| anyhow::anyhow!("county: {e}"))?),
        None => None,
    };
    let city = match &entry.city {
        Some(code) => Some(CityCode::parse(code).map_err(|e| anyhow::anyhow!("city: {e}"))?),
        None => None,
    };
    match (entry.role, &county, &city) {
        (Role::County, None, _) => bail!("a county principal needs a county"),
        (Role::Admin | Role::Hr | Role::Reader | Role::City, Some(_), _) => {
            bail!("only county and importer principals have a county")
        }
        (Role::City, _, None) => bail!("a city principal needs a city (e.g. 350700)"),
        (role, _, Some(_)) if role != Role::City => bail!("only city principals have a city"),
        _ => {}
    }
    Ok(Principal {
        name: entry.name.trim().to_string(),
        role: entry.role,
        county,
        city,
    })
}

fn decode_hash(text: &str) -> anyhow::Result<[u8; 32]> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut hash)
        .map_err(|_| anyhow::anyhow!("must be 64 hex digits"))?;
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::super::Authenticator;
    use super::*;

    #[test]
    fn revoked_and_rotated_tokens_stop_working_at_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.toml");
        let root = add_principal(&path, "root", Role::Admin, None).unwrap();
        let bureau = add_principal(&path, "yanping", Role::County, Some("350702")).unwrap();
        let auth = Authenticator::load(&path).unwrap();
        let bearer = |token: &str| format!("Bearer {token}");

        #[cfg(unix)]
        use std::os::unix::fs::PermissionsExt;
        #[cfg(unix)]
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let rotated = rotate_token(&path, "yanping").unwrap();
        assert_ne!(rotated, bureau);
        #[cfg(unix)]
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640,
            "an edit keeps the file's permissions, so the server's user can still read it"
        );
        // Until the reload, the old token still works and the new one does not.
        assert!(auth.authenticate(Some(&bearer(&bureau))).is_ok());
        assert_eq!(auth.reload().unwrap(), 2);
        assert!(auth.authenticate(Some(&bearer(&bureau))).is_err());
        let p = auth.authenticate(Some(&bearer(&rotated))).unwrap();
        assert_eq!((p.name.as_str(), p.role), ("yanping", Role::County));
        assert_eq!(p.county.unwrap().as_str(), "350702");

        revoke_principal(&path, "yanping").unwrap();
        assert_eq!(auth.reload().unwrap(), 1);
        assert!(auth.authenticate(Some(&bearer(&rotated))).is_err());
        assert!(auth.authenticate(Some(&bearer(&root))).is_ok());

        let unknown = revoke_principal(&path, "nobody").unwrap_err().to_string();
        assert!(
            unknown.contains("no principal named \"nobody\""),
            "{unknown}"
        );
        assert!(rotate_token(&path, "nobody").is_err());
        let last = revoke_principal(&path, "root").unwrap_err().to_string();
        assert!(last.contains("only principal"), "{last}");
    }

    #[test]
    fn a_reload_that_fails_keeps_the_principals_and_quotes_no_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.toml");
        let root = add_principal(&path, "root", Role::Admin, None).unwrap();
        let auth = Authenticator::load(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let hash = text.split('"').find(|part| part.len() == 64).unwrap();
        // A half-edited file: the hash's closing quote is missing.
        std::fs::write(&path, text.replace(&format!("{hash}\""), hash)).unwrap();

        let error = format!("{:#}", auth.reload().unwrap_err());
        assert!(error.contains("is not valid at line"), "{error}");
        assert!(!error.contains(hash), "the error quotes the hash: {error}");
        assert_eq!(auth.len(), 1);
        assert!(auth.authenticate(Some(&format!("Bearer {root}"))).is_ok());
    }
}
