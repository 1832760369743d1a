/**
 * The `fetch` the guard calls. Injectable so tests can stand in for the network (a DoH server, an
 * https hop a loopback test server cannot offer) without touching the global.
 */
export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

// Wrapped rather than referenced so a detached call keeps the runtime's binding.
export const globalFetch: FetchFn = (url, init) => fetch(url, init);
