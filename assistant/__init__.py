"""The after-hours assistant's offline understanding: what a shopper wants (intent), what they named (slots), when.

Pure Python, no database or network: `understanding.understand` and `when.parse_when`. The conversation storage,
replies, booking and handoff are built on top of these elsewhere.
"""
