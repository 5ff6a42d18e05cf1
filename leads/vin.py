"""VIN validation (ISO 3779 check digit) via vininfo, and the check digit for the demo seeder."""

from vininfo import Vin
from vininfo.exceptions import ValidationError as VinValidationError

_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9))),
    **dict(zip("JKLMN", range(1, 6))), "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10))),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
MODEL_YEAR_CODES = dict(zip(range(2010, 2031), "ABCDEFGHJKLMNPRSTVWXY"))


class InvalidVin(ValueError):
    pass


def check_digit(vin: str) -> str:
    total = sum(_TRANSLITERATION[ch] * w for ch, w in zip(vin.upper(), _WEIGHTS))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def with_check_digit(vin: str) -> str:
    vin = vin.upper()
    return vin[:8] + check_digit(vin) + vin[9:]


def normalize_vin(raw: str) -> str:
    """Upper-cased, stripped VIN whose check digit is right; InvalidVin with a reason otherwise."""
    vin = (raw or "").strip().upper().replace(" ", "").replace("-", "")
    if len(vin) != 17:
        raise InvalidVin(f"A VIN has 17 characters; {vin!r} has {len(vin)}.")
    if any(ch in "IOQ" for ch in vin):
        raise InvalidVin("A VIN never contains the letters I, O or Q.")
    try:
        if not Vin(vin).verify_checksum():
            raise InvalidVin(f"The check digit of {vin} is wrong (position 9 should be {check_digit(vin)}).")
    except VinValidationError as exc:
        raise InvalidVin(f"{vin} is not a valid VIN: {exc}") from None
    return vin
