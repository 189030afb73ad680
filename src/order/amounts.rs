//! Klarna's arithmetic: line totals, line tax and order totals. The
//! builders fill in what it implies; the validation checks it. Everything
//! runs in `i128`, so no input can overflow.

use super::OrderLine;
use super::limits;
use crate::enums::OrderLineType;

/// `quantity × unit_price − total_discount_amount`, saturated to `i64`.
pub(super) fn line_total(quantity: i64, unit_price: i64, discount: i64) -> i64 {
    saturate(line_total_wide(quantity, unit_price, discount))
}

/// `quantity × unit_price − total_discount_amount`, exactly.
pub(super) fn line_total_wide(quantity: i64, unit_price: i64, discount: i64) -> i128 {
    i128::from(quantity) * i128::from(unit_price) - i128::from(discount)
}

/// The tax included in `total_amount` at `tax_rate` basis points: computed on
/// the absolute value, rounded half away from zero, then given the sign of
/// the amount. A rate outside 0..=10000 yields 0 (and is reported elsewhere).
pub(super) fn line_tax(total_amount: i64, tax_rate: i64) -> i64 {
    if !(0..=limits::MAX_TAX_RATE).contains(&tax_rate) {
        return 0;
    }
    // The same integers in i64 where they cannot overflow (every amount
    // the API allows): 2 × 2^40 × 10000 < 2^63.
    const FAST: i64 = 1 << 40;
    if (-FAST..=FAST).contains(&total_amount) {
        let amount = total_amount.abs();
        let denominator = 10_000 + tax_rate;
        let tax = (2 * amount * tax_rate + denominator) / (2 * denominator);
        return if total_amount < 0 { -tax } else { tax };
    }
    let amount = i128::from(total_amount).abs();
    let rate = i128::from(tax_rate);
    let denominator = 10_000 + rate;
    // round(amount * rate / denominator), half away from zero.
    let tax = (2 * amount * rate + denominator) / (2 * denominator);
    saturate(if total_amount < 0 { -tax } else { tax })
}

/// Whether `tax` is within ±1 of `total_amount × tax_rate / (10000 +
/// tax_rate)`, in integers.
pub(super) fn line_tax_within_one(tax: i64, total_amount: i64, tax_rate: i64) -> bool {
    let rate = i128::from(tax_rate);
    let denominator = 10_000 + rate;
    (i128::from(tax) * denominator - i128::from(total_amount) * rate).abs() <= denominator
}

fn saturate(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// Σ `total_amount` of the lines, exactly.
pub(super) fn sum_total_amounts_wide(lines: &[OrderLine]) -> i128 {
    lines.iter().map(|l| i128::from(l.total_amount)).sum()
}

/// Σ `total_amount` of the lines, saturated.
pub(super) fn sum_total_amounts(lines: &[OrderLine]) -> i64 {
    saturate(sum_total_amounts_wide(lines))
}

pub(super) fn is_sales_tax(line: &OrderLine) -> bool {
    matches!(line.line_type, Some(OrderLineType::SalesTax))
}

/// Whether the order is taxed US style: it has a `sales_tax` line (Klarna's
/// US sales-tax model: the tax is a line of its own). Otherwise it is taxed
/// EU style, each line carrying its own tax.
pub(super) fn us_style(lines: &[OrderLine]) -> bool {
    lines.iter().any(is_sales_tax)
}

/// The `order_tax_amount` the lines imply: in US style (a `sales_tax` line)
/// Σ `total_amount` of the `sales_tax` lines, otherwise Σ `total_tax_amount`.
pub(super) fn expected_order_tax(lines: &[OrderLine]) -> i64 {
    saturate(expected_order_tax_wide(lines))
}

/// [`expected_order_tax`], exactly.
pub(super) fn expected_order_tax_wide(lines: &[OrderLine]) -> i128 {
    if us_style(lines) {
        lines
            .iter()
            .filter(|l| is_sales_tax(l))
            .map(|l| i128::from(l.total_amount))
            .sum()
    } else {
        lines
            .iter()
            .map(|l| i128::from(l.total_tax_amount.unwrap_or(0)))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_rounds_half_away_from_zero() {
        // 2500 at 19 %: 399.16 -> 399.
        assert_eq!(line_tax(2500, 1900), 399);
        assert_eq!(line_tax(-2500, 1900), -399);
        // 105 at 5 %: 5.0 exactly.
        assert_eq!(line_tax(105, 500), 5);
        // 21 at 10 %: 1.909 -> 2; 11 at 10 %: exactly 1.0.
        assert_eq!(line_tax(21, 1000), 2);
        assert_eq!(line_tax(11, 1000), 1);
        // Half: 10000 at 10000 bp (100 %) is 5000 exactly; 3 at 10000 is 1.5 -> 2.
        assert_eq!(line_tax(3, 10_000), 2);
        assert_eq!(line_tax(-3, 10_000), -2);
        assert_eq!(line_tax(i64::MAX, 10_000), i64::MAX / 2 + 1);
        assert_eq!(line_tax(i64::MIN, 10_000), i64::MIN / 2);
        assert_eq!(line_tax(100, -5), 0);
        // Both sides of the i64 fast path agree with the wide arithmetic.
        for amount in [(1 << 40) - 1, 1 << 40, (1 << 40) + 1, -(1 << 40) - 1] {
            let wide = (2 * i128::from(amount).abs() * 1900 + 11_900) / 23_800;
            let wide = if amount < 0 { -wide } else { wide };
            assert_eq!(i128::from(line_tax(amount, 1900)), wide, "{amount}");
        }
    }

    #[test]
    fn totals_saturate() {
        assert_eq!(line_total(i64::MAX, i64::MAX, 0), i64::MAX);
        assert_eq!(line_total(i64::MAX, i64::MIN, i64::MAX), i64::MIN);
        assert_eq!(line_total(3, 100, 50), 250);
    }

    #[test]
    fn tax_tolerance_is_one_minor_unit() {
        // 2500 at 19 %: 399.16, so 399 and 400 pass, 398 and 401 do not.
        assert!(line_tax_within_one(399, 2500, 1900));
        assert!(line_tax_within_one(400, 2500, 1900));
        assert!(!line_tax_within_one(401, 2500, 1900));
        assert!(!line_tax_within_one(398, 2500, 1900));
    }
}
