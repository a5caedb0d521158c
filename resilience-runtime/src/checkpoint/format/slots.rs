//! Format version 4: a checkpoint file of two slots, written in place.
//!
//! [`DirectoryStore`](super::super::DirectoryStore) writes each save into
//! the older of two slots and flushes it with one `fdatasync` (or one
//! `syncfs` for a batch of saves); a crash during the write tears at most
//! that slot, and the other still holds the previous checkpoint. The
//! reader takes the whole slot with the higher sequence number.
//!
//! ```text
//! file   = slot 0 | slot 1                  each slot: S bytes, S a multiple of 4096
//! slot   = sector 0 | sector 1 | ..         512 bytes each; only the first k are in use
//! sector = data (500 bytes) | seq (u64 LE) | crc32 (u32 LE) of data, seq and the sector's index in its slot
//! data of sectors 0..k, joined = "resilience-checkpoint 4 seq=<n> len=<bytes>\n" + the checkpoint
//!                                (as `encode` writes it: version 1 to 3 with its own checksum)
//! ```
//!
//! Slots never share a 4096-byte block, so writing one never rewrites the
//! other's bytes. Every sector carries the sequence number of the write it
//! belongs to and its own checksum. That tells a torn write from damage:
//! a write cut short by a crash leaves whole sectors, some of the new write
//! and some older (disks write a 512-byte sector whole or not at all), each
//! with a valid checksum but with different sequence numbers; damage
//! (a flipped bit) makes a sector fail its checksum. A torn slot is
//! skipped, since it never held an acknowledged save; a damaged one that
//! could be the newer is an error, never silently replaced by the older
//! checkpoint. A sector of zeros was never written (the file is created
//! with zeros) and counts as torn.
//!
//! Sequence numbers only grow: a write takes one above every sequence
//! number found in any sector of the file, so the sectors of two writes
//! into the same slot can never pass for one.

use super::super::CheckpointError;

/// The bytes of one sector.
pub(crate) const SECTOR: usize = 512;
/// The checkpoint bytes a sector carries.
const DATA: usize = SECTOR - 12;
/// Slots are multiples of this, so that they never share a block.
pub(crate) const ALIGN: usize = 4096;
/// How every slot, and so every version 4 file, starts.
pub(crate) const MAGIC: &[u8] = b"resilience-checkpoint 4 ";

/// The sectors of a slot holding `payload` (a checkpoint as `encode`
/// writes it) under sequence number `seq`.
pub(crate) fn slot_bytes(seq: u64, payload: &[u8]) -> Vec<u8> {
    let header = format!("resilience-checkpoint 4 seq={seq} len={}\n", payload.len());
    let mut data = Vec::with_capacity(header.len() + payload.len());
    data.extend_from_slice(header.as_bytes());
    data.extend_from_slice(payload);
    let sectors = data.len().div_ceil(DATA);
    let mut out = vec![0; sectors * SECTOR];
    for (index, (chunk, sector)) in data.chunks(DATA).zip(out.chunks_mut(SECTOR)).enumerate() {
        sector[..chunk.len()].copy_from_slice(chunk);
        sector[DATA..DATA + 8].copy_from_slice(&seq.to_le_bytes());
        let crc = sector_crc(&sector[..DATA + 8], index);
        sector[DATA + 8..].copy_from_slice(&crc.to_le_bytes());
    }
    out
}

/// The slot size for a payload of `len` bytes: room for it twice over, so
/// that it can grow before the file must be rewritten.
pub(crate) fn slot_size_for(len: usize) -> usize {
    let used = slot_bytes_len(len);
    (2 * used).max(ALIGN).next_multiple_of(ALIGN)
}

/// Whether a payload of `len` bytes fits a slot of `slot_size` bytes.
pub(crate) fn fits(slot_size: usize, len: usize) -> bool {
    slot_bytes_len(len) <= slot_size
}

/// The length of [`slot_bytes`] for a payload of `len` bytes (the header
/// line counted at its longest).
fn slot_bytes_len(len: usize) -> usize {
    const LONGEST_HEADER: usize = "resilience-checkpoint 4 seq= len=\n".len() + 20 + 20;
    (LONGEST_HEADER + len).div_ceil(DATA) * SECTOR
}

