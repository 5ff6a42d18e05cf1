from celery import shared_task

from service import opportunities


@shared_task(ignore_result=True)
def opportunities_scan_nightly() -> None:
    opportunities.opportunities_scan()


@shared_task(ignore_result=True)
def opportunities_scan_store(rooftop_id: int) -> None:
    """After a DMS import of deals or repair orders: that store's cars, without waiting for the night."""
    opportunities.opportunities_scan(rooftop_id=rooftop_id)
