"""Failures stored as codes with parameters (playground.failures), not as sentences.

Replies and live links stored the sentence in the language of whoever was chatting; it now reads in
the reader's. A stored sentence, English or Vietnamese (as the catalog has said it), becomes its
code and the parameters read out of it; one that matches none is kept whole as "legacy" {text}.
monitoring's migration 0003 maps its request records with `to_code` from here.
"""

import re

from django.db import migrations, models

# Each code with the sentences writers stored for it: English, then the Vietnamese ones.
SENTENCES = [
    ("no_token", "No IAM token for this endpoint's service account: %(detail)s"),
    ("no_token", "Không có token IAM cho service account của endpoint này: %(detail)s"),
    ("no_token", "Không có IAM token cho service account của endpoint này: %(detail)s"),
    ("rate_limited", "The endpoint is busy (rate limited): try again in %(wait)s seconds."),
    ("rate_limited", "Endpoint đang bận (bị giới hạn tần suất): hãy thử lại sau %(wait)s giây."),
    ("rate_limited_shortly", "The endpoint is busy (rate limited): try again shortly."),
    ("rate_limited_shortly", "Endpoint đang bận (bị giới hạn tần suất): hãy thử lại sau ít phút."),
    ("credential_refused", "The endpoint refused the credential, even after a fresh token. An "
     "Admin should check it under Credentials."),
    ("credential_refused", "Endpoint từ chối thông tin xác thực, kể cả với token mới. Quản trị "
     "viên nên kiểm tra trong mục Thông tin xác thực."),
    ("credential_refused", "Endpoint từ chối thông tin xác thực, kể cả với token mới. Admin nên "
     "kiểm tra trong mục Thông tin xác thực."),
    ("permission_denied", "The credential may not call this endpoint (permission denied)."),
    ("permission_denied", "Thông tin xác thực không được phép gọi endpoint này (bị từ chối "
     "quyền)."),
    ("not_found", "The platform does not know this endpoint or model any more: %(detail)s"),
    ("not_found", "Nền tảng không còn nhận ra endpoint hoặc model này: %(detail)s"),
    ("refused", "The endpoint refused the request: %(detail)s"),
    ("refused", "Endpoint từ chối yêu cầu: %(detail)s"),
    ("unavailable", "The endpoint did not answer: %(detail)s"),
    ("unavailable", "Endpoint không phản hồi: %(detail)s"),
    ("platform", "The endpoint answered with an error: %(detail)s"),
    ("platform", "Endpoint trả về lỗi: %(detail)s"),
    ("relay_failed", "Something went wrong while relaying the reply."),
    ("relay_failed", "Đã xảy ra lỗi khi chuyển tiếp câu trả lời."),
    ("relay_failed_kept", "Something went wrong while relaying the reply. What arrived is kept."),
    ("relay_failed_kept", "Đã xảy ra lỗi khi chuyển tiếp câu trả lời. Phần đã nhận được vẫn "
     "được giữ lại."),
]
# "cut_off": the outer sentence with each reason inside it, as (why, reason) per language.
CUT_OFF = [
    ("The reply was cut off mid-way: %(why)s. What arrived is kept.", [
        ("timeout", "the endpoint sent nothing for %(seconds)s seconds"),
        ("broken", "the connection to the endpoint broke"),
        ("closed", "the endpoint closed the connection before the end of the reply"),
        ("model_error", "the model server reported an error (%(detail)s)"),
    ]),
    ("Câu trả lời bị ngắt giữa chừng: %(why)s. Phần đã nhận được vẫn được giữ lại.", [
        ("timeout", "endpoint không gửi gì trong %(seconds)s giây"),
        ("broken", "kết nối tới endpoint bị đứt"),
        ("closed", "endpoint đóng kết nối trước khi câu trả lời kết thúc"),
        ("model_error", "máy chủ model báo lỗi (%(detail)s)"),
        ("model_error", "máy chủ mô hình báo lỗi (%(detail)s)"),
    ]),
]
# What the load test's streams recorded before (monitoring.loadrunner).
LOADTEST = [("cut_off:broken", "The stream broke off (%(exception)s).")]


def _pattern(sentence):
    parts = re.split(r"%\((\w+)\)s", sentence)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$", re.DOTALL)


def _patterns():
    out = [(code, {}, _pattern(sentence)) for code, sentence in SENTENCES]
    for outer, reasons in CUT_OFF:
        for why, reason in reasons:
            out.append(("cut_off", {"why": why}, _pattern(outer.replace("%(why)s", reason))))
    for code, sentence in LOADTEST:
        code, why = code.split(":")
        out.append((code, {"why": why}, _pattern(sentence)))
    return out


PATTERNS = _patterns()


def to_code(text):
    """(code, params) for a stored sentence; ("", {}) for none."""
    text = (text or "").strip()
    if not text:
        return "", {}
    for code, fixed, pattern in PATTERNS:
        match = pattern.match(text)
        if match:
            params = {**fixed, **match.groupdict()}
            params.pop("exception", None)
            if "wait" in params:
                params["wait"] = int(params["wait"]) if params["wait"].isdigit() else 1
            return code, params
    return "legacy", {"text": text}


def sentences_to_codes(apps, schema_editor):
    Message = apps.get_model("playground", "Message")
    ShareLink = apps.get_model("playground", "ShareLink")
    for message in Message.objects.exclude(error="").only("pk", "error").iterator():
        code, params = to_code(message.error)
        Message.objects.filter(pk=message.pk).update(error_code=code, error_params=params)
    for link in ShareLink.objects.exclude(last_error="").only("pk", "last_error").iterator():
        code, params = to_code(link.last_error)
        ShareLink.objects.filter(pk=link.pk).update(
            last_error_code=code, last_error_params=params
        )


def codes_to_sentences(apps, schema_editor):
    """Back: the English words, good enough to read (a legacy row gets its text back)."""
    from django.utils import translation

    from playground import failures

    Message = apps.get_model("playground", "Message")
    ShareLink = apps.get_model("playground", "ShareLink")
    with translation.override("en"):
        for message in Message.objects.exclude(error_code="").iterator():
            message.error = failures.render(message.error_code, message.error_params)
            message.save(update_fields=["error"])
        for link in ShareLink.objects.exclude(last_error_code="").iterator():
            link.last_error = failures.render(link.last_error_code, link.last_error_params)
            link.save(update_fields=["last_error"])


class Migration(migrations.Migration):

    dependencies = [
        ("playground", "0004_sharelink_code_unique"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="error_code",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="message",
            name="error_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="sharelink",
            name="last_error_code",
            field=models.CharField(blank=True, max_length=40, verbose_name="last error"),
        ),
        migrations.AddField(
            model_name="sharelink",
            name="last_error_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(sentences_to_codes, codes_to_sentences),
        migrations.RemoveField(model_name="message", name="error"),
        migrations.RemoveField(model_name="sharelink", name="last_error"),
    ]
