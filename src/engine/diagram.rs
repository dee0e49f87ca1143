//! Diagrams of a workflow: Mermaid text, for people who paste it into their own tools, and
//! SVG drawn here (pure Rust, no external tool, nothing fetched), so that a liaison can see
//! where an instance stands. The current state, when given, is highlighted in both.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write;

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::StyleAttr;
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;

use crate::engine::definition::{Condition, Definition, Transition};

/// Fill of the state an instance is in.
/// (The console's script scrolls a diagram to the shape of this fill: change both together.)
const CURRENT_FILL: &str = "#ffd54f";
/// Fill of terminal states.
const TERMINAL_FILL: &str = "#e8f5e9";

/// One arrow of the diagram: from, to, and the steps it stands for.
fn edges(def: &Definition) -> BTreeMap<(&str, &str), Vec<String>> {
    let mut edges: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for t in &def.transitions {
        for from in &t.from {
            edges.entry((from, &t.to)).or_default().push(label(t, None));
            for route in &t.routes {
                edges.entry((from, &route.to)).or_default().push(label(t, Some(&route.when)));
            }
        }
    }
    edges
}

/// The edges in the order the layout should meet them: forward steps first, breadth first
/// from the initial state, then the steps that lead back (returns, revisions), so that the
/// layout breaks its cycles at those and the main path reads top down.
fn layout_order(def: &Definition) -> Vec<((&str, &str), Vec<String>)> {
    let edges = edges(def);
    let mut depth: HashMap<&str, usize> = HashMap::from([(def.initial_state.as_str(), 0)]);
    let mut queue = VecDeque::from([def.initial_state.as_str()]);
    while let Some(state) = queue.pop_front() {
        let d = depth[state];
        for (from, to) in edges.keys() {
            if *from == state && !depth.contains_key(to) {
                depth.insert(to, d + 1);
                queue.push_back(to);
            }
        }
    }
    let rank = |s: &str| depth.get(s).copied().unwrap_or(usize::MAX);
    let mut ordered: Vec<_> = edges.into_iter().collect();
    ordered.sort_by_key(|((from, to), _)| (rank(to) <= rank(from), rank(from), rank(to)));
    ordered
}

fn label(t: &Transition, when: Option<&Condition>) -> String {
    let who = if t.is_joint() { t.signed_by.join(" + ") } else { t.party.clone().unwrap_or_default() };
    let guard = when.or(t.guard.as_ref()).map(|c| format!(" [{}]", condition(c))).unwrap_or_default();
    format!("{} ({who}){guard}", t.name)
}

fn condition(c: &Condition) -> String {
    match c {
        Condition::FieldIn { field, values } => format!("{field} = {}", values.join("|")),
        Condition::FieldIs { field, is } => format!("{field} = {is}"),
        Condition::Discrepancy { discrepancy_in } => format!("discrepancy in {discrepancy_in}"),
    }
}

/// Text as Mermaid takes it after a colon: no line breaks, colons or semicolons, and
/// characters Mermaid treats specially replaced by their entity codes.
fn mermaid_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ':' | ';' | '\n' | '\r' => " ".to_owned(),
            '#' => "#35;".to_owned(),
            '<' => "#lt;".to_owned(),
            '>' => "#gt;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The definition as a Mermaid state diagram; `current` is highlighted.
pub fn mermaid(def: &Definition, current: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "---\ntitle: {} v{}\n---", mermaid_text(&def.title_vi), def.version);
    out.push_str("stateDiagram-v2\n");
    for s in &def.states {
        let _ = writeln!(out, "    {}: {}", s.name, mermaid_text(&s.title_vi));
    }
    let _ = writeln!(out, "    [*] --> {}", def.initial_state);
    for ((from, to), steps) in edges(def) {
        let _ = writeln!(out, "    {from} --> {to}: {}", mermaid_text(&steps.join(" / ")));
    }
    for s in def.states.iter().filter(|s| s.terminal) {
        let _ = writeln!(out, "    {} --> [*]", s.name);
    }
    let _ = writeln!(out, "    classDef terminal fill:{TERMINAL_FILL}");
    let _ = writeln!(out, "    classDef current fill:{CURRENT_FILL},stroke:#e65100,stroke-width:3px");
    for s in def.states.iter().filter(|s| s.terminal && Some(s.name.as_str()) != current) {
        let _ = writeln!(out, "    class {} terminal", s.name);
    }
    if let Some(current) = current.filter(|c| def.state(c).is_some()) {
        let _ = writeln!(out, "    class {current} current");
    }
    out
}

