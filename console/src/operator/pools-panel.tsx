/** Pools with their hosts: live state, lock hash, resident models, slots used; drain and resume. */
import type { ComfyAdminClient, GpuHost, Pool } from "comfyui-saas-client";
import { useState } from "preact/hooks";
import { ProblemView } from "../components/problem.tsx";
import { age } from "../format.ts";

function HostRow({ admin, host, onChanged }: { admin: ComfyAdminClient; host: GpuHost; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const toggle = async () => {
    setBusy(true);
    setError(null);
    try {
      await (host.draining ? admin.hosts.resume(host.id) : admin.hosts.drain(host.id));
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <tr data-host-id={host.id}>
      <th scope="row">{host.id}</th>
      <td>{host.draining ? "draining" : host.live ? "live" : `down (${host.comfy})`}</td>
      <td>{host.lock_ok ? "OK" : <span class="warning">mismatch</span>}</td>
      <td>
        {host.assigned} of {host.slots}
      </td>
      <td>{host.resident_models.length ? host.resident_models.join(", ") : <span class="muted">none reported</span>}</td>
      <td>{host.last_heartbeat_at ? `${age(host.last_heartbeat_at)} ago` : "never"}</td>
      <td>
        <button type="button" class="secondary" disabled={busy} onClick={toggle} aria-label={`${host.draining ? "Resume" : "Drain"} host ${host.id}`}>
          {host.draining ? "Resume" : "Drain"}
        </button>
        {error ? <ProblemView error={error} /> : null}
      </td>
    </tr>
  );
}

export function PoolsPanel({ admin, pools, hosts, onChanged }: { admin: ComfyAdminClient; pools: Pool[]; hosts: GpuHost[]; onChanged: () => void }) {
  return (
    <section aria-labelledby="pools-title">
      <h2 id="pools-title">Pools</h2>
      {pools.map((pool) => {
        const status = pool.status;
        const poolHosts = hosts.filter((h) => h.pool === pool.name);
        return (
          <article key={pool.name} class="card" data-pool={pool.name} aria-labelledby={`pool-${pool.name}`}>
            <h3 id={`pool-${pool.name}`}>
              {pool.name} {pool.is_default ? <span class="muted">(default)</span> : null}
            </h3>
            {status === null ? (
              <p class="warning">Live state unavailable right now.</p>
            ) : (
              <dl class="facts">
                <dt>Live hosts</dt>
                <dd>{status.live_hosts}</dd>
                <dt>Free slots</dt>
                <dd>{status.free_slots}</dd>
                <dt>Running</dt>
                <dd>{status.running}</dd>
                <dt>Queue depth</dt>
                <dd data-testid={`queue-depth-${pool.name}`}>{status.queue_depth}</dd>
                <dt>Oldest wait</dt>
                <dd>{status.oldest_queued_at ? age(status.oldest_queued_at) : "—"}</dd>
              </dl>
            )}
            {poolHosts.length === 0 ? (
              <p class="muted">No hosts registered.</p>
            ) : (
              <div class="table-wrap">
                <table>
                  <caption class="visually-hidden">Hosts of pool {pool.name}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Host</th>
                      <th scope="col">State</th>
                      <th scope="col">Lock hash</th>
                      <th scope="col">Slots used</th>
                      <th scope="col">Resident models</th>
                      <th scope="col">Heartbeat</th>
                      <th scope="col">Action</th>
                    </tr>
                  </thead>
                  <tbody>
                    {poolHosts.map((h) => (
                      <HostRow key={h.id} admin={admin} host={h} onChanged={onChanged} />
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </article>
        );
      })}
    </section>
  );
}
