// The report page's script: draws the charts as SVG and fills the tables from the embedded JSON
// (page_data.cpp). Everything taken from the trace goes in through textContent or attribute
// values, never as markup. Elements carry stable classes and ids (rect.run-bar, rect.util-bar,
// #run-hist rect.hist-bar, #slowest tr, #losses tr...) that the browser test counts, and
// body[data-rendered] says "ok" once everything is drawn, or "error" with the message shown.

#include "page_parts.hpp"

namespace dlpool::cli::report {

std::string_view page_script() noexcept {
  return R"script(
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var LABEL = 230, RIGHT = 24, PLOT = 1200;  // PLOT: set to the width the page gives, below

  function fail(message) {
    document.body.dataset.rendered = 'error';
    var box = document.getElementById('error');
    box.textContent = 'This report could not be drawn: ' + message;
    box.hidden = false;
  }
  window.addEventListener('error', function (e) { fail(e.message || String(e)); });
  // The page must load nothing: its Content-Security-Policy blocks any fetch, and this makes a
  // blocked one visible (and countable by the browser test) instead of silently missing.
  document.addEventListener('securitypolicyviolation', function (e) {
    document.body.dataset.blockedFetches = String(+(document.body.dataset.blockedFetches || 0) + 1);
    fail('it tried to load ' + (e.blockedURI || 'something') + ' (' + e.violatedDirective + ')');
  });

  function svg(parent, tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    parent.appendChild(e);
    return e;
  }
  function html(parent, tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    parent.appendChild(e);
    return e;
  }
  function num(n) { return Number(n).toLocaleString('en-US'); }
  function plural(n, word) { return num(n) + ' ' + word + (n === 1 ? '' : 's'); }
  function pct(f) { return (f * 100).toFixed(f < 0.1 && f > 0 ? 1 : 0) + '%'; }
  function digits(x) { return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2); }
  // Microseconds, in the unit that reads best.
  function dur(us) {
    if (us === null || us === undefined) return '\u2013';
    if (us === 0) return '0';
    if (us < 1) return digits(us * 1000) + ' ns';
    if (us < 1e3) return digits(us) + ' \u00b5s';
    if (us < 1e6) return digits(us / 1e3) + ' ms';
    if (us < 6e7) return digits(us / 1e6) + ' s';
    var s = Math.round(us / 1e6), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    return (h ? h + ' h ' : '') + m + ' min ' + (s % 60) + ' s';
  }
  // Tick values for [0, max]: steps of 1, 2 or 5 times a power of ten.
  function ticks(max, count) {
    if (!(max > 0)) return [0];
    var raw = max / count, p = Math.pow(10, Math.floor(Math.log10(raw))), step = p;
    if (raw / p > 5) step = 10 * p; else if (raw / p > 2) step = 5 * p; else if (raw / p > 1) step = 2 * p;
    var out = [];
    for (var v = 0; v <= max * 1.0001; v += step) out.push(v);
    return out;
  }
  function input(c) {
    if (c.line !== undefined)
      return c.last_line !== undefined && c.last_line !== c.line ? 'lines ' + num(c.line) + '\u2013' + num(c.last_line)
                                                                 : 'line ' + num(c.line);
    if (c.items > 1) return 'items ' + num(c.first) + '\u2013' + num(c.first + c.items - 1) + ' of job ' + c.job;
    return 'item ' + num(c.first) + ' of job ' + c.job;
  }
  function badge(parent, status) {
    var td = html(parent, 'td');
    html(td, 'span', status === 'ok' ? 'ok' : status === 'lost' ? 'lost' : 'failed', 'badge ' + status);
  }

