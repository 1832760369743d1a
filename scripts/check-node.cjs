// Plain CommonJS on purpose: it must run on the old Node it is there to catch, before anything
// that needs Node 22 (TypeScript run directly, wrangler 4) prints something confusing.
"use strict";
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `Node 22.12 or newer is needed, you have ${process.versions.node}. Install it (e.g. \`nvm install\`, which reads .nvmrc) and run this again.\n`,
  );
  process.exit(1);
}
