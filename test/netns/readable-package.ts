/**
 * A copy of the built vrrpd (dist/, the addon, the runtime node_modules, and node itself when it
 * has to be) in a world-readable temporary directory, so that a test can run the daemon as an
 * ordinary user wherever the checkout is (a CI clone sits in a 0700 directory), and helpers to
 * start it the way the shipped unit does: an ordinary uid holding only CAP_NET_ADMIN and
 * CAP_NET_RAW, as ambient capabilities, with no_new_privs.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ADDON = join('src', 'io', 'native', 'build', 'Release', 'vrrpd_packet.node');

export const NOBODY = 65534;

/** setpriv arguments that make a process what systemd/vrrpd.service makes vrrpd. */
export function asUnitUser(uid = NOBODY): string[] {
  return [
    'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--no-new-privs',
    '--inh-caps=-all,+net_admin,+net_raw', '--ambient-caps=+net_admin,+net_raw', '--bounding-set=-all,+net_admin,+net_raw',
  ];
}

export interface ReadablePackage {
  dir: string;
  /** node, as the ordinary user can run it. */
  node: string;
  /** dist/cli/main.js in the copy. */
  cli: string;
  remove(): void;
}

/** The runtime dependencies of package.json, with theirs, found through node_modules. */
function runtimePackages(): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    const manifest = join(REPO, 'node_modules', name, 'package.json');
    if (!existsSync(manifest)) return; // optional and absent
    seen.add(name);
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
  };
  const root = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of Object.keys(root.dependencies)) visit(dep);
  return [...seen];
}

function canExecute(uid: number, file: string): boolean {
  try {
    execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'test', '-x', file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Copy what `vrrpd run` needs (after `npm run build`) where `uid` can read it. */
export function readablePackage(uid = NOBODY): ReadablePackage {
  const dir = mkdtempSync(join(tmpdir(), 'vrrpd-readable-'));
  try {
    cpSync(join(REPO, 'dist'), join(dir, 'dist'), { recursive: true, dereference: true });
    cpSync(join(REPO, 'package.json'), join(dir, 'package.json'));
    mkdirSync(dirname(join(dir, ADDON)), { recursive: true });
    cpSync(join(REPO, ADDON), join(dir, ADDON));
    for (const name of runtimePackages()) {
      cpSync(join(REPO, 'node_modules', name), join(dir, 'node_modules', name), { recursive: true, dereference: true });
    }
    let node = process.execPath;
    if (!canExecute(uid, node)) {
      node = join(dir, 'node');
      cpSync(process.execPath, node);
    }
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    chmodSync(dir, 0o755);
    return { dir, node, cli: join(dir, 'dist', 'cli', 'main.js'), remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
