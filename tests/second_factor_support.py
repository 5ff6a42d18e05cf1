"""Codes from a real authenticator: the same TOTP computation an app on a phone does."""

from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from rooftops.services import recovery_codes_regenerate


def authenticator_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the app shows now (steps_ahead=1: the next one, which the device also accepts, so a test can use a
    second code within the same 30 seconds; a code is never accepted twice)."""
    device.refresh_from_db()
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift + steps_ahead)
    return str(value).zfill(device.digits)


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    """A user who has set up an authenticator app and has recovery codes."""
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return device, recovery_codes_regenerate(user=user)


def wait_out_the_throttle(user) -> None:
    """A failed code makes the device wait (1 s, doubling); a person waits, a test clears it."""
    for model in (TOTPDevice, StaticDevice):
        model.objects.filter(user=user).update(throttling_failure_count=0, throttling_failure_timestamp=None)
