//! The registry's credential signing key, and the public key employers check with.
//!
//! The key file is PKCS#8 in PEM (`-----BEGIN PRIVATE KEY-----`), the form
//! `openssl genpkey -algorithm ed25519` writes, so an operator may make it either way.
//! `teacher-registry credential-key` creates it owner-only and never over another file:
//! replacing a key makes every credential signed with it unverifiable.
//!
//! The public key's text form is `ed25519:` and the 32 key bytes in base64url; its key id
//! (16 hex digits of its SHA-256) goes into every credential, so a verifier holding
//! several keys (after a rotation) knows which one to use. Neither the key file's contents
//! nor the private key ever appear in a message or a log.

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use sha2::{Digest, Sha256};

use crate::private_files::create_new_private_file;

const PUBLIC_PREFIX: &str = "ed25519:";
const PEM_TAG: &str = "PRIVATE KEY";

/// Why a key could not be made, read or parsed. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path} already exists: a new key would make every credential signed with the old one unverifiable; choose another file")]
    Exists { path: String },
    #[error("cannot read the credential key {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the credential key {path}: {source}")]
    Unwritable {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is not an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----): {why}"
    )]
    NotAKey { path: String, why: &'static str },
    #[error("{0}")]
    BadPublicKey(String),
}

/// An Ed25519 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Reads the text form, `ed25519:<base64url of 32 bytes>`.
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        let bad = |why: &str| {
            KeyError::BadPublicKey(format!(
                "not a credential public key ({why}): expected ed25519: and 43 base64url characters, as `teacher-registry credential-key` prints it"
            ))
        };
        let encoded = text
            .trim()
            .strip_prefix(PUBLIC_PREFIX)
            .ok_or_else(|| bad("no ed25519: prefix"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| bad("not base64url"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| bad("not 32 bytes"))?;
        Ok(PublicKey(bytes))
    }

    /// The key id: the first 8 bytes of the key's SHA-256, in hex.
    pub fn id(&self) -> String {
        Sha256::digest(self.0)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `signature` is this key's over `message`.
    pub(super) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, self.0)
            .verify(message, signature)
            .is_ok()
    }
}

/// The text form, `ed25519:<base64url>`.
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

/// The registry's signing key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    public: PublicKey,
}

/// Names the key by its public half only.
impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(key id {})", self.public.id())
    }
}

impl SigningKey {
    /// A new random key.
    pub fn generate() -> SigningKey {
        Self::from_pkcs8(generate_pkcs8().as_ref()).expect("ring reads the keys it makes")
    }

    /// Writes a new random key to `path`, owner-only, and returns its public key. An
    /// existing file is left alone and is [`KeyError::Exists`].
    pub fn create(path: &Path) -> Result<PublicKey, KeyError> {
        let name = path.display().to_string();
        let document = generate_pkcs8();
        let key = Self::from_pkcs8(document.as_ref()).expect("ring reads the keys it makes");
        let pem = pem::encode(&pem::Pem::new(PEM_TAG, document.as_ref()));
        let mut file = create_new_private_file(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => KeyError::Exists { path: name.clone() },
            _ => KeyError::Unwritable {
                path: name.clone(),
                source,
            },
        })?;
        file.write_all(pem.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|source| KeyError::Unwritable { path: name, source })?;
        Ok(key.public)
    }

    /// Reads the key in `path`.
    pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
        let name = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| KeyError::Unreadable {
            path: name.clone(),
            source,
        })?;
        let not_a_key = |why| KeyError::NotAKey {
            path: name.clone(),
            why,
        };
        let block = pem::parse(&text).map_err(|_| not_a_key("no PEM block"))?;
        if block.tag() != PEM_TAG {
            return Err(not_a_key("the PEM block is not a PRIVATE KEY"));
        }
        Self::from_pkcs8(block.contents()).ok_or_else(|| not_a_key("not an Ed25519 key"))
    }

    fn from_pkcs8(document: &[u8]) -> Option<SigningKey> {
        // "maybe unchecked" accepts PKCS#8 v1 too, without the public key, as OpenSSL
        // writes it; ring derives the public key from the private one either way.
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(document).ok()?;
        let public = PublicKey(pair.public_key().as_ref().try_into().ok()?);
        Some(SigningKey { pair, public })
    }

    /// The public half, to publish.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.pair
            .sign(message)
            .as_ref()
            .try_into()
            .expect("an Ed25519 signature has 64 bytes")
    }
}

fn generate_pkcs8() -> ring::pkcs8::Document {
    Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .expect("the system's random number generator works")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As `openssl genpkey -algorithm ed25519` writes it (PKCS#8 v1, no public key inside):
    /// the example key of RFC 8410, section 10.3, with its public key from the same section.
    const OPENSSL_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----
";

    #[test]
    fn a_created_key_loads_back_with_the_same_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credential.key");
        let public = SigningKey::create(&path).unwrap();
        let key = SigningKey::load(&path).unwrap();
        assert_eq!(key.public(), &public);
        assert_eq!(PublicKey::parse(&public.to_string()).unwrap(), public);
        assert_eq!(public.id().len(), 16);
        assert!(!format!("{key:?}").contains(&std::fs::read_to_string(&path).unwrap()[28..60]));
        assert!(matches!(
            SigningKey::create(&path),
            Err(KeyError::Exists { .. })
        ));
    }

    #[test]
    fn an_openssl_key_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("openssl.pem");
        std::fs::write(&path, OPENSSL_KEY).unwrap();
        let key = SigningKey::load(&path).unwrap();
        assert_eq!(
            key.public().to_string(),
            "ed25519:Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE"
        );
    }

    #[test]
    fn what_is_not_a_key_is_refused_without_showing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cert.pem");
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let error = SigningKey::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("not a PRIVATE KEY") && !error.contains("AAAA"),
            "{error}"
        );
        for bad in [
            "",
            "ed25519:",
            "ed25519:abc",
            "rsa:AAAA",
            &format!("ed25519:{}", "A".repeat(44)),
        ] {
            assert!(PublicKey::parse(bad).is_err(), "{bad}");
        }
    }
}
