/** Typed errors for everything that can go wrong while reading or writing DNS wire data. */
export type WireErrorCode =
  | 'truncated' // the buffer ends before the structure does
  | 'pointer-loop' // compression pointers that do not make progress
  | 'forward-pointer' // a compression pointer to itself or a later offset
  | 'name-too-long' // more than 255 octets in wire form
  | 'label-too-long' // a label over 63 octets (text form)
  | 'bad-label-type' // label types 0x40 / 0x80 (extended, reserved)
  | 'bad-rdata' // RDATA does not match its type's layout
  | 'rdata-length' // RDATA shorter or longer than its RDLENGTH
  | 'trailing-data' // bytes left after the last record
  | 'bad-opt' // OPT record misplaced, repeated or malformed
  | 'bad-text' // presentation format that cannot be parsed
  | 'too-large'; // message would exceed 65535 octets

export class WireError extends Error {
  readonly code: WireErrorCode;
  readonly offset: number | undefined;
  constructor(code: WireErrorCode, message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at offset ${offset})`);
    this.name = 'WireError';
    this.code = code;
    this.offset = offset;
  }
}
