//! A change as the feed shows it: the change's teacher or case, each as the viewer may see
//! it. Apart from [`crate::api::convert`] because a change carries both a teacher and a case,
//! and the case's conversion itself names the teacher's.

use crate::api::case_convert::present_case;
use crate::api::convert::present;
use crate::api::pb;
use crate::api::wire::timestamp;
use crate::auth::{Principal, Role};
use crate::domain::{ChangeEvent, ChangeKind, CountyCode};
use crate::store::ChangeEntry;

/// A change as a feed message: its principal and request id for admins only. In a county's feed, a change that took the teacher out of
/// the county is MOVED_OUT, and the teacher's state is shown only while the teacher is in
/// the county.
pub(crate) fn change_message(
    entry: ChangeEntry,
    county: Option<&CountyCode>,
    viewer: &Principal,
) -> pb::Change {
    let ChangeEntry {
        event,
        teacher,
        case,
    } = entry;
    let ChangeEvent {
        revision,
        teacher_id,
        case_id,
        kind,
        time,
        principal,
        request_id,
        county_before,
        county_after,
    } = event;
    // Who made a change, and under which request id, is audit data: admins' only.
    let audit = viewer.role == Role::Admin;
    // A merge into another county's record is MERGED in both counties' feeds: the
    // retired number is gone from each, not moved.
    let moved_out = kind != ChangeKind::Merged
        && county.is_some_and(|c| county_before.as_ref() == Some(c) && county_after != *c);
    let kind = if moved_out {
        pb::ChangeKind::MovedOut
    } else {
        kind.into()
    };
    let teacher = teacher
        .filter(|t| !moved_out && county.is_none_or(|c| t.fields.county_code == *c))
        .map(|t| present(viewer, t));
    let case = case
        .filter(|view| county.is_none_or(|county| view.case.county_code == *county))
        .map(|view| present_case(viewer, view));
    pb::Change {
        revision,
        teacher_id: teacher_id.map_or_else(String::new, String::from),
        kind: kind as i32,
        change_time: Some(timestamp(time)),
        principal: if audit { principal } else { String::new() },
        request_id: if audit {
            request_id.unwrap_or_default()
        } else {
            String::new()
        },
        teacher,
        case_id: case_id.map_or_else(String::new, |id| id.as_str().to_string()),
        case,
    }
}
