"""Access pages: second-factor enrolment and verification, recovery codes, and the managers' Staff page
(require a second factor for the dealer group, unlock a locked-out login, reset a lost authenticator)."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from rooftops.models import DealerGroup, Role
from rooftops.selectors import (
    recovery_codes_left, second_factor_enrolled, second_factor_required, staff_access, staff_security_rows,
)
from rooftops.services import (
    dealer_group_require_second_factor, recovery_codes_regenerate, second_factor_remove, staff_login_unlock,
    totp_enrolment_confirm, totp_enrolment_start,
)


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("home")


def _secret_groups(device: TOTPDevice) -> str:
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


@login_required
def second_factor_enrol(request):
    """Set up an authenticator app: a QR code and the secret to type, then a code to prove it works."""
    enrolled = second_factor_enrolled(request.user)
    if enrolled and not request.user.is_verified():
        return redirect(f"{reverse('second-factor-verify')}?next={reverse('second-factor-enrol')}")
    error = None
    if request.method == "POST":
        confirmed = totp_enrolment_confirm(user=request.user, code=request.POST.get("code", ""))
        if confirmed is not None:
            device, codes = confirmed
            otp_login(request, device)
            request.session["new_recovery_codes"] = codes  # shown once, on the next page
            messages.success(request, "Your authenticator app is set up. Keep your recovery codes somewhere safe.")
            return redirect(f"{reverse('second-factor-recovery')}?next={_next_url(request)}")
        error = "That code did not match. Check the time on your phone and enter the current 6-digit code."
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None or request.method == "GET":
        device = totp_enrolment_start(user=request.user)
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4, title="Scan with your authenticator app")
    return render(request, "rooftops/second_factor_enrol.html", {
        "qr_svg": qr_svg, "secret": _secret_groups(device), "error": error, "enrolled": enrolled,
        "required": second_factor_required(request.user), "next": _next_url(request),
    }, status=422 if error else 200)


@login_required
def second_factor_verify(request):
    """After the password: a code from the authenticator app, or one of the recovery codes (each works once)."""
    if not second_factor_enrolled(request.user):
        return redirect("second-factor-enrol")
    if request.user.is_verified():
        return redirect(_next_url(request))
    error = None
    if request.method == "POST":
        code = request.POST.get("code", "").strip().replace(" ", "").lower()
        # Six digits go to the app's device, anything else to the recovery codes: a mistyped code throttles only
        # the device it was meant for (each failure doubles that device's wait, from one second).
        devices = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
        device = None
        for candidate in devices.objects.filter(user=request.user, confirmed=True):
            device = verify_token(request.user, candidate.persistent_id, code)
            if device is not None:
                break
        if device is not None:
            request.session.cycle_key()
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = recovery_codes_left(request.user)
                messages.warning(request, f"You used a recovery code; {left} left. Make new ones on your profile page.")
            return redirect(_next_url(request))
        error = "That code did not work. Enter the current code from your app, or an unused recovery code."
    return render(request, "rooftops/second_factor_verify.html", {"error": error, "next": _next_url(request)},
                  status=422 if error else 200)


@login_required
def second_factor_recovery(request):
    """The recovery codes just made (shown once) and the button to make new ones."""
    if not request.user.is_verified():
        return redirect("second-factor-verify")
    if request.method == "POST":
        request.session["new_recovery_codes"] = recovery_codes_regenerate(user=request.user)
        messages.success(request, "New recovery codes made; the old ones no longer work.")
        return redirect("second-factor-recovery")
    return render(request, "rooftops/second_factor_recovery.html", {
        "codes": request.session.pop("new_recovery_codes", None),
        "left": recovery_codes_left(request.user), "next": _next_url(request),
    })


def login_locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login: the login page, saying so and for how long."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/login.html", {
        "form": AuthenticationForm(request, data=request.POST or None),
        "locked_out": True, "lockout_minutes": minutes,
        "next": request.POST.get("next", ""),
    }, status=429)


# --- The managers' Staff page ----------------------------------------------------------------------


def _managed_staff_or_404(request, user_id: int) -> User:
    access = staff_access(request.user)
    rooftop_ids = access.rooftops_with_role(Role.MANAGER)
    user = User.objects.filter(pk=user_id, staff_roles__rooftop_id__in=rooftop_ids).distinct().first()
    if user is None:
        raise Http404
    return user


@login_required
def staff_security(request):
    access = staff_access(request.user)
    rooftop_ids = access.rooftops_with_role(Role.MANAGER)
    if not rooftop_ids:
        raise Http404
    group = DealerGroup.objects.get(pk=access.dealer_group_id)
    return render(request, "rooftops/staff_security.html", {
        "group": group, "rows": staff_security_rows(rooftop_ids=rooftop_ids),
    })


@login_required
@require_POST
def staff_require_second_factor(request):
    access = staff_access(request.user)
    if not access.rooftops_with_role(Role.MANAGER):
        raise Http404
    group = DealerGroup.objects.get(pk=access.dealer_group_id)
    required = request.POST.get("required") == "on"
    dealer_group_require_second_factor(dealer_group=group, required=required, by=request.user)
    if required:
        messages.success(request, f"Everyone at {group.name} now needs a second factor to reach customer data.")
    else:
        messages.success(request, f"A second factor is now optional at {group.name}.")
    return redirect("staff-security")


@login_required
@require_POST
def staff_unlock(request, user_id: int):
    user = _managed_staff_or_404(request, user_id)
    staff_login_unlock(user=user)
    messages.success(request, f"{user.get_username()} can log in again.")
    return redirect("staff-security")


@login_required
@require_POST
def staff_reset_second_factor(request, user_id: int):
    user = _managed_staff_or_404(request, user_id)
    second_factor_remove(user=user)
    messages.success(request, f"{user.get_username()}'s authenticator and recovery codes are removed; "
                              "they set up a new one at their next login.")
    return redirect("staff-security")
