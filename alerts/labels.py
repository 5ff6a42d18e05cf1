"""Words staff read for the scoring vocabulary."""

from alerts import scoring

SIGNAL_LABELS = {
    "webhook_disabled": "Webhook turned off",  # the store's upkeep (rooftops.webhooks), for its managers
    "service_lane": "In the service lane now",  # service.services.service_visit_started, for sales
    scoring.REPEAT_VDP: "Keeps coming back to one vehicle",
    scoring.SAME_MODEL: "Comparing one model",
    scoring.TRADE_IN: "Valued a trade-in",
    scoring.PAYMENT: "Working out payments",
    scoring.PRICE_ALERT: "Clicked a price-drop alert",
    scoring.CREDIT: "Started a credit application",
    scoring.FORM_ABANDONED: "Abandoned a form",
    scoring.RETURNED: "Back after weeks away",
    scoring.EQUITY: "Service customer with equity shopping",
    scoring.PRICE_DROP: "Price dropped on a car they viewed",
}

EVENT_LABELS = {
    scoring.PAGEVIEW: "Any page view",
    scoring.VDP_VIEW: "Vehicle detail page view",
    scoring.SRP_VIEW: "Search results view",
    scoring.CTA: "Call-to-action click",
    scoring.FORM_ENGAGEMENT: "Form started",
    scoring.FORM_SUBMISSION: "Form submitted",
    scoring.SPECIAL_OFFER: "Special offer viewed",
    scoring.TRADE_CALC: "Trade-in calculator completed",
    scoring.PAYMENT_CALC: "Payment calculator used",
    scoring.PRICE_ALERT_SUBSCRIBED: "Price-drop alert subscribed",
    scoring.PRICE_ALERT_CLICKED: "Price-drop alert clicked",
    scoring.CREDIT_APP: "Credit application started",
    scoring.CHAT: "Chat started",
}


def signal_label(kind: str) -> str:
    return SIGNAL_LABELS.get(kind, kind.replace("_", " ").capitalize())


DISMISS_REASONS = {
    "not_interested": "Not interested / just browsing",
    "already_contacted": "Already in touch with them",
    "bought_elsewhere": "Bought elsewhere",
    "wrong_person": "Wrong person or bad contact details",
    "duplicate": "Duplicate of another alert",
    "other": "Other (say why)",
}
