//! The read audit (#21, finding 12): who read or learned what, where no change event says
//! so. A change to a person is in the change log with its principal; these are the acts
//! that change nothing and still matter to the people in the registry: looking a person
//! up by identity number, reading identity numbers in bulk (exports, backups), being told
//! a duplicate exists, being held back for too many refusals, writes that changed nothing,
//! and credentials signed. An admin lists them (ListAuditEntries, `audit`).
//!
//! An entry never holds a full identity number: what was asked is kept masked.

use crate::domain::UnixMicros;

/// What an audit entry records. Stored codes equal the proto numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// LookupTeacher by identity number; `subject` is the number, masked.
    IdentityLookup,
    /// A listing of teachers with identity numbers in full (its first page): an export.
    Listing,
    /// BackupRegistry: every record, numbers in full.
    Backup,
    /// An ALREADY_EXISTS answer, which tells the caller a record exists.
    DuplicateRevealed,
    /// The caller's refusal budget ran out (a sweep is held back).
    RefusalLimit,
    /// A write that changed nothing (it leaves no change event).
    NoOpWrite,
    /// A credential signed for a certificate.
    CredentialIssued,
}

impl AuditKind {
    pub const ALL: [AuditKind; 7] = [
        AuditKind::IdentityLookup,
        AuditKind::Listing,
        AuditKind::Backup,
        AuditKind::DuplicateRevealed,
        AuditKind::RefusalLimit,
        AuditKind::NoOpWrite,
        AuditKind::CredentialIssued,
    ];

    /// The kind as the `audit` command and the log spell it.
    pub fn name(self) -> &'static str {
        match self {
            AuditKind::IdentityLookup => "identity-lookup",
            AuditKind::Listing => "listing",
            AuditKind::Backup => "backup",
            AuditKind::DuplicateRevealed => "duplicate-revealed",
            AuditKind::RefusalLimit => "refusal-limit",
            AuditKind::NoOpWrite => "no-op-write",
            AuditKind::CredentialIssued => "credential-issued",
        }
    }
}

/// One entry of the read audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When it happened (set as the entry is stored).
    pub at: UnixMicros,
    /// Who: the principal's name.
    pub principal: String,
    pub kind: AuditKind,
    /// The RPC, e.g. `LookupTeacher`.
    pub method: String,
    /// What was asked or touched: a masked identity number, a registry number, a county;
    /// empty when the kind says it all.
    pub subject: String,
}
