/**
 * A hand-written SVG timeline of one failover trial per implementation (no plotting dependency):
 * one panel per implementation, lanes for each master's adverts on the wire (with its VIP add and
 * remove from the kernel), the gratuitous ARPs the client saw, and the client's probes coloured
 * by the master that answered. Times are ms relative to the trigger (t = 0).
 */

export interface TimelinePanel {
  label: string;
  /** Adverts on the wire: time, sender lane, priority. */
  adverts: Array<{ t: number; from: string; priority: number }>;
  /** VIP added/removed in the kernel (ip monitor). */
  vip: Array<{ t: number; host: string; held: boolean }>;
  /** Gratuitous ARPs for the VIP seen on the client's port. */
  garps: Array<{ t: number; from: string }>;
  replies: Array<{ t: number; who: string }>;
  failures: number[];
  /** Last reply from the old master and first reply from the new one: the outage. */
  lastOld: number;
  firstNew: number;
  /** The old master's last advert that mattered, and the protocol floor after it. */
  reference: number;
  floorMs: number;
  floorName: string;
}

const COLORS: Record<string, string> = { m1: '#1f77b4', m2: '#2ca02c', m3: '#9467bd' };
const LANES = ['m1', 'm2', 'm3', 'GARP', 'client'] as const;

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function timelineSvg(title: string, panels: readonly TimelinePanel[], fromMs: number, toMs: number): string {
  const width = 960;
  const left = 90;
  const right = 20;
  const laneH = 22;
  const panelH = LANES.length * laneH + 58;
  const top = 40;
  const height = top + panels.length * panelH + 40;
  const x = (t: number): number => left + ((t - fromMs) / (toMs - fromMs)) * (width - left - right);
  const inRange = (t: number): boolean => t >= fromMs && t <= toMs;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`);
  // Time grid, every 250 ms with a label every 500 ms.
  const step = toMs - fromMs > 4000 ? 500 : 250;
  panels.forEach((panel, index) => {
    const y0 = top + index * panelH;
    const laneY = (lane: string): number => y0 + 30 + LANES.indexOf(lane as (typeof LANES)[number]) * laneH;
    out.push(`<text x="${left}" y="${y0 + 14}" font-size="12" font-weight="bold">${esc(panel.label)}</text>`);
    for (let t = Math.ceil(fromMs / step) * step; t <= toMs; t += step) {
      out.push(`<line x1="${x(t).toFixed(1)}" y1="${y0 + 22}" x2="${x(t).toFixed(1)}" y2="${y0 + 30 + LANES.length * laneH}" stroke="#eee"/>`);
      if (t % (step * 2) === 0) out.push(`<text x="${x(t).toFixed(1)}" y="${y0 + 44 + LANES.length * laneH}" text-anchor="middle" fill="#666">${t} ms</text>`);
    }
    for (const lane of LANES) {
      const label = lane === 'GARP' ? 'GARP at client' : lane === 'client' ? 'client probes' : `${lane} adverts`;
      out.push(`<text x="${left - 6}" y="${laneY(lane) + 4}" text-anchor="end">${label}</text>`);
      out.push(`<line x1="${left}" y1="${laneY(lane)}" x2="${width - right}" y2="${laneY(lane)}" stroke="#ccc"/>`);
    }
    // The floor: from the reference advert, the protocol's wait (Master_Down or Skew_Time).
    if (inRange(panel.reference)) {
      const x1 = x(panel.reference);
      const x2 = x(Math.min(toMs, panel.reference + panel.floorMs));
      out.push(`<rect x="${x1.toFixed(1)}" y="${laneY('m2') - 8}" width="${(x2 - x1).toFixed(1)}" height="16" fill="#f2f2f2" stroke="#bbb" stroke-dasharray="3,2"/>`);
      out.push(`<text x="${((x1 + x2) / 2).toFixed(1)}" y="${laneY('m2') + 4}" text-anchor="middle" fill="#777">${esc(panel.floorName)} ${panel.floorMs} ms</text>`);
    }
    // Outage: from the old master's last reply to the new master's first.
    const o1 = x(Math.max(fromMs, panel.lastOld));
    const o2 = x(Math.min(toMs, panel.firstNew));
    out.push(`<rect x="${o1.toFixed(1)}" y="${laneY('client') - 9}" width="${Math.max(1, o2 - o1).toFixed(1)}" height="18" fill="#fde0dc"/>`);
    out.push(`<text x="${((o1 + o2) / 2).toFixed(1)}" y="${laneY('client') + 21}" text-anchor="middle" fill="#c0392b">outage ${(panel.firstNew - panel.lastOld).toFixed(0)} ms</text>`);
    for (const t of panel.failures) if (inRange(t)) out.push(`<line x1="${x(t).toFixed(1)}" y1="${laneY('client') - 3}" x2="${x(t).toFixed(1)}" y2="${laneY('client') + 3}" stroke="#bbb"/>`);
    for (const r of panel.replies) {
      if (inRange(r.t)) out.push(`<circle cx="${x(r.t).toFixed(1)}" cy="${laneY('client')}" r="2" fill="${COLORS[r.who] ?? 'black'}"/>`);
    }
    for (const a of panel.adverts) {
      if (!inRange(a.t) || !LANES.includes(a.from as (typeof LANES)[number])) continue;
      const color = a.priority === 0 ? '#d62728' : COLORS[a.from] ?? 'black';
      const xa = x(a.t).toFixed(1);
      out.push(`<line x1="${xa}" y1="${laneY(a.from) - 8}" x2="${xa}" y2="${laneY(a.from) + 8}" stroke="${color}" stroke-width="2"><title>${a.from} priority ${a.priority} at ${a.t.toFixed(1)} ms</title></line>`);
      out.push(`<text x="${xa}" y="${laneY(a.from) - 10}" text-anchor="middle" font-size="9" fill="${color}">${a.priority}</text>`);
    }
    for (const v of panel.vip) {
      if (!inRange(v.t) || !LANES.includes(v.host as (typeof LANES)[number])) continue;
      const xv = x(v.t);
      const y = laneY(v.host);
      const shape = v.held ? `${xv - 5},${y + 10} ${xv + 5},${y + 10} ${xv},${y + 3}` : `${xv - 5},${y + 3} ${xv + 5},${y + 3} ${xv},${y + 10}`;
      out.push(`<polygon points="${shape}" fill="${v.held ? '#2ca02c' : '#d62728'}"><title>VIP ${v.held ? 'added on' : 'removed from'} ${v.host} at ${v.t.toFixed(0)} ms</title></polygon>`);
    }
    for (const g of panel.garps) {
      if (inRange(g.t)) out.push(`<rect x="${(x(g.t) - 1.5).toFixed(1)}" y="${laneY('GARP') - 6}" width="3" height="12" fill="${COLORS[g.from] ?? 'black'}"><title>GARP from ${g.from} at ${g.t.toFixed(1)} ms</title></rect>`);
    }
    // The trigger.
    if (inRange(0)) out.push(`<line x1="${x(0).toFixed(1)}" y1="${y0 + 20}" x2="${x(0).toFixed(1)}" y2="${y0 + 30 + LANES.length * laneH - 8}" stroke="black" stroke-dasharray="4,3"/><text x="${x(0).toFixed(1)}" y="${y0 + 18}" text-anchor="middle">trigger</text>`);
  });
  const legendY = height - 12;
  out.push(`<text x="${left}" y="${legendY}" fill="#444">ticks: adverts (number = priority; red = priority 0); ▲/▼: VIP added/removed (kernel); dots: probe answered by m1 (blue), m2 (green), m3 (purple); grey ticks: unanswered probes; grey box: protocol floor after the old master's last relevant advert</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
