//! The order-level arithmetic: the order total and the two tax styles.

use super::super::OrderRequest;
use super::super::amounts::{self, is_sales_tax, us_style};
use super::LineAmounts;
use crate::violation::ValidationErrors;

/// The order-level arithmetic, over lines whose own checks are in
/// `checked` (empty when every line was checked by the builder).
pub(super) fn check_order_totals(
    errors: &mut ValidationErrors,
    order: &OrderRequest,
    checked: &[LineAmounts],
    amount_ok: bool,
    tax_ok: bool,
) {
    let lines = &order.order_lines;
    let all_totals_ok = checked.iter().all(|a| a.total_ok);
    let all_taxes_ok = checked.iter().all(|a| a.tax_ok);
    // The tax style depends on the line types: unknown while one is broken.
    let style_known = checked.iter().all(|a| a.type_ok);

    // Source: Klarna's arithmetic: order_amount = Σ total_amount, exactly.
    if amount_ok && all_totals_ok {
        let sum = amounts::sum_total_amounts_wide(lines);
        if sum != i128::from(order.order_amount) {
            errors.push(
                "order_amount",
                format!(
                    "must equal the sum of the lines' total_amount = {sum}, got {}",
                    order.order_amount
                ),
            );
        }
    }
    if !style_known {
        return;
    }
    if us_style(lines) {
        check_us_tax(errors, order, checked, tax_ok && all_totals_ok);
    } else if tax_ok && all_taxes_ok {
        // Source: Klarna's arithmetic (EU style): order_tax_amount =
        // Σ total_tax_amount, within ± the number of lines.
        let sum = amounts::expected_order_tax_wide(lines);
        let tolerance = lines.len() as i128;
        if (i128::from(order.order_tax_amount) - sum).abs() > tolerance {
            errors.push(
                "order_tax_amount",
                format!(
                    "must be within {tolerance} of the sum of the lines' total_tax_amount = {sum}, got {}",
                    order.order_tax_amount
                ),
            );
        }
    }
}

/// Source: Klarna's US sales-tax model. The tax is a `sales_tax` line, so
/// the other lines carry no tax of their own (`tax_rate` and
/// `total_tax_amount` absent or 0), and `order_tax_amount` is the
/// `sales_tax` lines' `total_amount`.
fn check_us_tax(
    errors: &mut ValidationErrors,
    order: &OrderRequest,
    checked: &[LineAmounts],
    sums_ok: bool,
) {
    let lines = &order.order_lines;
    let Some(first_sales_tax) = lines.iter().position(is_sales_tax) else {
        return;
    };
    let mut first_rated = None;
    for (i, line) in lines.iter().enumerate() {
        let amounts = checked.get(i).unwrap_or(&LineAmounts::CHECKED);
        if is_sales_tax(line) {
            continue;
        }
        if let Some(rate) = line.tax_rate
            && rate != 0
            && amounts.rate_ok
        {
            first_rated.get_or_insert(i);
            errors.push(
                &format!("order_lines[{i}].tax_rate"),
                format!(
                    "must be absent or 0 beside a sales_tax line (order_lines[{first_sales_tax}]): in US style the tax is on the sales_tax line, got {rate}"
                ),
            );
        }
        if let Some(tax) = line.total_tax_amount
            && tax != 0
            && amounts.tax_ok
        {
            errors.push(
                &format!("order_lines[{i}].total_tax_amount"),
                format!(
                    "must be absent or 0 beside a sales_tax line (order_lines[{first_sales_tax}]): in US style the tax is on the sales_tax line, got {tax}"
                ),
            );
        }
    }
    if let Some(rated) = first_rated {
        for (i, _) in lines.iter().enumerate().filter(|(_, l)| is_sales_tax(l)) {
            errors.push(
                &format!("order_lines[{i}].type"),
                format!(
                    "a sales_tax line cannot stand beside a line taxed at a rate (order_lines[{rated}].tax_rate): tax the order either US style or EU style"
                ),
            );
        }
    }
    if sums_ok {
        let sum = amounts::expected_order_tax_wide(lines);
        if sum != i128::from(order.order_tax_amount) {
            errors.push(
                "order_tax_amount",
                format!(
                    "must equal the sum of the sales_tax lines' total_amount = {sum} (US style), got {}",
                    order.order_tax_amount
                ),
            );
        }
    }
}
