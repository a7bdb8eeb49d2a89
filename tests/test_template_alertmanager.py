# ruff: noqa: E501  (expected renderings are kept on one line each)
"""Alertmanager notification templates: amtool-rendered conformance data, data model, funcs, HTML."""

from __future__ import annotations

import json

import pytest

from conformance_data import CONFORMANCE
from watchkeeper.template import TemplateError, TemplateSet
from watchkeeper.template.alertmanager_data import KV, Alert, Alerts, Data
from watchkeeper.template.alertmanager_funcs import alertmanager_funcs, to_json
from watchkeeper.template.gotime import GoTime, parse_rfc3339

TMPL = CONFORMANCE / "alertmanager" / "templates"
RENDERED = json.loads((TMPL / "default-v0.25.0.rendered.json").read_text())


def _text_set(*files: str) -> TemplateSet:
    ts = TemplateSet(alertmanager_funcs(), missingkey="zero")
    for f in files:
        ts.parse((TMPL / f).read_text(), f)
    return ts


def _data(input_name: str) -> Data:
    return Data.from_webhook(json.loads((TMPL / RENDERED["inputs"][input_name]).read_text()))


DEFAULT = _text_set("default-v0.25.0.tmpl")
RENDER_CASES = [(inp, name, want) for inp, defs in RENDERED["renderings"].items() for name, want in defs.items()]


@pytest.mark.parametrize(("inp", "name", "want"), RENDER_CASES, ids=[f"{i}:{n}" for i, n, _ in RENDER_CASES])
def test_default_template_renders_like_amtool(inp: str, name: str, want: str | dict[str, str]) -> None:
    data = _data(inp)
    if isinstance(want, dict):  # helpers that expect an alert list cannot take Data as dot
        with pytest.raises(TemplateError, match="range can't iterate over"):
            DEFAULT.execute(name, data)
        return
    assert DEFAULT.execute(name, data) == want


def test_alert_list_helpers_render_with_alert_lists() -> None:
    data = _data("g1-one-resolved-two-firing")
    out = DEFAULT.execute("__text_alert_list", data.Alerts.Resolved())
    assert out == "Labels:\n - alertname = G1\n - instance = a\nAnnotations:\n - summary = s a\nSource: http://gen/x\n"


@pytest.mark.parametrize("name", ["default.tmpl", "email.tmpl", "teams-example.tmpl", "default-v0.25.0.tmpl"])
def test_upstream_templates_parse(name: str) -> None:
    ts = TemplateSet(alertmanager_funcs(), html=name == "email.tmpl").parse((TMPL / name).read_text(), name)
    assert len(ts.names()) >= 3


def test_head_default_template_renders_new_definitions() -> None:
    ts = _text_set("default.tmpl")
    data = _data("g1-one-resolved-two-firing")
    assert ts.execute("slack.default.color", data) == "danger"
    assert ts.execute("jira.default.priority", data) == ""
    data.Alerts[1].Labels["severity"] = "warning"
    assert ts.execute("jira.default.priority", data) == "Medium"
    text = ts.execute("msteams.default.text", data)
    assert "# Alerts Firing:" in text and "  - instance = b" in text and "# Alerts Resolved:" in text


def test_teams_example_renders_json_fragments() -> None:
    ts = _text_set("teams-example.tmpl")
    data = _data("g1-one-resolved-two-firing")
    assert ts.execute("wh_teams_icon", data) == "AlertOn"
    assert ts.execute("wh_teams_color", data) == "Attention"
    cols = json.loads(ts.execute("wh_teams_alertlist", data))
    assert [i["text"] for i in cols[1]["items"]] == ["a", "b", "c"]
    assert ts.execute("wh_teams_actions", data).strip() == "[\n]"


def test_email_html_escapes_in_context() -> None:
    ts = TemplateSet(alertmanager_funcs(), html=True, missingkey="zero")
    ts.parse((TMPL / "default.tmpl").read_text(), "default.tmpl").parse((TMPL / "email.tmpl").read_text(), "email")
    data = _data("g1-one-resolved-two-firing")
    data.Alerts[1].Annotations["summary"] = "<b>disk</b> & 'more'"
    data.Alerts[1].GeneratorURL = "javascript:alert(1)"
    out = ts.execute("email.default.html", data)
    assert "<!--" not in out  # html/template drops comments from template text
    assert "<title>[FIRING:2] G1 </title>" in out
    assert "summary = &lt;b&gt;disk&lt;/b&gt; &amp; &#39;more&#39;<br" in out
    assert '<a href="#ZgotmplZ"' in out
    assert '<a href="http://vm:19093/#/alerts?receiver=hook"' in out


