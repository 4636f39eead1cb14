#include "keysat/api/page_assets.hpp"

namespace keysat::api {

namespace {

// Phone first: one column, large touch targets, visible focus rings; the brand colour and the
// text colour on it come from the page (--brand, --on-brand).
constexpr const char* k_css = R"CSS(*,*::before,*::after{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;color:#111827;background:#f3f4f6}
body{margin:0;min-height:100vh;display:flex;flex-direction:column}
.top{background:var(--brand);color:var(--on-brand);padding:.75rem 1rem;font-weight:600}
main{flex:1;width:100%;max-width:44rem;margin:0 auto;padding:1rem}
footer{color:#4b5563;font-size:.875rem;text-align:center;padding:1rem}
.card{background:#fff;border-radius:.75rem;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.5rem;margin:0 0 .5rem;overflow-wrap:anywhere}
h2{font-size:1.125rem;margin:1.5rem 0 .5rem}
.lead{color:#374151;overflow-wrap:anywhere}
.aside{color:#4b5563;font-size:.875rem;overflow-wrap:anywhere}
fieldset.tiers{border:0;padding:0;margin:1rem 0}
legend{font-weight:600;margin-bottom:.5rem}
.tiers{display:grid;gap:.75rem}
.tier{position:relative;display:flex;flex-direction:column;gap:.25rem;border:2px solid #d1d5db;border-radius:.75rem;padding:.75rem 1rem;overflow-wrap:anywhere}
.tier label.tier-head{cursor:pointer}
.tier label.tier-head::after{content:"";position:absolute;inset:0}
.tier p{margin:0}
.tier.highlighted{border-color:var(--brand)}
.tier:has(input:checked),.tier:focus-within{border-color:var(--brand);box-shadow:0 0 0 3px color-mix(in srgb,var(--brand) 30%,transparent)}
.tier input[type=radio]{position:absolute;z-index:1;top:1rem;right:1rem;width:1.25rem;height:1.25rem;accent-color:var(--brand)}
.tier-head{display:flex;gap:.5rem;align-items:center;padding-right:2rem}
.tier-name{font-weight:600;font-size:1.0625rem}
.badge{white-space:nowrap;background:var(--brand);color:var(--on-brand);border-radius:999px;font-size:.75rem;padding:.125rem .5rem}
.price .now{font-size:1.25rem}
.price .was{color:#6b7280}
.terms,.tier-description{color:#4b5563;font-size:.9375rem}
.featured{margin:0;color:#065f46;font-size:.875rem}
ul.bullets,ul.entitlements{margin:.25rem 0;padding-left:1.25rem}
ul.entitlements li{font-family:ui-monospace,monospace;font-size:.875rem}
.field{display:flex;flex-direction:column;gap:.25rem;margin:1rem 0 0;font-weight:600}
.hint{font-weight:400;color:#4b5563}
input[type=text],input[type=email],textarea{font:inherit;font-weight:400;padding:.625rem .75rem;border:1px solid #9ca3af;border-radius:.5rem;width:100%;min-height:2.75rem}
textarea{font-family:ui-monospace,monospace;font-size:.875rem;word-break:break-all}
.code-row{display:flex;gap:.5rem}
button,.button{font:inherit;font-weight:600;display:inline-block;text-decoration:none;text-align:center;background:var(--brand);color:var(--on-brand);border:0;border-radius:.5rem;padding:.75rem 1.25rem;min-height:2.75rem;cursor:pointer}
button.secondary{background:#e5e7eb;color:#111827}
button[type=submit]{width:100%;margin-top:1rem;font-size:1.0625rem}
button:disabled{opacity:.6;cursor:wait}
:focus-visible{outline:3px solid #111827;outline-offset:2px}
#code-result{min-height:1.5rem;margin:.25rem 0 0}
#code-result.ok{color:#065f46}
#code-result.bad,.error{color:#b91c1c}
.total{font-size:1.125rem;margin:1rem 0 0}
fieldset.rails{border:0;padding:0;margin:1rem 0 0;display:flex;flex-wrap:wrap;gap:.5rem}
fieldset.rails legend{width:100%}
.rail{display:flex;align-items:center;gap:.5rem;border:2px solid #d1d5db;border-radius:.5rem;padding:.5rem .75rem;min-height:2.75rem;cursor:pointer}
.rail:has(input:checked){border-color:var(--brand)}
.rail input{accent-color:var(--brand)}
code{font-family:ui-monospace,monospace;overflow-wrap:anywhere}
#copy-key{margin-top:.5rem}
#copy-result{margin-left:.75rem}
@media (min-width:40rem){.tiers{grid-template-columns:repeat(auto-fit,minmax(12rem,1fr))}}
)CSS";

// The buy page: the total follows the chosen tier, and a typed code is previewed live. The form
// itself posts without any of this.
constexpr const char* k_buy_js = R"JS('use strict';
(function () {
  var data = JSON.parse(document.getElementById('buy-data').textContent);
  var form = document.getElementById('buy-form');
  var total = document.getElementById('total');
  var code = document.getElementById('code');
  var apply = document.getElementById('apply-code');
  var result = document.getElementById('code-result');
  var preview = null;
  function money(amount) {
    if (data.currency === 'USD' || data.currency === 'EUR') {
      return (data.currency === 'USD' ? '$' : '\u20ac') +
        (amount / 100).toLocaleString('en-US', {minimumFractionDigits: 2, maximumFractionDigits: 2});
    }
    return amount === 1 ? '1 sat' : amount.toLocaleString('en-US') + ' sats';
  }
  function tier() {
    var checked = form.querySelector('input[name=policy_slug]:checked') ||
      form.querySelector('input[name=policy_slug][type=hidden]');
    var slug = checked ? checked.value : '';
    for (var i = 0; i < data.tiers.length; i++) if (data.tiers[i].slug === slug) return data.tiers[i];
    return null;
  }
  function show() {
    var t = tier();
    if (preview && preview.valid) total.textContent = money(preview.final_price_sats);
    else if (t) total.textContent = money(t.price);
  }
  function check() {
    var typed = code.value.trim();
    preview = null;
    result.textContent = '';
    result.className = '';
    if (!typed) { show(); return; }
    var t = tier();
    var q = '?product=' + encodeURIComponent(data.product) + '&code=' + encodeURIComponent(typed);
    if (t) q += '&policy_slug=' + encodeURIComponent(t.slug);
    apply.disabled = true;
    fetch('/v1/discount-codes/preview' + q, {headers: {'Accept': 'application/json'}})
      .then(function (r) { return r.json(); })
      .then(function (p) {
        if (code.value.trim() !== typed) return;
        preview = p;
        result.textContent = p.message || (p.valid ? 'Code applied.' : 'This code does not apply.');
        result.className = p.valid ? 'ok' : 'bad';
        show();
      })
      .catch(function () { result.textContent = 'The code could not be checked; it is checked again when you pay.'; })
      .then(function () { apply.disabled = false; });
  }
  apply.hidden = false;
  apply.addEventListener('click', check);
  code.addEventListener('keydown', function (e) {
    if (e.key === 'Enter') { e.preventDefault(); check(); }
  });
  code.addEventListener('input', function () { preview = null; result.textContent = ''; show(); });
  form.addEventListener('change', function (e) {
    if (e.target.name === 'policy_slug') { if (code.value.trim()) check(); else show(); }
  });
  form.addEventListener('submit', function () {
    var pay = document.getElementById('pay');
    setTimeout(function () { pay.disabled = true; pay.textContent = 'Opening the checkout\u2026'; }, 0);
  });
  if (code.value.trim()) check(); else show();
})();
)JS";

// The thank-you page asks for the purchase every two seconds while it is pending and reloads
// when it changes; the copy button on the thank-you and recover pages.
constexpr const char* k_thank_you_js = R"JS('use strict';
(function () {
  var key = document.getElementById('license-key');
  var copy = document.getElementById('copy-key');
  if (key && copy) {
    copy.hidden = false;
    copy.addEventListener('click', function () {
      var said = document.getElementById('copy-result');
      function done(text) { if (said) said.textContent = text; }
      key.select();
      if (navigator.clipboard) {
        navigator.clipboard.writeText(key.value).then(function () { done('Copied.'); },
          function () { done(document.execCommand('copy') ? 'Copied.' : 'Press Ctrl+C to copy.'); });
      } else {
        done(document.execCommand('copy') ? 'Copied.' : 'Press Ctrl+C to copy.');
      }
    });
  }
  var block = document.getElementById('purchase-data');
  if (!block) return;
  var data = JSON.parse(block.textContent);
  if (data.status !== 'new' && data.status !== 'processing') return;
  var url = '/v1/purchase/' + encodeURIComponent(data.invoice_id);
  function poll() {
    fetch(url, {headers: {'Accept': 'application/json'}, cache: 'no-store'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (p && p.status && p.status !== 'pending') location.reload();
        else setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
)JS";

// The operator's console: a top bar, the navigation (a row of links that wraps on a phone),
// tables that become stacked cards below 48rem, and forms in cards. No colour but the frame's.
constexpr const char* k_console_css = R"CSS(*,*::before,*::after{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;color:#111827;background:#f3f4f6}
body{margin:0}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem;z-index:2}
.skip:focus{left:0}
.bar{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;background:#111827;color:#fff;padding:.5rem 1rem}
.shop{font-weight:700;overflow-wrap:anywhere}
.who{display:flex;gap:.75rem;align-items:center;margin:0;font-size:.875rem}
.who button{background:#374151;color:#fff;margin:0;padding:.375rem .75rem;min-height:2.25rem}
nav ul{display:flex;flex-wrap:wrap;gap:.25rem;list-style:none;margin:0;padding:.5rem 1rem;background:#fff;border-bottom:1px solid #e5e7eb}
nav a{display:block;padding:.375rem .625rem;border-radius:.375rem;color:#1f2937;text-decoration:none}
nav a[aria-current=page]{background:#1d4ed8;color:#fff}
main{max-width:80rem;margin:0 auto;padding:1rem}
main:focus{outline:none}
h1{font-size:1.5rem;margin:.25rem 0 1rem}
h2{font-size:1.125rem;margin:1.5rem 0 .5rem}
section{margin-bottom:1.5rem}
.card{background:#fff;border-radius:.75rem;padding:1rem;box-shadow:0 1px 3px rgba(0,0,0,.12);display:grid;gap:.375rem;max-width:40rem}
.narrow{max-width:24rem;margin:2rem auto}
label{font-weight:600}
input,select,textarea{font:inherit;padding:.5rem .625rem;border:1px solid #9ca3af;border-radius:.5rem;min-height:2.75rem;width:100%}
textarea{font-family:ui-monospace,monospace;font-size:.875rem}
.hint{margin:0;font-size:.875rem;color:#4b5563}
dl.terms{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}
dl.terms dt{font-weight:600;color:#374151}
dl.terms dd{margin:0;overflow-wrap:anywhere}
details>summary{cursor:pointer;padding:.25rem 0}
.check{display:flex;gap:.5rem;align-items:center}
.check input{width:auto;min-height:auto}
button{font:inherit;font-weight:600;background:#1d4ed8;color:#fff;border:0;border-radius:.5rem;padding:.5rem 1rem;min-height:2.75rem;cursor:pointer;margin-top:.5rem}
form.inline{display:inline;margin:0}
form.inline button{margin:.125rem;padding:.25rem .75rem;min-height:2.25rem;background:#e5e7eb;color:#111827;border:1px solid #9ca3af}
.inline-search{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin-bottom:1rem}
.inline-search input{width:auto;flex:1;min-width:12rem}
.inline-search label{width:100%}
.inline-search button{margin:0}
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.scroll{overflow-x:auto;background:#fff;border-radius:.75rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
table{border-collapse:collapse;width:100%;font-size:.9375rem}
th,td{text-align:left;padding:.5rem .75rem;border-bottom:1px solid #e5e7eb;vertical-align:top;overflow-wrap:break-word}
th{white-space:nowrap}
td.actions{white-space:nowrap}
th{background:#f9fafb;font-size:.8125rem;text-transform:uppercase;letter-spacing:.03em;color:#374151}
.empty{color:#4b5563}
.notice{padding:.75rem 1rem;border-radius:.5rem;margin:0 0 1rem}
.notice.ok{background:#ecfdf5;color:#065f46}
.notice.error{background:#fef2f2;color:#991b1b}
pre.secret{background:#fff;border:2px dashed #1d4ed8;padding:1rem;border-radius:.5rem;white-space:pre-wrap;word-break:break-all}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:.75rem;list-style:none;padding:0;margin:0 0 1.5rem}
.tiles li{background:#fff;border-radius:.75rem;padding:1rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.tiles .n{display:block;font-size:1.75rem;font-weight:700}
.chart{background:#fff;border-radius:.75rem;padding:1rem;box-shadow:0 1px 3px rgba(0,0,0,.12);margin-bottom:1rem}
.chart svg{width:100%;height:auto;display:block}
.chart figcaption{font-weight:600;margin-bottom:.5rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem}
.legend{font-weight:400;display:flex;gap:.75rem}
.key{display:inline-flex;align-items:center;gap:.25rem}
figure.chart{margin:0 0 1rem}
.chart details{margin-top:.5rem}
.chart rect:hover{opacity:.8}
.periods{display:flex;gap:.5rem;margin-bottom:1rem}
.periods a{padding:.375rem .75rem;border-radius:999px;background:#fff;color:#1f2937;text-decoration:none;border:1px solid #d1d5db}
.periods a[aria-current]{background:#1d4ed8;color:#fff;border-color:#1d4ed8}
.tiles a{color:inherit}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
code{font-family:ui-monospace,monospace}
@media (max-width:48rem){
table,thead,tbody,tr,th,td{display:block}
thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
tr{border-bottom:2px solid #e5e7eb;padding:.5rem 0}
td{border:0;padding:.25rem .75rem}
td[data-label]::before{content:attr(data-label) ": ";font-weight:600;color:#374151}
}
)CSS";

} // namespace

const std::vector<PageAsset>& page_assets() {
    static const std::vector<PageAsset> assets = {
        {"keysat.css", "text/css; charset=utf-8", k_css},
        {"buy.js", "text/javascript; charset=utf-8", k_buy_js},
        {"thank-you.js", "text/javascript; charset=utf-8", k_thank_you_js},
        {"console.css", "text/css; charset=utf-8", k_console_css}};
    return assets;
}

} // namespace keysat::api
