/**
 * Adds `.openapi()` to zod's schemas before any is built. Zod 4 binds prototype additions onto each
 * schema when it is constructed, so the schemas core/config builds at load (needed by the Durable
 * Objects and the config cache) have `.openapi()` only if this ran first; the admin API, loaded
 * later (worker/admin-apps.ts), registers those schemas in its OpenAPI document. Imported first
 * by worker/index.ts. Evaluates @hono/zod-openapi's module (classes, no app or route built).
 */
import { extendZodWithOpenApi } from '@hono/zod-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);