  var tip = document.getElementById('tip');
  function showTip(ev, text) {
    tip.textContent = text;
    tip.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth) x = ev.clientX - tip.offsetWidth - 10;
    if (y + tip.offsetHeight > window.innerHeight) y = ev.clientY - tip.offsetHeight - 10;
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }

  function header(d) {
    var s = d.summary;
    document.getElementById('host').textContent = s.host ? 'on ' + s.host : '';
    document.getElementById('subtitle').textContent =
        s.trace + ' \u00b7 dlpool ' + (s.version || '?') + ' \u00b7 ' + plural(s.events, 'event') +
        ' \u00b7 ' + dur(s.span_us.length) + ' traced';
    var warn = [];
    if (!s.complete) warn.push('This trace is incomplete: the pool did not finish it (killed, or still running).' +
                               (s.truncated ? ' Its cut-short last line was left out.' : ''));
    if (s.skipped_lines) warn.push(plural(s.skipped_lines, 'line') + ' that were not JSON were left out.');
    if (s.events_dropped) warn.push('The pool dropped ' + plural(s.events_dropped, 'event') +
                                    ' when the trace fell behind: counts are lower bounds.');
    if (warn.length) {
      var w = document.getElementById('warning');
      w.textContent = warn.join(' ');
      w.hidden = false;
    }
    document.getElementById('footer').textContent =
        'Drawn by dlpool report from ' + s.trace + '. Open the trace itself in Perfetto or chrome://tracing ' +
        'for every event.';
  }

  function cards(d) {
    var s = d.summary, dl = document.getElementById('cards');
    function card(title, value, sub) {
      var box = html(dl, 'div');
      html(box, 'dt', title);
      var dd = html(box, 'dd', value);
      if (sub) html(dd, 'small', sub);
    }
    card('Chunks', num(s.chunks.total), num(s.chunks.ok) + ' ok \u00b7 ' + num(s.chunks.error) + ' failed \u00b7 ' +
         num(s.chunks.lost) + ' lost');
    card('Items', num(s.items.total), num(s.items.ok) + ' ok \u00b7 ' + num(s.items.error) + ' failed \u00b7 ' +
         num(s.items.lost) + ' lost');
    card('Workers', num(s.workers.tracks), num(s.workers.spawned) + ' spawned \u00b7 ' + num(s.workers.lost) + ' lost');
    card('Utilisation', pct(s.workers.utilisation), 'busy share of live worker time');
    card('Run time p50', dur(s.run_us.p50), 'p90 ' + dur(s.run_us.p90) + ' \u00b7 p99 ' + dur(s.run_us.p99));
    card('Slowest run', dur(s.run_us.max), plural(s.run_us.count, 'run'));
    card('Queue wait p50', dur(s.wait_us.p50), 'p90 ' + dur(s.wait_us.p90) + ' \u00b7 p99 ' + dur(s.wait_us.p99));
    card('Span', dur(s.span_us.length), plural(s.jobs, 'job') + (s.chunks.retried ? ' \u00b7 ' +
         num(s.chunks.retried) + ' retried' : ''));
  }

  // The x axis shared by the timeline and the utilisation chart: [start, end] onto the plot.
  function timeAxis(d) {
    var span = Math.max(d.end - d.start, 1e-3);
    return { x: function (us) { return LABEL + (us - d.start) / span * PLOT; }, span: span };
  }
  function drawTimeTicks(root, d, axis, top, bottom) {
    var grid = svg(root, 'g', { 'class': 'grid' }), labels = svg(root, 'g', { 'class': 'axis' });
    ticks(axis.span, 8).forEach(function (t) {
      var x = axis.x(d.start + t);
      svg(grid, 'line', { x1: x, x2: x, y1: top, y2: bottom });
      svg(labels, 'text', { x: x, y: bottom + 14, 'text-anchor': 'middle' }, dur(t));
    });
  }

  function timeline(d) {
    var root = document.getElementById('timeline'), ROW = 20, BAR = 13, TOP = 4;
    var height = TOP + d.rows.length * ROW + 24, axis = timeAxis(d);
    root.setAttribute('width', LABEL + PLOT + RIGHT);
    root.setAttribute('height', height);
    d.rows.forEach(function (row, r) {
      if (r % 2 === 0) svg(root, 'rect', { 'class': 'row-bg', x: 0, y: TOP + r * ROW, width: LABEL + PLOT, height: ROW });
    });
    drawTimeTicks(root, d, axis, TOP, TOP + d.rows.length * ROW);
    var bars = svg(root, 'g', {});
    d.rows.forEach(function (row, r) {
      var y = TOP + r * ROW;
      svg(root, 'text', { x: 6, y: y + 14 }, row.label.length > 30 ? row.label.slice(0, 29) + '\u2026' : row.label);
      svg(root, 'text', { x: LABEL - 8, y: y + 14, 'text-anchor': 'end', 'class': 'muted' }, pct(row.busy));
      for (var i = 0; i < row.bars.length; i += 6) {
        var b = row.bars, x0 = axis.x(b[i]), x1 = axis.x(b[i + 1]), w = Math.max(1, x1 - x0), runs = b[i + 2];
        // A single run shows its status; merged runs are drawn failed when most of them failed,
        // else as ok with a strip on top for the failed ones, and paler for the idle time between.
        var status = runs === 1 ? (b[i + 5] ? 2 : b[i + 4] ? 1 : 0) : (2 * b[i + 4] > runs ? 1 : 0);
        var attrs = { 'class': 'run-bar', x: x0.toFixed(2), y: y + (ROW - BAR) / 2, width: w.toFixed(2),
                      height: BAR, 'data-r': r, 'data-i': i / 6 };
        if (status) attrs['data-s'] = status;
        if (runs > 1) attrs['fill-opacity'] = (0.35 + 0.65 * b[i + 3] / 100).toFixed(2);
        svg(bars, 'rect', attrs);
        if (runs > 1 && b[i + 4] && !status)
          svg(bars, 'rect', { 'class': 'fail-strip', x: x0.toFixed(2), y: y + (ROW - BAR) / 2, width: w.toFixed(2),
                              height: 3, 'data-r': r, 'data-i': i / 6 });
      }
    });
    d.loss_rows.forEach(function (r, i) {
      var loss = d.summary.losses[i], x = axis.x(loss.at_us), y = TOP + r * ROW;
      var mark = svg(root, 'path', { 'class': 'loss-mark', d: 'M' + (x - 5) + ',' + (y + 1) + 'h10l-5,8z' });
      svg(mark, 'title', {}, d.loss_names[i] + ' lost at ' + dur(loss.at_us) + ': ' + loss.cause);
    });
    root.addEventListener('mousemove', function (ev) {
      var t = ev.target, r = t.getAttribute && t.getAttribute('data-r');
      if (r === null || r === undefined) { tip.hidden = true; return; }
      var row = d.rows[+r], i = +t.getAttribute('data-i') * 6, b = row.bars, what;
      if (b[i + 2] === 1) what = '1 run, ' + (b[i + 5] ? 'lost with its worker' : b[i + 4] ? 'failed' : 'ok');
      else what = plural(b[i + 2], 'run') + ' merged (' + b[i + 3] + '% busy), ' + num(b[i + 4]) + ' failed' +
                  (b[i + 5] ? ', ' + num(b[i + 5]) + ' lost with its worker' : '');
      showTip(ev, row.label + (row.pid ? ' (pid ' + row.pid + ')' : '') + '\n' + dur(b[i]) + ' \u2192 ' +
                  dur(b[i + 1]) + '  (' + dur(b[i + 1] - b[i]) + ')\n' + what);
    });
    root.addEventListener('mouseleave', function () { tip.hidden = true; });
    var runs = d.rows.reduce(function (n, row) { return n + row.bars.length / 6; }, 0);
    if (runs < d.summary.run_us.count)
      document.getElementById('timeline-note').textContent =
          'One row per worker' + (d.rows.length < d.summary.workers.tracks ? ' slot (workers that never overlap share one)' : '') +
          '. ' + plural(d.summary.run_us.count, 'run') + ' drawn as ' + plural(runs, 'bar') +
          ': runs less than a pixel apart are merged (paler: less busy). Hover over a bar for its times.';
  }

  function utilisation(d) {
    var root = document.getElementById('utilisation'), H = 110, TOP = 8, axis = timeAxis(d);
    root.setAttribute('width', LABEL + PLOT + RIGHT);
    root.setAttribute('height', TOP + H + 24);
    var grid = svg(root, 'g', { 'class': 'grid' }), labels = svg(root, 'g', { 'class': 'axis' });
    [0, 0.5, 1].forEach(function (f) {
      var y = TOP + H - f * H;
      svg(grid, 'line', { x1: LABEL, x2: LABEL + PLOT, y1: y, y2: y });
      svg(labels, 'text', { x: LABEL - 8, y: y + 4, 'text-anchor': 'end' }, pct(f));
    });
    drawTimeTicks(root, d, axis, TOP, TOP + H);
    var w = d.util.width;
    d.util.busy.forEach(function (f, i) {
      if (f === null) return;
      var x0 = axis.x(Math.max(i * w, d.start)), x1 = axis.x(Math.min((i + 1) * w, d.end));
      var bar = svg(root, 'rect', { 'class': 'util-bar', x: x0.toFixed(2), y: (TOP + H - f * H).toFixed(2),
                                     width: Math.max(1, x1 - x0 - 0.5).toFixed(2), height: Math.max(f * H, 0.5).toFixed(2) });
      svg(bar, 'title', {}, dur(i * w) + ' \u2192 ' + dur((i + 1) * w) + ': ' + pct(f) + ' busy');
    });
  }

  function histogram(id, buckets, what) {
    var root = document.getElementById(id), W = 520, H = 170, LEFT = 44, TOP = 10, BOTTOM = 34;
    root.setAttribute('width', LEFT + W + 10);
    root.setAttribute('height', TOP + H + BOTTOM);
    if (!buckets.length) {
      svg(root, 'text', { x: LEFT, y: TOP + 20, 'class': 'muted' }, 'No ' + what + '.');
      return;
    }
    var max = Math.max.apply(null, buckets.map(function (b) { return b[2]; }));
    var grid = svg(root, 'g', { 'class': 'grid' }), labels = svg(root, 'g', { 'class': 'axis' });
    ticks(max, 4).forEach(function (t) {
      var y = TOP + H - t / max * H;
      svg(grid, 'line', { x1: LEFT, x2: LEFT + W, y1: y, y2: y });
      svg(labels, 'text', { x: LEFT - 6, y: y + 4, 'text-anchor': 'end' }, num(t));
    });
    var step = W / buckets.length, gap = Math.min(4, step * 0.15), every = Math.ceil(buckets.length / 8);
    buckets.forEach(function (b, i) {
      var x = LEFT + i * step;
      if (b[2] > 0) {
        var h = Math.max(1, b[2] / max * H);
        var bar = svg(root, 'rect', { 'class': 'hist-bar', x: (x + gap / 2).toFixed(2), y: (TOP + H - h).toFixed(2),
                                       width: (step - gap).toFixed(2), height: h.toFixed(2) });
        svg(bar, 'title', {}, (b[1] === null ? '\u2265 ' + dur(b[0]) : dur(b[0]) + ' \u2013 ' + dur(b[1])) + ': ' +
                              plural(b[2], 'chunk'));
      }
      if (i % every === 0) svg(labels, 'text', { x: x, y: TOP + H + 14, 'text-anchor': 'start' }, dur(b[0]));
    });
    svg(labels, 'line', { x1: LEFT, x2: LEFT + W, y1: TOP + H, y2: TOP + H });
  }

  function slowest(d) {
    var body = document.getElementById('slowest'), list = d.summary.slowest;
    document.getElementById('no-slowest').hidden = list.length > 0;
    list.forEach(function (s, i) {
      var tr = html(body, 'tr');
      html(tr, 'td', String(i + 1), 'num');
      html(tr, 'td', dur(s.run_us), 'num');
      html(tr, 'td', dur(s.wait_us), 'num');
      html(tr, 'td', input(s));
      html(tr, 'td', s.task);
      html(tr, 'td', s.job + ' / ' + s.chunk + (s.items > 1 ? ' (' + s.items + ' items)' : ''));
      html(tr, 'td', d.slow_names[i] + (s.pid ? ' \u00b7 pid ' + s.pid : ''));
      badge(tr, s.status);
    });
  }

  function losses(d) {
    var body = document.getElementById('losses'), list = d.summary.losses, total = d.summary.workers.lost;
    document.getElementById('no-losses').hidden = list.length > 0;
    list.forEach(function (l, i) {
      var tr = html(body, 'tr');
      html(tr, 'td', dur(l.at_us), 'num');
      html(tr, 'td', d.loss_names[i]);
      html(tr, 'td', l.pid ? String(l.pid) : '\u2013', 'num');
      html(tr, 'td', l.cause, 'cause');
      html(tr, 'td', l.status === undefined || l.status < 0 ? 'unknown' : String(l.status), 'num');
      html(tr, 'td', l.chunk ? input(l.chunk) + ' (job ' + l.chunk.job + ', chunk ' + l.chunk.chunk + ')' : 'none');
    });
    if (total > list.length) {
      var more = document.getElementById('more-losses');
      more.textContent = 'The first ' + num(list.length) + ' of ' + num(total) + ' losses are listed.';
      more.hidden = false;
    }
  }

  function errors(d) {
    var s = d.summary;
    if (!s.errors.length) return;
    document.getElementById('errors-section').hidden = false;
    var ul = document.getElementById('errors');
    s.errors.forEach(function (e) { html(ul, 'li', plural(e.chunks, 'chunk') + ': ' + (e.error || '(no message)')); });
    if (s.other_errors) html(ul, 'li', plural(s.other_errors, 'chunk') + ' with other errors');
  }

  try {
    var d = JSON.parse(document.getElementById('report-data').textContent);
    // The time charts fill their section; past 1200 px they only stretch the bars, which were
    // merged for that width.
    PLOT = Math.max(600, document.getElementById('timeline').parentNode.clientWidth - LABEL - RIGHT);
    header(d);
    cards(d);
    timeline(d);
    utilisation(d);
    histogram('run-hist', d.run_hist, 'run');
    histogram('wait-hist', d.wait_hist, 'queue wait');
    slowest(d);
    losses(d);
    errors(d);
    if (document.body.dataset.rendered !== 'error') document.body.dataset.rendered = 'ok';
  } catch (e) {
    fail(e && e.message ? e.message : String(e));
  }
})();
)script";
}

}  // namespace dlpool::cli::report
