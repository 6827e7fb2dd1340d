//! The shape of the code, checked: the domain's modules import one way, and the documents a
//! newcomer reads first stay short enough to read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
}

/// Each module of `medround-domain` and the modules it names through `crate::`, leaving out
/// its tests (test helpers may reach anywhere).
fn domain_imports() -> BTreeMap<String, BTreeSet<String>> {
    let dir = workspace().join("crates/medround-domain/src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("domain sources") {
        let path = entry.expect("entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.extension().is_none_or(|e| e != "rs")
            || ["lib", "properties", "rules_tests"].contains(&name.as_str())
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source");
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let mut uses = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let module: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !module.is_empty() && module != name {
                uses.insert(module);
            }
        }
        graph.insert(name, uses);
    }
    graph
}

/// A cycle through `graph`, if there is one, as the modules along it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == n) {
            let mut c = path[at..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn layout_the_domain_modules_import_one_way() {
    let graph = domain_imports();
    assert!(graph.len() > 20, "the domain's modules were found");
    assert_eq!(cycle(&graph), None, "an import circle in medround-domain");
}

#[test]
fn layout_the_cycle_finder_finds_a_circle() {
    // The check above is only as good as this: a circle of three is found.
    let mut g = BTreeMap::new();
    g.insert("rules".to_string(), BTreeSet::from(["entail".to_string()]));
    g.insert("entail".to_string(), BTreeSet::from(["mar".to_string()]));
    g.insert("mar".to_string(), BTreeSet::from(["rules".to_string()]));
    g.insert("qty".to_string(), BTreeSet::new());
    let c = cycle(&g).expect("a circle");
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 4);
}

#[test]
fn layout_architecture_md_stays_short_and_docs_hold_no_history() {
    let arch = std::fs::read_to_string(workspace().join("ARCHITECTURE.md")).unwrap();
    assert!(
        arch.lines().count() <= 250,
        "ARCHITECTURE.md has {} lines; keep it to 250 and move the rest to docs/",
        arch.lines().count()
    );
    // A diary names sessions and runs; git keeps that.
    for doc in ["README.md", "ARCHITECTURE.md", "docs/safety-rules.md"] {
        let text = std::fs::read_to_string(workspace().join(doc)).unwrap();
        for word in ["session ", "Session ", "in the run before"] {
            assert!(!text.contains(word), "{doc} reads as a diary: {word:?}");
        }
    }
    let rules = std::fs::read_to_string(workspace().join("docs/safety-rules.md")).unwrap();
    for n in 1..=19 {
        assert!(
            rules.contains(&format!("**S{n} ")),
            "docs/safety-rules.md says what S{n} is"
        );
    }
}
