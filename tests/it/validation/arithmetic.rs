//! Klarna's arithmetic: line totals, line tax, order totals, the tax styles.

use serde_json::{Value, json};

use crate::support::validation::*;

// ---------------------------------------------------------------------------
// 3. Arithmetic
// ---------------------------------------------------------------------------

#[test]
pub(crate) fn line_total_is_quantity_times_unit_price_minus_discount() {
    let mut v = order(vec![line("x", 2, 2500, 4500)], 4500, 0);
    set(&mut v, "/order_lines/0/total_discount_amount", json!(500));
    assert_valid(&v, "2 × 2500 − 500 = 4500");
    for wrong in [4499, 4501, 5000, 0] {
        set(&mut v, "/order_lines/0/total_amount", json!(wrong));
        set(&mut v, "/order_amount", json!(wrong.max(1)));
        let expected: &[&str] = if wrong == 0 {
            // order_amount 1 ≠ Σ 0 as well.
            &["order_lines[0].total_amount", "order_amount"]
        } else {
            &["order_lines[0].total_amount"]
        };
        assert_violations(&v, expected, &format!("total {wrong}"));
    }
    // Without a discount.
    assert_violations(
        &order(vec![line("x", 3, 100, 299)], 299, 0),
        &["order_lines[0].total_amount"],
        "3 × 100 ≠ 299",
    );
}

pub(crate) fn one_eu_line(total: i64, rate: i64, tax: i64) -> Value {
    let kind = if total < 0 { "discount" } else { "physical" };
    let mut l = typed_line(kind, 1, total, total);
    set(&mut l, "/tax_rate", json!(rate));
    set(&mut l, "/total_tax_amount", json!(tax));
    if total < 0 {
        // Keep the order's amount and tax positive with a taxed line before it.
        order(
            vec![eu_line(1, 119_000, 1900, 19_000), l],
            119_000 + total,
            19_000 + tax,
        )
    } else {
        order(vec![l], total, tax)
    }
}

#[test]
pub(crate) fn line_tax_tolerates_exactly_one_minor_unit() {
    // 11900 at 19 % carries exactly 1900.
    for tax in [1899, 1900, 1901] {
        assert_valid(&one_eu_line(11_900, 1900, tax), &format!("tax {tax}"));
    }
    for tax in [1898, 1902, 0, 2500] {
        assert_violations(
            &one_eu_line(11_900, 1900, tax),
            &["order_lines[0].total_tax_amount"],
            &format!("tax {tax}"),
        );
    }
    // 2500 at 19 % carries 399.16: 398.16 ..= 400.16 passes.
    for tax in [399, 400] {
        assert_valid(&one_eu_line(2500, 1900, tax), &format!("tax {tax} of 2500"));
    }
    for tax in [398, 401, 475] {
        assert_violations(
            &one_eu_line(2500, 1900, tax),
            &["order_lines[0].total_tax_amount"],
            &format!("tax {tax} of 2500"),
        );
    }
    // Discount lines carry negative tax, with the same tolerance.
    for tax in [-1899, -1900, -1901] {
        assert_valid(&one_eu_line(-11_900, 1900, tax), &format!("tax {tax}"));
    }
    for tax in [-1898, -1902, 1900] {
        assert_violations(
            &one_eu_line(-11_900, 1900, tax),
            &["order_lines[1].total_tax_amount"],
            &format!("tax {tax}"),
        );
    }
}

#[test]
pub(crate) fn line_tax_missing_counts_as_zero() {
    let mut v = one_eu_line(11_900, 1900, 1900);
    remove(&mut v, "/order_lines/0/total_tax_amount");
    set(&mut v, "/order_tax_amount", json!(0));
    assert_violations(&v, &["order_lines[0].total_tax_amount"], "no tax at 19 %");
    // At 0 % no tax is needed.
    let mut v = one_eu_line(11_900, 0, 0);
    remove(&mut v, "/order_lines/0/total_tax_amount");
    assert_valid(&v, "no tax at 0 %");
}

#[test]
pub(crate) fn order_amount_is_exactly_the_sum_of_line_totals() {
    let lines = vec![line("a", 1, 100, 100), line("b", 2, 250, 500)];
    assert_valid(&order(lines.clone(), 600, 0), "600");
    for wrong in [599, 601, 1, 1_000_000] {
        assert_violations(
            &order(lines.clone(), wrong, 0),
            &["order_amount"],
            &format!("order_amount {wrong}"),
        );
    }
}

