//! What validating against a schema can cost, worked out from the schema alone before
//! it is compiled: a Stack's schema runs on every admission of every workload that
//! uses it, so one whose cost grows exponentially is refused at Stack admission.
//!
//! Validation applies subschemas to instance values. Some keywords apply subschemas
//! to the *same* value (`allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `$ref`,
//! `dependentSchemas`); others *descend* into a child (`properties`, `items`, …).
//! Counting the paths through the graph those keywords form gives the cost:
//! - the in-place paths from any subschema are bounded ([`MAX_IN_PLACE_PATHS`]): a
//!   40-level `$ref` DAG of `allOf` pairs is 2^40 applications to one value;
//! - a subschema cannot reach itself in place (a `$ref` loop that never descends);
//! - where recursion descends (a schema for a tree), each level of the instance may
//!   apply each recursive subschema only once: a cycle of the descent graph whose
//!   paths multiply (two ways from a subschema to the same child's subschema, or two
//!   cycles through one subschema) makes the cost exponential in the instance's depth.
//!
//! The same walk bounds the schema's size ([`MAX_SUBSCHEMAS`]) and its regular
//! expressions ([`MAX_PATTERNS`], [`MAX_PATTERN_BYTES`]).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

/// Most subschemas a schema may have.
pub const MAX_SUBSCHEMAS: usize = 5_000;
/// Most subschemas applied to one instance value (paths through `allOf`, `anyOf`,
/// `oneOf`, `not`, `if`/`then`/`else`, `$ref`).
pub const MAX_IN_PLACE_PATHS: u64 = 256;
/// Most regular expressions (`pattern`s and `patternProperties` keys) in a schema.
pub const MAX_PATTERNS: usize = 64;
/// Longest regular expression.
pub const MAX_PATTERN_BYTES: usize = 1024;

/// Why a schema's cost is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostError(pub String);

/// Where a descent goes: which child of the instance value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Child {
    /// A named property.
    Property(String),
    /// Any property (`patternProperties`, `additionalProperties`, …).
    AnyProperty,
    /// Property names.
    Name,
    /// An item by position.
    Item(usize),
    /// Any item.
    AnyItem,
}

impl Child {
    /// Whether a value at `self` can also be at `other`.
    fn overlaps(&self, other: &Child) -> bool {
        use Child::*;
        matches!(
            (self, other),
            (AnyProperty, Property(_) | AnyProperty)
                | (Property(_), AnyProperty)
                | (AnyItem, Item(_) | AnyItem)
                | (Item(_), AnyItem)
                | (Name, Name)
        ) || self == other
    }
}

struct Node {
    pointer: String,
    in_place: Vec<usize>,
    descents: Vec<(Child, usize)>,
    refs: Vec<String>,
}

