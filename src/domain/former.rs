//! What a record was known by before: former names (曾用名), former identity documents,
//! and the registry numbers of records merged into it.
//!
//! A registry of record never forgets how a person was known: a personnel file, a court
//! judgment or an old certificate names someone as they were then. So a change of name
//! keeps the name it replaces, a corrected identity document keeps the one it replaces
//! (and it still finds the same teacher), and a merge keeps the merged record's number.
//! These lists only grow; a change that goes back (a name changed back, an unmerge) adds
//! or removes nothing silently: see the rules of each method.

use crate::domain::{IdentityDocument, TeacherId, UnixMicros};

/// A name the teacher was known by until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormerName {
    pub name: String,
    /// When the record stopped carrying it.
    pub until: UnixMicros,
}

/// Why an identity document no longer keys the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormerDocumentReason {
    /// Replaced by a reviewed identity correction.
    Corrected,
    /// Replaced by an update or an import of the record's fields.
    Updated,
    /// The document of a record merged into this one.
    Merged,
}

/// An identity document that once keyed the record (or a record merged into it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormerDocument {
    pub identity: IdentityDocument,
    pub until: UnixMicros,
    pub reason: FormerDocumentReason,
}

/// Everything a record was known by before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Former {
    /// Oldest first.
    pub names: Vec<FormerName>,
    /// Oldest first.
    pub documents: Vec<FormerDocument>,
    /// Registry numbers retired by merges into this record, oldest first: each answers
    /// this record for good.
    pub retired_ids: Vec<TeacherId>,
}

impl Former {
    /// Keeps `name` as a former name, unless it is already one (a name changed back and
    /// forth is listed once, with the first time it was left).
    pub fn keep_name(&mut self, name: &str, until: UnixMicros) {
        if !self.names.iter().any(|n| n.name == name) {
            self.names.push(FormerName {
                name: name.to_string(),
                until,
            });
        }
    }

    /// Keeps `identity` as a former document, unless it is already one.
    pub fn keep_document(
        &mut self,
        identity: &IdentityDocument,
        until: UnixMicros,
        reason: FormerDocumentReason,
    ) {
        if !self.documents.iter().any(|d| d.identity == *identity) {
            self.documents.push(FormerDocument {
                identity: identity.clone(),
                until,
                reason,
            });
        }
    }

    /// Whether the record was ever keyed by `identity` (not counting its current one).
    pub fn had_document(&self, identity: &IdentityDocument) -> bool {
        self.documents.iter().any(|d| d.identity == *identity)
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.documents.is_empty() && self.retired_ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IdDocumentType;

    #[test]
    fn a_name_is_kept_once_and_in_order() {
        let mut former = Former::default();
        former.keep_name("王小明", UnixMicros(1));
        former.keep_name("王晓明", UnixMicros(2));
        former.keep_name("王小明", UnixMicros(3));
        let names: Vec<_> = former.names.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["王小明", "王晓明"]);
        assert_eq!(former.names[0].until, UnixMicros(1));
    }

    #[test]
    fn a_document_is_kept_once() {
        let doc = IdentityDocument::from_stored(IdDocumentType::Passport, "E12345678".into());
        let mut former = Former::default();
        former.keep_document(&doc, UnixMicros(1), FormerDocumentReason::Corrected);
        former.keep_document(&doc, UnixMicros(2), FormerDocumentReason::Merged);
        assert_eq!(former.documents.len(), 1);
        assert!(former.had_document(&doc));
        assert_eq!(former.documents[0].reason, FormerDocumentReason::Corrected);
    }
}