#[test]
pub(crate) fn eu_order_tax_tolerates_the_number_of_lines() {
    // Three lines of 11900 at 19 %: exactly 1900 each, 5700 in all.
    let lines = vec![
        eu_line(1, 11_900, 1900, 1900),
        eu_line(1, 11_900, 1900, 1900),
        eu_line(1, 11_900, 1900, 1900),
    ];
    for tax in 5697..=5703 {
        assert_valid(
            &order(lines.clone(), 35_700, tax),
            &format!("order tax {tax}"),
        );
    }
    for tax in [5696, 5704, 0, 6000] {
        assert_violations(
            &order(lines.clone(), 35_700, tax),
            &["order_tax_amount"],
            &format!("order tax {tax}"),
        );
    }
    // One line: ± 1.
    let one = vec![eu_line(1, 11_900, 1900, 1900)];
    assert_valid(&order(one.clone(), 11_900, 1901), "1901");
    assert_violations(&order(one, 11_900, 1902), &["order_tax_amount"], "1902");
}

#[test]
pub(crate) fn eu_order_tax_sums_each_lines_own_tax() {
    // Each line's tax is 1 over, which each line tolerates; the order sum is
    // taken over the lines' stated taxes, not the exact ones.
    let lines = vec![
        eu_line(1, 11_900, 1900, 1901),
        eu_line(1, 11_900, 1900, 1901),
    ];
    assert_valid(&order(lines.clone(), 23_800, 3802), "Σ stated");
    assert_valid(&order(lines.clone(), 23_800, 3800), "Σ stated − 2");
    assert_violations(&order(lines, 23_800, 3799), &["order_tax_amount"], "Σ − 3");
}

pub(crate) fn us_order(sales_tax: &[i64], order_tax: i64) -> Value {
    let mut lines = vec![line("Widget", 2, 5000, 10_000)];
    for &t in sales_tax {
        let mut l = typed_line("sales_tax", 1, t, t);
        set(&mut l, "/name", json!("Tax"));
        lines.push(l);
    }
    let amount = 10_000 + sales_tax.iter().sum::<i64>();
    order(lines, amount, order_tax)
}

#[test]
pub(crate) fn us_order_tax_is_the_sales_tax_lines_total() {
    assert_valid(&us_order(&[825], 825), "one sales_tax line");
    for wrong in [824, 826, 0] {
        assert_violations(
            &us_order(&[825], wrong),
            &["order_tax_amount"],
            &format!("order tax {wrong}"),
        );
    }
    assert_valid(&us_order(&[500, 325], 825), "two sales_tax lines");
    assert_violations(
        &us_order(&[500, 325], 500),
        &["order_tax_amount"],
        "one of two",
    );
    // No sales_tax line: EU style, within ± the number of lines of Σ
    // total_tax_amount (here 0). This replaces the earlier rule that asked
    // for 0 exactly.
    assert_valid(&us_order(&[], 0), "untaxed");
    assert_valid(&us_order(&[], 1), "untaxed, tax 1 (within the tolerance)");
    assert_violations(&us_order(&[], 2), &["order_tax_amount"], "untaxed, tax 2");
}

/// The tax style is decided by the sales_tax line, not by the presence of a
/// tax_rate (this replaces the earlier rule, under which any tax_rate, even
/// 0, made the order EU style).
#[test]
pub(crate) fn us_lines_carry_no_tax_of_their_own() {
    // tax_rate 0 and total_tax_amount 0 on every other line, as shops send.
    let mut v = us_order(&[825], 825);
    set(&mut v, "/order_lines/0/tax_rate", json!(0));
    set(&mut v, "/order_lines/0/total_tax_amount", json!(0));
    assert_valid(&v, "tax_rate 0 on a US line");
    // Such an order with order_tax_amount 0 ignores the sales tax line.
    set(&mut v, "/order_tax_amount", json!(0));
    assert_violations(
        &v,
        &["order_tax_amount"],
        "order tax 0 beside a sales_tax line",
    );

    for tax in [1, -1, 825] {
        let mut v = us_order(&[825], 825);
        set(&mut v, "/order_lines/0/total_tax_amount", json!(tax));
        assert_violations(
            &v,
            &["order_lines[0].total_tax_amount"],
            &format!("US line tax {tax}"),
        );
    }
    // A line taxed at a rate beside a sales_tax line: both paths are named.
    let mut v = us_order(&[825], 825);
    set(&mut v, "/order_lines/0/tax_rate", json!(825));
    set(&mut v, "/order_lines/0/total_tax_amount", json!(762));
    let errors = check(&v).expect_err("both styles at once");
    for path in ["order_lines[0].tax_rate", "order_lines[1].type"] {
        assert!(errors.at(path).is_some(), "{path}: {errors}");
    }
    let message = errors.at("order_lines[1].type").expect("type").message();
    assert!(message.contains("order_lines[0].tax_rate"), "{message}");
    let message = errors
        .at("order_lines[0].tax_rate")
        .expect("rate")
        .message();
    assert!(message.contains("order_lines[1]"), "{message}");
}
