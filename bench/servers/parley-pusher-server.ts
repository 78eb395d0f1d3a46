/**
 * Parley with its Pusher endpoint on, for the `parley-pusher` benchmark runs: the same server
 * as `parley-server.ts`, with one Pusher app whose key the load generator connects with.
 */
process.env.PARLEY_PUSHER_APP_ID = 'bench';
process.env.PARLEY_PUSHER_APP_KEY = 'bench-key';
process.env.PARLEY_PUSHER_APP_SECRET = 'bench-secret-0123456789abcdef';
await import('./parley-server.js');
