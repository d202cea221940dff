//! The IdentityService's merge handlers: two records of one person joined under the
//! survivor's number, and a merge undone (see [`crate::domain::merge`]). Extract, convert
//! (every bad field at once), call the store, convert back.

use tonic::Status;

use crate::api::convert::present;
use crate::api::pb;
use crate::api::service::{
    optional_etag, parse_request_id, parse_teacher_id, write_context, RegistryService, Violations,
};
use crate::auth::Principal;
use crate::domain::merge::check_reason;
use crate::domain::FieldViolation;
use crate::store::{IdentityAnswer, IdentityCommand};

impl RegistryService {
    pub(super) async fn merge_teachers(
        &self,
        principal: &Principal,
        request: pb::MergeTeachersRequest,
    ) -> Result<pb::MergeTeachersResponse, Status> {
        let pb::MergeTeachersRequest {
            survivor_teacher_id,
            merged_teacher_id,
            reason,
            survivor_etag,
            merged_etag,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let survivor = violations.take(parse_teacher_id(
            "survivor_teacher_id",
            &survivor_teacher_id,
        ));
        let merged = violations.take(parse_teacher_id("merged_teacher_id", &merged_teacher_id));
        if survivor.is_some() && survivor == merged {
            violations.push(FieldViolation::new(
                "merged_teacher_id",
                "is the survivor itself",
            ));
        }
        let reason = violations.take(check_reason(&reason));
        let request_id = violations.take(parse_request_id(&request_id));
        let (survivor, merged, reason, request_id) =
            violations.finish(|| Some((survivor?, merged?, reason?, request_id?)))?;
        let answer = self
            .store
            .identity_command(
                IdentityCommand::Merge {
                    survivor: (survivor, optional_etag(survivor_etag)),
                    merged: (merged, optional_etag(merged_etag)),
                    reason,
                },
                write_context(principal, request_id),
            )
            .await?;
        let IdentityAnswer::Merged {
            survivor,
            conflicts,
        } = answer
        else {
            return Err(Status::internal("a merge answered something else"));
        };
        Ok(pb::MergeTeachersResponse {
            survivor: Some(present(principal, survivor)),
            conflicts,
        })
    }

    pub(super) async fn unmerge_teachers(
        &self,
        principal: &Principal,
        request: pb::UnmergeTeachersRequest,
    ) -> Result<pb::UnmergeTeachersResponse, Status> {
        let pb::UnmergeTeachersRequest {
            merged_teacher_id,
            reason,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let merged = violations.take(parse_teacher_id("merged_teacher_id", &merged_teacher_id));
        let reason = violations.take(check_reason(&reason));
        let request_id = violations.take(parse_request_id(&request_id));
        let (merged, reason, request_id) =
            violations.finish(|| Some((merged?, reason?, request_id?)))?;
        let answer = self
            .store
            .identity_command(
                IdentityCommand::Unmerge { merged, reason },
                write_context(principal, request_id),
            )
            .await?;
        let IdentityAnswer::Unmerged { survivor, restored } = answer else {
            return Err(Status::internal("an unmerge answered something else"));
        };
        Ok(pb::UnmergeTeachersResponse {
            survivor: Some(present(principal, survivor)),
            restored: Some(present(principal, restored)),
        })
    }
}
