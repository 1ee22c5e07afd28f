//! Counting rules of priority polls (R2): single choice (plurality),
//! approval, and Schulze over ranked ballots. Options are numbered
//! `0..options` in the order the poll published them; that order is the
//! only tie-break, and every tie is also reported (`tied_for_first`).
//! The precise rules are in `specs/pb.md` §"Poll counting".

/// Why ballots cannot be counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    /// A ballot names an option that does not exist.
    #[error("ballot {ballot} names option {option}, but the poll has {options} options")]
    NoSuchOption {
        /// The ballot's position.
        ballot: usize,
        /// The bad option.
        option: usize,
        /// How many options the poll has.
        options: usize,
    },
    /// A ballot names an option twice.
    #[error("ballot {ballot} names option {option} twice")]
    Repeated {
        /// The ballot's position.
        ballot: usize,
        /// The repeated option.
        option: usize,
    },
}

/// The result of a plurality or approval count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Votes (or approvals) per option.
    pub counts: Vec<u64>,
    /// The options, most votes first; equal counts in option order.
    pub ranking: Vec<usize>,
    /// Every option with the most votes (more than one: a tie). Empty if
    /// the poll has no options.
    pub tied_for_first: Vec<usize>,
    /// The winner: the first of `tied_for_first` in option order.
    pub winner: Option<usize>,
}

impl Tally {
    fn from_counts(counts: Vec<u64>) -> Tally {
        let mut ranking: Vec<usize> = (0..counts.len()).collect();
        ranking.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
        let top = ranking.first().map(|&o| counts[o]);
        let tied_for_first: Vec<usize> = ranking
            .iter()
            .copied()
            .take_while(|&o| Some(counts[o]) == top)
            .collect();
        Tally {
            winner: tied_for_first.first().copied(),
            counts,
            ranking,
            tied_for_first,
        }
    }
}

/// Single choice: each ballot names one option; the most votes wins.
pub fn plurality(options: usize, ballots: &[usize]) -> Result<Tally, PollError> {
    let mut counts = vec![0u64; options];
    for (ballot, &option) in ballots.iter().enumerate() {
        *counts.get_mut(option).ok_or(PollError::NoSuchOption {
            ballot,
            option,
            options,
        })? += 1;
    }
    Ok(Tally::from_counts(counts))
}

/// Approval: each ballot names any set of options (possibly empty, each
/// at most once); the most approvals wins.
pub fn approval(options: usize, ballots: &[Vec<usize>]) -> Result<Tally, PollError> {
    let mut counts = vec![0u64; options];
    let mut seen = vec![false; options];
    for (ballot, b) in ballots.iter().enumerate() {
        check_ballot(ballot, b, options, &mut seen)?;
        for &o in b {
            counts[o] += 1;
        }
    }
    Ok(Tally::from_counts(counts))
}

/// Checks that `b` names existing options, each at most once; leaves
/// `seen` all false.
fn check_ballot(
    ballot: usize,
    b: &[usize],
    options: usize,
    seen: &mut [bool],
) -> Result<(), PollError> {
    let mut result = Ok(());
    for &option in b {
        if option >= options {
            result = Err(PollError::NoSuchOption {
                ballot,
                option,
                options,
            });
            break;
        }
        if seen[option] {
            result = Err(PollError::Repeated { ballot, option });
            break;
        }
        seen[option] = true;
    }
    for &o in b {
        if o < options {
            seen[o] = false;
        }
    }
    result
}

/// The result of a Schulze count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchulzeResult {
    /// `pairwise[a][b]`: how many voters rank `a` above `b`.
    pub pairwise: Vec<Vec<u64>>,
    /// `strength[a][b]`: the strength of the strongest path from `a` to `b`
    /// (0 if none), where a link `x → y` of strength `pairwise[x][y]`
    /// exists when `pairwise[x][y] > pairwise[y][x]`.
    pub strength: Vec<Vec<u64>>,
    /// The Schulze winners: every `a` with `strength[a][b] >= strength[b][a]`
    /// for all `b` (more than one: a tie).
    pub tied_for_first: Vec<usize>,
    /// All options, best first: repeatedly the first option (in option
    /// order) that no remaining option beats (`strength[b][a] >
    /// strength[a][b]`).
    pub ranking: Vec<usize>,
    /// The winner: `ranking[0]`, the first of `tied_for_first`.
    pub winner: Option<usize>,
}

