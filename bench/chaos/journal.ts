// The run folder: everything the invariant checker needs, written as the run goes, so the checker
// can also run later on its own against the same stack (`npm run chaos -- --check <folder>`).
// It holds API keys of the run's throw-away tenants, so it is created readable by its owner only.
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PlanOptions } from "./plan.ts";
import type { Delivery } from "./receiver.ts";

export interface RunTenant {
  id: string;
  key: string;
  webhookSecret: string;
}

export interface RunInfo {
  edge: string;
  plan: PlanOptions;
  tenants: RunTenant[];
  receivers: string[];
  startedAt: number;
}

/** One job as the driver submitted it. */
export interface SubmittedJob {
  index: number;
  id: string;
  tenant: number;
  user: string;
  nonce: string;
  kind: string;
  submittedAt: number;
}

/** A change of a job's status, attempt or finish time, as the driver saw it while the run went on. */
export interface Observation {
  id: string;
  at: number;
  status: string;
  attempt: number;
  finishedAt: string | null;
}

export interface CancelRecord {
  id: string;
  at: number;
  status: number;
  /** The job's status in the answer (null when it was not a 200). */
  jobStatus: string | null;
}

export interface ApiFailure {
  at: number;
  method: string;
  path: string;
  status: number;
  body: string;
}

export interface FaultRecord {
  at: number;
  kind: string;
  host: string;
  /** What it met: e.g. "busy" (the host had a job) or "idle". */
  met: string;
  detail?: string;
}

export interface ExecutionRecord {
  host: string;
  prompt_id: string;
  status: string;
  interrupted: boolean;
  prompt: Record<string, { class_type?: string; inputs?: Record<string, unknown> }>;
}

export class RunJournal {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(join(dir, "executions"), { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }

  executionLog(hostId: string): string {
    return join(this.dir, "executions", `${hostId}.jsonl`);
  }

  deliveryLog(receiver: number): string {
    return join(this.dir, `deliveries-${receiver}.jsonl`);
  }

  writeInfo(info: RunInfo): void {
    writeFileSync(join(this.dir, "run.json"), JSON.stringify(info, null, 2), { mode: 0o600 });
  }

  append(file: "jobs" | "observations" | "cancels" | "api-failures" | "faults", record: object): void {
    appendFileSync(join(this.dir, `${file}.jsonl`), `${JSON.stringify(record)}\n`, { mode: 0o600 });
  }

  writeCounts(counts: Record<string, number>): void {
    writeFileSync(join(this.dir, "api-counts.json"), JSON.stringify(counts));
  }
}

/** Everything a run folder holds, read back. */
export interface RunRecords {
  info: RunInfo;
  jobs: SubmittedJob[];
  observations: Observation[];
  cancels: CancelRecord[];
  apiFailures: ApiFailure[];
  faults: FaultRecord[];
  deliveries: Delivery[];
  executions: ExecutionRecord[];
}

function lines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as T);
}

export function readRun(dir: string): RunRecords {
  const info = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as RunInfo;
  const deliveries = readdirSync(dir)
    .filter((f) => /^deliveries-\d+\.jsonl$/.test(f))
    .flatMap((f) => lines<Delivery>(join(dir, f)));
  const executions = readdirSync(join(dir, "executions"))
    .filter((f) => f.endsWith(".jsonl"))
    .flatMap((f) => lines<Omit<ExecutionRecord, "host">>(join(dir, "executions", f)).map((e) => ({ ...e, host: f.replace(/\.jsonl$/, "") })));
  return {
    info,
    jobs: lines(join(dir, "jobs.jsonl")),
    observations: lines(join(dir, "observations.jsonl")),
    cancels: lines(join(dir, "cancels.jsonl")),
    apiFailures: lines(join(dir, "api-failures.jsonl")),
    faults: lines(join(dir, "faults.jsonl")),
    deliveries,
    executions,
  };
}
