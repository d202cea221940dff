//! The DuplicateService: duplicate candidates listed for review and dismissed (see
//! [`crate::domain::duplicates`]), and its RPCs admitted by the gate as the registry's own.

use tonic::{Request, Response, Status};

use crate::api::convert::present;
use crate::api::pb;
use crate::api::pb::duplicate_service_server::DuplicateService as DuplicateRpcs;
use crate::api::service::{
    may_see, optional_county, parse_page_size, parse_request_id, parse_teacher_id, rpc,
    scoped_county, traced, write_context, RegistryService, Violations,
};
use crate::auth::{Principal, Rpc};
use crate::domain::duplicates::DuplicateReason;
use crate::domain::FieldViolation;
use crate::store::{Candidate, IdentityCommand};

const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;

/// The DuplicateService over the registry service's store, gate and metrics.
#[derive(Clone)]
pub struct DuplicateService {
    registry: RegistryService,
}

impl DuplicateService {
    pub fn new(registry: RegistryService) -> Self {
        Self { registry }
    }
}

#[tonic::async_trait]
impl DuplicateRpcs for DuplicateService {
    async fn list_duplicate_candidates(
        &self,
        request: Request<pb::ListDuplicateCandidatesRequest>,
    ) -> Result<Response<pb::ListDuplicateCandidatesResponse>, Status> {
        let registry = &self.registry;
        rpc!(
            registry,
            request,
            ListDuplicateCandidates,
            list_duplicate_candidates
        )
    }

    async fn dismiss_duplicate_candidate(
        &self,
        request: Request<pb::DismissDuplicateCandidateRequest>,
    ) -> Result<Response<pb::DismissDuplicateCandidateResponse>, Status> {
        let registry = &self.registry;
        rpc!(
            registry,
            request,
            DismissDuplicateCandidate,
            dismiss_duplicate_candidate
        )
    }
}

impl RegistryService {
    pub(super) async fn list_duplicate_candidates(
        &self,
        principal: &Principal,
        request: pb::ListDuplicateCandidatesRequest,
    ) -> Result<pb::ListDuplicateCandidatesResponse, Status> {
        let pb::ListDuplicateCandidatesRequest {
            county_code,
            page_size,
            page_token,
        } = request;
        let mut violations = Violations::default();
        let asked = violations.take(optional_county(&county_code));
        let page_size =
            violations.take(parse_page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
        let (asked, page_size) = violations.finish(|| Some((asked?, page_size?)))?;
        let county = scoped_county(principal, asked)?;
        let (candidates, next_page_token) = self
            .reads
            .read(move |store| store.list_candidates(county.as_ref(), page_size, &page_token))
            .await?;
        Ok(pb::ListDuplicateCandidatesResponse {
            candidates: candidates
                .into_iter()
                .map(|c| candidate_message(principal, c))
                .collect(),
            next_page_token,
        })
    }

    pub(super) async fn dismiss_duplicate_candidate(
        &self,
        principal: &Principal,
        request: pb::DismissDuplicateCandidateRequest,
    ) -> Result<pb::DismissDuplicateCandidateResponse, Status> {
        let pb::DismissDuplicateCandidateRequest {
            teacher_id,
            other_teacher_id,
            note,
            request_id,
        } = request;
        let mut violations = Violations::default();
        let first = violations.take(parse_teacher_id("teacher_id", &teacher_id));
        let second = violations.take(parse_teacher_id("other_teacher_id", &other_teacher_id));
        let request_id = violations.take(parse_request_id(&request_id));
        if note.trim().is_empty() {
            violations.push(FieldViolation::new(
                "note",
                "is required: why they are two people",
            ));
        } else if note.chars().count() > 500 {
            violations.push(FieldViolation::new("note", "is longer than 500 characters"));
        }
        let (first, second, request_id) =
            violations.finish(|| Some((first?, second?, request_id?)))?;
        self.store
            .identity_command(
                IdentityCommand::Dismiss {
                    pair: (first.clone(), second.clone()),
                    note: note.clone(),
                },
                write_context(principal, request_id),
            )
            .await?;
        // The audit of a reviewer's judgment: who said the two are two people, and why.
        tracing::info!(
            target: "audit",
            principal = %principal.name,
            teacher_id = %first,
            other_teacher_id = %second,
            note = %note.trim(),
            "duplicate candidate dismissed: not the same person"
        );
        Ok(pb::DismissDuplicateCandidateResponse {})
    }
}

/// A candidate as a message: a record the caller may not see (another county's) is
/// named by its number only.
fn candidate_message(principal: &Principal, candidate: Candidate) -> pb::DuplicateCandidate {
    let Candidate {
        pair,
        first,
        second,
    } = candidate;
    let shown = |teacher: crate::domain::Teacher| {
        may_see(principal, &teacher.fields.county_code).then(|| present(principal, teacher))
    };
    pb::DuplicateCandidate {
        teacher_id: pair.first.to_string(),
        other_teacher_id: pair.second.to_string(),
        reasons: pair
            .reasons
            .iter()
            .map(|reason| match reason {
                DuplicateReason::SamePersonDetails => pb::DuplicateReason::SamePersonDetails,
                DuplicateReason::IdCardDetails => pb::DuplicateReason::IdCardDetails,
                DuplicateReason::SameCertificateHolder => {
                    pb::DuplicateReason::SameCertificateHolder
                }
            } as i32)
            .collect(),
        score: pair.score as i32,
        teacher: shown(first),
        other_teacher: shown(second),
    }
}
