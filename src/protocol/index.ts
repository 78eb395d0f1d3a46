/** Parley's wire protocol, shared by the server, the client SDK and the CLI. No dependencies. */
export * from './close-codes.js';
export * from './error-catalogue.js';
export type * from './frames.js';
export { ROLES } from './frames.js';
export * from './parse-client-frame.js';