@pytest.mark.parametrize(
    ("text", "data", "want"),
    [
        ("<p>{{ . }}</p>", "<b>&'\"+", "<p>&lt;b&gt;&amp;&#39;&#34;&#43;</p>"),
        ('<a href="{{ . }}">x</a>', "javascript:alert(1)", '<a href="#ZgotmplZ">x</a>'),
        ('<a href="{{ . }}">x</a>', "http://x/a b?c=<d>", '<a href="http://x/a%20b?c=%3cd%3e">x</a>'),
        ('<a href="/q?x={{ . }}">x</a>', "a b&c", '<a href="/q?x=a%20b%26c">x</a>'),
        ('<a href="/q?x={{ . | urlquery }}">x</a>', "a b&c", '<a href="/q?x=a&#43;b%26c">x</a>'),
        ('<a title="{{ . }}">x</a>', '"x"', '<a title="&#34;x&#34;">x</a>'),
        ("<p>{{ safeHtml . }}</p>", "<b>x</b>", "<p><b>x</b></p>"),
        ("<p>{{ . | html }}</p>", "<b>", "<p>&lt;b&gt;</p>"),
        ("a<!-- gone -->b{{ . }}", "c", "abc"),
        ("<title>{{ . }}</title>", "<x>", "<title>&lt;x&gt;</title>"),
        ("<p>{{ .missing }}</p>", {}, "<p></p>"),
    ],
)
def test_html_contexts(text: str, data: object, want: str) -> None:
    assert TemplateSet(alertmanager_funcs(), html=True).parse(text, "t").execute("t", data) == want


def test_kv_methods() -> None:
    kv = KV({"zone": "z", "alertname": "A", "job": "j"})
    assert kv.SortedPairs().Names() == ["alertname", "job", "zone"]
    assert kv.Values() == ["A", "j", "z"]
    assert kv.Remove(["job"]) == {"zone": "z", "alertname": "A"}
    out = TemplateSet(alertmanager_funcs()).parse(
        "{{ . }}|{{ .SortedPairs }}|{{ range .SortedPairs }}{{ . }}{{ end }}|{{ .job }}|[{{ .nope }}]", "t"
    )
    assert out.execute("t", kv) == (
        "map[alertname:A job:j zone:z]|[{alertname A} {job j} {zone z}]|{alertname A}{job j}{zone z}|j|[<no value>]"
    )


def _alert(status: str) -> Alert:
    return Alert(status, KV(alertname="A"), KV(), parse_rfc3339("2026-11-21T23:51:09.641041672Z"))


def test_alerts_filters_and_time_methods() -> None:
    alerts = Alerts([_alert("firing"), _alert("resolved"), _alert("firing")])
    assert len(alerts.Firing()) == 2 and len(alerts.Resolved()) == 1
    ts = TemplateSet(alertmanager_funcs()).parse(
        '{{ .StartsAt }}|{{ .StartsAt.Format "2006-01-02T15:04:05.000Z07:00" }}|{{ .EndsAt.IsZero }}|'
        '{{ date "Mon Jan _2 15:04:05 MST 2006" .StartsAt }}|{{ (tz "Europe/Berlin" .StartsAt).Format "15:04 -0700 MST" }}|'
        "{{ .StartsAt.Unix }}",
        "t",
    )
    assert ts.execute("t", alerts[0]) == (
        "2026-11-21 23:51:09.641041672 +0000 UTC|2026-11-21T23:51:09.641Z|true|"
        "Sat Nov 21 23:51:09 UTC 2026|00:51 +0100 CET|1795305069"
    )


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('{{ toUpper "abc" }}|{{ toLower "ABC" }}|{{ title "hello wORLD foo_bar" }}', "ABC|abc|Hello World Foo_bar"),
        ('{{ trimSpace "  a b \\n" }}|{{ stringSlice "a" "b" | join "," }}|{{ join "-" (stringSlice) }}', "a b|a,b|"),
        ('{{ match "^a" "abc" }}|{{ reReplaceAll "(a)" "<$1>" "banana" }}', "true|b<a>n<a>n<a>"),
        ('{{ urlUnescape "a%20b+c" }}|{{ safeUrl "x" }}|{{ safeHtml "<b>" }}', "a b c|x|<b>"),
        ('{{ humanizeDuration 3661 }}|{{ humanizeDuration "0.5" }}', "1h 1m 1s|500ms"),
        ('{{ toJson (stringSlice "a" "<b>") }}', '["a","\\u003cb\\u003e"]'),
        ('{{ since (tz "UTC" .) }}', "1h0m0.5s"),
    ],
)
def test_alertmanager_funcs(text: str, want: str) -> None:
    now = GoTime(1_700_003_600_500_000_000)
    ts = TemplateSet(alertmanager_funcs(now=lambda: now)).parse(text, "t")
    assert ts.execute("t", GoTime(1_700_000_000 * 10**9)) == want


def test_url_unescape_error() -> None:
    ts = TemplateSet(alertmanager_funcs()).parse('{{ urlUnescape "%zz" }}', "t")
    with pytest.raises(TemplateError, match='error calling urlUnescape: invalid URL escape "%zz"'):
        ts.execute("t", None)


def test_to_json_of_data_uses_go_field_names() -> None:
    data = _data("g1-two-firing")
    doc = json.loads(to_json(data))
    assert doc["receiver"] == "hook" and doc["alerts"][0]["startsAt"].endswith("Z")
    assert doc["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert list(doc) == sorted(doc)
