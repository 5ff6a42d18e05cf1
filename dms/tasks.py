from celery import shared_task

from dms import services


@shared_task(ignore_result=True)
def dms_import_run(import_id: int) -> None:
    services.dms_import_execute(import_id=import_id)


@shared_task(ignore_result=True)
def dms_imports_sweep() -> None:
    services.dms_imports_resume()
    services.dms_drafts_expire()
