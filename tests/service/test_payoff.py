"""Payoff: what is still owed today, from a known figure, a loan's terms or a lease's. Tables, no database."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from service.payoff import (
    KnownPayoff,
    LeaseTerms,
    LoanTerms,
    PayoffBasis,
    add_months,
    monthly_payment_cents,
    payoff_of,
)

TODAY = date(2026, 3, 15)
# $25,000 at 4.9% for 60 months, first payment Sep 3, 2023: by Mar 15, 2026 payments 1..31 are due.
LOAN = LoanTerms(2_500_000, Decimal("4.9"), 60, date(2023, 9, 3))


def closed_form_balance(amount: float, apr: float, payment: float, made: int) -> float:
    """The textbook balance after `made` payments, to check the month-by-month schedule independently."""
    r = apr / 1200
    return amount * (1 + r) ** made - payment * ((1 + r) ** made - 1) / r


@pytest.mark.parametrize("amount, apr, term, payment", [
    (2_500_000, "4.9", 60, 47_064),  # what any loan calculator says for $25,000 / 4.9% / 60
    (3_000_000, "0", 60, 50_000),
    (1_000_000, "0", 36, 27_778),  # $277.777... rounds to the cent
    (4_000_000, "7.5", 72, 69_160),
])
def test_the_monthly_payment_is_the_level_annuity_payment(amount, apr, term, payment):
    assert monthly_payment_cents(amount_financed_cents=amount, apr=Decimal(apr), term_months=term) == payment


def test_an_amortized_loan_says_how_far_along_it_is_and_adds_interest_since_the_last_payment():
    result = payoff_of(today=TODAY, loan=LOAN)
    assert (result.basis, result.payments_made, result.payments_left) == (PayoffBasis.AMORTIZED, 31, 29)
    assert result.method == ("amortized: 31 of 60 payments of $470.64 at 4.9% APR made, plus 12 days' interest "
                             "(payment worked out from the loan terms)")
    balance = closed_form_balance(25_000, 4.9, 470.64, 31)
    per_diem = balance * 0.049 / 365
    # Within a dollar of the textbook figure: the schedule rounds interest to the cent each month.
    assert abs(result.payoff_cents / 100 - (balance + 12 * per_diem)) < 1


def test_a_given_payment_is_used_as_is_and_not_called_derived():
    result = payoff_of(today=date(2026, 3, 3), loan=LoanTerms(2_500_000, Decimal("4.9"), 60, date(2023, 9, 3), 47_064))
    assert result.method == "amortized: 31 of 60 payments of $470.64 at 4.9% APR made"
    assert abs(result.payoff_cents / 100 - closed_form_balance(25_000, 4.9, 470.64, 31)) < 1


@pytest.mark.parametrize("today, payoff, made, left, method", [
    # Zero APR: the balance falls by exactly one payment a month, no interest by the day.
    (date(2026, 3, 15), 3_000_000 - 31 * 50_000, 31, 29,
     "amortized: 31 of 60 payments of $500.00 at 0% APR made, plus 12 days' interest "
     "(payment worked out from the loan terms)"),
    (date(2026, 3, 3), 3_000_000 - 31 * 50_000, 31, 29,
     "amortized: 31 of 60 payments of $500.00 at 0% APR made (payment worked out from the loan terms)"),
    (date(2026, 3, 4), 3_000_000 - 31 * 50_000, 31, 29,
     "amortized: 31 of 60 payments of $500.00 at 0% APR made, plus 1 day's interest "
     "(payment worked out from the loan terms)"),
    (date(2026, 3, 2), 3_000_000 - 30 * 50_000, 30, 30,
     "amortized: 30 of 60 payments of $500.00 at 0% APR made, plus 27 days' interest "
     "(payment worked out from the loan terms)"),
    # The last payment, and long after it: nothing owed.
    (date(2028, 8, 3), 0, 60, 0, "paid off: all 60 payments of $500.00 at 0% APR made (payment worked out from "
                                 "the loan terms)"),
    (date(2031, 1, 1), 0, 60, 0, "paid off: all 60 payments of $500.00 at 0% APR made (payment worked out from "
                                 "the loan terms)"),
    # The day before the last payment: one left.
    (date(2028, 8, 2), 50_000, 59, 1, "amortized: 59 of 60 payments of $500.00 at 0% APR made, plus 30 days' "
                                      "interest (payment worked out from the loan terms)"),
    # Not started: the first payment is not due yet.
    (date(2023, 9, 2), 3_000_000, 0, 60, "not started: first of 60 payments of $500.00 at 0% APR due Sep 3, 2023; "
                                         "payoff is the amount financed (payment worked out from the loan terms)"),
    (date(2023, 9, 3), 3_000_000 - 50_000, 1, 59,
     "amortized: 1 of 60 payments of $500.00 at 0% APR made (payment worked out from the loan terms)"),
])
def test_a_zero_apr_loan_through_its_life(today, payoff, made, left, method):
    result = payoff_of(today=today, loan=LoanTerms(3_000_000, Decimal("0"), 60, date(2023, 9, 3)))
    assert (result.payoff_cents, result.payments_made, result.payments_left, result.method) == (
        payoff, made, left, method)


def test_a_payment_larger_than_the_schedule_needs_pays_the_loan_off_early():
    result = payoff_of(today=TODAY, loan=LoanTerms(1_000_000, Decimal("0"), 60, date(2024, 1, 3), 100_000))
    assert (result.payoff_cents, result.payments_made, result.payments_left) == (0, 10, 0)
    assert result.method.startswith("paid off early: 10 of 60 payments of $1,000.00")


def test_payments_due_on_the_31st_fall_on_the_last_day_of_shorter_months():
    loan = LoanTerms(1_200_000, Decimal("0"), 12, date(2026, 1, 31))
    assert payoff_of(today=date(2026, 2, 27), loan=loan).payments_made == 1
    assert payoff_of(today=date(2026, 2, 28), loan=loan).payments_made == 2
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


@pytest.mark.parametrize("loan, reason", [
    (LoanTerms(2_500_000, None, 60, date(2023, 9, 3)), "unknown: no APR on file"),
    (LoanTerms(2_500_000, Decimal("4.9"), None, date(2023, 9, 3)), "unknown: no term on file"),
    (LoanTerms(2_500_000, None, None, date(2023, 9, 3)), "unknown: no APR or term on file"),
    (LoanTerms(None, None, None, None), "unknown: no amount financed, APR, term or first payment date on file"),
    (LoanTerms(2_500_000, Decimal("4.9"), 0, date(2023, 9, 3)),
     "unknown: a term of 0 months is not believable (expected 1 to 120)"),
    (LoanTerms(2_500_000, Decimal("4.9"), -12, date(2023, 9, 3)),
     "unknown: a term of -12 months is not believable (expected 1 to 120)"),
    (LoanTerms(2_500_000, Decimal("4.9"), 600, date(2023, 9, 3)),
     "unknown: a term of 600 months is not believable (expected 1 to 120)"),
    (LoanTerms(-2_500_000, Decimal("4.9"), 60, date(2023, 9, 3)),
     "unknown: an amount financed of -$25,000.00 is not a loan"),
    (LoanTerms(0, Decimal("4.9"), 60, date(2023, 9, 3)), "unknown: an amount financed of $0.00 is not a loan"),
    (LoanTerms(2_500_000, Decimal("-1"), 60, date(2023, 9, 3)),
     "unknown: an APR of Decimal('-1') is not believable (expected 0% to 40%)"),
    (LoanTerms(2_500_000, Decimal("490"), 60, date(2023, 9, 3)),
     "unknown: an APR of Decimal('490') is not believable (expected 0% to 40%)"),
    (LoanTerms(2_500_000, Decimal("NaN"), 60, date(2023, 9, 3)),
     "unknown: an APR of Decimal('NaN') is not believable (expected 0% to 40%)"),
    (LoanTerms(2_500_000, "abc", 60, date(2023, 9, 3)),  # type: ignore[arg-type]
     "unknown: an APR of 'abc' is not believable (expected 0% to 40%)"),
    (LoanTerms(2_500_000, Decimal("4.9"), 60, date(2023, 9, 3), 0),
     "unknown: a monthly payment of $0.00 is not believable"),
    (LoanTerms(2_500_000, Decimal("4.9"), 60, date(2023, 9, 3), -47_064),
     "unknown: a monthly payment of -$470.64 is not believable"),
    (LoanTerms(2_500_000, Decimal("12"), 60, date(2023, 9, 3), 20_000),
     "unknown: a payment of $200.00 does not cover the $250.00 monthly interest; check the payment, APR and amount"),
    (LoanTerms(2_500_000, Decimal("4.9"), 60, datetime(2023, 9, 3)),  # type: ignore[arg-type]
     "unknown: the first payment date datetime.datetime(2023, 9, 3, 0, 0) is not a date"),
    (LoanTerms(25_000.5, Decimal("4.9"), 60, date(2023, 9, 3)),  # type: ignore[arg-type]
     "unknown: an amount financed of 25000.5 is not a loan"),
])
def test_odd_or_missing_loan_terms_are_unknown_with_a_reason_never_an_exception(loan, reason):
    result = payoff_of(today=TODAY, loan=loan)
    assert (result.basis, result.payoff_cents, result.payments_made, result.payments_left, result.method) == (
        PayoffBasis.UNKNOWN, None, None, None, reason)
    assert not result.is_known


def test_a_float_apr_is_read_through_its_decimal_text():
    assert payoff_of(today=TODAY, loan=LoanTerms(2_500_000, 4.9, 60, date(2023, 9, 3))) == payoff_of(  # type: ignore[arg-type]
        today=TODAY, loan=LOAN)


@pytest.mark.parametrize("lease, today, payoff, made, left, method", [
    # Payments in advance: the last is due Dec 3, 2026, a month before maturity; Apr..Dec are still to come.
    (LeaseTerms(1_800_000, date(2027, 1, 3), 39_900, 36), TODAY, 1_800_000 + 9 * 39_900, 27, 9,
     "lease estimate: residual of $18,000.00 plus 9 payments of $399.00 left to Jan 3, 2027 "
     "(a lender's quote is usually a little lower: it leaves out the rent charge)"),
    (LeaseTerms(1_800_000, date(2027, 1, 3), 39_900), TODAY, 1_800_000 + 9 * 39_900, None, 9,
     "lease estimate: residual of $18,000.00 plus 9 payments of $399.00 left to Jan 3, 2027 "
     "(a lender's quote is usually a little lower: it leaves out the rent charge)"),
    # The last payment is made the day it is due: only the residual is left.
    (LeaseTerms(1_800_000, date(2026, 4, 15), 39_900, 36), TODAY, 1_800_000, 36, 0,
     "lease estimate: residual of $18,000.00 plus 0 payments of $399.00 left to Apr 15, 2026 "
     "(a lender's quote is usually a little lower: it leaves out the rent charge)"),
    (LeaseTerms(1_800_000, date(2026, 4, 16), 39_900, 36), TODAY, 1_800_000 + 39_900, 35, 1,
     "lease estimate: residual of $18,000.00 plus 1 payment of $399.00 left to Apr 16, 2026 "
     "(a lender's quote is usually a little lower: it leaves out the rent charge)"),
    (LeaseTerms(1_800_000, date(2026, 3, 1), 39_900, 36), TODAY, 1_800_000, 36, 0,
     "lease ended Mar 1, 2026: payoff is the residual of $18,000.00"),
])
def test_a_lease_is_the_residual_plus_the_payments_still_to_come(lease, today, payoff, made, left, method):
    result = payoff_of(today=today, lease=lease)
    assert (result.basis, result.payoff_cents, result.payments_made, result.payments_left, result.method) == (
        PayoffBasis.LEASE, payoff, made, left, method)


@pytest.mark.parametrize("lease, reason", [
    (LeaseTerms(None, date(2027, 1, 3), 39_900), "unknown: no lease residual on file"),
    (LeaseTerms(1_800_000, None, None), "unknown: no lease maturity date or monthly payment on file"),
    (LeaseTerms(-1, date(2027, 1, 3), 39_900), "unknown: a residual of -$0.01 is not believable"),
    (LeaseTerms(1_800_000, date(2027, 1, 3), 0), "unknown: a monthly payment of $0.00 is not believable"),
    (LeaseTerms(1_800_000, date(2040, 1, 3), 39_900),
     "unknown: a maturity date of Jan 3, 2040 is more than 120 months away"),
    (LeaseTerms(1_800_000, date(2027, 1, 3), 39_900, 0),
     "unknown: a lease term of 0 months is not believable (expected 1 to 120)"),
    (LeaseTerms(1_800_000, date(2027, 1, 3), 39_900, 6), "unknown: 9 payments to go is more than the 6-month term"),
])
def test_odd_or_missing_lease_terms_are_unknown_with_a_reason(lease, reason):
    result = payoff_of(today=TODAY, lease=lease)
    assert (result.basis, result.payoff_cents, result.method) == (PayoffBasis.UNKNOWN, None, reason)


def test_a_known_payoff_wins_over_the_estimate():
    result = payoff_of(today=TODAY, loan=LOAN, known=KnownPayoff(1_234_567, date(2026, 2, 1), "imported from the DMS"))
    assert (result.basis, result.payoff_cents, result.payments_made, result.payments_left, result.method) == (
        PayoffBasis.KNOWN, 1_234_567, None, None, "known: $12,345.67 as of Feb 1, 2026 (imported from the DMS)")
    owned_outright = payoff_of(today=TODAY, known=KnownPayoff(0, TODAY, "typed in"))
    assert (owned_outright.payoff_cents, owned_outright.method) == (0, "known: $0.00 as of Mar 15, 2026 (typed in)")


@pytest.mark.parametrize("known, note", [
    (KnownPayoff(1_234_567, date(2026, 3, 16)), "dated Mar 16, 2026, after today"),
    (KnownPayoff(1_234_567, None), "it has no date"),
    (KnownPayoff(-5, date(2026, 2, 1)), "-$0.05 is not a payoff"),
    (KnownPayoff(None, date(2026, 2, 1)), "no amount"),
])
def test_a_known_payoff_that_cannot_be_believed_falls_back_to_the_estimate_and_says_so(known, note):
    result = payoff_of(today=TODAY, loan=LOAN, known=known)
    estimate = payoff_of(today=TODAY, loan=LOAN)
    assert (result.basis, result.payoff_cents) == (PayoffBasis.AMORTIZED, estimate.payoff_cents)
    assert result.method == f"{estimate.method} (the payoff on file was not used: {note})"


def test_nothing_on_file_or_both_a_loan_and_a_lease_is_unknown():
    assert payoff_of(today=TODAY).method == "unknown: no loan or lease terms on file"
    both = payoff_of(today=TODAY, loan=LOAN, lease=LeaseTerms(1_800_000, date(2027, 1, 3), 39_900))
    assert (both.basis, both.method) == (PayoffBasis.UNKNOWN, "unknown: both a loan and a lease are on file for one car")


def test_today_must_be_a_date_because_a_datetime_is_a_callers_bug():
    with pytest.raises(TypeError):
        payoff_of(today=datetime(2026, 3, 15), loan=LOAN)  # type: ignore[arg-type]
