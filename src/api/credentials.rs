//! The CredentialService: signed credentials for certificates (see [`crate::credential`]).
//! Issuing reads the record and signs; it writes nothing, so a credential costs no write
//! and leaves no change event. Checking is public (limited per source address, as
//! verification is) and reveals only what the credential itself states, once its
//! signature is the registry's.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::api::convert::WireEnum;
use crate::api::pb;
use crate::api::pb::credential_service_server::CredentialService as CredentialRpcs;
use crate::api::service::{may_see, rpc, traced, RegistryService};
use crate::auth::{Principal, Rpc};
use crate::clock;
use crate::credential::{
    self, facts_for, CredentialError, CredentialFacts, PublicKey, SigningKey, Verdict,
};
use crate::domain::audit::AuditKind;
use crate::domain::{parse_certificate_number, DomainError};

/// The CredentialService over the registry service's store, gate, metrics and key.
#[derive(Clone)]
pub struct CredentialService {
    registry: RegistryService,
}

impl CredentialService {
    pub fn new(registry: RegistryService) -> Self {
        Self { registry }
    }
}

impl RegistryService {
    /// The signing key, or FAILED_PRECONDITION naming the flag that gives one.
    fn credential_key(&self) -> Result<&Arc<SigningKey>, Status> {
        self.credential_key.as_ref().ok_or_else(|| {
            DomainError::FailedPrecondition {
                reason: "CREDENTIAL_KEY_MISSING",
                message: "this registry has no credential key: start it with `serve \
                          --credential-key FILE` (make one with `teacher-registry \
                          credential-key FILE`)"
                    .into(),
            }
            .into()
        })
    }

    async fn issue_credential(
        &self,
        principal: &Principal,
        request: pb::IssueCredentialRequest,
    ) -> Result<pb::IssueCredentialResponse, Status> {
        let pb::IssueCredentialRequest { certificate_number } = request;
        let number = parse_certificate_number(&certificate_number, clock::today())
            .map_err(|e| DomainError::invalid("certificate_number", e))?;
        let key = self.credential_key()?.clone();
        let found = {
            let number = number.clone();
            self.reads
                .read(move |store| store.find_by_certificate(&number))
                .await?
        };
        // Another county's certificate is NOT_FOUND to county staff, as in LookupTeacher:
        // existence is not revealed.
        let holder = found
            .filter(|t| may_see(principal, &t.fields.county_code))
            .ok_or(DomainError::NotFound {
                what: "certificate",
            })?;
        let facts = facts_for(&holder, &number, chrono::Utc::now(), key.public().id())?;
        // The read audit: a credential is a signed statement about a person.
        self.audit
            .record(
                &principal.name,
                AuditKind::CredentialIssued,
                Rpc::IssueCredential,
                format!("{number} ({})", holder.id),
            )
            .await?;
        let text = credential::issue(&facts, &key);
        let qr_png = credential::qr_png(&text).ok_or_else(|| {
            tracing::error!(length = text.len(), "a credential too long for a QR code");
            Status::internal("the credential does not fit a QR code")
        })?;
        Ok(pb::IssueCredentialResponse {
            credential: text,
            qr_png,
            facts: Some(facts_message(facts)),
            key: Some(key_message(key.public())),
        })
    }

