"""/people/: people and their roles (Admins), and /set-password/<token>/ (anyone with a link).

A set-password link's secret is in the answer to the POST that made it and nowhere else: no
redirect, no session, no message carries it. Every change is an AuditRecord shown on the page.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from webapp.people import selectors, services
from webapp.people.forms import ROLE_CHOICES, AddPersonForm, RoleForm
from webapp.roles import AuthenticatedHttpRequest, Role, admin_required, forget_role

# Opening a link signs in with the model backend (the other one only grants permissions).
_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _get_person(name: str) -> User:
    """Anyone with an account; the role is checked by `admin_required` before this runs."""
    return get_object_or_404(User, username=name)


def _link_url(request: HttpRequest, secret: str) -> str:
    return request.build_absolute_uri(reverse("people:set_password", args=[secret]))


@never_cache
@admin_required
def people_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows = selectors.people_rows()
    context = {
        "rows": rows,
        "counts": selectors.people_counts(rows),
        "audit": selectors.audit_page(request.GET.get("activity")),
        "role_choices": ROLE_CHOICES,
    }
    if request.htmx and request.htmx.target == "activity":
        return render(request, "people/people.html#activity", context)
    return render(request, "people/people.html", context)


@never_cache
@sensitive_variables("made")
@admin_required
@require_http_methods(["GET", "POST"])
def person_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AddPersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = services.person_add(
                by=request.user,
                username=data["username"],
                role=data["role"],
                name=data["name"],
                email=data["email"],
            )
        except (ValidationError, IntegrityError):
            # Someone took the name between the form's check and the save (two Admins at once).
            form.add_error(
                "username",
                _("Someone already has the username “%(name)s”.") % {"name": data["username"]},
            )
        else:
            return render(
                request,
                "people/link.html",
                {"link": made.link, "url": _link_url(request, made.secret), "added": True},
            )
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "link_hours": settings.SET_PASSWORD_LINK_HOURS}
    return render(request, "people/add.html", context, status=status)


@never_cache
@sensitive_variables("made")
@require_POST
@admin_required
def person_link(request: AuthenticatedHttpRequest, name: str) -> HttpResponse:
    person = _get_person(name)
    try:
        made = services.set_password_link_create(person=person, by=request.user)
    except services.PeopleError as exc:
        messages.error(request, str(exc))
        return redirect("people:index")
    return render(
        request,
        "people/link.html",
        {"link": made.link, "url": _link_url(request, made.secret), "added": False},
    )


@require_POST
@admin_required
def person_role(request: AuthenticatedHttpRequest, name: str) -> HttpResponse:
    person = _get_person(name)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose Admin, Member or Viewer."))
        return redirect("people:index")
    role = form.cleaned_data["role"]
    try:
        changed = services.person_set_role(person=person, role=role, by=request.user)
    except services.PeopleError as exc:
        messages.error(request, str(exc))
        return redirect("people:index")
    said = {"name": person.get_username(), "role": role.label}
    if not changed:
        messages.info(request, _("%(name)s is already %(role)s.") % said)
        return redirect("people:index")
    messages.success(request, _("%(name)s is now %(role)s.") % said)
    if person.pk == request.user.pk:
        forget_role(request.user)
        if role < Role.ADMIN:
            # This page is for Admins: the person who just left the role goes home.
            return redirect("overview")
    return redirect("people:index")


@never_cache
@admin_required
@require_http_methods(["GET", "POST"])
def person_deactivate(request: AuthenticatedHttpRequest, name: str) -> HttpResponse:
    """GET: what deactivating means, and a button. POST: do it."""
    person = _get_person(name)
    if not person.is_active:
        return redirect("people:index")
    if request.method == "GET":
        return render(
            request,
            "people/deactivate.html",
            {"person": person, "is_self": person.pk == request.user.pk},
        )
    try:
        services.person_deactivate(person=person, by=request.user)
    except services.PeopleError as exc:
        messages.error(request, str(exc))
        return redirect("people:index")
    if person.pk == request.user.pk:
        logout(request)
        return redirect("login")
    messages.success(
        request,
        _("%(name)s is deactivated and signed out everywhere.") % {"name": person.get_username()},
    )
    return redirect("people:index")


@require_POST
@admin_required
def person_reactivate(request: AuthenticatedHttpRequest, name: str) -> HttpResponse:
    person = _get_person(name)
    if services.person_reactivate(person=person, by=request.user):
        messages.success(
            request, _("%(name)s can sign in again.") % {"name": person.get_username()}
        )
    return redirect("people:index")


@never_cache
@sensitive_variables("token")
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def set_password(request: HttpRequest, token: str) -> HttpResponse:
    """Open to anyone holding the link: set the password, then be signed in."""
    link = selectors.set_password_link_for_secret(token)
    if link is not None and link.used_at and request.user == link.user:
        # A second tab of the person who just used it: they are in, nothing is wrong.
        messages.info(request, _("Your password is set already: you are signed in."))
        return redirect("overview")
    if link is None or not link.is_usable() or not link.user.is_active:
        response = render(request, "people/link_gone.html", {"link": link}, status=410)
    else:
        person = link.user
        form = SetPasswordForm(person, request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                person = services.set_password_link_use(
                    secret=token, password=form.cleaned_data["new_password1"]
                )
            except services.LinkUnusable:
                link.refresh_from_db()  # used or replaced meanwhile: say which, not "expired"
                response = render(request, "people/link_gone.html", {"link": link}, status=410)
            else:
                login(request, person, backend=_BACKEND)
                messages.success(
                    request,
                    _("Welcome, %(name)s: your password is set.") % {"name": person.get_username()},
                )
                return redirect("overview")
        else:
            signed_in_as = request.user if request.user.is_authenticated else None
            response = render(
                request,
                "people/set_password.html",
                {
                    "form": form,
                    "person": person,
                    "link": link,
                    "other_user": signed_in_as if signed_in_as != person else None,
                },
                status=400 if request.method == "POST" else 200,
            )
    # The secret is in this page's address: requests from the page (its static files, its
    # form) name only the origin. Not "no-referrer": browsers then send "Origin: null" with the
    # form, which Django's CSRF check refuses.
    response["Referrer-Policy"] = "strict-origin"
    return response
