//! `docs/architecture.md` stays true: every `file:function` it names exists, and its module map
//! names every source file under `src/`.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn architecture() -> String {
    std::fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md exists")
}

/// Every `` `src/…rs:name` `` or `` `src/…rs:Type::name` `` in `doc`, as (file, type, function).
fn references(doc: &str) -> Vec<(String, Option<String>, String)> {
    doc.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| {
            let (file, item) = code.split_once(".rs:")?;
            let file = format!("{file}.rs");
            let (ty, function) = match item.split_once("::") {
                Some((ty, function)) => (Some(ty.to_string()), function),
                None => (None, item),
            };
            let is_name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
            (file.starts_with("src/") && is_name(function)).then(|| (file, ty, function.to_string()))
        })
        .collect()
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("a readable entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_file_and_function_the_architecture_names_exists() {
    // Arrange
    let doc = architecture();
    // Act
    let refs = references(&doc);
    // Assert
    assert!(refs.len() > 40, "the walk and the guarantees name their functions ({} found)", refs.len());
    for (file, ty, function) in refs {
        let source = std::fs::read_to_string(root().join(&file)).unwrap_or_else(|_| panic!("{file} does not exist"));
        let defines = |f: &str| [format!("fn {f}("), format!("fn {f}<")].iter().any(|d| source.contains(d.as_str()));
        assert!(defines(&function), "{file} has no fn {function}");
        if let Some(ty) = ty {
            let implements = |line: &str| {
                line.starts_with("impl") && line.split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == ty)
            };
            assert!(source.lines().any(implements), "{file} has no impl of {ty}");
        }
    }
}

#[test]
fn the_module_map_names_every_source_file() {
    // Arrange
    let doc = architecture();
    let src = root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    // Act: a file is named by its path under src/ (`config/values.rs`), a module by its name
    // (`cli`, `config`), a file of a listed folder by its own name (`domain/changes/` … `key.rs`),
    // and a test file by its folder's `tests/`.
    let missing: Vec<String> = files
        .iter()
        .map(|path| path.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/"))
        .filter(|relative| {
            let (dir, name) = relative.rsplit_once('/').unwrap_or(("", relative));
            let module = name.trim_end_matches(".rs");
            let named = |text: &str| doc.contains(&format!("`{text}`"));
            let listed_in_folder = !dir.is_empty() && doc.contains(&format!("`{dir}/`")) && named(name);
            let in_tests = dir.ends_with("tests") && doc.contains("`tests/`");
            let whole = named(relative) || doc.contains(&format!("`{relative}`"));
            let by_module = if dir.is_empty() { named(module) || named(name) } else { false };
            let mod_rs = name == "mod.rs"
                && [dir.to_string(), format!("{dir}/"), format!("{dir}/mod.rs")].iter().any(|n| named(n));
            !(whole || by_module || listed_in_folder || in_tests || mod_rs)
        })
        .collect();
    // Assert
    assert!(missing.is_empty(), "docs/architecture.md's module map does not name {missing:?}");
}