/// A new file: `payload` in slot 0 under `seq`, slot 1 zeros.
pub(crate) fn new_file(seq: u64, payload: &[u8], slot_size: usize) -> Vec<u8> {
    let slot = slot_bytes(seq, payload);
    debug_assert!(slot.len() <= slot_size);
    let mut file = vec![0; 2 * slot_size];
    file[..slot.len()].copy_from_slice(&slot);
    file
}

fn sector_crc(bytes: &[u8], index: usize) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(bytes);
    hasher.update(&u32::try_from(index).unwrap_or(u32::MAX).to_le_bytes());
    hasher.finalize()
}

/// What one sector holds.
enum Sector {
    /// Never written.
    Zero,
    /// Whole, of the write with this sequence number.
    Whole(u64),
    /// Fails its checksum: damaged.
    Bad { stored: u32, computed: u32 },
}

fn sector(bytes: &[u8], index: usize) -> Sector {
    if bytes.iter().all(|&b| b == 0) {
        return Sector::Zero;
    }
    let stored = u32::from_le_bytes(bytes[DATA + 8..SECTOR].try_into().unwrap_or_default());
    let computed = sector_crc(&bytes[..DATA + 8], index);
    if stored == computed {
        Sector::Whole(u64::from_le_bytes(
            bytes[DATA..DATA + 8].try_into().unwrap_or_default(),
        ))
    } else {
        Sector::Bad { stored, computed }
    }
}

/// What one slot holds.
pub(crate) enum Slot {
    /// Never written.
    Empty,
    /// A whole write: its sequence number and checkpoint bytes.
    Whole { seq: u64, payload: Vec<u8> },
    /// A write cut short: some sectors of it, some older or never written.
    Torn,
    /// A sector fails its checksum, or checksummed bytes make no sense.
    /// `seq`: the write it belongs to, if sector 0 says so.
    Damaged {
        seq: Option<u64>,
        error: CheckpointError,
    },
}

/// A version 4 file, read.
pub(crate) struct Scan {
    /// The size of each slot.
    pub(crate) slot_size: usize,
    /// Slot 0 and slot 1.
    pub(crate) slots: [Slot; 2],
    /// The highest sequence number of any whole sector of the file: the
    /// next write takes a higher one.
    pub(crate) max_seq: u64,
}

