/**
 * The folder-level import graph of lib/ (issue 16: layers that only point down). Prints each
 * folder's imports with a count and an example, then the violations:
 * - a cycle between folders (found as strongly connected components of the folder graph);
 * - a file under a lowest folder importing another lib folder: lib/core/protocol (the types and codecs
 *   every layer shares: events, effects, topics) and lib/base (log, backoff, error text).
 * Any folder takes part in the cycle check, a new one (say lib/durability) too, without listing it.
 * Type-only imports count: they tie the folders together just the same. Files directly in lib/
 * form the folder "lib". Exits 1 when there is a violation, so it can become part of the lint.
 *
 *   npx tsx scripts/check-layers.ts [--quiet] [root]     (root: default lib; --quiet: violations only)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
const root = resolve(args.find((a) => a !== '--quiet') ?? 'lib');
const LOWEST: readonly string[] = ['base', 'core/protocol'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The relative modules a file imports or re-exports (static `from '…'` and dynamic `import('…')`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/\bfrom\s+['"](\.[^'"]+)['"]|\bimport\s*\(\s*['"](\.[^'"]+)['"]\s*\)|^\s*import\s+['"](\.[^'"]+)['"]/gm)]
    .map((m) => m[1] ?? m[2] ?? m[3] ?? '');
  return specifiers.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

/** `lib/core/streams/x.ts` -> `core/streams`; `lib/main.ts` -> `lib`; outside lib -> undefined. */
function folderOf(file: string): string | undefined {
  const rel = relative(root, file);
  if (rel.startsWith('..')) return undefined;
  const folder = dirname(rel);
  return folder === '.' ? 'lib' : folder;
}

interface Edge {
  readonly count: number;
  readonly example: string;
}

const graph = new Map<string, Map<string, Edge>>();
const fileGraph = new Map<string, Map<string, Edge>>();
const lowestViolations: string[] = [];
const files = sourceFiles(root);
for (const file of files) {
  const from = folderOf(file) as string;
  if (!graph.has(from)) graph.set(from, new Map());
  const fileEdges = new Map<string, Edge>();
  fileGraph.set(file, fileEdges);
  for (const target of importsOf(file)) {
    if (folderOf(target) !== undefined) fileEdges.set(target, { count: 1, example: `${relative('.', file)} -> ${relative('.', target)}` });
    const to = folderOf(target);
    if (to === undefined || to === from) continue;
    const edges = graph.get(from) as Map<string, Edge>;
    const edge = edges.get(to);
    const example = `${relative('.', file)} -> ${relative('.', target)}`;
    edges.set(to, { count: (edge?.count ?? 0) + 1, example: edge?.example ?? example });
    if (LOWEST.includes(from)) lowestViolations.push(example);
  }
}

/** Tarjan's strongly connected components; those with more than one node are cycles. */
function cycles(graph: Map<string, Map<string, Edge>>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const info = new Map<string, { index: number; low: number; onStack: boolean }>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    const vi = { index, low: index, onStack: true };
    index++;
    info.set(v, vi);
    stack.push(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      const wi = info.get(w);
      if (wi === undefined) {
        visit(w);
        vi.low = Math.min(vi.low, (info.get(w) as { low: number }).low);
      } else if (wi.onStack) vi.low = Math.min(vi.low, wi.index);
    }
    if (vi.low !== vi.index) return;
    const component: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
      (info.get(w) as { onStack: boolean }).onStack = false;
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!info.has(v)) visit(v);
  return found;
}

if (!quiet) console.log(`folder imports under ${relative('.', root) || '.'} (count, first example):`);
for (const [from, edges] of quiet ? [] : [...graph].sort(([a], [b]) => a.localeCompare(b))) {
  const targets = [...edges].sort(([a], [b]) => a.localeCompare(b));
  console.log(`  ${from} -> ${targets.length === 0 ? '(nothing)' : ''}`);
  for (const [to, edge] of targets) console.log(`      ${to.padEnd(16)} ${String(edge.count).padStart(3)}  ${edge.example}`);
}

const loops = cycles(graph);
if (!quiet || loops.length > 0) console.log(loops.length === 0 ? '\nno folder cycle' : '\nfolder cycles:');
for (const component of loops) {
  console.log(`  ${component.join(' <-> ')}`);
  for (const from of component) {
    for (const to of component) {
      const edge = graph.get(from)?.get(to);
      if (edge) console.log(`      ${from} -> ${to}: ${edge.count} import(s), e.g. ${edge.example}`);
    }
  }
}
const fileLoops = cycles(fileGraph);
if (!quiet || fileLoops.length > 0) console.log(fileLoops.length === 0 ? '\nno file cycle' : '\nfile cycles:');
for (const component of fileLoops) {
  console.log(`  ${component.map((f) => relative(root, f)).join(' <-> ')}`);
  for (const from of component) for (const to of component) {
    const edge = fileGraph.get(from)?.get(to);
    if (edge) console.log(`      ${edge.example}`);
  }
}

const byName = new Map<string, string[]>();
for (const file of files) byName.set(basename(file), [...(byName.get(basename(file)) ?? []), relative(root, file)]);
const sameNames = [...byName].filter(([, paths]) => paths.length > 1).sort(([a], [b]) => a.localeCompare(b));
if (!quiet || sameNames.length > 0) console.log(sameNames.length === 0 ? '\nno two files share a name' : '\nfiles sharing a name:');
for (const [name, paths] of sameNames) console.log(`  ${name}: ${paths.join(', ')}`);

const lowest = LOWEST.map((f) => `lib/${f}`).join(', ');
if (!quiet || lowestViolations.length > 0) console.log(lowestViolations.length === 0 ? `\n${lowest}: no other lib folder imported` : `\n${lowest}: other lib folders imported:`);
for (const v of lowestViolations) console.log(`  ${v}`);

process.exitCode = loops.length > 0 || fileLoops.length > 0 || lowestViolations.length > 0 || sameNames.length > 0 ? 1 : 0;
