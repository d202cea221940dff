//! What the tests of correcting, merging and undoing records share (`identity`, `merge`):
//! a server that asks for a token, with principals of two counties, and one person entered
//! twice. Not glob-exported, since the auth tests have principals of their own.

use teacher_registry::api::pb;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::auth::{add_principal, Role};

use super::{create, resident_id, start_server_with_auth, teacher, TestServer, Transport};

/// The tokens of an admin, two clerks of county 350702, a clerk of county 350721 and a
/// reader.
pub struct Principals {
    pub admin: String,
    pub clerk: String,
    pub chief: String,
    pub other_county: String,
    pub reader: String,
}

/// A server on a fresh directory that admits only [`Principals`]; the directory holds the
/// auth file and must outlive the server.
pub async fn server_with_principals() -> (TestServer, Principals, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.toml");
    let principals = Principals {
        admin: add_principal(&path, "root", Role::Admin, None).unwrap(),
        clerk: add_principal(&path, "clerk-a", Role::County, Some("350702")).unwrap(),
        chief: add_principal(&path, "chief-a", Role::County, Some("350702")).unwrap(),
        other_county: add_principal(&path, "clerk-b", Role::County, Some("350721")).unwrap(),
        reader: add_principal(&path, "auditor", Role::Reader, None).unwrap(),
    };
    let server = start_server_with_auth(&path).await;
    (server, principals, dir)
}

/// One person entered twice: with a passport in county 350702, and with a resident
/// identity card in county 350721 whose personnel file gives another birth date.
/// (passport record, card record).
pub async fn passport_and_card<T: Transport>(
    admin: &mut TeacherRegistryServiceClient<T>,
) -> (pb::Teacher, pb::Teacher) {
    let passport = create(
        admin,
        pb::Teacher {
            id_document_type: pb::IdDocumentType::Passport as i32,
            national_id: "E55555555".into(),
            name: "陈静".into(),
            gender: pb::Gender::Female as i32,
            birth_date: "1985-03-02".into(),
            ..teacher(10, "350702")
        },
    )
    .await;
    let card = create(
        admin,
        pb::Teacher {
            national_id: resident_id("350702", "1985-03-02", 2),
            name: "陈静".into(),
            gender: pb::Gender::Female as i32,
            // The personnel file disagrees with the card; the card's details still match.
            birth_date: "1985-03-12".into(),
            ..teacher(11, "350721")
        },
    )
    .await;
    (passport, card)
}