fn node(text: &str, fill: &str, line_width: usize, rounded: usize) -> Element {
    let shape = ShapeKind::Box(text.to_owned());
    // The layout grows top down, so shapes are sized for the flipped orientation.
    let size = get_shape_size(Orientation::LeftToRight, &shape, 14, false);
    let look = StyleAttr::new(Color::fast("black"), line_width, Some(Color::fast(fill)), rounded, 14);
    Element::create(shape, look, Orientation::LeftToRight, size)
}

/// The definition drawn as SVG; `current` is filled and outlined.
pub fn svg(def: &Definition, current: Option<&str>) -> Result<String, String> {
    let draw = || {
        let mut graph = VisualGraph::new(Orientation::TopToBottom);
        let start = graph.add_node(node(&format!("{} (v{})", def.title_vi, def.version), "#eceff1", 1, 15));
        let mut handles = BTreeMap::new();
        for s in &def.states {
            let is_current = Some(s.name.as_str()) == current;
            let fill = if is_current {
                CURRENT_FILL
            } else if s.terminal {
                TERMINAL_FILL
            } else {
                "white"
            };
            let text = format!("{}\n{}", s.title_vi, s.name);
            let handle = graph.add_node(node(
                &text,
                fill,
                if is_current { 3 } else { 1 },
                if s.terminal { 15 } else { 0 },
            ));
            handles.insert(s.name.as_str(), handle);
        }
        if let Some(first) = handles.get(def.initial_state.as_str()) {
            graph.add_edge(Arrow::simple(""), start, *first);
        }
        for ((from, to), steps) in layout_order(def) {
            if let (Some(a), Some(b)) = (handles.get(from), handles.get(to)) {
                graph.add_edge(Arrow::simple(&steps.join("\n")), *a, *b);
            }
        }
        let mut writer = SVGWriter::new();
        graph.do_it(false, false, false, &mut writer);
        writer.finalize()
    };
    // The layout library is not ours: should it panic on some graph, answer an error, not a crash.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(draw))
        .map_err(|_| format!("the diagram of {} v{} could not be laid out", def.id, def.version))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::engine::registry::Registry;

    fn registry() -> Registry {
        Registry::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows")).unwrap()
    }

    #[test]
    fn every_definition_draws_with_every_state() {
        for def in registry().all() {
            let drawing = svg(def, Some(&def.initial_state)).unwrap();
            assert!(drawing.starts_with("<svg") || drawing.contains("<svg"), "{}", def.id);
            assert!(drawing.trim_end().ends_with("</svg>"));
            for s in &def.states {
                assert!(drawing.contains(&s.name), "{} lacks {}", def.id, s.name);
            }
            assert!(drawing.contains(&CURRENT_FILL[1..]), "{}: the current state is not filled", def.id);

            let text = mermaid(def, Some(&def.initial_state));
            assert!(text.contains("stateDiagram-v2"));
            assert!(text.contains(&format!("class {} current", def.initial_state)));
            for t in &def.transitions {
                assert!(text.contains(&format!("{} (", t.name)), "{} lacks {}", def.id, t.name);
            }
        }
    }

    #[test]
    fn mermaid_lines_follow_the_grammar() {
        let registry = registry();
        let def = registry.versions("court_transfer").unwrap().last().unwrap();
        let text = mermaid(def, Some("disputed"));
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("---"));
        assert!(lines.next().unwrap().starts_with("title: "));
        assert_eq!(lines.next(), Some("---"));
        assert_eq!(lines.next(), Some("stateDiagram-v2"));
        for line in lines {
            let line = line.trim_start();
            let ok = line.starts_with("classDef ")
                || line.starts_with("class ")
                || line.starts_with("[*] --> ")
                || line.split_once(" --> ").is_some_and(|(from, rest)| {
                    !from.contains(' ')
                        && (rest == "[*]" || rest.split_once(": ").is_some_and(|(to, _)| !to.contains(' ')))
                })
                || line
                    .split_once(": ")
                    .is_some_and(|(state, text)| !state.contains(' ') && !text.contains(':'));
            assert!(ok, "not a state diagram line: {line:?}");
        }
        assert!(
            text.contains("transferred --> disputed: register (enforcement) [discrepancy in receipt]"),
            "{text}"
        );
        assert!(
            text.contains("disputed --> registered: resolve_discrepancy (court + enforcement)"),
            "{text}"
        );
        assert!(text.contains("class disputed current"));
    }
}