    async fn check_credential(
        &self,
        _public: &Principal,
        request: pb::CheckCredentialRequest,
    ) -> Result<pb::CheckCredentialResponse, Status> {
        let pb::CheckCredentialRequest { credential } = request;
        let key = self.credential_key()?.clone();
        let answer = |verdict: pb::CredentialVerdict| pb::CheckCredentialResponse {
            verdict: verdict as i32,
            key: Some(key_message(key.public())),
            ..Default::default()
        };
        let facts = match credential::verify(&credential, key.public()) {
            Ok(facts) => facts,
            Err(CredentialError::Malformed(why)) => {
                return Err(DomainError::invalid("credential", why).into())
            }
            Err(CredentialError::Forged { .. }) => {
                return Ok(answer(pb::CredentialVerdict::Forged))
            }
            Err(CredentialError::OtherKey { .. }) => {
                return Ok(answer(pb::CredentialVerdict::UnknownKey))
            }
        };
        let holder = {
            let number = facts.certificate_number.clone();
            self.reads
                .read(move |store| store.find_by_certificate(&number))
                .await?
        };
        let mut response = answer(pb::CredentialVerdict::Unspecified);
        response.verdict = match credential::check(&facts, holder.as_ref()) {
            Verdict::Valid => pb::CredentialVerdict::Valid,
            Verdict::Revoked { revoked_on } => {
                response.revoked_on = revoked_on.to_string();
                pb::CredentialVerdict::Revoked
            }
            Verdict::Lost { lost_on } => {
                response.lost_on = lost_on.to_string();
                pb::CredentialVerdict::Lost
            }
            Verdict::Superseded { changed } => {
                response.changed_fields = changed.into_iter().map(String::from).collect();
                pb::CredentialVerdict::Superseded
            }
            Verdict::CertificateUnknown => pb::CredentialVerdict::CertificateUnknown,
        } as i32;
        response.facts = Some(facts_message(facts));
        Ok(response)
    }

    async fn get_credential_key(
        &self,
        _public: &Principal,
        request: pb::GetCredentialKeyRequest,
    ) -> Result<pb::GetCredentialKeyResponse, Status> {
        let pb::GetCredentialKeyRequest {} = request;
        Ok(pb::GetCredentialKeyResponse {
            key: Some(key_message(self.credential_key()?.public())),
        })
    }
}

fn facts_message(facts: CredentialFacts) -> pb::CredentialFacts {
    let CredentialFacts {
        certificate_number,
        holder_name,
        kind,
        certified_on,
        issuing_authority,
        registration_valid_until,
        issued_at,
        key_id,
    } = facts;
    pb::CredentialFacts {
        certificate_number,
        holder_name,
        kind: kind.to_wire(),
        certified_on: certified_on.to_string(),
        issuing_authority,
        registration_valid_until: registration_valid_until
            .map(|d| d.to_string())
            .unwrap_or_default(),
        issue_time: Some(prost_types::Timestamp {
            seconds: issued_at.timestamp(),
            nanos: 0,
        }),
        key_id,
    }
}

fn key_message(key: &PublicKey) -> pb::CredentialKey {
    pb::CredentialKey {
        key_id: key.id(),
        public_key: key.to_string(),
    }
}

/// Each RPC: admitted by the gate (the public ones without a token) and traced.
#[tonic::async_trait]
impl CredentialRpcs for CredentialService {
    async fn issue_credential(
        &self,
        request: Request<pb::IssueCredentialRequest>,
    ) -> Result<Response<pb::IssueCredentialResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, IssueCredential, issue_credential)
    }

    /// Limited per source address, as VerifyCertificate is and sharing its buckets: each
    /// check reads the store, and a public caller has no principal to count against.
    async fn check_credential(
        &self,
        request: Request<pb::CheckCredentialRequest>,
    ) -> Result<Response<pb::CheckCredentialResponse>, Status> {
        let rpc = Rpc::CheckCredential;
        let registry = &self.registry;
        traced(&registry.metrics, rpc, request.remote_addr(), async {
            registry.gate.admit_public(rpc, request.remote_addr())?;
            registry
                .check_credential(&Principal::public(), request.into_inner())
                .await
        })
        .await
    }

    async fn get_credential_key(
        &self,
        request: Request<pb::GetCredentialKeyRequest>,
    ) -> Result<Response<pb::GetCredentialKeyResponse>, Status> {
        let registry = &self.registry;
        rpc!(registry, request, GetCredentialKey, get_credential_key)
    }
}
