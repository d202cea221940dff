//! A rejected row's answer as a client reads it: the row's `status` (a google.rpc.Status,
//! with the same BadRequest the RPC's own refusal carries), or, from a server of an earlier
//! release, the `error` it sent alone. The `import` command and the console's import page
//! both write rejects files from it, so a reason reads the same in both.

use prost::Message;
use tonic::Code;
use tonic_types::pb::BadRequest;

use crate::api::{code_name, pb};

/// Why the registry refused one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRefusal {
    pub code: Code,
    pub message: String,
    /// (field path, description) per field the registry refused.
    pub violations: Vec<(String, String)>,
}

impl RowRefusal {
    /// The refusal a REJECTED row carries; `None` for a row that was not refused, or one
    /// refused without a word (which no release sends).
    pub fn of(result: &pb::ImportTeachersResponse) -> Option<RowRefusal> {
        if let Some(status) = &result.status {
            return Some(RowRefusal {
                code: Code::from(status.code),
                message: status.message.clone(),
                violations: bad_request(&status.details),
            });
        }
        #[allow(deprecated)] // what servers of earlier releases send
        let error = result.error.as_ref()?;
        Some(RowRefusal {
            code: code_named(&error.code),
            message: error.message.clone(),
            violations: error
                .field_violations
                .iter()
                .map(|v| (v.field.clone(), v.description.clone()))
                .collect(),
        })
    }

    /// The code's canonical name, as a rejects file's `code` column holds it.
    pub fn code_name(&self) -> String {
        code_name(self.code)
    }

    /// The reason for a person: each refused field with its problem, or the message. The
    /// row's teacher (the one it collided with) is named once, however the message puts it.
    pub fn reason(&self, teacher_id: &str) -> String {
        let mut reason = if self.violations.is_empty() {
            self.message.clone()
        } else {
            self.violations
                .iter()
                .map(|(field, description)| format!("{field}: {description}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        if !teacher_id.is_empty() && !reason.contains(teacher_id) {
            reason.push_str(&format!(" (teacher {teacher_id})"));
        }
        reason
    }
}

/// The field violations of the BadRequest among `details`, if there is one.
fn bad_request(details: &[prost_types::Any]) -> Vec<(String, String)> {
    details
        .iter()
        .filter(|any| any.type_url.ends_with("/google.rpc.BadRequest"))
        .filter_map(|any| BadRequest::decode(any.value.as_slice()).ok())
        .flat_map(|request| request.field_violations)
        .map(|v| (v.field, v.description))
        .collect()
}

/// The code whose canonical name is `name` (UNKNOWN for a name no code has).
fn code_named(name: &str) -> Code {
    (0..=16)
        .map(Code::from)
        .find(|code| code_name(*code) == name)
        .unwrap_or(Code::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_found_by_its_name() {
        for number in 0..=16 {
            let code = Code::from(number);
            assert_eq!(code_named(&code_name(code)), code);
        }
        assert_eq!(code_named("NOT_A_CODE"), Code::Unknown);
    }
}
