/**
 * The vendor note's two decision tables (shared/docs/dane-notes.md), as the note prints them, for the tests:
 * policy.test.ts checks src/dane/policy.ts against them row by row, and the world tests derive each mail
 * domain's expected action from the statuses the mail world declares (test/world/mail.ts).
 */
import type { Action } from '../../src/dane/policy.js';

export const MANDATORY = `
| Secure | Secure | Secure | Success | DANE Success |
| Secure | Secure | Secure | Failed | DANE Fail |
| Secure | Secure | Insecure | | DANE Fail |
| Secure | Secure | NXDOMAIN | | DANE Fail |
| Secure | Secure | Bogus | | DANE Fail |
| Secure | Insecure | | | DANE Fail |
| Secure | Bogus | | | DANE Fail |
| Insecure | Secure | Secure | Success | DANE Fail |
| Insecure | Secure | Secure | Failed | DANE Fail |
| Insecure | Secure | Insecure | | DANE Fail |
| Insecure | Secure | NXDOMAIN | | DANE Fail |
| Insecure | Secure | Bogus | | DANE Fail |
| Insecure | Insecure | | | DANE Fail |
| Insecure | Bogus | | | DANE Fail |
| Bogus | | | | DANE Fail |`;

export const OPPORTUNISTIC = `
| Secure | Secure | Secure | Success | DANE Success |
| Secure | Secure | Secure | Failed | DANE Fail |
| Secure | Secure | Insecure | | Fallback |
| Secure | Secure | NXDOMAIN | | Fallback |
| Secure | Secure | Bogus | | DANE Fail |
| Secure | Insecure | | | Fallback |
| Secure | Bogus | | | DANE Fail |
| Insecure | Secure | Secure | | Fallback |
| Insecure | Secure | Insecure | | Fallback |
| Insecure | Secure | NXDOMAIN | | Fallback |
| Insecure | Secure | Bogus | | DANE Fail |
| Insecure | Insecure | | | Fallback |
| Insecure | Bogus | | | DANE Fail |
| Bogus | | | | DANE Fail |`;

export interface Row { mx: string; a: string; tlsa: string; cert: string; action: Action; text: string }

export function rows(table: string): Row[] {
  return table.trim().split('\n').map((line) => {
    const c = line.split('|').slice(1, -1).map((x) => x.trim());
    const action: Action = c[4] === 'DANE Success' ? 'success' : c[4] === 'DANE Fail' ? 'fail' : 'fallback';
    return { mx: c[0]!, a: c[1]!, tlsa: c[2]!, cert: c[3]!, action, text: line.trim() };
  });
}

/** The first row that fits (a blank row cell fits anything). */
export function tableRow(table: string, mx: string, a: string, tlsa: string, cert: string): Row | undefined {
  const fits = (row: string, fact: string): boolean => row === '' || row === fact;
  return rows(table).find((r) => fits(r.mx, mx) && fits(r.a, a) && fits(r.tlsa, tlsa) && fits(r.cert, cert));
}

export function tableAction(table: string, mx: string, a: string, tlsa: string, cert: string): Action | undefined {
  return tableRow(table, mx, a, tlsa, cert)?.action;
}
