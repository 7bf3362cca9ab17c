//! Sprig's float arithmetic (`addf`, `subf`, `mulf`, `divf`, `add1f`), which goes
//! through shopspring/decimal: each float becomes the shortest decimal that reads back
//! as it, the operation is exact (division: to 16 decimal places, halves away from
//! zero), and the result is read back as the nearest float. So `addf 0.1 0.2` is
//! `0.3`, where float64 addition gives `0.30000000000000004`.

use num_bigint::BigInt;

/// `mantissa × 10^exp`.
#[derive(Clone, Debug)]
pub(crate) struct Decimal {
    mantissa: BigInt,
    exp: i64,
}

/// shopspring's `DivisionPrecision`.
const DIVISION_PRECISION: i64 = 16;

/// Why an operation panics in shopspring/decimal (the message it panics with).
pub(crate) type DecimalError = String;

fn pow10(n: u64) -> BigInt {
    BigInt::from(10u8).pow(u32::try_from(n).unwrap_or(u32::MAX))
}

impl Decimal {
    /// `decimal.NewFromFloat`.
    pub(crate) fn from_f64(f: f64) -> Result<Self, DecimalError> {
        if !f.is_finite() {
            return Err(format!(
                "Cannot create a Decimal from {}",
                super::fmt::format_float(f, 'g', None)
            ));
        }
        if f == 0.0 {
            return Ok(Self {
                mantissa: BigInt::from(0),
                exp: 0,
            });
        }
        // Rust's `{:e}` is the shortest form that reads back as `f`, as Go's is.
        let text = format!("{f:e}");
        let (digits, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let exp: i64 = exp.parse().unwrap_or(0);
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let mantissa: BigInt = format!("{int}{frac}").parse().unwrap_or_default();
        Ok(Self {
            mantissa,
            exp: exp - frac.len() as i64,
        })
    }

    /// The nearest float (`Decimal.Float64`).
    pub(crate) fn to_f64(&self) -> f64 {
        format!("{}e{}", self.mantissa, self.exp)
            .parse()
            .unwrap_or(f64::NAN)
    }

    fn aligned(a: &Self, b: &Self) -> (BigInt, BigInt, i64) {
        let exp = a.exp.min(b.exp);
        let scale = |d: &Self| &d.mantissa * pow10((d.exp - exp) as u64);
        (scale(a), scale(b), exp)
    }

    pub(crate) fn add(&self, other: &Self) -> Self {
        let (a, b, exp) = Self::aligned(self, other);
        Self {
            mantissa: a + b,
            exp,
        }
    }

    pub(crate) fn sub(&self, other: &Self) -> Self {
        let (a, b, exp) = Self::aligned(self, other);
        Self {
            mantissa: a - b,
            exp,
        }
    }

    pub(crate) fn mul(&self, other: &Self) -> Self {
        Self {
            mantissa: &self.mantissa * &other.mantissa,
            exp: self.exp + other.exp,
        }
    }

    /// `Decimal.Div`: `DivRound(d2, 16)`.
    pub(crate) fn div(&self, other: &Self) -> Result<Self, DecimalError> {
        if other.mantissa == BigInt::from(0) {
            return Err("decimal division by 0".into());
        }
        let k = self.exp - other.exp + DIVISION_PRECISION;
        let (num, den) = if k >= 0 {
            (&self.mantissa * pow10(k as u64), other.mantissa.clone())
        } else {
            (
                self.mantissa.clone(),
                &other.mantissa * pow10(k.unsigned_abs()),
            )
        };
        let mut q = &num / &den;
        let r = &num - &q * &den;
        let twice: BigInt = r.magnitude().clone().into();
        let twice = twice * 2;
        let den_abs: BigInt = den.magnitude().clone().into();
        if twice >= den_abs {
            let negative =
                (num.sign() == num_bigint::Sign::Minus) != (den.sign() == num_bigint::Sign::Minus);
            if negative {
                q -= 1;
            } else {
                q += 1;
            }
        }
        Ok(Self {
            mantissa: q,
            exp: -DIVISION_PRECISION,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(f: f64) -> Decimal {
        Decimal::from_f64(f).unwrap()
    }

    #[test]
    fn adds_as_decimals_do() {
        assert_eq!(d(0.1).add(&d(0.2)).to_f64(), 0.3);
        assert_eq!(d(1.5).mul(&d(3.0)).to_f64(), 4.5);
        assert_eq!(d(10.0).div(&d(3.0)).unwrap().to_f64(), 3.3333333333333335);
        assert_eq!(d(2.0).div(&d(3.0)).unwrap().to_f64(), 0.6666666666666667);
        assert_eq!(d(1.0).div(&d(0.0)).unwrap_err(), "decimal division by 0");
        assert!(Decimal::from_f64(f64::INFINITY).is_err());
    }
}
