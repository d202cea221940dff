//! The role table, written out: one row per RPC of every service in the proto, one
//! column per role and one for a caller without a token, each cell as the README's role
//! table spells it. `tests/auth.rs` checks every cell against a real server, and that the
//! README's table (whose rows group RPCs with the same cells) says exactly this.
//!
//! A cell that starts with `no` is PERMISSION_DENIED (UNAUTHENTICATED without a token);
//! any other admits the caller. In the county column, `own county` means county scope
//! applies: the same request from another county's principal is refused.

/// The columns after the RPC's, in the README's order.
pub const COLUMNS: [&str; 7] = [
    "admin", "hr", "county", "importer", "reader", "city", "no token",
];

/// The column of county staff.
pub const COUNTY: usize = 2;
/// The column of callers without a token.
pub const NO_TOKEN: usize = 6;

#[rustfmt::skip]
pub const ROLE_TABLE: &[(&str, [&str; 7])] = &[
    // TeacherRegistryService: reads.
    ("GetTeacher", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("ListTeachers", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("SearchTeachers", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("ListTeacherRevisions", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("GetStatistics", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("ListChanges", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("WatchChanges", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("LookupTeacher", ["yes", "yes", "own county", "no", "yes, masked; by certificate number only", "no", "no"]),
    // TeacherRegistryService: writes.
    ("CreateTeacher", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("UpdateTeacher", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("IssueCertificate", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("ReissueCertificate", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("RegisterCertificate", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("RevokeCertificate", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("LoseQualification", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("ImportTeachers", ["yes", "no", "own county", "yes, own county if it has one", "no", "no", "no"]),
    ("ChangeTitle", ["yes", "yes", "no", "no", "no", "no", "no"]),
    ("TransitionTitles", ["yes", "yes", "no", "no", "no", "no", "no"]),
    ("ProposeTransfer", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("AcceptTransfer", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("DeclineTransfer", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("ListTransfers", ["yes", "yes", "own county", "no", "yes", "no", "no"]),
    ("BackupRegistry", ["yes", "no", "no", "no", "no", "no", "no"]),
    ("ListAuditEntries", ["yes", "no", "no", "no", "no", "no", "no"]),
    // CaseService.
    ("GetCase", ["yes", "yes", "own county", "no", "yes, masked", "forwarded by its counties", "no"]),
    ("ListCases", ["yes", "yes", "own county", "no", "yes, masked", "forwarded by its counties", "no"]),
    ("GetCaseReport", ["yes", "yes", "own county", "no", "yes", "no", "no"]),
    ("RecordConsultation", ["yes", "yes", "own county", "no", "no", "no", "no"]),
    ("OpenCase", ["yes", "registration cases", "own county", "no", "no", "no", "no"]),
    ("AcceptCase", ["yes", "registration cases", "own county", "no", "no", "no", "no"]),
    ("RefuseCase", ["yes", "registration cases", "own county", "no", "no", "no", "no"]),
    ("ForwardCase", ["yes", "registration cases", "own county", "no", "no", "no", "no"]),
    ("WithdrawCase", ["yes", "registration cases", "own county", "no", "no", "no", "no"]),
    ("RequestSupplement", ["yes", "registration cases", "own county, until it forwards a case", "no", "no", "forwarded by its counties", "no"]),
    ("ReceiveSupplement", ["yes", "registration cases", "own county, until it forwards a case", "no", "no", "forwarded by its counties", "no"]),
    ("AssignCase", ["yes", "registration cases", "own county, until it forwards a case", "no", "no", "forwarded by its counties", "no"]),
    ("DecideCase", ["yes", "registration cases", "own county, until it forwards a case", "no", "no", "forwarded by its counties", "no"]),
    // CredentialService and VerificationService.
    ("IssueCredential", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("CheckCredential", ["yes", "yes", "yes", "yes", "yes", "yes", "yes"]),
    ("GetCredentialKey", ["yes", "yes", "yes", "yes", "yes", "yes", "yes"]),
    ("VerifyCertificate", ["yes", "yes", "yes", "yes", "yes", "yes", "yes, limited per source address"]),
    // EvaluationService.
    ("GetEvaluationRound", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("ListEthicsFindings", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("GetTitleApplication", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("ListTitleApplications", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("CheckEligibility", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("GetRoundStatistics", ["yes", "yes", "own county", "no", "yes, masked", "no", "no"]),
    ("ApplyForTitle", ["yes", "yes", "own county", "no", "no", "no", "no"]),
    ("RecordEthicsFinding", ["yes", "yes", "own county", "no", "no", "no", "no"]),
    ("RecordObjection", ["yes", "yes", "own county", "no", "no", "no", "no"]),
    ("CreateEvaluationRound", ["yes", "yes", "no", "no", "no", "no", "no"]),
    ("OpenPublicity", ["yes", "yes", "no", "no", "no", "no", "no"]),
    ("HandleObjection", ["yes", "yes", "no", "no", "no", "no", "no"]),
    ("RecordCommitteeResults", ["yes", "yes", "no", "no", "no", "no", "no"]),
    ("ConfirmApplications", ["yes", "yes", "no", "no", "no", "no", "no"]),
    ("CloseTitleApplication", ["yes", "yes", "no", "no", "no", "no", "no"]),
    // IdentityService and DuplicateService.
    ("ProposeIdentityCorrection", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("ApproveIdentityCorrection", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("RejectIdentityCorrection", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("GetIdentityCorrection", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("MergeTeachers", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("UnmergeTeachers", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("ListDuplicateCandidates", ["yes", "no", "own county", "no", "no", "no", "no"]),
    ("DismissDuplicateCandidate", ["yes", "no", "own county", "no", "no", "no", "no"]),
];

/// Whether a cell admits its caller.
pub fn admits(cell: &str) -> bool {
    !cell.starts_with("no")
}

/// The RPC names the proto files declare (`rpc Name(`), every service's.
pub fn proto_rpcs() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/proto/teacher_registry/v1");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            if let Some(rest) = line.trim_start().strip_prefix("rpc ") {
                names.push(rest.split('(').next().unwrap().trim().to_string());
            }
        }
    }
    names.sort();
    names
}

/// A row of the README's role table: its RPC names (the first cell, comma-separated) and
/// its other cells.
pub type ReadmeRow = (Vec<String>, Vec<String>);

/// The README's role table: its header's columns after `RPC`, and its rows.
pub fn readme_table() -> (Vec<String>, Vec<ReadmeRow>) {
    let readme = include_str!("../../README.md");
    let cells = |line: &str| -> Vec<String> {
        let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
        inner
            .split('|')
            .map(|cell| cell.trim().to_string())
            .collect()
    };
    let mut lines = readme
        .lines()
        .skip_while(|line| !line.starts_with("| RPC | admin |"));
    let header = cells(lines.next().expect("the README has a role table"));
    let rows = lines
        .skip(1)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let mut row = cells(line);
            let names = row.remove(0).split(", ").map(str::to_string).collect();
            (names, row)
        })
        .collect();
    (header[1..].to_vec(), rows)
}
