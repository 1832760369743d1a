/** Failed jobs of the last hour, by error code and pool. */
import type { Failures } from "comfyui-saas-client";
import { time } from "../format.ts";

export function FailuresPanel({ failures }: { failures: Failures }) {
  return (
    <section aria-labelledby="failures-title">
      <h2 id="failures-title">Failures in the last hour</h2>
      {failures.total === 0 ? (
        <p>No job failed in the last hour.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">{failures.total} failed jobs by error code</caption>
            <thead>
              <tr>
                <th scope="col">Error code</th>
                <th scope="col">Pool</th>
                <th scope="col">Jobs</th>
                <th scope="col">Last</th>
                <th scope="col">Last message</th>
              </tr>
            </thead>
            <tbody>
              {failures.groups.map((g) => (
                <tr key={`${g.code} ${g.pool}`}>
                  <th scope="row">
                    <code>{g.code}</code>
                  </th>
                  <td>{g.pool}</td>
                  <td>{g.count}</td>
                  <td>{time(g.last_at)}</td>
                  <td>{g.last_message ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
