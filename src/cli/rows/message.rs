//! JSON Lines whose lines are whole `teacher_registry.v1.Teacher` messages in the proto3
//! JSON mapping, as `export` writes them, so that an export imports again with its
//! certificates (copies, registrations, revocations) and title history.
//!
//! A line is read this way when one of its keys names a field of the message that no
//! column holds: a lowerCamelCase name (`nationalId`), or `teacherId`, `certificates`,
//! `titleHistory`, `etag`, ... Any other line is a row of columns (`national_id`, 姓名),
//! as before. Keys that name no field of the message (序号, 备注) are ignored and named
//! in the import's warning, as for columns; anything else the mapping refuses (a wrong
//! enum name, an unknown key inside a certificate) rejects the row with the parser's
//! words.

use serde_json::{Map, Value};

use super::columns::COLUMNS;
use super::header::column_of;
use super::row::{teacher_cells, RowProblem, SourceRow};
use crate::api::{json, pb};

/// Whether the line's object is a Teacher message rather than a row of columns.
pub(super) fn is_teacher_message(object: &Map<String, Value>) -> bool {
    object
        .keys()
        .any(|key| json::field_name::<pb::Teacher>(key).is_some() && column_of(key).is_none())
}

/// The line as a row: the teacher, or the parser's complaint; its cells, for a rejects
/// file, in the order of [`COLUMNS`] (the first certificate only). Keys that name no
/// field are added to `ignored` the first time.
pub(super) fn teacher_message(
    mut object: Map<String, Value>,
    line: u64,
    ignored: &mut Vec<String>,
) -> SourceRow {
    object.retain(|key, _| {
        let known = json::field_name::<pb::Teacher>(key).is_some();
        if !known && !ignored.contains(key) {
            ignored.push(key.clone());
        }
        known
    });
    let cells = top_level_cells(&object);
    match json::from_value::<pb::Teacher>(Value::Object(object)) {
        Ok(teacher) => SourceRow {
            line,
            cells: teacher_cells(&teacher).to_vec(),
            teacher: Ok(teacher),
        },
        Err(error) => SourceRow {
            line,
            teacher: Err(vec![RowProblem {
                field: String::new(),
                description: error.to_string(),
            }]),
            cells,
        },
    }
}

/// The values of the fields that have a column, as written, for a line that cannot be
/// read as a whole.
fn top_level_cells(object: &Map<String, Value>) -> Vec<String> {
    let mut cells = vec![String::new(); COLUMNS.len()];
    for (key, value) in object {
        let field = json::field_name::<pb::Teacher>(key).and_then(|name| column_of(&name));
        if let Some(field) = field {
            cells[field.index()] = match value {
                Value::Null => String::new(),
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
        }
    }
    cells
}
