//! The teacher in a call's answer. Every write on one teacher (and the reads of one)
//! answers with the teacher in a `teacher` field of its own response message; the tests
//! and the upgrade fixture's generator take it out in one place instead of unwrapping the
//! same four steps after every call.

use teacher_registry::api::pb;

/// A response message that carries one teacher, as the call left or found it.
pub trait TeacherResponse {
    fn into_teacher(self) -> Option<pb::Teacher>;
}

macro_rules! teacher_responses {
    ($($response:ty),+ $(,)?) => {$(
        impl TeacherResponse for $response {
            fn into_teacher(self) -> Option<pb::Teacher> {
                self.teacher
            }
        }
    )+};
}

teacher_responses!(
    pb::CreateTeacherResponse,
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

/// A call's outcome whose answer carries a teacher.
pub trait TeacherAnswer {
    /// The teacher of the answer; panics, at the caller, on a refused call or an answer
    /// without a teacher.
    fn unwrap_teacher(self) -> pb::Teacher;
}

impl<R: TeacherResponse> TeacherAnswer for Result<tonic::Response<R>, tonic::Status> {
    #[track_caller]
    fn unwrap_teacher(self) -> pb::Teacher {
        self.unwrap()
            .into_inner()
            .into_teacher()
            .expect("the answer carries the teacher")
    }
}
