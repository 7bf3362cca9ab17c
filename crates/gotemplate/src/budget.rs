//! The memory budget of one execution: every byte a render allocates for strings,
//! lists and maps (its output as well as what it builds on the way) is charged here
//! before it is allocated, so no template can make the process allocate more than
//! [`Limits::max_alloc_bytes`](super::Limits::max_alloc_bytes), however it loops.

use super::fmt::PrintError;

/// Bytes a list element or map entry is counted as, besides its text.
pub(crate) const SLOT: usize = 16;

/// What is left of the budget.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    used: usize,
}

/// The budget is spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Exhausted;

impl From<Exhausted> for PrintError {
    fn from(_: Exhausted) -> Self {
        PrintError::Bytes
    }
}

impl Budget {
    /// A budget of `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Self { limit, used: 0 }
    }

    /// Charges `n` bytes, or fails (charging nothing) if that would pass the limit.
    pub(crate) fn charge(&mut self, n: usize) -> Result<(), Exhausted> {
        match self.used.checked_add(n) {
            Some(total) if total <= self.limit => {
                self.used = total;
                Ok(())
            }
            _ => Err(Exhausted),
        }
    }

    /// Bytes still available.
    pub(crate) fn left(&self) -> usize {
        self.limit - self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_limit_and_no_further() {
        let mut b = Budget::new(10);
        assert_eq!(b.charge(6), Ok(()));
        assert_eq!(b.charge(5), Err(Exhausted));
        assert_eq!(b.left(), 4);
        assert_eq!(b.charge(usize::MAX), Err(Exhausted));
        assert_eq!(b.charge(4), Ok(()));
        assert_eq!(b.left(), 0);
    }
}
