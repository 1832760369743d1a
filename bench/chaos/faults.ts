// Carrying out one planned fault on a host of the local stack. A fault strikes the host while it
// runs a job when it can (it waits a few seconds for one), since that is when faults hurt; then,
// after the planned hold, the host is brought back as its supervisor or operator would.
import type { LocalStack, StackHost } from "../../scripts/lib/local-stack.ts";
import type { ChaosApi } from "./api.ts";
import type { FaultRecord } from "./journal.ts";
import type { PlannedFault } from "./plan.ts";

const BUSY_WAIT_MS = 5_000;
const DRAIN_WAIT_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function assignedOn(api: ChaosApi, hostId: string): Promise<number | null> {
  const res = await api.call("GET", "/v1/admin/hosts", "admin");
  if (res.status !== 200) return null;
  const list = (await res.json()) as { data: { id: string; assigned: number }[] };
  return list.data.find((h) => h.id === hostId)?.assigned ?? null;
}

/** Waits (bounded) until the host has a job; says whether it had one. */
async function untilBusy(api: ChaosApi, host: StackHost): Promise<"busy" | "idle"> {
  const deadline = Date.now() + BUSY_WAIT_MS;
  while (Date.now() < deadline) {
    if (((await assignedOn(api, host.id)) ?? 0) > 0) return "busy";
    await sleep(200);
  }
  return "idle";
}

export async function runFault(fault: PlannedFault, stack: LocalStack, api: ChaosApi): Promise<FaultRecord> {
  const host = stack.hosts[fault.host]!;
  const record = (met: string, detail?: string): FaultRecord => ({ at: Date.now(), kind: fault.kind, host: host.id, met, ...(detail ? { detail } : {}) });
  switch (fault.kind) {
    case "kill-backend": {
      const met = await untilBusy(api, host);
      host.signalBackend("SIGKILL");
      await host.backendExited();
      await sleep(fault.holdMs);
      await host.restartBackend();
      return record(met);
    }
    case "stop-backend": {
      const met = await untilBusy(api, host);
      host.signalBackend("SIGSTOP");
      try {
        await sleep(fault.holdMs);
      } finally {
        host.signalBackend("SIGCONT");
      }
      return record(met);
    }
    case "crash-emulator": {
      const met = await untilBusy(api, host);
      await host.crashEmulator();
      await sleep(fault.holdMs);
      await host.restartEmulator();
      return record(met);
    }
    case "drop-websocket": {
      const met = await untilBusy(api, host);
      const cut = host.cutComfy(/^GET \/ws\b/);
      return record(met, `${cut} connection(s) cut`);
    }
    case "drain-remove": {
      const drained = await api.call("POST", `/v1/admin/hosts/${host.id}/drain`, "admin");
      if (drained.status !== 200) return record("error", `drain answered ${drained.status}`);
      const deadline = Date.now() + DRAIN_WAIT_MS;
      let left = await assignedOn(api, host.id);
      while ((left ?? 0) > 0 && Date.now() < deadline) {
        await sleep(250);
        left = await assignedOn(api, host.id);
      }
      const removed = await api.call("DELETE", `/v1/admin/hosts/${host.id}`, "admin");
      const { requeued } = removed.status === 200 ? ((await removed.json()) as { requeued: number }) : { requeued: -1 };
      // The machine goes away with it; later a new one takes its place under the same name.
      host.signalBackend("SIGTERM");
      await sleep(fault.holdMs);
      await host.reinstate();
      return record(left === 0 ? "drained" : "busy", `removed with ${requeued} job(s) requeued`);
    }
  }
}
