//! What an import row says the person was known by before: former names and former
//! identity documents, as `export` writes them (the Teacher message's `former_names` and
//! `former_documents`), so a registry's export carries a person's past into another.
//!
//! Only these two: the registry numbers merges retired (`retired_teacher_ids`) are the
//! exporting registry's own and mean nothing to the importing one, so they are not read.
//! A file without them (every file written before they were exported) imports as before.
//! Each former document keys the record as its own does, so one held by another record is
//! refused as its own document would be (see `store::mutation::import_row`).

use chrono::NaiveDate;

use crate::domain::{
    Choice, FieldViolation, Former, FormerDocument, FormerDocumentReason, IdDocumentType,
    IdentityDocument, UnixMicros,
};

/// A row's former names and documents, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormerInput {
    pub names: Vec<FormerNameInput>,
    pub documents: Vec<FormerDocumentInput>,
}

/// A former name as received: `until` is `None` when the row gives no time (or one finer
/// than a microsecond, or out of range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormerNameInput {
    pub name: String,
    pub until: Option<UnixMicros>,
}

/// A former identity document as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormerDocumentInput {
    pub id_document_type: Choice<IdDocumentType>,
    pub national_id: String,
    pub until: Option<UnixMicros>,
    pub reason: Choice<FormerDocumentReason>,
}

impl FormerInput {
    /// Checks each name as a teacher's name is checked and each document as a teacher's
    /// document is, with a time and a reason (paths `teacher.former_names[i].…`,
    /// `teacher.former_documents[i].…`). Repeats are kept once, as the record keeps them.
    pub fn validate(&self, today: NaiveDate, violations: &mut Vec<FieldViolation>) -> Former {
        let mut former = Former::default();
        for (i, input) in self.names.iter().enumerate() {
            let path = format!("teacher.former_names[{i}]");
            let name =
                crate::domain::text::required_text(&input.name, crate::domain::teacher::NAME_MAX)
                    .map_err(|e| violations.push(FieldViolation::new(format!("{path}.name"), e)))
                    .ok();
            let until = until(input.until, &path, violations);
            if let (Some(name), Some(until)) = (name, until) {
                former.keep_name(&name, until);
            }
        }
        for (i, input) in self.documents.iter().enumerate() {
            let path = format!("teacher.former_documents[{i}]");
            let identity = known(
                input.id_document_type,
                &path,
                "id_document_type",
                violations,
            )
            .and_then(|doc_type| {
                IdentityDocument::parse(doc_type, &input.national_id, today)
                    .map_err(|e| {
                        violations.push(FieldViolation::new(format!("{path}.national_id"), e))
                    })
                    .ok()
            });
            let reason = known(input.reason, &path, "reason", violations);
            let until = until(input.until, &path, violations);
            if let (Some(identity), Some(reason), Some(until)) = (identity, reason, until) {
                former.keep_document(&identity, until, reason);
            }
        }
        former
    }
}

fn until(
    until: Option<UnixMicros>,
    path: &str,
    violations: &mut Vec<FieldViolation>,
) -> Option<UnixMicros> {
    if until.is_none() {
        violations.push(FieldViolation::new(
            format!("{path}.until_time"),
            "is required: when the record stopped carrying it, to the microsecond",
        ));
    }
    until
}

fn known<T>(
    choice: Choice<T>,
    path: &str,
    field: &str,
    violations: &mut Vec<FieldViolation>,
) -> Option<T> {
    match choice {
        Choice::Known(value) => Some(value),
        Choice::Unset => {
            violations.push(FieldViolation::new(
                format!("{path}.{field}"),
                "is required",
            ));
            None
        }
        Choice::Unknown(n) => {
            violations.push(FieldViolation::new(
                format!("{path}.{field}"),
                format!("unknown value {n}"),
            ));
            None
        }
    }
}

impl Former {
    /// Takes the names and documents of `imported` this record does not keep yet, except
    /// its own current document (a row cannot make a record's document its former one).
    pub fn absorb(&mut self, imported: &Former, own: &IdentityDocument) {
        for name in &imported.names {
            self.keep_name(&name.name, name.until);
        }
        for FormerDocument {
            identity,
            until,
            reason,
        } in &imported.documents
        {
            if identity != own {
                self.keep_document(identity, *until, *reason);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bad_part_is_named_and_good_ones_are_kept_once() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let input = FormerInput {
            names: vec![
                FormerNameInput {
                    name: "陈静".into(),
                    until: Some(UnixMicros(5)),
                },
                FormerNameInput {
                    name: "陈静".into(),
                    until: Some(UnixMicros(9)),
                },
                FormerNameInput {
                    name: " ".into(),
                    until: None,
                },
            ],
            documents: vec![
                FormerDocumentInput {
                    id_document_type: Choice::Known(IdDocumentType::Passport),
                    national_id: "E55555555".into(),
                    until: Some(UnixMicros(7)),
                    reason: Choice::Known(FormerDocumentReason::Corrected),
                },
                FormerDocumentInput {
                    id_document_type: Choice::Unset,
                    national_id: "x".into(),
                    until: Some(UnixMicros(7)),
                    reason: Choice::Unknown(9),
                },
            ],
        };
        let mut violations = Vec::new();
        let former = input.validate(today, &mut violations);
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "teacher.former_names[2].name",
                "teacher.former_names[2].until_time",
                "teacher.former_documents[1].id_document_type",
                "teacher.former_documents[1].reason",
            ]
        );
        assert_eq!(former.names.len(), 1);
        assert_eq!(former.names[0].until, UnixMicros(5));
        assert_eq!(former.documents.len(), 1);

        // Absorbed into a record: what it keeps already stays as it was; its own document
        // is never a former one.
        let own = former.documents[0].identity.clone();
        let mut kept = Former::default();
        kept.keep_name("陈静", UnixMicros(1));
        kept.absorb(&former, &own);
        assert_eq!(kept.names[0].until, UnixMicros(1));
        assert!(kept.documents.is_empty());
    }
}
