//! The case, title-evaluation and identity operations of [`Store`].
//!
//! Apart from the handle (`store`) to keep it readable, and named by nothing in the store:
//! these methods call into the parts (`cases`, `evaluation`, `identity`) and the writer,
//! and no part calls them.

use crate::domain::case::CaseId;
use crate::domain::{CountyCode, DomainError, TeacherId};
use crate::store::writer::Command;
use crate::store::{
    cases, evaluation, identity, page, ApplicationPage, Candidate, CaseAnswer, CaseCommand,
    CasePage, CaseQuery, CaseReport, CaseView, DryRunRow, EvaluationAnswer, EvaluationCommand,
    FiguresRow, IdentityAnswer, IdentityCommand, NewConsultation, PassFigures, ReportQuery,
    StorageFault, Store, StoreError, WriteContext,
};

/// What a page token of the duplicate candidates is bound to: the county listed.
fn candidates_digest(county: Option<&CountyCode>) -> [u8; 16] {
    use sha2::Digest;
    let text = format!(
        "duplicate-candidates {}",
        county.map_or("", CountyCode::as_str)
    );
    sha2::Sha256::digest(text.as_bytes())[..16]
        .try_into()
        .expect("16 of 32 bytes")
}

impl Store {
    /// Opens a case or takes a step of one. NOT_FOUND, ABORTED on a stale etag,
    /// INVALID_ARGUMENT, FAILED_PRECONDITION naming the rule the case's state breaks, and
    /// for a decision whatever its effect on the teacher's record is refused for. Returns
    /// once the step (and its effect) is on disk.
    pub async fn case_command(
        &self,
        command: CaseCommand,
        context: WriteContext,
    ) -> Result<CaseAnswer, StoreError> {
        self.ask(|reply| Command::Case {
            command,
            context,
            reply,
        })
        .await
    }

    /// Opens an evaluation round, records an ethics finding, makes an application or
    /// takes a step of one (see `store::evaluation`). NOT_FOUND, ABORTED on a stale etag,
    /// INVALID_ARGUMENT, FAILED_PRECONDITION naming the rule (an eligibility rule, the
    /// application's state); returns once the write (and a confirmation's promotion) is
    /// on disk.
    pub async fn evaluation_command(
        &self,
        command: EvaluationCommand,
        context: WriteContext,
    ) -> Result<EvaluationAnswer, StoreError> {
        self.ask(|reply| Command::Evaluate {
            command,
            context,
            reply,
        })
        .await
    }

    /// Proposes or reviews an identity correction (see `store::identity`). NOT_FOUND,
    /// ABORTED on a stale etag, ALREADY_EXISTS when the new document finds another
    /// person, FAILED_PRECONDITION naming the rule; returns once the step is on disk.
    pub async fn identity_command(
        &self,
        command: IdentityCommand,
        context: WriteContext,
    ) -> Result<IdentityAnswer, StoreError> {
        self.ask(|reply| Command::Identity {
            command,
            context,
            reply,
        })
        .await
    }

    /// One page of duplicate candidates not dismissed, of pairs with a record in `county`
    /// if given, after `page_token` (empty for the first); and the next page's token.
    pub fn list_candidates(
        &self,
        county: Option<&CountyCode>,
        page_size: usize,
        page_token: &str,
    ) -> Result<(Vec<Candidate>, String), StoreError> {
        let digest = candidates_digest(county);
        let after = match page_token {
            "" => None,
            token => {
                let after = page::open_token(&self.inner.page_secret, digest, token)?;
                if after.first() != Some(&identity::keys::PAIR) {
                    return Err(DomainError::invalid(
                        "page_token",
                        "does not belong to this listing",
                    )
                    .into());
                }
                Some(after)
            }
        };
        let (candidates, next) =
            identity::duplicates::list(self.engine(), county, page_size, after)?;
        let token = next.map_or_else(String::new, |after| {
            page::seal_token(&self.inner.page_secret, digest, after)
        });
        Ok((candidates, token))
    }

