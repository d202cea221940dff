//! Public verification of a certificate (证书查询): what anyone may learn of a certificate
//! from its number and its holder's name, and the one rule for its standing.
//!
//! Employers check a certificate before they hire; the national lookup answers from the
//! holder's name and the certificate number (and identity number). The answer is kept to
//! what that check needs, because the caller is anonymous: whether such a certificate
//! exists for that name, its kind, its [`Standing`]. A name or identity number that does
//! not match is answered as "no such certificate", so the lookup cannot be used to learn
//! which of the two was wrong, or who holds a number.
//!
//! [`Certificate::standing`] is the one place that says what a certificate's standing is
//! (valid, revoked, lost; registered until when; before the electronic record), so every
//! check of a certificate (this lookup, and any later check of a signed credential
//! against the registry) answers the same.

use chrono::{Datelike, NaiveDate};

use crate::domain::text::required_text;
use crate::domain::{
    name_search_form, parse_certificate_number, Certificate, CertificateKind, CertificateStatus,
    FieldViolation, Teacher,
};

/// The year the national electronic record of certificates began. Certificates certified
/// before it were kept on paper and entered later; for them the issuing office's paper
/// record is authoritative, and a verifier is told to check with it.
pub const ELECTRONIC_RECORD_SINCE_YEAR: i32 = 2008;

const NAME_MAX: usize = 64;
const IDENTITY_MAX: usize = 32;

/// What a public verification asks, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationQuery {
    /// The certificate number, normalised.
    pub number: String,
    /// The holder's name in its search form (see [`name_search_form`]).
    name: String,
    /// The identity document number, trimmed and upper-cased, if given.
    identity: Option<String>,
}

/// What anyone may know of a certificate: no person, no place, no number but its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub kind: CertificateKind,
    pub status: CertificateStatus,
    /// The end of the latest registration of a VALID certificate; `None` otherwise.
    pub registered_until: Option<NaiveDate>,
    /// Certified before [`ELECTRONIC_RECORD_SINCE_YEAR`]: check with the issuing office.
    pub before_electronic_record: bool,
}

impl VerificationQuery {
    /// Checks the form of what was asked: a name, a well-formed certificate number, and
    /// an identity number of a plausible form if one is given. The problems reported say
    /// nothing of any record.
    pub fn parse(
        name: &str,
        certificate_number: &str,
        national_id: &str,
        today: NaiveDate,
    ) -> Result<VerificationQuery, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        let name = required_text(name, NAME_MAX)
            .map(|n| name_search_form(&n))
            .map_err(|e| violations.push(FieldViolation::new("name", e)))
            .ok();
        let number = parse_certificate_number(certificate_number, today)
            .map_err(|e| violations.push(FieldViolation::new("certificate_number", e)))
            .ok();
        let identity = national_id.trim().to_ascii_uppercase();
        let identity = if identity.is_empty() {
            Some(None)
        } else if identity.chars().count() > IDENTITY_MAX
            || !identity
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            violations.push(FieldViolation::new(
                "national_id",
                format!("an identity document number has at most {IDENTITY_MAX} letters, digits and hyphens"),
            ));
            None
        } else {
            Some(Some(identity))
        };
        match (name, number, identity) {
            (Some(name), Some(number), Some(identity)) => Ok(VerificationQuery {
                number,
                name,
                identity,
            }),
            _ => Err(violations),
        }
    }

    /// The standing of the asked certificate, if `holder` (the holder of that number, if
    /// any) has it under the asked name and identity number; `None` otherwise, whichever
    /// part did not match.
    pub fn answer(&self, holder: Option<&Teacher>) -> Option<Standing> {
        let holder = holder?;
        let certificate = holder
            .certificates
            .iter()
            .find(|c| c.number == self.number)?;
        let name_matches = name_search_form(&holder.fields.name) == self.name;
        let identity_matches = self
            .identity
            .as_ref()
            .is_none_or(|given| given == holder.fields.identity.number());
        (name_matches && identity_matches).then(|| certificate.standing())
    }
}

impl Certificate {
    /// The certificate's standing: its status, its registration if it is valid, and
    /// whether it predates the electronic record.
    pub fn standing(&self) -> Standing {
        let registered_until = match self.status {
            CertificateStatus::Valid => self.registrations.last().map(|r| r.expires_on),
            CertificateStatus::Revoked | CertificateStatus::Lost => None,
        };
        Standing {
            kind: self.kind,
            status: self.status,
            registered_until,
            before_electronic_record: self.certified_on.year() < ELECTRONIC_RECORD_SINCE_YEAR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{primary_certificate, stored_teacher, today};
    use crate::domain::{Choice, RevocationRequest};

    const NUMBER: &str = "20163500022000123";

    fn holder() -> Teacher {
        let mut t = stored_teacher(None, false);
        t.issue_certificate(primary_certificate(NUMBER).validate(today()).unwrap())
            .unwrap();
        t
    }

    fn ask(name: &str, id: &str) -> VerificationQuery {
        VerificationQuery::parse(name, NUMBER, id, today()).unwrap()
    }

    #[test]
    fn a_match_answers_the_standing_and_any_mismatch_answers_nothing() {
        let t = holder();
        let name = t.fields.name.clone();
        let id = t.fields.identity.number().to_string();
        let standing = ask(&name, "").answer(Some(&t)).unwrap();
        assert_eq!(standing.kind, CertificateKind::PrimarySchool);
        assert_eq!(standing.status, CertificateStatus::Valid);
        assert_eq!(
            standing.registered_until,
            NaiveDate::from_ymd_opt(2021, 9, 1)
        );
        assert!(!standing.before_electronic_record);
        let spaced: String = name.chars().flat_map(|c| [c, ' ']).collect();
        assert_eq!(
            ask(&spaced, &id.to_lowercase()).answer(Some(&t)),
            Some(standing)
        );
        assert_eq!(ask("别人", "").answer(Some(&t)), None);
        assert_ne!(id, "110105194912310021");
        assert_eq!(ask(&name, "110105194912310021").answer(Some(&t)), None);
        assert_eq!(ask(&name, "").answer(None), None);
        let other = VerificationQuery::parse(&name, "20163500022000124", "", today()).unwrap();
        assert_eq!(other.answer(Some(&t)), None);
    }

    #[test]
    fn a_void_certificate_shows_no_registration_and_old_ones_send_to_the_office() {
        let mut t = holder();
        let revocation =
            RevocationRequest::parse(Choice::Unset, "r", "d", "2020-01-01", today()).unwrap();
        t.revoke_certificate(NUMBER, &revocation, today()).unwrap();
        let standing = t.certificates[0].standing();
        assert_eq!(standing.status, CertificateStatus::Revoked);
        assert_eq!(standing.registered_until, None);
        t.certificates[0].certified_on = NaiveDate::from_ymd_opt(2007, 12, 31).unwrap();
        assert!(t.certificates[0].standing().before_electronic_record);
        t.certificates[0].certified_on = NaiveDate::from_ymd_opt(2008, 1, 1).unwrap();
        assert!(!t.certificates[0].standing().before_electronic_record);
    }

    #[test]
    fn malformed_questions_are_refused_field_by_field() {
        let err =
            VerificationQuery::parse(" ", "123", "11010519491231002X; drop", today()).unwrap_err();
        let fields: Vec<_> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["name", "certificate_number", "national_id"]);
    }
}
