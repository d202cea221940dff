//! A change as the feed shows it: the change's teacher or case, each as the viewer may see
//! it; and the message of a bare change event, which a backup's change also starts from. Apart from [`crate::api::convert`] because a change carries both a teacher and a case,
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
    // A merge into another county's record is MERGED in both counties' feeds: the
    // retired number is gone from each, not moved.
    let moved_out = event.kind != ChangeKind::Merged
        && county
            .is_some_and(|c| event.county_before.as_ref() == Some(c) && event.county_after != *c);
    let (mut change, _, _) = event_message(event);
    // Who made a change, and under which request id, is audit data: admins' only.
    if viewer.role != Role::Admin {
        change.principal.clear();
        change.request_id.clear();
    }
    if moved_out {
        change.kind = pb::ChangeKind::MovedOut as i32;
    }
    change.teacher = teacher
        .filter(|t| !moved_out && county.is_none_or(|c| t.fields.county_code == *c))
        .map(|t| present(viewer, t));
    change.case = case
        .filter(|view| county.is_none_or(|county| view.case.county_code == *county))
        .map(|view| present_case(viewer, view));
    change
}

/// A change event as a message, principal and request id included, without the teacher's
/// or the case's state; and the counties it moved the teacher between (before, after),
/// which the message does not carry: the start of a feed's change and a backup's.
pub(crate) fn event_message(event: ChangeEvent) -> (pb::Change, Option<CountyCode>, CountyCode) {
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
    let change = pb::Change {
        revision,
        teacher_id: teacher_id.map_or_else(String::new, String::from),
        kind: pb::ChangeKind::from(kind) as i32,
        change_time: Some(timestamp(time)),
        principal,
        request_id: request_id.unwrap_or_default(),
        teacher: None,
        case_id: case_id.map_or_else(String::new, |id| id.as_str().to_string()),
        case: None,
    };
    (change, county_before, county_after)
}
