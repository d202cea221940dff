//! Who may do what: principals with bearer tokens, their roles, and the one table that
//! says which role may call which RPC.
//!
//! The auth file (TOML) lists principals by name, role, county (for county-scoped roles)
//! and the SHA-256 of their token; the token itself is shown once, when it is made, and
//! never stored. A presented token is hashed and compared with every entry in constant
//! time, so neither a wrong token nor a near miss can be told apart by timing.

mod authenticator;
mod file;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::{CityCode, CountyCode};
pub use authenticator::{AuthError, Authenticator};
pub use file::{add_principal, revoke_principal, rotate_token};

/// What a principal may do; see [`permits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Title changes and transitions; reads everything.
    Hr,
    /// Creates, updates, imports, certificates and sync, in its own county only.
    County,
    /// ImportTeachers only, optionally in one county.
    Importer,
    /// Reads only, with identity numbers masked.
    Reader,
    /// The cases its counties forwarded to the city (two-level certification): reads
    /// them, asks for supplements, assigns and decides them.
    City,
}

impl Role {
    /// The role as the auth file and the `token` command spell it, e.g. `hr`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Hr => "hr",
            Role::County => "county",
            Role::Importer => "importer",
            Role::Reader => "reader",
            Role::City => "city",
        }
    }
}

/// Messages name a role as the auth file does (`hr`), never as Rust spells it.
impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The RPCs, for authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rpc {
    CreateTeacher,
    GetTeacher,
    LookupTeacher,
    ListTeachers,
    SearchTeachers,
    UpdateTeacher,
    IssueCertificate,
    ReissueCertificate,
    RegisterCertificate,
    RevokeCertificate,
    LoseQualification,
    ChangeTitle,
    TransitionTitles,
    GetStatistics,
    ListChanges,
    WatchChanges,
    ImportTeachers,
    /// Reads only, but everything, full identity numbers included: admins only.
    BackupRegistry,
    OpenCase,
    GetCase,
    ListCases,
    AcceptCase,
    RefuseCase,
    RequestSupplement,
    ReceiveSupplement,
    ForwardCase,
    AssignCase,
    WithdrawCase,
    DecideCase,
    /// Signs a credential: admins, and county staff for their own county's certificates.
    IssueCredential,
    /// Public: checks a credential an employer holds.
    CheckCredential,
    /// Public: the key credentials are checked with.
    GetCredentialKey,
    /// Public: open to callers without a token, limited per source address instead.
    VerifyCertificate,
    RecordConsultation,
    GetCaseReport,
    CreateEvaluationRound,
    GetEvaluationRound,
    RecordEthicsFinding,
    ListEthicsFindings,
    ApplyForTitle,
    GetTitleApplication,
    ListTitleApplications,
    OpenPublicity,
    RecordObjection,
    HandleObjection,
    RecordCommitteeResults,
    ConfirmApplications,
    CloseTitleApplication,
    /// The eligibility dry run over a county or school: reads only.
    CheckEligibility,
    GetRoundStatistics,
    /// A teacher's history: reads only, scoped and masked as GetTeacher.
    ListTeacherRevisions,
    /// The teacher's county proposes a transfer to another county.
    ProposeTransfer,
    /// The receiving county accepts a pending transfer.
    AcceptTransfer,
    /// The receiving county declines a pending transfer.
    DeclineTransfer,
    /// The transfers pending out of and into a county: reads only.
    ListTransfers,
    /// The read audit: who looked up or exported what. Admins only.
    ListAuditEntries,
    ProposeIdentityCorrection,
    /// Never by the principal who proposed the correction (the store refuses it).
    ApproveIdentityCorrection,
    RejectIdentityCorrection,
    GetIdentityCorrection,
    ListDuplicateCandidates,
    DismissDuplicateCandidate,
    MergeTeachers,
    UnmergeTeachers,
}

