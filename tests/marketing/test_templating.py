"""The merge fields a manager writes, filled per customer: decision tables, no database."""

import pytest

from marketing.templating import FIELDS, fields_used, render, validate

FULL = {"first_name": "Lena", "last_name": "Ortiz", "vehicle": "2019 Toyota RAV4", "equity": "$6,200",
        "salesperson": "Sam Sales", "store": "Lakeside Toyota", "store_phone": "(555) 010-2000"}


@pytest.mark.parametrize("text, context, expected", [
    ("Hi {{ first_name }},", FULL, "Hi Lena,"),
    ("Hi {{first_name}},", FULL, "Hi Lena,"),
    ("Hi {{   first_name\t}},", FULL, "Hi Lena,"),
    ("Hi {{ FIRST_NAME }},", FULL, "Hi Lena,"),
    ("Your {{ vehicle }} is worth {{ equity }} more than you owe.", FULL,
     "Your 2019 Toyota RAV4 is worth $6,200 more than you owe."),
    ("Ask {{ salesperson }} at {{ store }}: {{ store_phone }}", FULL,
     "Ask Sam Sales at Lakeside Toyota: (555) 010-2000"),
    # Fallbacks that read well.
    ("Hi {{ first_name }},", {}, "Hi there,"),
    ("Hi {{ first_name }},", {"first_name": "   "}, "Hi there,"),
    ("Is {{ vehicle }} due?", {}, "Is your vehicle due?"),
    ("Is your {{ vehicle }} due?", {}, "Is your vehicle due?"),
    ("Is YOUR {{ vehicle }} due?", {"vehicle": "your vehicle"}, "Is YOUR vehicle due?"),
    ("Is your {{ vehicle }} due?", FULL, "Is your 2019 Toyota RAV4 due?"),
    ("Ask {{ salesperson }}.", {"store": "Lakeside Toyota"}, "Ask the Lakeside Toyota sales team."),
    ("Ask {{ salesperson }}.", {}, "Ask our sales team."),
    # A fallback that starts a sentence starts with a capital.
    ("Hi.\n\n{{ salesperson }} would be glad to help.", {"store": "Lakeside Toyota"},
     "Hi.\n\nThe Lakeside Toyota sales team would be glad to help."),
    ("Thanks! {{ salesperson }} will call.", {}, "Thanks! Our sales team will call."),
    ("{{ first_name }}, your car is ready.", {}, "There, your car is ready."),
    ("Ask {{ salesperson }} or {{ first_name }}.", {}, "Ask our sales team or there."),
    ("Visit {{ store }}", {}, "Visit our store"),
    # A missing value with no fallback leaves no gap and no "Hi ,".
    ("Hi {{ first_name }} {{ last_name }},", {"first_name": "Lena"}, "Hi Lena,"),
    ("Dear {{ last_name }},", {}, "Dear,"),
    ("Worth {{ equity }} more than you owe.", {}, "Worth more than you owe."),
    ("Call {{ store_phone }}.", {}, "Call."),
    ("{{ equity }} in equity", {}, "in equity"),
    ("Line one {{ equity }}\nline two", {}, "Line one\nline two"),
    # Unknown fields never show braces to a customer (validate refuses them before saving).
    ("Hi {{ nickname }}!", FULL, "Hi!"),
    # A value cannot smuggle a merge field or odd whitespace in.
    ("Hi {{ first_name }}", {"first_name": "{{ store }}\n"}, "Hi {{ store }}"),
    ("No fields at all.", FULL, "No fields at all."),
    ("", FULL, ""),
])
def test_render(text, context, expected):
    assert render(text, context) == expected


@pytest.mark.parametrize("text, expected", [
    ("Hi {{ first_name }}, your {{vehicle}} and {{ first_name }}", ["first_name", "vehicle"]),
    ("{{ nickname }} {{ store }}", ["nickname", "store"]),
    ("nothing", []),
])
def test_fields_used(text, expected):
    assert fields_used(text) == expected


@pytest.mark.parametrize("text, fragment", [
    ("Hi {{ nickname }}", "Unknown merge field {{ nickname }}"),
    ("Hi {{ first_name", "is not closed"),
    ("Hi {{ first_name }} and {{ vehicle", "is not closed"),
    ("{% if x %}yes{% endif %}", "{% … %} is not allowed"),
    ("{{ first_name|upper }}", "is not a merge field"),
    ("{{ first_name.__class__ }}", "is not a merge field"),
    ("{{ }}", "is not a merge field"),
])
def test_validate_names_the_problem(text, fragment):
    errors = validate(text)
    assert errors and any(fragment in e for e in errors), errors


@pytest.mark.parametrize("text", [
    "Hi {{ first_name }}, " + " ".join(f"{{{{ {f} }}}}" for f in FIELDS),
    "Plain text with a single { brace and }} closing ones.",
    "",
])
def test_validate_accepts_good_templates(text):
    assert validate(text) == []
