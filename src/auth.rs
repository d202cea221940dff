//! Who may do what: principals with bearer tokens, their roles, and the one table that
//! says which role may call which RPC.
//!
//! The auth file (TOML) lists principals by name, role, county (for county-scoped roles)
//! and the SHA-256 of their token; the token itself is shown once, when it is made, and
//! never stored. A presented token is hashed and compared with every entry in constant
//! time, so neither a wrong token nor a near miss can be told apart by timing.

use std::fmt;
use std::path::Path;

use anyhow::{bail, Context};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::CountyCode;

/// What a principal may do; see [`permits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Title changes and transitions; reads everything.
    Hr,
    /// Creates, updates, imports, certificates and sync, in its own county only.
    County,
    /// ImportTeachers only, optionally in one county.
    Importer,
    /// Reads only, with identity numbers masked.
    Reader,
}

impl Role {
    pub fn parse(raw: &str) -> Result<Role, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "hr" => Ok(Role::Hr),
            "county" => Ok(Role::County),
            "importer" => Ok(Role::Importer),
            "reader" => Ok(Role::Reader),
            other => Err(format!(
                "unknown role {other:?}: admin, hr, county, importer or reader"
            )),
        }
    }
}

/// The RPCs, for authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rpc {
    CreateTeacher,
    GetTeacher,
    LookupTeacher,
    ListTeachers,
    SearchTeachers,
    UpdateTeacher,
    IssueCertificate,
    ReissueCertificate,
    RegisterCertificate,
    RevokeCertificate,
    ChangeTitle,
    TransitionTitles,
    GetStatistics,
    ListChanges,
    WatchChanges,
    ImportTeachers,
    /// Reads only, but everything, full identity numbers included: admins only.
    BackupRegistry,
    OpenCase,
    GetCase,
    ListCases,
    AcceptCase,
    RefuseCase,
    RequestSupplement,
    ReceiveSupplement,
    ForwardCase,
    AssignCase,
    WithdrawCase,
    DecideCase,
}

impl Rpc {
    pub const ALL: [Rpc; 28] = [
        Rpc::CreateTeacher,
        Rpc::GetTeacher,
        Rpc::LookupTeacher,
        Rpc::ListTeachers,
        Rpc::SearchTeachers,
        Rpc::UpdateTeacher,
        Rpc::IssueCertificate,
        Rpc::ReissueCertificate,
        Rpc::RegisterCertificate,
        Rpc::RevokeCertificate,
        Rpc::ChangeTitle,
        Rpc::TransitionTitles,
        Rpc::GetStatistics,
        Rpc::ListChanges,
        Rpc::WatchChanges,
        Rpc::ImportTeachers,
        Rpc::BackupRegistry,
        Rpc::OpenCase,
        Rpc::GetCase,
        Rpc::ListCases,
        Rpc::AcceptCase,
        Rpc::RefuseCase,
        Rpc::RequestSupplement,
        Rpc::ReceiveSupplement,
        Rpc::ForwardCase,
        Rpc::AssignCase,
        Rpc::WithdrawCase,
        Rpc::DecideCase,
    ];

    /// Whether the RPC only reads.
    pub fn reads_only(self) -> bool {
        matches!(
            self,
            Rpc::GetTeacher
                | Rpc::LookupTeacher
                | Rpc::ListTeachers
                | Rpc::SearchTeachers
                | Rpc::GetStatistics
                | Rpc::ListChanges
                | Rpc::WatchChanges
                | Rpc::GetCase
                | Rpc::ListCases
        )
    }

    /// Whether the RPC is a step of a case (window staff's work).
    pub fn is_case_step(self) -> bool {
        matches!(
            self,
            Rpc::OpenCase
                | Rpc::AcceptCase
                | Rpc::RefuseCase
                | Rpc::RequestSupplement
                | Rpc::ReceiveSupplement
                | Rpc::ForwardCase
                | Rpc::AssignCase
                | Rpc::WithdrawCase
                | Rpc::DecideCase
        )
    }
}

/// The authorization table: whether `role` may call `rpc` at all. County scoping (which
/// teachers) is applied on top, where the data is.
pub fn permits(role: Role, rpc: Rpc) -> bool {
    use Rpc::*;
    match role {
        Role::Admin => true,
        Role::Reader => rpc.reads_only(),
        Role::Hr => rpc.reads_only() || matches!(rpc, ChangeTitle | TransitionTitles),
        Role::County => {
            rpc.reads_only()
                || rpc.is_case_step()
                || matches!(
                    rpc,
                    CreateTeacher
                        | UpdateTeacher
                        | ImportTeachers
                        | IssueCertificate
                        | ReissueCertificate
                        | RegisterCertificate
                        | RevokeCertificate
                )
        }
        Role::Importer => rpc == ImportTeachers,
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// For county roles (and county-scoped importers): the only county they may touch.
    pub county: Option<CountyCode>,
}

/// The name recorded for callers when authentication is off.
pub const ANONYMOUS: &str = "anonymous";

impl Principal {
    /// The caller when the server runs without an auth file (loopback only): may do all.
    pub fn anonymous() -> Principal {
        Principal {
            name: ANONYMOUS.to_string(),
            role: Role::Admin,
            county: None,
        }
    }

    /// Whether identity numbers must be masked in what this caller sees.
    pub fn sees_masked_identities(&self) -> bool {
        self.role == Role::Reader
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?}", self.name, self.role)?;
        if let Some(county) = &self.county {
            write!(f, ", county {}", county.as_str())?;
        }
        write!(f, ")")
    }
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
    /// Hex SHA-256 of the token.
    token_sha256: String,
}

