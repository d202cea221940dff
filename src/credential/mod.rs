//! Signed credentials: a certificate's public facts, signed by the registry with Ed25519,
//! in a text short enough for a QR code. An employer checks one offline with the
//! registry's public key (`teacher-registry verify-credential`), or online, where the
//! registry also says whether the facts still hold (`CheckCredential`).
//!
//! # The format, version 1
//! `TRC1.<payload>.<signature>`, both parts base64url without padding:
//! - the payload is a JSON object with the fields of [`Payload`], in that order: what an
//!   employer may learn about the certificate and nothing else (no identity number, no
//!   registry number, no county);
//! - the signature is Ed25519 over the ASCII bytes of `TRC1.<payload>`, so the version is
//!   signed too and a credential cannot be read under another format.
//!
//! The signature is checked over the bytes as received, before the payload is parsed: a
//! payload nobody signed is never interpreted. That also means the JSON need not be
//! canonical: a verifier never serialises it again.
//!
//! # Layout
//! - this module: the facts, issuing (signing) and offline verification;
//! - [`key`]: the signing key file, the public key's text form and its key id;
//! - [`qr`]: the credential's QR code as a PNG;
//! - [`check`]: the facts for a certificate on record, and the online comparison of a
//!   credential's facts with the record as it is now.
//!
//! Ed25519 is ring's, the implementation rustls already builds for TLS: no second
//! cryptographic library in the binary.

pub mod check;
pub mod key;
pub mod qr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::CertificateKind;
pub use check::{check, facts_for, Verdict};
pub use key::{KeyError, PublicKey, SigningKey};
pub use qr::qr_png;

/// The version prefix of the text form.
pub const PREFIX: &str = "TRC1";

/// The longest text accepted as a credential; a real one is a few hundred characters
/// (the facts' texts are at most 100 characters each).
pub const MAX_TEXT_LEN: usize = 2048;

const SIGNATURE_LEN: usize = 64;

/// What a credential states about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialFacts {
    pub certificate_number: String,
    /// The holder's name on the registry record when the credential was issued.
    pub holder_name: String,
    pub kind: CertificateKind,
    pub certified_on: NaiveDate,
    pub issuing_authority: String,
    /// The expiry of the latest periodic registration, if the certificate has one.
    pub registration_valid_until: Option<NaiveDate>,
    /// When the credential was issued, to the second.
    pub issued_at: DateTime<Utc>,
    /// The [`PublicKey::id`] of the key that signed it.
    pub key_id: String,
}

/// The payload as signed. Field names are the format's: changing one is a new version.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    number: String,
    name: String,
    kind: String,
    certified_on: String,
    authority: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registered_until: Option<String>,
    /// Unix seconds.
    issued_at: i64,
    key: String,
}

/// Why a text is not a valid credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The text does not have the credential's form (wrong prefix, bad base64, a
    /// truncated signature, a payload that is not the format's JSON...).
    #[error("not a credential: {0}")]
    Malformed(String),
    /// The signature does not match the text under the given key: altered, or made up.
    #[error("forged: the signature does not match the credential under key {key_id}")]
    Forged { key_id: String },
    /// The credential names another key than the one it was checked with; its signature
    /// does not verify under the given key.
    #[error(
        "signed with key {claimed}, not with key {given}: the signature does not verify under the key given"
    )]
    OtherKey { claimed: String, given: String },
}

