/**
 * A keepalived.conf, as read by keepalived.ts, written out as vrrpd YAML with the same field names.
 * The YAML is built from the very data the loader validates, so loading it gives the same model
 * (import-keepalived checks that before it prints anything). Comments carry over what YAML has no
 * field for: the keywords vrrpd ignores and why, a hint where a built-in check fits better, and the
 * comment at the end of each original line.
 */
import type { KeepalivedRead } from './keepalived.js';

/** Words YAML 1.2 (core schema, as the `yaml` package reads it) would not read as a string. */
const YAML_RESERVED = /^(true|false|yes|no|on|off|y|n|null|~|\.inf|-\.inf|\.nan)$/i;
const YAML_NUMBER = /^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$|^0x[0-9a-fA-F]+$|^0o[0-7]+$/;
const YAML_PLAIN = /^[A-Za-z0-9_/.][A-Za-z0-9_/.:@ +-]*$/;

/** A string as YAML reads it back unchanged: plain when that is safe, else double-quoted. */
export function yamlString(text: string): string {
  const plain = YAML_PLAIN.test(text) && !YAML_RESERVED.test(text) && !YAML_NUMBER.test(text) && !text.includes(': ') && !text.endsWith(':') && !text.endsWith(' ');
  // JSON's double-quoted strings are YAML double-quoted strings.
  return plain ? text : JSON.stringify(text);
}

function yamlScalar(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return yamlString(String(value));
}

function comment(text: string | undefined): string {
  return text === undefined || text === '' ? '' : `  # ${text.replace(/[\r\n]+/g, ' ')}`;
}

/**
 * `killall -0 NAME`, `pidof NAME`, `pgrep [-x] NAME`: a process check by fork/exec. As anyone but
 * root (or the process's own user) `killall -0` fails with EPERM, so the check would always fail.
 */
export function processCheckHint(script: string): string | undefined {
  const match = /^(?:\S*\/)?(?:killall\s+-0|pidof|pgrep(?:\s+-x)?)\s+([A-Za-z0-9_.:@+-]+)$/.exec(script.trim());
  if (!match) return undefined;
  const name = match[1]!;
  return (
    `vrrpd: '${script.trim()}' only works as root (as another user killall -0 fails with "Operation not permitted", so the check ` +
    `would always fail) and forks a process every interval. vrrpd's built-in process check looks in /proc, needs no privileges ` +
    `and forks nothing: use \`process: ${name}\` in place of \`script\`.`
  );
}

/** Comment text in lines of at most `width` characters (longer words and code spans stay whole). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let current = '';
  // A `code span` stays on one line, so it can be copied.
  for (const word of text.replace(/[\r\n]+/g, ' ').match(/`[^`]*`\S*|\S+/g) ?? []) {
    if (current !== '' && current.length + 1 + word.length > width) {
      out.push(current);
      current = word;
    } else {
      current = current === '' ? word : `${current} ${word}`;
    }
  }
  if (current !== '') out.push(current);
  return out;
}

export interface RenderOptions {
  /** Named in the header comment. */
  sourceFile: string;
}

/** The YAML text for an accepted keepalived.conf. */
export function renderKeepalivedAsYaml(read: KeepalivedRead, options: RenderOptions): string {
  const lines: string[] = [
    `# vrrpd configuration converted from ${options.sourceFile} by \`vrrpd import-keepalived\`.`,
    '# Field names are keepalived\'s keywords; check it with `vrrpd check-config`.',
  ];
  const notesAt = (path: readonly PropertyKey[]): string[] =>
    read.notes.filter((note) => note.path.length === path.length && note.path.every((segment, i) => segment === path[i])).map((note) => note.text);

  const emitNotes = (path: readonly PropertyKey[], indent: string): void => {
    for (const note of notesAt(path)) for (const line of wrap(note, 100 - indent.length)) lines.push(`${indent}# ${line}`);
  };

  const emitMapping = (object: Record<string, unknown>, path: PropertyKey[], indent: string): void => {
    emitNotes(path, indent);
    for (const [key, value] of Object.entries(object)) emitEntry(key, value, path, indent);
  };

  const emitEntry = (key: string, value: unknown, path: PropertyKey[], indent: string): void => {
    const fieldPath = [...path, key];
    // A record section (vrrp_instance) is written once per entry; its line's comment is the entry's.
    const after = path.length === 0 && (key === 'vrrp_script' || key === 'vrrp_instance') ? '' : comment(read.trailingCommentOf(fieldPath));
    if (path.length === 2 && path[0] === 'vrrp_script' && key === 'script' && typeof value === 'string') {
      const hint = processCheckHint(value);
      if (hint) for (const line of wrap(hint, 100 - indent.length)) lines.push(`${indent}# ${line}`);
    }
    if (Array.isArray(value)) {
      if (value.length === 0) {
        lines.push(`${indent}${yamlString(key)}: []${after}`);
        return;
      }
      lines.push(`${indent}${yamlString(key)}:${after}`);
      value.forEach((item, index) => {
        const itemComment = comment(read.trailingCommentOf([...fieldPath, index]));
        if (typeof item === 'object' && item !== null) {
          Object.entries(item as Record<string, unknown>).forEach(([itemKey, itemValue], i) => {
            lines.push(`${indent}  ${i === 0 ? '- ' : '  '}${yamlString(itemKey)}: ${yamlScalar(itemValue)}${i === 0 ? itemComment : ''}`);
          });
        } else {
          lines.push(`${indent}  - ${yamlScalar(item)}${itemComment}`);
        }
      });
      return;
    }
    if (typeof value === 'object' && value !== null) {
      if (Object.keys(value).length === 0) {
        // `key:` followed by comments only would be null, not an empty mapping.
        emitNotes(fieldPath, indent);
        lines.push(`${indent}${yamlString(key)}: {}${after}`);
        return;
      }
      lines.push(`${indent}${yamlString(key)}:${after}`);
      emitMapping(value as Record<string, unknown>, fieldPath, `${indent}  `);
      return;
    }
    lines.push(`${indent}${yamlString(key)}: ${yamlScalar(value)}${after}`.trimEnd());
  };

  // Top level: global_defs first even when the file only has ignored settings in it.
  const data = { ...read.data };
  if (data['global_defs'] === undefined && notesAt(['global_defs']).length > 0) data['global_defs'] = {};
  emitNotes([], '');
  lines.push('');
  const topLevel = Object.entries(data);
  topLevel.forEach(([key, value], index) => {
    emitEntry(key, value, [], '');
    if (index < topLevel.length - 1) lines.push('');
  });
  return `${lines.join('\n')}\n`;
}
