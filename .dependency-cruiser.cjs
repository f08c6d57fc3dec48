/**
 * The allowed imports between the folders of src/ (ARCHITECTURE.md, "Dependencies", shows the same table;
 * test/architecture.test.ts runs this check in the test command and holds the two to each other).
 *
 * Each key is a folder under src/ (or a module at src/ top level: clock.ts, log.ts); its list says what
 * else under src/ it may import. "X (types)": `import type` only (interfaces, no code). Every folder of
 * src/ must have a row. The table is acyclic, so folders cannot import each other in a circle; modules
 * may not either (no-circular).
 *
 * Run it alone: npx depcruise src --config .dependency-cruiser.cjs
 */
const ALLOWED = {
  wire: [],
  net: [],
  clock: [],
  log: [],
  crypto: ['wire (types)'],
  validator: ['wire', 'crypto', 'clock', 'log'],
  anchors: ['wire', 'clock (types)', 'log', 'crypto (types)', 'validator'],
  config: ['wire', 'net', 'validator'],
  cache: ['wire', 'clock (types)', 'config (types)', 'validator (types)'],
  upstream: ['wire', 'net', 'clock', 'log', 'config (types)', 'validator (types)'],
  server: ['wire', 'net', 'log'],
  resolver: ['wire', 'clock', 'log', 'crypto', 'validator', 'cache', 'upstream', 'mail', 'config (types)', 'server (types)'],
  selftest: ['wire', 'net', 'clock', 'crypto'],
  mail: ['wire'],
  metrics: ['daemon (types)'],
  dane: ['wire', 'clock (types)', 'upstream', 'mail', 'server (types)'],
  http: ['wire', 'net', 'config', 'validator', 'server', 'resolver', 'dane', 'daemon (types)'],
  daemon: ['wire', 'net', 'clock', 'log', 'crypto', 'validator', 'anchors', 'config', 'cache', 'upstream', 'server', 'resolver', 'selftest', 'http', 'metrics'],
  cli: ['wire', 'clock', 'config', 'validator', 'resolver', 'dane', 'daemon'],
};

/** A path regex for a folder or top-level module of src/. */
const under = (names) => `^src/(${names.join('|')})(/|\\.ts$)`;

function parse(entry) {
  const m = /^(\w+)( \(types\))?$/.exec(entry);
  if (!m) throw new Error(`.dependency-cruiser.cjs: bad table entry "${entry}"`);
  return { folder: m[1], typesOnly: m[2] !== undefined };
}

const folders = Object.keys(ALLOWED);
const rules = [
  {
    name: 'folder-not-in-table',
    comment: 'every folder of src/ needs a row in the table of .dependency-cruiser.cjs (and ARCHITECTURE.md)',
    severity: 'error',
    from: { path: '^src/', pathNot: under(folders) },
    to: {},
  },
  {
    name: 'unit-test-needs-world',
    comment: 'a test that starts a signed world (the test world, test/world/index.ts, or bench/mta\'s hierarchy, bench/mta-world.ts) is named *.world.test.ts; the others make up npm run test:unit',
    severity: 'error',
    from: { path: '^test/.*\\.test\\.ts$', pathNot: '\\.world\\.test\\.ts$' },
    to: { path: '^(test/world/index|bench/mta-world)\\.ts$', reachable: true },
  },
  {
    name: 'no-circular',
    comment: 'no module imports itself through others (a type-only import back, such as src/http reading the Daemon type, is no cycle at run time)',
    severity: 'error',
    from: { path: '^src/' },
    to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
  },
];
for (const [folder, list] of Object.entries(ALLOWED)) {
  const entries = list.map(parse);
  for (const e of entries) if (!(e.folder in ALLOWED)) throw new Error(`.dependency-cruiser.cjs: ${folder} lists unknown ${e.folder}`);
  const shown = list.length > 0 ? list.join(', ') : 'nothing else under src/';
  rules.push({
    name: `${folder}-imports`,
    comment: `src/${folder} may import: ${shown}`,
    severity: 'error',
    from: { path: under([folder]) },
    to: { path: '^src/', pathNot: under([folder, ...entries.map((e) => e.folder)]) },
  });
  for (const e of entries.filter((x) => x.typesOnly)) {
    rules.push({
      name: `${folder}-imports-types-only-from-${e.folder}`,
      comment: `src/${folder} may import only types from src/${e.folder} (import type)`,
      severity: 'error',
      from: { path: under([folder]) },
      to: { path: under([e.folder]), dependencyTypesNot: ['type-only'] },
    });
  }
}

module.exports = {
  forbidden: rules,
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
// The table itself, for test/architecture.test.ts (not enumerable: not part of dependency-cruiser's config).
Object.defineProperty(module.exports, 'allowed', { value: ALLOWED, enumerable: false });