struct Graph {
    nodes: Vec<Node>,
    by_pointer: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
    patterns: usize,
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Graph {
    fn add(&mut self, v: &Value, pointer: String) -> Result<usize, CostError> {
        if self.nodes.len() >= MAX_SUBSCHEMAS {
            return Err(CostError(format!(
                "schema has more than {MAX_SUBSCHEMAS} subschemas"
            )));
        }
        let id = self.nodes.len();
        self.nodes.push(Node {
            pointer: pointer.clone(),
            in_place: Vec::new(),
            descents: Vec::new(),
            refs: Vec::new(),
        });
        self.by_pointer.insert(pointer.clone(), id);
        let Value::Object(m) = v else {
            return Ok(id);
        };
        for key in ["$id", "id"] {
            if let Some(Value::String(s)) = m.get(key) {
                self.by_id.insert(s.trim_end_matches('#').to_owned(), id);
            }
        }
        if let Some(Value::String(a)) = m.get("$anchor") {
            self.by_id.insert(format!("#{a}"), id);
        }
        for key in ["$ref", "$recursiveRef", "$dynamicRef"] {
            if let Some(Value::String(r)) = m.get(key) {
                self.nodes[id].refs.push(r.clone());
            }
        }
        if let Some(Value::String(p)) = m.get("pattern") {
            self.pattern(p, &format!("{pointer}/pattern"))?;
        }
        for (key, sub) in m {
            let at = format!("{pointer}/{}", escape(key));
            match key.as_str() {
                "allOf" | "anyOf" | "oneOf" => {
                    if let Value::Array(items) = sub {
                        for (i, s) in items.iter().enumerate() {
                            let c = self.add(s, format!("{at}/{i}"))?;
                            self.nodes[id].in_place.push(c);
                        }
                    }
                }
                "not" | "if" | "then" | "else" => {
                    let c = self.add(sub, at)?;
                    self.nodes[id].in_place.push(c);
                }
                "dependentSchemas" | "dependencies" => {
                    if let Value::Object(deps) = sub {
                        for (k, s) in deps {
                            if s.is_object() || s.is_boolean() {
                                let c = self.add(s, format!("{at}/{}", escape(k)))?;
                                self.nodes[id].in_place.push(c);
                            }
                        }
                    }
                }
                "properties" => {
                    if let Value::Object(props) = sub {
                        for (k, s) in props {
                            let c = self.add(s, format!("{at}/{}", escape(k)))?;
                            self.nodes[id]
                                .descents
                                .push((Child::Property(k.clone()), c));
                        }
                    }
                }
                "patternProperties" => {
                    if let Value::Object(props) = sub {
                        for (k, s) in props {
                            self.pattern(k, &at)?;
                            let c = self.add(s, format!("{at}/{}", escape(k)))?;
                            self.nodes[id].descents.push((Child::AnyProperty, c));
                        }
                    }
                }
                "additionalProperties" | "unevaluatedProperties" => {
                    let c = self.add(sub, at)?;
                    self.nodes[id].descents.push((Child::AnyProperty, c));
                }
                "propertyNames" => {
                    let c = self.add(sub, at)?;
                    self.nodes[id].descents.push((Child::Name, c));
                }
                "items" | "prefixItems" => match sub {
                    Value::Array(items) => {
                        for (i, s) in items.iter().enumerate() {
                            let c = self.add(s, format!("{at}/{i}"))?;
                            self.nodes[id].descents.push((Child::Item(i), c));
                        }
                    }
                    s => {
                        let c = self.add(s, at)?;
                        self.nodes[id].descents.push((Child::AnyItem, c));
                    }
                },
                "additionalItems" | "unevaluatedItems" | "contains" => {
                    let c = self.add(sub, at)?;
                    self.nodes[id].descents.push((Child::AnyItem, c));
                }
                "definitions" | "$defs" => {
                    if let Value::Object(defs) = sub {
                        for (k, s) in defs {
                            self.add(s, format!("{at}/{}", escape(k)))?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(id)
    }

    fn pattern(&mut self, p: &str, at: &str) -> Result<(), CostError> {
        self.patterns += 1;
        if self.patterns > MAX_PATTERNS {
            return Err(CostError(format!(
                "schema has more than {MAX_PATTERNS} patterns"
            )));
        }
        if p.len() > MAX_PATTERN_BYTES {
            return Err(CostError(format!(
                "the pattern at {} is {} bytes, over the limit of {MAX_PATTERN_BYTES}",
                display_pointer(at),
                p.len()
            )));
        }
        Ok(())
    }

    /// Where a `$ref` of node `from` points, if inside the document.
    fn resolve(&self, r: &str) -> Option<usize> {
        if r == "#" || r.is_empty() {
            return Some(0);
        }
        if let Some(pointer) = r.strip_prefix('#') {
            if pointer.starts_with('/') {
                let decoded = percent_decode(pointer);
                return self.by_pointer.get(&format!("#{decoded}")).copied();
            }
            return self.by_id.get(r).copied();
        }
        let (base, fragment) = r.split_once('#').unwrap_or((r, ""));
        let target = *self.by_id.get(base)?;
        if fragment.is_empty() {
            return Some(target);
        }
        let pointer = format!("{}{}", self.nodes[target].pointer, percent_decode(fragment));
        self.by_pointer.get(&pointer).copied()
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `#/definitions/a` as a readable place: `definitions.a` (the root is `(root)`).
fn display_pointer(p: &str) -> String {
    let p = p.trim_start_matches('#').trim_start_matches('/');
    if p.is_empty() {
        "(root)".to_owned()
    } else {
        p.replace('/', ".")
    }
}

/// Checks the cost of validating against `schema`.
pub fn check(schema: &Value) -> Result<(), CostError> {
    let mut g = Graph {
        nodes: Vec::new(),
        by_pointer: HashMap::new(),
        by_id: HashMap::new(),
        patterns: 0,
    };
    g.add(schema, "#".to_owned())?;
    for i in 0..g.nodes.len() {
        let targets: Vec<usize> = g.nodes[i]
            .refs
            .iter()
            .filter_map(|r| g.resolve(r))
            .collect();
        g.nodes[i].in_place.extend(targets);
    }
    let paths = in_place_paths(&g)?;
    if let Some((i, n)) = paths
        .iter()
        .enumerate()
        .find(|(_, n)| **n > MAX_IN_PLACE_PATHS)
    {
        return Err(CostError(format!(
            "the schema at {} applies {} subschemas to one value through allOf/anyOf/oneOf/$ref (the limit is {MAX_IN_PLACE_PATHS}): its validation cost grows exponentially",
            display_pointer(&g.nodes[i].pointer),
            if *n == u64::MAX {
                "more than 2^64".to_owned()
            } else {
                n.to_string()
            }
        )));
    }
    descent_growth(&g)
}

/// For every node, the number of in-place paths from it (itself included); a loop
/// of in-place edges is an error.
fn in_place_paths(g: &Graph) -> Result<Vec<u64>, CostError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let n = g.nodes.len();
    let mut mark = vec![Mark::New; n];
    let mut paths = vec![0u64; n];
    for start in 0..n {
        if mark[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (node, next edge index).
        let mut stack = vec![(start, 0usize)];
        mark[start] = Mark::Open;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&child) = g.nodes[node].in_place.get(*next) {
                *next += 1;
                match mark[child] {
                    Mark::New => {
                        mark[child] = Mark::Open;
                        stack.push((child, 0));
                    }
                    Mark::Open => {
                        return Err(CostError(format!(
                            "the schema at {} refers back to itself without descending into the instance ($ref loop)",
                            display_pointer(&g.nodes[child].pointer)
                        )));
                    }
                    Mark::Done => {}
                }
            } else {
                stack.pop();
                mark[node] = Mark::Done;
                paths[node] = g.nodes[node]
                    .in_place
                    .iter()
                    .fold(1u64, |acc, c| acc.saturating_add(paths[*c]));
            }
        }
    }
    Ok(paths)
}

/// Whether recursion through descents multiplies. For each subschema applied to a
/// value and each child of that value, count the ways that lead to each subschema
/// applied to the child. Within a strongly connected component of that graph (a
/// recursion), following one instance path must never fork: from each subschema, at
/// most one way per child back into the recursion. (Ways out of it are bounded by
/// the in-place bound.) A tree schema forks by child (`left`, `right`), never within
/// one; `items: {allOf: [$ref, $ref]}` forks within one.
fn descent_growth(g: &Graph) -> Result<(), CostError> {
    let n = g.nodes.len();
    let mut reach: Vec<Option<BTreeMap<usize, u64>>> = vec![None; n];
    // by_child[s][child][u]: ways from s, at a value, to u at that child.
    let mut by_child: Vec<BTreeMap<Child, BTreeMap<usize, u64>>> = vec![BTreeMap::new(); n];
    let mut entries: Vec<usize> = vec![0];
    entries.extend(
        g.nodes
            .iter()
            .flat_map(|node| node.descents.iter().map(|(_, t)| *t)),
    );
    entries.sort_unstable();
    entries.dedup();
    for &s in &entries {
        let r = in_place_reach(g, s, &mut reach);
        let mut direct: BTreeMap<&Child, BTreeMap<usize, u64>> = BTreeMap::new();
        for (&t, &ways) in &r {
            for (child, u) in &g.nodes[t].descents {
                let e = direct.entry(child).or_default().entry(*u).or_insert(0);
                *e = e.saturating_add(ways);
            }
        }
        // A named child also gets what goes to any child of its kind.
        let children: Vec<&Child> = direct.keys().copied().collect();
        for c in &children {
            let total = by_child[s].entry((*c).clone()).or_default();
            for d in &children {
                if c.overlaps(d) {
                    for (&u, &w) in &direct[d] {
                        let e = total.entry(u).or_insert(0);
                        *e = e.saturating_add(w);
                    }
                }
            }
        }
    }
    let union: Vec<Vec<usize>> = by_child
        .iter()
        .map(|m| {
            let mut v: Vec<usize> = m.values().flat_map(|t| t.keys().copied()).collect();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect();
    for component in strongly_connected(&union) {
        let inside = |u: &usize| component.binary_search(u).is_ok();
        for &s in &component {
            for targets in by_child[s].values() {
                let ways: u64 = targets
                    .iter()
                    .filter(|(u, _)| inside(u))
                    .map(|(_, w)| *w)
                    .fold(0, u64::saturating_add);
                if ways > 1 {
                    return Err(CostError(format!(
                        "the schema's recursion through {} applies it more than once at each level of the instance: its validation cost grows exponentially with the instance's depth",
                        display_pointer(&g.nodes[s].pointer)
                    )));
                }
            }
        }
    }
    Ok(())
}

fn in_place_reach(
    g: &Graph,
    s: usize,
    memo: &mut [Option<BTreeMap<usize, u64>>],
) -> BTreeMap<usize, u64> {
    if let Some(r) = &memo[s] {
        return r.clone();
    }
    // Paths counted in topological order (the in-place graph has no loop here).
    let mut order = Vec::new();
    let mut seen = vec![false; g.nodes.len()];
    let mut stack = vec![(s, 0usize)];
    seen[s] = true;
    while let Some(&mut (node, ref mut next)) = stack.last_mut() {
        if let Some(&child) = g.nodes[node].in_place.get(*next) {
            *next += 1;
            if !seen[child] {
                seen[child] = true;
                stack.push((child, 0));
            }
        } else {
            stack.pop();
            order.push(node);
        }
    }
    let mut ways: BTreeMap<usize, u64> = BTreeMap::new();
    ways.insert(s, 1);
    for &node in order.iter().rev() {
        let w = ways.get(&node).copied().unwrap_or(0);
        for &child in &g.nodes[node].in_place {
            let e = ways.entry(child).or_insert(0);
            *e = e.saturating_add(w);
        }
    }
    memo[s] = Some(ways.clone());
    ways
}

/// Tarjan's strongly connected components, iteratively; each sorted.
fn strongly_connected(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call = vec![(root, 0usize)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut i)) = call.last_mut() {
            if let Some(&w) = adj[v].get(*i) {
                *i += 1;
                if index[w] == usize::MAX {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                call.pop();
                if let Some(&(parent, _)) = call.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    component.sort_unstable();
                    out.push(component);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A `$ref` DAG of `allOf` pairs, `levels` deep: 2^levels applications.
    fn dag(levels: usize) -> Value {
        let mut defs = serde_json::Map::new();
        for i in 0..levels {
            defs.insert(
                format!("d{i}"),
                json!({"allOf": [{"$ref": format!("#/definitions/d{}", i + 1)}, {"$ref": format!("#/definitions/d{}", i + 1)}]}),
            );
        }
        defs.insert(format!("d{levels}"), json!({"type": "object"}));
        json!({"definitions": defs, "$ref": "#/definitions/d0"})
    }

    #[test]
    fn refuses_a_dag_of_allof_pairs() {
        assert_eq!(check(&dag(5)), Ok(()));
        let e = check(&dag(40)).unwrap_err();
        assert!(
            e.0.starts_with("the schema at (root) applies more than 2^64 subschemas")
                || e.0.contains("subschemas to one value"),
            "{}",
            e.0
        );
        assert!(
            e.0.ends_with("its validation cost grows exponentially"),
            "{}",
            e.0
        );
    }

    #[test]
    fn refuses_a_ref_loop_that_never_descends() {
        let e = check(&json!({"definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"allOf": [{"$ref": "#/definitions/a"}]}}, "$ref": "#/definitions/a"})).unwrap_err();
        assert_eq!(
            e.0,
            "the schema at definitions.a refers back to itself without descending into the instance ($ref loop)"
        );
    }

    #[test]
    fn accepts_recursive_schemas_for_trees() {
        // One subschema per level, whichever child: linear in the instance.
        let tree = json!({"definitions": {"node": {"type": "object", "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/definitions/node"}},
            "left": {"$ref": "#/definitions/node"}, "right": {"$ref": "#/definitions/node"}}}},
            "$ref": "#/definitions/node"});
        assert_eq!(check(&tree), Ok(()));
    }

    #[test]
    fn refuses_recursion_that_multiplies_per_level() {
        // Each level applies the recursive subschema twice to the same child.
        let twice = json!({"definitions": {"n": {"items": {"allOf": [{"$ref": "#/definitions/n"}, {"$ref": "#/definitions/n"}]}}},
            "$ref": "#/definitions/n"});
        let e = check(&twice).unwrap_err();
        assert!(
            e.0.contains("grows exponentially with the instance's depth"),
            "{}",
            e.0
        );
        // A named property and `additionalProperties` both reach the same child.
        let overlap = json!({"definitions": {"n": {"properties": {"a": {"$ref": "#/definitions/n"}},
            "additionalProperties": {"$ref": "#/definitions/n"}}}, "$ref": "#/definitions/n"});
        assert!(check(&overlap).is_err());
    }

    #[test]
    fn bounds_size_and_patterns() {
        let many: serde_json::Map<String, Value> = (0..MAX_SUBSCHEMAS)
            .map(|i| (format!("p{i}"), json!({"type": "string"})))
            .collect();
        assert_eq!(
            check(&json!({"properties": many})).unwrap_err().0,
            format!("schema has more than {MAX_SUBSCHEMAS} subschemas")
        );
        let patterns: serde_json::Map<String, Value> = (0..=MAX_PATTERNS)
            .map(|i| (format!("p{i}"), json!({"pattern": "^a+$"})))
            .collect();
        assert_eq!(
            check(&json!({"properties": patterns})).unwrap_err().0,
            format!("schema has more than {MAX_PATTERNS} patterns")
        );
        let long = "a".repeat(MAX_PATTERN_BYTES + 1);
        assert_eq!(
            check(&json!({"properties": {"s": {"pattern": long}}}))
                .unwrap_err()
                .0,
            format!(
                "the pattern at properties.s.pattern is {} bytes, over the limit of {MAX_PATTERN_BYTES}",
                MAX_PATTERN_BYTES + 1
            )
        );
    }

    #[test]
    fn ordinary_schemas_pass() {
        let seed = json!({"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
            "properties": {"input": {"type": "object"}, "output": {"oneOf": [{"type": "object"}, {"type": "array"}]}},
            "required": ["input"]});
        assert_eq!(check(&seed), Ok(()));
    }
}
