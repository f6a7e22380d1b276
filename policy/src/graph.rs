//! Group nesting as a graph: transitive closures ("groups of a group", "groups inside a group")
//! and the cycle rule (a group may not end up inside itself). It owns the algorithms only; it
//! must not know where the edges come from.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::Hash;

/// Adding the edge would put a group inside itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the group would contain itself")]
pub struct Cycle;

/// Groups and the "is a direct member of" edges between them.
#[derive(Debug, Clone)]
pub struct GroupGraph<G> {
    /// group → the groups it is a direct member of.
    parents: HashMap<G, Vec<G>>,
    /// group → the groups that are direct members of it.
    children: HashMap<G, Vec<G>>,
}

impl<G> Default for GroupGraph<G> {
    fn default() -> Self {
        GroupGraph {
            parents: HashMap::new(),
            children: HashMap::new(),
        }
    }
}

impl<G: Copy + Eq + Hash + Ord> GroupGraph<G> {
    /// An empty graph.
    pub fn new() -> Self {
        GroupGraph::default()
    }

    /// Builds the graph from `(member, container)` edges without checking for cycles (use it for
    /// edges already accepted); closures stay finite even if the data holds a cycle.
    pub fn from_edges(edges: impl IntoIterator<Item = (G, G)>) -> Self {
        let mut g = GroupGraph::new();
        for (member, container) in edges {
            g.insert_unchecked(member, container);
        }
        g
    }

    fn insert_unchecked(&mut self, member: G, container: G) {
        let p = self.parents.entry(member).or_default();
        if !p.contains(&container) {
            p.push(container);
            self.children.entry(container).or_default().push(member);
        }
    }

    /// Whether making `member` a direct member of `container` would create a cycle.
    pub fn would_cycle(&self, member: G, container: G) -> bool {
        member == container || self.ancestors(container).contains(&member)
    }

    /// Adds the edge "`member` is a direct member of `container`", refusing cycles.
    pub fn add(&mut self, member: G, container: G) -> Result<(), Cycle> {
        if self.would_cycle(member, container) {
            return Err(Cycle);
        }
        self.insert_unchecked(member, container);
        Ok(())
    }

    /// Removes the edge if present.
    pub fn remove(&mut self, member: G, container: G) {
        if let Some(p) = self.parents.get_mut(&member) {
            p.retain(|g| *g != container);
        }
        if let Some(c) = self.children.get_mut(&container) {
            c.retain(|g| *g != member);
        }
    }

    /// The groups `g` is a direct member of.
    pub fn direct_parents(&self, g: G) -> &[G] {
        self.parents.get(&g).map_or(&[], Vec::as_slice)
    }

    /// Every group that holds `g`, directly or through other groups (not `g` itself).
    pub fn ancestors(&self, g: G) -> BTreeSet<G> {
        walk(&self.parents, g)
    }

    /// Every group inside `g`, directly or through other groups (not `g` itself).
    pub fn descendants(&self, g: G) -> BTreeSet<G> {
        walk(&self.children, g)
    }

    /// The groups of something that is a direct member of `direct`: those groups and all their
    /// ancestors.
    pub fn closure_of(&self, direct: impl IntoIterator<Item = G>) -> BTreeSet<G> {
        let mut out = BTreeSet::new();
        for g in direct {
            if out.insert(g) {
                out.extend(self.ancestors(g));
            }
        }
        out
    }

    /// Every group that appears in an edge.
    pub fn groups(&self) -> BTreeSet<G> {
        self.parents
            .keys()
            .chain(self.children.keys())
            .copied()
            .collect()
    }
}

fn walk<G: Copy + Eq + Hash + Ord>(next: &HashMap<G, Vec<G>>, start: G) -> BTreeSet<G> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<G> = next.get(&start).into_iter().flatten().copied().collect();
    while let Some(g) = queue.pop_front() {
        if g != start && seen.insert(g) {
            queue.extend(next.get(&g).into_iter().flatten().copied());
        }
    }
    seen
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // index loops are the clearest oracle here
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn chain_closure_and_cycle() {
        let mut g = GroupGraph::new();
        g.add(1, 2).unwrap();
        g.add(2, 3).unwrap();
        assert_eq!(g.ancestors(1), [2, 3].into());
        assert_eq!(g.descendants(3), [1, 2].into());
        assert_eq!(g.add(3, 1), Err(Cycle));
        assert_eq!(g.add(1, 1), Err(Cycle));
        g.add(1, 3).unwrap(); // a shortcut is not a cycle
        assert_eq!(g.closure_of([1]), [1, 2, 3].into());
        g.remove(2, 3);
        assert_eq!(g.ancestors(1), [2, 3].into()); // still through 1 -> 3
        assert_eq!(g.ancestors(2), BTreeSet::new());
    }

    /// Reachability by brute force (Floyd–Warshall on a small graph).
    fn reach(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<bool>> {
        let mut r = vec![vec![false; n]; n];
        for &(a, b) in edges {
            r[a][b] = true;
        }
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    if r[i][k] && r[k][j] {
                        r[i][j] = true;
                    }
                }
            }
        }
        r
    }

    proptest! {
        /// Adding random edges: exactly the cycle-making ones are refused, the accepted graph stays
        /// acyclic, and closures equal brute-force reachability.
        #[test]
        fn closure_matches_reachability_and_cycles_are_refused(
            edges in proptest::collection::vec((0usize..10, 0usize..10), 0..40)
        ) {
            let n = 10;
            let mut g = GroupGraph::new();
            let mut accepted: Vec<(usize, usize)> = Vec::new();
            for (m, c) in edges {
                let r = reach(n, &accepted);
                let cycles = m == c || r[c][m];
                let res = g.add(m, c);
                prop_assert_eq!(res.is_err(), cycles);
                if res.is_ok() && !accepted.contains(&(m, c)) {
                    accepted.push((m, c));
                }
            }
            let r = reach(n, &accepted);
            for i in 0..n {
                prop_assert!(!r[i][i], "accepted graph has a cycle through {}", i);
                let anc = g.ancestors(i);
                let desc = g.descendants(i);
                for j in 0..n {
                    prop_assert_eq!(anc.contains(&j), r[i][j]);
                    prop_assert_eq!(desc.contains(&j), r[j][i]);
                }
            }
        }

        /// Closures terminate and never contain the start, even over stored cyclic data.
        #[test]
        fn closures_are_finite_over_cyclic_data(
            edges in proptest::collection::vec((0u8..6, 0u8..6), 0..20)
        ) {
            let g = GroupGraph::from_edges(edges);
            for i in 0..6 {
                prop_assert!(!g.ancestors(i).contains(&i));
                prop_assert!(!g.descendants(i).contains(&i));
            }
        }
    }
}
