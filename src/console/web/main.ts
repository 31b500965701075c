/**
 * The console's page: one event stream (/events) carries the router's view on every change;
 * each event redraws the graph (cytoscape, its own 'cose' layout) and the tables. Text goes
 * in with textContent only: names and error messages are never parsed as HTML.
 */
import cytoscape from 'cytoscape';
import type {
  ConsoleView,
  ViewAddress,
  ViewEdge,
  ViewEnd,
  ViewLink,
  ViewSite,
} from '../view-types.js';

const byId = (id: string): HTMLElement => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el;
};

const graphBox = byId('graph');
const cy = cytoscape({
  container: graphBox,
  minZoom: 0.3,
  maxZoom: 2,
  style: [
    {
      selector: 'node',
      style: {
        label: 'data(label)',
        'text-wrap': 'wrap',
        'text-valign': 'bottom',
        'text-margin-y': 6,
        'font-size': 15,
        color: '#1d2733',
        'background-color': '#3b7dd8',
        width: 34,
        height: 34,
      },
    },
    { selector: 'node.self', style: { 'background-color': '#1f9d6a' } },
    { selector: 'node.unreachable', style: { 'background-color': '#b0b6bf' } },
    {
      selector: 'edge',
      style: {
        label: 'data(label)',
        'font-size': 13,
        'text-rotation': 'autorotate',
        color: '#46505c',
        'text-background-color': '#ffffff',
        'text-background-opacity': 1,
        'text-background-padding': '2px',
        width: 3,
        'line-color': '#8fa3ba',
        'curve-style': 'straight',
      },
    },
  ],
});

function siteLabel(s: ViewSite): string {
  return s.addresses.length === 0 ? s.name : `${s.name}\n${s.addresses.join(', ')}`;
}

function edgeLabel(e: ViewEdge): string {
  const [ab, ba] = e.costs;
  const cost = ab === ba ? `cost ${ab}` : `cost ${ab}/${ba}`;
  return e.rttMs === undefined ? cost : `${cost} · ${ms(e.rttMs)}`;
}

/** Adds, updates and removes elements in place; lays the graph out again only when its shape changed. */
function drawGraph(view: ConsoleView): void {
  const nodes = new Map(view.sites.map((s) => [`site/${s.name}`, s]));
  const edges = new Map(view.edges.map((e) => [`edge/${e.a}/${e.b}`, e]));
  let reshaped = false;
  cy.batch(() => {
    cy.elements().forEach((el) => {
      if (!nodes.has(el.id()) && !edges.has(el.id())) {
        cy.remove(el);
        reshaped = true;
      }
    });
    for (const [id, s] of nodes) {
      const data = { id, label: siteLabel(s) };
      const classes = [s.self ? 'self' : '', s.reachable ? '' : 'unreachable'].join(' ').trim();
      const node = cy.getElementById(id);
      if (node.empty()) {
        cy.add({ group: 'nodes', data, classes });
        reshaped = true;
      } else {
        node.data(data);
        node.classes(classes);
      }
    }
    for (const [id, e] of edges) {
      const data = { id, source: `site/${e.a}`, target: `site/${e.b}`, label: edgeLabel(e) };
      const edge = cy.getElementById(id);
      if (edge.empty()) {
        if (nodes.has(data.source) && nodes.has(data.target)) {
          cy.add({ group: 'edges', data });
          reshaped = true;
        }
      } else edge.data('label', data.label);
    }
  });
  if (reshaped) {
    cy.layout({
      name: 'cose',
      animate: false,
      // From scratch: new nodes all start at one point, from which cose cannot spread them.
      randomize: true,
      padding: 30,
      nodeDimensionsIncludeLabels: true,
      idealEdgeLength: () => 120,
      nodeRepulsion: () => 1_000_000,
    }).run();
  }
  // What the graph shows, readable without the canvas (the tests read it too).
  graphBox.dataset.nodes = view.sites.map((s) => s.name).join(',');
  graphBox.dataset.edges = [...edges.values()].map((e) => `${e.a}-${e.b}`).join(',');
}

