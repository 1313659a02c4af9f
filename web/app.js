// The dashboard page: one EventSource on /events (no polling), each section redrawn when the
// service sends it. The words come from the service (lib/dashboard/view.ts); this file lays
// them out and keeps ages and countdowns moving on the page's own clock between messages.
// Built with DOM calls and textContent only: nothing the home sends is parsed as HTML.

const state = { sections: {}, offset: 0, tz: undefined };
const $ = (id) => document.getElementById(id);

/** h('td', { class: 'x' }, 'text', child): an element with attributes and children. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

const now = () => Date.now() + state.offset;
// Times read as on the home's clock (SMARTHOME_TZ, sent by the service), like its alarm dates.
const formats = new Map();
function inZone(ms, options) {
  const key = JSON.stringify(options);
  if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat('en-GB', { timeZone: state.tz, hourCycle: 'h23', ...options }));
  return formats.get(key).format(ms);
}
const clock = (ms) => inZone(ms, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const hourMinute = (ms) => inZone(ms, { hour: '2-digit', minute: '2-digit' });
function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}
const ago = (at) => `${duration(now() - at)} ago`;

// ---- Home now ----
function renderHome(home) {
  const summary = $('home-summary');
  summary.replaceChildren();
  if (home.status === null) {
    summary.append('The home has not reported its status yet.');
    $('cards').replaceChildren();
  } else {
    summary.append(h('span', {}, 'Mode: ', h('strong', { 'data-testid': 'mode' }, home.mode)), ' · code ', h('code', { 'data-testid': 'code' }, home.code));
    $('cards').replaceChildren(
      ...home.status.map((a) =>
        h('article', { class: a.on ? 'card on' : 'card', 'data-appliance': a.key, 'aria-label': `${a.label}: ${a.state}` },
          h('h3', {}, a.label),
          h('p', { class: 'state' }, a.state),
          h('ul', {}, a.details.map((d) => h('li', {}, d))))),
    );
  }
  const sensors = [];
  if (home.sensors.temp !== null) sensors.push(`${home.sensors.temp} °C inside`);
  if (home.sensors.humi !== null) sensors.push(`${home.sensors.humi} % humidity`);
  if (home.sensors.rain !== null) sensors.push(Number(home.sensors.rain) === 1 ? 'raining' : 'no rain');
  if (sensors.length > 0) summary.append(' · ', sensors.join(' · '));
  summary.append(' · ', h('span', { id: 'report-age' }));
  tickHome();
}
function tickHome() {
  const home = state.sections.home;
  const el = $('report-age');
  if (!home || !el) return;
  if (home.lastReportAt === null) {
    el.className = 'warn';
    el.textContent = 'no report from the home yet';
    return;
  }
  const age = now() - home.lastReportAt;
  el.className = age > home.staleAfterMs ? 'warn' : '';
  el.textContent = `last report ${ago(home.lastReportAt)}${age > home.staleAfterMs ? ' (stale)' : ''}`;
}

// ---- Commands ----
function confirmation(row) {
  switch (row.state) {
    case 'confirmed':
      return { text: `confirmed in ${duration(row.confirmedAt - row.at).replace(/^0 s$/, 'under 1 s')}`, cls: 'ok' };
    case 'unchecked':
      return { text: 'not checked (no report from the home yet)', cls: 'muted' };
    default: {
      const left = row.deadline - now();
      return left > 0 ? { text: `waiting: alert in ${duration(left)}`, cls: 'warn' } : { text: `not confirmed: alerted after ${state.sections.commands.confirmS} s`, cls: 'bad' };
    }
  }
}
function renderCommands(commands) {
  const body = $('commands-table').tBodies[0];
  if (commands.rows.length === 0) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No device command seen yet.')));
    return;
  }
  body.replaceChildren(
    ...commands.rows.map((r) => {
      const c = confirmation(r);
      const from = r.mode === null ? r.origin : `${r.origin}, ${r.mode}`;
      return h('tr', { 'data-seq': r.seq, 'data-code': r.code, 'data-state': r.state },
        h('td', {}, h('time', { datetime: new Date(r.at).toISOString() }, clock(r.at))),
        h('td', {}, h('code', {}, r.code), h('br'), r.what, h('span', { class: 'from muted' }, from)),
        h('td', {}, from),
        h('td', { class: `confirm ${c.cls}` }, c.text));
    }),
  );
}
function tickCommands() {
  const commands = state.sections.commands;
  if (!commands) return;
  for (const tr of $('commands-table').tBodies[0].rows) {
    if (tr.dataset.state !== 'pending') continue;
    const row = commands.rows.find((r) => String(r.seq) === tr.dataset.seq);
    if (!row) continue;
    const c = confirmation(row);
    const cell = tr.querySelector('.confirm');
    cell.className = `confirm ${c.cls}`;
    cell.textContent = c.text;
  }
}

// ---- History ----
function hourTicks(from, to) {
  const ticks = [];
  const hour = 3600_000;
  for (let t = Math.ceil(from / hour) * hour; t <= to; t += hour) {
    const label = hourMinute(t);
    const hh = Number(label.slice(0, 2));
    if (hh % 3 !== 0) continue;
    // Every 3 hours on a desktop, every 6 on a phone (the `minor` ones are hidden there).
    const tick = h('span', { class: hh % 6 === 0 ? '' : 'minor' }, label);
    tick.style.left = `${((t - from) / (to - from)) * 100}%`; // CSSOM, not a style attribute: the CSP allows no inline style
    ticks.push(tick);
  }
  return h('div', { class: 'axis', 'aria-hidden': 'true' }, h('span'), h('div', { class: 'ticks' }, ticks));
}
function renderHistory(history) {
  const { from, to } = history;
  const x = (t) => ((Math.max(from, t) - from) / (to - from)) * 1000;
  const bands = Object.entries(history.bands).map(([key, band]) => {
    const svg = s('svg', { viewBox: '0 0 1000 10', preserveAspectRatio: 'none', role: 'img' });
    svg.append(s('rect', { class: 'off', x: 0, y: 0, width: 1000, height: 10 }));
    let onCount = 0;
    band.points.forEach(([at, v], i) => {
      const end = i + 1 < band.points.length ? band.points[i + 1][0] : to;
      if (v !== 1 || end < from) return;
      onCount++;
      svg.append(s('rect', { class: 'on', x: x(at), y: 0, width: Math.max(1, x(end) - x(at)), height: 10 }));
    });
    const last = band.points.at(-1);
    const word = key === 'window' ? ['open', 'closed'] : ['on', 'off'];
    const label = last === undefined ? 'no data' : `${word[last[1] === 1 ? 0 : 1]} now; ${onCount} ${word[0]} period${onCount === 1 ? '' : 's'} in 24 h`;
    svg.setAttribute('aria-label', `${band.label}: ${label}`);
    return h('div', { class: 'band', 'data-band': key, 'data-points': band.points.length }, h('span', {}, band.label), svg);
  });
  $('bands').replaceChildren(...bands, hourTicks(from, to));

  const all = [...history.homeTemp, ...history.outdoorTemp].map((p) => p[1]);
  const temps = $('temps');
  temps.className = 'temps';
  if (all.length === 0) {
    temps.replaceChildren(h('p', { class: 'muted' }, 'No temperature reading in the last 24 hours.'));
    return;
  }
  const lo = Math.floor(Math.min(...all) - 1);
  const hi = Math.ceil(Math.max(...all) + 1);
  const y = (v) => 100 - ((v - lo) / (hi - lo)) * 100;
  const line = (points, cls) => {
    if (points.length === 0) return null;
    const pts = [];
    points.forEach(([at, v], i) => {
      pts.push(`${x(at)},${y(v)}`);
      const next = i + 1 < points.length ? points[i + 1][0] : to;
      pts.push(`${x(next)},${y(v)}`); // a reading holds until the next one
    });
    return s('polyline', { class: cls, points: pts.join(' ') });
  };
  const svg = s('svg', { viewBox: '0 0 1000 100', preserveAspectRatio: 'none', role: 'img', 'aria-label': `Temperatures, ${lo} to ${hi} °C` });
  for (const el of [line(history.homeTemp, 'home'), line(history.outdoorTemp, 'outdoor')]) if (el) svg.append(el);
  const lastOf = (p) => (p.length === 0 ? 'no reading' : `${p.at(-1)[1]} °C`);
  temps.replaceChildren(
    h('div', { class: 'legend' },
      h('span', { class: 'home' }, `Home ${lastOf(history.homeTemp)}`),
      h('span', { class: 'outdoor' }, `Outdoor ${lastOf(history.outdoorTemp)}`),
      h('span', {}, `scale ${lo}–${hi} °C`)),
    svg,
    h('div', { class: 'axis flush' }, h('span'), hourTicks(from, to).lastChild),
  );
}

// ---- Alarms, schedules, weather, health ----
function renderAlarms(alarms) {
  $('alarm-list').replaceChildren(
    ...(alarms.length === 0 ? [h('li', { class: 'muted' }, 'No alarm.')] : alarms.map((a) => h('li', { lang: 'ko' }, h('strong', {}, a.inform), h('br'), h('span', { class: 'muted', lang: 'en' }, `${a.date} · ${a.icon}`)))),
  );
}
function renderSchedules(list) {
  $('schedule-list').replaceChildren(
    ...(list.length === 0
      ? [h('li', { class: 'muted' }, 'No schedule.')]
      : list.map((sc) =>
          h('li', { 'data-schedule': sc.id },
            h('strong', {}, sc.id), sc.enabled === false ? h('span', { class: 'muted' }, ' (disabled)') : null, h('br'),
            sc.error
              ? h('span', { class: 'bad' }, sc.error)
              : [sc.when, h('br'), sc.target, h('br'),
                 h('span', { class: 'next' }, sc.next ? `next: ${sc.next.label}` : 'no next occurrence')],
            sc.lastFired ? [h('br'), h('span', { class: 'muted' }, `last fired: ${sc.lastFired}`)] : null))),
  );
}
function renderWeather(w) {
  const body = [];
  if (w.weather === null) body.push(h('p', { class: 'muted' }, 'No weather report yet.'));
  else {
    const air = ['', 'good', 'fair', 'moderate', 'poor', 'very poor'][Number(w.weather.airLevel)] ?? String(w.weather.airLevel);
    body.push(h('p', { lang: 'ko' }, h('strong', {}, `${w.weather.temp} °C`), ' ', w.weather.description ?? ''), h('p', { class: 'muted' }, `air quality ${w.weather.airLevel} (${air}) · updated ${w.weather.update ?? '?'}`));
  }
  body.push(h('p', {}, 'Recommendation: ', h('strong', { lang: 'ko', 'data-testid': 'recommendation' }, w.recommendation ?? 'none yet')));
  $('weather-body').replaceChildren(...body);
}
function renderHealth(health) {
  $('sources').replaceChildren(
    ...Object.entries(health.sources).map(([name, st]) => h('li', {}, h('strong', {}, name), ': ', h('span', { class: st === 'up' ? 'ok' : 'bad' }, st))),
  );
}
function renderAlerts(alerts) {
  $('alert-list').replaceChildren(
    ...(alerts.length === 0 ? [h('li', { class: 'muted' }, 'No alert.')] : alerts.map((a) => h('li', {}, h('span', { class: 'muted' }, clock(a.at)), ' ', a.text))),
  );
}

const RENDER = { home: renderHome, commands: renderCommands, history: renderHistory, alarms: renderAlarms, schedules: renderSchedules, weather: renderWeather, health: renderHealth, alerts: renderAlerts };

// ---- the stream ----
function connect() {
  const badge = $('connection');
  const events = new EventSource('/events');
  events.addEventListener('open', () => {
    badge.textContent = 'live';
    badge.className = 'badge live';
  });
  events.addEventListener('error', () => {
    badge.textContent = 'reconnecting…';
    badge.className = 'badge down';
  });
  events.addEventListener('update', (e) => {
    const msg = JSON.parse(e.data);
    state.offset = msg.now - Date.now();
    if (msg.tz !== state.tz) {
      state.tz = msg.tz;
      formats.clear();
    }
    for (const [name, data] of Object.entries(msg.sections)) {
      state.sections[name] = data;
      RENDER[name]?.(data);
    }
    document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1);
  });
}

connect();
// Ages and countdowns move on the page's clock; nothing is fetched.
setInterval(() => {
  tickHome();
  tickCommands();
}, 1000);
