/**
 * How many job event streams one page may hold open. Over HTTP/1.1 a browser opens at most six
 * connections to an origin, and every open stream holds one, so the page keeps most of them for
 * its own calls; over HTTP/2 or HTTP/3 (Cloudflare's edge) streams share one connection.
 */
export const HTTP1_STREAMS = 3;
export const MULTIPLEXED_STREAMS = 16;

export function streamBudget(): number {
  const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
  const protocol = nav?.nextHopProtocol ?? "";
  return protocol === "h2" || protocol === "h3" ? MULTIPLEXED_STREAMS : HTTP1_STREAMS;
}
