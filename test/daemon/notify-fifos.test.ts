/**
 * global_defs notify_fifo / vrrp_notify_fifo as the daemon runs them: which FIFOs (a path named
 * twice is written once), lines for every transition, the reader script started with the FIFO's
 * path, and a reload that keeps an unchanged FIFO open.
 */
import { chmodSync, closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { GlobalDefs } from '../../src/config/model.js';
import { fifoSpecs, NotifyFifos } from '../../src/daemon/notify-fifos.js';
import { waitUntil } from '../../src/lab/exec.js';
import { readAvailable } from '../fifo-reader.js';

const BASE: GlobalDefs = {
  vrrp_version: 2, enable_script_security: false, vrrp_garp_master_delay: 5, vrrp_garp_master_repeat: 5, vrrp_garp_master_refresh: 0,
  vrrp_skip_check_adv_addr: false, vrrp_startup_delay: 0, vrrp_check_unicast_src: true,
};

const silent = pino({ level: process.env['FIFO_DEBUG'] ? 'debug' : 'silent' });

describe('notify FIFOs of global_defs', () => {
  it('notify_fifo and vrrp_notify_fifo with the same path are one FIFO (the global one, as keepalived); the owner words are kept apart', () => {
    expect(fifoSpecs({ ...BASE, notify_fifo: '/run/a.fifo root root', notify_fifo_script: '/bin/reader', vrrp_notify_fifo: '/run/a.fifo' })).toEqual([
      { keyword: 'notify_fifo', path: '/run/a.fifo', owner: 'root root', script: '/bin/reader' },
    ]);
    expect(fifoSpecs({ ...BASE, notify_fifo: '/run/a.fifo', vrrp_notify_fifo: '/run/b.fifo', vrrp_notify_fifo_script: '/bin/r' }).map((s) => [s.keyword, s.path, s.script])).toEqual([
      ['notify_fifo', '/run/a.fifo', undefined],
      ['vrrp_notify_fifo', '/run/b.fifo', '/bin/r'],
    ]);
    expect(fifoSpecs(BASE)).toEqual([]);
  });

  it('writes each transition to every FIFO, keeps an unchanged FIFO across a reload and removes the ones it made at close', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-fifos-'));
    const a = join(dir, 'a.fifo');
    const b = join(dir, 'b.fifo');
    const fifos = new NotifyFifos({ log: silent, enableScriptSecurity: false });
    fifos.configure(fifoSpecs({ ...BASE, notify_fifo: a, vrrp_notify_fifo: b }));
    const readerA = openSync(a, constants.O_RDONLY | constants.O_NONBLOCK);
    const readerB = openSync(b, constants.O_RDONLY | constants.O_NONBLOCK);
    fifos.transition('VI_1', 'BACKUP', 100);
    fifos.transition('VI_1', 'MASTER', 100);
    fifos.configure(fifoSpecs({ ...BASE, notify_fifo: a })); // a reload that drops b
    expect(existsSync(b)).toBe(false);
    fifos.transition('VI_1', 'STOP', 100);
    expect(readAvailable(readerA)).toBe('INSTANCE "VI_1" BACKUP 100\nINSTANCE "VI_1" MASTER 100\nINSTANCE "VI_1" STOP 100\n');
    expect(readAvailable(readerB)).toBe('INSTANCE "VI_1" BACKUP 100\nINSTANCE "VI_1" MASTER 100\n');
    expect(fifos.stats()).toEqual([{ path: a, written: 3, queued: 0, dropped: 0 }]);
    fifos.close();
    expect(existsSync(a)).toBe(false);
    closeSync(readerA);
    closeSync(readerB);
  });

  it('starts the reader script with the FIFO path as its last argument, and stops it at close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vrrpd-fifos-'));
    const fifo = join(dir, 'n.fifo');
    const out = join(dir, 'out');
    const script = join(dir, 'reader.sh');
    // Records its arguments, then copies the FIFO's lines to a file.
    writeFileSync(script, `#!/bin/sh\necho "args: $*" > ${out}.args\nexec cat "$2" >> ${out}\n`);
    chmodSync(script, 0o755);
    const fifos = new NotifyFifos({ log: silent, enableScriptSecurity: false });
    fifos.configure(fifoSpecs({ ...BASE, vrrp_notify_fifo: fifo, vrrp_notify_fifo_script: `${script} -v` }));
    fifos.transition('VI_1', 'MASTER', 100);
    fifos.transition('VI_1', 'FAULT', 80);
    await waitUntil(async () => existsSync(out) && readFileSync(out, 'utf8').split('\n').length >= 3, 5000, 'the reader copied two lines');
    expect(readFileSync(`${out}.args`, 'utf8')).toBe(`args: -v ${fifo}\n`);
    expect(readFileSync(out, 'utf8')).toBe('INSTANCE "VI_1" MASTER 100\nINSTANCE "VI_1" FAULT 80\n');
    fifos.close();
  });
});
