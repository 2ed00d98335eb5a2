//! Kubernetes' quantity library: `quantity("500Mi")` and its methods, with quantities
//! held exactly as `mantissa × 10^exponent` (binary suffixes multiplied in).

use std::cmp::Ordering;

use super::eval::Fail;
use super::value::Value;

#[derive(Clone, Debug)]
pub struct Quantity {
    /// As written (or computed), for messages and `string()`.
    pub text: String,
    mantissa: i128,
    exponent: i32,
}

/// Digits beyond this are refused: the mantissa stays exact in an i128.
const MAX_DIGITS: usize = 30;

impl Quantity {
    /// Parses a quantity as `resource.ParseQuantity` does: an optionally signed decimal
    /// number and a suffix (`Ki`…`Ei`, `n u m k M G T P E`, or `e`/`E` and an exponent).
    pub fn parse(text: &str) -> Result<Quantity, String> {
        let invalid = || {
            format!(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {text:?}"
            )
        };
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(invalid());
        }
        let digits = format!("{whole}{fraction}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > MAX_DIGITS {
            return Err(format!(
                "quantity {text:?} has more digits than kcc keeps exactly"
            ));
        }
        let mut mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| invalid())?
        };
        let mut exponent = -(fraction.len() as i32);
        match suffix {
            "" => {}
            "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
                let power = 1 + ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
                    .iter()
                    .position(|s| *s == suffix)
                    .expect("listed");
                mantissa = mantissa
                    .checked_mul(1i128 << (10 * power))
                    .ok_or_else(|| format!("quantity {text:?} is too large"))?;
            }
            "n" => exponent -= 9,
            "u" => exponent -= 6,
            "m" => exponent -= 3,
            "k" => exponent += 3,
            "M" => exponent += 6,
            "G" => exponent += 9,
            "T" => exponent += 12,
            "P" => exponent += 15,
            "E" => exponent += 18,
            s if s.starts_with(['e', 'E']) => {
                let e: i32 = s[1..].parse().map_err(|_| invalid())?;
                if e.abs() > 1000 {
                    return Err(format!("quantity {text:?} is out of range"));
                }
                exponent += e;
            }
            _ => return Err(invalid()),
        }
        if negative {
            mantissa = -mantissa;
        }
        Ok(Quantity {
            text: text.to_string(),
            mantissa,
            exponent,
        })
    }

    fn computed(mantissa: i128, exponent: i32) -> Quantity {
        let text = format!("{mantissa}e{exponent}");
        Quantity {
            text,
            mantissa,
            exponent,
        }
    }

    pub fn sign(&self) -> i64 {
        self.mantissa.signum() as i64
    }

    /// The value as an exact integer, if it is one that fits in an i64.
    fn as_i64(&self) -> Option<i64> {
        let mut m = self.mantissa;
        if self.exponent >= 0 {
            for _ in 0..self.exponent {
                m = m.checked_mul(10)?;
            }
        } else {
            for _ in 0..-self.exponent {
                if m % 10 != 0 {
                    return None;
                }
                m /= 10;
            }
        }
        i64::try_from(m).ok()
    }

    fn as_f64(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.exponent)
    }

    /// Both at the smaller exponent; `None` when a mantissa would overflow.
    fn aligned(&self, other: &Quantity) -> Option<(i128, i128, i32)> {
        let e = self.exponent.min(other.exponent);
        let scale = |q: &Quantity| -> Option<i128> {
            let mut m = q.mantissa;
            for _ in 0..(q.exponent - e) {
                m = m.checked_mul(10)?;
            }
            Some(m)
        };
        Some((scale(self)?, scale(other)?, e))
    }

    pub fn cmp(&self, other: &Quantity) -> Ordering {
        match self.aligned(other) {
            Some((a, b, _)) => a.cmp(&b),
            // One side is far larger in magnitude than the other can be.
            None => self
                .as_f64()
                .partial_cmp(&other.as_f64())
                .unwrap_or(Ordering::Equal),
        }
    }

    fn add(&self, other: &Quantity, negate: bool) -> Result<Quantity, String> {
        let (a, b, e) = self
            .aligned(other)
            .ok_or_else(|| "quantity arithmetic out of range".to_string())?;
        let b = if negate { -b } else { b };
        a.checked_add(b)
            .map(|m| Quantity::computed(m, e))
            .ok_or_else(|| "quantity arithmetic out of range".to_string())
    }
}

/// A quantity's methods. `Err(None)`: no overload.
pub(super) fn method<'a>(
    name: &str,
    q: &Quantity,
    arg: Option<&Value<'a>>,
) -> Result<Value<'a>, Option<Fail>> {
    let other = || -> Result<Quantity, Option<Fail>> {
        match arg {
            Some(Value::Quantity(o)) => Ok((**o).clone()),
            Some(Value::Int(i)) => Ok(Quantity::computed(*i as i128, 0)),
            _ => Err(None),
        }
    };
    let fail = |m: String| Some(Fail::new(m));
    Ok(match name {
        "sign" => Value::Int(q.sign()),
        "isInteger" => Value::Bool(q.as_i64().is_some()),
        "asInteger" => Value::Int(q.as_i64().ok_or_else(|| {
            fail(format!(
                "cannot convert value to integer: {} is not an integer or is out of range",
                q.text
            ))
        })?),
        "asApproximateFloat" => Value::Double(q.as_f64()),
        "add" => Value::Quantity(std::rc::Rc::new(q.add(&other()?, false).map_err(fail)?)),
        "sub" => Value::Quantity(std::rc::Rc::new(q.add(&other()?, true).map_err(fail)?)),
        "isGreaterThan" => Value::Bool(q.cmp(&other()?) == Ordering::Greater),
        "isLessThan" => Value::Bool(q.cmp(&other()?) == Ordering::Less),
        "compareTo" => Value::Int(match q.cmp(&other()?) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        }),
        _ => return Err(None),
    })
}
