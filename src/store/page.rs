//! Listing teachers page by page (AIP-158).
//!
//! A page token is the last key the previous page read, with a digest of the query it
//! belongs to, signed with a secret kept in the registry (HMAC-SHA256). A forged token, or
//! one from another query, fails the check and is refused as INVALID_ARGUMENT instead of
//! steering the scan anywhere. Tokens stay valid across restarts.
//!
//! A county listing scans only that county's index (and only one school's part of it
//! when a school is given), whose entries carry the records themselves; only a listing
//! without a county reads the record space, and only the registration-expiry index needs
//! a second lookup per teacher.

use std::ops::Bound;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{CountyCode, DomainError, Teacher, TeacherId, TitleTier};
use crate::store::engine::Engine;
use crate::store::{codec, keys, StoreError};

/// At most this many index entries are read for one page; a page that filters out more
/// ends early, with a token to go on.
pub(crate) const MAX_SCANNED: usize = 10_000;
const TAG_LEN: usize = 16;

/// Which teachers to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub county: Option<CountyCode>,
    pub school: Option<String>,
    pub tier: Option<TitleTier>,
    /// Teachers whose registration (see `Teacher::registration_expiry`) ends before this.
    pub registration_expires_before: Option<NaiveDate>,
}

/// One page of teachers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub teachers: Vec<Teacher>,
    /// Empty on the last page.
    pub next_page_token: String,
    /// The registry revision read before the page was scanned: every change after it will
    /// be in the change feed, so list-then-watch has no gap.
    pub revision: u64,
}

#[derive(Serialize, Deserialize)]
struct TokenBody {
    query: [u8; 16],
    after: Vec<u8>,
}

impl ListQuery {
    fn matches(&self, teacher: &Teacher) -> bool {
        self.county
            .as_ref()
            .is_none_or(|c| *c == teacher.fields.county_code)
            && self
                .school
                .as_ref()
                .is_none_or(|s| *s == teacher.fields.school)
            && self.tier.is_none_or(|t| teacher.current_title() == Some(t))
            && self
                .registration_expires_before
                .is_none_or(|d| teacher.registration_expiry().is_some_and(|e| e < d))
    }

    /// What a page token is bound to. The bytes are those release 0.1 signed (a format
    /// byte, then postcard of the query), so tokens handed out before an upgrade still work.
    fn digest(&self) -> [u8; 16] {
        let form = (
            self.county.as_ref().map(CountyCode::as_str),
            self.school.as_deref(),
            self.tier.map(|tier| u32::from(tier.code()) - 1),
            self.registration_expires_before.map(|d| d.to_string()),
        );
        let bytes = postcard::to_extend(&form, vec![1u8]).expect("in-memory serialization");
        let digest = Sha256::digest(bytes);
        digest[..16].try_into().expect("16 of 32 bytes")
    }

    /// The key space to scan (every key starts with the prefix) and where to stop: a
    /// county's index, else the registration-expiry index up to the date, else the records.
    fn scan_range(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        match (&self.county, self.registration_expires_before) {
            (Some(county), _) => (keys::county_prefix(county, self.school.as_deref()), None),
            (None, Some(date)) => (
                vec![keys::REGISTRATION_EXPIRY],
                Some(keys::registration_expiry_bound(date)),
            ),
            (None, None) => (vec![keys::RECORD], None),
        }
    }

    /// Whether the scanned keys are index keys ending in a teacher_id, not records.
    fn scans_an_index(&self) -> bool {
        self.county.is_some() || self.registration_expires_before.is_some()
    }
}

