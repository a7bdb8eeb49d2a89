# ruff: noqa: E501  (CASES holds long one-line templates verbatim)
"""Alertmanager templates against amtool 0.25 (`amtool template render`), text and html/template.

CASES hold amtool's output for each template with data-g1-one-resolved-two-firing.json as dot
and default-v0.25.0.tmpl loaded; the peer test re-runs amtool on them when it is installed.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import pytest

from conformance_data import CONFORMANCE
from watchkeeper.template import TemplateError, TemplateSet
from watchkeeper.template.alertmanager_data import Data
from watchkeeper.template.alertmanager_funcs import alertmanager_funcs

TMPL = CONFORMANCE / "alertmanager" / "templates"
DATA = TMPL / "data-g1-one-resolved-two-firing.json"
DEFAULT = TMPL / "default-v0.25.0.tmpl"

CASES = [
    ('text', '{{ .CommonLabels }}|{{ .CommonLabels.SortedPairs }}|{{ range .CommonLabels.SortedPairs }}{{ . }}{{ end }}|{{ .GroupLabels.Names }}|{{ .Alerts.Firing | len }}',
     'map[alertname:G1]|[{alertname G1}]|{alertname G1}|[alertname]|2'),
    ('text', '{{ (index .Alerts 0).StartsAt }}|{{ (index .Alerts 0).EndsAt }}|{{ (index .Alerts 1).EndsAt }}|{{ (index .Alerts 1).StartsAt.Format "Jan 2 15:04:05.000" }}',
     '2026-11-21 23:51:08.638976 +0000 UTC|2026-11-21 23:51:28.642583 +0000 UTC|0001-01-01 00:00:00 +0000 UTC|Nov 21 23:51:09.641'),
    ('text', '{{ index .Alerts 0 }}',
     '{resolved map[alertname:G1 instance:a] map[summary:s a] 2026-11-21 23:51:08.638976 +0000 UTC 2026-11-21 23:51:28.642583 +0000 UTC http://gen/x 89ebaa99bbf4f944}'),
    ('text', '{{ title "hello wORLD foo_bar o\'neil x.y 3rd ÉCOLE" }}|{{ toUpper "straße" }}',
     "Hello World Foo_bar O'neil X.y 3Rd École|STRAßE"),
    ('text', '{{ .Alerts }}',
     '[{resolved map[alertname:G1 instance:a] map[summary:s a] 2026-11-21 23:51:08.638976 +0000 UTC 2026-11-21 23:51:28.642583 +0000 UTC http://gen/x 89ebaa99bbf4f944} {firing map[alertname:G1 instance:b] map[summary:s b] 2026-11-21 23:51:09.641041672 +0000 UTC 0001-01-01 00:00:00 +0000 UTC http://gen/x 89efaa99bbf8e21b} {firing map[alertname:G1 instance:c] map[summary:s c] 2026-11-21 23:51:11.642277964 +0000 UTC 0001-01-01 00:00:00 +0000 UTC http://gen/x 89f1aa99bbf964f2}]'),
    ('text', '{{ .Foo }}',
     'ERROR: template: :1:3: executing "" at <.Foo>: can\'t evaluate field Foo in type template.Data'),
    ('text', '{{ .CommonLabels.nope }}|{{ .CommonLabels.Remove (stringSlice "alertname") }}',
     '|map[]'),
    ('text', '{{ reReplaceAll "(\\\\w+)" "<$1>" .Receiver }}|{{ match "^h" .Receiver }}',
     '<hook>|true'),
    ('text', '{{ printf "%v|%s|%q" .CommonLabels .GroupLabels.SortedPairs .Receiver }}',
     'map[alertname:G1]|[{alertname G1}]|"hook"'),
    ('text', '{{ . }}',
     '{hook firing [{resolved map[alertname:G1 instance:a] map[summary:s a] 2026-11-21 23:51:08.638976 +0000 UTC 2026-11-21 23:51:28.642583 +0000 UTC http://gen/x 89ebaa99bbf4f944} {firing map[alertname:G1 instance:b] map[summary:s b] 2026-11-21 23:51:09.641041672 +0000 UTC 0001-01-01 00:00:00 +0000 UTC http://gen/x 89efaa99bbf8e21b} {firing map[alertname:G1 instance:c] map[summary:s c] 2026-11-21 23:51:11.642277964 +0000 UTC 0001-01-01 00:00:00 +0000 UTC http://gen/x 89f1aa99bbf964f2}] map[alertname:G1] map[alertname:G1] map[] http://vm:19093}'),
    ('text', '{{ (index .Alerts 0).Labels.SortedPairs.Values | join "," }}|{{ printf "%T %T" .Alerts .CommonLabels }}',
     'G1,a|template.Alerts template.KV'),
    ('html', '<p>{{ .Receiver }}</p><a href="{{ .ExternalURL }}/x?r={{ .Receiver }}&s={{ .Status }}">x</a>',
     '<p>hook</p><a href="http://vm:19093/x?r=hook&s=firing">x</a>'),
    ('html', '<p>{{ "<b>&\'\\"+=`" }}</p><a title=\'{{ "<b>&\'\\"+" }}\'>y</a><a title={{ "a b=c" }}>z</a>',
     "<p>&lt;b&gt;&amp;&#39;&#34;&#43;=`</p><a title='&lt;b&gt;&amp;&#39;&#34;&#43;'>y</a><a title=a&#32;b&#61;c>z</a>"),
    ('html', '<a href="{{ "javascript:alert(1)" }}">a</a><a href="{{ "HTTPS://x" }}">b</a><a href="{{ "/rel path?q=<é>" }}">c</a><a href="x?{{ "a b&c/d?é" }}">d</a>',
     '<a href="#ZgotmplZ">a</a><a href="HTTPS://x">b</a><a href="/rel%20path?q=%3c%c3%a9%3e">c</a><a href="x?a%20b%26c%2fd%3f%c3%a9">d</a>'),
    ('html', '<a href="{{ safeHtml "javascript:x" }}">a</a><p>{{ safeHtml "<i>ok</i>" }}</p><a title="{{ safeHtml "<i>t&amp;</i> x" }}">b</a>',
     '<a href="#ZgotmplZ">a</a><p><i>ok</i></p><a title="t&amp; x">b</a>'),
    ('html', '<!-- c -->a<!--x-->b{{ .Receiver }}<!-- {{ .Receiver }} -->c',
     'abhookc'),
    ('html', '<title>{{ "<x>" }}</title><textarea>{{ "</textarea>" }}</textarea>',
     '<title>&lt;x&gt;</title><textarea>&lt;/textarea&gt;</textarea>'),
    ('html', '<script>var x = {{ .Receiver }}; var y = {{ 1 }}; var z = {{ .CommonLabels }};</script>',
     '<script>var x = "hook"; var y =  1 ; var z = {"alertname":"G1"};</script>'),
    ('html', '<a onclick="f({{ .Receiver }})">x</a><div style="color: {{ "red" }}">s</div><div style="{{ "x;y" }}">t</div>',
     '<a onclick="f(&#34;hook&#34;)">x</a><div style="color: red">s</div><div style="ZgotmplZ">t</div>'),
    ('html', '<a href="/q?x={{ . | urlquery }}">x</a>{{ .Receiver | html }}',
     '<a href="/q?x=%7Bhook&#43;firing&#43;%5B%7Bresolved&#43;map%5Balertname%3AG1&#43;instance%3Aa%5D&#43;map%5Bsummary%3As&#43;a%5D&#43;2026-11-21&#43;23%3A51%3A08.638976&#43;%2B0000&#43;UTC&#43;2026-11-21&#43;23%3A51%3A28.642583&#43;%2B0000&#43;UTC&#43;http%3A%2F%2Fgen%2Fx&#43;89ebaa99bbf4f944%7D&#43;%7Bfiring&#43;map%5Balertname%3AG1&#43;instance%3Ab%5D&#43;map%5Bsummary%3As&#43;b%5D&#43;2026-11-21&#43;23%3A51%3A09.641041672&#43;%2B0000&#43;UTC&#43;0001-01-01&#43;00%3A00%3A00&#43;%2B0000&#43;UTC&#43;http%3A%2F%2Fgen%2Fx&#43;89efaa99bbf8e21b%7D&#43;%7Bfiring&#43;map%5Balertname%3AG1&#43;instance%3Ac%5D&#43;map%5Bsummary%3As&#43;c%5D&#43;2026-11-21&#43;23%3A51%3A11.642277964&#43;%2B0000&#43;UTC&#43;0001-01-01&#43;00%3A00%3A00&#43;%2B0000&#43;UTC&#43;http%3A%2F%2Fgen%2Fx&#43;89f1aa99bbf964f2%7D%5D&#43;map%5Balertname%3AG1%5D&#43;map%5Balertname%3AG1%5D&#43;map%5B%5D&#43;http%3A%2F%2Fvm%3A19093%7D">x</a>hook'),
    ('html', '{{ range .Alerts }}<li class="{{ .Status }}">{{ .Labels.instance }}</li>{{ end }}',
     '<li class="resolved">a</li><li class="firing">b</li><li class="firing">c</li>'),
    ('html', '<img src="{{ "http://x/a.png" }}" alt="{{ "a\\"b" }}"><a data-url="{{ "javascript:x" }}">d</a><a data-x="{{ "<" }}">e</a>',
     '<img src="http://x/a.png" alt="a&#34;b"><a data-url="#ZgotmplZ">d</a><a data-x="&lt;">e</a>'),
    ('html', '<p>{{ .Nope }}</p><p>{{ 1.5 }}</p><p>{{ nil }}</p>',
     'ERROR: template: :1:6: executing "" at <.Nope>: can\'t evaluate field Nope in type template.Data'),
    ('html', '<a href={{ .ExternalURL }}>x</a><a href=\'{{ .ExternalURL }}/{{ .Receiver }}#{{ "a b" }}\'>y</a>',
     "<a href=http://vm:19093>x</a><a href='http://vm:19093/hook#a%20b'>y</a>"),
    ('html', '<a href="{{ template "__alertmanagerURL" . }}">u</a><b>{{ template "__subject" . }}</b>',
     '<a href="http://vm:19093/#/alerts?receiver=hook">u</a><b>[FIRING:2] G1 </b>'),
    ('html', '<script>var s = \'{{ "a\'b</script>" }}\'; var t = "{{ "x\\"y" }}";</script>',
     '<script>var s = \'a\\u0027b\\u003c\\/script\\u003e\'; var t = "x\\u0022y";</script>'),
    ('html', '<style>p { color: {{ "red" }}; }</style><p style="width: {{ "10px" }}">w</p><p style="{{ "expression(x)" }}">w</p>',
     '<style>p { color: red; }</style><p style="width: 10px">w</p><p style="ZgotmplZ">w</p>'),
    ('html', '<input value="{{ "a&b" }}" disabled><option {{ "selected" }}>o</option>',
     '<input value="a&amp;b" disabled><option selected>o</option>'),
    ('html', '{{ define "T" }}<i>{{ . }}</i>{{ end }}{{ template "T" "<x>" }}<a title="{{ template "T" "q" }}">a</a>',
     '<i>&lt;x&gt;</i><a title="<i>q</i>">a</a>'),
    ('html', '<a href="mailto:{{ "a@b.c" }}">m</a><a href="{{ "mailto:x@y" }}">n</a><a href="{{ "data:text/html,x" }}">d</a>',
     '<a href="mailto:a@b.c">m</a><a href="mailto:x@y">n</a><a href="#ZgotmplZ">d</a>'),
    ('html', '<p>{{ "é ✓ \\u2028" }}</p><a href="{{ "http://ü.example/ä?q=ö" }}">u</a>',
     '<p>é ✓ \u2028</p><a href="http://%c3%bc.example/%c3%a4?q=%c3%b6">u</a>'),
    ('html', '{{ range $i, $a := .Alerts }}{{ if $i }}, {{ end }}<a href="{{ $a.GeneratorURL }}?fp={{ $a.Fingerprint }}">{{ $a.Labels.instance }}</a>{{ end }}',
     '<a href="http://gen/x?fp=89ebaa99bbf4f944">a</a>, <a href="http://gen/x?fp=89efaa99bbf8e21b">b</a>, <a href="http://gen/x?fp=89f1aa99bbf964f2">c</a>'),
    ('html', '<p>{{ printf "%d < %d" 1 2 }}</p><p>{{ print "a" 1 }}</p><p>{{ len .Alerts }}</p><p>{{ .Alerts.Firing | len }}</p>',
     '<p>1 &lt; 2</p><p>a1</p><p>3</p><p>2</p>'),
    ('html', '<div data-x="{{ .Receiver }}" class="a {{ .Status }} b" id={{ "a b" }}>d</div>',
     '<div data-x="hook" class="a firing b" id=a&#32;b>d</div>'),
    ('html', '<a href="http://x/{{ "a/b c" }}?{{ "k=v&w" }}">p</a>',
     '<a href="http://x/a/b%20c?k%3dv%26w">p</a>'),
    ('html', '<p title="{{ "x" }}" {{ if true }}checked{{ end }}>c</p>',
     '<p title="x" checked>c</p>'),
    ('text', '{{ .Receiver | printf "%q" }}{{ (index .Alerts 0).Annotations }}{{ range $k, $v := (index .Alerts 0).Labels }}{{ $k }}{{ $v }}{{ end }}',
     '"hook"map[summary:s a]alertnameG1instancea'),
    ('text', '{{ index .CommonLabels "alertname" }}|{{ index .CommonLabels "nope" }}|{{ len .CommonAnnotations }}|{{ if .CommonAnnotations }}y{{ else }}n{{ end }}',
     'G1||0|n'),
    ('text', '{{ .Alerts.Resolved }}',
     '[{resolved map[alertname:G1 instance:a] map[summary:s a] 2026-11-21 23:51:08.638976 +0000 UTC 2026-11-21 23:51:28.642583 +0000 UTC http://gen/x 89ebaa99bbf4f944}]'),
    ('text', '{{ with .CommonAnnotations.summary }}x{{ else }}none{{ end }}|{{ .GroupLabels.alertname }}',
     'none|G1'),
    ('text', '{{ range $i, $a := .Alerts }}{{ $i }}:{{ $.Receiver }}:{{ $a.Status }}{{ end }}',
     '0:hook:resolved1:hook:firing2:hook:firing'),
    ('text', '{{ define "x" }}{{ $ }}|{{ . }}{{ end }}{{ template "x" .Status }}',
     'firing|firing'),
    ('text', '{{ printf "%s|%v|%d" .Alerts.Firing .GroupLabels (len .Alerts) }}',
     '[{firing map[alertname:G1 instance:b] map[summary:s b] 2026-11-21 23:51:09.641041672 +0000 UTC 0001-01-01 00:00:00 +0000 UTC http://gen/x 89efaa99bbf8e21b} {firing map[alertname:G1 instance:c] map[summary:s c] 2026-11-21 23:51:11.642277964 +0000 UTC 0001-01-01 00:00:00 +0000 UTC http://gen/x 89f1aa99bbf964f2}]|map[alertname:G1]|3'),
    ('text', '{{ range .Alerts }}{{ .StartsAt.Unix }} {{ .StartsAt.Format "2006-01-02T15:04:05.999999999Z07:00" }} {{ .EndsAt.IsZero }} {{ .StartsAt.Year }}{{ end }}',
     '1795305068 2026-11-21T23:51:08.638976Z false 20261795305069 2026-11-21T23:51:09.641041672Z true 20261795305071 2026-11-21T23:51:11.642277964Z true 2026'),
    ('text', '{{ (index .Alerts 0).EndsAt.Sub (index .Alerts 0).StartsAt }}',
     '20.003607s'),
    ('text', '{{ with $x := .Receiver }}{{ $x }}{{ end }}{{ if $y := .Status }}{{ $y }}{{ end }}',
     'hookfiring'),
    ('text', '{{ .Alerts.Firing.Resolved | len }}{{ len .Alerts.Resolved.Firing }}',
     'ERROR: template: :1:10: executing "" at <.Alerts.Firing.Resolved>: can\'t evaluate field Resolved in type []template.Alert'),
    ('text', '{{ index .Alerts.Firing 0 | printf "%v" }}',
     '{firing map[alertname:G1 instance:b] map[summary:s b] 2026-11-21 23:51:09.641041672 +0000 UTC 0001-01-01 00:00:00 +0000 UTC http://gen/x 89efaa99bbf8e21b}'),
    ('text', '{{ range .CommonLabels.SortedPairs }}{{ .Name | toUpper }}={{ .Value | printf "%q" }}{{ end }}',
     'ALERTNAME="G1"'),
    ('text', '{{ .CommonLabels.SortedPairs.Names }} {{ .CommonLabels.Names | len }} {{ .CommonLabels.Values }}',
     '[alertname] 1 [G1]'),
    ('text', '{{ eq .Status "firing" }} {{ ne (len .Alerts) 3 }} {{ gt (len .Alerts.Firing) (len .Alerts.Resolved) }}',
     'true false true'),
    ('text', '{{ match "fir.*" .Status }} {{ reReplaceAll "^(\\\\w)" "[$1]" .Status }} {{ title .Status }} {{ join "+" .GroupLabels.Values }}',
     'true [f]iring Firing G1'),
    ('text', '{{ template "__subject" . }}|{{ template "__text_alert_list" .Alerts.Resolved }}|',
     '[FIRING:2] G1 |Labels:\n - alertname = G1\n - instance = a\nAnnotations:\n - summary = s a\nSource: http://gen/x\n|'),
    ('text', '{{ range $k, $v := .CommonLabels }}{{ $k }}{{ $v }}{{ end }}{{ range .CommonAnnotations }}x{{ else }}no{{ end }}',
     'alertnameG1no'),
    ('text', '{{ .Alerts.Firing.Foo }}',
     'ERROR: template: :1:10: executing "" at <.Alerts.Firing.Foo>: can\'t evaluate field Foo in type []template.Alert'),
    ('text', '{{ .CommonLabels.Remove }}',
     'ERROR: template: :1:16: executing "" at <.CommonLabels.Remove>: wrong number of args for Remove: want 1 got 0'),
    ('text', '{{ index .Alerts 9 }}',
     'ERROR: template: :1:3: executing "" at <index .Alerts 9>: error calling index: index out of range: 9'),
    ('text', '{{ .StartsAt }}',
     'ERROR: template: :1:3: executing "" at <.StartsAt>: can\'t evaluate field StartsAt in type template.Data'),
    ('text', '{{ (index .Alerts 0).Labels.alertname.x }}',
     'ERROR: template: :1:18: executing "" at <0>: can\'t evaluate field x in type string'),
    ('text', '{{ printf "%.3s|%5.1f%%" .Receiver 99.44 }}',
     'hoo| 99.4%'),
    ('text', '{{ (index .Alerts 1).EndsAt }}|{{ (index .Alerts 0).Fingerprint }}|{{ (index .Alerts 0).GeneratorURL }}',
     '0001-01-01 00:00:00 +0000 UTC|89ebaa99bbf4f944|http://gen/x'),
    ('text', '{{ stringSlice "b" "a" }} {{ stringSlice }} {{ printf "%q" (stringSlice "x") }}',
     '[b a] [] ["x"]'),
    ('html', '<a href="{{ "  x y  " }}">a</a><a href="http://a/?q={{ "é&é" }}&r={{ "+" }}">b</a><a href="{{ "//evil.com/x" }}">c</a>',
     '<a href="%20%20x%20y%20%20">a</a><a href="http://a/?q=%c3%a9%26%c3%a9&r=%2b">b</a><a href="//evil.com/x">c</a>'),
    ('html', '<img srcset="{{ "a.png 1x, javascript:x 2x" }}"><a href="{{ "Javascript:x" }}">j</a><a href=" {{ "http://x" }}">s</a>',
     '<img srcset="a.png 1x,#ZgotmplZ"><a href="#ZgotmplZ">j</a><a href=" http://x">s</a>'),
    ('html', '<p class={{ safeHtml "<b>x y</b>" }}>u</p><p title="{{ 1 }}{{ true }}{{ 1.5 }}">n</p>',
     '<p class=x&#32;y>u</p><p title="1true1.5">n</p>'),
    ('html', '<a href="x#{{ "a b/c?d" }}">f</a><form action="{{ "/post?x=1" }}"></form><link rel="stylesheet" href="{{ "s.css" }}">',
     '<a href="x#a%20b%2fc%3fd">f</a><form action="/post?x=1"></form><link rel="stylesheet" href="s.css">'),
    ('html', '{{ if .Receiver }}<a href="{{ .ExternalURL }}">{{ else }}<b>{{ end }}x',
     '<a href="http://vm:19093">x'),
    ('html', '<textarea>{{ safeHtml "<b>&amp;</b>" }}</textarea><title>{{ safeHtml "a&amp;b<c>" }}</title>',
     '<textarea>&lt;b&gt;&amp;&lt;/b&gt;</textarea><title>a&amp;b&lt;c&gt;</title>'),
    ('html', '<p {{ "data-x" }}="{{ "v" }}">x</p><p title="{{ "a" }}" title2=\'{{ "b" }}\'>y</p>',
     '<p ZgotmplZ="v">x</p><p title="a" title2=\'b\'>y</p>'),
    ('html', '<a href="{{ "http://x/?a=1&b=2" }}">q</a><a href="http://x/{{ "?" }}{{ "a b" }}">r</a>',
     '<a href="http://x/?a=1&amp;b=2">q</a><a href="http://x/?a%20b">r</a>'),
    ('html', '<div>{{ "a" }}</div><br/>{{ "<br/>" }}<input type=text value={{ "a\'b" }}>',
     '<div>a</div><br/>&lt;br/&gt;<input type=text value=a&#39;b>'),
]


def render(kind: str, text: str) -> str:
    """Render like `amtool template render`: default templates loaded, errors as amtool shows them."""
    ts = TemplateSet(alertmanager_funcs(), html=kind == "html", missingkey="zero")
    try:
        ts.parse(DEFAULT.read_text(), DEFAULT.name).parse(text, "")
        return ts.execute("", Data.from_webhook(json.loads(DATA.read_text())))
    except TemplateError as e:
        return f"ERROR: {e}"


@pytest.mark.parametrize(("kind", "text", "want"), CASES)
def test_matches_amtool(kind: str, text: str, want: str) -> None:
    assert render(kind, text) == want


def _amtool() -> str:
    path = shutil.which("amtool")
    if path is None:
        pytest.skip("amtool not installed")
    return path


@pytest.mark.peer
def test_amtool_agrees() -> None:
    amtool = _amtool()
    for kind, text, _ in CASES:
        r = subprocess.run(
            [amtool, "template", "render", f"--template.glob={DEFAULT}", f"--template.data={DATA}",
             f"--template.type={kind}", f"--template.text={text}"],
            capture_output=True, text=True, timeout=60,
        )
        got = r.stdout if r.returncode == 0 else "ERROR: " + r.stderr.strip().removeprefix("amtool: error: ")
        assert got == render(kind, text), text


@pytest.mark.peer
@pytest.mark.parametrize("data", sorted(TMPL.glob("data-*.json")), ids=lambda p: p.stem)
def test_email_html_matches_amtool(data: pathlib.Path) -> None:
    """The whole HTML e-mail body (html/template) equals amtool's --template.type=html rendering."""
    amtool = _amtool()
    email = TMPL / "email.tmpl"
    text = '{{ template "email.default.html" . }}'
    r = subprocess.run(
        [amtool, "template", "render", f"--template.glob={DEFAULT}", f"--template.glob={email}",
         f"--template.data={data}", "--template.type=html", f"--template.text={text}"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    ts = TemplateSet(alertmanager_funcs(), html=True, missingkey="zero")
    ts.parse(DEFAULT.read_text(), DEFAULT.name).parse(email.read_text(), email.name).parse(text, "")
    assert ts.execute("", Data.from_webhook(json.loads(data.read_text()))) == r.stdout
