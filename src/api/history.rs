//! Handlers of a teacher's history: ListTeacherRevisions, and GetTeacher at a revision.
//!
//! The store keeps what each change did to the stored record; here each revision's record
//! before and after is shown as the caller may see records (the reader's view for masked
//! roles) and compared field by field in the proto3 JSON mapping of Teacher. So the
//! differences a reader sees never hold more than the records a reader sees, and a field
//! added to Teacher shows in the differences with no code here.

use std::collections::BTreeMap;

use serde_json::Value;
use tonic::Status;

use crate::api::convert::{present, timestamp};
use crate::api::json::{self, JsonLineError};
use crate::api::pb;
use crate::api::service::RegistryService;
use crate::api::service::{
    may_see, parse_page_size, parse_teacher_id, teacher_not_found, Violations,
};
use crate::auth::{Principal, Role};
use crate::domain::{Teacher, TeacherId};
use crate::store::{RevisionPage, TeacherRevision};

const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;

/// Fields of Teacher that every change moves on: they are the revision itself, not what
/// the change did.
const BOOKKEEPING: [&str; 3] = ["etag", "revision", "updateTime"];

impl RegistryService {
    pub(super) async fn list_teacher_revisions(
        &self,
        principal: &Principal,
        request: pb::ListTeacherRevisionsRequest,
    ) -> Result<pb::ListTeacherRevisionsResponse, Status> {
        let pb::ListTeacherRevisionsRequest {
            teacher_id,
            page_size,
            page_token,
        } = request;
        let mut violations = Violations::default();
        let id = violations.take(parse_teacher_id("teacher_id", &teacher_id));
        let size = violations.take(parse_page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
        let (id, size) = violations.finish(|| Some((id?, size?)))?;
        let page = self
            .reads
            .read(move |store| store.teacher_revisions(&id, size, &page_token))
            .await?
            .filter(|page| may_see(principal, &page.current.fields.county_code))
            .ok_or_else(teacher_not_found)?;
        revisions_message(principal, page)
    }

    /// GetTeacher with a revision: the record as it was then, seen as the record now may
    /// be (a teacher now in another county answers NOT_FOUND, as GetTeacher does).
    pub(super) async fn get_at_revision(
        &self,
        principal: &Principal,
        id: TeacherId,
        revision: u64,
    ) -> Result<pb::GetTeacherResponse, Status> {
        let pinned = self
            .reads
            .read(move |store| store.teacher_at_revision(&id, revision))
            .await?
            .filter(|p| may_see(principal, &p.current.fields.county_code))
            .ok_or_else(teacher_not_found)?;
        // Scope first, then the history's answer: another county's teacher is NOT_FOUND
        // whatever its history, never HISTORY_NOT_KEPT.
        let at = pinned.at.map_err(Status::from)?;
        Ok(pb::GetTeacherResponse {
            teacher: Some(present(principal, at)),
        })
    }
}

fn revisions_message(
    principal: &Principal,
    page: RevisionPage,
) -> Result<pb::ListTeacherRevisionsResponse, Status> {
    let RevisionPage {
        current: _,
        revisions,
        next_page_token,
        earliest_revision,
        complete,
    } = page;
    let revisions = revisions
        .into_iter()
        .map(|revision| revision_message(principal, revision))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            tracing::error!(error = %e, "a revision cannot be shown");
            Status::internal("a revision cannot be shown")
        })?;
    Ok(pb::ListTeacherRevisionsResponse {
        revisions,
        next_page_token,
        earliest_revision,
        history_complete: complete,
    })
}

fn revision_message(
    principal: &Principal,
    revision: TeacherRevision,
) -> Result<pb::TeacherRevision, JsonLineError> {
    let TeacherRevision {
        revision,
        kind,
        time,
        principal: author,
        request_id,
        after,
        before,
    } = revision;
    // Who made a change, and under which request id, is audit data: admins' only.
    let audit = principal.role == Role::Admin;
    Ok(pb::TeacherRevision {
        revision,
        change_time: Some(timestamp(time)),
        kind: pb::ChangeKind::from(kind) as i32,
        principal: if audit { author } else { String::new() },
        request_id: if audit {
            request_id.unwrap_or_default()
        } else {
            String::new()
        },
        differences: differences(principal, before, after)?,
    })
}

/// The fields that differ between `before` and `after` as `principal` sees them.
fn differences(
    principal: &Principal,
    before: Option<Teacher>,
    after: Teacher,
) -> Result<Vec<pb::FieldDifference>, JsonLineError> {
    let mut old = BTreeMap::new();
    if let Some(before) = before {
        flatten("", &shown(principal, before)?, &mut old);
    }
    let mut new = BTreeMap::new();
    flatten("", &shown(principal, after)?, &mut new);
    let mut paths: Vec<&String> = old.keys().chain(new.keys()).collect();
    paths.sort();
    paths.dedup();
    Ok(paths
        .into_iter()
        .filter(|path| !BOOKKEEPING.contains(&path.as_str()))
        .filter(|path| old.get(*path) != new.get(*path))
        .map(|path| pb::FieldDifference {
            field: path.clone(),
            old_value: old.get(path).map(Value::to_string).unwrap_or_default(),
            new_value: new.get(path).map(Value::to_string).unwrap_or_default(),
        })
        .collect())
}

fn shown(principal: &Principal, teacher: Teacher) -> Result<Value, JsonLineError> {
    let line = json::to_line(&present(principal, teacher))?;
    Ok(serde_json::from_str(&line).expect("to_line writes JSON"))
}

/// The leaves of a JSON value by path: `a.b`, `list[2].c`.
fn flatten(path: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(fields) => {
            for (name, value) in fields {
                let path = match path {
                    "" => name.clone(),
                    path => format!("{path}.{name}"),
                };
                flatten(&path, value, out);
            }
        }
        Value::Array(items) => {
            for (at, value) in items.iter().enumerate() {
                flatten(&format!("{path}[{at}]"), value, out);
            }
        }
        leaf => {
            out.insert(path.to_string(), leaf.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_are_named_by_their_path() {
        let value: Value = serde_json::from_str(
            r#"{"school":"一中","certificates":[{"copies":[{"state":"A"},{"state":"B"}]}]}"#,
        )
        .unwrap();
        let mut out = BTreeMap::new();
        flatten("", &value, &mut out);
        let paths: Vec<&str> = out.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "certificates[0].copies[0].state",
                "certificates[0].copies[1].state",
                "school"
            ]
        );
    }
}
