/**
 * The folder dependencies of src/ (ARCHITECTURE.md, "Dependencies"): dependency-cruiser checks every
 * import against the table in .dependency-cruiser.cjs, and the table in ARCHITECTURE.md must say the same.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(join(root, 'package.json'));
const CONFIG = join(root, '.dependency-cruiser.cjs');

/** dependency-cruiser over one folder with the project's rules. */
function depcruise(folder: string): SpawnSyncReturns<string> {
  // The package's exports hide its bin script from require.resolve: take it from its package.json (npm ci installs it).
  const pkgDir = join(root, 'node_modules', 'dependency-cruiser');
  const bin = join(pkgDir, (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['depcruise']!);
  return spawnSync(process.execPath, [bin, folder, '--config', CONFIG, '--output-type', 'err-long'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
}

describe('architecture', () => {
  it('no import in src/ goes against the allowed folder edges (dependency-cruiser)', () => {
    const r = depcruise('src');
    assert.equal(r.error, undefined, `depcruise did not run: ${r.error?.message}`);
    assert.equal(r.status, 0, `forbidden imports in src/ (see .dependency-cruiser.cjs and ARCHITECTURE.md):\n${r.stdout}${r.stderr}`);
  });

  it('a test that starts a signed world (the test world, or bench/mta\'s hierarchy) is named *.world.test.ts (npm run test:unit leaves it out)', () => {
    const r = depcruise('test');
    assert.equal(r.error, undefined, `depcruise did not run: ${r.error?.message}`);
    assert.equal(r.status, 0, `test files against the rules (see .dependency-cruiser.cjs):\n${r.stdout}${r.stderr}`);
  });

  it("ARCHITECTURE.md's dependency table is the one dependency-cruiser checks", () => {
    const allowed = (require(CONFIG) as { allowed: Record<string, string[]> }).allowed;
    const doc = readFileSync(join(root, 'ARCHITECTURE.md'), 'utf8');
    const section = /^## Dependencies\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(doc)?.[1];
    assert.ok(section, 'ARCHITECTURE.md has a "## Dependencies" section');
    const rows: Record<string, string[]> = {};
    for (const line of section.split('\n')) {
      const m = /^\| `src\/(\w+)(?:\.ts|\/)?` \| ([^|]*) \|/.exec(line);
      if (!m) continue;
      const cell = m[2]!.trim();
      rows[m[1]!] = cell === 'nothing' ? [] : cell.split(',').map((part) => {
        const e = /^`(\w+)`( \(types\))?$/.exec(part.trim());
        assert.ok(e, `ARCHITECTURE.md: cannot read "${part.trim()}" in the row of src/${m[1]}`);
        return `${e[1]}${e[2] ?? ''}`;
      });
    }
    const sorted = (t: Record<string, string[]>): Record<string, string[]> =>
      Object.fromEntries(Object.entries(t).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, [...v].sort()]));
    assert.deepEqual(sorted(rows), sorted(allowed));
  });
});
