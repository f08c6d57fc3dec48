/** Running BIND's dig and reading its output: the reference client of many tests. */
import { execFile } from 'node:child_process';


export interface DigResult {
  text: string;
  status: string | undefined;
  opcode: string | undefined;
  id: number | undefined;
  flags: Set<string>;
  counts: { query: number; answer: number; authority: number; additional: number } | undefined;
  /** Whether the reply had an OPT record. */
  opt: boolean;
  ednsLine: string | undefined;
  ede: string[];
  answers: string[];
  authority: string[];
  additional: string[];
  question: string[];
  msgSize: number | undefined;
  /** "UDP" or "TCP", as dig reports the transport of the answer it printed. */
  via: string | undefined;
}

export function dig(port: number, args: string[], server = '127.0.0.1'): Promise<DigResult> {
  return new Promise((resolve, reject) => {
    execFile('dig', [`@${server}`, '-p', String(port), '+tries=1', '+time=2', ...args], { timeout: 10_000 }, (err, stdout) => {
      if (err && !stdout) return reject(err);
      resolve(parseDig(stdout));
    });
  });
}

export function parseDig(text: string): DigResult {
  const head = /->>HEADER<<- opcode: (\w+), status: (\w+), id: (\d+)/.exec(text);
  const flags = /;; flags:([^;]*);(?: MBZ: \S+ ,)? QUERY: (\d+), ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)/.exec(text);
  const lines = text.split('\n');
  const section = (title: string): string[] => {
    const i = lines.indexOf(`;; ${title} SECTION:`);
    if (i < 0) return [];
    const out: string[] = [];
    for (let j = i + 1; j < lines.length && lines[j] !== ''; j++) out.push(lines[j]!);
    return out;
  };
  return {
    text,
    status: head?.[2],
    opcode: head?.[1],
    id: head ? Number(head[3]) : undefined,
    flags: new Set((flags?.[1] ?? '').trim().split(/\s+/).filter(Boolean)),
    counts: flags ? { query: Number(flags[2]), answer: Number(flags[3]), authority: Number(flags[4]), additional: Number(flags[5]) } : undefined,
    opt: text.includes(';; OPT PSEUDOSECTION:'),
    ednsLine: lines.find((l) => l.startsWith('; EDNS:')),
    ede: lines.filter((l) => l.startsWith('; EDE:')),
    answers: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL'),
    question: section('QUESTION'),
    msgSize: Number(/;; MSG SIZE {2}rcvd: (\d+)/.exec(text)?.[1] ?? NaN) || undefined,
    via: /;; SERVER: \S+ \((UDP|TCP)\)/.exec(text)?.[1],
  };
}