/// The principals the server knows, ready to authenticate tokens.
#[derive(Debug, Clone)]
pub struct Authenticator {
    principals: Vec<(Principal, [u8; 32])>,
}

/// Why a token was not accepted. Deliberately says nothing about which principal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token: send `authorization: Bearer <token>`")]
    Missing,
    #[error("malformed authorization header: expected `Bearer <token>`")]
    Malformed,
    #[error("unknown token")]
    Unknown,
}

impl Authenticator {
    /// Reads and checks the auth file.
    pub fn load(path: &Path) -> anyhow::Result<Authenticator> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the auth file {}", path.display()))?;
        let file: AuthFile = toml::from_str(&text)
            .with_context(|| format!("the auth file {} is not valid", path.display()))?;
        let mut principals = Vec::new();
        for entry in file.principals {
            let principal = check_entry(&entry)
                .with_context(|| format!("principal {:?} in {}", entry.name, path.display()))?;
            let hash = decode_hash(&entry.token_sha256)
                .with_context(|| format!("principal {:?}: token_sha256", entry.name))?;
            if principals
                .iter()
                .any(|(p, h): &(Principal, [u8; 32])| p.name == principal.name || *h == hash)
            {
                bail!(
                    "principal {:?} in {}: names and tokens must be unique",
                    principal.name,
                    path.display()
                );
            }
            principals.push((principal, hash));
        }
        if principals.is_empty() {
            bail!("the auth file {} lists no principal", path.display());
        }
        Ok(Authenticator { principals })
    }

    /// The principal holding the token in an `authorization` header value.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Malformed)?;
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Compare with every entry, always, so the time taken says nothing.
        let mut found = None;
        for (principal, hash) in &self.principals {
            if constant_time_eq(&presented, hash) {
                found = Some(principal);
            }
        }
        found.cloned().ok_or(AuthError::Unknown)
    }
}

fn check_entry(entry: &PrincipalEntry) -> anyhow::Result<Principal> {
    if entry.name.trim().is_empty() || entry.name.chars().any(char::is_control) {
        bail!("a principal needs a printable name");
    }
    let county = match &entry.county {
        Some(code) => Some(CountyCode::parse(code).map_err(|e| anyhow::anyhow!("county: {e}"))?),
        None => None,
    };
    match (entry.role, &county) {
        (Role::County, None) => bail!("a county principal needs a county"),
        (Role::Admin | Role::Hr | Role::Reader, Some(_)) => {
            bail!("only county and importer principals have a county")
        }
        _ => {}
    }
    Ok(Principal {
        name: entry.name.trim().to_string(),
        role: entry.role,
        county,
    })
}

fn decode_hash(hex: &str) -> anyhow::Result<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("must be 64 hex digits");
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
    }
    Ok(hash)
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Adds a principal to the auth file (created if missing) and returns its new token,
/// which is stored only as a hash. Refuses a name already in the file.
pub fn add_principal(
    path: &Path,
    name: &str,
    role: Role,
    county: Option<&str>,
) -> anyhow::Result<String> {
    let mut file: AuthFile = match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .with_context(|| format!("the auth file {} is not valid", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => AuthFile::default(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if file.principals.iter().any(|p| p.name == name.trim()) {
        bail!("the auth file already has a principal named {name:?}");
    }
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!("trg_{}", URL_SAFE_NO_PAD.encode(secret));
    let hash = Sha256::digest(token.as_bytes());
    let entry = PrincipalEntry {
        name: name.trim().to_string(),
        role,
        county: county.map(|c| c.trim().to_string()),
        token_sha256: hash.iter().map(|b| format!("{b:02x}")).collect(),
    };
    check_entry(&entry)?;
    file.principals.push(entry);
    let text = toml::to_string_pretty(&file)?;
    let aside = path.with_extension("tmp");
    std::fs::write(&aside, text).with_context(|| format!("cannot write {}", aside.display()))?;
    std::fs::rename(&aside, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_roles() {
        for rpc in Rpc::ALL {
            assert!(permits(Role::Admin, rpc));
            assert_eq!(permits(Role::Reader, rpc), rpc.reads_only(), "{rpc:?}");
            assert_eq!(permits(Role::Importer, rpc), rpc == Rpc::ImportTeachers);
        }
        assert!(permits(Role::Hr, Rpc::TransitionTitles));
        assert!(!permits(Role::Hr, Rpc::CreateTeacher));
        assert!(permits(Role::County, Rpc::ReissueCertificate));
        assert!(!permits(Role::County, Rpc::ChangeTitle));
    }

    #[test]
    fn tokens_are_stored_hashed_and_authenticate_their_principal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.toml");
        let admin = add_principal(&path, "root", Role::Admin, None).unwrap();
        let county = add_principal(&path, "yanping", Role::County, Some("350702")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&admin) && !text.contains(&county), "{text}");
        assert!(add_principal(&path, "root", Role::Reader, None).is_err());
        assert!(add_principal(&path, "nowhere", Role::County, None).is_err());

        let auth = Authenticator::load(&path).unwrap();
        let p = auth
            .authenticate(Some(&format!("Bearer {county}")))
            .unwrap();
        assert_eq!((p.name.as_str(), p.role), ("yanping", Role::County));
        assert_eq!(p.county.unwrap().as_str(), "350702");
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {admin}")))
                .unwrap()
                .role,
            Role::Admin
        );
        assert_eq!(auth.authenticate(None), Err(AuthError::Missing));
        assert_eq!(auth.authenticate(Some(&admin)), Err(AuthError::Malformed));
        assert_eq!(
            auth.authenticate(Some("Bearer ")),
            Err(AuthError::Malformed)
        );
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {admin}x"))),
            Err(AuthError::Unknown)
        );
    }
}
