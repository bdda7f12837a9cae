"""The HTML report's inline style and script: responsive (phone width), printable, no external assets."""

CSS = """
:root{--ink:#1d2330;--muted:#5d6676;--line:#dde1e8;--bg:#f6f7f9;--card:#fff;--ok:#137a3a;--warn:#9a5b00;
--bad:#b3261e;--info:#2f5bd3;--chip:#eef1f6;color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:1180px;margin:0 auto;padding:1rem}
code,pre{font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
h1{font-size:1.45rem;margin:.2rem 0}
h2{font-size:1.1rem;margin:0;display:flex;gap:.5rem;align-items:baseline;flex-wrap:wrap;overflow-wrap:anywhere}
h3{font-size:.95rem;margin:.8rem 0 .3rem}
.muted{color:var(--muted)}
.pills{display:flex;gap:.4rem;flex-wrap:wrap;margin:.5rem 0}
.pill{border-radius:999px;padding:.1rem .6rem;font-weight:600;font-size:.85rem;background:var(--chip)}
.pill.passed{color:#fff;background:var(--ok)}.pill.failed,.pill.error{color:#fff;background:var(--bad)}
.pill.not_run{color:#fff;background:var(--muted)}
.o-passed{color:var(--ok)}.o-failed,.o-error{color:var(--bad)}.o-not_run{color:var(--muted)}
.sev-error{color:var(--bad)}.sev-warning{color:var(--warn)}.sev-info{color:var(--info)}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.9rem 1rem;margin:1rem 0}
.card.failed,.card.error{border-left:5px solid var(--bad)}.card.passed{border-left:5px solid var(--ok)}
.card.not_run{border-left:5px solid var(--muted)}
table{border-collapse:collapse;width:100%}
th,td{padding:.3rem .5rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.num{text-align:right;white-space:nowrap}
.summary a{color:inherit;overflow-wrap:anywhere}
.filters{display:flex;gap:.4rem;flex-wrap:wrap;margin:.6rem 0}
.filters button{font:inherit;border:1px solid var(--line);background:var(--chip);border-radius:5px;padding:.2rem .7rem;
cursor:pointer}.filters button[aria-pressed=true]{background:var(--ink);color:#fff}
.case-body{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1rem;margin-top:.6rem}
.facts{margin:.3rem 0;padding:0;list-style:none;font-size:.9rem}.facts li{margin:.1rem 0;overflow-wrap:anywhere}
.expects{list-style:none;margin:0;padding:0}.expects li{padding:.25rem 0;border-bottom:1px solid var(--line)}
.expects .mark{font-weight:700;margin-right:.3rem}
.expects .pass .mark{color:var(--ok)}.expects .fail .mark{color:var(--bad)}
.expects .obs{display:block;font-size:.85rem;color:var(--muted);overflow-wrap:anywhere}
.expects code{overflow-wrap:anywhere;white-space:pre-wrap}
.expects .muted{font-size:.8rem}
.findings{list-style:none;margin:0;padding:0}
.findings li{border-left:3px solid var(--line);padding:.2rem .6rem;margin:.4rem 0}
.findings li.error{border-color:var(--bad)}.findings li.warning{border-color:var(--warn)}
.findings li.info{border-color:var(--info)}
.findings .advice{display:block;margin-top:.15rem}
.findings .expected{font-size:.8rem;background:var(--chip);border-radius:4px;padding:0 .3rem}
.calls{font-size:.88rem;margin:.3rem 0 0;padding-left:1.1rem}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:.5rem;overflow:auto;max-height:22rem;
white-space:pre-wrap;overflow-wrap:anywhere}
details>summary{cursor:pointer;color:var(--muted);margin:.3rem 0}
figure.timeline{margin:0}
.svgwrap{overflow-x:auto}.svgwrap.narrow{display:none}
figure.timeline svg{width:100%;height:auto;display:block}
details.case-details>summary{color:inherit;margin:0;list-style-position:outside}
details.case-details>summary h2{display:inline-flex}
details.case-details:not([open])>summary p{margin-bottom:0}
.case-search{font:inherit;border:1px solid var(--line);border-radius:5px;padding:.2rem .5rem;min-width:12rem;
flex:1 1 12rem;max-width:22rem}
svg.legend{width:100%;max-width:760px;height:auto;display:block}
svg text{font:12px system-ui,sans-serif;fill:var(--ink)}
svg .axis{fill:var(--muted);font-size:11px;text-anchor:middle}
svg .grid{stroke:var(--line);stroke-width:1}
svg .lbl{font-size:12px}
svg .bar{stroke-width:1}
svg .bar.ok{fill:#cfdcff;stroke:#5b7fd9}svg .bar.bad{fill:#ffd6d2;stroke:var(--bad)}
svg .bar.warn{fill:#ffe6bf;stroke:var(--warn)}
svg .bar.ws.ok{fill:#cdeed8;stroke:#2e8b57}svg .bar.client{fill:#e7e9ee;stroke:#8a93a3}
svg .bar.client.bad{fill:#ffd6d2;stroke:var(--bad)}svg .bar.client.warn{fill:#ffe6bf;stroke:var(--warn)}
svg .bar.open{stroke-dasharray:4 3}
svg .tick{stroke:#2f4f9f;stroke-width:1.2}svg .tick.term{stroke:var(--ok);stroke-width:2.5}
svg .tick.frame-in{stroke:#7a4fb3;stroke-width:1.6}svg .tick.frame-out{stroke:#2e7d4f}
svg .tick.left{stroke:var(--warn);stroke-width:2;stroke-dasharray:2 2}
svg .stall{fill:url(#hatch);stroke:var(--warn)}
svg .fault{fill:var(--bad);stroke:#fff;stroke-width:1}
svg .cut{fill:none;stroke:var(--bad);stroke-width:2.5;stroke-linejoin:bevel}
svg .endlbl{font-size:11px;fill:var(--muted)}svg .endlbl.bad{fill:var(--bad);font-weight:700}
svg .retry-after{fill:rgba(154,91,0,.14);stroke:var(--warn);stroke-dasharray:3 2}
svg .retry-after.violated{fill:rgba(179,38,30,.16);stroke:var(--bad)}
svg .ra{font-size:10px;fill:var(--warn)}
svg .retry{fill:none;stroke:var(--muted);stroke-width:1.3;stroke-dasharray:4 3;marker-end:url(#arrow)}
svg .start{fill:var(--ok)}svg .exit{fill:var(--ink)}
@media (max-width:800px){.case-body{grid-template-columns:minmax(0,1fr)}}
@media (max-width:640px){
main{padding:.5rem}.card{padding:.7rem}
.svgwrap.wide{display:none}.svgwrap.narrow{display:block}
table.summary thead{display:none}
table.summary,table.summary tbody{display:block;width:100%}
table.summary tr{display:block;border-bottom:1px solid var(--line);padding:.3rem 0}
table.summary td{display:flex;gap:.5rem;border:0;padding:.1rem 0;text-align:left;overflow-wrap:anywhere}
table.summary td>*{min-width:0}
table.summary td::before{content:attr(data-label);color:var(--muted);min-width:6rem;flex:none}
}
@media print{
body{background:#fff;font-size:11pt}main{max-width:none;padding:0}
.filters,.noprint{display:none!important}
.card{break-inside:avoid-page;border-color:#999;margin:.6rem 0}
figure.timeline,.case-body{break-inside:avoid}
.svgwrap.wide{display:block!important}.svgwrap.narrow{display:none!important}
a{text-decoration:none;color:inherit}
pre{max-height:none}
.card[hidden],tr[hidden]{display:revert!important}
}
"""

