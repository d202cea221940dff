//! A server that asks for a token, with principals of two counties: for the tests of who
//! may correct, merge and undo records (`identity`, `merge`). Not glob-exported, since the
//! auth tests have principals of their own.

use teacher_registry::auth::{add_principal, Role};

use super::{start_server_with_auth, TestServer};

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
