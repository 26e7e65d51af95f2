"""Strings Django translates for us in most languages but not (fully) in Vietnamese.

Marked here so that `make messages` keeps them in our catalog, which Django consults before its
own: "in 29 minutes" reads "sau 29 phút", not "sau 29 minutes". Never imported at run time.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy, ngettext_lazy

TIME_STRINGS = (
    ngettext_lazy("%(num)d year", "%(num)d years", "num"),
    ngettext_lazy("%(num)d month", "%(num)d months", "num"),
    ngettext_lazy("%(num)d week", "%(num)d weeks", "num"),
    ngettext_lazy("%(num)d day", "%(num)d days", "num"),
    ngettext_lazy("%(num)d hour", "%(num)d hours", "num"),
    ngettext_lazy("%(num)d minute", "%(num)d minutes", "num"),
)

# Words our apps translate that Django's own catalogs (the admin's above all, as it comes first in
# INSTALLED_APPS) translate otherwise: an app's catalog loses to them, our project catalog
# (LOCALE_PATHS) wins over every one. Without these, the Unknown status read “Chưa xác định”, an
# empty value “Không”, Save “Lưu lại”. tests/test_catalogs.py checks what Django returns at run
# time.
SHADOWED = (
    gettext_lazy("Unknown"),
    gettext_lazy("None"),
    gettext_lazy("History"),
    gettext_lazy("name"),
    gettext_lazy("Save"),
    gettext_lazy("View"),
    # Django's own reads as a machine's (“Vui lòng điền vào Tên đăng nhập và mật khẩu chính xác”).
    gettext_lazy(
        "Please enter a correct %(username)s and password. Note that both fields may be "
        "case-sensitive."
    ),
    # Django's form messages its Vietnamese catalog lacks (shown in English) or words oddly.
    gettext_lazy("Null characters are not allowed."),
    gettext_lazy("Enter a valid UUID."),
    gettext_lazy("Enter a whole number."),
    # naturaltime's "now" (People's last sign-in): the glossary's "vừa xong", as the playground.
    gettext_lazy("now"),
    # naturaltime's wrappers: Django's Vietnamese catalog has them only under a context its code
    # does not ask for, so a key's expiry read "hết hạn 4 tuần, 1 ngày from now".
    gettext_lazy("%(delta)s from now"),
    gettext_lazy("%(delta)s ago"),
    # Range and length refusals: Django's read "… bằng với 1 ." (a space before the full stop).
    gettext_lazy("Ensure this value is less than or equal to %(limit_value)s."),
    gettext_lazy("Ensure this value is greater than or equal to %(limit_value)s."),
    ngettext_lazy(
        "Ensure this value has at least %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at least %(limit_value)d characters (it has %(show_value)d).",
        "limit_value",
    ),
    ngettext_lazy(
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
        "limit_value",
    ),
)
