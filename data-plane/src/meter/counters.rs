//! The live usage counters: one slot per namespace in a memory-mapped file,
//! `{data_dir}/meter/counters`, each slot a generation, the namespace id and
//! [`COUNTERS`] cumulative `u64`s that only ever grow.
//!
//! Why a shared mapping: a counted byte must survive `kill -9` without a
//! system call per message. Stores into a `MAP_SHARED` mapping land in the
//! page cache at once, so they outlive the process (not a power cut: the
//! sealer `msync`s once per interval, which bounds what one can lose). No
//! crate offers atomics over a file mapping, so this module holds the
//! workspace's only `unsafe`: mapping the file, and viewing its 8-byte words
//! as `AtomicU64`.
//!
//! Owns the file layout and slot allocation; knows nothing of dimensions,
//! records or namespaces' lifecycles (`meter.rs` does).

#![allow(unsafe_code)]

use std::fs::OpenOptions;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::MmapMut;

/// Counters per slot (dimensions in use and room for more).
pub const COUNTERS: usize = 16;
/// Longest namespace id a slot holds.
pub const MAX_ID: usize = 96;

const MAGIC: u64 = u64::from_le_bytes(*b"OMNMETR1");
const HEADER_BYTES: usize = 64;
/// generation (8), id length (8), id (MAX_ID), counters.
const SLOT_WORDS: usize = 2 + MAX_ID / 8 + COUNTERS;
const SLOT_BYTES: usize = SLOT_WORDS * 8;

/// The mapped file.
pub struct Counters {
    map: MmapMut,
    slots: usize,
}

/// What a slot holds, read at open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occupied {
    pub index: usize,
    pub generation: u64,
    pub namespace: String,
}

impl Counters {
    /// Maps `{dir}/counters` with room for `slots` namespaces, creating or
    /// growing the file (new slots are zero, that is free).
    pub fn open(dir: &Path, slots: usize) -> io::Result<Counters> {
        std::fs::create_dir_all(dir)?;
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(dir.join("counters"))?;
        let want = u64::try_from(HEADER_BYTES + slots * SLOT_BYTES).map_err(io::Error::other)?;
        let had = file.metadata()?.len();
        if had < want {
            file.set_len(want)?;
        }
        let slots = usize::try_from(had.max(want)).map_err(io::Error::other)?.saturating_sub(HEADER_BYTES) / SLOT_BYTES;
        // SAFETY: the file is the broker's own, under its data directory, and
        // nothing else maps or truncates it while the broker runs: the meter
        // opens its journal first, and redb locks that file, so a second
        // broker on the same directory stops there. The length never
        // shrinks, so the mapping stays valid.
        let map = unsafe { MmapMut::map_mut(&file)? };
        let counters = Counters { map, slots };
        let magic = counters.word(0);
        match magic.load(Ordering::Acquire) {
            0 => magic.store(MAGIC, Ordering::Release),
            MAGIC => {}
            _ => return Err(io::Error::new(io::ErrorKind::InvalidData, "meter/counters is not a counters file")),
        }
        Ok(counters)
    }

    /// The word at byte `offset`, which is 8-aligned and inside the map.
    fn word(&self, offset: usize) -> &AtomicU64 {
        assert!(offset.is_multiple_of(8) && offset + 8 <= self.map.len(), "counter word out of the map");
        // SAFETY: the mapping is page-aligned, so an 8-aligned offset is an
        // aligned `u64`; it lives as long as `self`; every access to mapped
        // words goes through atomics, so shared references are sound.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    fn slot_word(&self, index: usize, word: usize) -> &AtomicU64 {
        assert!(index < self.slots);
        self.word(HEADER_BYTES + index * SLOT_BYTES + word * 8)
    }

    pub fn capacity(&self) -> usize {
        self.slots
    }

    /// Cumulative counter `counter` of slot `index`.
    pub fn counter(&self, index: usize, counter: usize) -> &AtomicU64 {
        self.slot_word(index, 2 + MAX_ID / 8 + counter)
    }

