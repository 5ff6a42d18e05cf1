"""What the customer did with a marketing message, for the apps that act on it (sent inside the transaction that
records it). A price-drop alert's click becomes the shopper's `price_drop_alert_clicked` event (marketing.price_drops),
so the intent score and the BDC's alert follow."""

from django.dispatch import Signal

# recipient: CampaignRecipient, url: str, at: datetime, anonymous_id: str (the browser's crm_aid cookie or "")
link_clicked = Signal()
