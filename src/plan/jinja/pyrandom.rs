//! The `random` and `shuffle` filters, with Python's `random.Random` so
//! that a `seed=` gives the same answer as in Ansible (a common idiom:
//! `60 | random(seed=inventory_hostname)` spreads cron minutes over hosts
//! and must not change between runs or between tools).
//!
//! Source: CPython `Modules/_randommodule.c` (MT19937, `init_by_array`,
//! seeding from an int's 32-bit words) and `Lib/random.py` (a str seed is
//! `int.from_bytes(s + sha512(s))`; `_randbelow`, `choice`, `shuffle`,
//! `randrange`); ansible-core `plugins/filter/core.py` (`rand`,
//! `randomize_list`). Without a seed the numbers come from the OS
//! (Python's `SystemRandom`).

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, ErrorKind};
use sha2::Digest;

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// A source of 32-bit words: Python's Mersenne Twister, or the OS.
pub trait Words {
    fn next_u32(&mut self) -> Result<u32, Error>;

    /// Python's `getrandbits(k)` (k <= 128), words filled low first.
    fn bits(&mut self, mut k: u32) -> Result<u128, Error> {
        let mut out = 0u128;
        let mut shift = 0;
        while k > 0 {
            let mut w = self.next_u32()?;
            if k < 32 {
                w >>= 32 - k;
            }
            out |= u128::from(w) << shift;
            shift += 32;
            k = k.saturating_sub(32);
        }
        Ok(out)
    }

    /// Python's `_randbelow_with_getrandbits(n)`: uniform in `0..n`.
    fn below(&mut self, n: u128) -> Result<u128, Error> {
        if n == 0 {
            return Ok(0);
        }
        let k = 128 - n.leading_zeros();
        loop {
            let r = self.bits(k)?;
            if r < n {
                return Ok(r);
            }
        }
    }
}

/// MT19937 as CPython seeds and runs it.
pub struct Mt {
    state: [u32; 624],
    index: usize,
}

