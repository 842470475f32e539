//! A small builder of valid v2 record batches. It exists for tests (this crate's and the
//! broker's) and for internal appends that need a batch without a client; it never compresses
//! (the "compressed" flag only sets the codec bits, producing a batch whose records are opaque).

use crate::record_batch::{update_crc, write_varint, write_varlong, CONTROL_FLAG_MASK, HEADER_SIZE, LOG_OVERHEAD};

/// Builds one RecordBatch v2 with `n` records `key-i`/`value`, timestamps `base_timestamp + i`.
#[derive(Clone, Debug)]
pub struct BatchBuilder {
    base_offset: i64,
    base_timestamp: i64,
    timestamps: Option<Vec<i64>>,
    records: usize,
    value_size: usize,
    null_keys: bool,
    codec: i16,
    control: bool,
    leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
}

impl BatchBuilder {
    /// A builder for a batch of one record with the given first timestamp.
    pub fn new(base_timestamp: i64) -> BatchBuilder {
        BatchBuilder {
            base_offset: 0,
            base_timestamp,
            timestamps: None,
            records: 1,
            value_size: 10,
            null_keys: false,
            codec: 0,
            control: false,
            leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
        }
    }
    /// Number of records.
    pub fn records(mut self, n: usize) -> Self {
        self.records = n;
        self
    }
    /// Explicit per-record timestamps (sets the record count too).
    pub fn timestamps(mut self, ts: Vec<i64>) -> Self {
        self.records = ts.len();
        self.timestamps = Some(ts);
        self
    }
    /// Base offset written into the header (followers receive batches with offsets).
    pub fn base_offset(mut self, o: i64) -> Self {
        self.base_offset = o;
        self
    }
    /// Size of each record value.
    pub fn value_size(mut self, n: usize) -> Self {
        self.value_size = n;
        self
    }
    /// Records get null keys.
    pub fn null_keys(mut self) -> Self {
        self.null_keys = true;
        self
    }
    /// Sets the codec bits (no real compression happens).
    pub fn compressed(mut self, codec: i16) -> Self {
        self.codec = codec;
        self
    }
    /// Marks the batch as a control batch.
    pub fn control(mut self) -> Self {
        self.control = true;
        self
    }
    /// Partition leader epoch written into the header.
    pub fn leader_epoch(mut self, e: i32) -> Self {
        self.leader_epoch = e;
        self
    }
    /// Idempotent producer fields.
    pub fn producer(mut self, id: i64, epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = id;
        self.producer_epoch = epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Produces the batch bytes with a correct CRC.
    pub fn build(&self) -> Vec<u8> {
        let ts: Vec<i64> = match &self.timestamps {
            Some(t) => t.clone(),
            None => (0..self.records as i64).map(|i| self.base_timestamp + i).collect(),
        };
        let first_ts = ts.first().copied().unwrap_or(-1);
        let max_ts = ts.iter().copied().max().unwrap_or(-1);
        let mut out = vec![0u8; HEADER_SIZE];
        let mut rec = Vec::new();
        for (i, t) in ts.iter().enumerate() {
            rec.clear();
            rec.push(0u8);
            write_varlong(&mut rec, t - first_ts);
            write_varint(&mut rec, i as i32);
            if self.null_keys {
                write_varint(&mut rec, -1);
            } else {
                let key = format!("key-{i}");
                write_varint(&mut rec, key.len() as i32);
                rec.extend_from_slice(key.as_bytes());
            }
            write_varint(&mut rec, self.value_size as i32);
            rec.extend((0..self.value_size).map(|j| b'a' + (j % 26) as u8));
            write_varint(&mut rec, 0);
            write_varint(&mut out, rec.len() as i32);
            out.extend_from_slice(&rec);
        }
        let len = (out.len() - LOG_OVERHEAD) as i32;
        let attrs = self.codec | if self.control { CONTROL_FLAG_MASK } else { 0 };
        out[0..8].copy_from_slice(&self.base_offset.to_be_bytes());
        out[8..12].copy_from_slice(&len.to_be_bytes());
        out[12..16].copy_from_slice(&self.leader_epoch.to_be_bytes());
        out[16] = 2;
        out[21..23].copy_from_slice(&attrs.to_be_bytes());
        out[23..27].copy_from_slice(&((self.records as i32) - 1).max(0).to_be_bytes());
        out[27..35].copy_from_slice(&first_ts.to_be_bytes());
        out[35..43].copy_from_slice(&max_ts.to_be_bytes());
        out[43..51].copy_from_slice(&self.producer_id.to_be_bytes());
        out[51..53].copy_from_slice(&self.producer_epoch.to_be_bytes());
        out[53..57].copy_from_slice(&self.base_sequence.to_be_bytes());
        out[57..61].copy_from_slice(&(self.records as i32).to_be_bytes());
        update_crc(&mut out);
        out
    }
}