/// `revision`: the last revision on disk, read before the scan.
pub(crate) fn list<E: Engine>(
    engine: &E,
    revision: u64,
    secret: &[u8],
    query: &ListQuery,
    page_size: usize,
    page_token: &str,
) -> Result<Page, StoreError> {
    let (prefix, end) = query.scan_range();
    let start = match page_token {
        "" => Bound::Included(prefix.clone()),
        token => {
            let after = open_token(secret, query.digest(), token)?;
            if !after.starts_with(&prefix) {
                return Err(bad_token("does not belong to this query"));
            }
            Bound::Excluded(after)
        }
    };

    let mut teachers = Vec::with_capacity(page_size.min(1000));
    let mut last_key = None;
    let mut more = false;
    for (scanned, entry) in engine
        .range(start.as_ref().map(Vec::as_slice), Bound::Unbounded)?
        .enumerate()
    {
        let (key, value) = entry?;
        if !key.starts_with(&prefix)
            || end
                .as_ref()
                .is_some_and(|end| key.as_ref() >= end.as_slice())
        {
            break;
        }
        if teachers.len() == page_size || scanned == MAX_SCANNED {
            more = true;
            break;
        }
        let teacher = if query.scans_an_index() && value.is_empty() {
            read_indexed(engine, &key)?
        } else {
            Some(codec::decode::<Teacher>(&key, &value)?)
        };
        if let Some(teacher) = teacher.filter(|t| query.matches(t)) {
            teachers.push(teacher);
        }
        last_key = Some(key.to_vec());
    }

    let next_page_token = match (more, last_key) {
        (true, Some(after)) => seal_token(secret, query.digest(), after),
        _ => String::new(),
    };
    Ok(Page {
        teachers,
        next_page_token,
        revision,
    })
}

/// The record a presence-only index key points to; `None` if it vanished or changed since.
pub(crate) fn read_indexed<E: Engine>(
    engine: &E,
    key: &[u8],
) -> Result<Option<Teacher>, StoreError> {
    let Some(id) = keys::teacher_id_at_end(key).and_then(|s| TeacherId::parse(s).ok()) else {
        return Err(StoreError::Corrupt {
            key: String::from_utf8_lossy(&key[..key.len().min(7)]).into_owned(),
            detail: "index key does not end in a registry number".into(),
        });
    };
    let record_key = keys::record(&id);
    match engine.get(&record_key)? {
        Some(bytes) => Ok(Some(codec::decode(&record_key, &bytes)?)),
        None => Ok(None),
    }
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length")
}

/// A page token for `after`, the last key a page read, in the listing whose query digest
/// is `query`.
pub(crate) fn seal_token(secret: &[u8], query: [u8; 16], after: Vec<u8>) -> String {
    let mut bytes = postcard::to_stdvec(&TokenBody { query, after })
        .expect("in-memory serialization cannot fail");
    let mut mac = mac(secret);
    mac.update(&bytes);
    bytes.extend_from_slice(&mac.finalize().into_bytes()[..TAG_LEN]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The key a page token resumes after, if this registry signed it for the query whose
/// digest is `query`; INVALID_ARGUMENT otherwise.
pub(crate) fn open_token(
    secret: &[u8],
    query: [u8; 16],
    token: &str,
) -> Result<Vec<u8>, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad_token("is not a token this registry issued"))?;
    if bytes.len() <= TAG_LEN {
        return Err(bad_token("is not a token this registry issued"));
    }
    let (body, tag) = bytes.split_at(bytes.len() - TAG_LEN);
    let mut mac = mac(secret);
    mac.update(body);
    mac.verify_truncated_left(tag)
        .map_err(|_| bad_token("is not a token this registry issued"))?;
    let body: TokenBody =
        postcard::from_bytes(body).map_err(|_| bad_token("is not a token this registry issued"))?;
    if body.query != query {
        return Err(bad_token(
            "belongs to a listing with other filters; send the same filters or start over",
        ));
    }
    Ok(body.after)
}

fn bad_token(why: &str) -> StoreError {
    DomainError::invalid("page_token", why).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_open_only_with_their_secret_and_query() {
        let query = ListQuery::default();
        let other = ListQuery {
            school: Some("x".into()),
            ..ListQuery::default()
        };
        let (query, other) = (query.digest(), other.digest());
        let token = seal_token(b"secret", query, b"rABC".to_vec());
        assert_eq!(open_token(b"secret", query, &token).unwrap(), b"rABC");
        assert!(open_token(b"other secret", query, &token).is_err());
        assert!(open_token(b"secret", other, &token).is_err());
        let mut forged = URL_SAFE_NO_PAD.decode(&token).unwrap();
        forged[3] ^= 1;
        assert!(open_token(b"secret", query, &URL_SAFE_NO_PAD.encode(forged)).is_err());
        assert!(open_token(b"secret", query, "not base64!").is_err());
        assert!(open_token(b"secret", query, "").is_err());
    }
}