/// Schulze (winning votes) over ranked ballots. A ballot lists options
/// from most to least preferred, each at most once; it may stop early:
/// every ranked option is preferred to every unranked one, and unranked
/// options are equal to each other. An empty ballot expresses nothing.
///
/// Ballots are added to the pairwise matrix in one pass, `O(k · options)`
/// per ballot ranking `k` options (a row of "still below" flags is added
/// to the row of each ranked option), then strongest paths are found by
/// Floyd–Warshall in `O(options³)`.
pub fn schulze(options: usize, ballots: &[Vec<usize>]) -> Result<SchulzeResult, PollError> {
    let m = options;
    // Counts fit u32 per chunk; flushed to u64 every 2^31 ballots.
    let mut d64 = vec![0u64; m * m];
    let mut d = vec![0u32; m * m];
    let mut below = vec![1u32; m];
    let mut seen = vec![false; m];
    for (i, b) in ballots.iter().enumerate() {
        check_ballot(i, b, m, &mut seen)?;
        for &a in b {
            below[a] = 0;
            let row = &mut d[a * m..(a + 1) * m];
            for (x, y) in row.iter_mut().zip(&below) {
                *x += *y;
            }
        }
        for &a in b {
            below[a] = 1;
        }
        if i % (1 << 31) == (1 << 31) - 1 {
            flush(&mut d64, &mut d);
        }
    }
    flush(&mut d64, &mut d);
    let pairwise: Vec<Vec<u64>> = d64.chunks(m.max(1)).map(<[u64]>::to_vec).take(m).collect();
    let mut p = vec![vec![0u64; m]; m];
    for a in 0..m {
        for b in 0..m {
            if a != b && pairwise[a][b] > pairwise[b][a] {
                p[a][b] = pairwise[a][b];
            }
        }
    }
    for k in 0..m {
        for i in 0..m {
            if i == k || p[i][k] == 0 {
                continue;
            }
            for j in 0..m {
                if j != i && j != k {
                    let via = p[i][k].min(p[k][j]);
                    if via > p[i][j] {
                        p[i][j] = via;
                    }
                }
            }
        }
    }
    let beats = |a: usize, b: usize| p[a][b] > p[b][a];
    let tied_for_first: Vec<usize> = (0..m).filter(|&a| (0..m).all(|b| !beats(b, a))).collect();
    let mut left: Vec<usize> = (0..m).collect();
    let mut ranking = Vec::with_capacity(m);
    while !left.is_empty() {
        let i = (0..left.len())
            .find(|&i| left.iter().all(|&b| !beats(b, left[i])))
            .expect("the Schulze relation is a strict partial order");
        ranking.push(left.remove(i));
    }
    Ok(SchulzeResult {
        pairwise,
        strength: p,
        winner: ranking.first().copied(),
        tied_for_first,
        ranking,
    })
}

fn flush(d64: &mut [u64], d: &mut [u32]) {
    for (x, y) in d64.iter_mut().zip(d.iter_mut()) {
        *x += u64::from(*y);
        *y = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurality_and_approval_ties() {
        let t = plurality(3, &[2, 1, 2, 1]).unwrap();
        assert_eq!(t.counts, vec![0, 2, 2]);
        assert_eq!(t.tied_for_first, vec![1, 2]);
        assert_eq!(t.winner, Some(1));
        assert_eq!(t.ranking, vec![1, 2, 0]);
        assert!(plurality(3, &[3]).is_err());
        let a = approval(3, &[vec![0, 2], vec![2], vec![]]).unwrap();
        assert_eq!(a.counts, vec![1, 0, 2]);
        assert_eq!(a.winner, Some(2));
        assert_eq!(
            approval(3, &[vec![1, 1]]),
            Err(PollError::Repeated {
                ballot: 0,
                option: 1
            })
        );
        assert_eq!(plurality(0, &[]).unwrap().winner, None);
    }

    /// The example of Schulze's paper / Wikipedia: 45 voters, 5 options
    /// A..E; the winner is E and the ranking E > A > C > B > D.
    #[test]
    fn schulze_wikipedia_example() {
        let (a, b, c, d, e) = (0, 1, 2, 3, 4);
        let groups: [(usize, [usize; 5]); 8] = [
            (5, [a, c, b, e, d]),
            (5, [a, d, e, c, b]),
            (8, [b, e, d, a, c]),
            (3, [c, a, b, e, d]),
            (7, [c, a, e, b, d]),
            (2, [c, b, a, d, e]),
            (7, [d, c, e, b, a]),
            (8, [e, b, a, d, c]),
        ];
        let mut ballots = Vec::new();
        for (n, r) in groups {
            for _ in 0..n {
                ballots.push(r.to_vec());
            }
        }
        let s = schulze(5, &ballots).unwrap();
        assert_eq!(s.pairwise[a][b], 20);
        assert_eq!(s.pairwise[b][a], 25);
        assert_eq!(s.strength[a][b], 28);
        assert_eq!(s.strength[e][d], 31);
        assert_eq!(s.winner, Some(e));
        assert_eq!(s.tied_for_first, vec![e]);
        assert_eq!(s.ranking, vec![e, a, c, b, d]);
    }

    #[test]
    fn schulze_partial_ballots_and_ties() {
        // Unranked options are below ranked ones and equal to each other.
        let s = schulze(3, &[vec![2], vec![1, 0]]).unwrap();
        assert_eq!(s.pairwise[2], vec![1, 1, 0]);
        assert_eq!(s.pairwise[1], vec![1, 0, 1]);
        assert_eq!(s.pairwise[0], vec![0, 0, 1]);
        // 2 and 1 tie (1 each way); 0 is beaten by 1 (1:0) but ties with 2.
        assert_eq!(s.tied_for_first, vec![1, 2]);
        assert_eq!(s.winner, Some(1));
        let none = schulze(2, &[]).unwrap();
        assert_eq!(none.tied_for_first, vec![0, 1]);
        assert_eq!(none.ranking, vec![0, 1]);
        assert!(schulze(2, &[vec![0, 0]]).is_err());
        assert_eq!(schulze(0, &[vec![]]).unwrap().winner, None);
    }
}
