// Lets a child `node --import ./test/netns/ts-register.mjs test/netns/agent.ts` run the project's
// TypeScript without a build: Node 20 cannot strip types, so .ts files are transpiled on load with
// the TypeScript compiler the project already has, and `./x.js` imports resolve to `./x.ts`.
// Only for test children started inside network namespaces (they cannot run inside vitest's process).
import { existsSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  register(import.meta.url);
}

let ts;

export async function resolve(specifier, context, nextResolve) {
  if (specifier.endsWith('.js') && context.parentURL?.startsWith('file:') && /^\.{1,2}\//.test(specifier)) {
    const tsUrl = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
    if (!existsSync(fileURLToPath(new URL(specifier, context.parentURL))) && existsSync(fileURLToPath(tsUrl))) {
      return { url: tsUrl.href, shortCircuit: true };
    }
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:') && url.endsWith('.ts')) {
    ts ??= (await import('typescript')).default;
    const source = readFileSync(fileURLToPath(url), 'utf8');
    const output = ts.transpileModule(source, {
      fileName: fileURLToPath(url),
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        sourceMap: false,
        inlineSourceMap: true,
        verbatimModuleSyntax: false,
      },
    });
    return { format: 'module', source: output.outputText, shortCircuit: true };
  }
  return nextLoad(url, context);
}
