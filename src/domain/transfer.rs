//! Transfers between counties with two sides (调动): the releasing county proposes, the
//! receiving county accepts or declines.
//!
//! A county bureau's authority covers the teachers whose current county is its own, so a
//! move out of a county used to be one county's act alone: the receiving county found a
//! teacher in its register it never agreed to. Now the releasing county proposes (the
//! teacher stays where they are, and the record carries the pending transfer), and only
//! the receiving county's acceptance moves the record, with the school it gives. A decline
//! ends the proposal and changes nothing else. An admin may still move a teacher directly
//! (UpdateTeacher), which ends a pending transfer.

use crate::domain::text::required_text;
use crate::domain::{CountyCode, DomainError, PendingTransfer, Teacher, UnixMicros};

/// Reasons and notes: the length of an approval document's text elsewhere.
const REASON_MAX: usize = 200;
const SCHOOL_MAX: usize = 100;

/// A validated proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferProposal {
    pub to_county: CountyCode,
    pub reason: String,
}

impl TransferProposal {
    /// Checks the receiving county and the reason (paths `to_county_code`, `reason`).
    pub fn parse(to_county: &str, reason: &str) -> Result<Self, DomainError> {
        let mut violations = Vec::new();
        let to_county = CountyCode::parse(to_county)
            .map_err(|e| violations.push(crate::domain::FieldViolation::new("to_county_code", e)))
            .ok();
        let reason = required_text(reason, REASON_MAX)
            .map_err(|e| violations.push(crate::domain::FieldViolation::new("reason", e)))
            .ok();
        match (to_county, reason) {
            (Some(to_county), Some(reason)) => Ok(TransferProposal { to_county, reason }),
            _ => Err(violations.into()),
        }
    }
}

/// The school an accepted teacher joins in the receiving county (path `school`).
pub fn parse_receiving_school(school: &str) -> Result<String, DomainError> {
    required_text(school, SCHOOL_MAX).map_err(|e| DomainError::invalid("school", e))
}

fn precondition(reason: &'static str, message: String) -> DomainError {
    DomainError::FailedPrecondition { reason, message }
}

impl Teacher {
    /// Records a proposal to move the teacher to another county. FAILED_PRECONDITION
    /// (`TRANSFER_PENDING`) while another is pending; INVALID_ARGUMENT for the teacher's own
    /// county.
    pub fn propose_transfer(
        &mut self,
        proposal: TransferProposal,
        by: &str,
        at: UnixMicros,
    ) -> Result<(), DomainError> {
        if proposal.to_county == self.fields.county_code {
            return Err(DomainError::invalid(
                "to_county_code",
                "is the teacher's own county",
            ));
        }
        if let Some(pending) = &self.pending_transfer {
            return Err(precondition(
                "TRANSFER_PENDING",
                format!(
                    "a transfer to county {} is pending: it is accepted or declined first",
                    pending.to_county.as_str()
                ),
            ));
        }
        self.pending_transfer = Some(PendingTransfer {
            to_county: proposal.to_county,
            reason: proposal.reason,
            proposed_by: by.to_string(),
            proposed_at: at,
        });
        Ok(())
    }

    /// Moves the teacher to the pending transfer's county, at `school`. FAILED_PRECONDITION
    /// (`NO_PENDING_TRANSFER`) without one.
    pub fn accept_transfer(&mut self, school: String) -> Result<(), DomainError> {
        let pending = self.take_pending()?;
        self.fields.county_code = pending.to_county;
        self.fields.school = school;
        Ok(())
    }

    /// Ends the pending transfer; the teacher stays. FAILED_PRECONDITION
    /// (`NO_PENDING_TRANSFER`) without one.
    pub fn decline_transfer(&mut self) -> Result<(), DomainError> {
        self.take_pending().map(drop)
    }

    fn take_pending(&mut self) -> Result<PendingTransfer, DomainError> {
        self.pending_transfer.take().ok_or_else(|| {
            precondition(
                "NO_PENDING_TRANSFER",
                "no transfer of this teacher is pending".into(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures;

    fn proposal(to: &str) -> TransferProposal {
        TransferProposal::parse(to, "工作调动").unwrap()
    }

    #[test]
    fn a_transfer_moves_only_when_accepted_and_one_at_a_time() {
        let mut teacher = fixtures::stored_teacher(None, false);
        let before = teacher.clone();
        teacher
            .propose_transfer(proposal("350721"), "yanping", UnixMicros(5))
            .unwrap();
        assert_eq!(teacher.fields.county_code, before.fields.county_code);
        let again = teacher
            .propose_transfer(proposal("350722"), "yanping", UnixMicros(6))
            .unwrap_err();
        assert!(matches!(
            again,
            DomainError::FailedPrecondition {
                reason: "TRANSFER_PENDING",
                ..
            }
        ));
        teacher.decline_transfer().unwrap();
        assert_eq!(teacher, before);
        assert!(teacher.decline_transfer().is_err());
        teacher
            .propose_transfer(proposal("350721"), "yanping", UnixMicros(7))
            .unwrap();
        teacher.accept_transfer("顺昌一中".into()).unwrap();
        assert_eq!(teacher.fields.county_code.as_str(), "350721");
        assert_eq!(teacher.fields.school, "顺昌一中");
        assert_eq!(teacher.pending_transfer, None);
        assert!(teacher
            .propose_transfer(proposal("350721"), "x", UnixMicros(8))
            .is_err());
        assert!(TransferProposal::parse("350700", "x").is_err());
        assert!(TransferProposal::parse("350721", " ").is_err());
    }
}
