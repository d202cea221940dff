//! What a teacher was known by before ([`crate::domain::Former`]) on the wire: shown on
//! the Teacher message, concealed for readers, and read back from backups.

use chrono::NaiveDate;

use crate::api::pb;
use crate::api::wire::{invalid, known, stored_time, timestamp, MalformedRecord, WireEnum};
use crate::domain::{
    Choice, Former, FormerDocument, FormerDocumentReason, FormerName, IdentityDocument, TeacherId,
};

crate::api::wire::wire_enum!(FormerDocumentReason, FormerDocumentReason {
    Corrected => Corrected,
    Updated => Updated,
    Merged => Merged,
});

/// The Teacher message's former names, former documents and retired numbers.
pub(crate) fn former_messages(
    former: Former,
) -> (Vec<pb::FormerName>, Vec<pb::FormerDocument>, Vec<String>) {
    let Former {
        names,
        documents,
        retired_ids,
    } = former;
    (
        names
            .into_iter()
            .map(|n| pb::FormerName {
                name: n.name,
                until_time: Some(timestamp(n.until)),
            })
            .collect(),
        documents
            .into_iter()
            .map(|d| pb::FormerDocument {
                id_document_type: d.identity.doc_type().to_wire(),
                national_id: d.identity.number().to_string(),
                until_time: Some(timestamp(d.until)),
                reason: d.reason.to_wire(),
            })
            .collect(),
        retired_ids.into_iter().map(|id| id.to_string()).collect(),
    )
}

/// Readers see former documents as they see the current one: concealed.
pub(crate) fn conceal_former_documents(documents: &mut [pb::FormerDocument]) {
    for document in documents {
        if let Choice::Known(doc_type) =
            crate::domain::IdDocumentType::from_wire(document.id_document_type)
        {
            document.national_id = crate::domain::conceal(&document.national_id, doc_type);
        }
    }
}

/// An import row's former names and documents, as received (checked by
/// [`crate::domain::FormerInput::validate`]).
pub(crate) fn former_input(
    names: Vec<pb::FormerName>,
    documents: Vec<pb::FormerDocument>,
) -> crate::domain::FormerInput {
    let until = |time| stored_time("", time).ok();
    crate::domain::FormerInput {
        names: names
            .into_iter()
            .map(|n| crate::domain::FormerNameInput {
                name: n.name,
                until: until(n.until_time),
            })
            .collect(),
        documents: documents
            .into_iter()
            .map(|d| crate::domain::FormerDocumentInput {
                id_document_type: crate::domain::IdDocumentType::from_wire(d.id_document_type),
                national_id: d.national_id,
                until: until(d.until_time),
                reason: FormerDocumentReason::from_wire(d.reason),
            })
            .collect(),
    }
}

/// A backup's former names, documents and retired numbers, back to the record's.
pub(crate) fn stored_former(
    names: Vec<pb::FormerName>,
    documents: Vec<pb::FormerDocument>,
    retired: Vec<String>,
    today: NaiveDate,
) -> Result<Former, MalformedRecord> {
    Ok(Former {
        names: names
            .into_iter()
            .enumerate()
            .map(|(n, name)| {
                Ok(FormerName {
                    name: name.name,
                    until: stored_time(
                        &format!("teacher.former_names[{n}].until_time"),
                        name.until_time,
                    )?,
                })
            })
            .collect::<Result<_, MalformedRecord>>()?,
        documents: documents
            .into_iter()
            .enumerate()
            .map(|(n, d)| {
                let field = format!("teacher.former_documents[{n}]");
                let doc_type = known(&format!("{field}.id_document_type"), d.id_document_type)?;
                let identity = IdentityDocument::parse(doc_type, &d.national_id, today)
                    .map_err(|problem| invalid(&format!("{field}.national_id"), problem))?;
                if identity.number() != d.national_id {
                    return Err(MalformedRecord::NotCanonical(format!(
                        "{field}.national_id"
                    )));
                }
                Ok(FormerDocument {
                    identity,
                    until: stored_time(&format!("{field}.until_time"), d.until_time)?,
                    reason: known(&format!("{field}.reason"), d.reason)?,
                })
            })
            .collect::<Result<_, MalformedRecord>>()?,
        retired_ids: retired
            .into_iter()
            .enumerate()
            .map(|(n, id)| {
                TeacherId::try_from(id)
                    .map_err(|e| invalid(&format!("teacher.retired_teacher_ids[{n}]"), e))
            })
            .collect::<Result<_, _>>()?,
    })
}
