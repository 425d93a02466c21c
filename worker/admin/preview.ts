import { z } from 'zod';

/** What the routing explainer is asked: the facts of a request that did not happen. */
export const PreviewFacts = z.strictObject({
  colo: z.string().optional(),
  country: z.string().length(2).optional(),
  continent: z.string().length(2).optional(),
  latitude: z.number().min(-90).max(90).optional(),
  longitude: z.number().min(-180).max(180).optional(),
  client_ip: z.string().optional(),
  path: z.string().startsWith('/').default('/'),
  headers: z.record(z.string(), z.string()).default({}),
  cookies: z.record(z.string(), z.string()).default({}),
});
export type PreviewFacts = z.output<typeof PreviewFacts>;
