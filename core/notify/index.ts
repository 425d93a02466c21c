/** Health notifications, pure: which transitions notify (events.ts, filter.ts), what is sent (message.ts) and how it is signed (sign.ts). */
export * from './events.ts';
export * from './filter.ts';
export * from './message.ts';
export * from './sign.ts';
