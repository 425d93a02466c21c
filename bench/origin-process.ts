/**
 * One benchmark origin in its own process (so it does not share an event loop with the load
 * generator). Prints its port on stdout, then serves until killed.
 */
import { OriginServer } from '../scripts/lib/origin-server.ts';

const origin = await new OriginServer(process.argv[2] ?? 'bench', { record: false }).start(0);
process.stdout.write(`${origin.port}\n`);
