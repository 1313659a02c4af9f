/**
 * scripts/check-layers.ts, run as a real process over small source trees written for the test:
 * one whose folders only point down, one with a folder cycle and a protocol file importing up.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'layers-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

async function checkLayers(root: string): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run(process.execPath, ['--import=tsx', 'scripts/check-layers.ts', root]);
    return { stdout, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; code: number };
    return { stdout: e.stdout, code: e.code };
  }
}

describe('scripts/check-layers', function () {
  this.timeout(30_000);
  const roots: string[] = [];
  after(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

  it('passes layers that only point down, and prints the folder graph with nested folders', async () => {
    const root = tree({
      'core/protocol/codec.ts': 'export const x = 1;\n',
      'core/streams/a.ts': "import { x } from '../protocol/codec.js';\nexport const a = x;\n",
      'sinks/b.ts': "import type { a } from '../core/streams/a.js';\nimport { x } from '../core/protocol/codec.js';\n",
      'main.ts': "export { a } from './core/streams/a.js';\nawait import('./sinks/b.js');\n",
    });
    roots.push(root);
    const { stdout, code } = await checkLayers(root);
    expect(code).to.equal(0);
    expect(stdout).to.match(/lib -> \n\s+core\/streams\s+1 .*main\.ts -> .*core\/streams\/a\.ts\n\s+sinks\s+1 /);
    expect(stdout).to.match(/sinks -> \n\s+core\/protocol\s+1 .*\n\s+core\/streams\s+1 /);
    expect(stdout).to.match(/core\/streams -> \n\s+core\/protocol\s+1 /);
    expect(stdout).to.include('no folder cycle');
    expect(stdout).to.include('no file cycle');
    expect(stdout).to.include('no two files share a name');
    expect(stdout).to.include('no other lib folder imported');
  });

  it('finds a folder cycle and a protocol file importing another folder, and exits 1', async () => {
    const root = tree({
      'core/protocol/recording.ts': "import type { Event } from '../streams/events.js';\n",
      'core/streams/events.ts': "import { x } from '../protocol/codec.js';\n",
      'core/protocol/codec.ts': 'export const x = 1;\n',
      'store/delivery.ts': "import type { R } from '../sinks/report.js';\n",
      'sinks/report.ts': "import { y } from '../store/data.js';\n",
      'store/data.ts': 'export const y = 1;\n',
    });
    roots.push(root);
    const { stdout, code } = await checkLayers(root);
    expect(code).to.equal(1);
    expect(stdout).to.match(/folder cycles:\n\s+core\/protocol <-> core\/streams\n/);
    expect(stdout).to.match(/\n\s+sinks <-> store\n/);
    expect(stdout).to.match(/other lib folders imported:\n\s+.*protocol\/recording\.ts -> .*streams\/events\.ts\n/);
  });

  it('finds a cycle through a folder it was never told about, and a base file importing up', async () => {
    const root = tree({
      'journal/events.ts': "import type { Event } from '../core/protocol/event.js';\nimport { k } from '../service.js';\n",
      'core/protocol/event.ts': 'export type Event = string;\n',
      'service.ts': "import { j } from './journal/events.js';\nexport const k = 1;\n",
      'base/log.ts': "import { k } from '../service.js';\n",
    });
    roots.push(root);
    const { stdout, code } = await checkLayers(root);
    expect(code).to.equal(1);
    expect(stdout).to.match(/folder cycles:\n\s+journal <-> lib\n/);
    expect(stdout).to.match(/journal -> lib: 1 import\(s\)/);
    expect(stdout).to.match(/other lib folders imported:\n\s+.*base\/log\.ts -> .*service\.ts\n/);
  });

  it('finds a file cycle inside one folder and two files with one name, and exits 1', async () => {
    const root = tree({
      'app/intake.ts': "import { j } from './journal.js';\nexport const i = 1;\n",
      'app/journal.ts': "import { i } from './intake.js';\nexport const j = 1;\n",
      'durability/journal.ts': 'export const d = 1;\n',
      'app/main.ts': "import { d } from '../durability/journal.js';\n",
    });
    roots.push(root);
    const { stdout, code } = await checkLayers(root);
    expect(code).to.equal(1);
    expect(stdout).to.include('no folder cycle');
    expect(stdout).to.match(/file cycles:\n\s+app\/intake\.ts <-> app\/journal\.ts\n/);
    expect(stdout).to.match(/files sharing a name:\n\s+journal\.ts: (app\/journal\.ts, durability\/journal\.ts|durability\/journal\.ts, app\/journal\.ts)\n/);
  });
});