impl Rpc {
    pub const ALL: [Rpc; 64] = [
        Rpc::CreateTeacher,
        Rpc::GetTeacher,
        Rpc::LookupTeacher,
        Rpc::ListTeachers,
        Rpc::SearchTeachers,
        Rpc::UpdateTeacher,
        Rpc::IssueCertificate,
        Rpc::ReissueCertificate,
        Rpc::RegisterCertificate,
        Rpc::RevokeCertificate,
        Rpc::LoseQualification,
        Rpc::ChangeTitle,
        Rpc::TransitionTitles,
        Rpc::GetStatistics,
        Rpc::ListChanges,
        Rpc::WatchChanges,
        Rpc::ImportTeachers,
        Rpc::BackupRegistry,
        Rpc::OpenCase,
        Rpc::GetCase,
        Rpc::ListCases,
        Rpc::AcceptCase,
        Rpc::RefuseCase,
        Rpc::RequestSupplement,
        Rpc::ReceiveSupplement,
        Rpc::ForwardCase,
        Rpc::AssignCase,
        Rpc::WithdrawCase,
        Rpc::DecideCase,
        Rpc::IssueCredential,
        Rpc::CheckCredential,
        Rpc::GetCredentialKey,
        Rpc::VerifyCertificate,
        Rpc::RecordConsultation,
        Rpc::GetCaseReport,
        Rpc::CreateEvaluationRound,
        Rpc::GetEvaluationRound,
        Rpc::RecordEthicsFinding,
        Rpc::ListEthicsFindings,
        Rpc::ApplyForTitle,
        Rpc::GetTitleApplication,
        Rpc::ListTitleApplications,
        Rpc::OpenPublicity,
        Rpc::RecordObjection,
        Rpc::HandleObjection,
        Rpc::RecordCommitteeResults,
        Rpc::ConfirmApplications,
        Rpc::CloseTitleApplication,
        Rpc::CheckEligibility,
        Rpc::GetRoundStatistics,
        Rpc::ListTeacherRevisions,
        Rpc::ProposeTransfer,
        Rpc::AcceptTransfer,
        Rpc::DeclineTransfer,
        Rpc::ListTransfers,
        Rpc::ListAuditEntries,
        Rpc::ProposeIdentityCorrection,
        Rpc::ApproveIdentityCorrection,
        Rpc::RejectIdentityCorrection,
        Rpc::GetIdentityCorrection,
        Rpc::ListDuplicateCandidates,
        Rpc::DismissDuplicateCandidate,
        Rpc::MergeTeachers,
        Rpc::UnmergeTeachers,
    ];

    /// Whether anyone may call the RPC, without a token: what an employer checking a
    /// certificate needs, and nothing that reveals an identity number. This one predicate
    /// decides it, for the table ([`permits`]) and for the gate, which admits callers of a
    /// public RPC as [`Principal::public`] whatever token they send.
    pub fn is_public(self) -> bool {
        matches!(
            self,
            Rpc::CheckCredential | Rpc::GetCredentialKey | Rpc::VerifyCertificate
        )
    }

    /// Whether the RPC only reads.
    pub fn reads_only(self) -> bool {
        matches!(
            self,
            Rpc::GetTeacher
                | Rpc::ListTeacherRevisions
                | Rpc::ListTransfers
                | Rpc::LookupTeacher
                | Rpc::ListTeachers
                | Rpc::SearchTeachers
                | Rpc::GetStatistics
                | Rpc::ListChanges
                | Rpc::WatchChanges
                | Rpc::GetCase
                | Rpc::ListCases
                | Rpc::GetCaseReport
                | Rpc::GetEvaluationRound
                | Rpc::ListEthicsFindings
                | Rpc::GetTitleApplication
                | Rpc::ListTitleApplications
                | Rpc::CheckEligibility
                | Rpc::GetRoundStatistics
        )
    }

    /// Whether the RPC changes or reads what recognises a person: their identity
    /// documents, and which records are one person's. County staff, for their county,
    /// and admins; readers see nothing of it (a correction holds two numbers in full).
    pub fn is_identity_operation(self) -> bool {
        matches!(
            self,
            Rpc::ProposeIdentityCorrection
                | Rpc::ApproveIdentityCorrection
                | Rpc::RejectIdentityCorrection
                | Rpc::GetIdentityCorrection
                | Rpc::ListDuplicateCandidates
                | Rpc::DismissDuplicateCandidate
                | Rpc::MergeTeachers
                | Rpc::UnmergeTeachers
        )
    }

    /// Whether the RPC writes title evaluation (HR runs rounds; see [`permits`]).
    pub fn is_evaluation_step(self) -> bool {
        matches!(
            self,
            Rpc::CreateEvaluationRound
                | Rpc::RecordEthicsFinding
                | Rpc::ApplyForTitle
                | Rpc::OpenPublicity
                | Rpc::RecordObjection
                | Rpc::HandleObjection
                | Rpc::RecordCommitteeResults
                | Rpc::ConfirmApplications
                | Rpc::CloseTitleApplication
        )
    }

    /// Whether the RPC is a step of a case (window staff's work).
    pub fn is_case_step(self) -> bool {
        matches!(
            self,
            Rpc::OpenCase
                | Rpc::AcceptCase
                | Rpc::RefuseCase
                | Rpc::RequestSupplement
                | Rpc::ReceiveSupplement
                | Rpc::ForwardCase
                | Rpc::AssignCase
                | Rpc::WithdrawCase
                | Rpc::DecideCase
                | Rpc::RecordConsultation
        )
    }
}

