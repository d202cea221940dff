//! Authentication: the principals of the auth file, held for the server's gate, and the
//! bearer token (and pinned client certificate) of a request checked against them. Apart
//! from [`crate::auth`]'s model of roles and RPCs, which names nothing of the file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use super::file::{self, Principals};
use super::Principal;

/// The principals the server knows, ready to authenticate tokens.
///
/// Clones share one set of principals, so the server's gate sees a [`reload`] at once
/// (`serve` reloads on SIGHUP): a revoked or rotated token stops working without a restart.
///
/// [`reload`]: Authenticator::reload
#[derive(Debug, Clone)]
pub struct Authenticator {
    /// The file the principals were read from, read again by `reload`.
    path: PathBuf,
    /// Swapped whole on reload; a request authenticates against one consistent set.
    principals: Arc<RwLock<Arc<Principals>>>,
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
    /// The token's principal is pinned to a client certificate, and the connection did
    /// not present that one (or none).
    #[error("this token must come with the client certificate pinned to it in the auth file")]
    CertificateMismatch,
}

impl Authenticator {
    /// Reads and checks the auth file. Errors name the file, the principal and the line,
    /// never a token hash.
    pub fn load(path: &Path) -> anyhow::Result<Authenticator> {
        Ok(Authenticator {
            path: path.to_path_buf(),
            principals: Arc::new(RwLock::new(Arc::new(file::principals(path)?))),
        })
    }

    /// Reads the auth file again and, if it is valid, answers with its principals from now
    /// on; returns how many there are. If it is not valid, the principals already loaded
    /// stay in force and the error says why.
    pub fn reload(&self) -> anyhow::Result<usize> {
        let principals = file::principals(&self.path)?;
        let count = principals.len();
        *self.principals.write().expect("principals lock") = Arc::new(principals);
        Ok(count)
    }

    /// How many principals are in force.
    pub fn len(&self) -> usize {
        self.current().len()
    }

    /// Never true: a loaded auth file lists at least one principal.
    pub fn is_empty(&self) -> bool {
        self.current().is_empty()
    }

    /// The auth file this authenticator reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn current(&self) -> Arc<Principals> {
        self.principals.read().expect("principals lock").clone()
    }

    /// The principal holding the token in an `authorization` header value, on a
    /// connection without a client certificate.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        self.authenticate_on(header, None)
    }

    /// The principal holding the token in an `authorization` header value, on a
    /// connection whose client certificate (its DER's SHA-256) is `client_cert`: a
    /// principal pinned to a certificate is CertificateMismatch with any other, or none.
    pub fn authenticate_on(
        &self,
        header: Option<&str>,
        client_cert: Option<&[u8; 32]>,
    ) -> Result<Principal, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Malformed)?;
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Compare with every entry, always, so the time taken says nothing.
        let principals = self.current();
        let mut found = None;
        for entry in principals.iter() {
            if constant_time_eq(&presented, &entry.token_sha256) {
                found = Some(entry);
            }
        }
        let entry = found.ok_or(AuthError::Unknown)?;
        if let Some(pinned) = &entry.client_cert_sha256 {
            if !client_cert.is_some_and(|presented| constant_time_eq(presented, pinned)) {
                return Err(AuthError::CertificateMismatch);
            }
        }
        Ok(entry.principal.clone())
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}
