/**
 * Cloudflare Load Balancing's formats: the fields of its that we accept (fields.ts), the warnings
 * about what is stored but not acted on (notices.ts), our document in its shapes (export.ts) and
 * its export made into our document (import.ts). Pure: no runtime imports.
 */
export * from './fields.ts';
export * from './notices.ts';
export * from './export.ts';
export * from './import.ts';