function ms(value: number): string {
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

type Cell =
  | string
  | { text: string; field?: string; value?: number; title?: string; warn?: boolean };

function table(el: HTMLElement, head: string[], rows: Array<{ key: string; cells: Cell[] }>): void {
  const thead = document.createElement('tr');
  for (const h of head) {
    const th = document.createElement('th');
    th.textContent = h;
    thead.append(th);
  }
  const trs = rows.map(({ key, cells }) => {
    const tr = document.createElement('tr');
    tr.dataset.key = key;
    for (const cell of cells) {
      const td = document.createElement('td');
      const c = typeof cell === 'string' ? { text: cell } : cell;
      td.textContent = c.text;
      if (c.field !== undefined) td.dataset.field = c.field;
      if (c.value !== undefined) td.dataset.value = String(c.value);
      if (c.title !== undefined) td.title = c.title;
      if (c.warn === true) td.className = 'warn';
      tr.append(td);
    }
    return tr;
  });
  el.replaceChildren(thead, ...trs);
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = head.length;
    td.className = 'none';
    td.textContent = 'none';
    tr.append(td);
    el.append(tr);
  }
}

const ENDS = ['listener', 'connector', 'relay'] as const;
const FAILURES = ['refused', 'no_route', 'limit', 'timeout', 'aborted'];

function sum(a: ViewAddress, pick: (end: ViewEnd) => number): number {
  return ENDS.reduce((total, side) => total + (a[side] === undefined ? 0 : pick(a[side])), 0);
}

function addressRow(a: ViewAddress): { key: string; cells: Cell[] } {
  const traffic = sum(a, (e) => e.receivedBytes + e.sentBytes);
  const ok = sum(a, (e) => e.opened.ok ?? 0);
  const failures = FAILURES.map((f) => [f, sum(a, (e) => e.opened[f] ?? 0)] as const).filter(
    ([, n]) => n > 0,
  );
  if (a.dialFailures > 0) failures.push(['dial failures', a.dialFailures]);
  const failed = failures.reduce((total, [, n]) => total + n, 0);
  const here = [
    a.listenerState === undefined ? '' : `listener ${a.listenerState}`,
    a.connectorState === undefined ? '' : `connector ${a.connectorState}`,
  ].filter((s) => s !== '');
  return {
    key: a.address,
    cells: [
      a.address,
      a.sites.length === 0 ? '(no site)' : a.sites.join(', '),
      here.join(', ') || '-',
      { text: String(ok), field: 'ok', value: ok },
      { text: String(sum(a, (e) => e.open)), field: 'open' },
      {
        text: failures.map(([f, n]) => `${f} ${n}`).join(', ') || '0',
        field: 'errors',
        value: failed,
        warn: failed > 0,
      },
      {
        text: bytes(traffic),
        field: 'bytes',
        value: traffic,
        title: ENDS.filter((side) => a[side] !== undefined)
          .map(
            (side) =>
              `${side}: in ${bytes(a[side]?.receivedBytes ?? 0)}, out ${bytes(a[side]?.sentBytes ?? 0)}`,
          )
          .join('\n'),
      },
      { text: a.error ?? '', warn: a.error !== undefined },
    ],
  };
}

function linkRow(l: ViewLink): { key: string; cells: Cell[] } {
  return {
    key: l.name,
    cells: [
      l.name,
      l.direction === 'out' ? `to ${l.peer}` : `from ${l.peer}`,
      { text: l.state, field: 'state', warn: l.state !== 'up' },
      new Date(l.since).toLocaleTimeString(),
      String(l.cost),
      l.rttMs === undefined ? '-' : ms(l.rttMs),
      String(l.streams),
      { text: bytes(l.sentBytes), field: 'sent', value: l.sentBytes },
      { text: bytes(l.receivedBytes), field: 'received', value: l.receivedBytes },
      String(l.reconnects),
      { text: l.lastError ?? '', field: 'error', warn: l.lastError !== undefined },
    ],
  };
}

function render(view: ConsoleView): void {
  byId('site').textContent = view.site;
  document.title = `skiff ${view.site}`;
  drawGraph(view);
  table(
    byId('addresses'),
    ['address', 'served by', 'here', 'opened', 'open', 'errors', 'bytes', 'problem'],
    view.addresses.map(addressRow),
  );
  table(
    byId('links'),
    [
      'link',
      'peer',
      'state',
      'since',
      'cost',
      'RTT',
      'streams',
      'sent',
      'received',
      'reconnects',
      'last error',
    ],
    view.links.map(linkRow),
  );
}

const live = byId('live');
const events = new EventSource('/events');
events.onopen = () => {
  live.textContent = 'live';
  live.className = 'on';
};
events.onerror = () => {
  // EventSource reconnects by itself; say so meanwhile.
  live.textContent = 'reconnecting';
  live.className = 'off';
};
events.onmessage = (event: MessageEvent<string>) => {
  render(JSON.parse(event.data) as ConsoleView);
  document.body.dataset.updates = String(Number(document.body.dataset.updates ?? '0') + 1);
};
