//! `teacher-registry token`: add a principal to an auth file, revoke one, or rotate one's
//! token. A new token goes alone to stdout (so a script can capture it) and is shown this
//! once; what to do next goes to stderr. A running server takes the change on SIGHUP.

use std::io::Write;
use std::path::Path;

use crate::auth::{add_principal, revoke_principal, rotate_token, Role};

/// What the `token` command is asked to do.
#[derive(Debug, Clone)]
pub enum TokenAction {
    /// A new principal; `county` for county roles.
    Add {
        principal: String,
        role: Role,
        county: Option<String>,
    },
    /// Remove this principal.
    Revoke(String),
    /// Give this principal a new token.
    Rotate(String),
}

/// Does `action` on the auth file at `path`, printing a new token to `out`.
pub fn run_token(path: &Path, action: TokenAction, out: &mut impl Write) -> anyhow::Result<()> {
    let (token, name) = match action {
        TokenAction::Revoke(name) => {
            revoke_principal(path, &name)?;
            eprintln!(
                "{name} revoked in {}: send the server SIGHUP (or restart it) to apply",
                path.display()
            );
            return Ok(());
        }
        TokenAction::Rotate(name) => (rotate_token(path, &name)?, name),
        TokenAction::Add {
            principal,
            role,
            county,
        } => (
            add_principal(path, &principal, role, county.as_deref())?,
            principal,
        ),
    };
    writeln!(out, "{token}")?;
    eprintln!(
        "the token of {name}, shown this once; a running server takes it when sent SIGHUP \
         (or restarted)"
    );
    Ok(())
}
