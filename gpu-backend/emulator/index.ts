/**
 * Public entry of the ComfyUI protocol emulator for tests and other components:
 * `startEmulator(options)` and the types a caller needs. See README.md.
 */

export { type EmulatorConfig, type EmulatorConfigInput, emulatorConfigSchema, parseCli } from "./config.ts";
export { COMFYUI_VERSION } from "./routes/info-routes.ts";
export { type EmulatorHandle, type StartOptions, startEmulator } from "./server.ts";
