/**
 * Everything `vrrpd run` checks before it touches the host, in one function that `vrrpd
 * check-config` calls too, so that the two cannot disagree: a file check-config passes is a file
 * run starts (and RestartPreventExitStatus=3 never keeps a node without VRRP after a reboot for a
 * reason check-config did not say).
 *
 * - The file loads and validates (config/load.ts).
 * - Every user it names (global_defs script_user, vrrp_script user) exists.
 * - Every tracked check can be set up: a script's command splits, is found in PATH, and passes
 *   enable_script_security when it runs as root or as vrrpd's own privileged user (io/command.ts).
 * - Every notify command passes the same.
 * - Warnings for what runs but cannot do what is meant: an insecure script without
 *   enable_script_security, a user vrrpd cannot switch to, `killall -0` as a non-root user.
 *
 * The verdict depends on who vrrpd runs as, so it takes that as an argument: `run` passes itself,
 * check-config the user given with --user (the shipped unit runs vrrpd as `vrrpd` holding
 * CAP_NET_ADMIN and CAP_NET_RAW).
 */
import { readMirrorKey } from '../io/mirror.js';
import { loadConfigFile, type ConfigIssue, type LoadResult } from '../config/load.js';
import type { VrrpdConfig } from '../config/model.js';
import { lookupEntry, lookupUserSpec, ScriptSetupError } from '../io/command.js';
import { NOTIFY_KINDS, prepareNotifyCommand } from '../io/notify.js';
import { capabilityNames, ownCapabilities, VRRPD_CAPABILITIES } from '../io/privileges.js';
import { planTrackers, type TrackerPlan } from './checks.js';

/** The user vrrpd runs (or will run) as, which is what scripts are judged by. */
export interface DaemonIdentity {
  /** `root`, `vrrpd`; `uid 1234` for a uid without a name. */
  user: string;
  uid: number;
  /** The capabilities vrrpd holds (effective | permitted). */
  capabilities: bigint;
}

/** This process, as `run` is. */
export function currentIdentity(): DaemonIdentity {
  const uid = process.geteuid?.() ?? 0;
  return { user: userName(uid), uid, capabilities: ownCapabilities(uid) };
}

/**
 * The identity `run` would have as `name` (check-config --user), or as the invoking user when
 * `name` is undefined. vrrpd cannot work without CAP_NET_RAW and CAP_NET_ADMIN, so a non-root
 * user is judged as holding them: that is how the shipped unit (and any working setup) runs it,
 * and it is the strictest reading for script security. Throws Error for a user that does not exist.
 */
export function identityForUser(name: string | undefined): DaemonIdentity {
  let uid: number;
  if (name === undefined) {
    uid = process.geteuid?.() ?? 0;
  } else {
    const entry = lookupEntry('passwd', name);
    if (entry === undefined) throw new Error(`user '${name}' does not exist`);
    uid = Number(entry[2]);
  }
  return { user: name ?? userName(uid), uid, capabilities: uid === 0 ? ownCapabilities(0) | VRRPD_CAPABILITIES : VRRPD_CAPABILITIES };
}

/** `user vrrpd (uid 998) with CAP_NET_ADMIN and CAP_NET_RAW`, `root (uid 0)`. */
export function describeIdentity(identity: DaemonIdentity): string {
  const name = /^uid \d+$/.test(identity.user) ? identity.user : `${identity.uid === 0 ? '' : 'user '}${identity.user} (uid ${identity.uid})`;
  if (identity.uid === 0 || identity.capabilities === 0n) return name;
  const caps = capabilityNames(identity.capabilities);
  return `${name} with ${caps.length <= 2 ? caps.join(' and ') : caps.join(', ')}`;
}

function userName(uid: number): string {
  return lookupEntry('passwd', String(uid))?.[0] ?? `uid ${uid}`;
}

export interface PreflightOptions {
  /** PATH for commands without a slash; the process's own by default. */
  pathVariable?: string;
  /** SIGTERM -> SIGKILL delay for the prepared scripts (tests shorten it). */
  killGraceMs?: number;
}

export interface PreflightFindings {
  /** Reasons to reject the configuration (exit 3), one line each, without the file name. */
  problems: string[];
  /** What runs but may not do what is meant, one line each. */
  warnings: string[];
  /** The tracked checks, prepared; `run` starts exactly these when there are no problems. */
  trackers: TrackerPlan;
}

