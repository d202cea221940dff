//! The record in a call's answer. A call on one teacher, application, identity correction
//! or case answers with that record in a field of its own response message; the tests and
//! the upgrade fixture's generator take it out here instead of unwrapping the same four
//! steps after every call.

use teacher_registry::api::pb;

/// A response message that carries one `Record`, as the call left or found it.
pub trait Carries<Record> {
    fn take(self) -> Option<Record>;
}

macro_rules! carries {
    ($record:ty, $field:ident: $($response:ty),+ $(,)?) => {$(
        impl Carries<$record> for $response {
            fn take(self) -> Option<$record> {
                self.$field
            }
        }
    )+};
}

carries!(
    pb::Teacher,
    teacher: pb::CreateTeacherResponse,
    pb::GetTeacherResponse,
    pb::LookupTeacherResponse,
    pb::UpdateTeacherResponse,
    pb::IssueCertificateResponse,
    pb::ReissueCertificateResponse,
    pb::RegisterCertificateResponse,
    pb::RevokeCertificateResponse,
    pb::LoseQualificationResponse,
    pb::ChangeTitleResponse,
    pb::ProposeTransferResponse,
    pb::AcceptTransferResponse,
    pb::DeclineTransferResponse,
    pb::DecideCaseResponse,
    pb::ApproveIdentityCorrectionResponse,
);
carries!(
    pb::TitleApplication,
    application: pb::ApplyForTitleResponse,
    pb::GetTitleApplicationResponse,
    pb::RecordObjectionResponse,
    pb::HandleObjectionResponse,
    pb::CloseTitleApplicationResponse,
);
carries!(
    pb::IdentityCorrection,
    correction: pb::ProposeIdentityCorrectionResponse,
    pb::ApproveIdentityCorrectionResponse,
    pb::RejectIdentityCorrectionResponse,
    pb::GetIdentityCorrectionResponse,
);

/// A call's outcome, whose answer carries a record. Each method panics, at the caller, on
/// a refused call or an answer without the record.
pub trait Answered<R> {
    fn unwrap_teacher(self) -> pb::Teacher
    where
        R: Carries<pb::Teacher>;

    fn unwrap_application(self) -> pb::TitleApplication
    where
        R: Carries<pb::TitleApplication>;

    fn unwrap_correction(self) -> pb::IdentityCorrection
    where
        R: Carries<pb::IdentityCorrection>;
}

impl<R> Answered<R> for Result<tonic::Response<R>, tonic::Status> {
    #[track_caller]
    fn unwrap_teacher(self) -> pb::Teacher
    where
        R: Carries<pb::Teacher>,
    {
        carried(self)
    }

    #[track_caller]
    fn unwrap_application(self) -> pb::TitleApplication
    where
        R: Carries<pb::TitleApplication>,
    {
        carried(self)
    }

    #[track_caller]
    fn unwrap_correction(self) -> pb::IdentityCorrection
    where
        R: Carries<pb::IdentityCorrection>,
    {
        carried(self)
    }
}

#[track_caller]
fn carried<R: Carries<Record>, Record>(
    answer: Result<tonic::Response<R>, tonic::Status>,
) -> Record {
    answer
        .unwrap()
        .into_inner()
        .take()
        .expect("the answer carries the record")
}
