//! The console's pages, by theme: [`public`] (sign-in, sign-out, verification, language),
//! [`teachers`] (search, a teacher's page and its actions), [`cases`] (the window).

pub(crate) mod cases;
mod certificates;
pub(crate) mod public;
pub(crate) mod teachers;
