/**
 * Coalescing many callers' change sets (dns/provider.ts ChangeSet) into few provider batches, pure:
 * durable-objects/dns-zone's writer gathers the change sets of one zone for a short window, reads
 * the zone once, and calls `pack` to decide which go into which batch. Nothing here does I/O or
 * reads a clock.
 *
 * Rules, each caller's change set staying all or nothing:
 * - A change set larger than the batch limit can never be sent: `tooLarge`.
 * - A change set whose `before` no longer matches what the zone holds at its name for its owner
 *   (`fingerprint`: the foreign count and our records' id, type, content and TTL) is a `conflict`,
 *   alone; the caller reads again and re-plans.
 * - A change set `check` refuses (what the provider would refuse: one such change set fails the
 *   whole batch it is in) is `refused`, alone.
 * - At most one change set per name goes in one round: a second at a name already taken is
 *   `deferred` to the next round (the first one's apply changes what the second was planned on,
 *   even for another owner, whose foreign count moves).
 * - The rest are packed into batches of at most `limit` operations (deletes + posts) by
 *   first-fit decreasing (Johnson 1973; at most 11/9 of the optimal number of batches + 6/9), a
 *   change set never split across two batches.
 */
import type { ChangeSet, NameState, Owner } from '../provider.ts';

/** Operations a change set costs in a batch: one delete per removed record, one post per added one. */
export const opsOf = (c: ChangeSet): number => c.remove.length + c.add.length;

/** What the conflict check compares of a NameState: foreign count and our records (id type content ttl), order-free. */
export const fingerprint = (s: NameState): string => JSON.stringify([s.foreign, s.records.map((r) => `${r.id} ${r.type} ${r.content} ${r.ttl}`).sort()]);

/** Where each pending change set goes this round. Every input is in exactly one list; lists keep arrival order. */
export interface Packing<T> {
  /** Batches to send, each at most `limit` operations. */
  batches: T[][];
  conflicts: T[];
  deferred: T[];
  tooLarge: T[];
  /** Refused by `check` (what the provider would refuse, which would fail the whole batch), with the reason. */
  refused: { item: T; reason: string }[];
}

/**
 * Packs `pending` (arrival order) for one round. `current(name, owner)`: what the zone holds now
 * (read once for the round). `limit`: operations per batch (Cloudflare: 200 on Free, 3,500 on
 * paid plans), an integer ≥ 1, else throws RangeError. Change sets with no operation are packed
 * like the others (at zero cost); callers usually answer them without a round. `check`: a reason to refuse a
 * change set planned on the current state, or undefined.
 */
export function pack<T extends { changes: ChangeSet }>(
  pending: readonly T[],
  current: (name: string, owner: Owner) => NameState,
  limit: number,
  check: (changes: ChangeSet) => string | undefined = () => undefined,
): Packing<T> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`batch limit must be an integer ≥ 1, got ${limit}`);
  const out: Packing<T> = { batches: [], conflicts: [], deferred: [], tooLarge: [], refused: [] };
  const taken = new Set<string>();
  const accepted: { item: T; ops: number; at: number }[] = [];
  for (const item of pending) {
    const { name, owner, before } = item.changes;
    const ops = opsOf(item.changes);
    if (ops > limit) out.tooLarge.push(item);
    else if (taken.has(name)) out.deferred.push(item);
    else if (fingerprint(current(name, owner)) !== fingerprint(before)) out.conflicts.push(item);
    else {
      const reason = check(item.changes);
      if (reason !== undefined) out.refused.push({ item, reason });
      else (taken.add(name), accepted.push({ item, ops, at: accepted.length }));
    }
  }
  // First-fit decreasing; ties keep arrival order (sort is stable), and so does each batch's content.
  const bins: { room: number; members: { item: T; at: number }[] }[] = [];
  for (const a of [...accepted].sort((x, y) => y.ops - x.ops)) {
    const bin = bins.find((b) => b.room >= a.ops);
    if (bin) ((bin.room -= a.ops), bin.members.push(a));
    else bins.push({ room: limit - a.ops, members: [a] });
  }
  out.batches = bins.map((b) => b.members.sort((x, y) => x.at - y.at).map((m) => m.item));
  return out;
}
