/**
 * `npm pack` of this package (run in a copy, so the build its prepare script runs never rewrites
 * the dist/ other tests are using) and `npm install -g` of the tarball into a scratch prefix.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = new URL('../../', import.meta.url).pathname;
export const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=warn'];

export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, ...options });
}

function must(result: SpawnSyncReturns<string>, what: string): SpawnSyncReturns<string> {
  if (result.error !== undefined || result.status !== 0) throw new Error(`${what}: exit ${result.status} ${result.error ?? ''}\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Pack into `scratch`; returns the tarball's path and the file list npm reports. */
export function packPackage(scratch: string): { tarball: string; entries: string[] } {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { files: string[] };
  const source = join(scratch, 'source');
  mkdirSync(source, { recursive: true });
  const copied = ['package.json', 'tsconfig.json', ...pkg.files.filter((f) => !f.startsWith('!') && f !== 'dist')];
  for (const entry of copied) {
    if (!existsSync(join(REPO, entry))) continue;
    cpSync(join(REPO, entry), join(source, entry), {
      recursive: true,
      filter: (path) => !path.includes('/src/io/native/build') && !path.endsWith('.tgz'),
    });
  }
  symlinkSync(join(REPO, 'node_modules'), join(source, 'node_modules'));
  const packed = must(run('npm', ['pack', '--json', '--pack-destination', scratch, ...NPM_FLAGS], { cwd: source }), 'npm pack');
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return { tarball: join(scratch, info[0]!.filename), entries: info[0]!.files.map((f) => f.path).sort() };
}

/** npm install -g of the tarball into a fresh prefix under `scratch`. */
export function globalInstall(scratch: string, tarball: string, name: string, extra: string[]): { prefix: string; result: SpawnSyncReturns<string> } {
  const prefix = join(scratch, name);
  mkdirSync(join(prefix, 'lib'), { recursive: true }); // npm 11's strict preflight lstat()s prefix/lib
  const result = run('npm', ['install', '-g', '--prefix', prefix, ...NPM_FLAGS, ...extra, tarball], { cwd: scratch });
  return { prefix, result };
}

/** Pack and install with the documented command; throws on failure. Returns the prefix. */
export function packAndInstall(scratch: string): string {
  const { tarball } = packPackage(scratch);
  const { prefix, result } = globalInstall(scratch, tarball, 'prefix', [`--allow-scripts=raw-socket,${tarball}`]);
  must(result, 'npm install -g');
  return prefix;
}
