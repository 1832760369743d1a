/** The SSRF guard's options as this deployment configures them (one place for every caller). */
import type { Config } from "../config/schema.ts";
import { parseAllowHosts } from "../lib/outbound-allow.ts";
import { dohResolver, type Resolver } from "./dns.ts";

const resolvers = new Map<string, Resolver>();

export interface OutboundOptions {
  allowHosts: Set<string>;
  ports: number[];
  resolver: Resolver;
}

export function outboundOptions(config: Config): OutboundOptions {
  let resolver = resolvers.get(config.DNS_OVER_HTTPS_URL);
  if (!resolver) {
    resolver = dohResolver({ endpoint: config.DNS_OVER_HTTPS_URL });
    resolvers.set(config.DNS_OVER_HTTPS_URL, resolver);
  }
  return {
    allowHosts: parseAllowHosts(config.OUTBOUND_ALLOW_HOSTS),
    ports: config.OUTBOUND_PORTS.split(",").map(Number),
    resolver,
  };
}
