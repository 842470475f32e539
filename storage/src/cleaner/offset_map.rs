//! `OffsetMap`: key -> last offset, the dedupe map of one cleaner thread (Kafka's
//! `SkimpyOffsetMap`). Keys are not stored, only a 128-bit hash of them, so memory is bounded by
//! `log.cleaner.dedupe.buffer.size / log.cleaner.threads` whatever the key sizes: 24 bytes per
//! slot (16 hash + 8 offset), open addressing with linear probing. A hash collision could only
//! make the cleaner keep too little for one of two colliding keys; with 128 bits that has
//! probability ~n²/2¹²⁹ per cleaning.

use std::hash::{DefaultHasher, Hasher};

/// Bytes one slot takes (16-byte hash + 8-byte offset), as Kafka's MD5-based map.
pub const BYTES_PER_ENTRY: usize = 24;

/// A bounded map from key hash to the last offset seen for that key.
pub struct OffsetMap {
    /// `[hash_hi, hash_lo, offset + 1]`; `offset + 1 == 0` marks an empty slot.
    slots: Vec<[u64; 3]>,
    /// Slots filled since the last clear while they are few (`None` once more than 1/16 of the
    /// slots): clearing then zeroes only those, so a big, mostly idle map stays mostly
    /// untouched (never-written pages of the zeroed allocation are not resident).
    touched: Option<Vec<usize>>,
    entries: usize,
    latest_offset: i64,
    lookups: u64,
    probes: u64,
}

/// The 128-bit hash of a key (two independently seeded SipHash-1-3 passes).
fn hash_key(key: &[u8]) -> (u64, u64) {
    let mut a = DefaultHasher::new();
    a.write(key);
    let mut b = DefaultHasher::new();
    b.write_u64(0x9e37_79b9_7f4a_7c15);
    b.write(key);
    (a.finish(), b.finish())
}

impl OffsetMap {
    /// A map using at most `memory` bytes (at least one slot). Pages are only touched when used.
    pub fn new(memory: usize) -> OffsetMap {
        let n = (memory / BYTES_PER_ENTRY).max(1);
        OffsetMap { slots: vec![[0u64; 3]; n], touched: Some(Vec::new()), entries: 0, latest_offset: -1, lookups: 0, probes: 0 }
    }

    /// Number of slots (capacity before the load factor).
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Number of distinct keys stored.
    pub fn size(&self) -> usize {
        self.entries
    }

    /// Fraction of the slots in use.
    pub fn utilization(&self) -> f64 {
        self.entries as f64 / self.slots.len() as f64
    }

    /// Average number of probes per lookup so far (1.0 = no collisions).
    pub fn collision_rate(&self) -> f64 {
        if self.lookups == 0 {
            return 0.0;
        }
        self.probes as f64 / self.lookups as f64
    }

    /// The largest offset recorded with [`OffsetMap::update_latest_offset`] (-1 if none).
    pub fn latest_offset(&self) -> i64 {
        self.latest_offset
    }

    /// Notes that every offset up to `offset` has been scanned into the map.
    pub fn update_latest_offset(&mut self, offset: i64) {
        self.latest_offset = self.latest_offset.max(offset);
    }

    fn find(&mut self, h: (u64, u64)) -> usize {
        let n = self.slots.len();
        let mut i = (h.0 % n as u64) as usize;
        self.lookups += 1;
        loop {
            self.probes += 1;
            let s = &self.slots[i];
            if s[2] == 0 || (s[0] == h.0 && s[1] == h.1) {
                return i;
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    /// Records `offset` as the latest offset of `key` (offsets only grow while scanning, so the
    /// last put wins). Returns false when the map is full and the key is new.
    pub fn put(&mut self, key: &[u8], offset: i64) -> bool {
        let h = hash_key(key);
        let i = self.find(h);
        if self.slots[i][2] == 0 {
            if self.entries + 1 >= self.slots.len() {
                return false;
            }
            self.entries += 1;
            let limit = self.slots.len() / 16;
            match &mut self.touched {
                Some(t) if t.len() < limit => t.push(i),
                _ => self.touched = None,
            }
        }
        self.slots[i] = [h.0, h.1, (offset + 1) as u64];
        self.latest_offset = self.latest_offset.max(offset);
        true
    }

    /// The latest offset of `key`, if it was put.
    pub fn get(&mut self, key: &[u8]) -> Option<i64> {
        let i = self.find(hash_key(key));
        let v = self.slots[i][2];
        (v != 0).then(|| v as i64 - 1)
    }

    /// Empties the map for the next cleaning (zeroes every slot that may be in use).
    pub fn clear(&mut self) {
        match self.touched.take() {
            Some(mut t) => {
                for &i in &t {
                    self.slots[i] = [0u64; 3];
                }
                t.clear();
                self.touched = Some(t);
            }
            None => {
                self.slots.fill([0u64; 3]);
                self.touched = Some(Vec::new());
            }
        }
        self.entries = 0;
        self.latest_offset = -1;
        self.lookups = 0;
        self.probes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_put_wins_and_memory_bounds_slots() {
        let mut m = OffsetMap::new(24 * 100);
        assert_eq!(m.slots(), 100);
        assert!(m.put(b"a", 1));
        assert!(m.put(b"b", 2));
        assert!(m.put(b"a", 7));
        assert_eq!(m.get(b"a"), Some(7));
        assert_eq!(m.get(b"b"), Some(2));
        assert_eq!(m.get(b"c"), None);
        assert_eq!(m.size(), 2);
        assert_eq!(m.latest_offset(), 7);
        m.clear();
        assert_eq!((m.size(), m.get(b"a"), m.latest_offset()), (0, None, -1));
    }

    #[test]
    fn full_map_refuses_new_keys_but_updates_old_ones() {
        let mut m = OffsetMap::new(24 * 10);
        let mut stored = 0;
        for i in 0..20 {
            if m.put(format!("k{i}").as_bytes(), i) {
                stored += 1;
            }
        }
        assert_eq!(stored, 9, "one slot always stays free so probing terminates");
        assert!(m.put(b"k0", 100));
        assert_eq!(m.get(b"k0"), Some(100));
        for i in 1..9 {
            assert_eq!(m.get(format!("k{i}").as_bytes()), Some(i));
        }
    }

    #[test]
    fn many_keys_round_trip() {
        let mut m = OffsetMap::new(24 * 200_000);
        for i in 0..100_000i64 {
            assert!(m.put(&i.to_be_bytes(), i * 3));
        }
        for i in 0..100_000i64 {
            assert_eq!(m.get(&i.to_be_bytes()), Some(i * 3));
        }
        assert!(m.utilization() > 0.49 && m.utilization() < 0.51);
        // Past 1/16 of the slots the whole map is zeroed; below, only the touched slots.
        m.clear();
        assert!((0..100_000i64).all(|i| m.get(&i.to_be_bytes()).is_none()));
        for i in 0..100i64 {
            assert!(m.put(&i.to_be_bytes(), i));
        }
        m.clear();
        assert!((0..100i64).all(|i| m.get(&i.to_be_bytes()).is_none()));
        assert!(m.put(b"again", 5));
        assert_eq!((m.get(b"again"), m.size()), (Some(5), 1));
    }
}
