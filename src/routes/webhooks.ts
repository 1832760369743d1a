/**
 * A job's webhook, seen by its owner: the delivery log (every event and every attempt) and
 * redelivery of the latest event. Scoped like every job route: another tenant's or user's job is
 * a 404. Redelivery only re-arms the message and wakes its delivery object; the request never
 * waits for the receiver.
 */
import { createRoute } from "@hono/zod-openapi";
import { authenticate } from "../auth/authenticate.ts";
import { createDb } from "../db/client.ts";
import { getOwnedJob } from "../db/jobs.ts";
import { ProblemError } from "../http/problem.ts";
import { jobView } from "../jobs/view.ts";
import { scheduleDelivery } from "../webhooks/outbox.ts";
import { attemptsOf, messagesOf, rearmLatest } from "../webhooks/store.ts";
import { attemptView, messageView } from "../webhooks/view.ts";
import { JobIdParam } from "./jobs.schemas.ts";
import { commonProblems, conflictProblem, notFoundProblem } from "./problem.schemas.ts";
import { newRouter, userSecurity } from "./router.ts";
import { DeliveriesQuery, WebhookDeliveriesSchema, WebhookMessageSchema } from "./webhooks.schemas.ts";

const listDeliveries = createRoute({
  method: "get",
  path: "/{id}/webhook-deliveries",
  summary: "List a job's webhook events and delivery attempts",
  description:
    "Every event recorded for the job's webhook (with its `webhook_id`, state and next attempt) and every delivery attempt, newest first: when, how long, the receiver's status code or the error, and what it led to.",
  tags: ["webhooks"],
  security: userSecurity,
  middleware: [authenticate],
  request: { params: JobIdParam, query: DeliveriesQuery },
  responses: {
    200: { description: "The job's webhook log", content: { "application/json": { schema: WebhookDeliveriesSchema } } },
    ...commonProblems,
    ...notFoundProblem,
  },
});

const redeliver = createRoute({
  method: "post",
  path: "/{id}/webhook/redeliver",
  summary: "Send the job's latest webhook event again",
  description:
    "Queues one more delivery of the latest event, with the same `webhook-id` (receivers that already processed it can ignore it) and a fresh retry schedule. Also switches deliveries back on after a 410. Answers at once; watch the result in `webhook-deliveries`.",
  tags: ["webhooks"],
  security: userSecurity,
  middleware: [authenticate],
  request: { params: JobIdParam },
  responses: {
    202: { description: "The event, queued for delivery", content: { "application/json": { schema: WebhookMessageSchema } } },
    ...commonProblems,
    ...notFoundProblem,
    ...conflictProblem,
  },
});

const jobNotFound = (id: string) => new ProblemError("not-found", `No job ${id} for this user.`);

export const webhookRoutes = newRouter()
  .openapi(listDeliveries, async (c) => {
    const { id } = c.req.valid("param");
    const { limit } = c.req.valid("query");
    const db = createDb(c.env.DB);
    const job = await getOwnedJob(db, c.var.principal, id);
    if (!job) throw jobNotFound(id);
    const [messages, attempts] = await Promise.all([messagesOf(db, id), attemptsOf(db, id, limit)]);
    const types = new Map(messages.map((m) => [m.id, m.type]));
    const latest = messages[0];
    const view = jobView(job, { outputs: [], queuePosition: null, latestWebhookMessage: latest });
    return c.json(
      {
        webhook: view.webhook,
        webhook_status: view.webhook_status,
        events: messages.map(messageView),
        data: attempts.map((a) => attemptView(a, (m) => types.get(m) ?? "unknown")),
      },
      200,
    );
  })
  .openapi(redeliver, async (c) => {
    const { id } = c.req.valid("param");
    const db = createDb(c.env.DB);
    const job = await getOwnedJob(db, c.var.principal, id);
    if (!job) throw jobNotFound(id);
    const message = job.webhookUrl ? await rearmLatest(db, id, Date.now()) : undefined;
    if (!message) {
      throw new ProblemError(
        "no-webhook-event",
        job.webhookUrl
          ? `Job ${id} has no webhook event yet: none of the events it subscribed to has happened.`
          : `Job ${id} was submitted without a webhook; there is nothing to redeliver.`,
      );
    }
    await scheduleDelivery(c.env, id, c.var.log);
    c.var.log.info("webhook_redelivery_requested", { job_id: id, webhook_id: message.id });
    return c.json(messageView(message), 202);
  });
