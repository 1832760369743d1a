/** A job's outputs: images inline, video and audio in players, and a download link for each. */

import { bytes } from "../format.ts";
import type { LiveOutput } from "../live/job-state.ts";

function Media({ o }: { o: LiveOutput }) {
  const type = o.content_type;
  if (type.startsWith("image/"))
    return (
      <a href={o.url} target="_blank" rel="noopener">
        <img src={o.url} alt={`Output ${o.name}`} loading="lazy" />
      </a>
    );
  // Generated media comes with no captions or transcript to offer.
  if (type.startsWith("video/"))
    // biome-ignore lint/a11y/useMediaCaption: a generated video has no captions to give
    return <video controls preload="metadata" src={o.url} aria-label={`Output ${o.name}`} />;
  // biome-ignore lint/a11y/useMediaCaption: generated audio has no transcript to give
  if (type.startsWith("audio/")) return <audio controls preload="metadata" src={o.url} aria-label={`Output ${o.name}`} />;
  return null;
}

export function Outputs({ outputs }: { outputs: LiveOutput[] }) {
  if (outputs.length === 0) return <p class="muted">No outputs yet.</p>;
  return (
    <ul class="outputs">
      {outputs.map((o) => (
        <li key={o.name}>
          <Media o={o} />
          <p>
            <a href={o.url} download={o.name}>
              Download {o.name}
            </a>{" "}
            <span class="muted">
              {o.content_type}, {bytes(o.size)}
            </span>
          </p>
        </li>
      ))}
    </ul>
  );
}