    pub fn read(&self, index: usize) -> [u64; COUNTERS] {
        std::array::from_fn(|c| self.counter(index, c).load(Ordering::Acquire))
    }

    pub fn generation(&self, index: usize) -> u64 {
        self.slot_word(index, 0).load(Ordering::Acquire)
    }

    /// The slots in use.
    pub fn occupied(&self) -> Vec<Occupied> {
        (0..self.slots)
            .filter_map(|index| {
                let generation = self.generation(index);
                (generation != 0).then(|| Occupied { index, generation, namespace: self.id(index) })
            })
            .collect()
    }

    fn id(&self, index: usize) -> String {
        let len = usize::try_from(self.slot_word(index, 1).load(Ordering::Acquire)).unwrap_or(0).min(MAX_ID);
        let words: Vec<u8> =
            (0..MAX_ID / 8).flat_map(|w| self.slot_word(index, 2 + w).load(Ordering::Acquire).to_le_bytes()).collect();
        String::from_utf8_lossy(&words[..len]).into_owned()
    }

    /// Takes free slot `index` for `namespace` under `generation` (non-zero):
    /// counters zeroed first and the generation written last, so a slot read
    /// after a crash is either free or whole.
    pub fn assign(&self, index: usize, generation: u64, namespace: &str) {
        debug_assert!(generation != 0 && namespace.len() <= MAX_ID);
        for c in 0..COUNTERS {
            self.counter(index, c).store(0, Ordering::Release);
        }
        let mut bytes = [0u8; MAX_ID];
        bytes[..namespace.len()].copy_from_slice(namespace.as_bytes());
        for (w, chunk) in bytes.chunks_exact(8).enumerate() {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            self.slot_word(index, 2 + w).store(word, Ordering::Release);
        }
        self.slot_word(index, 1).store(namespace.len() as u64, Ordering::Release);
        self.slot_word(index, 0).store(generation, Ordering::Release);
    }

    /// Frees slot `index`: the generation goes first, so a half-freed slot
    /// reads as free (its counters are zeroed again when it is next taken).
    pub fn free(&self, index: usize) {
        self.slot_word(index, 0).store(0, Ordering::Release);
        for c in 0..COUNTERS {
            self.counter(index, c).store(0, Ordering::Release);
        }
    }

    /// Starts writing the dirty pages to disk (the power-cut bound).
    pub fn flush_async(&self) -> io::Result<()> {
        self.map.flush_async()
    }

    /// Writes the dirty pages to disk and waits.
    pub fn flush(&self) -> io::Result<()> {
        self.map.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_slots_are_in_the_file() {
        let dir = crate::meter::tests::temp_dir("counters");
        {
            let counters = Counters::open(&dir, 4).unwrap();
            assert_eq!(counters.capacity(), 4);
            assert!(counters.occupied().is_empty());
            counters.assign(2, 77, "0193c5e0-aaaa-7000-8000-000000000001");
            counters.counter(2, 3).fetch_add(1234, Ordering::Relaxed);
            // Dropped without any flush, as a killed process would leave it.
        }
        let counters = Counters::open(&dir, 8).unwrap();
        assert_eq!(counters.capacity(), 8, "the file grows");
        assert_eq!(
            counters.occupied(),
            vec![Occupied { index: 2, generation: 77, namespace: "0193c5e0-aaaa-7000-8000-000000000001".into() }]
        );
        assert_eq!(counters.read(2)[3], 1234);
        counters.free(2);
        assert!(counters.occupied().is_empty());
        counters.assign(2, 78, "other");
        assert_eq!(counters.read(2), [0; COUNTERS], "a new owner starts at zero");
    }

    #[test]
    fn a_foreign_file_is_refused() {
        let dir = crate::meter::tests::temp_dir("foreign");
        std::fs::write(dir.join("counters"), vec![1u8; 4096]).unwrap();
        assert!(Counters::open(&dir, 1).is_err());
    }
}
