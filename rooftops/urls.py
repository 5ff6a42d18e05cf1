from django.contrib.auth import views as auth_views
from django.urls import path

from rooftops import access_views, views, webhook_views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/availability/", views.set_availability, name="set-availability"),
    path("profile/tokens/", views.token_create, name="token-create"),
    path("profile/tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("access-log/", views.access_log, name="access-log"),
    path("account/second-factor/", access_views.second_factor_enrol, name="second-factor-enrol"),
    path("account/second-factor/verify/", access_views.second_factor_verify, name="second-factor-verify"),
    path("account/second-factor/recovery-codes/", access_views.second_factor_recovery, name="second-factor-recovery"),
    path("staff/", access_views.staff_security, name="staff-security"),
    path("staff/second-factor/", access_views.staff_require_second_factor, name="staff-require-second-factor"),
    path("staff/<int:user_id>/unlock/", access_views.staff_unlock, name="staff-unlock"),
    path("staff/<int:user_id>/reset-second-factor/", access_views.staff_reset_second_factor,
         name="staff-reset-second-factor"),
    path("integrations/webhooks/", webhook_views.webhooks_home, name="webhooks-home"),
    path("integrations/webhooks/<slug:rooftop_slug>/", webhook_views.webhooks_page, name="webhooks"),
    path("integrations/webhooks/<slug:rooftop_slug>/<int:webhook_id>/", webhook_views.webhook_detail,
         name="webhook-detail"),
    path("integrations/webhooks/<slug:rooftop_slug>/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver/",
         webhook_views.webhook_redeliver, name="webhook-redeliver"),
]
