/** Public surface of the wire codec. Importing it registers every RDATA codec. */
import './rdata-basic.js';
export * from './constants.js';
export * from './errors.js';
export * from './name.js';
export * from './reader.js';
export * from './writer.js';
export * from './rdata.js';
export * from './rdata-basic.js';
export * from './record.js';
export * from './message.js';