    /// The full pass over the registry's duplicate blocks: every pair not stored yet is
    /// stored, through the writer, in batches; see `store::identity::duplicates`.
    pub async fn find_duplicates(&self) -> Result<PassFigures, StoreError> {
        let store = self.clone();
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            identity::duplicates::full_pass(store.engine(), 1_000, |pairs| {
                let context = WriteContext::batch("duplicate-pass", None);
                handle
                    .block_on(
                        store.identity_command(IdentityCommand::RecordCandidates(pairs), context),
                    )
                    .map(drop)
            })
        })
        .await
        .map_err(|e| StoreError::Storage {
            fault: StorageFault::Failed,
            detail: format!("the duplicate pass stopped: {e}"),
        })?
    }

    /// The identity correction with this number.
    pub fn get_correction(
        &self,
        id: &CaseId,
    ) -> Result<Option<crate::domain::IdentityCorrection>, StoreError> {
        identity::get_correction(self.engine(), id)
    }

    /// The evaluation round with this number.
    pub fn get_round(
        &self,
        id: &CaseId,
    ) -> Result<Option<crate::domain::case::evaluation::EvaluationRound>, StoreError> {
        evaluation::get_round(self.engine(), id)
    }

    /// The title application with this number.
    pub fn get_application(
        &self,
        id: &CaseId,
    ) -> Result<Option<crate::domain::case::evaluation::Application>, StoreError> {
        evaluation::get_application(self.engine(), id)
    }

    /// A round's applications in number order, of one county or all.
    pub fn round_applications(
        &self,
        round: &CaseId,
        county: Option<&CountyCode>,
    ) -> Result<Vec<crate::domain::case::evaluation::Application>, StoreError> {
        evaluation::applications(self.engine(), round, county)
    }

    /// A page of a round's applications in number order, of one county or all, after
    /// `page_token` (empty for the first).
    pub fn round_applications_page(
        &self,
        round: &CaseId,
        county: Option<&CountyCode>,
        page_size: usize,
        page_token: &str,
    ) -> Result<ApplicationPage, StoreError> {
        evaluation::applications_page(
            self.engine(),
            &self.inner.page_secret,
            round,
            county,
            page_size,
            page_token,
        )
    }

    /// A round's figures by county and tier, from the cells the write path keeps.
    pub fn round_figures(
        &self,
        round: &CaseId,
        county: Option<&CountyCode>,
    ) -> Result<Vec<FiguresRow>, StoreError> {
        evaluation::round_figures(self.engine(), round, county)
    }

    /// The ethics findings about a teacher, oldest first.
    pub fn ethics_findings(
        &self,
        teacher: &TeacherId,
    ) -> Result<Vec<crate::domain::ethics::EthicsFinding>, StoreError> {
        Ok(evaluation::findings(self.engine(), teacher)?.0)
    }

    /// Every teacher of a county (or school) checked against a round's rules on `on`.
    pub fn eligibility_dry_run(
        &self,
        round: &CaseId,
        county: &CountyCode,
        school: Option<&str>,
        on: chrono::NaiveDate,
    ) -> Result<Vec<DryRunRow>, StoreError> {
        evaluation::dry_run(self.engine(), round, county, school, on)
    }

    /// Records a consultation answered at the window: one write with its change event.
    /// INVALID_ARGUMENT for a date in the future, PERMISSION_DENIED outside the caller's
    /// county.
    pub async fn record_consultation(
        &self,
        consultation: NewConsultation,
        context: WriteContext,
    ) -> Result<crate::domain::case::Consultation, StoreError> {
        self.ask(|reply| Command::Consult {
            consultation,
            context,
            reply,
        })
        .await
    }

    /// The report `query` asks for, with "open past the limit" as of today. Reads the
    /// year's cells and the open cases only (see `store::cases::report`).
    pub fn case_report(&self, query: &ReportQuery) -> Result<CaseReport, StoreError> {
        cases::report(
            &*self.inner.engine,
            &self.inner.window_rules,
            crate::clock::today(),
            query,
        )
    }

    /// The case with this number, with its clock as of today.
    pub fn get_case(&self, id: &CaseId) -> Result<Option<CaseView>, StoreError> {
        let today = crate::clock::today();
        Ok(cases::get(self.engine(), id)?.map(|case| CaseView {
            clock: case.clock(&self.inner.window_rules, today),
            case,
        }))
    }

    /// One page of the cases `query` selects, by due date (see [`CaseQuery`]).
    pub fn list_cases(
        &self,
        query: &CaseQuery,
        page_size: usize,
        page_token: &str,
    ) -> Result<CasePage, StoreError> {
        cases::check_period(query)?;
        cases::list(
            self.engine(),
            &self.inner.page_secret,
            &self.inner.window_rules,
            crate::clock::today(),
            query,
            page_size,
            page_token,
        )
    }
}
