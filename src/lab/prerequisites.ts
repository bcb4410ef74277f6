/**
 * What the lab needs from the machine, checked before it touches anything: so that a newcomer who
 * runs it without root or without a tool gets one message naming every missing piece and the
 * command that installs it, and the machine is left exactly as it was.
 */
import { execFileSync } from 'node:child_process';

export interface Tool {
  command: string;
  /** Arguments that make it print its version and exit 0 (only ENOENT counts as missing). */
  versionArgs: string[];
  /** The Debian/Ubuntu package that has it. */
  debianPackage: string;
  why: string;
}

export interface Needs {
  /** The seed's `killall -0 kube-apiserver` check runs somewhere (seed config set or keepalived nodes). */
  killall: boolean;
  /** The recommended config's https /readyz check needs a CA and a serving certificate. */
  openssl: boolean;
  keepalived: boolean;
  /** The v3 config set times its failovers from the adverts on the switch. */
  tcpdump?: boolean;
}

export function requiredTools(needs: Needs): Tool[] {
  const tools: Tool[] = [
    { command: 'ip', versionArgs: ['-V'], debianPackage: 'iproute2', why: 'network namespaces, veths, the bridge' },
    { command: 'unshare', versionArgs: ['--version'], debianPackage: 'util-linux', why: 'a PID namespace per master' },
    { command: 'nsenter', versionArgs: ['--version'], debianPackage: 'util-linux', why: 'starting processes on a master' },
    { command: 'setpriv', versionArgs: ['--version'], debianPackage: 'util-linux', why: 'helpers that die with the lab' },
    { command: 'bash', versionArgs: ['--version'], debianPackage: 'bash', why: 'the init of each master' },
  ];
  if (needs.killall) tools.push({ command: 'killall', versionArgs: ['-V'], debianPackage: 'psmisc', why: "the seed's check `killall -0 kube-apiserver`" });
  if (needs.openssl) tools.push({ command: 'openssl', versionArgs: ['version'], debianPackage: 'openssl', why: 'the CA and certificate of the https /readyz stand-in' });
  if (needs.tcpdump) tools.push({ command: 'tcpdump', versionArgs: ['--version'], debianPackage: 'tcpdump', why: 'timing the VRRPv3 failovers from the wire (--config-set v3)' });
  if (needs.keepalived) tools.push({ command: 'keepalived', versionArgs: ['--version'], debianPackage: 'keepalived', why: '--keepalived nodes' });
  return tools;
}

/**
 * Where to look for tools. Root runs them from its own PATH, as the lab will. A user who is told to
 * use sudo usually lacks the sbin directories in PATH (ip and keepalived live there), while sudo's
 * secure_path has them: look there too, rather than call a tool missing that sudo will find.
 */
function searchPath(): string {
  const path = process.env.PATH ?? '';
  if (process.getuid?.() === 0) return path;
  const dirs = path.split(':').filter(Boolean);
  for (const sbin of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!dirs.includes(sbin)) dirs.push(sbin);
  return dirs.join(':');
}

function installed(tool: Tool, path: string): boolean {
  try {
    execFileSync(tool.command, tool.versionArgs, { stdio: 'ignore', timeout: 10_000, env: { ...process.env, PATH: path } });
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** The tools of `tools` that are not installed. */
export function missingTools(tools: readonly Tool[]): Tool[] {
  const path = searchPath();
  return tools.filter((tool) => !installed(tool, path));
}

/** Every reason the lab cannot run here, each a line a person can act on; empty when it can. */
export function missingPrerequisites(needs: Needs): string[] {
  const problems: string[] = [];
  if (process.platform !== 'linux') {
    return [`vrrpd lab needs Linux (network namespaces); this is ${process.platform}`];
  }
  if (process.getuid?.() !== 0) {
    problems.push(
      `not running as root (uid ${process.getuid?.()}): the lab creates network and PID namespaces, which needs CAP_SYS_ADMIN and CAP_NET_ADMIN.\n` +
        `  Run it as root: sudo npx vrrpd lab   (or: sudo node dist/cli/main.js lab)`,
    );
  }
  const missing = missingTools(requiredTools(needs));
  if (missing.length > 0) {
    const lines = missing.map((tool) => `  ${tool.command.padEnd(10)} (package ${tool.debianPackage}): ${tool.why}`);
    const packages = [...new Set(missing.map((tool) => tool.debianPackage))];
    problems.push(`missing ${missing.length === 1 ? 'a tool' : 'tools'}:\n${lines.join('\n')}\n  Install with: sudo apt-get install ${packages.join(' ')}`);
  }
  return problems;
}
