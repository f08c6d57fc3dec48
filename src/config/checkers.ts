/** The address checks the config validator uses: the ones the server and the upstream pool apply themselves. */
import { parseCidr } from '../server/acl.js';
import { isIpLiteral } from '../upstream/config.js';
import type { AddressCheckers } from './schema.js';

export const addressCheckers: AddressCheckers = {
  isIp: isIpLiteral,
  checkCidr(s: string): void {
    parseCidr(s);
  },
};
