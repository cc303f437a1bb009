//! A reader for the one pickle shape LiveCodeBench ships: a pickled `str`, nothing else.
//!
//! LiveCodeBench's `private_test_cases` are `base64(zlib(pickle.dumps(json_text)))`. Unpickling
//! untrusted bytes runs arbitrary code (`GLOBAL` + `REDUCE`), so this reader never unpickles: it
//! walks the opcodes, accepts only those that frame, push or memoise a string, and requires the
//! stack to hold exactly one `str` at `STOP`. Any other opcode is an error naming it and its offset.

/// Why a pickle is not a single pickled string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleError {
    /// An opcode this reader does not accept (anything but string, framing and memo opcodes).
    #[error("pickle opcode 0x{opcode:02x} at byte {offset} is not accepted (only a single pickled str is)")]
    Opcode {
        /// The opcode byte.
        opcode: u8,
        /// Its offset in the pickle.
        offset: usize,
    },
    /// The pickle ends inside an opcode or before `STOP`.
    #[error("pickle truncated at byte {0}")]
    Truncated(usize),
    /// A string's bytes are not UTF-8.
    #[error("pickled string at byte {0} is not UTF-8")]
    Utf8(usize),
    /// `STOP` found a stack that is not exactly one string.
    #[error("pickle holds {0} values; exactly one str is accepted")]
    Count(usize),
    /// Bytes follow `STOP`.
    #[error("{0} bytes follow the pickle's STOP opcode")]
    Trailing(usize),
}

const PROTO: u8 = 0x80;
const FRAME: u8 = 0x95;
const SHORT_BINUNICODE: u8 = 0x8c;
const BINUNICODE: u8 = b'X';
const BINUNICODE8: u8 = 0x8d;
const MEMOIZE: u8 = 0x94;
const BINPUT: u8 = b'q';
const LONG_BINPUT: u8 = b'r';
const STOP: u8 = b'.';

/// The one `str` in `data`, a pickle of protocol 2 to 5 (what `pickle.dumps(str)` writes).
pub fn read_pickled_str(data: &[u8]) -> Result<String, PickleError> {
    let mut at = 0usize;
    let mut stack: Vec<String> = Vec::new();
    let take = |at: &mut usize, n: usize| -> Result<&[u8], PickleError> {
        let end = at.checked_add(n).filter(|&e| e <= data.len()).ok_or(PickleError::Truncated(*at))?;
        let bytes = &data[*at..end];
        *at = end;
        Ok(bytes)
    };
    let le = |bytes: &[u8]| bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | b as u64);
    loop {
        let offset = at;
        let opcode = *take(&mut at, 1)?.first().ok_or(PickleError::Truncated(offset))?;
        let len = match opcode {
            PROTO => {
                take(&mut at, 1)?;
                continue;
            }
            FRAME => {
                take(&mut at, 8)?;
                continue;
            }
            MEMOIZE => continue,
            BINPUT => {
                take(&mut at, 1)?;
                continue;
            }
            LONG_BINPUT => {
                take(&mut at, 4)?;
                continue;
            }
            STOP => {
                if stack.len() != 1 {
                    return Err(PickleError::Count(stack.len()));
                }
                if at != data.len() {
                    return Err(PickleError::Trailing(data.len() - at));
                }
                return Ok(stack.pop().unwrap_or_default());
            }
            SHORT_BINUNICODE => le(take(&mut at, 1)?),
            BINUNICODE => le(take(&mut at, 4)?),
            BINUNICODE8 => le(take(&mut at, 8)?),
            _ => return Err(PickleError::Opcode { opcode, offset }),
        };
        let len = usize::try_from(len).map_err(|_| PickleError::Truncated(at))?;
        let start = at;
        let bytes = take(&mut at, len)?;
        stack.push(String::from_utf8(bytes.to_vec()).map_err(|_| PickleError::Utf8(start))?);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_2_to_5_of_a_str() {
        // python3 -c 'import pickle; print(pickle.dumps("héllo", protocol=P))' for P = 4, 3, 2.
        let p4 = b"\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00\x8c\x06h\xc3\xa9llo\x94.";
        assert_eq!(read_pickled_str(p4).unwrap(), "héllo");
        let p3 = b"\x80\x03X\x06\x00\x00\x00h\xc3\xa9lloq\x00.";
        assert_eq!(read_pickled_str(p3).unwrap(), "héllo");
        let p8 = b"\x80\x05\x8d\x02\x00\x00\x00\x00\x00\x00\x00ab\x94.";
        assert_eq!(read_pickled_str(p8).unwrap(), "ab");
    }

    #[test]
    fn anything_but_one_str_is_refused() {
        // pickle.dumps(os.system) style: GLOBAL 'posix system' + REDUCE.
        let global = b"\x80\x04\x95\x14\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94.";
        assert_eq!(read_pickled_str(global), Err(PickleError::Opcode { opcode: 0x93, offset: 28 }));
        let two = b"\x80\x04\x8c\x01a\x8c\x01b.";
        assert_eq!(read_pickled_str(two), Err(PickleError::Count(2)));
        assert_eq!(read_pickled_str(b"\x80\x04."), Err(PickleError::Count(0)));
        assert_eq!(read_pickled_str(b"\x80\x04\x8c\x05ab"), Err(PickleError::Truncated(4)));
        assert_eq!(read_pickled_str(b"\x80\x04\x8c\x01a.x"), Err(PickleError::Trailing(1)));
        assert_eq!(read_pickled_str(b"\x80\x04\x8c\x01\xff."), Err(PickleError::Utf8(4)));
        // A length past the end, even one that overflows usize arithmetic, is a truncation.
        assert!(matches!(read_pickled_str(b"\x8d\xff\xff\xff\xff\xff\xff\xff\xff"), Err(PickleError::Truncated(_))));
    }
}