# Filters by outcome, and every <details> opened for printing. The page reads fine without it.
SCRIPT = """
(function(){
  var want='all', words='';
  var buttons=document.querySelectorAll('.filters button');
  var search=document.querySelector('.case-search'), count=document.querySelector('.filter-count');
  function shown(el){
    var o=el.getAttribute('data-outcome'), f=el.getAttribute('data-findings')==='1';
    var kind=want==='all'||(want==='problems'&&o!=='passed'&&o!=='not_run')||(want==='findings'&&f);
    var text=el.getAttribute('data-text')||'';
    return kind&&words.split(/\\s+/).every(function(w){return text.indexOf(w)>=0;});
  }
  function apply(){
    var n=0, total=0;
    document.querySelectorAll('section.case').forEach(function(s){
      var on=shown(s); s.hidden=!on; total++; if(on){n++;}
    });
    document.querySelectorAll('table.summary tbody tr').forEach(function(r){r.hidden=!shown(r);});
    if(count){count.textContent=(want==='all'&&!words)?'':n+' of '+total+' cases';}
  }
  buttons.forEach(function(b){b.addEventListener('click',function(){
    want=b.getAttribute('data-filter');
    buttons.forEach(function(o){o.setAttribute('aria-pressed',String(o===b));});
    apply();
  });});
  if(search){search.addEventListener('input',function(){words=search.value.trim().toLowerCase();apply();});}
  // A link from the summary to a collapsed case opens it.
  function openTarget(){
    var id=location.hash.slice(1), el=id&&document.getElementById(id);
    var d=el&&el.querySelector('details.case-details'); if(d){d.open=true;}
  }
  window.addEventListener('hashchange',openTarget); openTarget();
  var opened=[];
  window.addEventListener('beforeprint',function(){
    document.querySelectorAll('details:not([open])').forEach(function(d){d.open=true;opened.push(d);});
  });
  window.addEventListener('afterprint',function(){opened.forEach(function(d){d.open=false;});opened=[];});
})();
"""

# Shared SVG definitions: the hatch of a stalled span and the arrowhead of a retry.
DEFS = """<svg width="0" height="0" style="position:absolute" aria-hidden="true" focusable="false"><defs>
<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="6" height="6" fill="#fff4e0"/>
<line x1="0" y1="0" x2="0" y2="6" stroke="#9a5b00" stroke-width="2"/></pattern>
<marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto">
<path d="M0 0L8 4L0 8Z" fill="#5d6676"/></marker></defs></svg>"""
