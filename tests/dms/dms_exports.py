"""DMS export files for the import tests."""

from __future__ import annotations

from pathlib import Path

from django.core.files import File

from dms import services
from dms.models import DmsImport
from leads.vin import with_check_digit

VIN_A = with_check_digit("2T3P1RFV0RC000301")
VIN_B = with_check_digit("1HGCV1F30LA000302")
VIN_C = with_check_digit("5YJ3E1EA7KF000303")
SALES_HEADER = ("customer_number,first_name,last_name,email,phone,deal_number,sold_on,vin,year,make,model,price,"
                "deal_type,lender,amount_financed,apr,term_months,payment,first_payment_on,residual,maturity_on,"
                "miles_per_year,trade1_vin,trade1_allowance")
SALE_1 = (f"C100,Maria,Lopez,maria@example.com,(617) 555-0101,D-1,2023-04-14,{VIN_A},2023,Toyota,RAV4,\"$34,500.00\","
          "finance,Toyota Financial,30000,5.9,60,579.00,2023-05-14,,,,,")
SALE_2 = (f"C101,Dan,Price,dan@example.com,,D-2,04/20/2023,{VIN_B},2020,Honda,Accord,21000,lease,Honda Finance,,,36,"
          f"329,2023-05-20,14500,2026-04-20,12000,{VIN_C},9000")
SALE_3 = f"C100,Maria,Lopez,maria@example.com,,D-3,2024-01-05,{VIN_C},2019,Tesla,Model 3,28000,cash,,,,,,,,,,,"


def export(tmp_path: Path, *lines: str, name: str = "deals.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_import(rooftop, path: Path, kind: str, *, chunk_rows: int | None = None, columns=None) -> DmsImport:
    with path.open("rb") as handle:
        upload = File(handle, name=path.name)
        draft = services.dms_upload(rooftop=rooftop, kind=kind, upload=upload, file_name=path.name, user=None)
    start = services.dms_import_start(dms_import=draft, columns=columns or draft.columns, queue=False)
    assert start.started
    return services.dms_import_execute(import_id=draft.id, chunk_rows=chunk_rows)


RO_HEADER = "customer_number,first_name,last_name,ro_number,opened_on,closed_on,vin,mileage_in,op_code,op_description,op_amount"
