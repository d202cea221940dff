//! The module import graph of `src/` has no cycle (issue 19, item 2).
//!
//! A cycle between modules means neither can be read, tested or moved without the other; the
//! layers of `docs/` only mean something while every arrow points one way. This test reads the
//! library's sources itself (no `syn`, no build of the crate) so that it fails on the cycle, not
//! on a parser's opinion of the code.
//!
//! # The rule
//!
//! - **A node is one file-level module**: `src/lib.rs` (the crate root), `src/x.rs`,
//!   `src/x/mod.rs`. An inline `mod x { … }` belongs to the file that holds it. `src/main.rs`
//!   is a separate crate and is not a node.
//! - **An edge `A -> B`** is any path in A's code that names module B or an item of B:
//!   `use crate::…`, `use super::…`, `use self::…`, a `use` or an expression that starts with the
//!   name of a child module A declares (`writer::Staged`), and the same paths written inline
//!   (`crate::store::keys::teacher(…)`).
//! - **A path leads to the module that defines the item.** It walks down module files as far
//!   as they go (`crate::store::writer::Staged` → `store/writer.rs`, `crate::api::pb::X` →
//!   `api/mod.rs`, which holds the inline `pb`), then follows re-exports:
//!   `crate::store::Staged`, re-exported by `store/mod.rs` from `writer`, leads to
//!   `store/writer.rs`.
//! - **Re-exporting is not an edge, nor is declaring a child.** `mod writer;` and
//!   `pub use writer::Staged;` in `store/mod.rs` say where code lives and under which name it
//!   is published; they use nothing. A parent whose own code names a child's item
//!   (`writer::commit(…)` in a method of `Store`) does depend on it, and if that child names
//!   the parent's items (`super::Store`) the two form a cycle like any siblings would.
//! - **Code compiled only for tests is not part of the graph**: an item under `#[cfg(test)]`
//!   (an inline `mod tests { … }`, a `#[cfg(test)] mod tests;` file, a test-only `use`). Tests
//!   reach into whatever they check; they are leaves nobody imports.
//! - `pub(in crate::x)` visibility and `$crate` in macros are not imports.
//!
//! The test prints one cycle (the shortest through the first module found on one), with the
//! file and line of each arrow, so the fix starts at the right place.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// One module: its path below the crate root (`["store", "writer"]`) and its file.
type ModPath = Vec<String>;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Tokens of a Rust file with comments, strings and char literals removed, each with its line.
fn tokenize(source: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('#') || next == Some('"'))
            && raw_string_start(&chars, i)
        {
            // r"…", r#"…"#, br… handled by the ident path below reaching 'r'.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars[j] == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1; // the opening quote
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '\n' {
                    line += 1;
                }
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if chars.get(i) == Some(&'\n') {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // b"…" and br"…" byte strings: drop the prefix, the string is skipped next round.
            if (word == "b" || word == "br") && matches!(chars.get(i), Some('"') | Some('#')) {
                if word == "br" {
                    i -= 1; // let the raw-string branch see the 'r'
                }
                continue;
            }
            if word == "b" && chars.get(i) == Some(&'\'') {
                continue;
            }
            out.push((Tok::Ident(word), line));
        } else if c == ':' && next == Some(':') {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    out
}

fn raw_string_start(chars: &[char], i: usize) -> bool {
    // 'r' must not continue an identifier (`for"`, `bar#` never occur, but `r` alone may).
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') && chars[i - 1] != 'b' {
        return false;
    }
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

fn ident(tok: Option<&(Tok, usize)>) -> Option<&str> {
    match tok {
        Some((Tok::Ident(word), _)) => Some(word),
        _ => None,
    }
}

fn is_punct(tok: Option<&(Tok, usize)>, c: char) -> bool {
    matches!(tok, Some((Tok::Punct(p), _)) if *p == c)
}

/// Index just past the bracketed group that opens at `open` (`{`, `(` or `[`).
fn skip_group(toks: &[(Tok, usize)], open: usize) -> usize {
    let mut depth = 0i32;
    let mut i = open;
    while i < toks.len() {
        match toks[i].0 {
            Tok::Punct('{') | Tok::Punct('(') | Tok::Punct('[') => depth += 1,
            Tok::Punct('}') | Tok::Punct(')') | Tok::Punct(']') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Index just past the item that starts at `start`: through its first `;` outside brackets, or
/// through its first `{ … }` block (a `fn`, `impl`, `mod` body).
fn skip_item(toks: &[(Tok, usize)], start: usize) -> usize {
    let mut i = start;
    while i < toks.len() {
        match toks[i].0 {
            Tok::Punct(';') => return i + 1,
            Tok::Punct('{') => return skip_group(toks, i),
            Tok::Punct('(') | Tok::Punct('[') => i = skip_group(toks, i),
            _ => i += 1,
        }
    }
    i
}

/// The tokens of a file with every `#[cfg(test)]` item removed, and the names of the child
/// modules it declares with `mod name;` outside test code.
fn without_test_code(toks: Vec<(Tok, usize)>) -> (Vec<(Tok, usize)>, BTreeSet<String>) {
    let mut kept = Vec::new();
    let mut children = BTreeSet::new();
    let mut i = 0;
    while i < toks.len() {
        if is_punct(toks.get(i), '#') && is_punct(toks.get(i + 1), '[') {
            let end = skip_group(&toks, i + 1);
            let attr: Vec<&Tok> = toks[i + 2..end - 1].iter().map(|(t, _)| t).collect();
            let cfg_test = attr
                == [
                    &Tok::Ident("cfg".into()),
                    &Tok::Punct('('),
                    &Tok::Ident("test".into()),
                    &Tok::Punct(')'),
                ];
            if cfg_test {
                // Skip further attributes, then the item.
                let mut j = end;
                while is_punct(toks.get(j), '#') && is_punct(toks.get(j + 1), '[') {
                    j = skip_group(&toks, j + 1);
                }
                i = skip_item(&toks, j);
                continue;
            }
            i = end; // attributes carry no imports we count
            continue;
        }
        if ident(toks.get(i)) == Some("mod") && is_punct(toks.get(i + 2), ';') {
            if let Some(name) = ident(toks.get(i + 1)) {
                children.insert(name.to_string());
                i += 3;
                continue;
            }
        }
        kept.push(toks[i].clone());
        i += 1;
    }
    (kept, children)
}

/// Expands a `use` tree (the tokens between `use` and `;`) into its paths.
fn expand_use(toks: &[(Tok, usize)], prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path: Vec<String> = prefix.to_vec();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Ident(word) if word == "as" => {
                i += 2; // the alias
            }
            Tok::Ident(word) => {
                // `{self, …}` names the prefix itself.
                if word != "self" || path.is_empty() {
                    path.push(word.clone());
                }
                i += 1;
            }
            Tok::PathSep => i += 1,
            Tok::Punct('*') => i += 1,
            Tok::Punct('{') => {
                let end = skip_group(toks, i);
                // Split the group's content at top-level commas.
                let inner = &toks[i + 1..end - 1];
                let mut depth = 0;
                let mut from = 0;
                for (k, (tok, _)) in inner.iter().enumerate() {
                    match tok {
                        Tok::Punct('{') => depth += 1,
                        Tok::Punct('}') => depth -= 1,
                        Tok::Punct(',') if depth == 0 => {
                            expand_use(&inner[from..k], &path, out);
                            from = k + 1;
                        }
                        _ => {}
                    }
                }
                expand_use(&inner[from..], &path, out);
                return;
            }
            Tok::Punct(',') => {
                out.push(path.clone());
                path = prefix.to_vec();
                i += 1;
            }
            Tok::Punct(_) => i += 1,
        }
    }
    if !path.is_empty() && !toks.is_empty() {
        out.push(path);
    }
}

/// A path named in a file.
struct Named {
    path: Vec<String>,
    line: usize,
    /// Named by a `pub use`: publishes the item under this module, uses nothing.
    reexport: bool,
}

/// The paths a file's code names, each with the line it is on.
fn paths_in(toks: &[(Tok, usize)], children: &BTreeSet<String>) -> Vec<Named> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if ident(toks.get(i)) == Some("use") {
            let line = toks[i].1;
            // `pub use`, `pub(crate) use`, `pub(super) use`: a re-export.
            let reexport = (i >= 1 && ident(toks.get(i - 1)) == Some("pub"))
                || (i >= 4
                    && is_punct(toks.get(i - 1), ')')
                    && ident(toks.get(i - 4)) == Some("pub"));
            let mut end = i + 1;
            while end < toks.len() && !is_punct(toks.get(end), ';') {
                end += 1;
            }
            let mut paths = Vec::new();
            expand_use(&toks[i + 1..end], &[], &mut paths);
            out.extend(paths.into_iter().map(|path| Named {
                path,
                line,
                reexport,
            }));
            i = end + 1;
            continue;
        }
        if let Some(first) = ident(toks.get(i)) {
            let starts_path =
                matches!(first, "crate" | "super" | "self") || children.contains(first);
            let continued = i > 0 && matches!(toks[i - 1].0, Tok::PathSep | Tok::Punct('$'));
            let visibility = i > 0 && ident(toks.get(i - 1)) == Some("in");
            if starts_path
                && !continued
                && !visibility
                && toks.get(i + 1).map(|(t, _)| t) == Some(&Tok::PathSep)
            {
                let line = toks[i].1;
                let mut path = vec![first.to_string()];
                let mut j = i + 1;
                while toks.get(j).map(|(t, _)| t) == Some(&Tok::PathSep) {
                    match ident(toks.get(j + 1)) {
                        Some(word) => path.push(word.to_string()),
                        None => break,
                    }
                    j += 2;
                }
                out.push(Named {
                    path,
                    line,
                    reexport: false,
                });
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// The module that defines what a path names, seen from module `here`; `None` for paths
/// outside the crate. Re-exports are followed to the item's home.
fn resolve(
    here: &ModPath,
    children: &BTreeSet<String>,
    path: &[String],
    modules: &BTreeMap<ModPath, PathBuf>,
    reexports: &Reexports,
) -> Option<ModPath> {
    let absolute = absolute(here, children, path)?;
    Some(home(&absolute, modules, reexports, 0))
}

/// The re-exports of each module: the name it publishes and the crate-absolute path behind it.
type Reexports = BTreeMap<ModPath, BTreeMap<String, Vec<String>>>;

fn home(
    absolute: &[String],
    modules: &BTreeMap<ModPath, PathBuf>,
    reexports: &Reexports,
    depth: usize,
) -> ModPath {
    let mut at: ModPath = Vec::new();
    for (k, seg) in absolute.iter().enumerate() {
        let mut deeper = at.clone();
        deeper.push(seg.clone());
        if modules.contains_key(&deeper) {
            at = deeper;
            continue;
        }
        if let Some(target) = reexports.get(&at).and_then(|r| r.get(seg)) {
            if depth < 16 {
                let mut rest = target.clone();
                rest.extend(absolute[k + 1..].iter().cloned());
                return home(&rest, modules, reexports, depth + 1);
            }
        }
        break;
    }
    at
}

/// A path made crate-absolute (without the leading `crate`); `None` outside the crate.
fn absolute(here: &ModPath, children: &BTreeSet<String>, path: &[String]) -> Option<Vec<String>> {
    let mut segs = path.iter().peekable();
    let mut at: ModPath = match segs.peek()?.as_str() {
        "crate" => {
            segs.next();
            Vec::new()
        }
        "self" => {
            segs.next();
            here.clone()
        }
        "super" => here.clone(),
        first if children.contains(first) => here.clone(),
        _ => return None,
    };
    while segs.peek().map(|s| s.as_str()) == Some("super") {
        segs.next();
        at.pop();
    }
    at.extend(segs.cloned());
    Some(at)
}

fn module_files(root: &Path) -> BTreeMap<ModPath, PathBuf> {
    let mut modules = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src/") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(root).expect("under src/");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            if parts == ["main"] {
                continue;
            }
            if parts.last().map(String::as_str) == Some("mod") || parts == ["lib"] {
                parts.pop();
            }
            modules.insert(parts, path);
        }
    }
    modules
}

type Edge = (ModPath, ModPath, usize);

/// Every module's edges, after dropping files only test code declares.
fn graph(root: &Path) -> (BTreeMap<ModPath, PathBuf>, BTreeMap<ModPath, Vec<Edge>>) {
    let all = module_files(root);
    // Find the modules reachable from the crate root through non-test `mod` declarations.
    let mut parsed = BTreeMap::new();
    let mut reachable = BTreeMap::new();
    let mut queue = VecDeque::from([Vec::<String>::new()]);
    while let Some(module) = queue.pop_front() {
        let Some(file) = all.get(&module) else {
            continue;
        };
        let source = std::fs::read_to_string(file).expect("read source");
        let (toks, children) = without_test_code(tokenize(&source));
        for child in &children {
            let mut path = module.clone();
            path.push(child.clone());
            queue.push_back(path);
        }
        reachable.insert(module.clone(), file.clone());
        parsed.insert(module, (toks, children));
    }
    let named: BTreeMap<&ModPath, Vec<Named>> = parsed
        .iter()
        .map(|(module, (toks, children))| (module, paths_in(toks, children)))
        .collect();
    let mut reexports: Reexports = BTreeMap::new();
    for (module, paths) in &named {
        let children = &parsed[*module].1;
        for named in paths.iter().filter(|n| n.reexport) {
            if let (Some(last), Some(target)) =
                (named.path.last(), absolute(module, children, &named.path))
            {
                reexports
                    .entry((*module).clone())
                    .or_default()
                    .insert(last.clone(), target);
            }
        }
    }
    let mut edges = BTreeMap::new();
    for (module, paths) in &named {
        let children = &parsed[*module].1;
        let mut out: Vec<Edge> = Vec::new();
        for Named { path, line, .. } in paths.iter().filter(|n| !n.reexport) {
            let line = *line;
            if let Some(target) = resolve(module, children, path, &reachable, &reexports) {
                if &target != *module && !out.iter().any(|(_, t, _)| t == &target) {
                    out.push(((*module).clone(), target, line));
                }
            }
        }
        edges.insert((*module).clone(), out);
    }
    (reachable, edges)
}

fn name(module: &ModPath) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

/// The shortest cycle through `start`, as its edges, if there is one.
fn cycle_through(start: &ModPath, edges: &BTreeMap<ModPath, Vec<Edge>>) -> Option<Vec<Edge>> {
    let mut came_from: BTreeMap<ModPath, Edge> = BTreeMap::new();
    let mut queue = VecDeque::from([start.clone()]);
    while let Some(at) = queue.pop_front() {
        for edge in edges.get(&at).into_iter().flatten() {
            let target = &edge.1;
            if target == start {
                let mut cycle = vec![edge.clone()];
                let mut cur = at.clone();
                while &cur != start {
                    let back = came_from[&cur].clone();
                    cur = back.0.clone();
                    cycle.push(back);
                }
                cycle.reverse();
                return Some(cycle);
            }
            if !came_from.contains_key(target) {
                came_from.insert(target.clone(), edge.clone());
                queue.push_back(target.clone());
            }
        }
    }
    None
}

fn src_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Modules on a cycle, and the shortest cycle through the first of them.
fn modules_on_cycles(
    files: &BTreeMap<ModPath, PathBuf>,
    edges: &BTreeMap<ModPath, Vec<Edge>>,
) -> (Vec<ModPath>, Option<Vec<Edge>>) {
    let mut on = Vec::new();
    let mut first = None;
    for module in files.keys() {
        if let Some(cycle) = cycle_through(module, edges) {
            on.push(module.clone());
            first.get_or_insert(cycle);
        }
    }
    (on, first)
}

fn describe(cycle: &[Edge], files: &BTreeMap<ModPath, PathBuf>) -> String {
    let mut text = String::new();
    for (from, to, line) in cycle {
        let file = files[from]
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap();
        text.push_str(&format!(
            "  {} -> {}   ({}:{line})\n",
            name(from),
            name(to),
            file.display()
        ));
    }
    text
}

/// No module of `src/` sits on an import cycle: every arrow between modules points one way.
/// The test names the modules on a cycle and prints the shortest cycle through the first,
/// with the file and line of each arrow, so the fix starts at the right place.
#[test]
fn no_module_sits_on_an_import_cycle() {
    let (files, edges) = graph(&src_root());
    let (on, first) = modules_on_cycles(&files, &edges);
    let names: Vec<String> = on.iter().map(name).collect();
    assert!(
        on.is_empty(),
        "{} modules sit on an import cycle: {names:?}\none cycle:\n{}",
        on.len(),
        first.map(|c| describe(&c, &files)).unwrap_or_default()
    );
}

/// The reader itself: a cycle written into a scratch tree is found, and the rule's exemptions
/// (declaring a child, test-only code) are not edges.
#[test]
fn the_reader_finds_a_cycle_and_honours_the_exemptions() {
    let dir = std::env::temp_dir().join(format!("module-graph-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("a")).unwrap();
    let write = |rel: &str, text: &str| std::fs::write(dir.join(rel), text).unwrap();
    write("lib.rs", "pub mod a;\npub mod b;\n");
    write(
        "a/mod.rs",
        "mod child;\n#[cfg(test)]\nmod tests { use crate::b::X; }\npub(in crate::b) fn f() {}\n",
    );
    write(
        "a/child.rs",
        "use super::super::b;\nfn g() { let s = \"crate::a\"; }\n",
    );
    write("b.rs", "// use crate::a;\npub struct X;\n");
    let (files, edges) = graph(&dir);
    assert_eq!(files.len(), 4);
    let all: Vec<Edge> = edges.values().flatten().cloned().collect();
    assert_eq!(
        all,
        vec![(vec!["a".into(), "child".into()], vec!["b".into()], 1)],
        "only the child's import of b is an edge"
    );
    assert!(files.keys().all(|m| cycle_through(m, &edges).is_none()));

    write("b.rs", "pub struct X;\nfn h() { crate::a::child::g(); }\n");
    let (_, edges) = graph(&dir);
    let cycle = cycle_through(&vec!["b".into()], &edges).expect("b -> a::child -> b");
    assert_eq!(cycle.len(), 2);
    // A re-export is no edge, and a path through it leads to the item's home.
    write("a/mod.rs", "mod child;\npub use child::g;\npub fn f() {}\n");
    write("a/child.rs", "pub fn g() { super::f(); }\n");
    write("b.rs", "pub fn h() { crate::a::g(); }\n");
    let (_, edges) = graph(&dir);
    assert_eq!(edges[&vec!["b".to_string()]][0].1, vec!["a", "child"]);
    assert!(cycle_through(&vec!["a".into()], &edges).is_none());
    // A parent that uses its child's items, while the child uses the parent's, is a cycle.
    write("a/mod.rs", "mod child;\npub fn f() { child::g(); }\n");
    let (_, edges) = graph(&dir);
    assert!(
        cycle_through(&vec!["a".into()], &edges).is_some(),
        "parent and child using each other is a cycle"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
