//! The attacks of issue #21, each against a real server, each expected to fail now. Run
//! them all with `cargo test --test red_team`; every module says which finding it tries:
//!
//! - `reader_view` (1): a reader rebuilds masked identity numbers, or uses lookups by
//!   number as an oracle.
//! - `existence` (2, 5 in part): writes and imports that tell another county's records
//!   from missing ones; sweeps of refusals; duplicates and no-op writes without an audit.
//! - `audit_data` (6, 7, 8): the feed's and case steps' principals and request ids, refusals
//!   that name no caller, identity numbers echoed in errors and logs, an untyped lookup
//!   that stops at another county's holder, identity lookups nobody recorded.
//! - `request_flood` (5): a flood of no-op writes, each with a new request id, that
//!   grew the store without bound.
//! - `read_audit` (12): lookups by identity number, exports, backups, duplicates,
//!   refusal limits, no-op writes and credentials that nobody recorded.
//! - `fairness` (9): one reader's flood of pages against another county's calls.
//! - `tokens` (10): a token sent in plain text off the machine; mutual TLS from the CLI;
//!   a token used with another client certificate than the one pinned to it; the auth
//!   file's mode; serving tokens without TLS off loopback.
//! - `files` (11): a refused backup that left an empty directory behind (the modes of
//!   every file with identity numbers are `tests/private_files.rs`'s).
//! - `next`: what was found after the list: steps of cases, title applications and
//!   ethics findings that told another county's record from a missing one, and title
//!   evaluation's records that named the principal who took each step to everyone; an
//!   import's duplicates filling the read audit; console sign-ins filling memory.
//! - `strangers` (3, 4): connections that never begin a handshake, sit idle, or exceed
//!   the descriptor limit.

mod cli_support;
mod common;
mod console_support;
mod red_team {
    mod audit_data;
    mod existence;
    mod fairness;
    mod files;
    mod harness;
    mod next;
    mod read_audit;
    mod reader_view;
    mod request_flood;
    mod strangers;
    mod tokens;
}
