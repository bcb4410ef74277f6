/**
 * Find where a setting is written. zod reports paths into the plain data; people need line:column.
 * The YAML Document keeps every node's source range, so a path is walked back through the node
 * tree. A path that leaves the tree (a missing key, a string that was parsed into an object) is
 * placed at the deepest node that exists, preferring the key that introduces it.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';

export interface SourcePosition {
  line: number;
  column: number;
}

/** Where on the node to point: its key (unknown keys) or its value (everything else). */
export type LocateTarget = 'key' | 'value';

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && (!node.range || node.range[0] === node.range[1]);
}

export class SourceLocator {
  constructor(
    private readonly document: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  /** 1-based line and column of an offset in the text. */
  positionOf(offset: number): SourcePosition {
    const { line, col } = this.lineCounter.linePos(Math.max(0, offset));
    return { line: Math.max(1, line), column: Math.max(1, col) };
  }

  locate(path: readonly PropertyKey[], target: LocateTarget = 'value'): SourcePosition {
    let node: unknown = this.document.contents;
    // The key that introduced `node`, if it is a map value (undefined for list items and the root).
    let keyNode: Node | undefined;
    let walkedAll = true;
    for (const segment of path) {
      const resolved = this.resolveAlias(node);
      let next: { node: unknown; key: Node | undefined } | undefined;
      if (isMap(resolved)) {
        const pair = (resolved.items as Pair[]).find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
        if (pair) next = { node: pair.value, key: pair.key as Node };
      } else if (isSeq(resolved) && typeof segment === 'number') {
        const item: unknown = resolved.items[segment];
        if (item !== undefined) next = { node: item, key: undefined };
      }
      if (!next) {
        walkedAll = false;
        break;
      }
      node = next.node;
      keyNode = next.key;
      // `key:` with nothing after it has no value node, or an empty one at the end of the line;
      // the key is the useful place to point at.
      if (node === null || node === undefined || isEmptyScalar(node)) {
        walkedAll = walkedAll && segment === path[path.length - 1];
        break;
      }
    }
    const chosen = (walkedAll && target === 'value' && !isEmptyScalar(node) ? this.rangeStart(node) : undefined) ?? this.rangeStart(keyNode) ?? this.rangeStart(node);
    return chosen === undefined ? { line: 1, column: 1 } : this.positionOf(chosen);
  }

  private resolveAlias(node: unknown): unknown {
    // Bounded: an alias chain longer than this is a cycle or an attack, and we only need a position.
    for (let hops = 0; hops < 16 && isAlias(node); hops++) node = node.resolve(this.document);
    return node;
  }

  private rangeStart(node: unknown): number | undefined {
    if (node === null || typeof node !== 'object') return undefined;
    const range = (node as Node).range;
    return range ? range[0] : undefined;
  }
}
