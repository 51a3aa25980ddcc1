//! What a subscriber received from one publisher, message by message, so that
//! losses, duplicates and reordering are counted exactly rather than inferred
//! from totals: a bit per sequence number.

/// A growable set of sequence numbers.
#[derive(Debug, Default, Clone)]
pub struct SeqSet {
    words: Vec<u64>,
}

impl SeqSet {
    /// Adds `seq`; false if it was already there.
    pub fn insert(&mut self, seq: u64) -> bool {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.words.len() {
            self.words.resize((word + 1).next_power_of_two(), 0);
        }
        let had = self.words[word] & (1 << bit) != 0;
        self.words[word] |= 1 << bit;
        !had
    }

    pub fn contains(&self, seq: u64) -> bool {
        self.words.get((seq / 64) as usize).is_some_and(|w| w & (1 << (seq % 64)) != 0)
    }

    /// How many members of `self` are not in `other`.
    pub fn count_missing_from(&self, other: &SeqSet) -> u64 {
        self.words
            .iter()
            .enumerate()
            .map(|(i, w)| u64::from((w & !other.words.get(i).copied().unwrap_or(0)).count_ones()))
            .sum()
    }

    /// How many of `0..n` are not in the set.
    pub fn count_absent_below(&self, n: u64) -> u64 {
        let full = (n / 64) as usize;
        let mut present: u64 = self.words.iter().take(full).map(|w| u64::from(w.count_ones())).sum();
        if !n.is_multiple_of(64)
            && let Some(w) = self.words.get(full)
        {
            present += u64::from((w & ((1u64 << (n % 64)) - 1)).count_ones());
        }
        n - present
    }
}

/// One publisher's messages as one subscriber saw them.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    pub seen: SeqSet,
    /// Different sequence numbers received.
    pub distinct: u64,
    /// Messages received again.
    pub duplicates: u64,
    /// New messages that came after a higher sequence number.
    pub reordered: u64,
    /// One past the highest sequence number received.
    pub next: u64,
}

impl Ledger {
    pub fn record(&mut self, seq: u64) {
        if !self.seen.insert(seq) {
            self.duplicates += 1;
            return;
        }
        self.distinct += 1;
        if seq < self.next {
            self.reordered += 1;
        } else {
            self.next = seq + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_gaps_duplicates_and_reordering() {
        let mut ledger = Ledger::default();
        for seq in [0, 1, 2, 5, 3, 3, 200, 0] {
            ledger.record(seq);
        }
        assert_eq!((ledger.distinct, ledger.duplicates, ledger.reordered, ledger.next), (6, 2, 1, 201));
        assert_eq!(ledger.seen.count_absent_below(201), 201 - 6);
        assert_eq!(ledger.seen.count_absent_below(4), 0);
        assert_eq!(ledger.seen.count_absent_below(6), 1, "4 is missing");
        assert!(ledger.seen.contains(200) && !ledger.seen.contains(199) && !ledger.seen.contains(10_000));
        let mut acked = SeqSet::default();
        for seq in 0..10 {
            acked.insert(seq);
        }
        assert_eq!(acked.count_missing_from(&ledger.seen), 5, "4 and 6..=9 were acknowledged, never received");
        assert_eq!(SeqSet::default().count_absent_below(130), 130);
    }
}