/// Signs `facts` with `key` and returns the credential's text.
pub fn issue(facts: &CredentialFacts, key: &SigningKey) -> String {
    let payload = Payload {
        number: facts.certificate_number.clone(),
        name: facts.holder_name.clone(),
        kind: facts.kind.name().to_string(),
        certified_on: facts.certified_on.to_string(),
        authority: facts.issuing_authority.clone(),
        registered_until: facts.registration_valid_until.map(|d| d.to_string()),
        issued_at: facts.issued_at.timestamp(),
        key: facts.key_id.clone(),
    };
    let json = serde_json::to_vec(&payload).expect("a payload of strings serialises");
    let signed = format!("{PREFIX}.{}", URL_SAFE_NO_PAD.encode(json));
    let signature = key.sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Checks `text`'s signature under `key` and returns the facts it states. White space
/// around the text (a newline at the end of a file, a scanner's line break) is ignored.
pub fn verify(text: &str, key: &PublicKey) -> Result<CredentialFacts, CredentialError> {
    let (signed, payload, signature) = split(text)?;
    if !key.verifies(signed.as_bytes(), &signature) {
        // The payload is unsigned here: its key id is read only to say which key to use.
        let claimed = serde_json::from_slice::<Payload>(&payload).map(|p| p.key);
        return Err(match claimed {
            Ok(claimed) if claimed != key.id() => CredentialError::OtherKey {
                claimed,
                given: key.id(),
            },
            _ => CredentialError::Forged { key_id: key.id() },
        });
    }
    let facts = facts_of(&payload)?;
    if facts.key_id != key.id() {
        return Err(CredentialError::Malformed(format!(
            "signed with key {} but names key {}",
            key.id(),
            facts.key_id
        )));
    }
    Ok(facts)
}

/// The signed text (`TRC1.<payload>`), the payload's bytes and the signature.
fn split(text: &str) -> Result<(&str, Vec<u8>, [u8; SIGNATURE_LEN]), CredentialError> {
    let bad = |why: &str| CredentialError::Malformed(why.to_string());
    let text = text.trim();
    if text.len() > MAX_TEXT_LEN {
        return Err(CredentialError::Malformed(format!(
            "{} characters, a credential has at most {MAX_TEXT_LEN}",
            text.chars().count()
        )));
    }
    let Some((signed, signature)) = text.rsplit_once('.') else {
        return Err(bad("expected TRC1.<payload>.<signature>"));
    };
    let Some(payload) = signed
        .strip_prefix(PREFIX)
        .and_then(|r| r.strip_prefix('.'))
    else {
        return Err(bad("it does not start with TRC1."));
    };
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| bad("the payload is not base64url"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| bad("the signature is not base64url"))?;
    let signature: [u8; SIGNATURE_LEN] = signature.try_into().map_err(|s: Vec<u8>| {
        CredentialError::Malformed(format!(
            "the signature has {} bytes, an Ed25519 signature {SIGNATURE_LEN}",
            s.len()
        ))
    })?;
    Ok((signed, payload, signature))
}

/// The facts of a signed payload.
fn facts_of(payload: &[u8]) -> Result<CredentialFacts, CredentialError> {
    let bad = |why: String| CredentialError::Malformed(why);
    let payload: Payload =
        serde_json::from_slice(payload).map_err(|e| bad(format!("the payload: {e}")))?;
    let date = |field: &str, raw: &str| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| bad(format!("{field} {raw:?}")))
    };
    Ok(CredentialFacts {
        kind: CertificateKind::from_name(&payload.kind)
            .ok_or_else(|| bad(format!("kind {:?}", payload.kind)))?,
        certified_on: date("certified_on", &payload.certified_on)?,
        registration_valid_until: payload
            .registered_until
            .as_deref()
            .map(|raw| date("registered_until", raw))
            .transpose()?,
        issued_at: DateTime::from_timestamp(payload.issued_at, 0)
            .ok_or_else(|| bad(format!("issued_at {}", payload.issued_at)))?,
        certificate_number: payload.number,
        holder_name: payload.name,
        issuing_authority: payload.authority,
        key_id: payload.key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(key: &SigningKey) -> CredentialFacts {
        CredentialFacts {
            certificate_number: "20163500022000123".into(),
            holder_name: "王小明".into(),
            kind: CertificateKind::PrimarySchool,
            certified_on: NaiveDate::from_ymd_opt(2016, 7, 1).unwrap(),
            issuing_authority: "南平市延平区教育局".into(),
            registration_valid_until: NaiveDate::from_ymd_opt(2026, 6, 30),
            issued_at: DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
            key_id: key.public().id(),
        }
    }

    #[test]
    fn a_credential_verifies_to_its_facts_under_its_key_only() {
        let key = SigningKey::generate();
        let other = SigningKey::generate();
        let text = issue(&facts(&key), &key);
        assert!(text.starts_with("TRC1.") && text.len() < 600, "{text}");
        assert_eq!(verify(&format!(" {text}\n"), key.public()), Ok(facts(&key)));
        assert_eq!(
            verify(&text, other.public()),
            Err(CredentialError::OtherKey {
                claimed: key.public().id(),
                given: other.public().id()
            })
        );
    }

    #[test]
    fn every_altered_byte_is_forged_or_malformed() {
        let key = SigningKey::generate();
        let text = issue(&facts(&key), &key);
        for i in 0..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            if altered == text {
                continue;
            }
            let result = verify(&altered, key.public());
            assert!(
                matches!(
                    result,
                    Err(CredentialError::Forged { .. }
                        | CredentialError::OtherKey { .. }
                        | CredentialError::Malformed(_))
                ),
                "byte {i}: {result:?}"
            );
        }
        for cut in [1, 10, text.len() / 2, text.len() - 1] {
            assert!(verify(&text[..cut], key.public()).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn the_payload_holds_only_what_an_employer_may_learn() {
        let key = SigningKey::generate();
        let text = issue(&facts(&key), &key);
        let payload = text.split('.').nth(1).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let mut fields: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "authority",
                "certified_on",
                "issued_at",
                "key",
                "kind",
                "name",
                "number",
                "registered_until"
            ]
        );
    }

    #[test]
    fn a_signed_payload_that_is_not_the_format_is_malformed() {
        let key = SigningKey::generate();
        let signed = format!("{PREFIX}.{}", URL_SAFE_NO_PAD.encode(b"{\"number\":1}"));
        let text = format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(key.sign(signed.as_bytes()))
        );
        assert!(matches!(
            verify(&text, key.public()),
            Err(CredentialError::Malformed(_))
        ));
        assert!(matches!(
            verify(&"A".repeat(MAX_TEXT_LEN + 1), key.public()),
            Err(CredentialError::Malformed(_))
        ));
    }
}