/// The authorization table: whether `role` may call `rpc` at all. County scoping (which
/// teachers) is applied on top, where the data is.
pub fn permits(role: Role, rpc: Rpc) -> bool {
    use Rpc::*;
    if rpc.is_public() {
        return true;
    }
    match role {
        Role::Admin => true,
        Role::Reader => rpc.reads_only(),
        // HR handles periodic registration at the window (see `api::requests::case_kinds`),
        // and runs title evaluation rounds.
        Role::Hr => {
            rpc.reads_only()
                || rpc.is_case_step()
                || rpc.is_evaluation_step()
                || matches!(rpc, ChangeTitle | TransitionTitles)
        }
        Role::County => {
            rpc.reads_only()
                || rpc.is_case_step()
                || rpc.is_identity_operation()
                || matches!(
                    rpc,
                    CreateTeacher
                        | UpdateTeacher
                        | ImportTeachers
                        | IssueCertificate
                        | ReissueCertificate
                        | RegisterCertificate
                        | RevokeCertificate
                        | IssueCredential
                        | LoseQualification
                        // Transfers: the teacher's county proposes, the receiving one answers.
                        | ProposeTransfer
                        | AcceptTransfer
                        | DeclineTransfer
                        // Title evaluation: their teachers apply through them; they record
                        // what is found and objected in their county.
                        | ApplyForTitle
                        | RecordEthicsFinding
                        | RecordObjection
                )
        }
        Role::Importer => rpc == ImportTeachers,
        Role::City => matches!(
            rpc,
            GetCase | ListCases | DecideCase | RequestSupplement | ReceiveSupplement | AssignCase
        ),
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// For county roles (and county-scoped importers): the only county they may touch.
    pub county: Option<CountyCode>,
    /// For city roles: the city whose counties' forwarded cases they work.
    pub city: Option<CityCode>,
}

/// The name recorded for callers when authentication is off.
pub const ANONYMOUS: &str = "anonymous";

/// The name of callers of public RPCs.
pub const PUBLIC: &str = "public";

impl Principal {
    /// The caller when the server runs without an auth file (loopback only): may do all.
    pub fn anonymous() -> Principal {
        Principal {
            name: ANONYMOUS.to_string(),
            role: Role::Admin,
            county: None,
            city: None,
        }
    }

    /// The caller of a public RPC (see [`Rpc::is_public`]), token or not: the least a
    /// principal may see (a reader's, identity numbers masked), and one shared share of
    /// concurrent requests for all such callers.
    pub fn public() -> Principal {
        Principal {
            name: PUBLIC.to_string(),
            role: Role::Reader,
            county: None,
            city: None,
        }
    }

    /// Whether identity numbers must be masked in what this caller sees.
    pub fn sees_masked_identities(&self) -> bool {
        self.role == Role::Reader
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.name, self.role)?;
        if let Some(county) = &self.county {
            write!(f, ", county {}", county.as_str())?;
        }
        if let Some(city) = &self.city {
            write!(f, ", city {city}")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_roles() {
        for rpc in Rpc::ALL {
            assert!(permits(Role::Admin, rpc));
            let reader = rpc.reads_only() || rpc.is_public();
            assert_eq!(permits(Role::Reader, rpc), reader, "{rpc:?}");
            let importer = rpc == Rpc::ImportTeachers || rpc.is_public();
            assert_eq!(permits(Role::Importer, rpc), importer);
        }
        assert!(permits(Role::County, Rpc::IssueCredential));
        assert!(!permits(Role::Hr, Rpc::IssueCredential));
        assert!(!permits(Role::Reader, Rpc::IssueCredential));
        assert!(Rpc::CheckCredential.is_public() && !Rpc::IssueCredential.is_public());
        assert!(permits(Role::Hr, Rpc::TransitionTitles));
        assert!(!permits(Role::Hr, Rpc::CreateTeacher));
        assert!(permits(Role::County, Rpc::ReissueCertificate));
        assert!(!permits(Role::County, Rpc::ChangeTitle));
    }

    #[test]
    fn tokens_are_stored_hashed_and_authenticate_their_principal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.toml");
        let admin = add_principal(&path, "root", Role::Admin, None).unwrap();
        let county = add_principal(&path, "yanping", Role::County, Some("350702")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&admin) && !text.contains(&county), "{text}");
        assert!(add_principal(&path, "root", Role::Reader, None).is_err());
        assert!(add_principal(&path, "nowhere", Role::County, None).is_err());

        let auth = Authenticator::load(&path).unwrap();
        let p = auth
            .authenticate(Some(&format!("Bearer {county}")))
            .unwrap();
        assert_eq!((p.name.as_str(), p.role), ("yanping", Role::County));
        assert_eq!(p.county.unwrap().as_str(), "350702");
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {admin}")))
                .unwrap()
                .role,
            Role::Admin
        );
        assert_eq!(auth.authenticate(None), Err(AuthError::Missing));
        assert_eq!(auth.authenticate(Some(&admin)), Err(AuthError::Malformed));
        assert_eq!(
            auth.authenticate(Some("Bearer ")),
            Err(AuthError::Malformed)
        );
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {admin}x"))),
            Err(AuthError::Unknown)
        );
    }
}
