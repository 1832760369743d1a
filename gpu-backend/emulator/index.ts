/**
 * Public entry of the ComfyUI protocol emulator for tests and other components:
 * `startEmulator(options)` and the types a caller needs. See README.md.
 */
export { startEmulator, type EmulatorHandle, type StartOptions } from "./server.ts";
export { emulatorConfigSchema, parseCli, type EmulatorConfig, type EmulatorConfigInput } from "./config.ts";
export { COMFYUI_VERSION } from "./routes/info-routes.ts";