/// Reads a version 4 file (it starts with [`MAGIC`]).
///
/// # Errors
///
/// [`CheckpointError::Corrupt`] if the file is not two slots of a multiple
/// of 4096 bytes (a version 4 file is only ever created whole, by a rename).
pub(crate) fn scan(bytes: &[u8], location: &str) -> Result<Scan, CheckpointError> {
    let len = bytes.len();
    if len == 0 || !len.is_multiple_of(2 * ALIGN) {
        return Err(CheckpointError::Corrupt {
            location: location.to_owned(),
            reason: format!(
                "a version 4 checkpoint file is two slots of a multiple of {ALIGN} bytes; \
                 this one is {len} bytes long"
            ),
        });
    }
    let slot_size = len / 2;
    let max_seq = bytes
        .chunks(slot_size)
        .flat_map(|slot| slot.chunks(SECTOR).enumerate())
        .filter_map(|(index, bytes)| match sector(bytes, index) {
            Sector::Whole(seq) => Some(seq),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let slot = |k: usize| read_slot(&bytes[k * slot_size..(k + 1) * slot_size], k, location);
    Ok(Scan {
        slot_size,
        slots: [slot(0), slot(1)],
        max_seq,
    })
}

fn read_slot(slot: &[u8], k: usize, location: &str) -> Slot {
    let damaged = |seq, reason: String| Slot::Damaged {
        seq,
        error: CheckpointError::Corrupt {
            location: location.to_owned(),
            reason: format!("slot {k}: {reason}"),
        },
    };
    let bad = |seq, stored, computed| Slot::Damaged {
        seq,
        error: CheckpointError::Checksum {
            location: location.to_owned(),
            expected: stored,
            found: computed,
        },
    };
    let seq = match sector(&slot[..SECTOR], 0) {
        Sector::Zero => return Slot::Empty,
        Sector::Bad { stored, computed } => return bad(None, stored, computed),
        Sector::Whole(seq) => seq,
    };
    let Some((header_len, len)) = parse_header(&slot[..DATA], seq) else {
        let end = slot[..DATA]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(80)
            .min(80);
        return damaged(
            Some(seq),
            format!(
                "its header line {:?} is not `resilience-checkpoint 4 seq={seq} len=<bytes>`",
                String::from_utf8_lossy(&slot[..end])
            ),
        );
    };
    let data_len = header_len + len;
    let sectors = data_len.div_ceil(DATA);
    if sectors * SECTOR > slot.len() {
        return damaged(
            Some(seq),
            format!(
                "its header announces {len} bytes, more than a slot of {} bytes holds",
                slot.len()
            ),
        );
    }
    let mut torn = false;
    for index in 1..sectors {
        match sector(&slot[index * SECTOR..(index + 1) * SECTOR], index) {
            Sector::Whole(s) if s == seq => {}
            Sector::Whole(_) | Sector::Zero => torn = true,
            Sector::Bad { stored, computed } => return bad(Some(seq), stored, computed),
        }
    }
    if torn {
        return Slot::Torn;
    }
    let mut data = Vec::with_capacity(sectors * DATA);
    for index in 0..sectors {
        data.extend_from_slice(&slot[index * SECTOR..index * SECTOR + DATA]);
    }
    Slot::Whole {
        seq,
        payload: data[header_len..data_len].to_vec(),
    }
}

/// `resilience-checkpoint 4 seq=<seq> len=<len>\n` at the start of `data`:
/// the line's length and `len`.
fn parse_header(data: &[u8], seq: u64) -> Option<(usize, usize)> {
    let end = data.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&data[..end]).ok()?;
    let rest = line.strip_prefix("resilience-checkpoint 4 seq=")?;
    let (found, len) = rest.split_once(" len=")?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(found) || !digits(len) || found.parse::<u64>().ok()? != seq {
        return None;
    }
    Some((end + 1, len.parse().ok()?))
}

/// The newest whole checkpoint of a version 4 file.
pub(crate) struct Newest {
    /// Its slot, 0 or 1.
    pub(crate) slot: usize,
    /// Its checkpoint bytes, as `encode` wrote them.
    pub(crate) payload: Vec<u8>,
}

/// The newest whole checkpoint of a version 4 file.
///
/// # Errors
///
/// The error of a damaged slot that may be the newer one (its sequence
/// number is unknown or above the whole slot's); [`CheckpointError::Corrupt`]
/// if neither slot is whole.
pub(crate) fn newest(scan: Scan, location: &str) -> Result<Newest, CheckpointError> {
    let newest_seq = scan
        .slots
        .iter()
        .filter_map(|slot| match slot {
            Slot::Whole { seq, .. } => Some(*seq),
            _ => None,
        })
        .max();
    let mut found = None;
    for (k, slot) in scan.slots.into_iter().enumerate() {
        match slot {
            Slot::Damaged { seq, error } => {
                let older = matches!((seq, newest_seq), (Some(seq), Some(newest)) if seq < newest);
                if !older {
                    return Err(error);
                }
            }
            Slot::Whole { seq, payload } if Some(seq) == newest_seq => {
                found = Some(Newest { slot: k, payload });
            }
            _ => {}
        }
    }
    found.ok_or_else(|| CheckpointError::Corrupt {
        location: location.to_owned(),
        reason: "neither of its two slots holds a whole checkpoint".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{decode, encode};
    use super::*;
    use crate::checkpoint::{Checkpoint, Phase};

    /// A checkpoint of about 1.5 KB: its slot spans four sectors.
    fn checkpoint(position: u32) -> Checkpoint {
        let state = format!(
            "{{\"After\":{{\"n\":{position},\"pad\":\"{}\"}}}}",
            "x".repeat(1400)
        );
        Checkpoint::new("W", 7, position, Phase::Running, state.into_bytes())
    }

    fn payload(position: u32) -> Vec<u8> {
        encode("id", &checkpoint(position), "t").unwrap()
    }

    /// A file whose slot 0 holds write 1 (position 1) and slot 1 write 2
    /// (position 2); and the file before write 2.
    fn two_writes() -> (Vec<u8>, Vec<u8>) {
        let p1 = payload(1);
        let slot_size = slot_size_for(p1.len());
        let before = new_file(1, &p1, slot_size);
        let mut after = before.clone();
        let slot = slot_bytes(2, &payload(2));
        after[slot_size..slot_size + slot.len()].copy_from_slice(&slot);
        (before, after)
    }

    fn position(bytes: &[u8]) -> u32 {
        decode(bytes, "t").unwrap().1.position
    }

    #[test]
    fn the_newer_whole_slot_is_read() {
        let (before, after) = two_writes();
        assert_eq!(before.len(), 2 * ALIGN);
        assert!(before.starts_with(b"resilience-checkpoint 4 seq=1 len="));
        assert_eq!(position(&before), 1);
        assert_eq!(position(&after), 2);
        assert_eq!(
            decode(&after, "t").unwrap(),
            ("id".to_owned(), checkpoint(2))
        );
        // Write 3 goes to slot 0 again.
        let mut third = after.clone();
        let slot = slot_bytes(3, &payload(3));
        third[..slot.len()].copy_from_slice(&slot);
        assert_eq!(position(&third), 3);
        let scan = scan(&third, "t").unwrap();
        assert_eq!((scan.slot_size, scan.max_seq), (ALIGN, 3));
    }

    /// Every mix of whole sectors of the new write and of what was there
    /// before: a crash tore the write. The old checkpoint, or the new one
    /// once every sector of it is there; never an error.
    #[test]
    fn every_torn_write_reads_the_old_or_the_new_checkpoint() {
        let (before, after) = two_writes();
        let changed: Vec<usize> = (0..before.len() / SECTOR)
            .filter(|&i| {
                before[i * SECTOR..(i + 1) * SECTOR] != after[i * SECTOR..(i + 1) * SECTOR]
            })
            .collect();
        assert_eq!(changed.len(), 4, "the slot spans four sectors");
        for mask in 0..1u32 << changed.len() {
            let mut torn = before.clone();
            for (bit, &i) in changed.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    torn[i * SECTOR..(i + 1) * SECTOR]
                        .copy_from_slice(&after[i * SECTOR..(i + 1) * SECTOR]);
                }
            }
            let want = if mask == (1 << changed.len()) - 1 {
                2
            } else {
                1
            };
            assert_eq!(position(&torn), want, "mask {mask:b}");
        }
    }

    /// A sector torn between two writes into the same slot (write 2, torn,
    /// then write 3 there, torn too): write 3's sequence number is above
    /// write 2's, so their sectors never pass for one write.
    #[test]
    fn two_torn_writes_into_one_slot_never_mix() {
        let (before, _) = two_writes();
        let slot_size = ALIGN;
        let w2 = slot_bytes(2, &payload(2));
        let w3 = slot_bytes(3, &payload(3));
        let sectors = w2.len() / SECTOR;
        for mask in 0..1u32 << sectors {
            let mut file = before.clone();
            for i in 0..sectors {
                let from = if mask & (1 << i) != 0 { &w3 } else { &w2 };
                let at = slot_size + i * SECTOR;
                file[at..at + SECTOR].copy_from_slice(&from[i * SECTOR..(i + 1) * SECTOR]);
            }
            let want = match mask {
                0 => 2,
                m if m == (1 << sectors) - 1 => 3,
                _ => 1,
            };
            assert_eq!(position(&file), want, "mask {mask:b}");
        }
    }

    /// A flipped bit is damage, not a torn write: in the newer slot it is an
    /// error, never a silent fall-back to the older checkpoint; in the
    /// older slot (past its first sector, which names its write) it does
    /// not matter.
    #[test]
    fn a_flipped_bit_in_the_newer_slot_is_an_error() {
        let (_, after) = two_writes();
        let used = slot_bytes(2, &payload(2)).len();
        for at in (ALIGN..ALIGN + used).step_by(37) {
            let mut damaged = after.clone();
            damaged[at] ^= 0x10;
            let err = decode(&damaged, "dir/W.id.checkpoint").unwrap_err();
            assert!(
                matches!(err, CheckpointError::Checksum { .. }),
                "byte {at}: {err:?}"
            );
            assert_eq!(err.location(), "dir/W.id.checkpoint");
        }
        let used_by_older = slot_bytes(1, &payload(1)).len();
        for at in (SECTOR..used_by_older).step_by(37) {
            let mut damaged = after.clone();
            damaged[at] ^= 0x10;
            assert_eq!(position(&damaged), 2, "byte {at}");
        }
        // In the older slot's first sector, the write it belongs to is
        // unknown: it could be the newer one, so it is an error.
        let mut damaged = after.clone();
        damaged[100] ^= 0x10;
        assert!(matches!(
            decode(&damaged, "t"),
            Err(CheckpointError::Checksum { .. })
        ));
    }

    #[test]
    fn a_file_of_the_wrong_size_or_without_a_whole_slot_is_corrupt() {
        let (_, after) = two_writes();
        for len in [
            after.len() - 1,
            after.len() - SECTOR,
            ALIGN,
            after.len() + 1,
        ] {
            let mut bytes = after.clone();
            bytes.resize(len, 0);
            let err = decode(&bytes, "t").unwrap_err();
            assert!(
                matches!(&err, CheckpointError::Corrupt { reason, .. } if reason.contains("two slots")),
                "{len}: {err:?}"
            );
        }
        // Slot 0 cut after its first sector, slot 1 never written: no whole
        // checkpoint (a crash cannot do this; a hand can).
        let mut bytes = after.clone();
        bytes[SECTOR..].fill(0);
        let err = decode(&bytes, "t").unwrap_err();
        assert!(
            matches!(&err, CheckpointError::Corrupt { reason, .. } if reason.contains("neither of its two slots")),
            "{err:?}"
        );
    }

    #[test]
    fn a_checksummed_header_that_lies_is_corrupt() {
        // Sector 0 with a valid checksum but a header that does not match
        // its sequence number, or announces more than the slot holds.
        for header in [
            "resilience-checkpoint 4 seq=9 len=10\n",
            "resilience-checkpoint 4 seq=1 len=999999\n",
            "resilience-checkpoint 4 seq=1 len=-1\n",
        ] {
            let mut sector = vec![0; SECTOR];
            sector[..header.len()].copy_from_slice(header.as_bytes());
            sector[DATA..DATA + 8].copy_from_slice(&1u64.to_le_bytes());
            let crc = sector_crc(&sector[..DATA + 8], 0);
            sector[DATA + 8..].copy_from_slice(&crc.to_le_bytes());
            let mut file = vec![0; 2 * ALIGN];
            file[..SECTOR].copy_from_slice(&sector);
            let err = decode(&file, "t").unwrap_err();
            assert!(
                matches!(err, CheckpointError::Corrupt { .. }),
                "{header:?}: {err:?}"
            );
        }
    }

    #[test]
    fn random_damage_is_an_error_or_a_whole_checkpoint_never_a_panic() {
        let (_, after) = two_writes();
        let mut rng = fastrand::Rng::with_seed(12);
        for _ in 0..2000 {
            let mut bytes = after.clone();
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(..bytes.len());
                bytes[at] = rng.u8(..);
            }
            if let Ok((id, checkpoint)) = decode(&bytes, "t") {
                assert_eq!(id, "id");
                assert!(checkpoint == self::checkpoint(2) || checkpoint == self::checkpoint(1));
            }
        }
    }

    #[test]
    fn slot_sizes_leave_room_to_grow() {
        assert_eq!(slot_size_for(100), ALIGN);
        assert!(fits(slot_size_for(3000), 5000));
        assert_eq!(slot_size_for(3000) % ALIGN, 0);
        assert!(!fits(ALIGN, 4000));
    }
}
