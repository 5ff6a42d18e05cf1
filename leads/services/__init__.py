"""Writes for leads, one module per concern, so the response clock is found without reading intake:

- `new_leads`: a lead arrives (every intake calls `lead_create`), is routed and gets its first response.
- `clock`: the response clock: deadlines, the sweep, reroutes, escalation, an owner going unavailable.
- `actions`: what staff do on a lead: log a call, change status, assign, claim.
- `first_response`: the automated first response's words and its outbox message.
- `roster`: who can take leads (shifts, weights, availability) and the store's hours and rules.
- `notices`: live notifications to staff and the lead's lines on the customer timeline.
- `store_settings`: managers' routing rules, sales roster and response templates.

Decisions (who gets a lead, when the clock runs out, what to do then) are made by the pure `leads.routing`;
these modules load what those functions need, apply their answer and record it. Side effects (the first
response, live notifications) leave only after commit.

Locks are always taken in one order, clock -> lead -> sales roster, so the beat sweep, a salesperson logging a
call and a manager reassigning can meet on one lead without deadlocking. The sweep takes clocks with
`SKIP LOCKED`, so two sweeps (or a sweep and a human) never act on one clock at once, and every transition
re-checks the clock's state under its lock: a reroute happens once however often the sweep runs.
"""

class LeadError(ValueError):
    """A request about a lead that cannot be done; the message is shown to the person as is."""
