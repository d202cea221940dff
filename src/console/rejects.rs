//! The rejected rows of recent console imports, kept in memory for the session that
//! imported them to download (never written to disk: they hold identity numbers).

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::console::session::random_token;

/// Rejects files kept per console (the oldest goes first).
const KEPT: usize = 32;

/// A rejects file, kept for the session that made it.
struct Kept {
    id: String,
    session: String,
    csv: Vec<u8>,
}

/// The rejects files of recent imports.
#[derive(Default)]
pub(crate) struct RejectsFiles(Mutex<VecDeque<Kept>>);

impl RejectsFiles {
    /// Keeps `csv` for `session`; answers the id to download it by.
    pub(crate) fn keep(&self, session: &str, csv: Vec<u8>) -> String {
        let id = random_token();
        let mut kept = self.0.lock().expect("rejects lock");
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back(Kept {
            id: id.clone(),
            session: session.to_string(),
            csv,
        });
        id
    }

    pub(crate) fn get(&self, id: &str, session: &str) -> Option<Vec<u8>> {
        let kept = self.0.lock().expect("rejects lock");
        kept.iter()
            .find(|k| k.id == id && k.session == session)
            .map(|k| k.csv.clone())
    }
}