/** Check a loaded configuration as `identity` would run it. Runs nothing, changes nothing. */
export function preflightConfig(config: VrrpdConfig, identity: DaemonIdentity, options: PreflightOptions = {}): PreflightFindings {
  const problems = userProblems(config);
  const judgedAs = {
    euid: identity.uid,
    daemonCapabilities: identity.capabilities,
    ...(options.pathVariable !== undefined ? { pathVariable: options.pathVariable } : {}),
  };
  const trackers = planTrackers(config, { ...judgedAs, ...(options.killGraceMs !== undefined ? { killGraceMs: options.killGraceMs } : {}) });
  const notify = notifyCommandFindings(config, judgedAs);
  // Every user was looked up above: a script or notify command naming an unknown one says nothing new.
  const known = (code: ScriptSetupError['code']): boolean => code === 'unknown_user';
  problems.push(...trackers.problems.filter((p) => !known(p.code)).map((p) => p.message));
  problems.push(...notify.problems.filter((p) => !known(p.code)).map((p) => p.message));
  // The mirror's key: a key others can read lets them forge adverts; refused here, so check-config
  // and run give the same verdict (exit 3).
  const mirror = config.vrrpd.udp_mirror;
  if (mirror !== undefined) {
    const key = readMirrorKey(mirror.key_file);
    if (!key.ok) problems.push(key.message);
  }
  return { problems, warnings: [...trackers.warnings.map((w) => w.message), ...notify.warnings], trackers };
}

/** Every user the configuration names must exist, whether or not vrrpd can switch to it. */
function userProblems(config: VrrpdConfig): string[] {
  const named: [where: string, spec: string][] = [];
  if (config.global_defs.script_user !== undefined) named.push(['global_defs script_user', config.global_defs.script_user]);
  for (const script of Object.values(config.vrrp_script)) {
    if (script.user !== undefined) named.push([`vrrp_script ${script.name} user`, script.user]);
  }
  const problems: string[] = [];
  for (const [where, spec] of named) {
    try {
      lookupUserSpec(spec);
    } catch (error) {
      if (!(error instanceof ScriptSetupError)) throw error;
      problems.push(`${where} '${spec}': ${error.message}`);
    }
  }
  return problems;
}

export type Preflight =
  | { ok: false; stage: 'load'; errors: ConfigIssue[]; warnings: ConfigIssue[] }
  | ({
      ok: boolean;
      stage: 'host';
      config: VrrpdConfig;
      /** The loader's warnings (located). */
      loadWarnings: ConfigIssue[];
      locate?: Extract<LoadResult, { ok: true }>['locate'];
    } & PreflightFindings);

/** Load `path` and check it as `identity` would run it: the whole verdict of `run` and `check-config`. */
export async function preflightFile(path: string, identity: DaemonIdentity, options: PreflightOptions = {}): Promise<Preflight> {
  const loaded = await loadConfigFile(path);
  if (!loaded.ok) return { ok: false, stage: 'load', errors: loaded.errors, warnings: loaded.warnings };
  const findings = preflightConfig(loaded.config, identity, options);
  return {
    ok: findings.problems.length === 0,
    stage: 'host',
    config: loaded.config,
    loadWarnings: loaded.warnings,
    ...(loaded.locate ? { locate: loaded.locate } : {}),
    ...findings,
  };
}

export interface NotifyCommandFindings {
  /** Commands that cannot run (syntax, PATH, user, script security), one each. */
  problems: { message: string; code: ScriptSetupError['code'] }[];
  /** Commands that run but should not (insecure without enable_script_security). */
  warnings: string[];
}

/**
 * Every notify command of every instance, prepared as its run will be, so that what cannot run is
 * reported before the first transition.
 */
export function notifyCommandFindings(
  config: Pick<VrrpdConfig, 'vrrp_instance' | 'global_defs'>,
  judgedAs: { euid?: number; daemonCapabilities?: bigint; pathVariable?: string } = {},
): NotifyCommandFindings {
  const problems: NotifyCommandFindings['problems'] = [];
  const warnings: string[] = [];
  const options = {
    ...(config.global_defs.script_user !== undefined ? { scriptUser: config.global_defs.script_user } : {}),
    enableScriptSecurity: config.global_defs.enable_script_security,
    ...judgedAs,
  };
  for (const instance of Object.values(config.vrrp_instance)) {
    for (const kind of NOTIFY_KINDS) {
      const command = instance[kind];
      if (command === undefined) continue;
      const where = `vrrp_instance ${instance.name} ${kind} ('${command}')`;
      try {
        for (const warning of prepareNotifyCommand(command, options).warnings) warnings.push(`${where} ${warning}`);
      } catch (error) {
        if (!(error instanceof ScriptSetupError)) throw error;
        problems.push({ message: `${where}: ${error.message}`, code: error.code });
      }
    }
  }
  return { problems, warnings };
}