impl Mt {
    fn init_genrand(s: u32) -> Mt {
        let mut state = [0u32; 624];
        state[0] = s;
        for i in 1..624 {
            state[i] = 1_812_433_253u32
                .wrapping_mul(state[i - 1] ^ (state[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Mt { state, index: 624 }
    }

    fn init_by_array(key: &[u32]) -> Mt {
        let mut mt = Mt::init_genrand(19_650_218);
        let s = &mut mt.state;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..624.max(key.len()) {
            s[i] = (s[i] ^ (s[i - 1] ^ (s[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= 624 {
                s[0] = s[623];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..623 {
            s[i] = (s[i] ^ (s[i - 1] ^ (s[i - 1] >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= 624 {
                s[0] = s[623];
                i = 1;
            }
        }
        s[0] = 0x8000_0000;
        mt
    }

    /// `random.Random(seed)`: an int seeds with its absolute value's 32-bit
    /// words; a string with `int.from_bytes(s + sha512(s), 'big')`.
    pub fn from_seed(seed: &Value) -> Result<Mt, Error> {
        let be_bytes: Vec<u8> = match seed.kind() {
            ValueKind::Number if seed.is_integer() => {
                let n = i128::try_from(seed.clone()).unwrap_or(0).unsigned_abs();
                n.to_be_bytes().to_vec()
            }
            ValueKind::Bool => vec![u8::from(seed.is_true())],
            _ => {
                let s = super::python_repr::py_str(seed)?;
                let mut b = s.as_bytes().to_vec();
                b.extend_from_slice(&sha2::Sha512::digest(s.as_bytes()));
                b
            }
        };
        // the int's little-endian 32-bit words, without high zero words
        let le: Vec<u8> = be_bytes.iter().rev().copied().collect();
        let mut key: Vec<u32> = le
            .chunks(4)
            .map(|c| {
                let mut w = [0u8; 4];
                w[..c.len()].copy_from_slice(c);
                u32::from_le_bytes(w)
            })
            .collect();
        while key.len() > 1 && key.last() == Some(&0) {
            key.pop();
        }
        if key.is_empty() {
            key.push(0);
        }
        Ok(Mt::init_by_array(&key))
    }

    fn genrand(&mut self) -> u32 {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        if self.index >= 624 {
            let s = &mut self.state;
            for k in 0..624 {
                let y = (s[k] & UPPER) | (s[(k + 1) % 624] & LOWER);
                let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
                s[k] = s[(k + 397) % 624] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }
}

impl Words for Mt {
    fn next_u32(&mut self) -> Result<u32, Error> {
        Ok(self.genrand())
    }
}

/// The OS's random numbers (Python's `SystemRandom`).
pub struct Os;

impl Words for Os {
    fn next_u32(&mut self) -> Result<u32, Error> {
        getrandom::u32().map_err(|e| err(format!("random: the OS has no random numbers: {e}")))
    }
}

fn source(seed: Option<Value>) -> Result<Box<dyn Words>, Error> {
    Ok(match seed {
        Some(s) if !s.is_none() => Box::new(Mt::from_seed(&s)?),
        _ => Box::new(Os),
    })
}

/// `random(end, start=None, step=None, seed=None)`: an item of a list, or
/// a number from `range(start, end, step)`.
pub fn random(
    end: Value,
    start: Option<Value>,
    step: Option<Value>,
    kw: Kwargs,
) -> Result<Value, Error> {
    let start = match start {
        Some(s) => Some(s),
        None => kw.get::<Option<Value>>("start")?,
    };
    let step = match step {
        Some(s) => Some(s),
        None => kw.get::<Option<Value>>("step")?,
    };
    let seed = kw.get::<Option<Value>>("seed")?;
    kw.assert_all_used()?;
    let mut r = source(seed)?;
    let given = |v: &Option<Value>| v.as_ref().is_some_and(|v| v.is_true());
    match end.kind() {
        ValueKind::Number if end.is_integer() => {
            let int = |v: Option<Value>, dflt: i128| -> Result<i128, Error> {
                match v.filter(|v| v.is_true()) {
                    None => Ok(dflt),
                    Some(v) => i128::try_from(v)
                        .map_err(|_| err("random: start and step must be integers")),
                }
            };
            let start = int(start, 0)?;
            let step = int(step, 1)?;
            let stop = i128::try_from(end).unwrap_or(0);
            let width = stop - start;
            let n = if step == 1 {
                width
            } else if step > 0 {
                (width + step - 1).div_euclid(step)
            } else if step < 0 {
                (width + step + 1).div_euclid(step)
            } else {
                return Err(err("zero step for randrange()"));
            };
            if n <= 0 {
                return Err(err(format!(
                    "empty range for randrange() ({start}, {stop}, {step})"
                )));
            }
            let k = r.below(n as u128)? as i128;
            Ok(Value::from(
                i64::try_from(start + step * k).unwrap_or(i64::MAX),
            ))
        }
        ValueKind::Seq | ValueKind::Iterable | ValueKind::String | ValueKind::Map => {
            if given(&start) || given(&step) {
                return Err(err("start and step can only be used with integer values"));
            }
            let items: Vec<Value> = end.try_iter()?.collect();
            if items.is_empty() {
                return Err(err("Cannot choose from an empty sequence"));
            }
            let i = r.below(items.len() as u128)? as usize;
            Ok(items[i].clone())
        }
        _ => Err(err("random can only be used on sequences and integers")),
    }
}

/// `shuffle(seed=None)`: a shuffled copy of the list.
pub fn shuffle(list: Value, seed: Option<Value>, kw: Kwargs) -> Result<Value, Error> {
    let seed = match seed {
        Some(s) => Some(s),
        None => kw.get::<Option<Value>>("seed")?,
    };
    kw.assert_all_used()?;
    let mut items: Vec<Value> = list.try_iter()?.collect();
    // Ansible seeds only with a true seed (`if seed:`)
    let mut r = source(seed.filter(|s| s.is_true()))?;
    for i in (1..items.len()).rev() {
        let j = r.below(i as u128 + 1)? as usize;
        items.swap(i, j);
    }
    Ok(Value::from(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(expr: &str) -> String {
        let env = super::super::env::environment();
        env.compile_expression(expr)
            .unwrap()
            .eval(())
            .map(|v| v.to_string())
            .unwrap_or_else(|e| format!("ERROR {}", e.detail().unwrap_or_default()))
    }

    /// Expected values: what ansible-core 2.19 (CPython 3.11) returned.
    #[test]
    fn seeded_results_match_python() {
        assert_eq!(eval("[1,2,3,4,5] | random(seed='x')"), "3");
        assert_eq!(eval("[1,2,3,4,5] | shuffle(seed='x')"), "[5, 2, 1, 4, 3]");
        assert_eq!(eval("100 | random(seed='x')"), "80");
        assert_eq!(eval("100 | random(start=10, step=5, seed='x')"), "60");
    }

    #[test]
    fn python_mt19937_reference_words() {
        // CPython: random.Random(42).getrandbits(32) three times
        let mut mt = Mt::from_seed(&Value::from(42)).unwrap();
        let words: Vec<u32> = (0..3).map(|_| mt.genrand()).collect();
        assert_eq!(words, vec![2_746_317_213, 478_163_327, 107_420_369]);
    }

    #[test]
    fn unseeded_stays_in_range_and_errors_are_python_s() {
        for _ in 0..50 {
            let v: i64 = eval("10 | random(start=5)").parse().unwrap();
            assert!((5..10).contains(&v));
        }
        assert_eq!(
            eval("[] | random"),
            "ERROR Cannot choose from an empty sequence"
        );
        assert_eq!(
            eval("[1] | random(start=1)"),
            "ERROR start and step can only be used with integer values"
        );
        assert_eq!(eval("[1, 2, 3] | shuffle | sort"), "[1, 2, 3]");
    }
}
