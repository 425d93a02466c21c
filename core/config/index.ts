export * from './schema.ts';
export * from './errors.ts';
export * from './document.ts';
export * from './tcp.ts';
export { mergePatch } from './merge-patch.ts';
export { etagOf, ifMatchAdmits } from './etag.ts';
export * from './cloudflare/index.ts';
