//! The console's pages, by theme: [`public`] (sign-in, sign-out, verification, language),
//! [`teachers`] (search, a teacher's page and its actions), [`cases`] (the window),
//! [`stats`] (figures and charts), [`transition`] (the title transition), [`rounds`] and
//! [`applications`] (title evaluation), [`import`] (bulk import).

pub(crate) mod applications;
mod case_open;
pub(crate) mod case_report;
mod case_steps;
pub(crate) mod cases;
mod certificates;
pub(crate) mod credential_check;
mod credential_issue;
pub(crate) mod import;
mod import_stream;
pub(crate) mod public;
pub(crate) mod registrations;
mod round_batch;
pub(crate) mod round_forms;
mod round_parts;
pub(crate) mod round_posts;
pub(crate) mod rounds;
pub(crate) mod stats;
mod teacher_actions;
pub(crate) mod teachers;
pub(crate) mod transition;
